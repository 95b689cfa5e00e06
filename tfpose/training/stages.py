"""Staged schedules: which layers train and which loss terms count at each global step.

Bulat & Tzimiropoulos train their cascade in stages: the detector alone, then the regressor
with the detector frozen, then everything jointly; a single ``joint`` stage trains end to end.
:class:`tfpose.training.trainer.Trainer` runs a list of :class:`Stage` s, and a resumed run
finds its stage again from the global step (:func:`stage_at`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from tfpose import losses

STAGES = ("detector", "regressor", "joint")


@dataclasses.dataclass(frozen=True)
class Stage:
    """A contiguous range of global steps with one set of trainable layers and loss terms.

    Attributes:
      name: ``"detector"`` (only the detector trains, only first-stage losses), ``"regressor"``
        (detector frozen, only the regression loss) or ``"joint"`` (everything).
      steps: number of steps in this stage.
    """

    name: str
    steps: int

    def __post_init__(self) -> None:
        if self.name not in STAGES:
            raise ValueError(f"unknown stage {self.name!r}; stages are {', '.join(STAGES)}")
        if self.steps <= 0:
            raise ValueError(f"stage {self.name!r} must have a positive number of steps")


def stage_at(stages: Sequence[Stage], step: int) -> tuple[int, Stage]:
    """The index and stage that global ``step`` (0-based) belongs to."""
    end = 0
    for i, stage in enumerate(stages):
        end += stage.steps
        if step < end:
            return i, stage
    return len(stages) - 1, stages[-1]


def stage_loss_spec(
    spec: Mapping[str, losses.LossTerm], stage: str, first_stage_outputs: Sequence[str]
) -> dict[str, losses.LossTerm]:
    """The loss terms active in ``stage``: first-stage outputs only for ``detector``, the rest
    for ``regressor``, all for ``joint``."""
    if stage == "joint":
        return dict(spec)
    keep = (
        (lambda n: n in first_stage_outputs)
        if stage == "detector"
        else (lambda n: n not in first_stage_outputs)
    )
    selected = {name: term for name, term in spec.items() if keep(name)}
    if not selected:
        raise ValueError(f"stage {stage!r} has no loss term among outputs {sorted(spec)}")
    return selected
