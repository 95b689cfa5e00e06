"""Heatmap losses of the two methods, and how the outputs of a model are tied to its targets.

Shape legend: B = batch, H × W = heatmap grid, C = channels (keypoints, limbs or detection parts).
Every loss compares a target ``[B, H, W, C]`` with a prediction of the same shape under a
per-pixel weight ``[B, H, W, C]`` in [0, 1] (or broadcastable to it, e.g. ``[B, 1, 1, C]``
per-channel masks), and returns one loss per example, ``[B]``.

Losses (see ``docs/losses.md``):
  * :func:`sigmoid_cross_entropy`: Bulat's part detection; pixelwise sigmoid cross-entropy on
    binary disc maps, the prediction being **logits**.
  * :func:`masked_l2`: Bulat's confidence-map regression; squared error.
  * :func:`foreground_weighted_mse`: Belagiannis; squared error where, per map, the foreground
    and the background pixels contribute equally.

Weights. The input pipeline encodes what must not be learned as zero weight: a joint the
dataset lacks has an all-zero weight channel (Bulat's "stop the gradient for missing joints"),
"ignore" mode zeroes an occluded joint's region, "exclude" mode gives an occluded joint an
all-zero target with weight 1 and "include" treats it as visible. A pixel of weight 0 adds
exactly nothing to the loss and receives exactly zero gradient (for finite predictions).

Reduction. Per example the weighted per-pixel losses are **summed over H, W and C** and, with
``normalize="mean"`` (the default), divided by the constant ``H * W * C`` — all pixels, whatever
their weight, so a missing joint does not up-weight the others. ``normalize="sum"`` keeps the
plain sum, the scale of the papers' Caffe/MatConvNet losses. Over the batch the per-example
losses are averaged: by Keras (``reduction="sum_over_batch_size"``) for the ``keras.losses.Loss``
classes, and by :func:`total_loss` with ``tf.nn.compute_average_loss`` so that under a
``tf.distribute`` strategy every replica divides by the *global* batch size.

Keras plumbing. A Keras loss only receives ``(y_true, y_pred)``, so ``y_true`` carries the
target and the weight stacked on the channel axis, ``concat([target, weight], -1)``
(``[B, H, W, 2C]``, target first), built by :func:`pack_target` / :func:`packed_targets`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple

import keras
import tensorflow as tf

Normalize = Literal["mean", "sum"]
NORMALIZE_MODES = ("mean", "sum")

# Foreground-weighted MSE, maps without foreground (all-zero target, non-zero pipeline weight):
# an occluded joint in "exclude" mode, which the network must learn *not* to show, or a joint
# outside the crop. By default their pixels weigh what the background of the example's other maps
# weighs (see foreground_balance_weights); this constant is the fallback for an example without
# any foreground in the head. It is the foreground fraction of this project's keypoint target
# (tfpose.data.targets.gaussian_heatmaps, sigma 1.3 px, truncated at 3 sigma, on the 62 x 62 grid
# at stride 4): mean 0.0124 over 1000 random positions, range 0.0117-0.0135. The released code
# gives such maps zero weight instead, which makes "exclude" the same as "ignore" for one person.
FALLBACK_EMPTY_MAP_WEIGHT = 0.0125

# Above this foreground fraction a map is not re-weighted (all its pixels weigh 1): the released
# code (getWeightMask in cnn_regressor_get_batch.m) skips the balancing when the foreground
# pixels strictly outnumber the background ones.
MAX_BALANCED_FOREGROUND_FRACTION = 0.5


def _check_normalize(normalize: str) -> None:
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f"normalize must be one of {NORMALIZE_MODES}, got {normalize!r}")


def _check_background_ratio(background_ratio: float) -> None:
    if not (math.isfinite(background_ratio) and background_ratio > 0):
        raise ValueError(f"background_ratio must be finite and > 0, got {background_ratio}")


def _check_empty_map_weight(empty_map_weight: float | None) -> None:
    if empty_map_weight is not None and not (
        math.isfinite(empty_map_weight) and empty_map_weight >= 0
    ):
        raise ValueError(
            f"empty_map_weight must be None or finite and >= 0, got {empty_map_weight}"
        )


def _prepare(
    target: tf.Tensor, prediction: tf.Tensor, weight: tf.Tensor, prediction_name: str
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Casts to float32, checks ranks and shapes, broadcasts ``weight`` to the target's shape."""
    target = tf.cast(tf.convert_to_tensor(target), tf.float32)
    prediction = tf.cast(tf.convert_to_tensor(prediction), tf.float32)
    weight = tf.cast(tf.convert_to_tensor(weight), tf.float32)
    for name, value in (("target", target), (prediction_name, prediction), ("weight", weight)):
        if value.shape.rank is not None and value.shape.rank != 4:
            raise ValueError(f"{name} must be [B, H, W, C] (rank 4), got shape {value.shape}")
    if not target.shape.is_compatible_with(prediction.shape):
        raise ValueError(
            f"target and {prediction_name} must have the same shape, got {target.shape} and "
            f"{prediction.shape}"
        )
    try:
        tf.broadcast_static_shape(weight.shape, target.shape)
    except ValueError as error:
        raise ValueError(
            f"weight of shape {weight.shape} does not broadcast to the target's {target.shape}"
        ) from error
    weight = tf.broadcast_to(weight, tf.shape(target))
    return target, prediction, weight


