r"""Trains a pose model: ``python -m tfpose.train --flagfile=configs/NAME.flags --workdir=DIR``.

Examples::

  # The quickstart: a small recurrent network on the built-in synthetic people (generated on
  # first use), about 10 minutes on 2 CPU cores.
  python -m tfpose.train --flagfile=configs/quickstart.flags --workdir=runs/quickstart

  # The recurrent network's MPII recipe (needs MPII records, see the message if absent).
  python -m tfpose.train --flagfile=configs/recurrent.flags --workdir=runs/recurrent

Re-running the same command resumes from the last checkpoint in ``--workdir``. The run writes
``model.keras``, ``best.keras``, ``flags.json``, ``history.csv``, ``metrics.json``, checkpoints
and TensorBoard logs there (see :mod:`tfpose.training.trainer`).

Progress goes to stderr: a bar with the loss and examples/s on a terminal; in a log file a line
every --log_every steps (``step 500/4500 [joint] loss 0.91 (11.3 ex/s) eta 1h02m``) and every
10 s between. TensorFlow's start-up messages are hidden; -v 0 shows them.
"""

from __future__ import annotations

import os

# TensorFlow's start-up messages are hidden by tfpose/console.py (python -m runs it first).
from absl import app, flags  # noqa: E402

from tfpose import cli  # noqa: E402
from tfpose.models import MODELS  # noqa: E402
from tfpose.models.recurrent import HEAD_ACTIVATIONS, KERNEL_INITS, LARGE_KERNELS  # noqa: E402
from tfpose.progress import write  # noqa: E402
from tfpose.training import optimizers  # noqa: E402
from tfpose.training import run as run_lib  # noqa: E402

flags.declare_key_flag("verbosity")  # listed by --help: -v 0 shows TensorFlow's messages

# Where and what.
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (created; re-use it to resume).")
_MODEL = flags.DEFINE_enum("model", "recurrent", sorted(MODELS), "Model family / variant.")
_DATASET = flags.DEFINE_string(
    "dataset", "synthetic", "Dataset name of the records (for messages and the convert command)."
)
_RECORDS = flags.DEFINE_string(
    "records", None, "Converted dataset folder (holds manifest.json); default data/DATASET."
)
_TRAIN_SPLIT = flags.DEFINE_string("train_split", "train", "Split to train on.")
_VAL_SPLIT = flags.DEFINE_string("val_split", "val", "Split to validate on ('' = none).")
_VAL_EXAMPLES = flags.DEFINE_integer(
    "val_examples", 0, "Validate on the first N examples of the split (0 = all)."
)
_VAL_FLIP_TEST = flags.DEFINE_bool(
    "val_flip_test",
    False,
    "Validate with the flip test (maps of the crop and its mirror averaged, as "
    "`python -m tfpose.evaluate --flip_test`); it also chooses best.keras, and is the model's "
    "recorded flip test (the default of python -m tfpose.predict and tfpose.export).",
)
_SYNTHETIC_EXAMPLES = flags.DEFINE_integer(
    "synthetic_examples",
    0,
    "If --records has no manifest and --dataset=synthetic, generate this many training examples "
    "there first (val and test get a tenth each).",
)
_SKELETON = flags.DEFINE_string(
    "skeleton", None, "Model skeleton (default: the records' skeleton); records are remapped."
)

# Model.
_INPUT_SIZE = flags.DEFINE_integer("input_size", None, "Crop side in pixels (default: paper's).")
_WIDTH = flags.DEFINE_float(
    "width_multiplier", None, "Scales every layer's channel count (default: the preset's)."
)
_NUM_PASSES = flags.DEFINE_integer(
    "num_passes",
    None,
    "Recurrent: applications of the shared recurrent module (the paper's T + 1: its final "
    "2-iteration model is 3); default: the preset's.",
)
_KERNEL_INIT = flags.DEFINE_enum(
    "kernel_init",
    None,
    list(KERNEL_INITS),
    "Recurrent: N(0, 0.01) as released ('paper', the default) or He-normal ('he').",
)
_HEAD_ACTIVATION = flags.DEFINE_enum(
    "head_activation",
    None,
    list(HEAD_ACTIVATIONS),
    "Recurrent: ReLU output heads as released ('relu', the default) or linear heads.",
)
_LARGE_KERNELS = flags.DEFINE_enum(
    "large_kernels",
    None,
    list(LARGE_KERNELS),
    "Recurrent: the 7x7/9x9/13x13 convolutions as released ('dense', the default), as 3x3 "
    "convolutions dilated to the same span ('dilated'), or only the feed-forward module's 9x9 "
    "ones dilated ('dilated_feedforward'); the dilated forms train about 1.5-1.9x faster on CPU.",
)
_LIMBS = flags.DEFINE_bool("limbs", True, "Recurrent: limb maps as extra outputs/targets.")
_BACKBONE_WEIGHTS = flags.DEFINE_string(
    "backbone_weights", None, "Cascades: None, 'imagenet' or a keras.applications weights file."
)

