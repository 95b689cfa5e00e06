"""Reading image files for conversion, and counting the ones that cannot be used.

Readers keep the original encoded bytes (records never re-encode), but decode every image once
with TensorFlow's decoder, the one training uses, so that corrupt or truncated files are found at
conversion time, not mid-training (OpenCV accepts some JPEGs that TensorFlow refuses).
"""

from __future__ import annotations

import collections
import dataclasses
import os

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


def sniff_format(data: bytes) -> str | None:
    """``"jpeg"``/``"png"`` from the file's magic bytes, else ``None``."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return None


def read_image_file(path: str) -> ImageFile:
    """Reads and validates one JPEG/PNG file.

    Raises:
      UnreadableImageError: naming ``path`` and what is wrong with it.
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
    try:
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, UnicodeDecodeError):
        raise UnreadableImageError(
            f"{path}: {fmt} data does not decode (corrupt or truncated)"
        ) from None
    # libjpeg decodes a truncated JPEG with a warning and grey fill; the end-of-image marker
    # tells truncated files apart.
    if fmt == "jpeg" and b"\xff\xd9" not in data[-64:]:
        raise UnreadableImageError(f"{path}: JPEG is truncated (no end-of-image marker)")
    return ImageFile(encoded=data, format=fmt, height=image.shape[0], width=image.shape[1])


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

    @property
    def total(self) -> int:
        return sum(self.reasons.values())


def read_or_skip(path: str, skip_log: SkipLog) -> ImageFile | None:
    """:func:`read_image_file`, or ``None`` after logging and counting an unreadable file."""
    try:
        return read_image_file(path)
    except UnreadableImageError as e:
        skip_log.skip("unreadable image", str(e))
        return None


def example_or_skip(skip_log: SkipLog, path: str, **fields) -> PoseExample | None:
    """``PoseExample(**fields)``, or ``None`` after logging and counting an annotation that it
    rejects (NaN or far-outside joints, a scale <= 0, ...): one bad annotation in a large
    dataset should cost that person, not the conversion."""
    try:
        return PoseExample(**fields)
    except ValueError as e:
        skip_log.skip("invalid annotation", f"{path}: {e}")
        return None


def find_image(name: str, directories: list[str]) -> str:
    """The first ``directory/name`` that exists, else the first candidate (to report it)."""
    candidates = [os.path.join(d, name) for d in directories]
    for c in candidates:
        if os.path.exists(c):
            return c
    return candidates[0]