def _per_example(weighted: tf.Tensor, normalize: Normalize) -> tf.Tensor:
    """Sums ``[B, H, W, C]`` to ``[B]``; ``"mean"`` divides by the constant ``H * W * C``."""
    _check_normalize(normalize)
    total = tf.reduce_sum(weighted, axis=[1, 2, 3])
    if normalize == "sum":
        return total
    num_elements = tf.cast(tf.reduce_prod(tf.shape(weighted)[1:]), tf.float32)
    return total / num_elements


def sigmoid_cross_entropy(
    target: tf.Tensor, logits: tf.Tensor, weight: tf.Tensor, normalize: Normalize = "mean"
) -> tf.Tensor:
    """Pixelwise sigmoid cross-entropy of Bulat & Tzimiropoulos' part detector.

    ``loss_b = sum_{h,w,c} weight * -(t log sigmoid(z) + (1 - t) log(1 - sigmoid(z)))``, divided
    by ``H * W * C`` when ``normalize="mean"``; computed from the logits z in the numerically
    stable form of ``tf.nn.sigmoid_cross_entropy_with_logits``.

    Args:
      target: [B, H, W, C] in [0, 1]; binary disc maps (1 inside the disc of a visible part).
      logits: [B, H, W, C] detector output before the sigmoid.
      weight: [B, H, W, C] (or broadcastable) per-pixel weight in [0, 1].
      normalize: ``"mean"`` (divide by H * W * C) or ``"sum"``.

    Returns:
      [B] float32 per-example losses.
    """
    target, logits, weight = _prepare(target, logits, weight, "logits")
    pixel_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits)
    return _per_example(weight * pixel_loss, normalize)


def masked_l2(
    target: tf.Tensor, prediction: tf.Tensor, weight: tf.Tensor, normalize: Normalize = "mean"
) -> tf.Tensor:
    """Squared error of Bulat & Tzimiropoulos' confidence-map regression.

    ``loss_b = sum_{h,w,c} weight * (prediction - target)^2``, divided by ``H * W * C`` when
    ``normalize="mean"``. A channel of zero weight (a joint the dataset lacks, e.g. the two MPII
    joints LSP does not annotate when fine-tuning a 16-joint model) gets no gradient at all.

    Args:
      target: [B, H, W, C] Gaussian confidence maps.
      prediction: [B, H, W, C] predicted maps.
      weight: [B, H, W, C] per-pixel weight in [0, 1], or [B, 1, 1, C] per-channel masks.
      normalize: ``"mean"`` (divide by H * W * C) or ``"sum"``.

    Returns:
      [B] float32 per-example losses.
    """
    target, prediction, weight = _prepare(target, prediction, weight, "prediction")
    return _per_example(weight * tf.square(prediction - target), normalize)


