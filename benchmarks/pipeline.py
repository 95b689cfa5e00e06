r"""Training-pipeline throughput: tfpose's tf.data pipeline against a conventional loader.

The baseline does the same work the way most pose repositories do it: a Python data loader
with worker processes (``multiprocessing``, like PyTorch's ``DataLoader``) that decodes with
OpenCV, augments with ``cv2.warpAffine`` and draws the target maps with numpy (per-joint
patches, as mmpose and the hourglass code do), one example at a time; each worker collates its
batch straight into shared memory and hands over only a handle, as ``DataLoader`` does. Its
records are parsed into memory beforehand (its "annotation file"), so it does no record I/O.
Both sides apply the same random crop (scale, rotation, flip, random window) and produce the
same outputs: the normalised crop, keypoints, visibility and every target head with its
weights. ``max_abs_difference_to_baseline`` in the JSON checks that on the deterministic crop
of 8 records (the image differs only where OpenCV's fixed-point interpolation rounds). The
baseline is ``benchmarks/pipeline_baseline.py``, the ``--profile`` and ``--compare_warps``
measurements ``benchmarks/pipeline_profile.py``.

The sides are measured alternately ``--repeats`` times per setting (the machine's load changes
under a run); the JSON keeps every run and reports the medians.

Command (as run for docs/benchmarks.md)::

    python -m tfpose.data.convert --dataset=lspet --data_dir=../shared/data/lspet \
        --output_dir=runs/lspet_records
    python -m benchmarks.pipeline --records=runs/lspet_records --workers=2 --num_examples=1200 \
        --repeats=5 --output_json=runs/pipeline_benchmark.json
    # Where tfpose's time goes (adds a "profile" entry per setting):
    python -m benchmarks.pipeline --records=runs/lspet_records --repeats=1 --profile \
        --output_json=runs/pipeline_profile.json

Settings: ``belagiannis`` (248 crop → 62 × 62 keypoint + limb maps, batch 20) and ``bulat``
(256 crop → 256 × 256 detection discs + regression Gaussians, batch 8). The JSON holds, per
setting, ``tfpose_examples_per_s``, ``baseline_examples_per_s`` and ``ratio``. This is a
measurement, not a test: the numbers depend on the machine and on its load.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np
from absl import app, flags

from benchmarks import common
from benchmarks.pipeline_baseline import (
    baseline_example,
    baseline_setting,
    baseline_throughput,
    load_records,
)
from benchmarks.pipeline_profile import stage_profile, warp_comparison

_RECORDS = flags.DEFINE_string(
    "records", None, "Manifest directory, or comma-separated TFRecord files/patterns."
)
_SPLIT = flags.DEFINE_string("split", "train", "Manifest split to read.")
_OUTPUT_JSON = flags.DEFINE_string("output_json", None, "Where to write the results.")
_WORKERS = flags.DEFINE_integer("workers", 2, "Worker threads (tfpose) / processes (baseline).")
_SETTINGS = flags.DEFINE_list("settings", ["belagiannis", "bulat"], "Settings to measure.")
_NUM_EXAMPLES = flags.DEFINE_integer(
    "num_examples", 600, "Examples timed per side and setting (after a warm-up)."
)
_REPEATS = flags.DEFINE_integer(
    "repeats", 3, "Alternating tfpose/baseline measurements per setting; medians are reported."
)
_PROFILE = flags.DEFINE_boolean(
    "profile", False, "Also time tfpose's per-example stages and the warp alone (JSON 'profile')."
)
_COMPARE_WARPS = flags.DEFINE_boolean(
    "compare_warps",
    False,
    "Also time decode + random crop + warp with each warp method (projective, compiled, fast), "
    "alternating (JSON 'warp_comparison').",
)
_MAX_RECORDS = flags.DEFINE_integer(
    "max_records", 2000, "Records held in memory for the baseline (cycled)."
)

BATCH_SIZES = {"belagiannis": 20, "bulat": 8}


# ------------------------------------------------------------------------------------------
# tfpose side and bookkeeping (TensorFlow imported lazily).


def _settings(skeleton) -> dict[str, Any]:
    from tfpose.data import pipeline

    return {
        "belagiannis": pipeline.belagiannis_config(skeleton),
        "bulat": pipeline.bulat_config(skeleton),
    }


def agreement(files, skeleton, config, count: int = 8) -> dict[str, float]:
    """Largest absolute difference per output between tfpose and the baseline on the
    deterministic (evaluation) crop of ``count`` records: evidence that both do the same work.
    """
    from tfpose.data import pipeline

    dataset = pipeline.build_dataset(
        files[:1], skeleton, config, training=False, batch_size=count, deterministic=True
    )
    ours = {k: v.numpy() for k, v in next(iter(dataset)).items()}
    by_id = {r["image_id"]: r for r in load_records(files[:1], skeleton.num_keypoints, count)}
    setting = dict(baseline_setting(config, skeleton), augmentation=None)
    differences: dict[str, float] = {}
    for i, image_id in enumerate(ours["image_id"]):
        theirs = baseline_example((by_id[image_id.decode()], setting, 0))
        for key, value in theirs.items():
            gap = float(np.abs(ours[key][i] - value).max())
            differences[key] = max(differences.get(key, 0.0), gap)
    return {k: round(v, 5) for k, v in differences.items()}


def tfpose_throughput(files, skeleton, config, batch_size, num_examples, workers) -> float:
    """Examples/s of build_dataset on a private pool of ``workers`` threads."""
    from tfpose.data import pipeline

    dataset = pipeline.build_dataset(
        files,
        skeleton,
        config,
        training=True,
        batch_size=batch_size,
        seed=0,
        deterministic=False,
        threads=workers,
    )
    iterator = iter(dataset)
    for _ in range(3):
        next(iterator)
    num_batches = max(num_examples // batch_size, 1)
    start = time.perf_counter()
    for _ in range(num_batches):
        next(iterator)
    return num_batches * batch_size / (time.perf_counter() - start)


def run(
    records: str,
    split: str,
    workers: int,
    settings: list[str],
    num_examples: int,
    max_records: int,
    repeats: int = 3,
    profile: bool = False,
    compare_warps: bool = False,
) -> dict[str, Any]:
    """Measures every setting; returns the JSON-ready results."""
    import tensorflow as tf

    from tfpose.data.pipeline import resolve_records
    from tfpose.skeletons import get_skeleton

    tf.config.threading.set_intra_op_parallelism_threads(workers)
    tf.config.threading.set_inter_op_parallelism_threads(workers)
    files, skeleton = resolve_records(records, split)
    if skeleton is None:
        first = next(iter(tf.data.TFRecordDataset(files[:1])))
        name = tf.train.Example.FromString(first.numpy()).features.feature["skeleton"]
        skeleton = get_skeleton(name.bytes_list.value[0].decode())
    configs = _settings(skeleton)
    unknown = [s for s in settings if s not in configs]
    if unknown:
        raise ValueError(f"--settings: unknown {unknown}; known: {sorted(configs)}")
    in_memory = load_records(files, skeleton.num_keypoints, max_records)
    results: dict[str, Any] = {
        "records": records,
        "workers": workers,
        "cpu_count": os.cpu_count(),
        "num_examples": num_examples,
        "repeats": repeats,
    }
    for name in settings:
        config, batch_size = configs[name], BATCH_SIZES[name]
        # The first pass (autotuning from cold, and any one-off compilation) is reported on
        # its own; the timed runs follow it.
        first_pass = tfpose_throughput(files, skeleton, config, batch_size, num_examples, workers)
        # Alternate the two sides so that a change in machine load hits both.
        ours_runs, theirs_runs = [], []
        for _ in range(repeats):
            ours_runs.append(
                tfpose_throughput(files, skeleton, config, batch_size, num_examples, workers)
            )
            theirs_runs.append(
                baseline_throughput(
                    in_memory,
                    baseline_setting(config, skeleton),
                    batch_size,
                    num_examples,
                    workers,
                )
            )
        ours, theirs = float(np.median(ours_runs)), float(np.median(theirs_runs))
        results[name] = {
            "max_abs_difference_to_baseline": agreement(files, skeleton, config),
            "batch_size": batch_size,
            "input_size": config.input_size,
            "heatmap_size": config.heatmap_size,
            "heads": list(config.target_names),
            "tfpose_first_pass_examples_per_s": round(first_pass, 1),
            "tfpose_runs": [round(r, 1) for r in ours_runs],
            "baseline_runs": [round(r, 1) for r in theirs_runs],
            "tfpose_examples_per_s": round(ours, 1),
            "baseline_examples_per_s": round(theirs, 1),
            "ratio": round(ours / theirs, 2),
        }
        if profile:
            results[name]["profile"] = stage_profile(files, skeleton, config, workers, num_examples)
        if compare_warps:
            results[name]["warp_comparison"] = warp_comparison(
                files, skeleton, config, workers, num_examples, repeats
            )
        print(name, json.dumps(results[name]), flush=True)
    return results


def main(argv: list[str]) -> None:
    del argv
    if not _RECORDS.value or not _OUTPUT_JSON.value:
        raise app.UsageError("--records and --output_json are required")
    results = run(
        _RECORDS.value,
        _SPLIT.value,
        _WORKERS.value,
        _SETTINGS.value,
        _NUM_EXAMPLES.value,
        _MAX_RECORDS.value,
        _REPEATS.value,
        _PROFILE.value,
        _COMPARE_WARPS.value,
    )
    results["command"] = common.command_line("benchmarks.pipeline")
    common.write_json(results, _OUTPUT_JSON.value)


if __name__ == "__main__":
    app.run(main)
