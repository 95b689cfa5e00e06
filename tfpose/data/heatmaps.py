"""Heatmap geometry and the heatmap encoders: truncated Gaussians, binary discs, limb maps.

Every encoder is a pure TensorFlow function that broadcasts over leading dimensions, so the
same code draws the maps of one example inside ``tf.data`` or of a whole batch, and every
encoder has a decoder in :mod:`tfpose.data.heatmap_decoding` (tested by round trip in
``tests/data/test_targets.py``). :mod:`tfpose.data.targets` makes the target heads and their
occlusion-mode weights from these maps.

Heatmap geometry. A map at output stride ``s`` has pixel ``u`` covering crop pixels
``[s·u, s·u + s − 1]``, so its centre is at crop coordinate ``x = s·(u + 0.5) − 0.5`` (and
``u = (x + 0.5) / s − 0.5``). This is the alignment of average pooling and of strided
convolutions with "same" padding, and it makes a horizontal flip of the crop exactly a
horizontal flip of the map (``u → W − 1 − u``).

Shape legend: B batch (any number of leading dims), H × W heatmap, K keypoints, L limbs,
C channels (K or L); keypoints are (x, y) in crop pixels unless said otherwise.

Every Gaussian is truncated at ``truncate`` standard deviations (Euclidean distance for keypoint
maps, Mahalanobis distance for limbs), so background pixels are exactly 0 and ``target > 0`` is
the foreground of the foreground-weighted loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

# Belagiannis & Zisserman's body-part (limb) maps: standard deviations along and across the
# limb as fractions of its length. 0.15 / 0.08 are the released MatConvNet code's values; the
# paper text says 0.15 / 0.1 (see ../shared/reference/methods.md, section 2).
LIMB_SIGMA_ALONG = 0.15
LIMB_SIGMA_ACROSS = 0.08
# A limb whose endpoints coincide would get σ = 0; this floor (heatmap pixels) keeps it finite.
MIN_LIMB_SIGMA = 0.5


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
