r"""Training throughput per model: eager vs compiled graph vs XLA, float32 vs mixed precision.

For every model the script builds the training setup of ``python -m tfpose.train`` (the same
model arguments, pipeline preset, target heads and loss terms, Adam) once per precision, takes
one real batch from the training pipeline, and times the train step (forward, loss, gradients,
optimizer update) in three forms:

* ``eager``: the step as a plain Python function (Keras runs layer by layer);
* ``graph``: the same function in ``tf.function`` (what ``python -m tfpose.train`` runs);
* ``xla``: ``tf.function(jit_compile=True)`` (``--xla``).

Every (precision, mode) pair of a model is measured alternately ``--repeats`` times, each time
over ``--steps`` steps after a warm-up step (the first call, which traces/compiles, is timed
apart as ``first_call_s``). Achieved FLOP/s use the counted forward FLOPs of
``tfpose.models.flops`` and the usual estimate training ≈ 3 × forward (backward = 2 × forward),
against the machine's own measured matmul peak (float32, same run) or ``--peak_tflops``.

Input wait: the graph-mode float32 step is then fed by the real pipeline
(``tfpose.data.pipeline.build_dataset``, prefetching, on the same cores) for ``--steps`` steps;
the time spent in ``next(iterator)`` over the loop's total is the share of the step spent
waiting for input.

Commands (as run for docs/benchmarks.md, 2-core CPU)::

    python -m benchmarks.training_speed --models=recurrent_tiny,cascade_resnet_tiny \
        --batch_sizes=16,16 --steps=5,5 --repeats=3 --profile_dir=runs/profile_tiny \
        --output_json=runs/training_tiny.json
    python -m benchmarks.training_speed --models=recurrent,cascade_resnet --batch_sizes=1,1 \
        --steps=1,1 --repeats=2 --modes=graph,xla --profile_dir=runs/profile_paper \
        --output_json=runs/training_paper.json

On a GPU (not run here; see docs/benchmarks.md)::

    python -m benchmarks.training_speed --models=recurrent,cascade_resnet --batch_sizes=32,8 \
        --steps=20,20 --repeats=3 --precisions=float32,mixed_bfloat16,mixed_float16 \
        --device=/gpu:0 --peak_tflops=989 --output_json=runs/training_gpu.json
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from absl import app, flags

from benchmarks import common

MODES = ("eager", "graph", "xla")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# Training FLOPs per example ≈ this × forward FLOPs (the backward pass costs about twice the
# forward one: gradients with respect to activations and to weights).
TRAINING_FLOPS_FACTOR = 3

_MODELS = flags.DEFINE_list(
    "models", ["recurrent_tiny", "cascade_resnet_tiny"], "Names in tfpose.models.MODELS."
)
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["16", "16"], "Batch size per model (in order).")
_STEPS = flags.DEFINE_list("steps", ["8", "8"], "Timed steps per measurement, per model.")
_MODES = flags.DEFINE_list("modes", list(MODES), f"Step forms, from {MODES}.")
_PRECISIONS = flags.DEFINE_list(
    "precisions", ["float32", "mixed_bfloat16"], f"Dtype policies, from {PRECISIONS}."
)
_REPEATS = flags.DEFINE_integer("repeats", 3, "Alternating measurements per (precision, mode).")
_RECORDS = flags.DEFINE_string(
    "records", "data/synthetic", "Manifest directory of the training records (synthetic is fine)."
)
_INPUT_SIZE = flags.DEFINE_integer(
    "input_size", 0, "Override every model's input size (0: preset)."
)
_WIDTH = flags.DEFINE_float("width_multiplier", 0.0, "Override the width multiplier (0: preset).")
_DEVICE = flags.DEFINE_string("device", "", "tf.device for model and steps, e.g. /gpu:0.")
_PEAK_TFLOPS = flags.DEFINE_float(
    "peak_tflops", 0.0, "Peak of the device in TFLOP/s (e.g. bf16 dense); 0: measured matmul."
)
_MATMUL_SIZE = flags.DEFINE_integer("matmul_size", 2048, "Side of the matmul-peak matrices.")
_PROFILE_DIR = flags.DEFINE_string(
    "profile_dir", None, "Also profile the float32 graph step of every model (TF profiler) here."
)
_OUTPUT_JSON = flags.DEFINE_string("output_json", None, "Where to write the results.")


def _parse_ints(values: Sequence[str], name: str, count: int) -> list[int]:
    try:
        numbers = [int(v) for v in values]
    except ValueError:
        raise ValueError(f"--{name}: expected integers, got {list(values)}") from None
    if len(numbers) == 1:
        numbers = numbers * count
    if len(numbers) != count or min(numbers) < 1:
        raise ValueError(f"--{name}: need {count} positive integers (one per model), got {values}")
    return numbers


class TrainingSetup:
    """One model at one precision with its optimizer, loss terms, pipeline and a fixed batch."""

    def __init__(
        self,
        name: str,
        precision: str,
        batch_size: int,
        records: str,
        overrides: dict[str, Any],
    ):
        import tensorflow as tf

        from tfpose.data import pipeline
        from tfpose.data import records as records_lib
        from tfpose.skeletons import get_skeleton
        from tfpose.training import optimizers, run

        config = run.RunConfig(
            workdir="",
            records=records,
            model=name,
            batch_size=batch_size,
            mixed_precision=precision,
            **overrides,
        )
        manifest = records_lib.Manifest.load(records)
        record_skeleton = get_skeleton(manifest.skeleton)
        model_kwargs = run.model_kwargs(config, record_skeleton)
        self.model = run.MODELS[name](dtype=precision, **model_kwargs)
        self.float32_kwargs = model_kwargs
        self.optimizer = optimizers.make_optimizer(
            "adam", 1e-4, mixed_float16=precision == "mixed_float16"
        )
        pipe = run.pipeline_config(
            config, record_skeleton, self.model.input_size, self.model.output_stride
        )
        pipe, self.spec = run.align_heads_with_outputs(
            pipe, run.loss_spec(config, self.model), self.model
        )
        self.dataset = pipeline.build_dataset(
            manifest.files(config.train_split),
            record_skeleton,
            pipe,
            training=True,
            batch_size=batch_size,
            seed=0,
            record_skeleton=record_skeleton,
        )
        keys = ["image"] + [
            f"{kind}/{t.head}" for t in self.spec.values() for kind in ("heatmaps", "weights")
        ]
        first = next(iter(self.dataset))
        self.batch = {key: tf.identity(first[key]) for key in keys}
        self.keys = keys
        self.batch_size = batch_size
        self.optimizer.build(self.model.trainable_variables)

    def step_function(self) -> Callable:
        """The train step, ``batch → loss`` (same body as the trainer's replica step)."""
        import tensorflow as tf

        from tfpose import losses

        model, optimizer, spec = self.model, self.optimizer, self.spec
        variables = model.trainable_variables

        def step(batch):
            with tf.GradientTape() as tape:
                outputs = model(batch["image"], training=True)
                total, _ = losses.total_loss(outputs, batch, spec)
                scaled = optimizer.scale_loss(total)
            gradients = tape.gradient(scaled, variables)
            optimizer.apply_gradients(zip(gradients, variables, strict=True))
            return total

        return step


def compiled(step: Callable, mode: str) -> Callable:
    """``step`` in one of :data:`MODES`."""
    import tensorflow as tf

    if mode == "eager":
        return step
    if mode == "graph":
        return tf.function(step)
    if mode == "xla":
        return tf.function(step, jit_compile=True)
    raise ValueError(f"unknown mode {mode!r}; choose from {MODES}")


def input_wait(setup: TrainingSetup, step: Callable, steps: int) -> dict[str, float]:
    """Feeds ``step`` from the real pipeline; returns the share of time spent in ``next()``."""
    iterator = iter(setup.dataset)

    def fetch():
        batch = next(iterator)
        return {key: batch[key] for key in setup.keys}

    float(step(fetch()))
    for _ in range(2):  # let the prefetch buffer fill as it would in a long run
        float(step(fetch()))
    waiting = computing = 0.0
    for _ in range(steps):
        start = time.perf_counter()
        batch = fetch()
        fetched = time.perf_counter()
        float(step(batch))
        waiting += fetched - start
        computing += time.perf_counter() - fetched
    total = waiting + computing
    return {
        "steps": steps,
        "input_wait_share": round(waiting / total, 4),
        "wait_ms_per_step": round(waiting / steps * 1e3, 2),
        "step_ms": round(computing / steps * 1e3, 2),
        "examples_per_s_with_pipeline": round(steps * setup.batch_size / total, 3),
    }


def measure_model(
    name: str,
    batch_size: int,
    steps: int,
    modes: Sequence[str],
    precisions: Sequence[str],
    repeats: int,
    records: str,
    overrides: dict[str, Any],
    peak_gflops: float,
    device: str | None,
    profile_dir: str | None = None,
) -> dict[str, Any]:
    """Every (precision, mode) of one model, alternately; see the module docstring."""
    import tensorflow as tf

    from tfpose.models import build_model
    from tfpose.models.flops import count_flops

    result: dict[str, Any] = {"batch_size": batch_size, "steps_per_measurement": steps}
    candidates: dict[str, Callable[[], float]] = {}
    first_call: dict[str, float] = {}
    steps_by_key: dict[str, Callable] = {}
    setups = {}
    with tf.device(device or "/cpu:0"):
        for precision in precisions:
            setup = setups[precision] = TrainingSetup(
                name, precision, batch_size, records, overrides
            )
            for mode in modes:
                key = f"{precision}/{mode}"
                step = steps_by_key[key] = compiled(setup.step_function(), mode)
                start = time.perf_counter()
                float(step(setup.batch))
                first_call[key] = round(time.perf_counter() - start, 3)
                print(f"{name} {key}: first call {first_call[key]} s", flush=True)

                def measure(step=step, batch=setup.batch) -> dict[str, float]:
                    cpu_start = time.process_time()
                    seconds = common.seconds_per_call(lambda: float(step(batch)), steps)
                    cpu_ms = (time.process_time() - cpu_start) / steps * 1e3
                    return {"examples_per_s": batch_size / seconds, "cpu_ms_per_step": cpu_ms}

                candidates[key] = measure
        runs = common.alternate(candidates, repeats)
        reference = setups[precisions[0]]
        result["input_size"] = int(reference.model.input_size)
        result["parameters"] = int(reference.model.count_params())
        float32_model = build_model(name, dtype="float32", **reference.float32_kwargs)
        forward = count_flops(float32_model)
        result["forward_gflops_per_example"] = round(forward / 1e9, 4)
        result["training_gflops_per_example"] = round(TRAINING_FLOPS_FACTOR * forward / 1e9, 4)
        # The input-wait loop reuses a traced step: graph mode if measured, else the first mode.
        mode = "graph" if "graph" in modes else modes[0]
        result["input_pipeline"] = {
            "mode": f"{precisions[0]}/{mode}",
            **input_wait(reference, steps_by_key[f"{precisions[0]}/{mode}"], steps),
        }
        if profile_dir:
            step, batch = steps_by_key[f"{precisions[0]}/{mode}"], reference.batch
            result["profile"] = common.profile_ops(
                lambda: float(step(batch)), steps, os.path.join(profile_dir, name)
            )
    table = {}
    for key, values in runs.items():
        stats = common.summary(values["examples_per_s"])
        cpu_ms = statistics.median(values["cpu_ms_per_step"])
        achieved = stats["median"] * TRAINING_FLOPS_FACTOR * forward / 1e9
        table[key] = {
            "examples_per_s": stats,
            "cpu_ms_per_step": round(cpu_ms, 2),
            "first_call_s": first_call[key],
            "achieved_gflops": round(achieved, 2),
            "fraction_of_peak": round(achieved / peak_gflops, 4) if peak_gflops else None,
            "gflops_per_cpu_second": round(
                TRAINING_FLOPS_FACTOR * forward * batch_size / cpu_ms / 1e6, 2
            ),
        }
    base = table.get(f"{precisions[0]}/graph") or next(iter(table.values()))
    for entry in table.values():
        entry["speedup_vs_float32_graph"] = round(
            entry["examples_per_s"]["median"] / base["examples_per_s"]["median"], 3
        )
    result["runs"] = table
    return result


def run(
    models: Sequence[str],
    batch_sizes: Sequence[int],
    steps: Sequence[int],
    modes: Sequence[str] = MODES,
    precisions: Sequence[str] = ("float32", "mixed_bfloat16"),
    repeats: int = 3,
    records: str = "data/synthetic",
    input_size: int = 0,
    width_multiplier: float = 0.0,
    device: str | None = None,
    peak_tflops: float = 0.0,
    matmul_size: int = 2048,
    profile_dir: str | None = None,
) -> dict[str, Any]:
    """Measures every model; returns the JSON-ready results.

    Raises:
      ValueError: an unknown model, mode or precision, or lists of different lengths.
    """
    from tfpose.models import MODELS

    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"--models: unknown {unknown}; choose from {sorted(MODELS)}")
    if [m for m in modes if m not in MODES] or not modes:
        raise ValueError(f"--modes: {list(modes)}; choose from {MODES}")
    if [p for p in precisions if p not in PRECISIONS] or not precisions:
        raise ValueError(f"--precisions: {list(precisions)}; choose from {PRECISIONS}")
    if not len(models) == len(batch_sizes) == len(steps):
        raise ValueError("--models, --batch_sizes and --steps need one entry per model")
    if not os.path.isdir(records):
        raise FileNotFoundError(
            f"--records={records}: no such directory; make synthetic records with "
            "python -m tfpose.data.convert --dataset=synthetic --output_dir=" + records
        )
    overrides: dict[str, Any] = {}
    if input_size:
        overrides["input_size"] = input_size
    if width_multiplier:
        overrides["width_multiplier"] = width_multiplier
    results: dict[str, Any] = {"machine": common.machine_info()}
    peak = common.matmul_peak(matmul_size, device=device)
    results["matmul_peak"] = peak
    peak_gflops = peak_tflops * 1e3 if peak_tflops else peak["peak_gflops"]
    results["peak_gflops_used"] = peak_gflops
    results["peak_source"] = "--peak_tflops" if peak_tflops else "measured float32 matmul"
    results["models"] = {}
    for name, batch_size, count in zip(models, batch_sizes, steps, strict=True):
        results["models"][name] = measure_model(
            name,
            batch_size,
            count,
            modes,
            precisions,
            repeats,
            records,
            overrides,
            peak_gflops,
            device,
            profile_dir,
        )
    results["matmul_peak_end"] = common.matmul_peak(matmul_size, device=device)
    if not peak_tflops:
        # The peak moves with the machine's load: the higher of the two measurements is used,
        # so a fraction of peak is never flattered by a peak measured at a busy moment.
        peak_gflops = max(peak_gflops, results["matmul_peak_end"]["peak_gflops"])
        results["peak_gflops_used"] = peak_gflops
        per_cpu = max(
            results[k]["peak_gflops_per_cpu_second"] for k in ("matmul_peak", "matmul_peak_end")
        )
        results["peak_gflops_per_cpu_second_used"] = per_cpu
        for model in results["models"].values():
            for entry in model["runs"].values():
                entry["fraction_of_peak"] = round(entry["achieved_gflops"] / peak_gflops, 4)
                entry["cpu_fraction_of_peak"] = round(entry["gflops_per_cpu_second"] / per_cpu, 4)
    results["machine"]["load_average_end"] = common.load_average()
    return results


def main(argv: list[str]) -> None:
    del argv
    if not _OUTPUT_JSON.value:
        raise app.UsageError("--output_json is required")
    models = _MODELS.value
    results = run(
        models,
        _parse_ints(_BATCH_SIZES.value, "batch_sizes", len(models)),
        _parse_ints(_STEPS.value, "steps", len(models)),
        _MODES.value,
        _PRECISIONS.value,
        _REPEATS.value,
        _RECORDS.value,
        _INPUT_SIZE.value,
        _WIDTH.value,
        _DEVICE.value or None,
        _PEAK_TFLOPS.value,
        _MATMUL_SIZE.value,
        _PROFILE_DIR.value,
    )
    common.write_results(results, "benchmarks.training_speed", _OUTPUT_JSON.value)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    app.run(main)
