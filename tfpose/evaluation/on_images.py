"""Scoring a :class:`~tfpose.inference.Predictor` on the photos of converted records.

:mod:`tfpose.evaluation.on_records` scores a model on the crops the data pipeline cuts around
each annotated person. A user's photo has no annotation: here the predictor gets the decoded
photo itself, as a user would give it, and finds the person on its own
(``region="whole_image"``, with ``refine`` passes), or is given the person region derived from
the annotation (``region="annotation"``: the square of side ``box_scale · 200 · scale`` around
the annotated centre, the crop the pipeline evaluates on).

Shape legend: N persons, K keypoints; points are (x, y) image pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import tensorflow as tf

from tfpose.data.example import parse_example
from tfpose.data.records import Manifest
from tfpose.skeletons import LSP, get_skeleton

REGIONS = ("whole_image", "annotation")
# LSP's joints without neck and head top: what every peer (e.g. MediaPipe) predicts.
BODY_JOINTS = tuple(n for n in LSP.joint_names if n not in ("neck", "head_top"))


def iterate_photos(
    records: str, split: str, max_examples: int | None = None
) -> Iterator[dict[str, Any]]:
    """The examples of ``records``/``split`` with their decoded RGB photo (uint8 [H, W, 3])."""
    manifest = Manifest.load(records)
    files = manifest.files(split)
    dataset = tf.data.TFRecordDataset(files)
    if max_examples:
        dataset = dataset.take(max_examples)
    for serialized in dataset:
        example = parse_example(serialized, manifest.num_keypoints)
        image = tf.io.decode_image(example["image_bytes"], channels=3, expand_animations=False)
        yield {
            "image": image.numpy(),
            **{k: v.numpy() for k, v in example.items() if k not in ("image_bytes",)},
        }


def predict_photos(
    predictor,
    records: str,
    split: str = "test",
    *,
    region: str = "whole_image",
    refine: int | None = None,
    flip_test: bool | None = None,
    max_examples: int | None = None,
    batch_size: int = 16,
    progress=None,
) -> dict[str, np.ndarray]:
    """Runs ``predictor`` on every photo of a split; returns what :func:`score_photos` reads.

    Args:
      predictor: a :class:`tfpose.inference.Predictor` whose skeleton is the records'.
      records: a converted dataset folder (manifest.json).
      split: the split to read.
      region: ``"whole_image"`` or ``"annotation"`` (see the module docstring).
      refine, flip_test: passed to :meth:`Predictor.predict` (None = its defaults).
      max_examples: the first N examples only.
      batch_size: photos per predictor call.
      progress: optional callable ``(count) -> None`` called after each batch.

    Returns:
      ``pred_keypoints`` / ``gt_keypoints`` [N, K, 2], ``confidence`` [N, K], ``visibility``
      [N, K] (annotation), ``head_box`` [N, 4], ``has_head_box`` [N], ``occlusion_labelled``
      [N], ``image_id`` [N] (str), ``image_size`` [N, 2], ``coco_id`` [N], ``area`` [N].

    Raises:
      ValueError: unknown ``region``, or the records' skeleton is not the predictor's.
    """
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    manifest = Manifest.load(records)
    if get_skeleton(manifest.skeleton).name != predictor.skeleton.name:
        raise ValueError(
            f"{records}: records use the {manifest.skeleton!r} skeleton, the model "
            f"{predictor.skeleton.name!r}; evaluate on records of the model's skeleton"
        )
    box_scale = predictor.spec.box_scale
    collected: dict[str, list] = {}
    batch: list[dict[str, Any]] = []

    def flush():
        images = [example["image"] for example in batch]
        boxes = None
        if region == "annotation":
            boxes = [_annotation_region(example, box_scale) for example in batch]
        result = predictor.predict(images, boxes, refine=refine, flip_test=flip_test)
        values = {
            "pred_keypoints": result.keypoints,
            "confidence": result.confidence,
            "gt_keypoints": np.stack([e["keypoints"] for e in batch]),
            "visibility": np.stack([e["visibility"] for e in batch]),
            "head_box": np.stack([e["head_box"] for e in batch]),
            "has_head_box": np.stack([e["has_head_box"] for e in batch]),
            "occlusion_labelled": np.stack([e["occlusion_labelled"] for e in batch]),
            "image_id": np.array([e["image_id"].decode() for e in batch]),
            "image_size": np.stack([e["image_size"] for e in batch]),
            "coco_id": np.stack([e["coco_id"] for e in batch]),
            "area": np.stack([e["area"] for e in batch]),
        }
        for key, value in values.items():
            collected.setdefault(key, []).append(np.asarray(value))
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for example in iterate_photos(records, split, max_examples):
        batch.append(example)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    if not collected:
        raise ValueError(f"{records}: split {split!r} is empty")
    return {key: np.concatenate(value) for key, value in collected.items()}


def _annotation_region(example: dict[str, Any], box_scale: float) -> np.ndarray:
    """The region the evaluation pipeline crops: side box_scale · 200 · scale at the centre."""
    half = box_scale * 200.0 * float(example["scale"]) / 2.0
    center = np.asarray(example["center"], np.float32)
    return np.concatenate([center - half, center + half]).astype(np.float32)


def score_photos(
    predictions: dict[str, np.ndarray],
    skeleton,
    protocol: str | None = None,
    joints: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Scores :func:`predict_photos` output (see :func:`tfpose.evaluation.report.
    evaluate_predictions`); with ``joints``, only those joints count (the others are treated
    as not annotated), e.g. the 12 body joints of LSP that every peer predicts."""
    from tfpose.evaluation.on_records import score_predictions

    if joints is not None:
        unknown = sorted(set(joints) - set(skeleton.joint_names))
        if unknown:
            raise ValueError(f"joints {unknown} are not in skeleton {skeleton.name!r}")
        keep = np.isin(np.asarray(skeleton.joint_names), joints)
        predictions = {**predictions, "visibility": predictions["visibility"] * keep}
    return score_predictions(predictions, skeleton, protocol)
