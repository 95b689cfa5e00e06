"""A training run's settings, as ``python -m tfpose.train`` takes them and writes them.

:class:`RunConfig` holds every setting of a run, and each of its fields is a flag of
``python -m tfpose.train`` (type, default and help text written here). Training records the
settings with the values it resolved (skeleton, input size, stride, normalisation, ...) inside
every ``.keras`` file it saves (the entry ``tfpose_run.json``: :func:`write_run_record`), and
as ``flags.json`` next to it for people to read. Evaluation, export and inference read the
record back with :func:`load_saved_run` and :func:`saved_pipeline` (from inside the model,
else from the ``flags.json`` beside it), so they need only the model's path; this module
imports nothing from :mod:`tfpose.training`, so neither do they.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
import zipfile
from typing import Any

from tfpose.data import pipeline as pipeline_lib
from tfpose.models import MODELS
from tfpose.models import families as families_lib
from tfpose.models.recurrent import HEAD_ACTIVATIONS, KERNEL_INITS, LARGE_KERNELS
from tfpose.skeletons import get_skeleton

FLAGS_FILE = "flags.json"
# The same record inside every .keras file training saves (a zip archive entry).
RUN_ENTRY = "tfpose_run.json"
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")


def _lr_schedules() -> list[str]:
    from tfpose.training import optimizers  # training's table, read when the flags are made

    return list(optimizers.LR_SCHEDULES)


def _setting(default: Any = dataclasses.MISSING, help: str = "", **flag: Any) -> Any:
    """A :class:`RunConfig` field that is a ``python -m tfpose.train`` flag.

    ``help`` is the flag's help text. ``flag`` may hold ``choices`` (an enum flag; a sequence,
    or a function returning one, called when the flags are defined) and ``parse`` (turns the
    flag's comma list into the value; raises ``ValueError``). The flag's kind follows the
    field's type: str, int, float, bool, or a tuple (a comma list).
    """
    return dataclasses.field(default=default, metadata={"help": help, **flag})


def parse_positive_ints(entries: list[str]) -> tuple[int, ...]:
    """``["128", "64"]`` -> ``(128, 64)``; raises ``ValueError`` naming the bad entry."""
    values = []
    for text in entries:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise ValueError(f"--decoder_channels entry {text!r} must be a positive integer")
        values.append(value)
    return tuple(values)


def parse_stages(entries: list[str]) -> tuple[tuple[str, float], ...]:
    """``["detector:10", "joint:40"]`` -> ``(("detector", 10.0), ("joint", 40.0))``."""
    return tuple(_parse_stage(e) for e in entries)


def _parse_stage(text: str) -> tuple[str, float]:
    name, sep, length = text.partition(":")
    if not sep:
        raise ValueError(f"--stages entry {text!r} must look like NAME:LENGTH, e.g. joint:50")
    try:
        return name.strip(), float(length)
    except ValueError:
        raise ValueError(f"--stages entry {text!r}: {length!r} is not a number") from None


@dataclasses.dataclass
class RunConfig:
    """Everything a training run needs.

    Every field but ``verbose`` is a ``python -m tfpose.train`` flag of the same name, made
    from the field (:func:`tfpose.train.define_flags`): its type, default and the help text in
    its metadata (``dataclasses.fields(RunConfig)[i].metadata["help"]``).
    """

    # Where and what.
    workdir: str = _setting(help="Run directory (created; re-use it to resume).")
    records: str = _setting(
        help="Converted dataset folder (holds manifest.json); default data/DATASET."
    )
    model: str = _setting("recurrent", "Model family / variant.", choices=sorted(MODELS))
    dataset: str = _setting(
        "synthetic", "Dataset name of the records (for messages and the convert command)."
    )
    train_split: str = _setting("train", "Split to train on.")
    val_split: str = _setting("val", "Split to validate on ('' = none).")
    val_examples: int = _setting(0, "Validate on the first N examples of the split (0 = all).")
    val_flip_test: bool = _setting(
        False,
        "Validate with the flip test (maps of the crop and its mirror averaged, as "
        "`python -m tfpose.evaluate --flip_test`); it also chooses best.keras, and is the model's "
        "recorded flip test (the default of python -m tfpose.predict and tfpose.export).",
    )
    synthetic_examples: int = _setting(
        0,
        "If --records has no manifest and --dataset=synthetic, generate this many training "
        "examples there first (val and test get a tenth each).",
    )
    skeleton: str | None = _setting(
        None, "Model skeleton (default: the records' skeleton); records are remapped."
    )

    # Model.
    input_size: int | None = _setting(None, "Crop side in pixels (default: paper's).")
    width_multiplier: float | None = _setting(
        None, "Scales every layer's channel count (default: the preset's)."
    )
    num_passes: int | None = _setting(
        None,
        "Recurrent: applications of the shared recurrent module (the paper's T + 1: its final "
        "2-iteration model is 3); default: the preset's.",
    )
    kernel_init: str | None = _setting(
        None,
        "Recurrent: N(0, 0.01) as released ('paper', the default) or He-normal ('he').",
        choices=KERNEL_INITS,
    )
    head_activation: str | None = _setting(
        None,
        "Recurrent: ReLU output heads as released ('relu', the default) or linear heads.",
        choices=HEAD_ACTIVATIONS,
    )
    large_kernels: str | None = _setting(
        None,
        "Recurrent: the 7x7/9x9/13x13 convolutions as released ('dense', the default), as 3x3 "
        "convolutions dilated to the same span ('dilated'), or only the feed-forward module's "
        "9x9 ones dilated ('dilated_feedforward'); the dilated forms train about 1.5-1.9x faster "
        "on CPU.",
        choices=LARGE_KERNELS,
    )
    limbs: bool = _setting(True, "Recurrent: limb maps as extra outputs/targets.")
    backbone_weights: str | None = _setting(
        None, "Cascades: None, 'imagenet' or a keras.applications weights file."
    )
    frozen_backbone_stride: int | None = _setting(
        None,
        "Recurrent on a pretrained backbone: do not train the backbone's stem and blocks up to "
        "this stride's output (0: train them all, the default); 8 makes a 128-px MobileNetV2 "
        "step about 1.4x faster on CPU.",
        choices=(0, 4, 8, 16, 32),
    )
    decoder_channels: tuple[int, ...] | None = _setting(
        None,
        "Recurrent on a pretrained backbone: output channels of the decoder's three transposed "
        "convolutions, e.g. 128,128,64 (default: 256 x width each); the last one, at stride 4, "
        "is most of the decoder's cost.",
        parse=parse_positive_ints,
    )

    # Data and targets.
    occlusion_mode: str = _setting(
        "include", "Occluded joints in training.", choices=("include", "ignore", "exclude")
    )
    crop_convention: str | None = _setting(
        None,
        "Person crop: 'bulat' (200·scale box), 'belagiannis' (300·scale box, random crop, grey "
        "padding) or 'wide' (250·scale box, as most MPII code); default: the model family's "
        "paper.",
        choices=("bulat", "belagiannis", "wide"),
    )
    scale_range: tuple[float, float] = _setting((0.7, 1.3), "Random scale range.")
    scale_probability: float = _setting(0.5, "Probability of a random scale.")
    rotation_max_deg: float = _setting(40.0, "Random rotation range (±degrees).")
    rotation_probability: float = _setting(0.5, "Probability of rotating.")
    flip_probability: float = _setting(0.5, "Probability of a horizontal flip.")
    center_jitter: float = _setting(0.0, "Centre jitter, fraction of the box.")
    color_scale: float = _setting(0.0, "Per-channel colour jitter (±fraction).")
    heatmap_sigma: float | None = _setting(
        None,
        "Keypoint Gaussian σ of the targets, in the preset's units: heatmap pixels for the "
        "recurrent models (paper 1.3), pixels per 200 px of person for the cascades (paper 5).",
    )

    # Schedule and optimisation.
    batch_size: int = _setting(20, "Global batch size.")
    stages: tuple[tuple[str, float], ...] = _setting(
        (("joint", 50.0),),
        "Comma list of STAGE:LENGTH, STAGE in detector|regressor|joint, LENGTH in --schedule_unit.",
        parse=parse_stages,
    )
    end_to_end: bool = _setting(
        False, "Cascades: train everything from the start (one joint stage)."
    )
    schedule_unit: str = _setting("epochs", "Unit of lengths.", choices=("epochs", "steps"))
    optimizer: str = _setting("sgd", "Optimizer.", choices=("sgd", "rmsprop", "adam"))
    learning_rates: tuple[float, ...] = _setting((1e-3,), "Piecewise-constant learning rates.")
    lr_boundaries: tuple[float, ...] = _setting(
        (), "Where each next rate starts, in --schedule_unit (one fewer than rates)."
    )
    lr_schedule: str = _setting(
        "piecewise",
        "piecewise: --learning_rates change at --lr_boundaries. cosine: a linear warm-up over "
        "--warmup_steps, then a cosine decay from --learning_rates=PEAK[,FINAL] to FINAL "
        "(default 0) at the last step.",
        choices=_lr_schedules,
    )
    warmup_steps: int = _setting(0, "Cosine schedule: steps of linear warm-up.")
    momentum: float = _setting(0.9, "SGD momentum.")
    weight_decay: float = _setting(0.0, "Decoupled weight decay.")
    clipnorm: float | None = _setting(None, "Clip each gradient to this norm.")
    pass_weights: tuple[float, ...] | None = _setting(None, "Recurrent: loss weight of each pass.")
    loss_reduction: str = _setting(
        "mean",
        "Per-example loss: mean over pixels and channels, or their sum (the papers' "
        "Caffe/MatConvNet scale, with which their learning rates apply unchanged).",
        choices=("mean", "sum"),
    )
    heatmap_loss: str | None = _setting(
        None,
        "Recurrent: the paper's foreground-weighted MSE ('fg_mse', default) or plain masked L2.",
        choices=("fg_mse", "l2"),
    )
    background_ratio: float = _setting(
        1.0,
        "Foreground-weighted MSE (recurrent): per map, the background's total loss weight over "
        "the foreground's. 1 = the paper (equal); larger values make false responses (a left "
        "wrist map firing on the right wrist) cost more.",
    )
    detection_weight: float = _setting(1.0, "Cascades: detector loss weight.")
    regression_weight: float = _setting(1.0, "Cascades: regression weight.")

    # Hardware.
    mixed_precision: str = _setting(
        "float32",
        "Dtype policy; 'auto' = mixed_bfloat16 where the GPU or CPU computes bfloat16 natively.",
        choices=PRECISIONS,
    )
    xla: bool = _setting(False, "Compile the train step with XLA.")
    strategy: str = _setting(
        "default",
        "tf.distribute strategy; multi_worker reads TF_CONFIG.",
        choices=("default", "mirrored", "multi_worker"),
    )

    # Bookkeeping.
    checkpoint_every: int = _setting(500, "Steps between checkpoints.")
    eval_every: int = _setting(0, "Steps between validations (0: at the end).")
    log_every: int = _setting(50, "Steps between log lines / history rows.")
    seed: int = _setting(0, "Seed of initialisation, shuffling and augmentation.")
    deterministic: bool = _setting(
        False,
        "Deterministic ops and input order; a resumed run replays the batches an uninterrupted "
        "run would have seen, so it ends with the same weights (slower: no parallel "
        "reordering, and a resume re-reads the batches it skips).",
    )

    # Not a flag: the CLI always shows progress.
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


def write_run_record(model_path: str, record: dict[str, Any]) -> None:
    """Stores ``record`` (what ``flags.json`` holds) inside the ``.keras`` file ``model_path``.

    A ``.keras`` file is a zip archive; the record becomes its entry :data:`RUN_ENTRY`, which
    ``keras.models.load_model`` ignores. A record already there is replaced.
    """
    text = json.dumps(record, indent=2, default=list)
    with zipfile.ZipFile(model_path) as archive:
        present = RUN_ENTRY in archive.namelist()
    if not present:
        with zipfile.ZipFile(model_path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(RUN_ENTRY, text)
        return
    tmp = f"{model_path}.{os.getpid()}.tmp"
    try:
        with zipfile.ZipFile(model_path) as source, zipfile.ZipFile(tmp, "w") as target:
            for info in source.infolist():
                if info.filename != RUN_ENTRY:
                    target.writestr(info, source.read(info))
            target.writestr(RUN_ENTRY, text, compress_type=zipfile.ZIP_DEFLATED)
        os.replace(tmp, model_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def field_kind(annotation: Any) -> Any:
    """The kind of value a :class:`RunConfig` field holds: ``int | None`` -> ``int``,
    ``tuple[float, ...]`` -> ``tuple`` (its flag's kind, and how a JSON record is read back)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) and len(args) == 1:
        return field_kind(args[0])
    return typing.get_origin(annotation) or annotation


def field_kinds() -> dict[str, Any]:
    """``{field name: field_kind}`` of every :class:`RunConfig` field."""
    hints = typing.get_type_hints(RunConfig)
    return {f.name: field_kind(hints[f.name]) for f in dataclasses.fields(RunConfig)}


def read_run_record(model_path: str) -> dict[str, Any] | None:
    """The record stored inside a ``.keras`` file by :func:`write_run_record`; None when it
    holds none (models saved before it existed, or not a ``.keras`` archive)."""
    try:
        with zipfile.ZipFile(model_path) as archive:
            if RUN_ENTRY not in archive.namelist():
                return None
            return json.loads(archive.read(RUN_ENTRY))
    except (OSError, zipfile.BadZipFile):
        return None


def load_saved_run(model_path: str) -> tuple[RunConfig, dict[str, Any]]:
    """The :class:`RunConfig` and resolved values a trained model was saved with: the record
    inside the ``.keras`` file (:data:`RUN_ENTRY`), else the ``flags.json`` next to it (models
    saved before the record, such as the shipped ones).

    Raises:
      FileNotFoundError: naming the missing flags.json.
    """
    saved = read_run_record(model_path)
    if saved is None:
        path = os.path.join(os.path.dirname(os.path.abspath(model_path)), FLAGS_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} not found: evaluate/export need the flags.json that training writes "
                f"next to {os.path.basename(model_path)} (the model holds no {RUN_ENTRY} "
                "either)"
            )
        with open(path) as f:
            saved = json.load(f)
    kinds = field_kinds()
    values = {k: v for k, v in saved.items() if k in kinds}
    for key, value in values.items():
        if kinds[key] is tuple and value is not None:  # JSON gave lists
            values[key] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return RunConfig(**values), saved


def saved_pipeline(model_path: str) -> tuple[pipeline_lib.PipelineConfig, Any, dict[str, Any]]:
    """``(pipeline config, skeleton, saved flags)`` of a trained model, for evaluation."""
    config, saved = load_saved_run(model_path)
    return (*pipeline_of(config, saved), saved)


def pipeline_of(
    config: RunConfig, saved: dict[str, Any]
) -> tuple[pipeline_lib.PipelineConfig, Any]:
    """``(pipeline config, skeleton)`` of a run record read by :func:`load_saved_run`."""
    skeleton = get_skeleton(saved["skeleton"])
    pipe = families_lib.pipeline_config(
        config, skeleton, int(saved["input_size"]), int(saved["heatmap_stride"])
    )
    return pipe, skeleton