def foreground_balance_weights(
    target: tf.Tensor,
    weight: tf.Tensor,
    foreground_threshold: float = 0.0,
    empty_map_weight: float | None = None,
    background_ratio: float = 1.0,
) -> tf.Tensor:
    """Belagiannis & Zisserman's foreground-weighted mask, combined with the pipeline's weight.

    Per map (one example, one channel), counting each pixel with its pipeline weight ``m``:
    ``f = sum(m * [target > threshold]) / sum(m)`` is the foreground fraction. Then

    * ``0 < f <= 0.5``: foreground pixels weigh ``m * (1 - f)``, background pixels
      ``m * min(r * f, 1)`` with ``r`` = ``background_ratio``. With the paper's ``r = 1`` the
      foreground and the background contribute the same total weight, ``sum(m) * f * (1 - f)``
      each; ``r > 1`` makes the background's total ``r`` times the foreground's (until a
      background pixel weighs 1), which makes a false response cost more — e.g. a left wrist
      map that also fires on the right wrist;
    * ``f > 0.5`` (foreground outnumbers background): no re-weighting, every pixel weighs ``m``;
    * ``f = 0`` (no foreground: an occluded joint in "exclude" mode, the rest of an occluded
      joint's map in "ignore" mode, a joint outside the crop): every pixel weighs
      ``m * e``. Such a map is background and must still penalise a response — with weight 0,
      as in the released code, "exclude" would teach nothing. ``e`` is ``empty_map_weight``
      when given; by default (None) it is the mean background weight (``min(r * f, 1)``, or 1
      where ``f > 0.5``) of the same example's maps that have foreground, so a response on an
      excluded joint costs what a response on the background of a visible joint's map costs,
      whatever the target's size; ``min(r * FALLBACK_EMPTY_MAP_WEIGHT, 1)`` when the example
      has no foreground in any channel;
    * ``sum(m) = 0`` (a missing joint): every pixel weighs 0.

    Counting only weighted pixels keeps the two sides equal when the pipeline zeroes part of a
    map ("ignore" mode, other people in the crop). The result carries no gradient.

    Args:
      target: [B, H, W, C] target maps.
      weight: [B, H, W, C] (or broadcastable) pipeline weight in [0, 1].
      foreground_threshold: pixels with ``target > foreground_threshold`` are foreground.
      empty_map_weight: weight of the pixels of a map without foreground, >= 0; None for the
        per-example rule above.
      background_ratio: ``r`` above, > 0; 1 is the paper.

    Returns:
      [B, H, W, C] float32 effective per-pixel weights.
    """
    _check_empty_map_weight(empty_map_weight)
    _check_background_ratio(background_ratio)
    target, _, weight = _prepare(target, target, weight, "target")
    foreground = tf.cast(target > foreground_threshold, tf.float32)
    mass = tf.reduce_sum(weight, axis=[1, 2], keepdims=True)
    foreground_mass = tf.reduce_sum(weight * foreground, axis=[1, 2], keepdims=True)
    fraction = tf.math.divide_no_nan(foreground_mass, mass)
    unbalanced = fraction > MAX_BALANCED_FOREGROUND_FRACTION  # [B, 1, 1, C]
    has_foreground = foreground_mass > 0.0  # [B, 1, 1, C]
    background_weight = tf.minimum(background_ratio * fraction, 1.0)
    balanced = foreground * (1.0 - fraction) + (1.0 - foreground) * background_weight
    balanced = tf.where(unbalanced, 1.0, balanced)
    if empty_map_weight is None:
        background_weight = tf.where(unbalanced, 1.0, background_weight)
        num_maps = tf.reduce_sum(tf.cast(has_foreground, tf.float32), [1, 2, 3], keepdims=True)
        empty = tf.where(
            num_maps > 0.0,
            tf.math.divide_no_nan(
                tf.reduce_sum(
                    tf.where(has_foreground, background_weight, 0.0), [1, 2, 3], keepdims=True
                ),
                num_maps,
            ),
            min(background_ratio * FALLBACK_EMPTY_MAP_WEIGHT, 1.0),
        )  # [B, 1, 1, 1]
    else:
        empty = tf.constant(empty_map_weight, tf.float32)
    balance = tf.where(has_foreground, balanced, empty)
    return tf.stop_gradient(weight * balance)


