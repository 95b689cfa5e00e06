"""What every speed benchmark shares: the machine's description, alternating timed repeats and
the machine's own matrix-multiply peak.

Figures from a shared machine move with its load, so the scripts measure every candidate of a
table in the same run, alternating (candidate A, B, C, A, B, C, ...), keep every run and report
medians; ratios between candidates of one run are the robust result.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (``os.getloadavg``)."""
    return [round(value, 2) for value in os.getloadavg()]


def cpu_model() -> str:
    """``model name`` from ``/proc/cpuinfo`` (``platform.processor()`` where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_vector_flags() -> list[str]:
    """The SIMD features that decide CPU matmul speed (AVX2, FMA, AVX-512 variants, AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return sorted(f for f in flags if f.startswith(("avx", "fma", "amx")))
    except OSError:
        pass
    return []


def machine_info() -> dict[str, Any]:
    """Where a benchmark ran: cores, CPU, load, library versions, visible GPUs."""
    import tensorflow as tf

    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "cpu_vector_flags": cpu_vector_flags(),
        "load_average_start": load_average(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def alternate(
    candidates: Mapping[str, Callable[[], Any]], repeats: int, verbose: bool = True
) -> dict[str, Any]:
    """Runs every candidate's measurement once per repeat, in turn, ``repeats`` times.

    Args:
      candidates: name → a function doing one timed measurement and returning its figure, or
        a dict of figures (e.g. wall and CPU time).
      repeats: measurements per candidate.
      verbose: print each figure as it comes.

    Returns:
      name → the ``repeats`` figures in the order measured (a list, or a dict of lists when
      the measurement returns dicts).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    runs: dict[str, Any] = {}
    for repeat in range(repeats):
        for name, measure in candidates.items():
            value = measure()
            if isinstance(value, Mapping):
                fields = runs.setdefault(name, {})
                for key, figure in value.items():
                    fields.setdefault(key, []).append(float(figure))
                shown = ", ".join(f"{k} {v:.4g}" for k, v in value.items())
            else:
                runs.setdefault(name, []).append(float(value))
                shown = f"{float(value):.4g}"
            if verbose:
                print(f"  repeat {repeat + 1}/{repeats} {name}: {shown}", flush=True)
    return runs


def summary(runs: list[float], digits: int = 4) -> dict[str, Any]:
    """``{"median", "min", "max", "runs"}`` of a list of figures, rounded to ``digits``
    significant digits."""

    def r(value: float) -> float:
        return float(f"{value:.{digits}g}")

    return {
        "median": r(statistics.median(runs)),
        "min": r(min(runs)),
        "max": r(max(runs)),
        "runs": [r(v) for v in runs],
    }


def timed_calls(fn: Callable[[], Any], min_seconds: float) -> dict[str, float]:
    """Calls ``fn`` back to back for at least ``min_seconds`` (at least once).

    Returns:
      ``{"ms": wall ms per call, "cpu_ms": process CPU ms per call}``. On a machine shared
      with other jobs the wall time moves with their load; the CPU time (all threads of this
      process) does much less, so GFLOP per CPU-second is the steadier efficiency figure
      (threads that spin while waiting count as busy, which errs on the low side).
    """
    calls, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while calls == 0 or time.perf_counter() - start < min_seconds:
        fn()
        calls += 1
    return {
        "ms": (time.perf_counter() - start) / calls * 1e3,
        "cpu_ms": (time.process_time() - cpu_start) / calls * 1e3,
    }


def seconds_per_call(fn: Callable[[], Any], calls: int) -> float:
    """Wall seconds per call of ``fn`` over ``calls`` back-to-back calls (``fn`` must return
    only once its work is done, e.g. by fetching a result to the host)."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def matmul_peak(size: int = 2048, repeats: int = 7, device: str | None = None) -> dict[str, Any]:
    """The machine's measured float32 matrix-multiply rate: the reference "peak" of a CPU.

    Multiplies two float32 ``size`` × ``size`` matrices (2·size³ FLOPs) with
    ``tf.linalg.matmul`` (inside a ``tf.function``, on ``device`` when given) and with
    ``numpy.matmul``, ``repeats`` times each after one warm-up, and keeps the best of each.

    Returns:
      ``{"size", "tensorflow_gflops", "numpy_gflops", "peak_gflops"}`` (peak: the larger, in
      wall-clock GFLOP/s) and ``peak_gflops_per_cpu_second`` (FLOPs over the process CPU time
      of the best run: the rate per busy core, which load on the machine changes much less).
    """
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    flops = 2.0 * size**3
    with tf.device(device or "/cpu:0"):
        ta, tb = tf.constant(a), tf.constant(b)
        # Reduce on the device, so the timing includes the product but not a host copy.
        product = tf.function(lambda: tf.reduce_sum(tf.linalg.matmul(ta, tb)[0, :1]))
        product().numpy()
        tf_runs = [timed_calls(lambda: product().numpy(), 0) for _ in range(repeats)]
    np.matmul(a, b)
    np_runs = [timed_calls(lambda: np.matmul(a, b), 0) for _ in range(repeats)]
    tf_gflops = flops / min(r["ms"] for r in tf_runs) / 1e6
    np_gflops = flops / min(r["ms"] for r in np_runs) / 1e6
    per_cpu = flops / min(r["cpu_ms"] for r in tf_runs + np_runs) / 1e6
    return {
        "size": size,
        "tensorflow_gflops": round(tf_gflops, 1),
        "numpy_gflops": round(np_gflops, 1),
        "peak_gflops": round(max(tf_gflops, np_gflops), 1),
        "peak_gflops_per_cpu_second": round(per_cpu, 1),
    }


def profile_ops(fn: Callable[[], Any], calls: int, logdir: str, top: int = 12) -> dict[str, Any]:
    """Where the time of ``fn`` goes, by the TensorFlow profiler.

    Traces ``calls`` calls of ``fn`` (already warmed up) with ``tf.profiler.experimental``
    into ``logdir`` (viewable in TensorBoard's profile tab) and sums the duration of every
    TensorFlow op executed on the host's executor threads, by op type and by op name.

    Returns:
      ``{"logdir", "op_ms_per_call", "by_type": {type: share}, "top_ops": {name: share}}``,
      shares of the summed op time (ops on two threads at once both count).
    """
    import glob

    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    tf.profiler.experimental.start(logdir)
    try:
        for _ in range(calls):
            fn()
    finally:
        tf.profiler.experimental.stop()
    paths = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))
    if not paths:
        raise FileNotFoundError(f"the profiler wrote no *.xplane.pb under {logdir}")
    space = xplane_pb2.XSpace()
    with open(max(paths, key=os.path.getmtime), "rb") as f:
        space.ParseFromString(f.read())
    by_type: dict[str, float] = {}
    by_name: dict[str, float] = {}
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or "::" in name:
                    continue  # executor bookkeeping, not an op ("op/name:OpType")
                op_name, op_type = name.rsplit(":", 1)
                by_type[op_type] = by_type.get(op_type, 0.0) + event.duration_ps
                by_name[op_name] = by_name.get(op_name, 0.0) + event.duration_ps
    total = sum(by_type.values()) or 1.0

    def shares(table: dict[str, float]) -> dict[str, float]:
        ranked = sorted(table.items(), key=lambda item: -item[1])[:top]
        return {key: round(value / total, 4) for key, value in ranked}

    return {
        "logdir": logdir,
        "calls": calls,
        "op_ms_per_call": round(total / 1e9 / calls, 2),
        "by_type": shares(by_type),
        "top_ops": shares(by_name),
    }