# Data and targets.
_OCCLUSION_MODE = flags.DEFINE_enum(
    "occlusion_mode", "include", ["include", "ignore", "exclude"], "Occluded joints in training."
)
_CROP = flags.DEFINE_enum(
    "crop_convention",
    None,
    ["bulat", "belagiannis", "wide"],
    "Person crop: 'bulat' (200·scale box), 'belagiannis' (300·scale box, random crop, grey "
    "padding) or 'wide' (250·scale box, as most MPII code); default: the model family's paper.",
)
_SCALE_RANGE = flags.DEFINE_list("scale_range", ["0.7", "1.3"], "Random scale range.")
_SCALE_PROB = flags.DEFINE_float("scale_probability", 0.5, "Probability of a random scale.")
_ROTATION = flags.DEFINE_float("rotation_max_deg", 40.0, "Random rotation range (±degrees).")
_ROTATION_PROB = flags.DEFINE_float("rotation_probability", 0.5, "Probability of rotating.")
_FLIP_PROB = flags.DEFINE_float("flip_probability", 0.5, "Probability of a horizontal flip.")
_JITTER = flags.DEFINE_float("center_jitter", 0.0, "Centre jitter, fraction of the box.")
_COLOR = flags.DEFINE_float("color_scale", 0.0, "Per-channel colour jitter (±fraction).")
_SIGMA = flags.DEFINE_float(
    "heatmap_sigma",
    None,
    "Keypoint Gaussian σ of the targets, in the preset's units: heatmap pixels for the "
    "recurrent models (paper 1.3), pixels per 200 px of person for the cascades (paper 5).",
)

# Schedule and optimisation.
_BATCH = flags.DEFINE_integer("batch_size", 20, "Global batch size.")
_STAGES = flags.DEFINE_list(
    "stages",
    ["joint:50"],
    "Comma list of STAGE:LENGTH, STAGE in detector|regressor|joint, LENGTH in --schedule_unit.",
)
_END_TO_END = flags.DEFINE_bool(
    "end_to_end", False, "Cascades: train everything from the start (one joint stage)."
)
_UNIT = flags.DEFINE_enum("schedule_unit", "epochs", ["epochs", "steps"], "Unit of lengths.")
_OPTIMIZER = flags.DEFINE_enum("optimizer", "sgd", ["sgd", "rmsprop", "adam"], "Optimizer.")
_LRS = flags.DEFINE_list("learning_rates", ["1e-3"], "Piecewise-constant learning rates.")
_LR_BOUNDARIES = flags.DEFINE_list(
    "lr_boundaries", [], "Where each next rate starts, in --schedule_unit (one fewer than rates)."
)
_LR_SCHEDULE = flags.DEFINE_enum(
    "lr_schedule",
    "piecewise",
    list(optimizers.LR_SCHEDULES),
    "piecewise: --learning_rates change at --lr_boundaries. cosine: a linear warm-up over "
    "--warmup_steps, then a cosine decay from --learning_rates=PEAK[,FINAL] to FINAL (default 0) "
    "at the last step.",
)
_WARMUP = flags.DEFINE_integer("warmup_steps", 0, "Cosine schedule: steps of linear warm-up.")
_MOMENTUM = flags.DEFINE_float("momentum", 0.9, "SGD momentum.")
_WEIGHT_DECAY = flags.DEFINE_float("weight_decay", 0.0, "Decoupled weight decay.")
_CLIPNORM = flags.DEFINE_float("clipnorm", None, "Clip each gradient to this norm.")
_PASS_WEIGHTS = flags.DEFINE_list("pass_weights", None, "Recurrent: loss weight of each pass.")
_LOSS_REDUCTION = flags.DEFINE_enum(
    "loss_reduction",
    "mean",
    ["mean", "sum"],
    "Per-example loss: mean over pixels and channels, or their sum (the papers' Caffe/MatConvNet "
    "scale, with which their learning rates apply unchanged).",
)
_HEATMAP_LOSS = flags.DEFINE_enum(
    "heatmap_loss",
    None,
    ["fg_mse", "l2"],
    "Recurrent: the paper's foreground-weighted MSE ('fg_mse', default) or plain masked L2.",
)
_BACKGROUND_RATIO = flags.DEFINE_float(
    "background_ratio",
    1.0,
    "Foreground-weighted MSE (recurrent): per map, the background's total loss weight over the "
    "foreground's. 1 = the paper (equal); larger values make false responses (a left wrist map "
    "firing on the right wrist) cost more.",
)
_DETECTION_WEIGHT = flags.DEFINE_float("detection_weight", 1.0, "Cascades: detector loss weight.")
_REGRESSION_WEIGHT = flags.DEFINE_float("regression_weight", 1.0, "Cascades: regression weight.")

# Hardware.
_PRECISION = flags.DEFINE_enum(
    "mixed_precision",
    "float32",
    list(run_lib.PRECISIONS),
    "Dtype policy; 'auto' = mixed_bfloat16 where the GPU or CPU computes bfloat16 natively.",
)
_XLA = flags.DEFINE_bool("xla", False, "Compile the train step with XLA.")
_STRATEGY = flags.DEFINE_enum(
    "strategy",
    "default",
    ["default", "mirrored", "multi_worker"],
    "tf.distribute strategy; multi_worker reads TF_CONFIG.",
)

