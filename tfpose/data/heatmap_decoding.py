"""Heatmap decoders, the inverses of the encoders of :mod:`tfpose.data.heatmaps`, and the
flip-test average.

Pure TensorFlow ops, usable inside a ``tf.function`` or SavedModel; they use the heatmap
geometry of :mod:`tfpose.data.heatmaps` (map pixel ``u`` is centred on crop coordinate
``s·(u + 0.5) − 0.5`` at stride ``s``).

Shape legend: H × W heatmap, K keypoints, L limbs, C channels (K or L), any number of leading
dims; keypoints are (x, y) in crop pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf

from tfpose.data.heatmaps import LIMB_SIGMA_ALONG, to_crop_coordinates


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
