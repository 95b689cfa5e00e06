r"""How the recurrent network's inference cost grows with input resolution, T and batch size.

Three sweeps around one configuration (``--width_multiplier``, ``--input_size``,
``--num_passes``, batch 1): the input side S, the number of recurrent passes T
(``num_passes``) and the batch size, each point a float32 forward pass
(``model(x, training=False)`` in a ``tf.function``) timed after a warm-up call. The points of
one sweep are measured alternately ``--repeats`` times (medians reported), so load changes hit
every point alike. Each point also carries its counted FLOPs (``tfpose.models.flops``), so the
plot shows measured time against the FLOP-proportional expectation; the machine's float32
matmul peak is measured in the same run.

Command (as run for docs/benchmarks.md; docs/scaling.png)::

    python -m benchmarks.scaling --repeats=2 --min_seconds=0.3 --output_json=runs/scaling.json \
        --plot=docs/scaling.png
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from absl import app, flags

from benchmarks import common

_MODEL = flags.DEFINE_string("model", "recurrent", "A recurrent preset of tfpose.models.MODELS.")
_WIDTH = flags.DEFINE_float("width_multiplier", 0.25, "Width of the swept network.")
_INPUT_SIZE = flags.DEFINE_integer("input_size", 248, "Input side of the T and batch sweeps.")
_NUM_PASSES = flags.DEFINE_integer("num_passes", 3, "T of the resolution and batch sweeps.")
_INPUT_SIZES = flags.DEFINE_list("input_sizes", ["64", "128", "192", "248", "320"], "S sweep.")
_PASSES = flags.DEFINE_list("passes", ["0", "1", "2", "3", "4", "6"], "T sweep.")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1", "2", "4", "8", "16"], "Batch sweep.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Alternating measurements per point.")
_MIN_SECONDS = flags.DEFINE_float("min_seconds", 0.5, "Least time of one measurement.")
_MATMUL_SIZE = flags.DEFINE_integer("matmul_size", 2048, "Side of the matmul-peak matrices.")
_OUTPUT_JSON = flags.DEFINE_string("output_json", None, "Where to write the results.")
_PLOT = flags.DEFINE_string("plot", None, "Where to write the PNG plot (optional).")


def forward_timer(model, batch_size: int, min_seconds: float) -> Callable[[], dict]:
    """A measurement: wall and CPU ms per forward call of ``model`` on a [batch_size, S, S, 3]
    batch (:func:`benchmarks.common.timed_calls`)."""
    import tensorflow as tf

    size = int(model.input_size)
    x = tf.constant(
        np.random.default_rng(0).uniform(-0.5, 0.5, (batch_size, size, size, 3)), tf.float32
    )
    name = model.prediction_output
    forward = tf.function(lambda image: model(image, training=False)[name])
    forward(x).numpy()  # trace and warm up

    return lambda: common.timed_calls(lambda: forward(x).numpy(), min_seconds)


def sweep(
    points: Sequence[tuple[dict[str, Any], int]],
    model_name: str,
    repeats: int,
    min_seconds: float,
) -> list[dict[str, Any]]:
    """Times every ``(model arguments, batch size)`` point alternately.

    Returns:
      One entry per point: its arguments, batch, GFLOPs per image, median ms per call and per
      image, and achieved GFLOP/s.
    """
    from tfpose.models import build_model
    from tfpose.models.flops import count_flops

    candidates, entries = {}, []
    flops_cache: dict[tuple, int] = {}
    for index, (kwargs, batch) in enumerate(points):
        model = build_model(model_name, **kwargs)
        key = tuple(sorted(kwargs.items()))
        if key not in flops_cache:
            flops_cache[key] = count_flops(model)
        entries.append({**kwargs, "batch_size": batch, "gflops_per_image": flops_cache[key] / 1e9})
        candidates[f"{index}:{kwargs}/batch{batch}"] = forward_timer(model, batch, min_seconds)
    runs = common.alternate(candidates, repeats)
    for entry, values in zip(entries, runs.values(), strict=True):
        ms, cpu_ms = float(np.median(values["ms"])), float(np.median(values["cpu_ms"]))
        entry["ms_per_call"] = common.summary(values["ms"])
        entry["ms_per_image"] = round(ms / entry["batch_size"], 3)
        entry["cpu_ms_per_image"] = round(cpu_ms / entry["batch_size"], 3)
        entry["achieved_gflops"] = round(
            entry["gflops_per_image"] * entry["batch_size"] / ms * 1e3, 2
        )
        entry["gflops_per_cpu_second"] = round(
            entry["gflops_per_image"] * entry["batch_size"] / cpu_ms * 1e3, 2
        )
        entry["gflops_per_image"] = round(entry["gflops_per_image"], 4)
    return entries


def run(
    model: str = "recurrent",
    width_multiplier: float = 0.25,
    input_size: int = 248,
    num_passes: int = 3,
    input_sizes: Sequence[int] = (64, 128, 192, 248, 320),
    passes: Sequence[int] = (0, 1, 2, 3, 4, 6),
    batch_sizes: Sequence[int] = (1, 2, 4, 8, 16),
    repeats: int = 3,
    min_seconds: float = 0.5,
    matmul_size: int = 2048,
) -> dict[str, Any]:
    """The three sweeps; returns the JSON-ready results.

    Raises:
      ValueError: ``model`` is not a recurrent preset, or a sweep value is out of range.
    """
    from tfpose.models import MODELS
    from tfpose.models.families import family_of

    def recurrent(name: str) -> bool:
        return family_of(name).name == "recurrent"

    if model not in MODELS or not recurrent(model):
        names = sorted(m for m in MODELS if recurrent(m))
        raise ValueError(f"--model={model}: choose a recurrent preset ({names})")
    if min(batch_sizes) < 1 or min(passes) < 0 or min(input_sizes) < 8:
        raise ValueError("--batch_sizes >= 1, --passes >= 0 and --input_sizes >= 8 please")
    base = {"width_multiplier": width_multiplier}
    results: dict[str, Any] = {"machine": common.machine_info()}
    results["matmul_peak"] = common.matmul_peak(matmul_size)
    results["model"] = model
    results["base"] = {**base, "input_size": input_size, "num_passes": num_passes}
    results["input_size"] = sweep(
        [({**base, "input_size": s, "num_passes": num_passes}, 1) for s in input_sizes],
        model,
        repeats,
        min_seconds,
    )
    results["num_passes"] = sweep(
        [({**base, "input_size": input_size, "num_passes": t}, 1) for t in passes],
        model,
        repeats,
        min_seconds,
    )
    results["batch_size"] = sweep(
        [({**base, "input_size": input_size, "num_passes": num_passes}, b) for b in batch_sizes],
        model,
        repeats,
        min_seconds,
    )
    results["machine"]["load_average_end"] = common.load_average()
    return results


def plot(results: dict[str, Any], path: str) -> None:
    """Three panels: wall and CPU ms per image against S, T and batch, with the
    FLOP-proportional expectation (CPU time ∝ FLOPs, scaled through the sweep's base point)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = results["base"]
    panels = (
        ("input_size", "input side S (pixels)", base["input_size"]),
        ("num_passes", "recurrent passes T", base["num_passes"]),
        ("batch_size", "batch size", 1),
    )
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for axis, (key, label, anchor) in zip(axes, panels, strict=True):
        entries = results[key]
        x = [e[key] for e in entries]
        measured = [e["ms_per_image"] for e in entries]
        cpu = [e["cpu_ms_per_image"] for e in entries]
        flops = [e["gflops_per_image"] for e in entries]
        at = [e[key] for e in entries].index(anchor) if anchor in x else 0
        expected = [f / flops[at] * cpu[at] for f in flops]
        axis.plot(x, measured, "o-", label="wall ms")
        axis.plot(x, cpu, "s-", label="CPU ms (all threads)")
        axis.plot(x, expected, "--", color="gray", label="∝ FLOPs (through CPU ms)")
        for xi, yi, e in zip(x, cpu, entries, strict=True):
            axis.annotate(
                f"{e['gflops_per_cpu_second']:.0f}",
                (xi, yi),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=7,
            )
        axis.set_xlabel(label)
        axis.set_ylabel("ms per image")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    peak = results["matmul_peak"]["peak_gflops"]
    figure.suptitle(
        f"{results['model']} width {base['width_multiplier']}, float32 forward, "
        f"{results['machine']['nproc']} CPU cores shared with other jobs "
        f"(labels: GFLOP per CPU-second; matmul peak {peak:.0f} GFLOP/s)",
        fontsize=10,
    )
    figure.tight_layout()
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str]) -> None:
    del argv
    if not _OUTPUT_JSON.value:
        raise app.UsageError("--output_json is required")
    sizes, passes, batches = common.integer_lists(_INPUT_SIZES, _PASSES, _BATCH_SIZES)
    results = run(
        _MODEL.value,
        _WIDTH.value,
        _INPUT_SIZE.value,
        _NUM_PASSES.value,
        sizes,
        passes,
        batches,
        _REPEATS.value,
        _MIN_SECONDS.value,
        _MATMUL_SIZE.value,
    )
    common.write_results(results, "benchmarks.scaling", _OUTPUT_JSON.value)
    if _PLOT.value:
        plot(results, _PLOT.value)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    app.run(main)
