"""Single-person pose prediction on images: :class:`Predictor`.

Example::

    import cv2
    from tfpose.inference import Predictor

    predictor = Predictor.from_path("runs/quickstart/best.keras")   # or a SavedModel / .tflite
    image = cv2.cvtColor(cv2.imread("person.jpg"), cv2.COLOR_BGR2RGB)
    result = predictor.predict(image)                   # whole image = the person region
    result = predictor.predict(image, boxes=[x1, y1, x2, y2])
    result.keypoints[0]    # [K, 2] (x, y) image pixels, joint order predictor.skeleton

Person regions. The model is single-person: every (image, box) pair is one person. A box is the
region the network sees (its longer side, centred, padded to a square; see
:mod:`tfpose.inference.preprocess`); without a box the region is the whole image, padded to a
square. ``box_mode="person"`` reads boxes as tight person boxes and adds the training crops'
context (``box_scale`` times the box side).

Scores, both in [0, 1]:

* ``confidence`` — the peak of the keypoint's predicted map (after the flip test, when on)
  divided by the peak of the training target (``spec.amplitude``: 12 for the recurrent
  network, 1 for the cascades), clipped to [0, 1]; for models whose maps are logits
  (``spec.visibility_kind == "sigmoid"``) the sigmoid of the peak. It is the COCO keypoint
  score. (The SavedModel's ``serving_default`` returns the raw peak as ``confidence`` and this
  score as ``visibility``.)
* ``visibility`` — the same peak (the recurrent paper ranks visible above occluded joints by the
  maximum of each map, Fig. 7), set to 0 for keypoints predicted outside the image. It separates
  visible from occluded joints best for models trained with ``--occlusion_mode=exclude``.

Shape legend: B images, N persons (one per box, one per image without boxes), K keypoints,
S crop side, H × W heatmap.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
import tensorflow as tf

from tfpose.data import targets, transforms
from tfpose.inference import preprocess
from tfpose.inference.backends import Backend, ModelSpec, load_backend
from tfpose.skeletons import Skeleton

BoxMode = Literal["region", "person"]
BOX_MODES = ("region", "person")


@dataclasses.dataclass
class PosePrediction:
    """The persons found in a batch of images.

    Attributes:
      keypoints: float32 [N, K, 2], (x, y) in pixels of the person's image.
      confidence: float32 [N, K] in [0, 1].
      visibility: float32 [N, K] in [0, 1].
      boxes: float32 [N, 4], the region (x1, y1, x2, y2) each person was cropped from.
      image_index: int32 [N], the input image of each person.
      heatmaps: with ``return_heatmaps``: {output name: float32 [N, H, W, K]} for
        ``spec.pass_outputs`` (the passes of a recurrent model), flip-averaged when the flip
        test is on; else None.
      crops: with ``return_heatmaps``: uint8 [N, S, S, 3] RGB crops the network saw; else None.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    visibility: np.ndarray
    boxes: np.ndarray
    image_index: np.ndarray
    heatmaps: dict[str, np.ndarray] | None = None
    crops: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def for_image(self, index: int) -> PosePrediction:
        """The persons of input image ``index``."""
        keep = self.image_index == index
        return PosePrediction(
            keypoints=self.keypoints[keep],
            confidence=self.confidence[keep],
            visibility=self.visibility[keep],
            boxes=self.boxes[keep],
            image_index=self.image_index[keep],
            heatmaps=None
            if self.heatmaps is None
            else {k: v[keep] for k, v in self.heatmaps.items()},
            crops=None if self.crops is None else self.crops[keep],
        )


def normalize_scores(
    peaks: np.ndarray, amplitude: float, kind: str = "peak_over_amplitude"
) -> np.ndarray:
    """Map values → [0, 1] scores: ``clip(peak / amplitude, 0, 1)``, or ``sigmoid(peak)`` for
    ``kind="sigmoid"`` (:func:`tfpose.export.decode.visibility_score`, the serving graph's)."""
    from tfpose.export.decode import visibility_score

    peaks = tf.convert_to_tensor(np.asarray(peaks, np.float32))
    return visibility_score(peaks, kind, float(amplitude)).numpy()


def inside_image(keypoints: np.ndarray, height: int, width: int) -> np.ndarray:
    """bool [..., K]: keypoints [..., K, 2] within the image area ``[-0.5, W - 0.5]`` ×
    ``[-0.5, H - 0.5]``."""
    x, y = keypoints[..., 0], keypoints[..., 1]
    return (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)