# Bookkeeping.
_CHECKPOINT_EVERY = flags.DEFINE_integer("checkpoint_every", 500, "Steps between checkpoints.")
_EVAL_EVERY = flags.DEFINE_integer("eval_every", 0, "Steps between validations (0: at the end).")
_LOG_EVERY = flags.DEFINE_integer("log_every", 50, "Steps between log lines / history rows.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of initialisation, shuffling and augmentation.")
_DETERMINISTIC = flags.DEFINE_bool(
    "deterministic",
    False,
    "Deterministic ops and input order; a resumed run replays the batches an uninterrupted run "
    "would have seen, so it ends with the same weights (slower: no parallel reordering, and a "
    "resume re-reads the batches it skips).",
)


def _floats(values: list[str] | None, flag: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    try:
        return tuple(float(v) for v in values)
    except ValueError:
        raise app.UsageError(f"--{flag} must be a comma list of numbers, got {values}") from None


def config_from_flags() -> run_lib.RunConfig:
    """The :class:`RunConfig` that the command line describes."""
    try:
        stages = run_lib.parse_stages(_STAGES.value)
    except ValueError as e:
        raise app.UsageError(str(e)) from None
    return run_lib.RunConfig(
        workdir=_WORKDIR.value,
        records=_RECORDS.value or os.path.join("data", _DATASET.value),
        model=_MODEL.value,
        dataset=_DATASET.value,
        train_split=_TRAIN_SPLIT.value,
        val_split=_VAL_SPLIT.value,
        val_examples=_VAL_EXAMPLES.value,
        val_flip_test=_VAL_FLIP_TEST.value,
        synthetic_examples=_SYNTHETIC_EXAMPLES.value,
        skeleton=_SKELETON.value,
        input_size=_INPUT_SIZE.value,
        width_multiplier=_WIDTH.value,
        num_passes=_NUM_PASSES.value,
        kernel_init=_KERNEL_INIT.value,
        head_activation=_HEAD_ACTIVATION.value,
        large_kernels=_LARGE_KERNELS.value,
        limbs=_LIMBS.value,
        backbone_weights=_BACKBONE_WEIGHTS.value,
        occlusion_mode=_OCCLUSION_MODE.value,
        crop_convention=_CROP.value,
        scale_range=_floats(_SCALE_RANGE.value, "scale_range"),
        scale_probability=_SCALE_PROB.value,
        rotation_max_deg=_ROTATION.value,
        rotation_probability=_ROTATION_PROB.value,
        flip_probability=_FLIP_PROB.value,
        center_jitter=_JITTER.value,
        color_scale=_COLOR.value,
        heatmap_sigma=_SIGMA.value,
        batch_size=_BATCH.value,
        stages=stages,
        end_to_end=_END_TO_END.value,
        schedule_unit=_UNIT.value,
        optimizer=_OPTIMIZER.value,
        learning_rates=_floats(_LRS.value, "learning_rates"),
        lr_boundaries=_floats(_LR_BOUNDARIES.value, "lr_boundaries"),
        lr_schedule=_LR_SCHEDULE.value,
        warmup_steps=_WARMUP.value,
        momentum=_MOMENTUM.value,
        weight_decay=_WEIGHT_DECAY.value,
        clipnorm=_CLIPNORM.value,
        pass_weights=_floats(_PASS_WEIGHTS.value, "pass_weights"),
        loss_reduction=_LOSS_REDUCTION.value,
        heatmap_loss=_HEATMAP_LOSS.value,
        background_ratio=_BACKGROUND_RATIO.value,
        detection_weight=_DETECTION_WEIGHT.value,
        regression_weight=_REGRESSION_WEIGHT.value,
        mixed_precision=_PRECISION.value,
        xla=_XLA.value,
        strategy=_STRATEGY.value,
        checkpoint_every=_CHECKPOINT_EVERY.value,
        eval_every=_EVAL_EVERY.value,
        log_every=_LOG_EVERY.value,
        seed=_SEED.value,
        deterministic=_DETERMINISTIC.value,
    )


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not _WORKDIR.value:
        raise app.UsageError("--workdir is required")
    config = config_from_flags()
    write(f"training {config.model} in {config.workdir}: reading the records, building the model")
    try:
        summary = run_lib.train(config)
    except run_lib.USER_ERRORS as e:
        cli.fail(cli.message_of(e))
    validation = summary.get("validation") or {}
    score = validation.get(summary["select_metric"])
    line = f"done: {summary['steps']} steps; model at {os.path.join(_WORKDIR.value, 'model.keras')}"
    if score is not None:
        line += f"; validation {summary['select_metric']} {score:.2f}"
    print(line)


if __name__ == "__main__":
    cli.run(main)  # errors in one line, without absl's usage text
