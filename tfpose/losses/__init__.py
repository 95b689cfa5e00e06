"""Heatmap losses of the two methods, and how the outputs of a model are tied to its targets.

Shape legend: B = batch, H × W = heatmap grid, C = channels (keypoints, limbs or detection parts).
Every loss compares a target ``[B, H, W, C]`` with a prediction of the same shape under a
per-pixel weight ``[B, H, W, C]`` in [0, 1] (or broadcastable to it, e.g. ``[B, 1, 1, C]``
per-channel masks), and returns one loss per example, ``[B]``.

The package, one concern per module (everything is importable from ``tfpose.losses``):

* :mod:`tfpose.losses.functions`: the per-pixel losses as functions (sigmoid cross-entropy,
  masked L2, foreground-weighted MSE), their weights and their per-example reduction;
* :mod:`tfpose.losses.packed`: their Keras ``Loss`` classes, with target and weight packed
  into ``y_true``;
* :mod:`tfpose.losses.specs`: loss terms per model output (``LossTerm``, the two papers'
  specs) and the total loss over a batch, also under ``tf.distribute``.

See ``docs/losses.md``.
"""

from tfpose.losses.functions import (
    FALLBACK_EMPTY_MAP_WEIGHT,
    MAX_BALANCED_FOREGROUND_FRACTION,
    NORMALIZE_MODES,
    Normalize,
    foreground_balance_weights,
    foreground_weighted_mse,
    masked_l2,
    sigmoid_cross_entropy,
)
from tfpose.losses.packed import (
    ForegroundWeightedMSE,
    MaskedL2,
    SigmoidCrossEntropy,
    pack_target,
    unpack_target,
)
from tfpose.losses.specs import (
    CASCADE_VARIANTS,
    LOSS_CLASSES,
    LOSS_FUNCTIONS,
    LossSpec,
    LossTerm,
    cascade_loss_spec,
    keras_losses,
    packed_targets,
    per_example_losses,
    recurrent_loss_spec,
    total_loss,
)

__all__ = [
    "CASCADE_VARIANTS",
    "FALLBACK_EMPTY_MAP_WEIGHT",
    "LOSS_CLASSES",
    "LOSS_FUNCTIONS",
    "MAX_BALANCED_FOREGROUND_FRACTION",
    "NORMALIZE_MODES",
    "ForegroundWeightedMSE",
    "LossSpec",
    "LossTerm",
    "MaskedL2",
    "Normalize",
    "SigmoidCrossEntropy",
    "cascade_loss_spec",
    "foreground_balance_weights",
    "foreground_weighted_mse",
    "keras_losses",
    "masked_l2",
    "pack_target",
    "packed_targets",
    "per_example_losses",
    "recurrent_loss_spec",
    "sigmoid_cross_entropy",
    "total_loss",
    "unpack_target",
]
