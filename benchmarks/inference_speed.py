r"""Inference latency and throughput of one trained model in every exported format, on this CPU.

Input: export folders written by ``python -m tfpose.export`` (``parity.json`` there names the
``.keras`` model they came from and holds each artifact's PCK). For each folder the script
measures, on the same random crops float32 [B, S, S, 3]:

=====================  ==========================================================================
``keras``              ``tfpose.inference.backends.KerasBackend`` (``.keras``, what ``predict``
                       runs); optional variants ``keras_xla`` (XLA), ``keras_bf16`` /
                       ``keras_fp16`` (mixed precision) and ``keras_bf16_xla`` / ``keras_fp16_xla``
``saved_model``        ``SavedModelBackend``: the SavedModel's ``heatmaps`` signature (crop → maps)
``tflite_fp32/fp16/``  ``TFLiteBackend`` with ``--threads`` interpreter threads (XNNPACK: the
``int8``               default delegate of ``ai_edge_litert``)
``onnx``               ``onnxruntime`` CPU session, ``--threads`` intra-op threads
=====================  ==========================================================================

at every ``--batch_sizes``. Every (artifact, threads, batch) is a candidate; candidates are
measured alternately ``--repeats`` times after a warm-up call, each measurement running calls
for at least ``--min_seconds`` (and at least one call). Reported: median ms per call, images/s
and achieved GFLOP/s (counted forward FLOPs of ``tfpose.models.flops`` × images/s) against the
machine's own float32 matmul peak, measured in the same run (``benchmarks.common.matmul_peak``,
at the start and the end; the higher is used), in wall-clock terms and per CPU-second (process
CPU time, which other jobs on a shared machine disturb much less than wall time).
TensorFlow (Keras, SavedModel) uses all cores, on ``--device`` when given.

Commands (as run for docs/benchmarks.md)::

    python -m tfpose.export --model=runs/quickstart/best.keras --output_dir=runs/export_qs \
        --formats=saved_model,tflite_fp32,tflite_fp16,tflite_int8,onnx
    python -m benchmarks.inference_speed --exports=runs/export_qs \
    --artifacts=keras,keras_xla,keras_bf16,saved_model,tflite_fp32,tflite_fp16,tflite_int8,onnx \
        --batch_sizes=1,16 --threads=1,2 --repeats=3 --output_json=runs/inference_tiny.json

GPU serving (not run here; see docs/benchmarks.md)::

    python -m benchmarks.inference_speed --exports=runs/export_recurrent --device=/gpu:0 \
        --artifacts=saved_model,keras,keras_xla,keras_bf16,keras_bf16_xla,keras_fp16_xla \
        --batch_sizes=1,16,64 --repeats=5 --output_json=runs/inference_gpu.json
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from absl import app, flags

from benchmarks import common

TFLITE_ARTIFACTS = ("tflite_fp32", "tflite_fp16", "tflite_int8")
# The .keras model through KerasBackend, compiled with XLA and/or under a mixed dtype policy.
KERAS_VARIANTS = {
    "keras": {},
    "keras_xla": {"jit_compile": True},
    "keras_bf16": {"dtype_policy": "mixed_bfloat16"},
    "keras_bf16_xla": {"dtype_policy": "mixed_bfloat16", "jit_compile": True},
    "keras_fp16": {"dtype_policy": "mixed_float16"},
    "keras_fp16_xla": {"dtype_policy": "mixed_float16", "jit_compile": True},
}
ARTIFACTS = ("keras", "saved_model", *TFLITE_ARTIFACTS, "onnx")
KNOWN_ARTIFACTS = (*KERAS_VARIANTS, "saved_model", *TFLITE_ARTIFACTS, "onnx")

_EXPORTS = flags.DEFINE_list("exports", None, "Export folders (python -m tfpose.export output).")
_ARTIFACTS = flags.DEFINE_list(
    "artifacts", list(ARTIFACTS), f"Formats to time, from {KNOWN_ARTIFACTS}."
)
_DEVICE = flags.DEFINE_string(
    "device", "", "tf.device of the TensorFlow-run formats (keras*, saved_model), e.g. /gpu:0."
)
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1", "16"], "Batch sizes.")
_THREADS = flags.DEFINE_list("threads", ["1", "2"], "TFLite / ONNX Runtime thread counts.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Alternating measurements per candidate.")
_MIN_SECONDS = flags.DEFINE_float("min_seconds", 1.0, "Least time of one measurement.")
_MATMUL_SIZE = flags.DEFINE_integer("matmul_size", 2048, "Side of the matmul-peak matrices.")
_OUTPUT_JSON = flags.DEFINE_string("output_json", None, "Where to write the results.")


def onnx_session(path: str, threads: int) -> Callable[[np.ndarray], Any]:
    """An ONNX Runtime CPU session on ``path`` as ``crops → outputs``."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        path, sess_options=options, providers=["CPUExecutionProvider"]
    )
    input_name = session.get_inputs()[0].name
    return lambda crops: session.run(None, {input_name: crops})


