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
of 8 records (the image differs only where OpenCV's fixed-point interpolation rounds).

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
import multiprocessing
import os
import sys
import time
from multiprocessing import shared_memory
from typing import Any

import cv2
import numpy as np
from absl import app, flags

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
# The baseline: numpy + OpenCV in worker processes. Nothing here imports TensorFlow, so the
# spawned workers stay plain Python processes.


def _crop_matrix(center, scale, rotation, flip, size, box_scale, offset) -> np.ndarray:
    """Same matrix as tfpose.data.transforms.crop_affine, in numpy (image → crop)."""
    zoom = size / (box_scale * 200.0 * scale)
    theta = np.deg2rad(rotation)
    cos, sin = np.cos(theta) * zoom, np.sin(theta) * zoom
    sign = -1.0 if flip else 1.0
    linear = np.array([[sign * cos, sign * sin], [-sin, cos]])
    half = (size - 1) / 2.0
    shift = half - linear @ center - offset
    return np.concatenate([linear, shift[:, None]], axis=1)


def _gaussian(maps, k, x, y, sigma, amplitude, truncate):
    """Patch-based Gaussian (the mmpose/hourglass habit): only the ±truncate·σ window, then
    the circular truncation tfpose uses."""
    height, width = maps.shape[:2]
    radius = truncate * sigma
    x0, x1 = max(int(np.ceil(x - radius)), 0), min(int(np.floor(x + radius)), width - 1)
    y0, y1 = max(int(np.ceil(y - radius)), 0), min(int(np.floor(y + radius)), height - 1)
    if x0 > x1 or y0 > y1:
        return
    xs = np.arange(x0, x1 + 1, dtype=np.float32)[None, :] - x
    ys = np.arange(y0, y1 + 1, dtype=np.float32)[:, None] - y
    d2 = xs * xs + ys * ys
    patch = amplitude * np.exp(-d2 / (2 * sigma * sigma))
    patch[d2 > radius * radius] = 0
    maps[y0 : y1 + 1, x0 : x1 + 1, k] = patch


def _disc(maps, k, x, y, radius):
    height, width = maps.shape[:2]
    x0, x1 = max(int(np.ceil(x - radius)), 0), min(int(np.floor(x + radius)), width - 1)
    y0, y1 = max(int(np.ceil(y - radius)), 0), min(int(np.floor(y + radius)), height - 1)
    if x0 > x1 or y0 > y1:
        return
    xs = np.arange(x0, x1 + 1, dtype=np.float32)[None, :] - x
    ys = np.arange(y0, y1 + 1, dtype=np.float32)[:, None] - y
    maps[y0 : y1 + 1, x0 : x1 + 1, k] = (xs * xs + ys * ys <= radius * radius).astype(np.float32)


def _limbs(points, limbs, size, along_f, across_f, amplitude, truncate):
    grid_x, grid_y = np.meshgrid(
        np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32)
    )
    maps = np.zeros((size, size, len(limbs)), np.float32)
    for index, (a, b) in enumerate(limbs):
        mid = (points[a] + points[b]) / 2
        delta = points[b] - points[a]
        length = float(np.hypot(*delta))
        ux, uy = (delta / length) if length > 0 else (1.0, 0.0)
        s_along, s_across = max(along_f * length, 0.5), max(across_f * length, 0.5)
        dx, dy = grid_x - mid[0], grid_y - mid[1]
        m2 = ((dx * ux + dy * uy) / s_along) ** 2 + ((dy * ux - dx * uy) / s_across) ** 2
        maps[..., index] = np.where(m2 <= truncate * truncate, amplitude * np.exp(-0.5 * m2), 0)
    return maps


def _weights(maps, visibility, in_crop, mode):
    """Occlusion-mode targets (``maps`` edited in place) and per-pixel weights."""
    weights = np.ones_like(maps)
    for c in range(maps.shape[-1]):
        if visibility[c] == 0:
            maps[..., c] = 0
            weights[..., c] = 0
        elif not in_crop[c]:
            maps[..., c] = 0
        elif visibility[c] == 1 and mode != "include":
            if mode == "ignore":
                weights[..., c][maps[..., c] > 0] = 0
            maps[..., c] = 0
    return maps, weights