_ONE_THREAD_MATMUL = """
import sys, time
import numpy as np
size, repeats = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
a = rng.standard_normal((size, size), dtype=np.float32)
b = rng.standard_normal((size, size), dtype=np.float32)
np.matmul(a, b)
best = float("inf")
for _ in range(repeats):
    start = time.perf_counter()
    np.matmul(a, b)
    best = min(best, time.perf_counter() - start)
print(2.0 * size**3 / best / 1e9)
"""


def matmul_peak_one_thread(size: int = 2048, repeats: int = 7) -> float:
    """GFLOP/s of a float32 ``numpy.matmul`` limited to one thread (best of ``repeats``): the
    reference for one-thread runtimes. Runs in a subprocess, because BLAS reads its thread
    count once, at import."""
    import subprocess

    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    output = subprocess.run(
        [sys.executable, "-c", _ONE_THREAD_MATMUL, str(size), str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return round(float(output.stdout.strip().splitlines()[-1]), 1)


def command_line(module: str) -> str:
    """The command that produced a result, for its JSON."""
    return " ".join([f"python -m {module}"] + sys.argv[1:])


def write_json(results: Mapping[str, Any], path: str) -> None:
    """Writes ``results`` (indented), creating the folder."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2)


def integer_lists(*flag_holders) -> list[list[int]]:
    """The values of absl list flags as integers, one list per flag.

    Raises:
      absl.app.UsageError: a value is not an integer (the message names the flags).
    """
    from absl import app

    try:
        return [[int(value) for value in holder.value] for holder in flag_holders]
    except ValueError:
        names = [f"--{holder.name}" for holder in flag_holders]
        listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        raise app.UsageError(f"{listed} take integers") from None


def write_results(results: dict[str, Any], module: str, path: str) -> None:
    """Adds the command line of ``module`` to ``results`` and writes them to ``path``."""
    results["command"] = command_line(module)
    write_json(results, path)
    print(f"wrote {path}")
