"""Resampling an image onto a crop grid: bilinear, constant fill, three exact kernels.

:func:`warp_image` (``ImageProjectiveTransformV3``) is the reference, and the one exported models
use; :func:`warp_image_axis_aligned` (``crop_and_resize``) is its faster equal for crops without
rotation, and :func:`warp_image_fast` picks between the two per crop (the training pipeline's
choice). The pixel and affine conventions are those of :mod:`tfpose.data.affine`.

Shape legend: B batch, H × W image, C channels, S crop side.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from tfpose.data.affine import invert_affine


def warp_image(
    image: tf.Tensor,
    affine: tf.Tensor,
    output_size: int | Sequence[int],
    fill: float = 0.0,
) -> tf.Tensor:
    """Resamples ``image`` onto the crop grid of ``affine`` (bilinear, constant fill).

    Args:
      image: [H, W, C] or [B, H, W, C], any dtype ImageProjectiveTransformV3 accepts
        (uint8, float32, ...). The output has the same dtype.
      affine: [2, 3] or [B, 2, 3] image → crop matrices.
      output_size: S, or (height, width), of the crop.
      fill: value of crop pixels that fall outside the image.

    Returns:
      [S, S, C] or [B, S, S, C]: crop pixel (x, y) holds the image at ``affine⁻¹ (x, y)``.
    """
    image = tf.convert_to_tensor(image)
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    unbatched = image.shape.rank == 3
    if unbatched:
        image = image[None]
    inverse = tf.reshape(invert_affine(affine), [-1, 6])
    transforms = tf.concat([inverse, tf.zeros_like(inverse[:, :2])], axis=-1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=image,
        transforms=transforms,
        output_shape=tf.constant(output_size, tf.int32),
        fill_value=tf.constant(fill, tf.float32),
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return warped[0] if unbatched else warped


def _is_integer_fill(image: tf.Tensor, fill: float) -> bool:
    if not image.dtype.is_integer:
        return True
    return float(fill).is_integer() and image.dtype.min <= fill <= image.dtype.max


def warp_image_axis_aligned(
    image: tf.Tensor,
    affine: tf.Tensor,
    output_size: int | Sequence[int],
    fill: float = 0.0,
) -> tf.Tensor:
    """:func:`warp_image` for one image and an affine without rotation (any scale, shift and
    mirroring), with ``tf.image.crop_and_resize``.

    Without rotation the crop grid is separable, and ``crop_and_resize`` interpolates one row
    and one column of weights instead of projecting every pixel: about twice as fast as
    ``ImageProjectiveTransformV3`` on CPU (docs/benchmarks.md). The image is padded with one
    pixel of ``fill`` so that samples within a pixel of the border blend with the fill exactly
    as the projective warp's constant fill does; the two agree to float rounding (≈ 1e-2 of a
    grey level, tested).

    Args:
      image: [H, W, C], any real dtype.
      affine: [2, 3] image → crop matrix with ``affine[0, 1] == affine[1, 0] == 0``; the
        result is wrong for any other matrix (:func:`warp_image_fast` checks).
      output_size: S, or (height, width), of the crop.
      fill: value of crop pixels that fall outside the image.

    Returns:
      float32 [S_h, S_w, C].
    """
    image = tf.convert_to_tensor(image)
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    if not _is_integer_fill(image, fill):
        image = tf.cast(image, tf.float32)
    padded = tf.pad(image, [[1, 1], [1, 1], [0, 0]], constant_values=tf.cast(fill, image.dtype))
    inverse = invert_affine(affine)  # crop → image
    last_row = tf.cast(tf.shape(padded)[0] - 1, tf.float32)
    last_col = tf.cast(tf.shape(padded)[1] - 1, tf.float32)
    # Crop pixel (u, v) samples image point (a u + c, e v + f), i.e. padded point + 1.
    x_first = inverse[0, 2] + 1.0
    x_last = x_first + inverse[0, 0] * (output_size[1] - 1)
    y_first = inverse[1, 2] + 1.0
    y_last = y_first + inverse[1, 1] * (output_size[0] - 1)
    box = tf.stack([y_first / last_row, x_first / last_col, y_last / last_row, x_last / last_col])
    warped = tf.image.crop_and_resize(
        padded[None], box[None], [0], output_size, extrapolation_value=fill
    )
    return warped[0]


def is_axis_aligned(affine: tf.Tensor) -> tf.Tensor:
    """bool []: the [2, 3] affine has no rotation (its off-diagonal terms are zero)."""
    return tf.equal(affine[0, 1], 0.0) & tf.equal(affine[1, 0], 0.0)


def warp_image_fast(
    image: tf.Tensor,
    affine: tf.Tensor,
    output_size: int | Sequence[int],
    fill: float = 0.0,
) -> tf.Tensor:
    """:func:`warp_image` for one image, choosing the fastest exact kernel per crop.

    Crops without rotation (most of them: the papers rotate with probability 0.5 or less, and
    evaluation never does) go through :func:`warp_image_axis_aligned`; rotated crops through
    ``ImageProjectiveTransformV3``. Both are plain TensorFlow kernels, so they scale with the
    ``tf.data`` threads; the XLA-compiled warp of ``benchmarks/xla_warp.py`` is faster on one
    thread but does not scale (docs/benchmarks.md has the measurements). The training pipeline
    uses this function.

    Args:
      image: [H, W, C], any real dtype.
      affine: [2, 3] image → crop matrix.
      output_size: S, or (height, width), of the crop.
      fill: value of crop pixels that fall outside the image.

    Returns:
      float32 [S_h, S_w, C], equal to ``warp_image(tf.cast(image, tf.float32), ...)`` up to
      float rounding.
    """
    image = tf.convert_to_tensor(image)
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    affine = tf.convert_to_tensor(affine, tf.float32)
    warped = tf.cond(
        is_axis_aligned(affine),
        lambda: warp_image_axis_aligned(image, affine, output_size, fill),
        lambda: warp_image(tf.cast(image, tf.float32), affine, output_size, fill),
    )
    return tf.ensure_shape(warped, [*output_size, image.shape[-1]])
