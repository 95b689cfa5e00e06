"""Heatmap target encoders, their decoders, and the occlusion-mode weights.

Every encoder is a pure TensorFlow function that broadcasts over leading dimensions, so the
same code makes the target of one example inside ``tf.data`` or of a whole batch, and every
encoder has a decoder (tested by round trip in ``tests/data/test_targets.py``).

Heatmap geometry. A map at output stride ``s`` has pixel ``u`` covering crop pixels
``[s·u, s·u + s − 1]``, so its centre is at crop coordinate ``x = s·(u + 0.5) − 0.5`` (and
``u = (x + 0.5) / s − 0.5``). This is the alignment of average pooling and of strided
convolutions with "same" padding, and it makes a horizontal flip of the crop exactly a
horizontal flip of the map (``u → W − 1 − u``).

Shape legend: B batch (any number of leading dims), H × W heatmap, K keypoints, L limbs,
C channels (K or L); keypoints are (x, y) in crop pixels unless said otherwise.

Target heads (configured by :class:`GaussianTarget`, :class:`LimbTarget`, :class:`DiscTarget`;
written by :func:`encode_targets` as ``heatmaps/<name>`` and ``weights/<name>``):

* Gaussian confidence maps — Bulat's regression target (σ = 5 px per 200 px of person height,
  peak 1) and Belagiannis' keypoint maps (σ = 1.3 heatmap pixels, peak 12).
* Limb maps — Belagiannis' "body part" maps: an anisotropic Gaussian at the limb midpoint.
* Binary discs — Bulat's detection target (radius 10 px per 200 px of person height).

Every Gaussian is truncated at ``truncate`` standard deviations (Euclidean distance for keypoint
maps, Mahalanobis distance for limbs), so background pixels are exactly 0 and ``target > 0`` is
the foreground of the foreground-weighted loss.

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
import math
from collections.abc import Sequence
from typing import Literal

import tensorflow as tf

from tfpose.data.example import NOT_ANNOTATED, OCCLUDED, SCALE_UNIT_PX
from tfpose.data.transforms import affine_zoom
from tfpose.skeletons import Skeleton

# Belagiannis & Zisserman's body-part (limb) maps: standard deviations along and across the
# limb as fractions of its length. 0.15 / 0.08 are the released MatConvNet code's values; the
# paper text says 0.15 / 0.1 (see ../shared/reference/methods.md, section 2).
LIMB_SIGMA_ALONG = 0.15
LIMB_SIGMA_ACROSS = 0.08
# A limb whose endpoints coincide would get σ = 0; this floor (heatmap pixels) keeps it finite.
MIN_LIMB_SIGMA = 0.5

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
# Heatmap coordinates.


def to_heatmap_coordinates(points: tf.Tensor, stride: int) -> tf.Tensor:
    """Crop pixels → heatmap pixels at ``stride`` (see the module docstring)."""
    return (tf.convert_to_tensor(points, tf.float32) + 0.5) / stride - 0.5


def to_crop_coordinates(points: tf.Tensor, stride: int) -> tf.Tensor:
    """Heatmap pixels at ``stride`` → crop pixels."""
    return stride * (tf.convert_to_tensor(points, tf.float32) + 0.5) - 0.5


def _axis_offsets(centres: tf.Tensor, heatmap_size: Sequence[int], stride: int):
    """dx [..., C, W] and dy [..., C, H]: heatmap pixels from each centre (crop pixels)."""
    height, width = heatmap_size
    points = to_heatmap_coordinates(centres, stride)  # [..., C, 2]
    dx = tf.range(width, dtype=tf.float32) - points[..., 0:1]
    dy = tf.range(height, dtype=tf.float32) - points[..., 1:2]
    return dx, dy


def _channels_last(maps: tf.Tensor) -> tf.Tensor:
    """[..., C, H, W] → [..., H, W, C]."""
    rank = maps.shape.rank
    return tf.transpose(maps, [*range(rank - 3), rank - 2, rank - 1, rank - 3])


def _quadratic_maps(dx, dy, xx, xy, yy, threshold, log_peak=None, binary=False):
    """Maps of ``q = xx·dx² + xy·dx·dy + yy·dy²``: ``exp(q + log_peak)`` where
    ``q ≥ threshold`` and 0 elsewhere, or, when ``binary``, 1 where ``q ≥ threshold``.

    All the encoders are this: a Gaussian (isotropic or rotated, truncated) or a disc. The
    [H, W] grid of ``q`` is one batched matrix product of per-row and per-column features
    (rows ``[xy·dy, 1, yy·dy²]`` times columns ``[dx, xx·dx², 1]``), so every full-grid op has
    equal shapes: TensorFlow's CPU kernels for ops that broadcast both operands ([H, 1] with
    [1, W]) run about 5x slower (docs/benchmarks.md).

    Args:
      dx: [..., C, W]; dy: [..., C, H] (from :func:`_axis_offsets`).
      xx, xy, yy: coefficients, broadcastable to [..., C].
      threshold: float [..., C]; +inf leaves a channel empty.
      log_peak: log of the peak value, broadcastable to [..., C] (None: 0).
      binary: return the indicator instead of the exponential.

    Returns:
      float32 [..., H, W, C].
    """
    shape = tf.shape(dx)[:-1]
    xx, xy, yy = (tf.broadcast_to(tf.cast(v, tf.float32), shape)[..., None] for v in (xx, xy, yy))
    ones_h, ones_w = tf.ones_like(dy), tf.ones_like(dx)
    if log_peak is None:
        log_peak = 0.0
    offset = tf.broadcast_to(tf.cast(log_peak, tf.float32), shape)[..., None]  # [..., C, 1]
    rows = tf.stack([xy * dy, ones_h, yy * tf.square(dy) + offset], axis=-1)  # [..., C, H, 3]
    cols = tf.stack([dx, xx * tf.square(dx), ones_w], axis=-2)  # [..., C, 3, W]
    exponent = tf.matmul(rows, cols)  # [..., C, H, W], q + log_peak
    limit = tf.broadcast_to(threshold, shape)[..., None, None] + offset[..., None]
    inside = tf.cast(exponent >= limit, tf.float32)
    return _channels_last(inside if binary else tf.exp(exponent) * inside)


def _channel_threshold(threshold: tf.Tensor, draw: tf.Tensor | None) -> tf.Tensor:
    """The encoders' threshold per channel, +inf for channels not drawn."""
    if draw is None:
        return threshold
    return tf.where(draw, threshold, float("inf"))


