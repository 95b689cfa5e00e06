"""Network output → serving outputs, in pure TensorFlow ops.

The serving graph's tail: optional flip test, heatmap decoding
(:func:`tfpose.data.targets.decode_heatmaps`), crop → image pixels, and the visibility score.
``export/client.py`` holds a NumPy copy of the decoding for the heatmaps-only artifacts.

Shape legend: B batch, S crop side, H × W heatmap, K keypoints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from tfpose.data import targets, transforms

HeatmapFn = Callable[[tf.Tensor], tf.Tensor]


def flip_test_heatmaps(
    heatmap_fn: HeatmapFn, crops: tf.Tensor, flip_permutation: Sequence[int]
) -> tf.Tensor:
    """Maps of ``crops`` averaged with the flipped-back maps of their mirror images.

    Both halves run as one batch of 2B crops.

    Args:
      heatmap_fn: crops [N, S, S, 3] → maps [N, H, W, K].
      crops: float32 [B, S, S, 3].
      flip_permutation: K channel indices of the mirror partners.

    Returns:
      float32 [B, H, W, K].
    """
    batch = tf.shape(crops)[0]
    maps = heatmap_fn(tf.concat([crops, tf.reverse(crops, axis=[2])], axis=0))
    return targets.flip_average(maps[:batch], maps[batch:], flip_permutation)


def visibility_score(confidence: tf.Tensor, kind: str, amplitude: float) -> tf.Tensor:
    """Heatmap peaks [...] → visibility scores in [0, 1] (see ``ExportSpec.visibility_kind``)."""
    if kind == "sigmoid":
        return tf.sigmoid(confidence)
    if kind == "peak_over_amplitude":
        return tf.clip_by_value(confidence / amplitude, 0.0, 1.0)
    raise ValueError(f"visibility kind must be 'sigmoid' or 'peak_over_amplitude', got {kind!r}")


def decode_to_image(
    heatmaps: tf.Tensor,
    affine: tf.Tensor,
    stride: int,
    visibility_kind: str,
    amplitude: float,
) -> dict[str, tf.Tensor]:
    """Decodes maps of crops into keypoints of the original images.

    Args:
      heatmaps: float32 [B, H, W, K] prediction maps.
      affine: float32 [B, 2, 3] image → crop matrices of the crops.
      stride: crop pixels per map pixel.
      visibility_kind: ``"peak_over_amplitude"`` or ``"sigmoid"``.
      amplitude: the trained peak value of a visible joint.

    Returns:
      ``keypoints`` float32 [B, K, 2] (x, y) original image pixels, ``confidence`` float32
      [B, K] (the raw peak) and ``visibility`` float32 [B, K] in [0, 1].
    """
    crop_keypoints, confidence = targets.decode_heatmaps(heatmaps, stride)
    return {
        "keypoints": transforms.crop_to_image(crop_keypoints, affine),
        "confidence": confidence,
        "visibility": visibility_score(confidence, visibility_kind, amplitude),
    }
