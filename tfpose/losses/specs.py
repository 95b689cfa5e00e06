"""How the outputs of a model are tied to its targets: loss terms, the papers' specs, totals.

A spec maps each model output to a :class:`LossTerm` (loss kind, target head, weight); the
batch holds ``heatmaps/<head>`` and ``weights/<head>`` for every head. :func:`total_loss`
(the training loop's loss) averages each term over the batch with
``tf.nn.compute_average_loss``, so that under a ``tf.distribute`` strategy every replica divides
by the *global* batch size; :func:`keras_losses` and :func:`packed_targets` give the same
losses to ``model.compile`` / ``fit``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import keras
import tensorflow as tf

from tfpose.losses import functions, packed
from tfpose.losses.functions import Normalize

# Loss kinds a spec may name: the per-example function and its Keras class.
LOSS_FUNCTIONS: dict[str, Callable[..., tf.Tensor]] = {
    "sigmoid_xent": functions.sigmoid_cross_entropy,
    "l2": functions.masked_l2,
    "fg_mse": functions.foreground_weighted_mse,
}
LOSS_CLASSES: dict[str, type[packed._PackedHeatmapLoss]] = {
    "sigmoid_xent": packed.SigmoidCrossEntropy,
    "l2": packed.MaskedL2,
    "fg_mse": packed.ForegroundWeightedMSE,
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
        output_name: packed.pack_target(
            _lookup(batch, f"heatmaps/{term.head}", "batch"),
            _lookup(batch, f"weights/{term.head}", "batch"),
        )
        for output_name, term in _check_spec(spec).items()
    }