def _per_channel(value: float | tf.Tensor, keypoints: tf.Tensor) -> tf.Tensor:
    """A number, [...] or [..., K] → float [..., K]-broadcastable (scalars stay scalars)."""
    value = tf.convert_to_tensor(value, tf.float32)
    if value.shape.rank == 0:
        return value
    if value.shape.rank < keypoints.shape.rank - 1:
        value = value[..., None]  # per example → per keypoint
    return value


# ------------------------------------------------------------------------------------------
# Encoders.


def gaussian_heatmaps(
    keypoints: tf.Tensor,
    sigma: float | tf.Tensor,
    heatmap_size: Sequence[int],
    stride: int = 1,
    amplitude: float = 1.0,
    truncate: float = 3.0,
    draw: tf.Tensor | None = None,
) -> tf.Tensor:
    """Truncated isotropic Gaussians.

    Each map is ``amplitude · exp(−d² / 2σ²)`` within ``d ≤ truncate · σ`` of the keypoint and
    exactly 0 beyond.

    Args:
      keypoints: float [..., K, 2], crop pixels.
      sigma: standard deviation in heatmap pixels, a number or float [...] / [..., K].
      heatmap_size: (H, W).
      stride: crop pixels per heatmap pixel.
      amplitude: peak value (> 0).
      truncate: zero beyond ``truncate · sigma``.
      draw: optional bool [..., K]; channels where it is False are all zero.

    Returns:
      float32 [..., H, W, K].
    """
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    sigma = _per_channel(sigma, keypoints)
    dx, dy = _axis_offsets(keypoints, heatmap_size, stride)
    coefficient = -0.5 / tf.square(sigma)
    threshold = _channel_threshold(
        tf.fill(tf.shape(keypoints)[:-1], -0.5 * truncate * truncate), draw
    )
    log_peak = tf.math.log(tf.cast(amplitude, tf.float32))
    return _quadratic_maps(dx, dy, coefficient, 0.0, coefficient, threshold, log_peak)