def artifact_runners(
    export_dir: str, artifacts: Sequence[str], threads: Sequence[int], batch_sizes: Sequence[int]
) -> dict[tuple[str, int, int], Callable[[np.ndarray], Any]]:
    """``(artifact, threads, batch) → crops → outputs`` for every artifact present.

    TFLite interpreters are made per batch size, so alternating batch sizes does not resize
    and re-allocate one interpreter between calls. ``threads`` is 0 for the TensorFlow-run
    formats (all cores).
    """
    from tfpose.export import onnx as onnx_export
    from tfpose.export import tflite
    from tfpose.inference import backends
    from tfpose.model_spec import ModelSpec

    exported = ModelSpec.load(export_dir).artifacts
    runners: dict[tuple[str, int, int], Callable[[np.ndarray], Any]] = {}
    for name, options in KERAS_VARIANTS.items():
        if name in artifacts:
            backend = backends.KerasBackend(keras_model_path(export_dir), **options)
            for batch in batch_sizes:
                runners[(name, 0, batch)] = backend
    if "saved_model" in artifacts and "saved_model" in exported:
        backend = backends.SavedModelBackend(os.path.join(export_dir, exported["saved_model"]))
        for batch in batch_sizes:
            runners[("saved_model", 0, batch)] = backend
    for name in TFLITE_ARTIFACTS:
        if name in artifacts and name in exported:
            path = os.path.join(export_dir, tflite.FILE_NAMES[name])
            for count in threads:
                for batch in batch_sizes:
                    runners[(name, count, batch)] = backends.TFLiteBackend(path, num_threads=count)
    onnx_path = os.path.join(export_dir, onnx_export.FILE_NAME)
    if "onnx" in artifacts and os.path.isfile(onnx_path):
        for count in threads:
            session = onnx_session(onnx_path, count)
            for batch in batch_sizes:
                runners[("onnx", count, batch)] = session
    return runners


def keras_model_path(export_dir: str) -> str:
    """The ``.keras`` model an export came from (``parity.json``'s ``model``)."""
    path = os.path.join(export_dir, "parity.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{export_dir}: no parity.json naming the exported .keras model")
    with open(path) as f:
        model = json.load(f).get("model")
    if not model or not os.path.isfile(model):
        raise FileNotFoundError(f"{path}: model {model!r} (the exported .keras) does not exist")
    return model


