"""The baseline of ``benchmarks/pipeline.py``: a conventional loader in numpy and OpenCV.

It does the same work as tfpose's pipeline the way most pose repositories do it: a Python data
loader with worker processes (``multiprocessing``, like PyTorch's ``DataLoader``) that decodes
with OpenCV, augments with ``cv2.warpAffine`` and draws the target maps with numpy (per-joint
patches, as mmpose and the hourglass code do), one example at a time; each worker collates its
batch straight into shared memory and hands over only a handle, as ``DataLoader`` does. Its
records are parsed into memory beforehand (:func:`load_records`, its "annotation file"), so it
does no record I/O.

Nothing here imports TensorFlow at import time (:func:`baseline_setting` and
:func:`load_records` import tfpose lazily), so the spawned workers stay plain Python processes.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing import shared_memory
from typing import Any

import cv2
import numpy as np


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


def _window(maps, x, y, radius):
    """The pixels of ``maps`` within ``radius`` of (x, y) along each axis: ``(x0, x1, y0, y1)``
    (inclusive) and the offsets ``xs`` [1, w], ``ys`` [h, 1] of their centres from (x, y);
    ``None`` when the window lies outside the map."""
    height, width = maps.shape[:2]
    x0, x1 = max(int(np.ceil(x - radius)), 0), min(int(np.floor(x + radius)), width - 1)
    y0, y1 = max(int(np.ceil(y - radius)), 0), min(int(np.floor(y + radius)), height - 1)
    if x0 > x1 or y0 > y1:
        return None
    xs = np.arange(x0, x1 + 1, dtype=np.float32)[None, :] - x
    ys = np.arange(y0, y1 + 1, dtype=np.float32)[:, None] - y
    return (x0, x1, y0, y1), xs, ys


def _gaussian(maps, k, x, y, sigma, amplitude, truncate):
    """Patch-based Gaussian (the mmpose/hourglass habit): only the ±truncate·σ window, then
    the circular truncation tfpose uses."""
    radius = truncate * sigma
    window = _window(maps, x, y, radius)
    if window is None:
        return
    (x0, x1, y0, y1), xs, ys = window
    d2 = xs * xs + ys * ys
    patch = amplitude * np.exp(-d2 / (2 * sigma * sigma))
    patch[d2 > radius * radius] = 0
    maps[y0 : y1 + 1, x0 : x1 + 1, k] = patch


def _disc(maps, k, x, y, radius):
    window = _window(maps, x, y, radius)
    if window is None:
        return
    (x0, x1, y0, y1), xs, ys = window
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