def disc_heatmaps(
    keypoints: tf.Tensor,
    radius: float | tf.Tensor,
    heatmap_size: Sequence[int],
    stride: int = 1,
    draw: tf.Tensor | None = None,
) -> tf.Tensor:
    """Binary discs: 1 where the pixel centre lies within ``radius`` of the keypoint.

    Args:
      keypoints: float [..., K, 2], crop pixels.
      radius: crop pixels, a number or float [...] / [..., K].
      heatmap_size: (H, W).
      stride: crop pixels per heatmap pixel.
      draw: optional bool [..., K]; channels where it is False are all zero.

    Returns:
      float32 [..., H, W, K] with values in {0, 1}.
    """
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    radius = _per_channel(radius, keypoints) / stride
    dx, dy = _axis_offsets(keypoints, heatmap_size, stride)  # [..., K, W], [..., K, H]
    # dx² ≤ r² − dy², with r² pushed below zero for channels that are not drawn. A single
    # compare of [H, 1, K] against [1, W, K] measured faster here than the matrix-product path
    # of the Gaussians (docs/benchmarks.md): there is no exponential to share it with.
    room = tf.square(radius)[..., None] - tf.square(dy)
    if draw is not None:
        room = tf.where(draw[..., None], room, -1.0)
    rank = dx.shape.rank
    last = [*range(rank - 2), rank - 1, rank - 2]  # [..., K, n] → [..., n, K]
    room = tf.transpose(room, last)[..., :, None, :]  # [..., H, 1, K]
    dx2 = tf.transpose(tf.square(dx), last)[..., None, :, :]  # [..., 1, W, K]
    return tf.cast(dx2 <= room, tf.float32)


def limb_heatmaps(
    keypoints: tf.Tensor,
    limbs: Sequence[tuple[int, int]],
    heatmap_size: Sequence[int],
    stride: int = 1,
    sigma_along: float = LIMB_SIGMA_ALONG,
    sigma_across: float = LIMB_SIGMA_ACROSS,
    amplitude: float = 1.0,
    truncate: float = 3.0,
    draw: tf.Tensor | None = None,
) -> tf.Tensor:
    """Anisotropic Gaussians centred on limb midpoints and rotated along the limbs.

    Args:
      keypoints: float [..., K, 2], crop pixels.
      limbs: L pairs of joint indices.
      heatmap_size: (H, W).
      stride: crop pixels per heatmap pixel.
      sigma_along: standard deviation along the limb, fraction of its length.
      sigma_across: standard deviation across the limb, fraction of its length.
      amplitude: peak value (> 0).
      truncate: zero beyond this Mahalanobis distance.
      draw: optional bool [..., L]; channels where it is False are all zero.

    Returns:
      float32 [..., H, W, L].
    """
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    start = tf.gather(keypoints, [a for a, _ in limbs], axis=-2)  # [..., L, 2]
    end = tf.gather(keypoints, [b for _, b in limbs], axis=-2)
    midpoint = (start + end) / 2.0
    delta = (end - start) / stride  # heatmap pixels
    length = tf.norm(delta, axis=-1)  # [..., L]
    direction = tf.math.divide_no_nan(delta, length[..., None])
    # A zero-length limb has no direction; any unit vector will do.
    direction = tf.where(length[..., None] > 0, direction, tf.constant([1.0, 0.0]))
    inv_along2 = 1.0 / tf.square(tf.maximum(sigma_along * length, MIN_LIMB_SIGMA))
    inv_across2 = 1.0 / tf.square(tf.maximum(sigma_across * length, MIN_LIMB_SIGMA))
    ux, uy = direction[..., 0], direction[..., 1]
    # −½ (along² + across²), along = (dx, dy)·u / σ_along, across = (dy, −dx)·u / σ_across.
    xx = -0.5 * (tf.square(ux) * inv_along2 + tf.square(uy) * inv_across2)
    yy = -0.5 * (tf.square(uy) * inv_along2 + tf.square(ux) * inv_across2)
    xy = -(ux * uy) * (inv_along2 - inv_across2)
    dx, dy = _axis_offsets(midpoint, heatmap_size, stride)
    threshold = _channel_threshold(tf.fill(tf.shape(length), -0.5 * truncate * truncate), draw)
    log_peak = tf.math.log(tf.cast(amplitude, tf.float32))
    return _quadratic_maps(dx, dy, xx, xy, yy, threshold, log_peak)


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


