"""Crop and augmentation ops on examples, as TensorFlow ops that run inside ``tf.data``.

The crop of one person is a single affine transform built from (centre, scale, rotation, flip,
output size); the image is warped with it once (bilinear, constant fill) and the keypoints are
mapped with the same matrix, so image and labels can never disagree. The matrices are built in
:mod:`tfpose.data.affine` (which also states the coordinate vocabulary every docstring in
:mod:`tfpose.data` uses) and the image is resampled by :mod:`tfpose.data.warp`; both are
re-exported here, so ``transforms.crop_affine`` and ``transforms.warp_image`` keep working.

Shape legend: B batch, K keypoints, H × W image, S crop side.

The ``dict → dict`` ops at the bottom each read and write the keys named in their docstrings;
:mod:`tfpose.data.pipeline` composes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import tensorflow as tf

from tfpose.data.affine import (
    affine_zoom,
    apply_affine,
    crop_affine,
    crop_to_image,
    in_crop,
    invert_affine,
    translate_affine,
)
from tfpose.data.example import SCALE_UNIT_PX
from tfpose.data.warp import (
    is_axis_aligned,
    warp_image,
    warp_image_axis_aligned,
    warp_image_fast,
)

__all__ = [
    "CROP_CONVENTIONS",
    "NORMALIZATIONS",
    "WARP_METHODS",
    "AugmentationConfig",
    "CropConvention",
    "Example",
    "affine_zoom",
    "apply_affine",
    "center_crop_affine",
    "color_jitter",
    "crop_affine",
    "crop_to_image",
    "decode_image",
    "denormalize_pixels",
    "in_crop",
    "invert_affine",
    "is_axis_aligned",
    "normalize_image",
    "normalize_pixels",
    "random_crop_affine",
    "sample_crop_parameters",
    "transform_keypoints",
    "translate_affine",
    "warp_crop",
    "warp_image",
    "warp_image_axis_aligned",
    "warp_image_fast",
]

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


WARP_METHODS = ("projective", "fast")


def warp_crop(
    example: Example, *, input_size: int, fill: float, method: str = "projective"
) -> Example:
    """Warps the image into the crop.

    Reads ``image`` [H, W, 3] and ``affine`` [2, 3]. Writes ``image`` float32 [S, S, 3] with
    values in [0, 255] (``fill`` outside the source image). ``method`` picks the kernel, both
    giving the same samples: ``"projective"`` (:func:`warp_image`, what exported models use) or
    ``"fast"`` (:func:`warp_image_fast`, the training pipeline). The XLA-compiled warp that
    ``benchmarks/pipeline.py`` also times lives in ``benchmarks/xla_warp.py``.
    """
    out = dict(example)
    if method == "fast":
        warped = warp_image_fast(example["image"], example["affine"], input_size, fill)
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