def baseline_example(args: tuple[dict, dict, int]) -> dict[str, np.ndarray]:
    """One training example, numpy/OpenCV version of tfpose's example function."""
    record, setting, seed = args
    rng = np.random.default_rng(seed)
    image = cv2.imdecode(np.frombuffer(record["image_bytes"], np.uint8), cv2.IMREAD_COLOR)
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    aug = setting["augmentation"]
    if aug is None:  # the deterministic evaluation crop, for the agreement check
        scale_factor, rotation, flip = 1.0, 0.0, False
        offset = np.full(2, float(setting["margin"] // 2))
    else:
        scale_factor = rng.uniform(*aug["scale_range"]) if rng.random() < aug["scale_p"] else 1.0
        rotation = (
            rng.uniform(-aug["rotation"], aug["rotation"])
            if rng.random() < aug["rotation_p"]
            else 0.0
        )
        flip = rng.random() < aug["flip_p"]
        offset = rng.integers(0, setting["margin"] + 1, 2).astype(np.float64)
    size = setting["input_size"]
    scale = record["scale"] * scale_factor
    matrix = _crop_matrix(
        record["center"],
        scale,
        rotation,
        flip,
        size + setting["margin"],
        setting["box_scale"],
        offset,
    )
    fill = setting["fill"]
    crop = cv2.warpAffine(
        image,
        matrix,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(fill, fill, fill),
    ).astype(np.float32)
    if setting["normalization"] == "unit":
        crop /= 255.0
    else:
        crop = (crop - 128.0) / 256.0
    keypoints, visibility = record["keypoints"], record["visibility"]
    if flip:
        perm = setting["flip_permutation"]
        keypoints, visibility = keypoints[perm], visibility[perm]
    points = keypoints @ matrix[:, :2].T + matrix[:, 2]
    in_crop = np.all((points >= -0.5) & (points <= size - 0.5), axis=1)
    stride = setting["stride"]
    hm_size = size // stride
    hm_points = (points + 0.5) / stride - 0.5
    # Person height in crop pixels, as tfpose.data.targets.person_height.
    person = record["scale"] * 200.0 * np.sqrt(abs(np.linalg.det(matrix[:, :2])))
    out = {"image": crop, "keypoints": points.astype(np.float32), "visibility": visibility}
    num_k = len(keypoints)
    for head in setting["heads"]:
        if head["kind"] == "gaussian":
            sigma = head["sigma"]
            if head["units"] == "body":
                sigma = head["sigma"] * person / 200.0 / stride
            maps = np.zeros((hm_size, hm_size, num_k), np.float32)
            for k in range(num_k):
                _gaussian(maps, k, *hm_points[k], sigma, head["amplitude"], head["truncate"])
            channel_vis, channel_in = visibility, in_crop
        elif head["kind"] == "disc":
            radius = head["radius"] * person / 200.0 / stride
            maps = np.zeros((hm_size, hm_size, num_k), np.float32)
            for k in range(num_k):
                _disc(maps, k, *hm_points[k], radius)
            channel_vis, channel_in = visibility, in_crop
        else:
            limbs = setting["limbs"]
            maps = _limbs(
                hm_points,
                limbs,
                hm_size,
                head["along"],
                head["across"],
                head["amplitude"],
                head["truncate"],
            )
            channel_vis = np.array([min(visibility[a], visibility[b]) for a, b in limbs])
            channel_in = np.ones(len(limbs), bool)
        targets, weights = _weights(maps, channel_vis, channel_in, head["mode"])
        out["heatmaps/" + head["name"]] = targets
        out["weights/" + head["name"]] = weights
    return out


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core, as a DataLoader would be configured


def baseline_batch(args: tuple[list[dict], dict, int]) -> tuple[str, list]:
    """One collated batch, built in a worker straight into shared memory.

    This is what PyTorch's DataLoader does (workers collate into shared-memory tensors and
    send only a handle), so the baseline does not pay for pickling megabytes of maps.

    Returns:
      (shared-memory block name, [(key, dtype, shape, byte offset)]).
    """
    records, setting, first_seed = args
    examples = [baseline_example((r, setting, first_seed + i)) for i, r in enumerate(records)]
    layout, offset = [], 0
    for key, value in examples[0].items():
        shape = (len(examples),) + value.shape
        layout.append((key, value.dtype.str, shape, offset))
        offset += int(np.prod(shape)) * value.dtype.itemsize
    block = shared_memory.SharedMemory(create=True, size=max(offset, 1))
    for key, dtype, shape, start in layout:
        out = np.ndarray(shape, dtype, buffer=block.buf, offset=start)
        np.stack([e[key] for e in examples], out=out)  # the collate copy
    name = block.name
    block.close()
    return name, layout


def _receive(name: str, layout: list) -> int:
    """Maps a batch from shared memory (zero-copy, as DataLoader hands over its tensors),
    then frees it. Returns the batch size."""
    block = shared_memory.SharedMemory(name=name)
    batch = {
        key: np.ndarray(shape, dtype, buffer=block.buf, offset=start)
        for key, dtype, shape, start in layout
    }
    size = len(batch["image"])
    del batch
    block.close()
    block.unlink()
    return size


def baseline_throughput(
    records: list[dict], setting: dict, batch_size: int, num_examples: int, workers: int
) -> float:
    """Examples/s of the multiprocessing loader (after a warm-up of 2 batches per worker)."""
    context = multiprocessing.get_context("spawn")
    warmup = 2 * workers
    num_batches = warmup + max(num_examples // batch_size, 1)

    def jobs():
        for b in range(num_batches):
            chunk = [records[(b * batch_size + i) % len(records)] for i in range(batch_size)]
            yield chunk, setting, b * batch_size

    with context.Pool(workers, initializer=_init_worker) as pool:
        start = None
        for index, (name, layout) in enumerate(pool.imap(baseline_batch, jobs())):
            _receive(name, layout)
            if index + 1 == warmup:
                start = time.perf_counter()
        elapsed = time.perf_counter() - start
    return (num_batches - warmup) * batch_size / elapsed


# ------------------------------------------------------------------------------------------
# tfpose side and bookkeeping (TensorFlow imported lazily).


def _settings(skeleton) -> dict[str, Any]:
    from tfpose.data import pipeline

    return {
        "belagiannis": pipeline.belagiannis_config(skeleton),
        "bulat": pipeline.bulat_config(skeleton),
    }


def baseline_setting(config, skeleton) -> dict[str, Any]:
    """The PipelineConfig as plain numbers for the baseline workers."""
    from tfpose.data import targets as targets_lib

    heads = []
    for spec in config.targets:
        mode = spec.occlusion_mode or config.occlusion_mode
        if isinstance(spec, targets_lib.GaussianTarget):
            heads.append(
                {
                    "kind": "gaussian",
                    "name": spec.name,
                    "sigma": spec.sigma,
                    "units": spec.sigma_units,
                    "amplitude": spec.amplitude,
                    "truncate": spec.truncate,
                    "mode": mode,
                }
            )
        elif isinstance(spec, targets_lib.DiscTarget):
            heads.append({"kind": "disc", "name": spec.name, "radius": spec.radius, "mode": mode})
        else:
            heads.append(
                {
                    "kind": "limb",
                    "name": spec.name,
                    "along": spec.sigma_along,
                    "across": spec.sigma_across,
                    "amplitude": spec.amplitude,
                    "truncate": spec.truncate,
                    "mode": mode,
                }
            )
    aug = config.augmentation
    return {
        "input_size": config.input_size,
        "stride": config.heatmap_stride,
        "margin": config.crop.margin,
        "box_scale": config.crop.box_scale,
        "fill": config.crop.fill,
        "normalization": config.normalization,
        "flip_permutation": np.array(skeleton.flip_permutation),
        "limbs": list(skeleton.limbs),
        "heads": heads,
        "augmentation": {
            "scale_range": aug.scale_range,
            "scale_p": aug.scale_probability,
            "rotation": aug.rotation_max_deg,
            "rotation_p": aug.rotation_probability,
            "flip_p": aug.flip_probability,
        },
    }


def load_records(files: list[str], num_keypoints: int, limit: int) -> list[dict]:
    """Parsed records in memory for the baseline (its annotation file loaded at start-up)."""
    import tensorflow as tf

    from tfpose.data.example import parse_example

    dataset = tf.data.TFRecordDataset(files).take(limit)
    records = []
    for serialized in dataset:
        e = parse_example(serialized, num_keypoints)
        records.append(
            {
                "image_bytes": e["image_bytes"].numpy(),
                "keypoints": e["keypoints"].numpy().astype(np.float64),
                "visibility": e["visibility"].numpy(),
                "center": e["center"].numpy().astype(np.float64),
                "scale": float(e["scale"].numpy()),
                "image_id": e["image_id"].numpy().decode(),
            }
        )
    return records


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


def _map_throughput(files, fn, workers: int, count: int, batch_size: int = 20) -> float:
    """Examples/s of ``fn(index, serialized)`` mapped over the records on ``workers`` threads
    and batched (so that Python's per-element iteration cost does not hide the map's), after
    a warm-up of two batches."""
    import tensorflow as tf

    options = tf.data.Options()
    options.threading.private_threadpool_size = workers
    options.threading.max_intra_op_parallelism = 1  # as build_dataset

    def batchable(index, serialized):
        # An image not yet warped has its own size; its shape still needs the decoded pixels.
        example = dict(fn(index, serialized))
        if "image" in example and not example["image"].shape.is_fully_defined():
            example["image"] = tf.shape(example["image"])
        return example

    source = tf.data.TFRecordDataset(files).repeat().enumerate()
    dataset = source.map(batchable, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    iterator = iter(dataset.batch(batch_size).prefetch(2).with_options(options))
    for _ in range(2):
        next(iterator)
    batches = max(1, count // batch_size)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def stage_profile(files, skeleton, config, workers: int, num_examples: int) -> dict[str, Any]:
    """Where tfpose's time goes: examples/s after each per-example stage (cumulative), the
    batched targets alone, and one crop warp by TensorFlow against OpenCV (ms)."""
    import tensorflow as tf

    from tfpose.data import pipeline, transforms
    from tfpose.data.example import parse_example

    crop, size, aug = config.crop, config.input_size, config.augmentation

    def upto(stage):
        def fn(index, serialized):
            e = parse_example(serialized, skeleton.num_keypoints)
            if stage >= 1:
                e = transforms.decode_image(e)
            if stage >= 2:
                seed = tf.stack([tf.constant(0, tf.int64), index])
                e = transforms.random_crop_affine(
                    e, seed=seed, input_size=size, crop=crop, augmentation=aug
                )
            if stage >= 3:
                e = transforms.warp_crop(e, input_size=size, fill=crop.fill, method="fast")
            if stage >= 4:
                e = transforms.transform_keypoints(
                    e, flip_permutation=skeleton.flip_permutation, input_size=size
                )
                e = transforms.normalize_image(e, mode=config.normalization)
            return e

        return fn

    profile: dict[str, Any] = {}
    for stage, name in enumerate(["parse", "+decode", "+random_affine", "+warp", "+keypoints"]):
        rate = _map_throughput(files, upto(stage), workers, num_examples)
        profile[f"{name}_examples_per_s"] = round(rate)
    source = tf.data.TFRecordDataset(files).repeat().enumerate()
    example_fn = pipeline.make_example_fn(skeleton, config, training=True)
    batch = next(iter(source.map(lambda i, s: example_fn(s, tf.stack([i, i]))).batch(20)))
    targets_fn = tf.function(pipeline.make_targets_fn(skeleton, config))
    targets_fn(batch)
    start = time.perf_counter()
    for _ in range(10):
        targets_fn(batch)
    profile["targets_ms_per_example"] = round((time.perf_counter() - start) / 200 * 1e3, 3)
    # One crop of a 200 × 150 image, bilinear, constant fill.
    image = np.random.default_rng(0).integers(0, 255, (150, 200, 3)).astype(np.uint8)
    affine = transforms.crop_affine([100.0, 75.0], 0.8, 20.0, False, size, crop.box_scale)
    warp = tf.function(
        lambda: transforms.warp_image(tf.cast(image, tf.float32), affine, size, crop.fill)
    )
    warp()
    start = time.perf_counter()
    for _ in range(200):
        warp()
    profile["warp_ms_tensorflow"] = round((time.perf_counter() - start) / 200 * 1e3, 3)
    compiled = tf.function(
        lambda: transforms.warp_image_compiled(tf.constant(image), affine, size, crop.fill)
    )
    compiled()
    start = time.perf_counter()
    for _ in range(200):
        compiled()
    profile["warp_ms_tensorflow_compiled"] = round((time.perf_counter() - start) / 200 * 1e3, 3)
    upright = transforms.crop_affine([100.0, 75.0], 0.8, 0.0, False, size, crop.box_scale)
    axis_aligned = tf.function(
        lambda: transforms.warp_image_axis_aligned(tf.constant(image), upright, size, crop.fill)
    )
    axis_aligned()
    start = time.perf_counter()
    for _ in range(200):
        axis_aligned()
    profile["warp_ms_tensorflow_axis_aligned"] = round((time.perf_counter() - start) / 200 * 1e3, 3)
    matrix = affine.numpy().astype(np.float64)
    start = time.perf_counter()
    for _ in range(200):
        cv2.warpAffine(
            image,
            matrix,
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(crop.fill,) * 3,
        )
    profile["warp_ms_opencv"] = round((time.perf_counter() - start) / 200 * 1e3, 3)
    return profile


def warp_comparison(files, skeleton, config, workers, num_examples, repeats) -> dict[str, Any]:
    """Examples/s of parse + decode + random crop + warp with each warp method
    (``ImageProjectiveTransformV3``, the XLA-compiled warp and the pipeline's "fast" choice per
    crop), alternating; and without any warp, for reference."""
    import tensorflow as tf

    from tfpose.data import transforms
    from tfpose.data.example import parse_example

    crop, size, aug = config.crop, config.input_size, config.augmentation

    def make(warp: str):
        def fn(index, serialized):
            e = transforms.decode_image(parse_example(serialized, skeleton.num_keypoints))
            seed = tf.stack([tf.constant(0, tf.int64), index])
            e = transforms.random_crop_affine(
                e, seed=seed, input_size=size, crop=crop, augmentation=aug
            )
            if warp != "none":
                e = transforms.warp_crop(e, input_size=size, fill=crop.fill, method=warp)
            return e

        return fn

    # The first pass compiles every image-size bucket once.
    _map_throughput(files, make("compiled"), workers, 3 * num_examples)
    runs: dict[str, list[float]] = {"none": [], "projective": [], "compiled": [], "fast": []}
    for _ in range(repeats):
        for warp in runs:
            runs[warp].append(round(_map_throughput(files, make(warp), workers, num_examples), 1))
    return {f"{warp}_runs": values for warp, values in runs.items()} | {
        f"{warp}_examples_per_s": float(np.median(values)) for warp, values in runs.items()
    }


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
    results["command"] = " ".join(["python -m benchmarks.pipeline"] + sys.argv[1:])
    with open(_OUTPUT_JSON.value, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    # `python benchmarks/pipeline.py` from a checkout works as well as `-m benchmarks.pipeline`.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    app.run(main)
