"""One training run from a flat :class:`RunConfig`: records, pipeline, model, losses, loop.

``python -m tfpose.train`` builds a :class:`RunConfig` from its flags and calls :func:`train`;
tests call :func:`train` directly. The resolved configuration is written into every ``.keras``
file the run saves (the trainer's ``on_model_saved`` hook) and to ``WORKDIR/flags.json``, so that
evaluate/export/predict need only the model path.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any

import keras
import tensorflow as tf

from tfpose import drawing, losses
from tfpose.data import pipeline, records
from tfpose.models import MODELS
from tfpose.models import families as families_lib

# Re-exported: training's callers (and older code) find them here.
from tfpose.models.families import loss_spec, pipeline_config  # noqa: F401
from tfpose.run_config import (  # noqa: F401
    FLAGS_FILE,
    PRECISIONS,
    RunConfig,
    load_saved_run,
    parse_stages,
    saved_pipeline,
    write_run_record,
)
from tfpose.skeletons import get_skeleton
from tfpose.training import optimizers
from tfpose.training.trainer import (
    PeerFailedError,
    Stage,
    Trainer,
    TrainerConfig,
    TrainingDivergedError,
    WorkdirError,
    check_writable,
)


class DamagedRecordsError(ValueError):
    """Training stopped on records that do not read, parse, validate or decode."""


# Errors that are the user's to fix: the CLI prints them without a traceback.
USER_ERRORS = (
    FileNotFoundError,
    ValueError,
    KeyError,
    TrainingDivergedError,
    WorkdirError,
    PeerFailedError,
)


# ---------------------------------------------------------------------------- records


def ensure_records(config: RunConfig) -> records.Manifest:
    """The run's manifest; generates the synthetic set on first use, else explains what to do."""
    manifest_path = os.path.join(config.records, records.MANIFEST_NAME)
    if not os.path.exists(manifest_path):
        if config.dataset == "synthetic" and config.synthetic_examples > 0:
            from tfpose.data.conversion import convert  # generation is needed only here

            print(
                f"generating {config.synthetic_examples} synthetic training examples in "
                f"{config.records} (first use)",
                file=sys.stderr,
                flush=True,
            )
            convert("synthetic", config.records, num_examples=config.synthetic_examples)
        elif config.dataset == "synthetic":
            raise FileNotFoundError(
                f"no training records: {manifest_path} does not exist; generate them with "
                "`python -m tfpose.data.convert --dataset=synthetic --num_examples=10000 "
                f"--output_dir={config.records}` or pass --synthetic_examples=N to generate them "
                "on first use"
            )
        else:
            from tfpose.data import sources

            raise FileNotFoundError(
                f"no training records: {manifest_path} does not exist; make them with "
                f"`{sources.convert_command(config.dataset, config.records)}` after downloading "
                f"{sources.DOWNLOADS.get(config.dataset, 'the dataset')} (docs/training.md, "
                "'Datasets')"
            )
    manifest = records.Manifest.load(config.records)
    manifest.files(config.train_split)  # raises naming missing shard files
    if manifest.num_examples(config.train_split) == 0:
        raise ValueError(f"{manifest.path}: split {config.train_split!r} is empty")
    if config.val_split:
        manifest.files(config.val_split)
        if manifest.num_examples(config.val_split) == 0:
            raise ValueError(
                f"{manifest.path}: split {config.val_split!r} is empty; name another with "
                "--val_split, or --val_split= to train without validation"
            )
    return manifest


# ---------------------------------------------------------------------------- pieces


def align_heads_with_outputs(
    pipe: pipeline.PipelineConfig, spec: dict[str, losses.LossTerm], model: keras.Model
) -> tuple[pipeline.PipelineConfig, dict[str, losses.LossTerm]]:
    """Gives every loss term targets at its output's stride.

    Outputs of one model can have different strides (the residual cascade's detector is at
    stride 4, its regressor at 1). A head needed at a stride other than the pipeline's gets a
    copy named ``<head>_stride<s>``, and the term reads that copy.
    """
    by_name = {t.name: t for t in pipe.targets}
    heads = dict(by_name)
    new_spec = {}
    for output, term in spec.items():
        stride = model.output_strides[output]
        head = term.head
        if head not in by_name:
            raise ValueError(
                f"output {output!r} needs target head {head!r}; the pipeline has {sorted(by_name)}"
            )
        if stride != (by_name[head].stride or pipe.heatmap_stride):
            head = f"{term.head}_stride{stride}"
            heads[head] = dataclasses.replace(by_name[term.head], name=head, stride=stride)
        new_spec[output] = term._replace(head=head)
    used = {t.head for t in new_spec.values()}
    targets = tuple(t for name, t in heads.items() if name in used)
    return dataclasses.replace(pipe, targets=targets), new_spec


def model_kwargs(config: RunConfig, skeleton) -> dict[str, Any]:
    """Constructor overrides of the ``MODELS`` preset (unset flags keep the preset's values)."""
    return families_lib.family_of(config.model).constructor(config, skeleton)


