"""Keras forms of the heatmap losses: ``keras.losses.Loss`` classes over packed targets.

A Keras loss only receives ``(y_true, y_pred)``, so ``y_true`` carries the target and the weight
stacked on the channel axis, ``concat([target, weight], -1)`` (``[B, H, W, 2C]``, target first),
built by :func:`pack_target` (per output: :func:`tfpose.losses.specs.packed_targets`). The
classes return the per-example losses of :mod:`tfpose.losses.functions`, which Keras averages
over the batch (``reduction="sum_over_batch_size"``), and are registered for Keras
serialization as ``tfpose>ClassName``.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfpose.losses.functions import (
    Normalize,
    _check_background_ratio,
    _check_empty_map_weight,
    _check_normalize,
    broadcast_weight,
    foreground_weighted_mse,
    masked_l2,
    sigmoid_cross_entropy,
)


def pack_target(target: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """Stacks a target and its weight on the channel axis for a Keras loss's ``y_true``.

    Works with or without the batch axis, so it can run in a ``tf.data`` map before batching.

    Args:
      target: [..., C] target maps.
      weight: [..., C] (or broadcastable) per-pixel weight.

    Returns:
      [..., 2C] float32 ``concat([target, weight], -1)``.
    """
    target = tf.cast(tf.convert_to_tensor(target), tf.float32)
    weight = tf.cast(tf.convert_to_tensor(weight), tf.float32)
    return tf.concat([target, broadcast_weight(weight, target)], axis=-1)


def unpack_target(y_true: tf.Tensor, num_channels: int | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Splits a :func:`pack_target` tensor [..., 2C] into ``(target, weight)``, [..., C] each."""
    if isinstance(num_channels, int) and y_true.shape[-1] is not None:
        if y_true.shape[-1] != 2 * num_channels:
            raise ValueError(
                f"y_true must hold target and weight, {2 * num_channels} channels for a "
                f"{num_channels}-channel prediction (see pack_target), got shape {y_true.shape}"
            )
    return y_true[..., :num_channels], y_true[..., num_channels:]


class _PackedHeatmapLoss(keras.losses.Loss):
    """Base of the Keras losses: unpacks ``y_true`` and returns per-example losses [B]."""

    def __init__(
        self,
        normalize: Normalize = "mean",
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        dtype=None,
    ) -> None:
        _check_normalize(normalize)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.normalize = normalize

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        num_channels = y_pred.shape[-1]
        if num_channels is None:
            num_channels = tf.shape(y_pred)[-1]
        target, weight = unpack_target(y_true, num_channels)
        return self.per_example(target, y_pred, weight)

    def per_example(self, target: tf.Tensor, y_pred: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {**super().get_config(), "normalize": self.normalize}


@keras.saving.register_keras_serializable(package="tfpose")
class SigmoidCrossEntropy(_PackedHeatmapLoss):
    """Keras form of :func:`sigmoid_cross_entropy`; ``y_pred`` are logits [B, H, W, C].

    ``y_true`` is ``pack_target(target, weight)``, [B, H, W, 2C].
    """

    def per_example(self, target, y_pred, weight):
        return sigmoid_cross_entropy(target, y_pred, weight, self.normalize)


@keras.saving.register_keras_serializable(package="tfpose")
class MaskedL2(_PackedHeatmapLoss):
    """Keras form of :func:`masked_l2`; ``y_true`` is ``pack_target(target, weight)``."""

    def per_example(self, target, y_pred, weight):
        return masked_l2(target, y_pred, weight, self.normalize)


@keras.saving.register_keras_serializable(package="tfpose")
class ForegroundWeightedMSE(_PackedHeatmapLoss):
    """Keras form of :func:`foreground_weighted_mse`; ``y_true`` is ``pack_target(...)``."""

    def __init__(
        self,
        normalize: Normalize = "mean",
        foreground_threshold: float = 0.0,
        empty_map_weight: float | None = None,
        background_ratio: float = 1.0,
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        dtype=None,
    ) -> None:
        _check_empty_map_weight(empty_map_weight)
        _check_background_ratio(background_ratio)
        super().__init__(normalize=normalize, name=name, reduction=reduction, dtype=dtype)
        self.foreground_threshold = foreground_threshold
        self.empty_map_weight = empty_map_weight
        self.background_ratio = background_ratio

    def per_example(self, target, y_pred, weight):
        return foreground_weighted_mse(
            target,
            y_pred,
            weight,
            self.normalize,
            self.foreground_threshold,
            self.empty_map_weight,
            self.background_ratio,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "foreground_threshold": self.foreground_threshold,
            "empty_map_weight": self.empty_map_weight,
            "background_ratio": self.background_ratio,
        }
