"""Person region → network input crop, and crop keypoints → image keypoints.

The single place where inference turns a person box into a crop. It follows the contract with
the export package (``.notes/export_contract.md``): a box ``[x1, y1, x2, y2]`` in image pixels
(the whole image when absent) gives

* ``center`` = the box centre,
* ``scale`` = ``max(box width, box height) / 200 / box_scale``,

so that the crop of :func:`tfpose.data.transforms.crop_affine` (side
``box_scale · 200 · scale`` image pixels) is the *square around the box*: its longer side, centred,
the shorter side padded with the convention's fill value. The box is therefore the region the
network sees. Without a box the crop is the whole image padded to a square and resized to the
input size, the released Belagiannis & Zisserman inference ("pad the image to a square, resize
to 248"). Training crops hold a person ``1 / box_scale`` of the crop tall (± the scale
augmentation), so a box with that much context works best: for a tight person box of side ``h``,
pass the square of side ``box_scale · h`` around it (:func:`person_box_to_region`).

:func:`person_from_box` is :func:`tfpose.export.preprocess.person_from_box`, the function the
exported SavedModel's ``serving_default`` signature uses, so serving and this package crop alike.

Shape legend: N persons, K keypoints, S crop side; points are (x, y) in pixels.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tfpose.data import transforms
from tfpose.export.preprocess import person_from_box

__all__ = [
    "crop_person",
    "crop_to_image",
    "person_box_to_region",
    "person_from_box",
    "whole_image_box",
]


def whole_image_box(height: int, width: int) -> np.ndarray:
    """The box of the whole image: float32 [4], edges of the outer pixels (pixel centres at
    integers, so the image spans ``[-0.5, W - 0.5]``)."""
    return np.array([-0.5, -0.5, width - 0.5, height - 0.5], np.float32)


def person_box_to_region(box: Sequence[float], box_scale: float) -> np.ndarray:
    """The crop region for a tight person box: the square of side ``box_scale · max(w, h)``
    around the box centre, so the person fills the crop as in training.

    Args:
      box: (x1, y1, x2, y2) image pixels, tight around the person.
      box_scale: the model's crop convention's ``box_scale`` (``Predictor.spec.box_scale``).

    Returns:
      float32 [4] region (x1, y1, x2, y2).
    """
    box = np.asarray(box, np.float32)
    center = (box[:2] + box[2:]) / 2.0
    half = box_scale * float(np.max(box[2:] - box[:2])) / 2.0
    return np.concatenate([center - half, center + half]).astype(np.float32)


def crop_person(
    image: np.ndarray,
    box: np.ndarray,
    *,
    input_size: int,
    box_scale: float,
    fill: float,
    normalization: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Crops one person region and normalises it for the network.

    The ops are those of the training pipeline's evaluation crop, run as one compiled graph
    (called eagerly op by op, they cost more than the network at batch 1).

    Args:
      image: uint8 [H, W, 3] RGB.
      box: float [4] region (x1, y1, x2, y2) in image pixels.
      input_size: S.
      box_scale: crop convention's box scale.
      fill: crop convention's fill value (0–255) outside the image.
      normalization: ``"unit"`` or ``"belagiannis"`` (:func:`transforms.normalize_pixels`).

    Returns:
      crop float32 [S, S, 3] (normalised network input) and affine float32 [2, 3]
      (image → crop pixels).
    """
    crop_fn = _crop_function(int(input_size), float(box_scale), float(fill), normalization)
    crop, affine = crop_fn(
        tf.convert_to_tensor(np.asarray(image, np.uint8)),
        tf.convert_to_tensor(np.asarray(box, np.float32)),
    )
    return crop.numpy(), affine.numpy()


@functools.lru_cache(maxsize=16)
def _crop_function(input_size: int, box_scale: float, fill: float, normalization: str):
    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, 3], tf.uint8),
            tf.TensorSpec([4], tf.float32),
        ],
        autograph=False,
        reduce_retracing=True,
    )
    def crop(image, box):
        center, scale = person_from_box(box, box_scale)
        affine = transforms.crop_affine(center, scale, 0.0, False, input_size, box_scale)
        warped = transforms.warp_image(tf.cast(image, tf.float32), affine, input_size, fill)
        return transforms.normalize_pixels(warped, normalization), affine

    return crop


def crop_to_image(keypoints: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Crop-pixel keypoints [N, K, 2] → image pixels through the inverse of ``affine`` [N, 2, 3]."""
    return transforms.crop_to_image(keypoints, affine).numpy()