def foreground_weighted_mse(
    target: tf.Tensor,
    prediction: tf.Tensor,
    weight: tf.Tensor,
    normalize: Normalize = "mean",
    foreground_threshold: float = 0.0,
    empty_map_weight: float | None = None,
    background_ratio: float = 1.0,
) -> tf.Tensor:
    """Squared error under Belagiannis & Zisserman's foreground-weighted mask.

    ``loss_b = sum_{h,w,c} balance * (prediction - target)^2``, divided by ``H * W * C`` when
    ``normalize="mean"``, with ``balance`` from :func:`foreground_balance_weights` (pipeline
    weight times the per-map foreground/background balance).

    Args:
      target: [B, H, W, C] keypoint or limb maps (Gaussians, peak 12 in the paper).
      prediction: [B, H, W, C] predicted maps.
      weight: [B, H, W, C] (or broadcastable) pipeline weight in [0, 1].
      normalize: ``"mean"`` (divide by H * W * C) or ``"sum"``.
      foreground_threshold: pixels with ``target > foreground_threshold`` are foreground.
      empty_map_weight: weight of the pixels of a map without foreground; None for the
        per-example rule of :func:`foreground_balance_weights`.
      background_ratio: the background's total weight over the foreground's, per map (1 =
        the paper); see :func:`foreground_balance_weights`.

    Returns:
      [B] float32 per-example losses.
    """
    target, prediction, weight = _prepare(target, prediction, weight, "prediction")
    balance = foreground_balance_weights(
        target, weight, foreground_threshold, empty_map_weight, background_ratio
    )
    return _per_example(balance * tf.square(prediction - target), normalize)


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
    try:
        tf.broadcast_static_shape(weight.shape, target.shape)
    except ValueError as error:
        raise ValueError(
            f"weight of shape {weight.shape} does not broadcast to the target's {target.shape}"
        ) from error
    return tf.concat([target, tf.broadcast_to(weight, tf.shape(target))], axis=-1)


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


# Loss kinds a spec may name: the per-example function and its Keras class.
LOSS_FUNCTIONS: dict[str, Callable[..., tf.Tensor]] = {
    "sigmoid_xent": sigmoid_cross_entropy,
    "l2": masked_l2,
    "fg_mse": foreground_weighted_mse,
}
LOSS_CLASSES: dict[str, type[_PackedHeatmapLoss]] = {
    "sigmoid_xent": SigmoidCrossEntropy,
    "l2": MaskedL2,
    "fg_mse": ForegroundWeightedMSE,
}


class LossTerm(NamedTuple):
    """One model output's loss.

    Attributes:
      kind: a key of ``LOSS_FUNCTIONS`` (``"sigmoid_xent"``, ``"l2"``, ``"fg_mse"``).
      head: target head; the batch holds ``heatmaps/<head>`` and ``weights/<head>``.
      weight: factor of this term in the total loss.
    """

    kind: str
    head: str
    weight: float = 1.0


LossSpec = Mapping[str, LossTerm]


def _check_spec(spec: Mapping[str, Sequence]) -> dict[str, LossTerm]:
    """Turns plain ``(kind, head, weight)`` tuples into ``LossTerm``s, validating each."""
    if not spec:
        raise ValueError("spec is empty: it must map at least one output name to a loss term")
    checked = {}
    for output_name, term in spec.items():
        term = LossTerm(*term)
        if term.kind not in LOSS_FUNCTIONS:
            raise ValueError(
                f"spec[{output_name!r}]: unknown loss kind {term.kind!r}, expected one of "
                f"{sorted(LOSS_FUNCTIONS)}"
            )
        if not math.isfinite(term.weight) or term.weight < 0:
            raise ValueError(
                f"spec[{output_name!r}]: weight must be finite and >= 0, got {term.weight}"
            )
        checked[output_name] = term
    return checked


def recurrent_loss_spec(
    num_passes: int, use_limbs: bool, pass_weights: Sequence[float] | None = None
) -> dict[str, LossTerm]:
    """Belagiannis & Zisserman's auxiliary losses: one per head and pass.

    A network with T recurrent iterations has ``num_passes = T + 1`` passes (the feed-forward
    pass is pass 0) and outputs ``keypoints_0 .. keypoints_T`` (and ``limbs_0 .. limbs_T``).
    Every pass is supervised with the foreground-weighted MSE; keypoint and limb maps weigh the
    same and, by default, all passes weigh 1, as in the paper.

    Args:
      num_passes: number of passes, >= 1.
      use_limbs: also supervise the ``limbs_t`` outputs with the ``limbs`` targets.
      pass_weights: ``num_passes`` non-negative factors, one per pass; default all 1.

    Returns:
      Output name -> ``LossTerm("fg_mse", head, pass weight)``.
    """
    if num_passes < 1:
        raise ValueError(f"num_passes must be >= 1, got {num_passes}")
    if pass_weights is None:
        pass_weights = [1.0] * num_passes
    if len(pass_weights) != num_passes:
        raise ValueError(
            f"pass_weights must have num_passes={num_passes} entries, got {len(pass_weights)}"
        )
    heads = ("keypoints", "limbs") if use_limbs else ("keypoints",)
    spec = {
        f"{head}_{t}": LossTerm("fg_mse", head, float(pass_weight))
        for t, pass_weight in enumerate(pass_weights)
        for head in heads
    }
    return _check_spec(spec)


