"""Single-person pose prediction on images: :class:`Predictor`.

Example::

    import cv2
    from tfpose.inference import Predictor

    predictor = Predictor.from_path("runs/quickstart/best.keras")   # or SavedModel/.tflite/.onnx
    image = cv2.cvtColor(cv2.imread("person.jpg"), cv2.COLOR_BGR2RGB)
    result = predictor.predict(image)                   # whole image = the person region
    result = predictor.predict(image, boxes=[x1, y1, x2, y2])
    result.keypoints[0]    # [K, 2] (x, y) image pixels, joint order predictor.skeleton

Person regions. The model is single-person: every (image, box) pair is one person. A box is the
region the network sees (its longer side, centred, padded to a square; see
:mod:`tfpose.inference.preprocess`); without a box the region is the whole image, padded to a
square. ``box_mode="person"`` reads boxes as tight person boxes and adds the training crops'
context (``box_scale`` times the box side).

Finding the person. A model trained on person crops sees a whole photo as a small person in a
large frame. ``refine=1`` runs a second pass: the joints found in the first crop (those with
``confidence >= refine_min_confidence``, at least ``REFINE_MIN_JOINTS`` of them) give a person
box, the box gets the training crops' context (:func:`joint_region`), and the model runs again
on that crop, as MediaPipe derives its region of interest from the previous landmarks.
``refine=N`` repeats it N times; a person whose joints are too few keeps the previous region.

Scores, both in [0, 1]:

* ``confidence`` — the peak of the keypoint's predicted map (after the flip test, when on)
  divided by the peak of the training target (``spec.amplitude``: 12 for the recurrent
  network, 1 for the cascades), clipped to [0, 1]; for models whose maps are logits
  (``spec.visibility_kind == "sigmoid"``) the sigmoid of the peak. It is the COCO keypoint
  score. The exported models' ``confidence`` outputs (SavedModel ``serving_default``, TFLite,
  ONNX) are this same score; their ``peak`` output is the raw map peak.
* ``visibility`` — the same peak (the recurrent paper ranks visible above occluded joints by the
  maximum of each map, Fig. 7), set to 0 for keypoints predicted outside the image. It separates
  visible from occluded joints best for models trained with ``--occlusion_mode=exclude``.

Flip test. ``Predictor(..., flip_test=None)`` (the default) applies the flip test recorded
with the model (``spec.flip_test``: ``tfpose_export.json`` for exports, ``val_flip_test`` of
the run record inside a ``.keras`` file, see :mod:`tfpose.inference.backends`), so a model
gives one answer in every format, the SavedModel's ``serving_default`` included; True/False
overrides it. Backends return raw maps; the flip test happens here only.

Shape legend: B images, N persons (one per box, one per image without boxes), K keypoints,
S crop side, H × W heatmap.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Literal

import numpy as np
import tensorflow as tf

from tfpose.data import targets, transforms
from tfpose.inference import preprocess
from tfpose.inference.backends import Backend, load_backend
from tfpose.model_spec import ModelSpec
from tfpose.skeletons import Skeleton

BoxMode = Literal["region", "person"]
BOX_MODES = ("region", "person")
# Re-centring on the joints found (``refine``): joints at or above this confidence count,
# and fewer than REFINE_MIN_JOINTS of them keep the previous region.
REFINE_MIN_CONFIDENCE = 0.2
REFINE_MIN_JOINTS = 4
# The joints' bounding box times this is the person extent the training crops use
# (tfpose.data.example.center_scale_from_keypoints: joints span ankle to head top, + 10 %).
JOINT_EXTENT_MARGIN = 1.1


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


# The decoding and flip-averaging ops, each run as one compiled graph: called eagerly op by op
# they cost about as much as the network at batch 1.


@functools.lru_cache(maxsize=16)
def _decode_function(stride: int, amplitude: float, kind: str):
    from tfpose.export.decode import visibility_score

    @tf.function(autograph=False, reduce_retracing=True)
    def decode(maps, affines):
        crop_keypoints, peaks = targets.decode_heatmaps(maps, stride)
        image_keypoints = transforms.crop_to_image(crop_keypoints, affines)
        return image_keypoints, visibility_score(peaks, kind, amplitude)

    return decode


@functools.lru_cache(maxsize=16)
def _flip_function(permutation: tuple[int, ...]):
    @tf.function(autograph=False, reduce_retracing=True)
    def average(maps, mirrored):
        return targets.flip_average(maps, mirrored, permutation)

    return average


def joint_region(keypoints: np.ndarray, usable: np.ndarray, box_scale: float) -> np.ndarray | None:
    """The crop region around a person's joints, as the training crops frame a person.

    Args:
      keypoints: float [K, 2] image pixels.
      usable: bool [K], the joints to use.
      box_scale: the model's crop convention's box scale.

    Returns:
      float32 [4] (x1, y1, x2, y2), the square of side ``box_scale · 1.1 · extent`` around the
      middle of the joints' bounding box (extent = its longer side), or None when fewer than
      ``REFINE_MIN_JOINTS`` joints are usable.
    """
    points = np.asarray(keypoints, np.float32)[np.asarray(usable, bool)]
    if len(points) < REFINE_MIN_JOINTS:
        return None
    low, high = points.min(axis=0), points.max(axis=0)
    center = (low + high) / 2.0
    half = max(float(np.max(high - low)) * JOINT_EXTENT_MARGIN, 1.0) / 2.0
    return preprocess.person_box_to_region(
        np.concatenate([center - half, center + half]), box_scale
    )


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
      flip_test: default of :meth:`predict`'s ``flip_test``; None = the setting recorded with
        the model (``backend.spec.flip_test``). The resolved value is ``self.flip_test``, and
        ``self.flip_test_source`` says where it came from.
      refine: default of :meth:`predict`'s ``refine`` (extra passes on the joints found).
      refine_min_confidence: joints at or above this confidence frame the next pass.
      refine_context: the next pass's region is ``refine_context`` times the training crops'
        framing of the joints (1 = as training crops frame a person).
    """

    def __init__(
        self,
        backend: Backend,
        batch_size: int = 16,
        flip_test: bool | None = None,
        refine: int = 0,
        refine_min_confidence: float = REFINE_MIN_CONFIDENCE,
        refine_context: float = 1.0,
    ):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not isinstance(refine, int) or refine < 0:
            raise ValueError(f"refine must be an int >= 0, got {refine!r}")
        self.backend = backend
        self.batch_size = batch_size
        if flip_test is None:
            self.flip_test = bool(getattr(backend.spec, "flip_test", False))
            self.flip_test_source = "the model's setting: " + getattr(
                backend.spec, "flip_test_source", "off: not recorded"
            )
        else:
            self.flip_test = bool(flip_test)
            self.flip_test_source = "set explicitly"
        self.refine = refine
        self.refine_min_confidence = refine_min_confidence
        if not refine_context > 0:
            raise ValueError(f"refine_context must be > 0, got {refine_context!r}")
        self.refine_context = refine_context

    @classmethod
    def from_path(
        cls,
        path: str,
        batch_size: int = 16,
        flip_test: bool | None = None,
        refine: int | None = None,
    ) -> Predictor:
        """A predictor for a ``.keras`` file (carrying its run record), a SavedModel
        directory, a ``.tflite`` or ``.onnx`` file (with ``tfpose_export.json``), or a shipped
        model's name (:meth:`from_preset`). ``flip_test`` and ``refine`` None = the model's
        recorded settings (refine 0 unless a shipped model records one)."""
        from tfpose import zoo

        if not os.path.exists(path) and path in zoo.entries():
            return cls.from_preset(path, batch_size, flip_test=flip_test, refine=refine)
        return cls(
            load_backend(path), batch_size=batch_size, flip_test=flip_test, refine=refine or 0
        )

    @classmethod
    def from_preset(
        cls,
        name: str,
        batch_size: int = 16,
        flip_test: bool | None = None,
        refine: int | None = None,
    ) -> Predictor:
        """The predictor of a model shipped with tfpose (``python -m tfpose.zoo`` lists them),
        by default with the flip test and refinement its published score was measured with."""
        from tfpose import zoo

        entry = zoo.get(name)
        backend = load_backend(str(entry.path))
        backend.spec = dataclasses.replace(
            backend.spec,
            flip_test=bool(entry.flip_test),
            flip_test_source=f"tfpose.zoo manifest ({entry.name})",
        )
        return cls(
            backend,
            batch_size=batch_size,
            flip_test=flip_test,
            refine=entry.refine if refine is None else refine,
        )

    @property
    def spec(self) -> ModelSpec:
        return self.backend.spec

    @property
    def skeleton(self) -> Skeleton:
        return self.backend.spec.layout

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
            average = _flip_function(tuple(int(i) for i in self.skeleton.flip_permutation))
            outputs = {
                name: average(maps, mirrored[name]).numpy() for name, maps in outputs.items()
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
        refine: int | None = None,
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
          refine: extra passes, each on the region around the joints the previous pass found
            (None = the predictor's default; see the module docstring).

        Returns:
          A :class:`PosePrediction` over the N persons, in image order then box order.

        Raises:
          ValueError: naming the bad image or box entry.
        """
        flip_test = self.flip_test if flip_test is None else flip_test
        refine = self.refine if refine is None else refine
        image_list, regions, image_index, _ = self.regions(images, boxes, box_mode)
        result = self._predict_regions(image_list, regions, image_index, flip_test, return_heatmaps)
        for _ in range(refine):
            regions = self._refined_regions(result)
            result = self._predict_regions(
                image_list, regions, image_index, flip_test, return_heatmaps
            )
        return result

    def _refined_regions(self, result: PosePrediction) -> np.ndarray:
        regions = result.boxes.copy()
        for n in range(len(result)):
            usable = result.visibility[n] >= self.refine_min_confidence
            region = joint_region(
                result.keypoints[n], usable, self.spec.box_scale * self.refine_context
            )
            if region is not None:
                regions[n] = region
        return regions

    def _predict_regions(
        self,
        image_list: list[np.ndarray],
        regions: np.ndarray,
        image_index: np.ndarray,
        flip_test: bool,
        return_heatmaps: bool,
    ) -> PosePrediction:
        spec = self.spec
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
            decode = _decode_function(
                int(spec.heatmap_stride), float(spec.amplitude), spec.visibility_kind
            )
            image_keypoints, scores = decode(
                np.asarray(outputs[spec.prediction_output], np.float32),
                np.stack(chunk_affines).astype(np.float32),
            )
            keypoints.append(image_keypoints.numpy())
            confidence.append(scores.numpy())
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