def _as_image_list(images: Any) -> tuple[list[np.ndarray], bool]:
    """A list of uint8 [H, W, 3] images, and whether a single image was given."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images, single = [images], True
    elif isinstance(images, np.ndarray) and images.ndim == 4:
        images, single = list(images), False
    elif isinstance(images, (list, tuple)):
        images, single = list(images), False
    else:
        raise ValueError(
            "images must be an RGB image [H, W, 3], a batch [B, H, W, 3] or a list of images, "
            f"got {type(images).__name__}"
            + (f" of shape {images.shape}" if isinstance(images, np.ndarray) else "")
        )
    if not images:
        raise ValueError("images is empty")
    checked = []
    for i, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3 or min(image.shape[:2]) < 1:
            raise ValueError(f"images[{i}]: expected an RGB image [H, W, 3], got {image.shape}")
        if image.dtype != np.uint8:
            if not np.issubdtype(image.dtype, np.number):
                raise ValueError(f"images[{i}]: expected numbers, got dtype {image.dtype}")
            image = np.clip(image, 0, 255).astype(np.uint8)
        checked.append(image)
    return checked, single


def validate_box(box: Any, where: str) -> np.ndarray:
    """float32 [4] from a (x1, y1, x2, y2) box; raises ``ValueError`` naming ``where``."""
    try:
        array = np.asarray(box, np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: a box must be 4 numbers [x1, y1, x2, y2], got {box!r}"
        ) from None
    if array.shape != (4,):
        raise ValueError(f"{where}: a box must be 4 numbers [x1, y1, x2, y2], got {box!r}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{where}: box {box!r} has a non-finite value")
    if not (array[2] > array[0] and array[3] > array[1]):
        raise ValueError(f"{where}: box {box!r} needs x2 > x1 and y2 > y1")
    return array.astype(np.float32)


def _boxes_of_image(entry: Any, where: str) -> list[np.ndarray | None]:
    """One image's boxes entry (None, [4] or [M, 4]) → a list of boxes (None = whole image)."""
    if entry is None:
        return [None]
    try:
        array = np.asarray(entry, np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: expected [x1, y1, x2, y2] or a list of such boxes, got {entry!r}"
        ) from None
    if array.ndim == 2:
        if array.shape[0] == 0:
            raise ValueError(f"{where}: empty list of boxes")
        return [validate_box(box, f"{where}[{j}]") for j, box in enumerate(array)]
    return [validate_box(entry, where)]


