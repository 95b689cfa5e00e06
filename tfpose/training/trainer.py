"""The training loop: distribution, staged schedules, checkpoints that resume, and bookkeeping.

A custom loop rather than ``model.fit`` because the recipes need things ``fit`` does not give
together: stages that freeze part of a model mid-run, a resume that continues mid-stage from the
same global step, a NaN check that never lets a broken step reach a checkpoint, and
``tf.distribute`` strategies (including multi-worker) with per-example losses.

Workdir layout (everything a run writes):

    WORKDIR/
      checkpoints/ckpt-N.*   step, model, optimizer, best validation score (resume state)
      model.keras            the final model (written when the run completes)
      best.keras             the model with the best validation score so far
      history.csv            one row per log interval (and per validation)
      metrics.json           final validation metrics and run summary
      tensorboard/           scalars and predicted-vs-target heatmap images

Re-running the same command finds ``checkpoints/`` and continues from the latest step; a run
that already reached its last step only rewrites ``model.keras``/``metrics.json``.

The schedules are :mod:`tfpose.training.stages` and the workdir's files (atomic writes,
``history.csv``) :mod:`tfpose.training.workdir`; their names are re-exported here.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from tfpose import losses
from tfpose.progress import Progress
from tfpose.training.stages import STAGES, Stage, stage_at, stage_loss_spec
from tfpose.training.workdir import (
    WRITE_ERRNOS,
    WorkdirError,
    append_history,
    check_writable,
    history_rows,
    truncate_history,
    write_atomically,
)

__all__ = [
    "STAGES",
    "PeerFailedError",
    "Stage",
    "Trainer",
    "TrainerConfig",
    "TrainingDivergedError",
    "WorkdirError",
    "check_writable",
    "history_rows",
    "stage_at",
    "stage_loss_spec",
]


class TrainingDivergedError(RuntimeError):
    """The loss or the weights became NaN/inf; the last good checkpoint is kept."""


class PeerFailedError(RuntimeError):
    """Multi-worker: another worker died or became unreachable; restart every worker."""


# What a collective reports when a peer is gone: connection refused/reset (UNAVAILABLE), a
# restarted peer (FAILED_PRECONDITION), a collective timeout (DEADLINE_EXCEEDED), or the
# abort that TensorFlow broadcasts after one of those (CANCELLED, ABORTED).
_PEER_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.FailedPreconditionError,
    tf.errors.DeadlineExceededError,
    tf.errors.CancelledError,
    tf.errors.AbortedError,
)


@dataclasses.dataclass
class TrainerConfig:
    """Loop settings (model, data and optimizer are passed to :class:`Trainer` as objects).

    Attributes:
      workdir: where everything is written.
      stages: the schedule; a single ``joint`` stage trains end to end.
      global_batch_size: examples per step summed over replicas.
      checkpoint_every: steps between checkpoints (one is always written at the end).
      eval_every: steps between validations; 0 validates only at the end.
      log_every: steps between history rows / TensorBoard scalars.
      keep_checkpoints: how many checkpoints to keep.
      select_metric: key of the validation metrics dict that chooses ``best.keras`` (higher is
        better).
      jit_compile: compile the train step with XLA.
      loss_options: keyword arguments for :func:`tfpose.losses.total_loss`.
      first_stage_outputs: outputs trained in the ``detector`` stage.
      verbose: show the progress on stderr: a bar with the loss and examples/s on a terminal;
        elsewhere (log files) a line every ``log_every`` steps,
        ``step 500/4500 [joint] loss 0.91 (11.3 ex/s) eta 1h02m``, and every 10 s between.
    """

    workdir: str
    stages: Sequence[Stage]
    global_batch_size: int
    checkpoint_every: int = 500
    eval_every: int = 0
    log_every: int = 50
    keep_checkpoints: int = 3
    select_metric: str = "mean"
    jit_compile: bool = False
    loss_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    first_stage_outputs: Sequence[str] = ()
    verbose: bool = True

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)


def _task(strategy: tf.distribute.Strategy) -> tuple[bool, str | None]:
    """``(is_chief, worker name)``; the worker name is None on the chief."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True, None
    task_type, task_id = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    chief = task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0)
    return chief, None if chief else f"{task_type}-{task_id}"


