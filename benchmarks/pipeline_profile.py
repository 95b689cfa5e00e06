"""Where tfpose's pipeline time goes (``python -m benchmarks.pipeline --profile``) and the warp
kernels side by side (``--compare_warps``).

TensorFlow and tfpose are imported lazily, as in ``benchmarks/pipeline.py``.
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from benchmarks import common


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


def _milliseconds(fn, calls: int = 200, items: int | None = None, warm_up: bool = True) -> float:
    """Milliseconds per call of ``fn`` (per item when a call does ``items / calls`` items) over
    ``calls`` timed calls, after one untimed call when ``warm_up``."""
    if warm_up:
        fn()
    return round(common.seconds_per_call(fn, calls) * calls / (items or calls) * 1e3, 3)


def stage_profile(files, skeleton, config, workers: int, num_examples: int) -> dict[str, Any]:
    """Where tfpose's time goes: examples/s after each per-example stage (cumulative), the
    batched targets alone, and one crop warp by TensorFlow against OpenCV (ms)."""
    import tensorflow as tf

    from benchmarks import xla_warp
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
    profile["targets_ms_per_example"] = _milliseconds(lambda: targets_fn(batch), 10, items=200)
    # One crop of a 200 × 150 image, bilinear, constant fill.
    image = np.random.default_rng(0).integers(0, 255, (150, 200, 3)).astype(np.uint8)
    affine = transforms.crop_affine([100.0, 75.0], 0.8, 20.0, False, size, crop.box_scale)
    warp = tf.function(
        lambda: transforms.warp_image(tf.cast(image, tf.float32), affine, size, crop.fill)
    )
    profile["warp_ms_tensorflow"] = _milliseconds(warp)
    compiled = tf.function(
        lambda: xla_warp.warp_image_compiled(tf.constant(image), affine, size, crop.fill)
    )
    profile["warp_ms_tensorflow_compiled"] = _milliseconds(compiled)
    upright = transforms.crop_affine([100.0, 75.0], 0.8, 0.0, False, size, crop.box_scale)
    axis_aligned = tf.function(
        lambda: transforms.warp_image_axis_aligned(tf.constant(image), upright, size, crop.fill)
    )
    profile["warp_ms_tensorflow_axis_aligned"] = _milliseconds(axis_aligned)
    matrix = affine.numpy().astype(np.float64)
    profile["warp_ms_opencv"] = _milliseconds(
        lambda: cv2.warpAffine(
            image,
            matrix,
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(crop.fill,) * 3,
        ),
        warm_up=False,
    )
    return profile


def warp_comparison(files, skeleton, config, workers, num_examples, repeats) -> dict[str, Any]:
    """Examples/s of parse + decode + random crop + warp with each warp method
    (``ImageProjectiveTransformV3``, the XLA-compiled warp of ``benchmarks/xla_warp.py`` and the
    pipeline's "fast" choice per crop), alternating; and without any warp, for reference."""
    import tensorflow as tf

    from benchmarks import xla_warp
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
            if warp == "compiled":
                e = xla_warp.warp_crop_compiled(e, input_size=size, fill=crop.fill)
            elif warp != "none":
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