# Bulat & Tzimiropoulos' Table 5 variants -> output name -> (loss kind, head, stage).
# "regression_regression" has two L2 stages; its first stage ("regression_0") takes the place of
# the detector and gets the detection weight.
CASCADE_VARIANTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "detection_regression": {
        "detection": ("sigmoid_xent", "detection", "detection"),
        "regression": ("l2", "keypoints", "regression"),
    },
    "detection_only": {"detection": ("sigmoid_xent", "detection", "detection")},
    "regression_only": {"regression": ("l2", "keypoints", "regression")},
    "regression_regression": {
        "regression_0": ("l2", "keypoints", "detection"),
        "regression": ("l2", "keypoints", "regression"),
    },
}


def cascade_loss_spec(
    variant: str, detection_weight: float = 1.0, regression_weight: float = 1.0
) -> dict[str, LossTerm]:
    """Bulat & Tzimiropoulos' losses for one cascade variant.

    The detector (output ``detection``, logits) learns the ``detection`` disc maps with the
    sigmoid cross-entropy; the regressor (output ``regression``) the ``keypoints`` Gaussian maps
    with the L2 loss. Staged training (detector alone, regressor with the detector frozen, then
    jointly) sets a weight to 0 or freezes layers; the spec itself does not change.

    Args:
      variant: a key of ``CASCADE_VARIANTS``.
      detection_weight: factor of the first stage (``detection``, or ``regression_0``).
      regression_weight: factor of the ``regression`` output.

    Returns:
      Output name -> ``LossTerm``.
    """
    if variant not in CASCADE_VARIANTS:
        raise ValueError(f"variant must be one of {sorted(CASCADE_VARIANTS)}, got {variant!r}")
    stage_weights = {"detection": float(detection_weight), "regression": float(regression_weight)}
    spec = {
        output_name: LossTerm(kind, head, stage_weights[stage])
        for output_name, (kind, head, stage) in CASCADE_VARIANTS[variant].items()
    }
    return _check_spec(spec)


def _lookup(mapping: Mapping[str, tf.Tensor], key: str, what: str) -> tf.Tensor:
    if key not in mapping:
        raise KeyError(f"{what} has no {key!r}; it has {sorted(mapping)}")
    return mapping[key]


def per_example_losses(
    outputs: Mapping[str, tf.Tensor],
    batch: Mapping[str, tf.Tensor],
    spec: Mapping[str, Sequence],
    normalize: Normalize = "mean",
    foreground_threshold: float = 0.0,
    empty_map_weight: float | None = None,
    background_ratio: float = 1.0,
) -> dict[str, tf.Tensor]:
    """The unweighted per-example loss of every output named in ``spec``.

    Args:
      outputs: model outputs, output name -> [B, H, W, C].
      batch: holds ``heatmaps/<head>`` and ``weights/<head>`` [B, H, W, C] for each spec head.
      spec: output name -> ``LossTerm`` (or a plain ``(kind, head, weight)`` tuple).
      normalize: ``"mean"`` or ``"sum"``, for every term.
      foreground_threshold: passed to the ``fg_mse`` terms.
      empty_map_weight: passed to the ``fg_mse`` terms.
      background_ratio: passed to the ``fg_mse`` terms.

    Returns:
      Output name -> [B] float32 losses.
    """
    losses = {}
    for output_name, term in _check_spec(spec).items():
        prediction = _lookup(outputs, output_name, "outputs")
        target = _lookup(batch, f"heatmaps/{term.head}", "batch")
        weight = _lookup(batch, f"weights/{term.head}", "batch")
        options = {}
        if term.kind == "fg_mse":
            options = {
                "foreground_threshold": foreground_threshold,
                "empty_map_weight": empty_map_weight,
                "background_ratio": background_ratio,
            }
        losses[output_name] = LOSS_FUNCTIONS[term.kind](
            target, prediction, weight, normalize=normalize, **options
        )
    return losses


