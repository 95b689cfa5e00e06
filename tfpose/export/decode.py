"""Network output → serving outputs, in pure TensorFlow ops.

The serving graph's tail: optional flip test, heatmap decoding
(:func:`tfpose.data.targets.decode_heatmaps`), crop → image pixels, and the [0, 1] scores
(``confidence`` and ``visibility``, the same as :class:`tfpose.inference.Predictor`'s).
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


def visibility_score(peak: tf.Tensor, kind: str, amplitude: float) -> tf.Tensor:
    """Heatmap peaks [...] → ``confidence`` scores in [0, 1] (``ModelSpec.visibility_kind``)."""
    if kind == "sigmoid":
        return tf.sigmoid(peak)
    if kind == "peak_over_amplitude":
        return tf.clip_by_value(peak / amplitude, 0.0, 1.0)
    raise ValueError(f"visibility kind must be 'sigmoid' or 'peak_over_amplitude', got {kind!r}")


def inside_image(keypoints: tf.Tensor, image_size: tf.Tensor) -> tf.Tensor:
    """bool [B, K]: keypoints [B, K, 2] within the image area ``[-0.5, W - 0.5] × [-0.5, H - 0.5]``
    of their image, ``image_size`` [B, 2] = (height, width) (as
    :func:`tfpose.inference.predictor.inside_image`)."""
    size = tf.cast(image_size, tf.float32)[:, None, :]
    x, y = keypoints[..., 0], keypoints[..., 1]
    return (x >= -0.5) & (x <= size[..., 1] - 0.5) & (y >= -0.5) & (y <= size[..., 0] - 0.5)


def decode_to_image(
    heatmaps: tf.Tensor,
    affine: tf.Tensor,
    stride: int,
    visibility_kind: str,
    amplitude: float,
    image_size: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
    """Decodes maps of crops into keypoints of the original images.

    The scores are those of :class:`tfpose.inference.Predictor` (``PosePrediction``), so a
    word means the same in every API.

    Args:
      heatmaps: float32 [B, H, W, K] prediction maps.
      affine: float32 [B, 2, 3] image → crop matrices of the crops.
      stride: crop pixels per map pixel.
      visibility_kind: ``"peak_over_amplitude"`` or ``"sigmoid"``.
      amplitude: the trained peak value of a visible joint.
      image_size: float [B, 2] (height, width) of each crop's image, for ``visibility``;
        None leaves ``visibility`` out.

    Returns:
      ``keypoints`` float32 [B, K, 2] (x, y) original image pixels, ``confidence`` float32
      [B, K] in [0, 1] (:func:`visibility_score` of the peak), ``peak`` float32 [B, K] (the raw
      map peak, e.g. 0–12 for the recurrent models; ranks like ``confidence`` without its
      clipping) and, with ``image_size``, ``visibility`` float32 [B, K] (``confidence``, 0 for
      a keypoint outside its image).
    """
    crop_keypoints, peak = targets.decode_heatmaps(heatmaps, stride)
    keypoints = transforms.crop_to_image(crop_keypoints, affine)
    confidence = visibility_score(peak, visibility_kind, amplitude)
    outputs = {"keypoints": keypoints, "confidence": confidence, "peak": peak}
    if image_size is not None:
        inside = inside_image(keypoints, image_size)
        outputs["visibility"] = tf.where(inside, confidence, tf.zeros_like(confidence))
    return outputs
