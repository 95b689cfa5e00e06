"""The per-pixel heatmap losses of the two methods, as functions of (target, prediction, weight).

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
classes (:mod:`tfpose.losses.packed`), and by :func:`tfpose.losses.specs.total_loss` with
``tf.nn.compute_average_loss`` so that under a ``tf.distribute`` strategy every replica divides
by the *global* batch size.
"""

from __future__ import annotations

import math
from typing import Literal

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
    return target, prediction, broadcast_weight(weight, target)


def broadcast_weight(weight: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """``weight`` broadcast to ``target``'s shape; ValueError naming both shapes if it cannot."""
    try:
        tf.broadcast_static_shape(weight.shape, target.shape)
    except ValueError as error:
        raise ValueError(
            f"weight of shape {weight.shape} does not broadcast to the target's {target.shape}"
        ) from error
    return tf.broadcast_to(weight, tf.shape(target))


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