def total_loss(
    outputs: Mapping[str, tf.Tensor],
    batch: Mapping[str, tf.Tensor],
    spec: Mapping[str, Sequence],
    global_batch_size: int | None = None,
    normalize: Normalize = "mean",
    foreground_threshold: float = 0.0,
    empty_map_weight: float | None = None,
    background_ratio: float = 1.0,
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """The weighted sum of every output's loss, averaged over the batch.

    Each term is averaged over the batch with ``tf.nn.compute_average_loss``: the per-example
    losses are summed and divided by ``global_batch_size``, or, when it is None, by the local
    batch size times the number of replicas in sync. Inside ``strategy.run`` every replica thus
    returns its share of the global mean, and summing the replicas' gradients (what the
    strategy's all-reduce does) gives the gradient of the global mean. Outside a strategy it is
    the plain batch mean.

    Args:
      outputs: model outputs, output name -> [B, H, W, C].
      batch: holds ``heatmaps/<head>`` and ``weights/<head>`` [B, H, W, C].
      spec: output name -> ``LossTerm`` (or a ``(kind, head, weight)`` tuple).
      global_batch_size: batch size summed over replicas; None derives it as above.
      normalize: ``"mean"`` or ``"sum"``, for every term.
      foreground_threshold: passed to the ``fg_mse`` terms.
      empty_map_weight: passed to the ``fg_mse`` terms.
      background_ratio: passed to the ``fg_mse`` terms.

    Returns:
      ``(total, per_output)``: the scalar ``sum_o weight_o * loss_o`` to minimise, and output
      name -> scalar **unweighted** batch-averaged loss, for logging.
    """
    spec = _check_spec(spec)
    losses = per_example_losses(
        outputs, batch, spec, normalize, foreground_threshold, empty_map_weight, background_ratio
    )
    per_output = {
        name: tf.nn.compute_average_loss(loss, global_batch_size=global_batch_size)
        for name, loss in losses.items()
    }
    total = tf.add_n([spec[name].weight * value for name, value in per_output.items()])
    return total, per_output


def keras_losses(
    spec: Mapping[str, Sequence],
    normalize: Normalize = "mean",
    foreground_threshold: float = 0.0,
    empty_map_weight: float | None = None,
    background_ratio: float = 1.0,
) -> tuple[dict[str, keras.losses.Loss], dict[str, float]]:
    """Keras losses for ``model.compile(loss=..., loss_weights=...)``, keyed by output name.

    The matching ``y`` for ``fit`` is :func:`packed_targets`.

    Returns:
      ``(losses, loss_weights)``: output name -> loss instance, output name -> weight.
    """
    losses, loss_weights = {}, {}
    for output_name, term in _check_spec(spec).items():
        options = {"normalize": normalize, "name": f"{output_name}_loss"}
        if term.kind == "fg_mse":
            options.update(
                foreground_threshold=foreground_threshold,
                empty_map_weight=empty_map_weight,
                background_ratio=background_ratio,
            )
        losses[output_name] = LOSS_CLASSES[term.kind](**options)
        loss_weights[output_name] = term.weight
    return losses, loss_weights


def packed_targets(
    batch: Mapping[str, tf.Tensor], spec: Mapping[str, Sequence]
) -> dict[str, tf.Tensor]:
    """Keras ``y`` for ``fit``: output name -> ``pack_target(heatmaps/<head>, weights/<head>)``.

    Reads ``heatmaps/<head>`` and ``weights/<head>`` for every head in ``spec``; works on a
    single example or a batch, so it can end a ``tf.data`` pipeline:
    ``dataset.map(lambda b: (b["image"], packed_targets(b, spec)))``.
    """
    return {
        output_name: pack_target(
            _lookup(batch, f"heatmaps/{term.head}", "batch"),
            _lookup(batch, f"weights/{term.head}", "batch"),
        )
        for output_name, term in _check_spec(spec).items()
    }
