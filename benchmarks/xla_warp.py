"""The XLA-compiled bilinear warp: a benchmark of the crop warp, not part of the library.

:func:`warp_image_compiled` gives the samples of :func:`tfpose.data.warp.warp_image` (to float
rounding) as four gathers that XLA fuses into one loop. It is the fastest warp on one thread but
does not scale with the ``tf.data`` threads (docs/benchmarks.md), so the training pipeline uses
:func:`tfpose.data.warp.warp_image_fast` instead; ``python -m benchmarks.pipeline
--compare_warps`` times it against the library's kernels (:func:`warp_crop_compiled` is its
``dict → dict`` op, as :func:`tfpose.data.transforms.warp_crop`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import tensorflow as tf

from tfpose.data.affine import invert_affine

# Flattened images are padded to one of these lengths before the compiled warp, so XLA compiles
# one kernel per length bucket (half an octave, at least 2**16 pixels), not one per image size.
# Padding costs only a copy: the warp reads the image's own pixels.
_BUCKETS_PER_OCTAVE = 2
_MIN_BUCKET = 2**16


def _bucket_length(length: tf.Tensor) -> tf.Tensor:
    """int32 []: the smallest bucket length ≥ ``length`` (a half-octave power of two)."""
    octaves = tf.math.log(tf.cast(tf.maximum(length, 1), tf.float64)) / math.log(2.0)
    exponent = tf.math.ceil(octaves * _BUCKETS_PER_OCTAVE)
    two = tf.constant(2.0, tf.float64)
    bucket = tf.cast(tf.math.ceil(tf.pow(two, exponent / _BUCKETS_PER_OCTAVE)), tf.int32)
    return tf.maximum(tf.maximum(bucket, length), _MIN_BUCKET)


def _gather_bilinear(
    pixels: tf.Tensor, image_size: tf.Tensor, inverse: tf.Tensor, fill: tf.Tensor, *, size
) -> tf.Tensor:
    """The bilinear warp as four gathers; XLA fuses it into one loop over the crop pixels.

    Args:
      pixels: [L, C] the image's pixels, row-major, padded at the end to a bucket length.
      image_size: int32 [2] (H, W) of the unpadded image.
      inverse: float32 [6] crop → image affine ``(a, b, c, d, e, f)``: ``x = a u + b v + c``,
        ``y = d u + e v + f``.
      fill: float32 [] value of taps outside the image.
      size: (S_h, S_w) static crop size.

    Returns:
      float32 [S_h, S_w, C].
    """
    cols = tf.range(size[1], dtype=tf.float32)[None, :]
    rows = tf.range(size[0], dtype=tf.float32)[:, None]
    x = inverse[0] * cols + inverse[1] * rows + inverse[2]
    y = inverse[3] * cols + inverse[4] * rows + inverse[5]
    x0, y0 = tf.floor(x), tf.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    height, width = image_size[0], image_size[1]

    def tap(xi, yi):
        inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
        index = tf.clip_by_value(yi, 0, height - 1) * width + tf.clip_by_value(xi, 0, width - 1)
        value = tf.cast(tf.gather(pixels, index), tf.float32)
        return tf.where(inside[..., None], value, fill)

    top_left, top_right = tap(x0, y0), tap(x0 + 1, y0)
    bottom_left, bottom_right = tap(x0, y0 + 1), tap(x0 + 1, y0 + 1)
    top = top_left + fx * (top_right - top_left)
    bottom = bottom_left + fx * (bottom_right - bottom_left)
    return top + fy * (bottom - top)


@functools.cache
def _compiled_gather_bilinear(size: tuple[int, int]):
    return tf.function(functools.partial(_gather_bilinear, size=size), jit_compile=True)


def warp_image_compiled(
    image: tf.Tensor,
    affine: tf.Tensor,
    output_size: int | Sequence[int],
    fill: float = 0.0,
) -> tf.Tensor:
    """:func:`tfpose.data.warp.warp_image` for one image, XLA-compiled: same samples, several
    times faster on CPU on one thread.

    ``ImageProjectiveTransformV3`` recomputes the projection for every channel of every crop
    pixel; this version computes each crop pixel's source position once and XLA fuses the four
    bilinear taps into one loop (docs/benchmarks.md measures both). XLA needs static shapes, so
    the flattened image is padded to a half-octave length bucket: one compilation per bucket
    and crop size, cached for the life of the process. The training pipeline uses
    ``warp_image_fast`` (it scales with the ``tf.data`` threads, this does not); exported models
    keep ``warp_image``, which every converter and TF Serving understand.

    Args:
      image: [H, W, C] uint8 or float32.
      affine: [2, 3] image → crop matrix.
      output_size: S, or (height, width), of the crop.
      fill: value of crop pixels that fall outside the image.

    Returns:
      float32 [S, S, C], equal to ``warp_image(tf.cast(image, tf.float32), ...)`` up to float
      rounding (≈ 1e-2 of a grey level).
    """
    image = tf.convert_to_tensor(image)
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    image_size = tf.shape(image)[:2]
    channels = image.shape[-1]
    pixels = tf.reshape(image, [-1, channels])
    length = tf.shape(pixels)[0]
    pixels = tf.pad(pixels, [[0, _bucket_length(length) - length], [0, 0]])
    inverse = tf.reshape(invert_affine(affine), [6])
    warped = _compiled_gather_bilinear(tuple(int(v) for v in output_size))(
        pixels, image_size, inverse, tf.constant(fill, tf.float32)
    )
    return tf.ensure_shape(warped, [*output_size, channels])


def warp_crop_compiled(
    example: dict[str, tf.Tensor], *, input_size: int, fill: float
) -> dict[str, tf.Tensor]:
    """:func:`tfpose.data.transforms.warp_crop` with :func:`warp_image_compiled`.

    Reads ``image`` [H, W, 3] and ``affine`` [2, 3]. Writes ``image`` float32 [S, S, 3] with
    values in [0, 255] (``fill`` outside the source image).
    """
    out = dict(example)
    warped = warp_image_compiled(example["image"], example["affine"], input_size, fill)
    out["image"] = tf.ensure_shape(warped, [input_size, input_size, 3])
    return out