# ------------------------------------------------------------------------------------------
# Decoders.


def _flatten_leading(maps: tf.Tensor):
    maps = tf.convert_to_tensor(maps, tf.float32)
    shape = tf.shape(maps)
    lead = shape[:-3]
    flat = tf.reshape(maps, tf.concat([[-1], shape[-3:]], axis=0))
    return flat, lead


def decode_heatmaps(heatmaps: tf.Tensor, stride: int = 1) -> tuple[tf.Tensor, tf.Tensor]:
    """Argmax with quarter-pixel refinement toward the higher neighbour.

    Inverse of :func:`gaussian_heatmaps` to within a quarter heatmap pixel per axis. Pure TF
    ops, usable inside a ``tf.function`` or SavedModel.

    Args:
      heatmaps: float [..., H, W, K].
      stride: crop pixels per heatmap pixel.

    Returns:
      keypoints float32 [..., K, 2] in crop pixels, confidence float32 [..., K] (the peak value).
    """
    flat, lead = _flatten_leading(heatmaps)  # [N, H, W, K]
    height, width = tf.shape(flat)[1], tf.shape(flat)[2]
    num_keypoints = tf.shape(flat)[3]
    per_channel = tf.reshape(tf.transpose(flat, [0, 3, 1, 2]), [-1, num_keypoints, height * width])
    index = tf.argmax(per_channel, axis=-1, output_type=tf.int32)  # [N, K]
    confidence = tf.reduce_max(per_channel, axis=-1)
    y, x = index // width, index % width

    def value_at(i):
        i = tf.clip_by_value(i, 0, height * width - 1)
        return tf.gather(per_channel, i[..., None], batch_dims=2)[..., 0]

    step_x = tf.sign(value_at(index + 1) - value_at(index - 1))
    step_y = tf.sign(value_at(index + width) - value_at(index - width))
    step_x = tf.where((x > 0) & (x < width - 1), step_x, 0.0)
    step_y = tf.where((y > 0) & (y < height - 1), step_y, 0.0)
    points = tf.stack(
        [tf.cast(x, tf.float32) + 0.25 * step_x, tf.cast(y, tf.float32) + 0.25 * step_y], -1
    )
    points = to_crop_coordinates(points, stride)
    out_shape = tf.concat([lead, [num_keypoints]], axis=0)
    return (
        tf.reshape(points, tf.concat([out_shape, [2]], axis=0)),
        tf.reshape(confidence, out_shape),
    )


def _moments(maps: tf.Tensor, stride: int):
    """Weighted mean [..., C, 2] (crop px) and covariance [..., C, 2, 2] (heatmap px²)."""
    maps = tf.convert_to_tensor(maps, tf.float32)
    height, width = maps.shape[-3], maps.shape[-2]
    mass = tf.reduce_sum(maps, axis=[-3, -2])  # [..., C]
    xs = tf.range(width, dtype=tf.float32)[:, None]
    ys = tf.range(height, dtype=tf.float32)[:, None, None]
    mx = tf.math.divide_no_nan(tf.reduce_sum(maps * xs, axis=[-3, -2]), mass)
    my = tf.math.divide_no_nan(tf.reduce_sum(maps * ys, axis=[-3, -2]), mass)
    dx = xs - mx[..., None, None, :]
    dy = ys - my[..., None, None, :]

    def expect(values):
        return tf.math.divide_no_nan(tf.reduce_sum(maps * values, axis=[-3, -2]), mass)

    cxx, cyy, cxy = expect(dx * dx), expect(dy * dy), expect(dx * dy)
    mean = to_crop_coordinates(tf.stack([mx, my], axis=-1), stride)
    cov = tf.stack([tf.stack([cxx, cxy], -1), tf.stack([cxy, cyy], -1)], -2)
    return mean, cov, mass


