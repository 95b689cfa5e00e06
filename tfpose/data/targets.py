"""Target heads (what each model output learns) and the occlusion-mode weights.

:func:`encode_targets` draws every head with the encoders of :mod:`tfpose.data.heatmaps` and
writes its per-pixel weights; the decoders are in :mod:`tfpose.data.heatmap_decoding`. Both
are re-exported here, so ``targets.gaussian_heatmaps`` and ``targets.decode_heatmaps`` keep
working.

Shape legend: B batch (any number of leading dims), H × W heatmap, K keypoints, L limbs,
C channels (K or L); keypoints are (x, y) in crop pixels unless said otherwise.

Target heads (configured by :class:`GaussianTarget`, :class:`LimbTarget`, :class:`DiscTarget`;
written by :func:`encode_targets` as ``heatmaps/<name>`` and ``weights/<name>``):

* Gaussian confidence maps — Bulat's regression target (σ = 5 px per 200 px of person height,
  peak 1) and Belagiannis' keypoint maps (σ = 1.3 heatmap pixels, peak 12).
* Limb maps — Belagiannis' "body part" maps: an anisotropic Gaussian at the limb midpoint.
* Binary discs — Bulat's detection target (radius 10 px per 200 px of person height).

Occlusion modes (per-pixel ``weights`` in [0, 1], 0 = no gradient), for a channel whose joint
(or limb) is:

============================  ==========================  ===================================
channel                        target                      weight
============================  ==========================  ===================================
visible, inside the crop       drawn                       1
occluded, mode ``include``     drawn                       1
occluded, mode ``ignore``      0                           0 where the map would be drawn
                                                           (> 0), 1 elsewhere
occluded, mode ``exclude``     0 (background)              1
annotated, outside the crop    0                           1 (known: the joint is elsewhere)
missing (visibility 0)         0                           0 over the whole channel
============================  ==========================  ===================================

Ignored regions get a zero target as well as a zero weight, so every pixel with target > 0 has
weight 1. A limb is missing when either endpoint is missing, occluded when either endpoint is
occluded (then it follows the mode), and is drawn (clipped by the map) even when an endpoint
lies outside the crop. Channels of joints a dataset lacks are missing joints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import tensorflow as tf

from tfpose.data.affine import affine_zoom
from tfpose.data.example import NOT_ANNOTATED, OCCLUDED, SCALE_UNIT_PX
from tfpose.data.heatmap_decoding import (
    decode_discs,
    decode_heatmaps,
    decode_limbs,
    flip_average,
)
from tfpose.data.heatmaps import (
    LIMB_SIGMA_ACROSS,
    LIMB_SIGMA_ALONG,
    MIN_LIMB_SIGMA,
    disc_heatmaps,
    gaussian_heatmaps,
    limb_heatmaps,
    to_crop_coordinates,
    to_heatmap_coordinates,
)
from tfpose.skeletons import Skeleton

__all__ = [
    "BELAGIANNIS_AMPLITUDE",
    "BELAGIANNIS_SIGMA",
    "BULAT_DISC_RADIUS_PER_200PX",
    "BULAT_SIGMA_PER_200PX",
    "LIMB_SIGMA_ACROSS",
    "LIMB_SIGMA_ALONG",
    "MIN_LIMB_SIGMA",
    "OCCLUSION_MODES",
    "DiscTarget",
    "GaussianTarget",
    "LimbTarget",
    "TargetSpec",
    "apply_occlusion_mode",
    "decode_discs",
    "decode_heatmaps",
    "decode_limbs",
    "disc_heatmaps",
    "encode_targets",
    "flip_average",
    "gaussian_heatmaps",
    "limb_heatmaps",
    "limb_visibility",
    "occlusion_masks",
    "person_height",
    "to_crop_coordinates",
    "to_heatmap_coordinates",
]

# Belagiannis & Zisserman, section III: keypoint σ = 1.3 heatmap pixels, mode "around 12".
BELAGIANNIS_SIGMA = 1.3
BELAGIANNIS_AMPLITUDE = 12.0
# Bulat & Tzimiropoulos, section 3: regression Gaussian std 5 px and detection disc radius 10 px
# for a 200 px tall person, scaled with the person.
BULAT_SIGMA_PER_200PX = 5.0
BULAT_DISC_RADIUS_PER_200PX = 10.0

OCCLUSION_MODES = ("include", "ignore", "exclude")


@dataclasses.dataclass(frozen=True)
class GaussianTarget:
    """Isotropic Gaussian confidence maps, one channel per keypoint.

    Attributes:
      name: head name (``heatmaps/<name>``).
      sigma: standard deviation, in heatmap pixels (``sigma_units="heatmap"``) or in crop
        pixels per 200 px of person height (``"body"``, scaled with the person).
      sigma_units: ``"heatmap"`` or ``"body"``.
      amplitude: peak value.
      truncate: maps are zero beyond this many standard deviations.
      occlusion_mode: overrides the pipeline's mode for this head when set.
      stride: crop pixels per map pixel of this head; None = the pipeline's heatmap stride
        (heads of one model may differ, e.g. the residual cascade's stride-4 detector).
    """

    name: str = "keypoints"
    sigma: float = BELAGIANNIS_SIGMA
    sigma_units: Literal["heatmap", "body"] = "heatmap"
    amplitude: float = 1.0
    truncate: float = 3.0
    occlusion_mode: str | None = None
    stride: int | None = None


@dataclasses.dataclass(frozen=True)
class LimbTarget:
    """Anisotropic Gaussians at limb midpoints, one channel per skeleton limb.

    Attributes:
      name: head name.
      sigma_along: standard deviation along the limb, as a fraction of its length.
      sigma_across: standard deviation across the limb, as a fraction of its length.
      amplitude: peak value.
      truncate: maps are zero beyond this Mahalanobis distance.
      occlusion_mode: overrides the pipeline's mode for this head when set.
      stride: as for :class:`GaussianTarget`.
    """

    name: str = "limbs"
    sigma_along: float = LIMB_SIGMA_ALONG
    sigma_across: float = LIMB_SIGMA_ACROSS
    amplitude: float = BELAGIANNIS_AMPLITUDE
    truncate: float = 3.0
    occlusion_mode: str | None = None
    stride: int | None = None


@dataclasses.dataclass(frozen=True)
class DiscTarget:
    """Binary discs, one channel per keypoint (Bulat's part-detection target).

    Attributes:
      name: head name.
      radius: disc radius in crop pixels per 200 px of person height.
      occlusion_mode: Bulat trains detection on visible parts only, i.e. occluded parts are
        background: ``"exclude"``.
      stride: as for :class:`GaussianTarget`.
    """

    name: str = "detection"
    radius: float = BULAT_DISC_RADIUS_PER_200PX
    occlusion_mode: str | None = "exclude"
    stride: int | None = None


TargetSpec = GaussianTarget | LimbTarget | DiscTarget

# ------------------------------------------------------------------------------------------
# Occlusion modes.


def limb_visibility(visibility: tf.Tensor, limbs: Sequence[tuple[int, int]]) -> tf.Tensor:
    """int32 [..., L]: a limb is as visible as its less visible endpoint (0 < 1 < 2)."""
    start = tf.gather(visibility, [a for a, _ in limbs], axis=-1)
    end = tf.gather(visibility, [b for _, b in limbs], axis=-1)
    return tf.minimum(start, end)


def occlusion_masks(
    visibility: tf.Tensor, in_crop: tf.Tensor, mode: str
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Per-channel decisions of the occlusion mode (the table in the module docstring).

    Args:
      visibility: int [..., C], 0 missing, 1 occluded, 2 visible.
      in_crop: bool [..., C]; annotated channels outside the crop become background.
      mode: ``"include"``, ``"ignore"`` or ``"exclude"``.

    Returns:
      draw bool [..., C] (the target is drawn), ignored bool [..., C] (the drawn region gets
      zero weight) and channel_weight float32 [..., C] (0 for missing joints, else 1).
    """
    if mode not in OCCLUSION_MODES:
        raise ValueError(f"occlusion_mode must be one of {OCCLUSION_MODES}, got {mode!r}")
    visibility = tf.convert_to_tensor(visibility)
    annotated = visibility > NOT_ANNOTATED
    occluded = tf.equal(visibility, OCCLUDED)
    present = annotated & tf.convert_to_tensor(in_crop, tf.bool)
    draw = present if mode == "include" else present & ~occluded
    ignored = present & occluded if mode == "ignore" else tf.zeros_like(present)
    return draw, ignored, tf.cast(annotated, tf.float32)


def apply_occlusion_mode(
    maps: tf.Tensor, visibility: tf.Tensor, in_crop: tf.Tensor, mode: str
) -> tuple[tf.Tensor, tf.Tensor]:
    """Turns fully drawn maps into (targets, weights); the plain statement of the rules that
    :func:`encode_targets` applies without drawing the channels it would discard.

    Args:
      maps: float [..., H, W, C], every channel drawn.
      visibility: int [..., C], 0 missing, 1 occluded, 2 visible.
      in_crop: bool [..., C].
      mode: ``"include"``, ``"ignore"`` or ``"exclude"``.

    Returns:
      targets float32 [..., H, W, C], weights float32 [..., H, W, C] in [0, 1].
    """
    draw, ignored, channel_weight = occlusion_masks(visibility, in_crop, mode)
    targets = tf.where(draw[..., None, None, :], maps, 0.0)
    weights = tf.broadcast_to(channel_weight[..., None, None, :], tf.shape(maps))
    weights = tf.where(ignored[..., None, None, :] & (maps > 0), 0.0, weights)
    return targets, weights


# ------------------------------------------------------------------------------------------
# dict → dict op.


def person_height(example: dict[str, tf.Tensor]) -> tf.Tensor:
    """Person height in crop pixels [...]: ``scale · 200 px`` times the crop's magnification."""
    return example["scale"] * SCALE_UNIT_PX * affine_zoom(example["affine"])


def encode_targets(
    example: dict[str, tf.Tensor],
    *,
    targets: Sequence[TargetSpec],
    skeleton: Skeleton,
    heatmap_size: Sequence[int],
    stride: int,
    occlusion_mode: str,
) -> dict[str, tf.Tensor]:
    """Draws every target head and its weights.

    Reads ``keypoints`` [..., K, 2] (crop pixels), ``visibility`` [..., K], ``in_crop``
    [..., K], ``scale`` [...] and ``affine`` [..., 2, 3]. Writes, for each head,
    ``heatmaps/<name>`` and ``weights/<name>``, float32 [..., H, W, C] (C = K, or L for limbs).
    Works on one example or on a batch (the pipeline calls it once per batch).
    """
    out = dict(example)
    keypoints, visibility = example["keypoints"], example["visibility"]
    base_size, base_stride = heatmap_size, stride
    for spec in targets:
        mode = spec.occlusion_mode or occlusion_mode
        stride = spec.stride or base_stride
        heatmap_size = [n * base_stride // stride for n in base_size]
        if isinstance(spec, GaussianTarget):
            if spec.sigma_units == "body":
                sigma = spec.sigma * person_height(example) / SCALE_UNIT_PX / stride
            elif spec.sigma_units == "heatmap":
                sigma = spec.sigma
            else:
                raise ValueError(
                    f"GaussianTarget.sigma_units must be 'heatmap' or 'body', "
                    f"got {spec.sigma_units!r}"
                )

            def draw_fn(draw, sigma=sigma, spec=spec, size=heatmap_size, stride=stride):
                return gaussian_heatmaps(
                    keypoints, sigma, size, stride, spec.amplitude, spec.truncate, draw
                )

            channel_vis, channel_in = visibility, example["in_crop"]
        elif isinstance(spec, DiscTarget):
            radius = spec.radius * person_height(example) / SCALE_UNIT_PX

            def draw_fn(draw, radius=radius, size=heatmap_size, stride=stride):
                return disc_heatmaps(keypoints, radius, size, stride, draw)

            channel_vis, channel_in = visibility, example["in_crop"]
        elif isinstance(spec, LimbTarget):

            def draw_fn(draw, spec=spec, size=heatmap_size, stride=stride):
                return limb_heatmaps(
                    keypoints,
                    skeleton.limbs,
                    size,
                    stride,
                    spec.sigma_along,
                    spec.sigma_across,
                    spec.amplitude,
                    spec.truncate,
                    draw,
                )

            channel_vis = limb_visibility(visibility, skeleton.limbs)
            channel_in = tf.ones_like(channel_vis, tf.bool)
        else:
            raise TypeError(f"unknown target spec {spec!r}")
        draw, ignored, channel_weight = occlusion_masks(channel_vis, channel_in, mode)
        target = draw_fn(draw)
        weight = tf.broadcast_to(channel_weight[..., None, None, :], tf.shape(target))
        if mode == "ignore":
            weight = tf.where(draw_fn(ignored) > 0, 0.0, weight)
        out[f"heatmaps/{spec.name}"] = target
        out[f"weights/{spec.name}"] = weight
    return out
