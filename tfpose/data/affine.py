"""Crop geometry: the image → crop affine matrices of person crops, as TensorFlow ops.

Coordinate vocabulary (used by every docstring in :mod:`tfpose.data`):
  * Points are ``(x, y)`` in pixels, ``x`` to the right, ``y`` down. An integer coordinate is
    the *centre* of a pixel, so an image of width W spans ``[-0.5, W - 0.5]`` (the convention of
    OpenCV's ``warpAffine`` and of ``tf.raw_ops.ImageProjectiveTransformV3``).
  * *Image* pixels belong to the original decoded image; *crop* pixels to the network input of
    size S × S.
  * An ``affine`` is a float32 [..., 2, 3] matrix ``[M | t]`` mapping image pixels to crop
    pixels: ``crop = M @ image + t``. :func:`invert_affine` gives the crop → image matrix.

The crop of one person is a single affine transform built from (centre, scale, rotation, flip,
output size); the image is warped with it once (bilinear, constant fill) and the keypoints are
mapped with the same matrix, so image and labels can never disagree.

Shape legend: B batch, K keypoints, H × W image, S crop side.

Used by training (:mod:`tfpose.data.transforms`), exports and inference alike.
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.data.example import SCALE_UNIT_PX


def crop_affine(
    center: tf.Tensor,
    scale: tf.Tensor,
    rotation: tf.Tensor,
    flip: tf.Tensor,
    output_size: int,
    box_scale: float = 1.0,
) -> tf.Tensor:
    """The image → crop matrix of a person crop (used by training and serving alike).

    The square box of side ``box_scale · 200 · scale`` image pixels centred on ``center`` is
    mapped onto ``output_size`` × ``output_size`` crop pixels, rotated by ``rotation`` degrees
    (counter-clockwise as displayed) about the crop centre and mirrored horizontally where
    ``flip`` is true. Arguments broadcast against each other.

    Args:
      center: float [..., 2], person centre (x, y) in image pixels.
      scale: float [...], person height / 200 px.
      rotation: float [...], degrees.
      flip: bool [...].
      output_size: crop side S in pixels.
      box_scale: box side in units of ``200 · scale`` pixels.

    Returns:
      float32 [..., 2, 3] affine matrix, image pixels → crop pixels.
    """
    center = tf.convert_to_tensor(center, tf.float32)
    scale = tf.convert_to_tensor(scale, tf.float32)
    theta = tf.convert_to_tensor(rotation, tf.float32) * (3.141592653589793 / 180.0)
    sign = tf.where(tf.convert_to_tensor(flip, tf.bool), -1.0, 1.0)
    zoom = float(output_size) / (box_scale * SCALE_UNIT_PX * scale)
    cos, sin = tf.cos(theta) * zoom, tf.sin(theta) * zoom
    m00, m01 = sign * cos, sign * sin
    m10, m11 = -sin, cos
    half = (output_size - 1) / 2.0
    cx, cy = center[..., 0], center[..., 1]
    t0 = half - (m00 * cx + m01 * cy)
    t1 = half - (m10 * cx + m11 * cy)
    # Broadcast all six entries to the common batch shape before stacking them.
    zero = tf.zeros_like(m00 + t0 + t1)
    row0 = tf.stack([m00 + zero, m01 + zero, t0 + zero], axis=-1)
    row1 = tf.stack([m10 + zero, m11 + zero, t1 + zero], axis=-1)
    return tf.stack([row0, row1], axis=-2)


def translate_affine(affine: tf.Tensor, offset: tf.Tensor) -> tf.Tensor:
    """``affine`` followed by a translation of the crop by ``offset`` [..., 2] pixels."""
    offset = tf.convert_to_tensor(offset, tf.float32)
    zeros = tf.zeros_like(offset)
    shift = tf.stack([zeros, zeros, offset], axis=-1)  # [..., 2, 3], last column = offset
    return affine + shift


def invert_affine(affine: tf.Tensor) -> tf.Tensor:
    """The inverse of [..., 2, 3] affine matrices (crop → image for a crop matrix)."""
    affine = tf.convert_to_tensor(affine, tf.float32)
    a, b, tx = affine[..., 0, 0], affine[..., 0, 1], affine[..., 0, 2]
    c, d, ty = affine[..., 1, 0], affine[..., 1, 1], affine[..., 1, 2]
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    itx = -(ia * tx + ib * ty)
    ity = -(ic * tx + id_ * ty)
    row0 = tf.stack([ia, ib, itx], axis=-1)
    row1 = tf.stack([ic, id_, ity], axis=-1)
    return tf.stack([row0, row1], axis=-2)


def apply_affine(points: tf.Tensor, affine: tf.Tensor) -> tf.Tensor:
    """Maps points [..., K, 2] through affine matrices [..., 2, 3] (same leading dims)."""
    points = tf.convert_to_tensor(points, tf.float32)
    affine = tf.convert_to_tensor(affine, tf.float32)
    linear = affine[..., :2]  # [..., 2, 2]
    return tf.linalg.matmul(points, linear, transpose_b=True) + affine[..., None, :, 2]


def crop_to_image(keypoints: tf.Tensor, affine: tf.Tensor) -> tf.Tensor:
    """Maps crop-pixel keypoints [..., K, 2] back to image pixels through the inverse of the
    image → crop ``affine`` [..., 2, 3]."""
    return apply_affine(keypoints, invert_affine(affine))


def affine_zoom(affine: tf.Tensor) -> tf.Tensor:
    """Length magnification [...] of an affine matrix (crop pixels per image pixel)."""
    det = affine[..., 0, 0] * affine[..., 1, 1] - affine[..., 0, 1] * affine[..., 1, 0]
    return tf.sqrt(tf.abs(det))


def in_crop(points: tf.Tensor, size: int) -> tf.Tensor:
    """bool [..., K]: which crop-pixel points lie inside the ``size`` × ``size`` crop area."""
    inside = (points >= -0.5) & (points <= size - 0.5)
    return inside[..., 0] & inside[..., 1]