def decode_discs(maps: tf.Tensor, stride: int = 1) -> tuple[tf.Tensor, tf.Tensor]:
    """Disc centres as the centroid of each binary map (inverse of :func:`disc_heatmaps`).

    Args:
      maps: float [..., H, W, K].
      stride: crop pixels per heatmap pixel.

    Returns:
      keypoints float32 [..., K, 2] in crop pixels, area float32 [..., K] (pixels on).
    """
    mean, _, mass = _moments(maps, stride)
    return mean, mass


def _truncated_variance_factor(truncate: float) -> float:
    # Per-axis variance of a 2-D Gaussian truncated at Mahalanobis radius c, relative to σ²:
    # E[r² | r < c] / 2 with r Rayleigh-distributed.
    tail = math.exp(-0.5 * truncate * truncate)
    return (2.0 - truncate * truncate * tail / (1.0 - tail)) / 2.0


def decode_limbs(
    maps: tf.Tensor,
    stride: int = 1,
    sigma_along: float = LIMB_SIGMA_ALONG,
    truncate: float = 3.0,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Limb midpoint, length and direction from the maps' moments (inverse of
    :func:`limb_heatmaps` for limbs well inside the map).

    Args:
      maps: float [..., H, W, L].
      stride: crop pixels per heatmap pixel.
      sigma_along: the encoder's ``sigma_along``.
      truncate: the encoder's ``truncate``.

    Returns:
      midpoints float32 [..., L, 2] (crop pixels), lengths float32 [..., L] (crop pixels) and
      directions float32 [..., L, 2] (unit vectors, sign arbitrary).
    """
    mean, cov, _ = _moments(maps, stride)
    eigenvalues, eigenvectors = tf.linalg.eigh(cov)  # ascending
    variance = eigenvalues[..., 1] / _truncated_variance_factor(truncate)
    lengths = tf.sqrt(tf.maximum(variance, 0.0)) / sigma_along * stride
    return mean, lengths, eigenvectors[..., :, 1]


def flip_average(
    heatmaps: tf.Tensor,
    flipped_heatmaps: tf.Tensor,
    flip_permutation: Sequence[int],
    shift: int = 0,
) -> tf.Tensor:
    """Averages the maps of a crop with the maps of its mirror image.

    The mirror's maps are flipped back horizontally and their channels swapped back with
    ``flip_permutation`` (``skeleton.flip_permutation`` for keypoint maps,
    ``skeleton.limb_flip_permutation`` for limb maps). With this package's heatmap geometry
    the flip is exact, so ``shift`` is 0; models whose maps are offset by a pixel after
    flipping (a common hourglass habit) can pass ``shift=1`` to move the flipped-back maps one
    pixel right, repeating the first column.

    Args:
      heatmaps: float [..., H, W, C], maps of the crop.
      flipped_heatmaps: float [..., H, W, C], maps of the horizontally mirrored crop.
      flip_permutation: C channel indices.
      shift: pixels to move the flipped-back maps to the right (>= 0).

    Returns:
      float32 [..., H, W, C].
    """
    if shift < 0:
        raise ValueError(f"shift must be >= 0, got {shift}")
    back = tf.gather(tf.reverse(flipped_heatmaps, axis=[-2]), list(flip_permutation), axis=-1)
    if shift:
        first = back[..., :, :1, :]
        repeated = tf.repeat(first, shift, axis=-2)
        back = tf.concat([repeated, back[..., :, :-shift, :]], axis=-2)
    return (tf.cast(heatmaps, tf.float32) + tf.cast(back, tf.float32)) / 2.0