def _is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is not None and bool(resolver.cluster_spec().as_dict())


def _all_finite(variables: Sequence[Any]) -> bool:
    checks = [
        tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(v)))
        for v in variables
        if tf.as_dtype(v.dtype).is_floating
    ]
    return bool(tf.reduce_all(checks)) if checks else True


class Trainer:
    """Runs the stages of one training run in a workdir, resuming from its checkpoints.

    Args:
      config: loop settings.
      strategy: the ``tf.distribute`` strategy the model and optimizer were created under.
      model: a tfpose model (dict outputs).
      optimizer: a Keras optimizer created under ``strategy.scope()``.
      loss_spec: output name -> :class:`tfpose.losses.LossTerm`.
      train_dataset_fn: ``(start_step) -> tf.data.Dataset`` of global batches, endless; called
        again at every (re)start so the order depends on the step it resumes from.
      evaluate_fn: ``(model) -> (metrics dict, images dict or None)``, run on the chief; None
        skips validation.
      set_stage_fn: ``(model, stage_name) -> None`` sets the trainable layers of a stage.
      on_model_saved: ``(path) -> None``, called on each saved ``.keras`` file before it takes
        its final name (training stores the run's record inside the file there).
    """

    def __init__(
        self,
        config: TrainerConfig,
        strategy: tf.distribute.Strategy,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        loss_spec: Mapping[str, losses.LossTerm],
        train_dataset_fn: Callable[[int], tf.data.Dataset],
        evaluate_fn: Callable[[keras.Model], tuple[dict, dict | None]] | None = None,
        set_stage_fn: Callable[[keras.Model, str], None] | None = None,
        on_model_saved: Callable[[str], None] | None = None,
    ):
        self.config = config
        self.strategy = strategy
        self.model = model
        self.optimizer = optimizer
        self.loss_spec = dict(loss_spec)
        self.train_dataset_fn = train_dataset_fn
        self.evaluate_fn = evaluate_fn
        self.set_stage_fn = set_stage_fn
        self.on_model_saved = on_model_saved
        self.is_chief, worker = _task(strategy)
        # Every worker takes part in saving (variables may be mirrored); the chief writes the
        # run's files, the others keep their copies in WORKDIR/<worker>/ (identical weights).
        self._own_dir = config.workdir if worker is None else os.path.join(config.workdir, worker)
        with strategy.scope():
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            self.best_score = tf.Variable(
                -math.inf, dtype=tf.float64, trainable=False, name="best_score"
            )
            # Build slots for every weight now, so that stages training subsets of the weights
            # share one optimizer state and one checkpoint layout.
            self.optimizer.build(model.trainable_variables)
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=optimizer, step=self.step, best_score=self.best_score
        )
        checkpoint_dir = os.path.join(self._own_dir, "checkpoints")
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, checkpoint_dir, max_to_keep=config.keep_checkpoints
        )
        self._writer = None
        self._progress: Progress | None = None

    # ------------------------------------------------------------------ bookkeeping

    def _resume_checkpoint(self) -> str | None:
        """The checkpoint to resume from: the chief's latest, on every worker.

        Workers checkpoint at the same steps, but a worker killed while saving may lack the
        last one; resuming everyone from the chief's keeps the workers in step (trained weights
        are identical across workers; batch-norm moving statistics become the chief's).
        """
        if self.is_chief:
            return self.manager.latest_checkpoint
        return tf.train.latest_checkpoint(os.path.join(self.config.workdir, "checkpoints"))

    def restore(self) -> int:
        """Restores the latest checkpoint if there is one; returns the step to start from."""
        latest = self._resume_checkpoint()
        if latest:
            # A constant learning rate is an optimizer variable and would be restored too; the
            # command line, not the checkpoint, decides it (schedules are not restored).
            inner = getattr(self.optimizer, "inner_optimizer", self.optimizer)
            schedule = isinstance(
                inner._learning_rate, keras.optimizers.schedules.LearningRateSchedule
            )
            configured_lr = None if schedule else self._current_lr()
            try:
                self.checkpoint.restore(latest).assert_existing_objects_matched()
            except (ValueError, AssertionError, tf.errors.OpError) as e:
                raise ValueError(
                    f"cannot resume from {latest}: it was written by a run with a different "
                    "model or optimizer configuration (compare the flags with "
                    f"{self._path('flags.json')}), or it is damaged. Use a new --workdir to "
                    f"start over. Detail: {str(e).splitlines()[0][:300]}"
                ) from None
            if configured_lr is not None:
                inner.learning_rate = configured_lr
            self._log(f"resuming from {latest} at step {int(self.step.numpy())}")
        return int(self.step.numpy())

    def _log(self, message: str) -> None:
        if self.config.verbose and self.is_chief:
            if self._progress is not None:
                self._progress.write(message)  # above the bar on a terminal
            else:
                print(message, file=sys.stderr, flush=True)

    def _path(self, name: str) -> str:
        return os.path.join(self.config.workdir, name)

    def _append_history(self, row: dict[str, Any]) -> None:
        """Appends a row to history.csv (on the chief); a row with new columns (the first
        validation) rewrites the file once with the wider header."""
        if self.is_chief:
            append_history(self._path("history.csv"), row)

    def _truncate_history(self, step: int) -> None:
        """Drops history rows after ``step`` (written after the checkpoint a resume restores)."""
        if self.is_chief:
            truncate_history(self._path("history.csv"), step)

    def _summary_writer(self):
        if self._writer is None:
            logdir = self._path("tensorboard") if self.is_chief else tempfile.mkdtemp()
            self._writer = tf.summary.create_file_writer(logdir)
        return self._writer

    def _save_checkpoint(self) -> None:
        if not _all_finite(self.model.weights):
            raise TrainingDivergedError(
                f"weights became NaN/inf before step {int(self.step.numpy())}; "
                f"not saved. Last good checkpoint: {self.manager.latest_checkpoint}"
            )
        try:
            self.manager.save(checkpoint_number=self.step)
        except _PEER_ERRORS:
            raise
        except (OSError, tf.errors.OpError) as e:
            detail = getattr(e, "message", None) or str(e)
            raise WorkdirError(
                f"could not write a checkpoint to {self.manager.directory}: "
                f"{detail.splitlines()[0][:300]}. Earlier checkpoints are intact: "
                f"{self.manager.latest_checkpoint}"
            ) from None

    def _save_model(self, name: str) -> None:
        if not self.is_chief and name != "model.keras":
            return
        os.makedirs(self._own_dir, exist_ok=True)
        path = os.path.join(self._own_dir, name)
        tmp = path + ".tmp.keras"
        try:
            self.model.save(tmp)
            if self.on_model_saved is not None:
                self.on_model_saved(tmp)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    # ------------------------------------------------------------------ steps

    def _make_train_step(self, stage: Stage) -> Callable:
        spec = stage_loss_spec(self.loss_spec, stage.name, self.config.first_stage_outputs)
        model, optimizer = self.model, self.optimizer
        variables = model.trainable_variables
        global_batch = self.config.global_batch_size
        options = dict(self.config.loss_options)

        def replica_step(batch):
            with tf.GradientTape() as tape:
                outputs = model(batch["image"], training=True)
                total, per_output = losses.total_loss(
                    outputs, batch, spec, global_batch_size=global_batch, **options
                )
                scaled = optimizer.scale_loss(total)
            gradients = tape.gradient(scaled, variables)
            optimizer.apply_gradients(zip(gradients, variables, strict=True))
            return total, per_output

        def step_fn(iterator):
            total, per_output = self.strategy.run(replica_step, args=(next(iterator),))

            def reduce(value):
                return self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)

            return reduce(total), {k: reduce(v) for k, v in per_output.items()}

        return tf.function(step_fn, jit_compile=self.config.jit_compile)

    def _current_lr(self) -> float:
        lr = self.optimizer.learning_rate
        return float(lr.numpy() if hasattr(lr, "numpy") else lr)

    def _validate(self, step: int) -> dict | None:
        if self.evaluate_fn is None or not self.is_chief:
            return None
        start = time.time()
        progress = self._progress
        status = progress.status if progress is not None else ""
        if progress is not None and progress.bar:
            progress.set_status(f"{status} validating...".strip())
            progress.refresh()
        else:
            self._log(f"step {step}: validating ...")
        metrics, images = self.evaluate_fn(self.model)
        if progress is not None:
            progress.set_status(status)
        metrics = {k: float(v) for k, v in metrics.items()}
        score = metrics.get(self.config.select_metric)
        with self._summary_writer().as_default(step=step):
            for key, value in metrics.items():
                tf.summary.scalar(f"val/{key}", value)
            for key, value in (images or {}).items():
                tf.summary.image(f"val/{key}", value, max_outputs=4)
        summary = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        self._log(f"step {step}: validation {summary} ({time.time() - start:.1f}s)")
        if score is not None and score > float(self.best_score.numpy()):
            self.best_score.assign(score)
            self._save_model("best.keras")
        return metrics

    # ------------------------------------------------------------------ run

    def train(self) -> dict[str, Any]:
        """Trains until the last step of the last stage; returns the run summary.

        Raises:
          TrainingDivergedError: the loss or the weights became NaN/inf.
          WorkdirError: a file of the run could not be written (permissions, disk full); the
            checkpoints written before are intact.
          PeerFailedError: multi-worker, another worker died or is unreachable.
        """
        try:
            return self._train()
        except _PEER_ERRORS as e:
            if not _is_multi_worker(self.strategy):
                raise
            latest = self._resume_checkpoint()
            raise PeerFailedError(
                f"another worker failed or is unreachable ({type(e).__name__}: "
                f"{(e.message or '').splitlines()[0][:200]}). Stop every worker and start "
                f"each again with its same command: all resume from {latest or 'the start'}."
            ) from None
        except OSError as e:
            if e.errno not in WRITE_ERRNOS:
                raise
            where = e.filename or self.config.workdir
            raise WorkdirError(
                f"could not write {where}: {e.strerror or e}. Checkpoints written before are "
                f"intact: {self.manager.latest_checkpoint}"
            ) from None

    def _train(self) -> dict[str, Any]:
        config = self.config
        if self.is_chief:
            check_writable(config.workdir)
        start_step = self.restore()
        self._truncate_history(start_step)
        total_steps = config.total_steps
        run_start, cpu_start = time.time(), time.process_time()
        val_metrics = None
        if start_step < total_steps:
            dataset = self.train_dataset_fn(start_step)
            iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
            stage_index, stage = stage_at(config.stages, start_step)
            stage_end = sum(s.steps for s in config.stages[: stage_index + 1])
            # A bar on a terminal; elsewhere a line per log step and every 10 s between.
            progress = self._progress = Progress(
                "step",
                total_steps,
                unit="step",
                initial=start_step,
                rate_unit="ex",
                rate_scale=config.global_batch_size,
                bar_desc="training",
                enabled=config.verbose and self.is_chief,
            )
            try:
                step_fn = self._start_stage(stage)
                window_start, window_steps, step = time.time(), 0, start_step
                traced = None  # the step function whose first call (tracing) is done
                while step < total_steps:
                    if step >= stage_end:
                        stage_index += 1
                        stage = config.stages[stage_index]
                        stage_end += stage.steps
                        step_fn = self._start_stage(stage)
                    if step_fn is not traced:
                        self._announce_compilation(stage)
                        first_call = time.time()
                    total, per_output = step_fn(iterator)
                    if step_fn is not traced:
                        traced = step_fn
                        progress.set_status(f"[{stage.name}]")
                        if not progress.bar:
                            self._log(f"compiled; first step took {time.time() - first_call:.1f}s")
                    step += 1
                    window_steps += 1
                    self.step.assign(step)
                    progress.update()
                    last = step == total_steps
                    if step % config.log_every == 0 or last:
                        total_value = float(total.numpy())
                        if not math.isfinite(total_value):
                            raise TrainingDivergedError(
                                f"loss is {total_value} at step {step} (stage {stage.name}); "
                                f"stopped. Last good checkpoint: "
                                f"{self.manager.latest_checkpoint}. "
                                "Lower the learning rate or check the data "
                                "(python -m tfpose.data.inspect)."
                            )
                        elapsed = time.time() - window_start
                        row = {
                            "step": step,
                            "stage": stage.name,
                            "loss": total_value,
                            **{f"loss/{k}": float(v.numpy()) for k, v in per_output.items()},
                            "learning_rate": self._current_lr(),
                            "examples_per_s": window_steps * config.global_batch_size / elapsed,
                            "wall_s": time.time() - run_start,
                        }
                        # ``step 500/4500 [joint] loss 0.91 (11.3 ex/s) eta 1h02m`` in logs.
                        progress.emit(
                            f"[{stage.name}] loss {total_value:.5g}",
                            f"{row['examples_per_s']:.1f} ex/s",
                        )
                        progress.set_status(
                            f"[{stage.name}] loss {total_value:.4g}, "
                            f"{row['examples_per_s']:.1f} ex/s"
                            if progress.bar
                            else f"[{stage.name}]"
                        )
                        with self._summary_writer().as_default(step=step):
                            for key in ("loss", "learning_rate", "examples_per_s"):
                                tf.summary.scalar(f"train/{key}", row[key])
                            for key, value in per_output.items():
                                tf.summary.scalar(f"train/loss/{key}", value)
                        window_start, window_steps = time.time(), 0
                        if (config.eval_every and step % config.eval_every == 0) or last:
                            val_metrics = self._validate(step)
                            if val_metrics:
                                row.update({f"val/{k}": v for k, v in val_metrics.items()})
                        self._append_history(row)
                    elif config.eval_every and step % config.eval_every == 0:
                        val_metrics = self._validate(step)
                    if step % config.checkpoint_every == 0 or last:
                        self._save_checkpoint()
            finally:
                progress.close()
                self._progress = None
        elif self.evaluate_fn is not None:
            self._log(f"already trained to step {start_step}; validating the final model")
            val_metrics = self._validate(start_step)
        self._save_model("model.keras")
        if not os.path.exists(self._path("best.keras")) and self.is_chief:
            shutil.copyfile(self._path("model.keras"), self._path("best.keras"))
        summary = {
            "steps": total_steps,
            "resumed_from_step": start_step,
            "wall_s_this_run": time.time() - run_start,
            # CPU seconds of this process (all its threads): on a shared machine the wall time
            # grows with the other jobs, this does not; / cores ≈ the time on an idle machine.
            "cpu_s_this_run": time.process_time() - cpu_start,
            "cpu_count": os.cpu_count(),
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
            "best_score": float(self.best_score.numpy()),
            "select_metric": config.select_metric,
            "validation": val_metrics,
        }
        if self.is_chief:
            write_atomically(self._path("metrics.json"), lambda f: json.dump(summary, f, indent=2))
        return summary

    def _start_stage(self, stage: Stage) -> Callable:
        if self.set_stage_fn is not None:
            self.set_stage_fn(self.model, stage.name)
        self._log(f"stage {stage.name}: {len(self.model.trainable_variables)} trainable tensors")
        return self._make_train_step(stage)

    def _announce_compilation(self, stage: Stage) -> None:
        """Says what the silent first call of a step function does (tracing, compiling and
        filling the input pipeline take from seconds to minutes)."""
        what = "compiling the training step" + (" with XLA" if self.config.jit_compile else "")
        if self._progress is not None and self._progress.bar:
            self._progress.set_status(f"[{stage.name}] {what}...")
            self._progress.refresh()
        else:
            self._log(f"{what} ([{stage.name}] stage) and reading the first batch ...")
