"""Reading image files (and annotation JSON) for conversion, and counting the images that
cannot be used.

Readers keep the original encoded bytes (records never re-encode), but decode every image once
with TensorFlow's decoder, the one training uses, so that corrupt or truncated files are found at
conversion time, not mid-training (OpenCV accepts some JPEGs that TensorFlow refuses).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import tensorflow as tf
from absl import logging

from tfpose.data.example import PoseExample


class UnreadableImageError(ValueError):
    """An image file is missing, empty, of an unsupported format, or does not decode."""


@dataclasses.dataclass(frozen=True)
class ImageFile:
    encoded: bytes
    format: str  # "jpeg" or "png"
    height: int
    width: int
    # What the decoder said about damaged data it decoded anyway (libjpeg's "Corrupt JPEG data").
    warnings: tuple[str, ...] = ()


# Messages libjpeg and libpng print from C (to file descriptor 2) for data they decode anyway.
_DECODER_MESSAGE = re.compile(
    r"^(Corrupt JPEG data|Premature end of JPEG file|Invalid SOS parameters|Inconsistent "
    r"progression sequence|Warning: unknown JFIF|libpng warning)"
)


@contextlib.contextmanager
def decoder_messages() -> Iterator[list[str]]:
    """Keeps image decoders' C-level stderr messages off the console and hands them over.

    TensorFlow's and OpenCV's libjpeg print e.g. "Corrupt JPEG data: 12 extraneous bytes before
    marker 0xd9" straight to file descriptor 2, without the file's name, for every damaged JPEG
    they decode; no log level silences it. Inside this context, file descriptor 2 goes to a
    temporary file; on exit the decoder messages are appended to the yielded list and anything
    else written meanwhile is passed on to stderr.
    """
    messages: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no file descriptor 2 to redirect
        yield messages
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield messages
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            other = []
            for line in capture.read().decode(errors="replace").splitlines():
                if line.strip():
                    target = messages if _DECODER_MESSAGE.match(line.strip()) else other
                    target.append(line.strip())
            if other:
                print("\n".join(other), file=sys.stderr, flush=True)


def sniff_format(data: bytes) -> str | None:
    """``"jpeg"``/``"png"`` from the file's magic bytes, else ``None``."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return None


def read_encoded(path: str) -> tuple[bytes, str]:
    """The bytes of a JPEG/PNG file and its format (``"jpeg"``/``"png"``), not decoded.

    Raises:
      UnreadableImageError: naming ``path``: it cannot be read, is empty, or is neither format.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UnreadableImageError(f"{path}: cannot read ({e.strerror or e})") from None
    if not data:
        raise UnreadableImageError(f"{path}: file is empty")
    fmt = sniff_format(data)
    if fmt is None:
        raise UnreadableImageError(f"{path}: not a JPEG or PNG file")
    return data, fmt


def check_complete(path: str, data: bytes, fmt: str) -> None:
    """Refuses a truncated JPEG: libjpeg decodes one with a warning and grey fill; the
    end-of-image marker tells truncated files apart.

    Raises:
      UnreadableImageError: naming ``path``.
    """
    if fmt == "jpeg" and b"\xff\xd9" not in data[-64:]:
        raise UnreadableImageError(f"{path}: JPEG is truncated (no end-of-image marker)")


def read_image_file(path: str) -> ImageFile:
    """Reads and validates one JPEG/PNG file (:func:`read_encoded`, a decode with TensorFlow,
    :func:`check_complete`).

    Raises:
      UnreadableImageError: naming ``path`` and what is wrong with it.
    """
    data, fmt = read_encoded(path)
    with decoder_messages() as messages:
        try:
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
        except (tf.errors.InvalidArgumentError, UnicodeDecodeError):
            raise UnreadableImageError(
                f"{path}: {fmt} data does not decode (corrupt or truncated)"
            ) from None
    check_complete(path, data, fmt)
    return ImageFile(
        encoded=data,
        format=fmt,
        height=image.shape[0],
        width=image.shape[1],
        warnings=tuple(dict.fromkeys(messages)),
    )


class SkipLog:
    """Counts and logs examples skipped during conversion, by reason."""

    def __init__(self) -> None:
        self.reasons: collections.Counter[str] = collections.Counter()
        self.examples: list[str] = []

    def skip(self, reason: str, detail: str) -> None:
        self.reasons[reason] += 1
        if len(self.examples) < 100:
            self.examples.append(detail)
        logging.warning("skipped: %s", detail)

    def skip_many(self, reason: str, count: int, detail: str) -> None:
        """Counts ``count`` examples skipped for one ``reason`` with one warning (e.g. the many
        COCO person annotations without a labelled keypoint)."""
        if count <= 0:
            return
        self.reasons[reason] += count
        if len(self.examples) < 100:
            self.examples.append(detail)
        logging.warning("skipped %d: %s", count, detail)

    @property
    def total(self) -> int:
        return sum(self.reasons.values())


def read_or_skip(path: str, skip_log: SkipLog) -> ImageFile | None:
    """:func:`read_image_file`, or ``None`` after logging and counting an unreadable file."""
    try:
        image = read_image_file(path)
    except UnreadableImageError as e:
        skip_log.skip("unreadable image", str(e))
        return None
    if image.warnings:
        logging.warning("%s: damaged data, kept (decoder: %s)", path, "; ".join(image.warnings))
    return image


def example_or_skip(skip_log: SkipLog, path: str, image: ImageFile, **fields) -> PoseExample | None:
    """``PoseExample(**fields)`` with ``image``'s bytes, format and size, or ``None`` after
    logging and counting an annotation that it rejects (NaN or far-outside joints, a scale <= 0,
    ...): one bad annotation in a large dataset should cost that person, not the conversion."""
    try:
        return PoseExample(
            image_bytes=image.encoded,
            image_format=image.format,
            image_height=image.height,
            image_width=image.width,
            **fields,
        )
    except ValueError as e:
        skip_log.skip("invalid annotation", f"{path}: {e}")
        return None


def read_json(path: str) -> Any:
    """The content of an annotation JSON file; raises ``FileNotFoundError`` (unreadable) or
    ``ValueError`` (not JSON) naming the file."""
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise FileNotFoundError(f"{path}: cannot read ({e.strerror or e})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def find_image(name: str, directories: list[str]) -> str:
    """The first ``directory/name`` that exists, else the first candidate (to report it)."""
    candidates = [os.path.join(d, name) for d in directories]
    for c in candidates:
        if os.path.exists(c):
            return c
    return candidates[0]
