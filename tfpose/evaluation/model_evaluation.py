"""Evaluating a model on converted records: the one path behind ``python -m tfpose.evaluate``
and ``benchmarks/reproduce.py``.

::

    from tfpose.evaluation import evaluate_model

    evaluation = evaluate_model("runs/lspet/best.keras", "data/lspet", "test",
                                region="whole_image", refine=1, flip_test=True)
    evaluation.result["mean"]          # PCK@0.2 (LSP), PCKh@0.5 (MPII), ...
    evaluation.result["per_joint"]     # the paper's columns
    evaluation.write_report("runs/eval")   # metrics.json, table.txt, COCO results, plots

``region`` chooses what the model is given: ``"crops"``, the evaluation crops of the data
pipeline around each annotated person (:mod:`.on_records`; every export format goes through
the same crops, so their numbers compare directly); ``"whole_image"``, the decoded photo, the
predictor finding the person itself with ``refine`` passes; ``"annotation"``, the photo with
the person region derived from the annotation (:mod:`.on_images`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from tfpose import skeletons
from tfpose.evaluation import report

REGIONS = ("crops", "whole_image", "annotation")


@dataclasses.dataclass
class Evaluation:
    """What :func:`evaluate_model` found.

    Attributes:
      result: the metrics (what ``metrics.json`` holds; see
        :func:`tfpose.evaluation.report.evaluate_predictions`), plus the model, records, flip
        test (and where its setting came from), region and refinement; for LSP models
        ``body_joints_mean`` (the 12 joints without neck and head top) on photos; for COCO
        models ``coco_keypoints`` (AP/AR by OKS).
      predicted: ``keypoints`` [N, K, 2], ``scores`` [N, K], integer ``image_ids`` and
        ``file_names`` (what the COCO results file is written from).
    """

    result: dict[str, Any]
    predicted: dict[str, Any]

    def write_report(self, output_dir: str) -> dict[str, Any]:
        """:func:`tfpose.evaluation.report.write_report` of this evaluation into ``output_dir``."""
        return report.write_report(
            self.result,
            output_dir,
            self.predicted["keypoints"],
            self.predicted["scores"],
            self.predicted["image_ids"],
            self.predicted.get("file_names"),
        )


def evaluate_model(
    model,
    records: str,
    split: str = "test",
    *,
    region: str = "crops",
    refine: int = 1,
    flip_test: bool | None = None,
    protocol: str | None = None,
    max_examples: int | None = None,
    batch_size: int = 16,
    log: Callable[[str], None] | None = None,
) -> Evaluation:
    """Runs ``model`` over a split of ``records`` and scores it.

    Args:
      model: a path or shipped name (:func:`tfpose.inference.backends.load_backend`: ``.keras``
        with its ``flags.json``, SavedModel, ``.tflite``, ``.onnx``), or a loaded backend.
      records: a converted dataset folder (``manifest.json``).
      split: the split to score.
      region: ``"crops"``, ``"whole_image"`` or ``"annotation"`` (module docstring).
      refine: ``region="whole_image"``: extra passes on the joints found.
      flip_test: None = the setting recorded with the model.
      protocol: ``mpii``, ``lsp`` or ``pck`` (None: from the skeleton and the records).
      max_examples: the first N examples only.
      batch_size: crops (or photos) per model call.
      log: where progress messages go (default :func:`tfpose.progress.write`).

    Raises:
      FileNotFoundError, ValueError: a missing model or records, a bad argument (named).
    """
    from tfpose.data.records import Manifest
    from tfpose.inference.backends import load_backend
    from tfpose.progress import write

    log = log or write
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    if not batch_size > 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    source = model if isinstance(model, str) else getattr(model.spec, "source", "model")
    if isinstance(model, str):
        log(f"loading {model} ...")
        backend = load_backend(model)
    else:
        backend = model
    spec = backend.spec
    manifest = Manifest.load(records)
    if flip_test is None:
        flip, flip_source = (
            bool(getattr(spec, "flip_test", False)),
            (f"the model's setting ({getattr(spec, 'flip_test_source', 'not recorded')})"),
        )
    else:
        flip, flip_source = bool(flip_test), "--flip_test" if flip_test else "--noflip_test"
    total = manifest.num_examples(split)
    if max_examples:
        total = min(total, max_examples)
    if region == "crops":
        result, predictions = _on_crops(
            backend, manifest, records, split, flip, protocol, max_examples, batch_size, total, log
        )
    else:
        refine = refine if region == "whole_image" else 0
        result, predictions = _on_photos(
            backend,
            records,
            split,
            region,
            refine,
            flip,
            protocol,
            max_examples,
            batch_size,
            total,
            log,
        )
        result["region"], result["refine"] = region, refine
    result["model"] = source
    result["model_format"] = spec.format
    result["records"] = f"{records} ({split})"
    result["flip_test"], result["flip_test_source"] = flip, flip_source
    predicted = _with_coco_keypoints(result, predictions, spec.skeleton, manifest.skeleton)
    return Evaluation(result, predicted)


def _on_crops(
    backend, manifest, records, split, flip, protocol, max_examples, batch_size, total, log
):
    from tfpose.data import pipeline
    from tfpose.evaluation import on_records
    from tfpose.progress import Progress

    spec = backend.spec
    config = pipeline.PipelineConfig(
        input_size=spec.input_size,
        heatmap_stride=spec.heatmap_stride,
        crop_convention=spec.crop_convention,
        normalization=spec.normalization,
    )
    dataset = pipeline.build_dataset(
        manifest.files(split),
        spec.skeleton,
        config,
        training=False,
        batch_size=batch_size,
        deterministic=True,
        record_skeleton=skeletons.get_skeleton(manifest.skeleton),
    )

    def heatmap_fn(images):
        return backend(np.asarray(images, np.float32))[spec.prediction_output]

    log(f"evaluating on {total} examples of {records} ({split}) ...")
    with Progress("evaluating", total, unit="examples") as progress:
        predictions = on_records.predict_batches(
            heatmap_fn,
            dataset,
            spec.heatmap_stride,
            flip_permutation=spec.skeleton.flip_permutation if flip else None,
            max_examples=max_examples,
            progress=progress,
        )
    return on_records.score_predictions(predictions, spec.skeleton, protocol), predictions


def _on_photos(
    backend, records, split, region, refine, flip, protocol, max_examples, batch_size, total, log
):
    from tfpose.evaluation import on_images
    from tfpose.inference import Predictor
    from tfpose.progress import Progress

    predictor = Predictor(backend, batch_size=batch_size, flip_test=flip)
    log(
        f"evaluating on {total} photos of {records} ({split}), region {region}, refine {refine} ..."
    )
    with Progress("evaluating", total, unit="photos") as progress:
        predictions = on_images.predict_photos(
            predictor,
            records,
            split,
            region=region,
            refine=refine,
            max_examples=max_examples,
            batch_size=batch_size,
            progress=progress.update,
        )
    result = on_images.score_photos(predictions, predictor.skeleton, protocol)
    if predictor.skeleton.name == "lsp":
        body = on_images.score_photos(
            predictions, predictor.skeleton, protocol, joints=on_images.BODY_JOINTS
        )
        result["body_joints_mean"] = body["mean"]
        result["body_joints"] = list(on_images.BODY_JOINTS)
    return result, predictions


def _with_coco_keypoints(
    result: dict, predictions: dict, skeleton: skeletons.Skeleton, record_skeleton: str
) -> dict:
    """Adds COCO's keypoint AP/AR to ``result`` when the model and the records are of the COCO
    skeleton (``result["coco_keypoints"]``, and the ground truth it was computed on,
    ``result["coco_ground_truth"]``); returns what the COCO results file is written from.

    Image ids are integers: the COCO ids the records keep, else from the image names. The
    entries scored are those of keypoint_results.json (:func:`report.coco_entries`).
    """
    from tfpose.evaluation import coco_keypoints

    names = [str(name) for name in predictions["image_id"]]
    ids = coco_keypoints.image_ids_of(names, predictions.get("coco_id"))
    if coco_keypoints.applies(skeleton, record_skeleton):
        areas = predictions.get("area")
        ground_truth = coco_keypoints.ground_truth(
            predictions["gt_keypoints"],
            predictions["visibility"],
            ids,
            areas,
            predictions.get("image_size"),
            names,
            skeleton,
        )
        entries = report.coco_entries(
            predictions["pred_keypoints"], predictions["confidence"], ids, names
        )
        areas_kept = areas is not None and bool(np.all(np.asarray(areas) > 0))
        result["coco_keypoints"] = coco_keypoints.keypoint_metrics(
            ground_truth, entries, areas_kept
        )
        result["coco_ground_truth"] = ground_truth
    return {
        "keypoints": predictions["pred_keypoints"],
        "scores": predictions["confidence"],
        "image_ids": ids,
        "file_names": names,
    }
