"""Crop geometry and augmentation, as TensorFlow ops that run inside ``tf.data`` and exports.

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

The ``dict → dict`` ops at the bottom each read and write the keys named in their docstrings;
:mod:`tfpose.data.pipeline` composes them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import tensorflow as tf

from tfpose.data.example import SCALE_UNIT_PX

Example = dict[str, tf.Tensor]


@dataclasses.dataclass(frozen=True)
class CropConvention:
    """How a person box becomes the network input.

    The box is a square of side ``box_scale · 200 px · scale`` around the person centre. It is
    resized to ``input_size + margin`` pixels, and an ``input_size`` window is taken from that:
    at random offsets in ``[0, margin]`` when training, the centre window otherwise.

    Attributes:
      box_scale: box side in units of the 200 px person-height convention.
      margin: extra pixels around the input window (random-crop range).
      fill: value (0–255 scale) of pixels outside the source image.
    """

    box_scale: float
    margin: int
    fill: float


CROP_CONVENTIONS: dict[str, CropConvention] = {
    # Bulat & Tzimiropoulos' released model: a 200·scale box around the annotated centre,
    # resized to the input (256, or 380 for the VGG-FCN instance), black outside the image.
    "bulat": CropConvention(box_scale=1.0, margin=0, fill=0.0),
    # Belagiannis & Zisserman: a 300·scale box resized to 256, grey padding, random 248 crop.
    "belagiannis": CropConvention(box_scale=1.5, margin=8, fill=128.0),
    # The Bulat box enlarged 1.25x, as most MPII code does (Newell et al.'s stacked hourglass,
    # Xiao et al.'s simple baselines). The centre is the middle of the torso, above the middle
    # of a standing person, so a 200·scale box (one standing height) cuts off the feet: on the
    # synthetic test split half of the ankles fall outside it, and no prediction can reach them.
    "wide": CropConvention(box_scale=1.25, margin=0, fill=0.0),
}


@dataclasses.dataclass(frozen=True)
class AugmentationConfig:
    """Random augmentation ranges; every draw uses a stateless seed.

    Attributes:
      scale_range: (low, high) of the factor applied to the crop box side with probability
        ``scale_probability`` (a factor > 1 shows more context, so the person looks smaller).
      scale_probability: probability of drawing a scale factor (else 1).
      rotation_max_deg: rotations are uniform in ``±rotation_max_deg`` degrees, positive being
        counter-clockwise as displayed, with probability ``rotation_probability`` (else 0).
      rotation_probability: probability of rotating.
      flip_probability: probability of a horizontal flip (left/right joints swap).
      center_jitter: the centre moves by up to this fraction of the box side along each axis.
      color_scale: each RGB channel is multiplied by a factor uniform in ``1 ± color_scale``.
      brightness: a value uniform in ``±brightness · 255`` is added to all channels.
    """

    scale_range: tuple[float, float] = (0.7, 1.3)
    scale_probability: float = 0.5
    rotation_max_deg: float = 40.0
    rotation_probability: float = 0.5
    flip_probability: float = 0.5
    center_jitter: float = 0.0
    color_scale: float = 0.0
    brightness: float = 0.0

    def __post_init__(self) -> None:
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"scale_range must satisfy 0 < low <= high, got {self.scale_range}")
        for name in ("scale_probability", "rotation_probability", "flip_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name in ("rotation_max_deg", "center_jitter", "color_scale", "brightness"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


# ------------------------------------------------------------------------------------------
# Affine geometry.


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
    """:func:`warp_image` for one image, XLA-compiled: same samples, several times faster on CPU.

    ``ImageProjectiveTransformV3`` recomputes the projection for every channel of every crop
    pixel; this version computes each crop pixel's source position once and XLA fuses the four
    bilinear taps into one loop (docs/benchmarks.md measures both). XLA needs static shapes, so
    the flattened image is padded to a half-octave length bucket: one compilation per bucket
    and crop size, cached for the life of the process. The training pipeline uses it; exported
    models keep :func:`warp_image`, which every converter and TF Serving understand.

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
    ``tf.data`` threads; the XLA-compiled :func:`warp_image_compiled` is faster on one thread
    but does not scale (docs/benchmarks.md has the measurements). The training pipeline uses
    this function.

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


