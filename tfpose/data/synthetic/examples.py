"""Examples: rendering scenes into PoseExamples, (parallel) generation and a speed benchmark."""

from __future__ import annotations

import functools
import multiprocessing
import time
from collections.abc import Iterator

import cv2
import numpy as np

from tfpose.data.example import (
    NOT_ANNOTATED,
    OCCLUDED,
    SCALE_UNIT_PX,
    VISIBLE,
    PoseExample,
)
from tfpose.data.synthetic.config import DATASET_NAME, SKELETON, Scene, SyntheticConfig
from tfpose.data.synthetic.render import render_scene
from tfpose.data.synthetic.sampling import sample_scene


def scene_to_example(scene: Scene, jpeg_quality: int = 90) -> PoseExample:
    """Renders ``scene`` and packs its main person into a :class:`PoseExample`."""
    rendered = render_scene(scene)
    ok, encoded = cv2.imencode(".jpg", rendered.image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {scene.image_id}")
    height, width = rendered.image.shape[:2]
    return PoseExample(
        image_bytes=encoded.tobytes(),
        image_format="jpeg",
        image_height=height,
        image_width=width,
        image_id=scene.image_id,
        keypoints=rendered.keypoints,
        visibility=rendered.visibility,
        center=np.asarray(scene.main.torso_center, np.float32),
        scale=scene.main.height_px / SCALE_UNIT_PX,
        dataset=DATASET_NAME,
        skeleton=SKELETON.name,
        head_box=rendered.head_box,
        occlusion_labelled=True,
    )


def generate_example(
    seed: int,
    index: int,
    config: SyntheticConfig = SyntheticConfig(),  # noqa: B008
) -> PoseExample:
    """Example ``index`` of the synthetic dataset ``seed``.

    Args:
      seed: non-negative dataset seed.
      index: non-negative example index; each index is independent of every other.
      config: generator knobs.

    Returns:
      A :class:`PoseExample` (MPII skeleton, JPEG image of ``config`` size, head box,
      occlusion labels; ``center`` is the middle of the thorax and the pelvis and ``scale`` the
      standing height / 200 px).
    """
    return scene_to_example(sample_scene(seed, index, config), config.jpeg_quality)


def _init_worker() -> None:
    # One process per core already; OpenCV's own threads would only compete with it.
    cv2.setNumThreads(1)


def generate_examples(
    num_examples: int,
    seed: int,
    config: SyntheticConfig = SyntheticConfig(),  # noqa: B008
    start: int = 0,
    num_workers: int = 1,
) -> Iterator[PoseExample]:
    """Yields examples ``start, ..., start + num_examples - 1`` in index order.

    With ``num_workers > 1`` the examples are made by a pool of processes; the order and
    content are identical to ``num_workers=1``.
    """
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    indices = range(start, start + num_examples)
    if num_workers == 1 or num_examples <= 1:
        for index in indices:
            yield generate_example(seed, index, config)
        return
    # Fresh ("spawn") workers: a forked child that touches OpenCV's thread pool, inherited from
    # a parent that already used it, can deadlock (seen in pthread_cond_destroy).
    context = multiprocessing.get_context("spawn")
    chunksize = max(1, min(64, num_examples // (8 * num_workers)))
    work = functools.partial(generate_example, seed, config=config)
    with context.Pool(num_workers, initializer=_init_worker) as pool:
        yield from pool.imap(work, indices, chunksize=chunksize)


def benchmark(num_examples: int, seed: int = 0, num_workers: int = 1) -> dict[str, float]:
    """Times the generation of ``num_examples`` examples and summarises their labels."""
    start = time.perf_counter()
    counts = np.zeros(3, np.int64)
    for example in generate_examples(num_examples, seed, num_workers=num_workers):
        counts += np.bincount(example.visibility, minlength=3)
    seconds = time.perf_counter() - start
    total = max(int(counts.sum()), 1)
    return {
        "examples": float(num_examples),
        "seconds": seconds,
        "examples_per_second": num_examples / max(seconds, 1e-9),
        "visible_fraction": counts[VISIBLE] / total,
        "occluded_fraction": counts[OCCLUDED] / total,
        "outside_fraction": counts[NOT_ANNOTATED] / total,
    }