class Predictor:
    """Crops persons, runs a backend, decodes keypoints in image pixels.

    Args:
      backend: a :class:`tfpose.inference.backends.Backend` (see :meth:`from_path`).
      batch_size: crops per backend call.
      flip_test: default of :meth:`predict`'s ``flip_test``.
    """

    def __init__(self, backend: Backend, batch_size: int = 16, flip_test: bool = False):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.backend = backend
        self.batch_size = batch_size
        self.flip_test = flip_test

    @classmethod
    def from_path(cls, path: str, batch_size: int = 16, flip_test: bool = False) -> Predictor:
        """A predictor for a ``.keras`` file (with ``flags.json`` beside it), a SavedModel
        directory or a ``.tflite`` file (with ``tfpose_export.json``)."""
        return cls(load_backend(path), batch_size=batch_size, flip_test=flip_test)

    @property
    def spec(self) -> ModelSpec:
        return self.backend.spec

    @property
    def skeleton(self) -> Skeleton:
        return self.backend.spec.skeleton

    def regions(
        self, images: Any, boxes: Any = None, box_mode: BoxMode = "region"
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, bool]:
        """The images as a list, each person's region [N, 4] and image index [N].

        ``boxes``: None (whole images), or one entry per image — None, a box [4] or boxes
        [M, 4]; for a single image, the entry itself.
        """
        if box_mode not in BOX_MODES:
            raise ValueError(f"box_mode must be one of {BOX_MODES}, got {box_mode!r}")
        image_list, single = _as_image_list(images)
        if boxes is None:
            entries = [None] * len(image_list)
        elif single:
            entries = [boxes]
        else:
            if len(boxes) != len(image_list):
                raise ValueError(
                    f"boxes has {len(boxes)} entries for {len(image_list)} images (give one "
                    "entry per image: None, [x1, y1, x2, y2] or a list of such boxes)"
                )
            entries = list(boxes)
        regions, image_index = [], []
        for i, (image, entry) in enumerate(zip(image_list, entries, strict=True)):
            where = "boxes" if single else f"boxes[{i}]"
            for box in _boxes_of_image(entry, where):
                if box is None:
                    box = preprocess.whole_image_box(*image.shape[:2])
                elif box_mode == "person":
                    box = preprocess.person_box_to_region(box, self.spec.box_scale)
                regions.append(box)
                image_index.append(i)
        return (
            image_list,
            np.stack(regions).astype(np.float32),
            np.asarray(image_index, np.int32),
            single,
        )

    def _run(self, crops: np.ndarray, flip_test: bool) -> dict[str, np.ndarray]:
        outputs = self.backend(crops)
        if flip_test:
            mirrored = self.backend(np.ascontiguousarray(crops[:, :, ::-1, :]))
            permutation = self.skeleton.flip_permutation
            outputs = {
                name: targets.flip_average(maps, mirrored[name], permutation).numpy()
                for name, maps in outputs.items()
            }
        return outputs

    def predict(
        self,
        images: Any,
        boxes: Any = None,
        *,
        flip_test: bool | None = None,
        box_mode: BoxMode = "region",
        return_heatmaps: bool = False,
    ) -> PosePrediction:
        """Predicts one pose per person region.

        Args:
          images: uint8 RGB [H, W, 3], a batch [B, H, W, 3] or a list of [H, W, 3] of any sizes.
          boxes: None (each whole image is one person), or per image None / [x1, y1, x2, y2] /
            a list of boxes (several persons, each predicted alone); for a single image, its
            entry directly. Image pixels.
          flip_test: average the maps of each crop and its mirror (None = the predictor's
            default).
          box_mode: ``"region"`` (a box is the crop region) or ``"person"`` (a tight person
            box, enlarged by ``spec.box_scale``).
          return_heatmaps: also return the maps of every pass and the crops.

        Returns:
          A :class:`PosePrediction` over the N persons, in image order then box order.

        Raises:
          ValueError: naming the bad image or box entry.
        """
        flip_test = self.flip_test if flip_test is None else flip_test
        spec = self.spec
        image_list, regions, image_index, _ = self.regions(images, boxes, box_mode)
        keypoints, confidence, collected, crop_images = [], [], {}, []
        for start in range(0, len(regions), self.batch_size):
            chunk = range(start, min(start + self.batch_size, len(regions)))
            crops, chunk_affines = [], []
            for n in chunk:
                crop, affine = preprocess.crop_person(
                    image_list[image_index[n]],
                    regions[n],
                    input_size=spec.input_size,
                    box_scale=spec.box_scale,
                    fill=spec.fill,
                    normalization=spec.normalization,
                )
                crops.append(crop)
                chunk_affines.append(affine)
            crops = np.stack(crops)
            outputs = self._run(crops, flip_test)
            if not np.all(np.isfinite(outputs[spec.prediction_output])):
                raise RuntimeError(
                    f"{spec.source}: the model returned non-finite heatmaps (NaN or inf); for a "
                    ".tflite file, check that its weights were frozen at conversion"
                )
            crop_keypoints, peaks = targets.decode_heatmaps(
                outputs[spec.prediction_output], spec.heatmap_stride
            )
            keypoints.append(preprocess.crop_to_image(crop_keypoints, np.stack(chunk_affines)))
            confidence.append(normalize_scores(peaks, spec.amplitude, spec.visibility_kind))
            if return_heatmaps:
                for name in spec.pass_outputs:
                    collected.setdefault(name, []).append(outputs[name])
                pixels = transforms.denormalize_pixels(crops, spec.normalization)
                crop_images.append(np.clip(np.round(np.asarray(pixels)), 0, 255).astype(np.uint8))
        keypoints = np.concatenate(keypoints).astype(np.float32)
        confidence = np.concatenate(confidence).astype(np.float32)
        sizes = [image_list[i].shape[:2] for i in image_index]
        inside = np.stack(
            [inside_image(kp, *size) for kp, size in zip(keypoints, sizes, strict=True)]
        )
        return PosePrediction(
            keypoints=keypoints,
            confidence=confidence,
            visibility=np.where(inside, confidence, 0.0).astype(np.float32),
            boxes=regions,
            image_index=image_index,
            heatmaps={k: np.concatenate(v) for k, v in collected.items()}
            if return_heatmaps
            else None,
            crops=np.concatenate(crop_images) if return_heatmaps else None,
        )