def in_crop(points: tf.Tensor, size: int) -> tf.Tensor:
    """bool [..., K]: which crop-pixel points lie inside the ``size`` × ``size`` crop area."""
    inside = (points >= -0.5) & (points <= size - 0.5)
    return inside[..., 0] & inside[..., 1]


# ------------------------------------------------------------------------------------------
# Random parameters.


def _uniform(seed: tf.Tensor, low: float, high: float, shape=()) -> tf.Tensor:
    return tf.random.stateless_uniform(shape, seed, minval=low, maxval=high)


def sample_crop_parameters(
    seed: tf.Tensor, augmentation: AugmentationConfig, margin: int
) -> dict[str, tf.Tensor]:
    """Draws one crop's random parameters from a stateless ``seed`` (int [2]).

    Returns:
      ``scale_factor`` [], ``rotation`` [] degrees, ``flip`` bool [], ``jitter`` [2] (fraction
      of the box side) and ``offset`` [2] (random-crop offset in pixels, integers in
      ``[0, margin]``).
    """
    # One draw of nine uniforms, not one op per parameter: this runs once per training example.
    u = tf.random.stateless_uniform([9], tf.cast(seed, tf.int64))
    aug = augmentation

    def between(value, low, high):
        return low + value * (high - low)

    scale_factor = tf.where(u[0] < aug.scale_probability, between(u[1], *aug.scale_range), 1.0)
    rotation = tf.where(
        u[2] < aug.rotation_probability,
        between(u[3], -aug.rotation_max_deg, aug.rotation_max_deg),
        0.0,
    )
    flip = u[4] < aug.flip_probability
    jitter = between(u[5:7], -aug.center_jitter, aug.center_jitter)
    offset = tf.minimum(tf.floor(u[7:9] * (margin + 1)), float(margin))
    return {
        "scale_factor": scale_factor,
        "rotation": rotation,
        "flip": flip,
        "jitter": jitter,
        "offset": offset,
    }


def _crop_matrix(
    center: tf.Tensor,
    scale: tf.Tensor,
    params: dict[str, tf.Tensor],
    input_size: int,
    crop: CropConvention,
) -> tf.Tensor:
    box_side = crop.box_scale * SCALE_UNIT_PX * scale * params["scale_factor"]
    jittered = center + params["jitter"] * box_side
    affine = crop_affine(
        jittered,
        scale * params["scale_factor"],
        params["rotation"],
        params["flip"],
        input_size + crop.margin,
        crop.box_scale,
    )
    return translate_affine(affine, -params["offset"])


# ------------------------------------------------------------------------------------------
# dict → dict ops.


def decode_image(example: Example) -> Example:
    """Decodes the record's image bytes.

    Reads ``image_bytes`` (JPEG or PNG). Writes ``image`` uint8 [H, W, 3]; drops
    ``image_bytes`` and ``image_format``.
    """
    out = dict(example)
    image = tf.io.decode_image(out.pop("image_bytes"), channels=3, expand_animations=False)
    out.pop("image_format", None)
    out["image"] = tf.ensure_shape(image, [None, None, 3])
    return out


def random_crop_affine(
    example: Example,
    *,
    seed: tf.Tensor,
    input_size: int,
    crop: CropConvention,
    augmentation: AugmentationConfig,
) -> Example:
    """Draws the augmented crop of the person.

    Reads ``center`` [2], ``scale`` []. Writes ``affine`` float32 [2, 3] (image → crop) and
    ``flip`` bool []. ``seed`` is an int [2] stateless seed; equal seeds give equal crops.
    """
    params = sample_crop_parameters(seed, augmentation, crop.margin)
    out = dict(example)
    out["affine"] = _crop_matrix(example["center"], example["scale"], params, input_size, crop)
    out["flip"] = params["flip"]
    return out