def parity_pck(export_dir: str) -> dict[str, dict[str, float]]:
    """Artifact → ``{"pck", "keras_pck", "pck_drop"}`` from the export's ``parity.json``."""
    path = os.path.join(export_dir, "parity.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        report = json.load(f)
    return {
        name: {key: round(entry[key], 2) for key in ("pck", "keras_pck", "pck_drop")}
        for name, entry in report.get("artifacts", {}).items()
        if "pck" in entry
    }


def measure_export(
    export_dir: str,
    artifacts: Sequence[str],
    batch_sizes: Sequence[int],
    threads: Sequence[int],
    repeats: int,
    min_seconds: float,
    peak_gflops: float,
    device: str | None = None,
) -> dict[str, Any]:
    """Every candidate of one export folder, alternately; see the module docstring."""
    import keras
    import tensorflow as tf

    from tfpose.models.flops import count_flops

    model = keras.models.load_model(keras_model_path(export_dir))
    size = int(model.input_size)
    forward = count_flops(model)
    del model
    with tf.device(device or "/cpu:0"):
        runners = artifact_runners(export_dir, artifacts, threads, batch_sizes)
    rng = np.random.default_rng(0)
    crops = {b: rng.uniform(-0.5, 0.5, (b, size, size, 3)).astype(np.float32) for b in batch_sizes}
    candidates: dict[str, Callable[[], float]] = {}
    for (name, count, batch), runner in runners.items():
        key = f"{name}/threads{count}/batch{batch}" if count else f"{name}/batch{batch}"
        placement = tf.device(device or "/cpu:0") if not count else contextlib.nullcontext()
        start = time.perf_counter()
        with placement:
            runner(crops[batch])  # warm-up: tracing, allocation
        print(f"{key}: first call {time.perf_counter() - start:.3f} s", flush=True)

        def measure(runner=runner, x=crops[batch], placement=placement) -> dict[str, float]:
            with placement:  # every backend returns numpy arrays: the work is done
                return common.timed_calls(lambda: runner(x), min_seconds)

        candidates[key] = measure
    runs = common.alternate(candidates, repeats)
    table = {}
    for key, values in runs.items():
        stats = common.summary(values["ms"])
        cpu_ms = float(np.median(values["cpu_ms"]))
        batch = int(key.rsplit("batch", 1)[1])
        images_per_s = batch / stats["median"] * 1e3
        gflops = forward * images_per_s / 1e9
        table[key] = {
            "ms_per_call": stats,
            "cpu_ms_per_call": round(cpu_ms, 2),
            "ms_per_image": round(stats["median"] / batch, 3),
            "images_per_s": round(images_per_s, 2),
            "achieved_gflops": round(gflops, 2),
            "fraction_of_matmul_peak": round(gflops / peak_gflops, 4),
            "gflops_per_cpu_second": round(forward * batch / cpu_ms / 1e6, 2),
        }
    best = max(table, key=lambda k: table[k]["achieved_gflops"])
    return {
        "keras_model": keras_model_path(export_dir),
        "input_size": size,
        "forward_gflops_per_image": round(forward / 1e9, 4),
        "parity": parity_pck(export_dir),
        "runs": table,
        "best": {"candidate": best, **table[best]},
        "int8_speedup_vs_fp32": {
            key.split("/", 1)[1]: round(
                table[key.replace("tflite_int8", "tflite_fp32")]["ms_per_call"]["median"]
                / table[key]["ms_per_call"]["median"],
                3,
            )
            for key in table
            if key.startswith("tflite_int8") and key.replace("tflite_int8", "tflite_fp32") in table
        },
    }


def run(
    exports: Sequence[str],
    artifacts: Sequence[str] = ARTIFACTS,
    batch_sizes: Sequence[int] = (1, 16),
    threads: Sequence[int] = (1, 2),
    repeats: int = 3,
    min_seconds: float = 1.0,
    matmul_size: int = 2048,
    device: str | None = None,
) -> dict[str, Any]:
    """Measures every export folder; returns the JSON-ready results.

    Raises:
      FileNotFoundError: an export folder without its ``tfpose_export.json``.
      ValueError: an unknown artifact or a non-positive batch size / thread count.
    """
    unknown = [a for a in artifacts if a not in KNOWN_ARTIFACTS]
    if unknown or not artifacts:
        raise ValueError(f"--artifacts: unknown {unknown}; choose from {KNOWN_ARTIFACTS}")
    if not batch_sizes or min(batch_sizes) < 1 or not threads or min(threads) < 1:
        raise ValueError("--batch_sizes and --threads must be positive integers")
    for export_dir in exports:
        if not os.path.isfile(os.path.join(export_dir, "tfpose_export.json")):
            raise FileNotFoundError(
                f"--exports: {export_dir} has no tfpose_export.json; make it with "
                "python -m tfpose.export --model=... --output_dir=" + export_dir
            )
    results: dict[str, Any] = {"machine": common.machine_info()}
    results["matmul_peak"] = common.matmul_peak(matmul_size, device=device)
    results["matmul_peak"]["one_thread_gflops"] = common.matmul_peak_one_thread(matmul_size)
    peak = results["matmul_peak"]["peak_gflops"]
    results["exports"] = {
        export_dir: measure_export(
            export_dir, artifacts, batch_sizes, threads, repeats, min_seconds, peak, device
        )
        for export_dir in exports
    }
    results["matmul_peak_end"] = common.matmul_peak(matmul_size, device=device)
    results["matmul_peak_end"]["one_thread_gflops"] = common.matmul_peak_one_thread(matmul_size)
    # The peak moves with the machine's load: take the higher of the two measurements, so a
    # fraction of peak is never flattered by a peak measured at a busy moment.
    best_peak = max(peak, results["matmul_peak_end"]["peak_gflops"])
    per_cpu = max(
        results[k]["peak_gflops_per_cpu_second"] for k in ("matmul_peak", "matmul_peak_end")
    )
    results["peak_gflops_used"] = best_peak
    results["peak_gflops_per_cpu_second_used"] = per_cpu
    for export in results["exports"].values():
        for entry in [*export["runs"].values(), export["best"]]:
            entry["fraction_of_matmul_peak"] = round(entry["achieved_gflops"] / best_peak, 4)
            entry["cpu_fraction_of_matmul_peak"] = round(
                entry["gflops_per_cpu_second"] / per_cpu, 4
            )
    results["machine"]["load_average_end"] = common.load_average()
    return results


def main(argv: list[str]) -> None:
    del argv
    if not _EXPORTS.value or not _OUTPUT_JSON.value:
        raise app.UsageError("--exports and --output_json are required")
    batch_sizes, threads = common.integer_lists(_BATCH_SIZES, _THREADS)
    results = run(
        _EXPORTS.value,
        _ARTIFACTS.value,
        batch_sizes,
        threads,
        _REPEATS.value,
        _MIN_SECONDS.value,
        _MATMUL_SIZE.value,
        _DEVICE.value or None,
    )
    common.write_results(results, "benchmarks.inference_speed", _OUTPUT_JSON.value)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    app.run(main)
