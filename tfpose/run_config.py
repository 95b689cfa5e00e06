"""A training run's settings, as ``python -m tfpose.train`` takes them and writes them.

:class:`RunConfig` holds every setting of a run; training writes it, with the values it
resolved (skeleton, input size, stride, normalisation, ...), to ``flags.json`` next to the
model. Evaluation, export and inference read that record back with :func:`load_saved_run` and
:func:`saved_pipeline`, so they need only the model's path; this module imports nothing from
:mod:`tfpose.training`, so neither do they.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any

from tfpose.data import pipeline as pipeline_lib
from tfpose.models import families as families_lib
from tfpose.skeletons import get_skeleton

FLAGS_FILE = "flags.json"
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")


@dataclasses.dataclass
class RunConfig:
    """Everything a training run needs; field meanings match ``python -m tfpose.train --help``."""

    workdir: str
    records: str
    model: str = "recurrent"
    dataset: str = "synthetic"
    train_split: str = "train"
    val_split: str = "val"
    val_examples: int = 0
    val_flip_test: bool = False
    synthetic_examples: int = 0
    skeleton: str | None = None
    input_size: int | None = None
    width_multiplier: float | None = None
    num_passes: int | None = None
    kernel_init: str | None = None
    head_activation: str | None = None
    large_kernels: str | None = None
    limbs: bool = True
    backbone_weights: str | None = None
    occlusion_mode: str = "include"
    crop_convention: str | None = None
    scale_range: tuple[float, float] = (0.7, 1.3)
    scale_probability: float = 0.5
    rotation_max_deg: float = 40.0
    rotation_probability: float = 0.5
    flip_probability: float = 0.5
    center_jitter: float = 0.0
    color_scale: float = 0.0
    heatmap_sigma: float | None = None
    batch_size: int = 20
    stages: tuple[tuple[str, float], ...] = (("joint", 50.0),)
    end_to_end: bool = False
    schedule_unit: str = "epochs"
    optimizer: str = "sgd"
    learning_rates: tuple[float, ...] = (1e-3,)
    lr_boundaries: tuple[float, ...] = ()
    lr_schedule: str = "piecewise"
    warmup_steps: int = 0
    momentum: float = 0.9
    weight_decay: float = 0.0
    clipnorm: float | None = None
    pass_weights: tuple[float, ...] | None = None
    loss_reduction: str = "mean"
    heatmap_loss: str | None = None
    background_ratio: float = 1.0
    detection_weight: float = 1.0
    regression_weight: float = 1.0
    mixed_precision: str = "float32"
    xla: bool = False
    strategy: str = "default"
    checkpoint_every: int = 500
    eval_every: int = 0
    log_every: int = 50
    seed: int = 0
    deterministic: bool = False
    verbose: bool = True

    def validate(self) -> None:
        """Raises ``ValueError`` naming the flag and the problem."""
        # Training's own tables, imported here so that reading a saved run needs none of them.
        from tfpose import losses
        from tfpose.data import transforms
        from tfpose.models import MODELS
        from tfpose.training import optimizers
        from tfpose.training.trainer import STAGES

        if self.model not in MODELS:
            raise ValueError(f"--model={self.model}: unknown; choose one of {sorted(MODELS)}")
        if self.mixed_precision not in PRECISIONS:
            raise ValueError(
                f"--mixed_precision={self.mixed_precision}: choose one of {list(PRECISIONS)}"
            )
        if self.batch_size <= 0:
            raise ValueError(f"--batch_size must be positive, got {self.batch_size}")
        if len(self.scale_range) != 2 or not 0 < self.scale_range[0] <= self.scale_range[1]:
            raise ValueError(
                f"--scale_range must be two numbers 0 < low <= high, got {self.scale_range}"
            )
        if not self.stages:
            raise ValueError("--stages is empty")
        for name, length in self.stages:
            if name not in STAGES:
                raise ValueError(f"--stages: unknown stage {name!r}; stages are {STAGES}")
            if not length > 0:
                raise ValueError(f"--stages: stage {name!r} needs a positive length")
        family = families_lib.family_of(self.model)
        unusable = [n for n, _ in self.stages if n not in family.stages]
        if unusable:
            raise ValueError(
                f"--stages: the {family.name} family (--model={self.model}) has no "
                f"{'/'.join(unusable)} stage; its stages are {', '.join(family.stages)} "
                "(e.g. --stages=joint:LENGTH)"
            )
        if self.lr_schedule not in optimizers.LR_SCHEDULES:
            raise ValueError(
                f"--lr_schedule must be one of {list(optimizers.LR_SCHEDULES)}, "
                f"got {self.lr_schedule!r}"
            )
        if self.lr_schedule == "cosine":
            if self.lr_boundaries:
                raise ValueError("--lr_schedule=cosine takes no --lr_boundaries")
            optimizers.cosine_rates(self.learning_rates)
        elif self.warmup_steps:
            raise ValueError("--warmup_steps needs --lr_schedule=cosine")
        elif len(self.lr_boundaries) != len(self.learning_rates) - 1:
            raise ValueError(
                f"--learning_rates has {len(self.learning_rates)} values, so --lr_boundaries "
                f"needs {len(self.learning_rates) - 1}, got {len(self.lr_boundaries)}"
            )
        if self.crop_convention and self.crop_convention not in transforms.CROP_CONVENTIONS:
            raise ValueError(
                f"--crop_convention must be one of "
                f"{sorted(transforms.CROP_CONVENTIONS)}, got {self.crop_convention!r}"
            )
        if self.heatmap_loss and self.heatmap_loss not in ("fg_mse", "l2"):
            raise ValueError(f"--heatmap_loss must be fg_mse or l2, got {self.heatmap_loss!r}")
        if self.heatmap_sigma is not None and not self.heatmap_sigma > 0:
            raise ValueError(f"--heatmap_sigma must be positive, got {self.heatmap_sigma}")
        if not (math.isfinite(self.background_ratio) and self.background_ratio > 0):
            raise ValueError(
                f"--background_ratio must be a finite number > 0, got {self.background_ratio}"
            )
        if self.background_ratio != 1.0 and (
            not family.background_ratio or self.heatmap_loss == "l2"
        ):
            raise ValueError(
                "--background_ratio applies to the foreground-weighted MSE of the recurrent "
                f"models only (--model={self.model}, --heatmap_loss={self.heatmap_loss})"
            )
        if self.loss_reduction not in losses.NORMALIZE_MODES:
            raise ValueError(f"--loss_reduction must be one of {losses.NORMALIZE_MODES}")
        for name in ("checkpoint_every", "log_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"--{name} must be positive")


def load_saved_run(model_path: str) -> tuple[RunConfig, dict[str, Any]]:
    """The :class:`RunConfig` and resolved values saved next to a trained model (flags.json).

    Raises:
      FileNotFoundError: naming the missing flags.json.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "flags.json")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} not found: evaluate/export need the flags.json that training writes next "
            f"to {os.path.basename(model_path)}"
        )
    with open(path) as f:
        saved = json.load(f)
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    values = {k: v for k, v in saved.items() if k in fields}
    for key in ("scale_range", "stages", "learning_rates", "lr_boundaries", "pass_weights"):
        if values.get(key) is not None:
            values[key] = tuple(tuple(v) if isinstance(v, list) else v for v in values[key])
    return RunConfig(**values), saved


def saved_pipeline(model_path: str) -> tuple[pipeline_lib.PipelineConfig, Any, dict[str, Any]]:
    """``(pipeline config, skeleton, saved flags)`` of a trained model, for evaluation."""
    config, saved = load_saved_run(model_path)
    skeleton = get_skeleton(saved["skeleton"])
    pipe = families_lib.pipeline_config(
        config, skeleton, int(saved["input_size"]), int(saved["heatmap_stride"])
    )
    return pipe, skeleton, saved
