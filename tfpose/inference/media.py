"""Input files for prediction: images, folders of images and videos (OpenCV).

Images are returned RGB (the order the models were trained on); video frames likewise. Files
that cannot be read raise :class:`UnreadableInputError` naming the file and the problem, so a
folder run can report and skip them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import cv2
import numpy as np

from tfpose.data.image_files import (
    UnreadableImageError,
    check_complete,
    decoder_messages,
    read_encoded,
)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg")
# Frame rate written when a video does not report one.
DEFAULT_FPS = 25.0


class UnreadableInputError(ValueError):
    """An input file is missing, empty, or does not decode."""


def is_video(path: str) -> bool:
    return path.lower().endswith(VIDEO_EXTENSIONS)


def is_image(path: str) -> bool:
    return path.lower().endswith(IMAGE_EXTENSIONS)


def list_inputs(path: str) -> list[str]:
    """The files of an ``--input``: the file itself, or a folder's images and videos (sorted,
    not recursive).

    Raises:
      FileNotFoundError: ``path`` does not exist, or the folder holds no image or video.
      ValueError: ``path`` is a file of neither kind.
    """
    if os.path.isdir(path):
        names = sorted(os.listdir(path))
        files = [os.path.join(path, n) for n in names if is_image(n) or is_video(n)]
        files = [f for f in files if os.path.isfile(f)]
        if not files:
            raise FileNotFoundError(
                f"--input={path}: the folder holds no image ({', '.join(IMAGE_EXTENSIONS)}) or "
                f"video ({', '.join(VIDEO_EXTENSIONS)}) file"
            )
        return files
    if not os.path.exists(path):
        raise FileNotFoundError(f"--input={path} does not exist")
    if not (is_image(path) or is_video(path)):
        raise ValueError(
            f"--input={path}: not an image ({', '.join(IMAGE_EXTENSIONS)}) or video "
            f"({', '.join(VIDEO_EXTENSIONS)}) file"
        )
    return [path]


def read_image(path: str, warnings: list[str] | None = None) -> np.ndarray:
    """Reads an image file as uint8 RGB [H, W, 3], decoding it once (OpenCV, which turns the
    image upright by its EXIF orientation).

    JPEG and PNG files are checked like dataset images, without their TensorFlow decode:
    empty files, files of another format (:func:`tfpose.data.image_files.read_encoded`) and
    truncated JPEGs (:func:`tfpose.data.image_files.check_complete`) are refused. What the
    decoder prints about damaged data it decodes anyway (libjpeg's "Corrupt JPEG data: ...") is
    kept off the console and, with ``warnings``, appended there as one line naming ``path``.

    Raises:
      UnreadableInputError: naming ``path`` and the problem.
    """
    fmt = None
    if path.lower().endswith((".jpg", ".jpeg", ".png")):
        try:
            data, fmt = read_encoded(path)
        except UnreadableImageError as e:
            raise UnreadableInputError(str(e)) from None
        with decoder_messages() as messages:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise UnreadableInputError(f"{path}: {fmt} data does not decode (corrupt or truncated)")
        try:
            check_complete(path, data, fmt)
        except UnreadableImageError as e:
            raise UnreadableInputError(str(e)) from None
    else:
        if not os.path.isfile(path):
            raise UnreadableInputError(f"{path}: no such file")
        with decoder_messages() as messages:
            image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise UnreadableInputError(f"{path}: does not decode as an image")
    if messages and warnings is not None:
        details = "; ".join(dict.fromkeys(messages))
        warnings.append(f"{path}: damaged image data, predicted on what decodes ({details})")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class VideoReader:
    """Frames of a video file, RGB, in order.

    Attributes:
      fps: frames per second the file reports (``DEFAULT_FPS`` when it reports none).
      frame_count: frames the file reports (0 when unknown; may be approximate).
      width, height: frame size in pixels.

    Raises:
      UnreadableInputError: the file does not open as a video.
    """

    def __init__(self, path: str):
        self.path = path
        if not os.path.isfile(path):
            raise UnreadableInputError(f"{path}: no such file")
        self._capture = cv2.VideoCapture(path)
        if not self._capture.isOpened():
            raise UnreadableInputError(f"{path}: does not open as a video")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else DEFAULT_FPS
        self.frame_count = max(0, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            ok, frame = self._capture.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoWriter:
    """Writes BGR frames to an MP4 file (``mp4v`` codec); the size is fixed by the first frame.

    Raises:
      OSError: the file cannot be opened for writing.
    """

    def __init__(self, path: str, fps: float):
        self.path = path
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            height, width = frame.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*"mp4v")
            self._writer = cv2.VideoWriter(self.path, fourcc, self.fps, (width, height))
            if not self._writer.isOpened():
                raise OSError(f"{self.path}: cannot open for writing an mp4v video")
            self._size = (height, width)
        if frame.shape[:2] != self._size:
            frame = cv2.resize(frame, self._size[::-1], interpolation=cv2.INTER_AREA)
        self._writer.write(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