def center_crop_affine(example: Example, *, input_size: int, crop: CropConvention) -> Example:
    """The deterministic crop used for evaluation: no scale, rotation, flip or jitter, centre
    window of the margin.

    Reads ``center`` [2], ``scale`` []. Writes ``affine`` float32 [2, 3] and ``flip`` (False).
    """
    params = {
        "scale_factor": tf.constant(1.0),
        "rotation": tf.constant(0.0),
        "flip": tf.constant(False),
        "jitter": tf.zeros([2]),
        # The centre window; for an odd margin it sits half a pixel off centre.
        "offset": tf.fill([2], float(crop.margin // 2)),
    }
    out = dict(example)
    out["affine"] = _crop_matrix(example["center"], example["scale"], params, input_size, crop)
    out["flip"] = params["flip"]
    return out


WARP_METHODS = ("projective", "fast", "compiled")


def warp_crop(
    example: Example, *, input_size: int, fill: float, method: str = "projective"
) -> Example:
    """Warps the image into the crop.

    Reads ``image`` [H, W, 3] and ``affine`` [2, 3]. Writes ``image`` float32 [S, S, 3] with
    values in [0, 255] (``fill`` outside the source image). ``method`` picks the kernel, all
    giving the same samples: ``"projective"`` (:func:`warp_image`, what exported models use),
    ``"fast"`` (:func:`warp_image_fast`, the training pipeline) or ``"compiled"``
    (:func:`warp_image_compiled`, XLA).
    """
    out = dict(example)
    if method == "fast":
        warped = warp_image_fast(example["image"], example["affine"], input_size, fill)
    elif method == "compiled":
        warped = warp_image_compiled(example["image"], example["affine"], input_size, fill)
    elif method == "projective":
        image = tf.cast(example["image"], tf.float32)
        warped = warp_image(image, example["affine"], input_size, fill)
    else:
        raise ValueError(f"method must be one of {WARP_METHODS}, got {method!r}")
    out["image"] = tf.ensure_shape(warped, [input_size, input_size, 3])
    return out


def transform_keypoints(
    example: Example, *, flip_permutation: Sequence[int], input_size: int
) -> Example:
    """Maps the keypoints into the crop with the image's matrix; swaps sides when flipped.

    Reads ``keypoints`` [K, 2] (image pixels), ``visibility`` [K], ``affine``, ``flip``.
    Writes ``keypoints`` [K, 2] (crop pixels), ``visibility`` [K], ``image_keypoints`` [K, 2]
    (image pixels, in the same joint order as ``keypoints``) and ``in_crop`` bool [K]. Joints
    that leave the crop keep their coordinates; ``in_crop`` tells them apart.
    """
    out = dict(example)
    perm = tf.constant(flip_permutation, tf.int32)
    flip = example["flip"]

    def order(values):
        return tf.where(flip, tf.gather(values, perm, axis=0), values)

    image_keypoints = order(example["keypoints"])
    out["image_keypoints"] = image_keypoints
    out["visibility"] = order(example["visibility"])
    out["keypoints"] = apply_affine(image_keypoints, example["affine"])
    out["in_crop"] = in_crop(out["keypoints"], input_size)
    return out


def color_jitter(
    example: Example, *, seed: tf.Tensor, color_scale: float, brightness: float
) -> Example:
    """Random per-channel gain and brightness.

    Reads and writes ``image`` float32 [S, S, 3] in [0, 255] (clipped after the change).
    """
    if color_scale == 0 and brightness == 0:
        return example
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=2)
    gain = _uniform(seeds[0], 1.0 - color_scale, 1.0 + color_scale, [3])
    shift = _uniform(seeds[1], -brightness * 255.0, brightness * 255.0)
    out = dict(example)
    out["image"] = tf.clip_by_value(example["image"] * gain + shift, 0.0, 255.0)
    return out


NORMALIZATIONS = ("unit", "belagiannis")


def normalize_image(example: Example, *, mode: str) -> Example:
    """Scales pixel values for the network.

    ``"unit"``: RGB in [0, 1] (Bulat & Tzimiropoulos). ``"belagiannis"``: (x − 128) / 256.
    Reads and writes ``image`` float32 [S, S, 3].
    """
    out = dict(example)
    out["image"] = normalize_pixels(example["image"], mode)
    return out


def normalize_pixels(image: tf.Tensor, mode: str) -> tf.Tensor:
    """[0, 255] pixel values → network input values (see :func:`normalize_image`)."""
    if mode == "unit":
        return image * (1.0 / 255.0)
    if mode == "belagiannis":
        return (image - 128.0) * (1.0 / 256.0)
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {mode!r}")


def denormalize_pixels(image: tf.Tensor, mode: str) -> tf.Tensor:
    """Inverse of :func:`normalize_pixels`: network input values → [0, 255]."""
    if mode == "unit":
        return image * 255.0
    if mode == "belagiannis":
        return image * 256.0 + 128.0
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {mode!r}")
