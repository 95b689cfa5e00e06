"""Optimizers and learning-rate schedules of the two papers, as Keras 3 objects.

* Belagiannis & Zisserman: SGD, momentum 0.95, weight decay 5e-4, piecewise-constant LR.
* Bulat & Tzimiropoulos: RMSprop for the residual detector, SGD for the VGG-FCN, piecewise LR.
* Adam is offered because it is what most people fine-tune with today.

Learning rates in the papers are in Caffe's / MatConvNet's *summed* loss scale; tfpose's losses
are means over pixels and channels (see ``docs/losses.md``), so the paper values are not copied
verbatim into the configs: each config says which value it uses and why.

Keras 3 applies ``weight_decay`` decoupled (``w -= lr · wd · w`` each step, AdamW-style), which
for SGD equals an L2 penalty of ``wd / 2 · ‖w‖²`` up to the momentum term's handling.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

OPTIMIZERS = ("sgd", "rmsprop", "adam")


def piecewise_schedule(
    learning_rates: Sequence[float], boundaries: Sequence[int]
) -> keras.optimizers.schedules.LearningRateSchedule | float:
    """A piecewise-constant schedule: ``learning_rates[i]`` until step ``boundaries[i]``.

    Args:
      learning_rates: n values.
      boundaries: n − 1 increasing global steps.

    Raises:
      ValueError: on length mismatch, non-increasing boundaries or non-positive rates.
    """
    rates = [float(r) for r in learning_rates]
    steps = [int(b) for b in boundaries]
    if not rates or any(not r > 0 for r in rates):
        raise ValueError(f"learning rates must be positive numbers, got {list(learning_rates)}")
    if len(steps) != len(rates) - 1:
        raise ValueError(
            f"{len(rates)} learning rates need {len(rates) - 1} boundaries, got {len(steps)}"
        )
    if any(b <= a for a, b in zip(steps, steps[1:], strict=False)) or any(s <= 0 for s in steps):
        raise ValueError(f"learning-rate boundaries must be positive and increasing, got {steps}")
    if len(rates) == 1:
        return rates[0]
    return keras.optimizers.schedules.PiecewiseConstantDecay(steps, rates)


LR_SCHEDULES = ("piecewise", "cosine")


def cosine_rates(learning_rates: Sequence[float]) -> tuple[float, float]:
    """``(peak, final)`` of ``--learning_rates=PEAK[,FINAL]`` for the cosine schedule.

    Raises:
      ValueError: naming the flag, unless ``peak > 0`` and ``0 <= final < peak``.
    """
    rates = [float(r) for r in learning_rates]
    if len(rates) not in (1, 2) or not rates[0] > 0:
        raise ValueError(
            "--lr_schedule=cosine takes --learning_rates=PEAK or PEAK,FINAL with PEAK > 0, "
            f"got {list(learning_rates)}"
        )
    final = rates[1] if len(rates) == 2 else 0.0
    if not 0 <= final < rates[0]:
        raise ValueError(
            f"--lr_schedule=cosine: the final rate must be in [0, peak), got {list(learning_rates)}"
        )
    return rates[0], final


def cosine_schedule(
    learning_rates: Sequence[float], total_steps: int, warmup_steps: int = 0
) -> keras.optimizers.schedules.LearningRateSchedule:
    """A linear warm-up from 0 to the peak, then a cosine decay to the final rate.

    Args:
      learning_rates: ``[peak]`` (decays to 0) or ``[peak, final]`` with ``final < peak``.
      total_steps: steps of the whole run, warm-up included; the rate stays at ``final`` after.
      warmup_steps: steps of the linear warm-up, ``0 <= warmup_steps < total_steps``.

    Raises:
      ValueError: naming the flag at fault.
    """
    peak, final = cosine_rates(learning_rates)
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"--warmup_steps must be in [0, {total_steps}) (the run's steps), got {warmup_steps}"
        )
    alpha = final / peak
    if not warmup_steps:
        return keras.optimizers.schedules.CosineDecay(peak, total_steps, alpha=alpha)
    return keras.optimizers.schedules.CosineDecay(
        0.0,
        total_steps - warmup_steps,
        alpha=alpha,
        warmup_target=peak,
        warmup_steps=warmup_steps,
    )


def make_optimizer(
    name: str,
    learning_rate: keras.optimizers.schedules.LearningRateSchedule | float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    clipnorm: float | None = None,
    mixed_float16: bool = False,
) -> keras.optimizers.Optimizer:
    """Builds one of :data:`OPTIMIZERS`.

    Args:
      name: ``"sgd"`` (with ``momentum``), ``"rmsprop"`` or ``"adam"``.
      learning_rate: a float or schedule of the global step.
      momentum: SGD momentum (0.95 in the recurrent paper).
      weight_decay: decoupled weight decay (5e-4 in the recurrent paper); 0 disables it.
      clipnorm: clip each gradient to this norm; None disables clipping.
      mixed_float16: wrap in a ``LossScaleOptimizer`` (needed for float16, not bfloat16).
    """
    common = {"learning_rate": learning_rate, "clipnorm": clipnorm}
    if weight_decay:
        common["weight_decay"] = weight_decay
    if name == "sgd":
        optimizer = keras.optimizers.SGD(momentum=momentum, **common)
    elif name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(**common)
    elif name == "adam":
        optimizer = keras.optimizers.Adam(**common)
    else:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if mixed_float16:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