def make_strategy(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--strategy=multi_worker needs the TF_CONFIG environment variable "
                "(see docs/training.md)"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def set_stage(model: keras.Model, stage: str) -> None:
    """Trains only the detector in ``detector``, freezes it in ``regressor`` (its batch norm then
    runs in inference mode), trains everything in ``joint``."""
    model.detector.trainable = stage in ("detector", "joint")
    if model.regressor is not None:
        model.regressor.trainable = stage in ("regressor", "joint")


# ---------------------------------------------------------------------------- train


def _steps(length: float, unit: str, steps_per_epoch: int) -> int:
    return max(1, round(length * steps_per_epoch)) if unit == "epochs" else max(1, round(length))


def write_flags(config: RunConfig, resolved: dict[str, Any]) -> dict[str, Any]:
    """Writes ``WORKDIR/flags.json`` (the settings and the values resolved from them); returns
    its content, the record that every saved ``.keras`` file also holds."""
    path = os.path.join(config.workdir, FLAGS_FILE)
    content = {**dataclasses.asdict(config), **resolved}
    tmp = f"{path}.{os.getpid()}.tmp"  # several workers may write it at once
    with open(tmp, "w") as f:
        json.dump(content, f, indent=2, default=list)
    os.replace(tmp, path)
    return content


def _cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def resolve_precision(name: str, cpuinfo: str = "/proc/cpuinfo") -> tuple[str, str]:
    """The Keras dtype policy for ``--mixed_precision=name`` and why.

    ``auto`` picks ``mixed_bfloat16`` where the hardware computes bfloat16 natively — a GPU of
    compute capability 8.0 or later, or a CPU with AVX512-BF16 or AMX-BF16 (read from
    ``cpuinfo``) — and ``float32`` everywhere else, where bfloat16 would be emulated and slower.
    Other names are returned unchanged.
    """
    if name != "auto":
        return name, "as requested"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = [tf.config.experimental.get_device_details(g) for g in gpus]
        capabilities = [d.get("compute_capability", (0, 0)) for d in details]
        if all(tuple(c) >= (8, 0) for c in capabilities):
            return "mixed_bfloat16", f"GPU compute capability {min(capabilities)} >= 8.0"
        return "float32", f"GPU compute capability {min(capabilities)} < 8.0"
    native = _cpu_flags(cpuinfo) & {"avx512_bf16", "amx_bf16"}
    if native:
        return "mixed_bfloat16", f"CPU has {', '.join(sorted(native))}"
    return "float32", "no native bfloat16 on this CPU (AVX512-BF16 / AMX-BF16)"


def train(config: RunConfig) -> dict[str, Any]:
    """Runs (or resumes) the training run described by ``config``; returns its summary."""
    config.validate()
    check_writable(config.workdir)  # before minutes of setup, not after
    manifest = ensure_records(config)
    record_skeleton = get_skeleton(manifest.skeleton)
    skeleton = get_skeleton(config.skeleton) if config.skeleton else record_skeleton
    precision, why = resolve_precision(config.mixed_precision)
    if config.mixed_precision == "auto":
        print(f"--mixed_precision=auto: {precision} ({why})", file=sys.stderr, flush=True)
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(config.strategy)

    num_train = manifest.num_examples(config.train_split)
    steps_per_epoch = max(1, num_train // config.batch_size)
    stage_list = [
        Stage(n, _steps(length, config.schedule_unit, steps_per_epoch))
        for n, length in config.stages
    ]
    if config.end_to_end:
        stage_list = [Stage("joint", sum(s.steps for s in stage_list))]
    boundaries = [_steps(b, config.schedule_unit, steps_per_epoch) for b in config.lr_boundaries]

    with strategy.scope():
        model = MODELS[config.model](**model_kwargs(config, skeleton))
        if config.lr_schedule == "cosine":
            schedule = optimizers.cosine_schedule(
                config.learning_rates, sum(s.steps for s in stage_list), config.warmup_steps
            )
        else:
            schedule = optimizers.piecewise_schedule(config.learning_rates, boundaries)
        optimizer = optimizers.make_optimizer(
            config.optimizer,
            schedule,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            clipnorm=config.clipnorm,
            mixed_float16=precision == "mixed_float16",
        )
    pipe = pipeline_config(config, skeleton, model.input_size, model.output_stride)
    if model.output_stride != pipe.heatmap_stride:
        raise ValueError(
            f"model {config.model} has output stride {model.output_stride}, the pipeline "
            f"{pipe.heatmap_stride}; check --input_size"
        )
    pipe, spec = align_heads_with_outputs(pipe, loss_spec(config, model), model)
    first_stage = [n for n in spec if n in ("detection", "regression_0")]
    if any(s.name != "joint" for s in stage_list) and not first_stage:
        raise ValueError(f"--stages: model {config.model} has no detector stage; use joint only")

    def train_dataset_fn(start_step: int) -> tf.data.Dataset:
        if config.deterministic:
            # The same stream as an uninterrupted run, fast-forwarded to the resumed step.
            dataset = pipeline.build_dataset(
                manifest.files(config.train_split),
                skeleton,
                pipe,
                training=True,
                batch_size=config.batch_size,
                seed=config.seed,
                deterministic=True,
                record_skeleton=record_skeleton,
            )
            return dataset.skip(start_step)
        return pipeline.build_dataset(
            manifest.files(config.train_split),
            skeleton,
            pipe,
            training=True,
            batch_size=config.batch_size,
            seed=config.seed * 1_000_003 + start_step,  # a resumed run draws fresh batches
            record_skeleton=record_skeleton,
        )

    evaluate_fn = None
    if config.val_split:
        evaluate_fn = _make_evaluate_fn(config, skeleton, pipe)

    os.makedirs(config.workdir, exist_ok=True)
    record = write_flags(
        config,
        {
            "skeleton": skeleton.name,
            "records_skeleton": record_skeleton.name,
            "input_size": pipe.input_size,
            "heatmap_stride": pipe.heatmap_stride,
            "pipeline": pipe.crop_convention,
            "normalization": pipe.normalization,
            "steps_per_epoch": steps_per_epoch,
            "stage_steps": [[s.name, s.steps] for s in stage_list],
            "prediction_output": model.prediction_output,
            "precision": precision,
        },
    )
    trainer = Trainer(
        TrainerConfig(
            workdir=config.workdir,
            stages=stage_list,
            global_batch_size=config.batch_size,
            checkpoint_every=config.checkpoint_every,
            eval_every=config.eval_every,
            log_every=config.log_every,
            jit_compile=config.xla,
            first_stage_outputs=first_stage,
            loss_options={
                "normalize": config.loss_reduction,
                "background_ratio": config.background_ratio,
            },
            verbose=config.verbose,
        ),
        strategy,
        model,
        optimizer,
        spec,
        train_dataset_fn,
        evaluate_fn,
        set_stage if first_stage else None,
        # Every saved .keras file carries the run's record (the model's spec) inside it.
        on_model_saved=lambda path: write_run_record(path, record),
    )
    try:
        return trainer.train()
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError, UnicodeDecodeError) as error:
        from_input = not isinstance(error, tf.errors.InvalidArgumentError) or (
            "Iterator" in error.message
        )
        if not from_input:  # a model or loss error: scanning the records would not explain it
            raise
        damaged = _damaged_records_error(config, manifest, trainer)
        if damaged is None:
            raise
        raise damaged from error


def _damaged_records_error(
    config: RunConfig, manifest: records.Manifest, trainer: Trainer
) -> DamagedRecordsError | None:
    """When the input pipeline failed, names the record files and records that caused it
    (the pipeline's own error names neither); None when the records are fine."""
    print(
        "the input pipeline failed; checking the records to find the damaged ones ...",
        file=sys.stderr,
        flush=True,
    )
    splits = [config.train_split] + ([config.val_split] if config.val_split else [])
    problems = []
    for split in splits:
        count, found = records.check_records(manifest.files(split), manifest.num_keypoints)
        problems += found
        if not found and count != manifest.num_examples(split):
            problems.append(
                f"{manifest.path}: split {split!r} lists {manifest.num_examples(split)} "
                f"examples, its files hold {count}"
            )
    if not problems:
        return None
    return DamagedRecordsError(
        "damaged training records:\n  "
        + "\n  ".join(problems)
        + f"\nRe-convert them (python -m tfpose.data.convert --dataset={config.dataset} ...), "
        f"then re-run the same command: it resumes from {trainer.manager.latest_checkpoint}."
    )


def _make_evaluate_fn(config: RunConfig, skeleton, pipe: pipeline.PipelineConfig):
    """Validation: :func:`tfpose.evaluation.evaluate_model` on the model in training (the path
    of ``python -m tfpose.evaluate``), on the run's validation crops and target heads; returns
    the PCK(h) mean and AUC, and the predicted | target maps of the first validation crops
    for TensorBoard (:func:`tfpose.drawing.heatmap_strips`)."""
    from tfpose.evaluation import evaluate_model
    from tfpose.inference.backends import KerasBackend

    backends: dict[int, tuple[keras.Model, KerasBackend]] = {}

    def evaluate_fn(current: keras.Model):
        cached = backends.get(id(current))
        if cached is None or cached[0] is not current:
            # Traced once per model: its forward pass reads the current weights at each call.
            backend = KerasBackend.from_model(
                current, config, skeleton, flip_test=config.val_flip_test
            )
            backends[id(current)] = cached = (current, backend)
        evaluation = evaluate_model(
            cached[1],
            config.records,
            config.val_split,
            flip_test=config.val_flip_test,
            max_examples=config.val_examples or None,
            batch_size=config.batch_size,
            log=lambda message: None,
            progress=False,
            coco_keypoints=False,
            pipeline_config=pipe,
        )
        result, maps = evaluation.result, evaluation.heatmaps
        metrics = {"mean": result["mean"]}
        if result.get("auc") is not None:
            metrics["auc"] = result["auc"]
        strips = drawing.heatmap_strips([maps["predicted"], maps.get("target")])
        return metrics, {"predicted_vs_target": strips}

    return evaluate_fn
