"""Running a model over evaluation records and scoring it (training validation, evaluate CLI).

The model is any callable from a preprocessed image batch [B, S, S, 3] to the prediction heatmaps
[B, H, W, K] — a Keras model's prediction output, a SavedModel's ``heatmaps`` signature or a
TFLite interpreter — so the same code scores every export format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from tfpose.data import targets, transforms
from tfpose.evaluation.report import evaluate_predictions
from tfpose.progress import Progress
from tfpose.skeletons import Skeleton

HeatmapFn = Callable[[tf.Tensor], tf.Tensor]


def predict_batches(
    heatmap_fn: HeatmapFn,
    batches: Iterable[Mapping[str, tf.Tensor]],
    stride: int,
    flip_permutation: tuple[int, ...] | None = None,
    max_examples: int | None = None,
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """Predicts keypoints in original image pixels for every example of ``batches``.

    Args:
      heatmap_fn: preprocessed images [B, S, S, 3] → heatmaps [B, H, W, K].
      batches: evaluation batches of :func:`tfpose.data.pipeline.build_dataset`
        (``training=False``).
      stride: crop pixels per heatmap pixel.
      flip_permutation: when given, flip test: the maps of the mirrored crop, flipped back with
        this channel permutation, are averaged with the maps of the crop.
      max_examples: stop after this many examples.
      progress: counts the examples (:class:`tfpose.progress.Progress`); None shows nothing.

    Returns:
      ``pred_keypoints`` [N, K, 2] and ``gt_keypoints`` [N, K, 2] in image pixels,
      ``confidence`` [N, K], ``visibility`` [N, K], ``head_box`` [N, 4], ``has_head_box`` [N],
      ``occlusion_labelled`` [N], ``image_id`` [N] (str), when the batches carry them
      ``image_size`` [N, 2] (height, width), ``coco_id`` [N] and ``area`` [N] (COCO's image id
      and area, -1 and 0 where the records keep none), and the first batch's predicted
      ``heatmaps`` and (when the batches carry ``heatmaps/keypoints``) ``target_heatmaps``.
    """
    collected: dict[str, list[np.ndarray]] = {}
    first_heatmaps = first_targets = None
    count = 0
    for batch in batches:
        heatmaps = tf.convert_to_tensor(heatmap_fn(batch["image"]), tf.float32)
        if flip_permutation is not None:
            mirrored = tf.convert_to_tensor(heatmap_fn(batch["image"][:, :, ::-1, :]), tf.float32)
            heatmaps = targets.flip_average(heatmaps, mirrored, flip_permutation)
        if first_heatmaps is None:
            first_heatmaps = heatmaps.numpy()
            if "heatmaps/keypoints" in batch:
                first_targets = np.asarray(batch["heatmaps/keypoints"])
        crop_keypoints, confidence = targets.decode_heatmaps(heatmaps, stride)
        values = {
            "pred_keypoints": transforms.crop_to_image(crop_keypoints, batch["affine"]),
            "gt_keypoints": batch["image_keypoints"],
            "confidence": confidence,
            "visibility": batch["visibility"],
            "head_box": batch["head_box"],
            "has_head_box": batch["has_head_box"],
            "occlusion_labelled": batch["occlusion_labelled"],
            "image_id": batch["image_id"],
        }
        for key in ("image_size", "coco_id", "area"):  # in every batch of build_dataset
            if key in batch:
                values[key] = batch[key]
        for key, value in values.items():
            collected.setdefault(key, []).append(np.asarray(value))
        count += int(batch["image"].shape[0])
        if progress is not None:
            progress.update(int(batch["image"].shape[0]))
        if max_examples is not None and count >= max_examples:
            break
    if not collected:
        raise ValueError("the evaluation dataset is empty")
    result = {k: np.concatenate(v)[:max_examples] for k, v in collected.items()}
    result["image_id"] = np.array([s.decode() for s in result["image_id"]])
    result["heatmaps"] = first_heatmaps
    result["target_heatmaps"] = first_targets
    return result


def default_protocol(skeleton: Skeleton, has_head_box: np.ndarray) -> str:
    """``mpii`` (PCKh) for MPII persons that all have head boxes, ``lsp`` for LSP, else ``pck``."""
    if skeleton.pck_reference.kind == "head_box":
        return "mpii" if bool(np.all(has_head_box)) else "pck"
    return "lsp" if skeleton.name == "lsp" else "pck"


def score_predictions(
    predictions: Mapping[str, np.ndarray], skeleton: Skeleton, protocol: str | None = None
) -> dict[str, Any]:
    """:func:`tfpose.evaluation.report.evaluate_predictions` on :func:`predict_batches` output."""
    protocol = protocol or default_protocol(skeleton, predictions["has_head_box"])
    reference = None
    if protocol == "pck" and skeleton.pck_reference.kind == "head_box":
        reference = "box"  # MPII-layout persons without head boxes (e.g. synthetic distractors)
    return evaluate_predictions(
        predictions["pred_keypoints"],
        predictions["gt_keypoints"],
        predictions["visibility"],
        predictions["head_box"] if bool(np.all(predictions["has_head_box"])) else None,
        skeleton,
        protocol,
        confidences=predictions["confidence"],
        occlusion_labelled=predictions["occlusion_labelled"],
        reference=reference,
    )
