"""Evaluating a model on converted records: the one path behind ``python -m tfpose.evaluate``,
training's validation (the model in training through
:meth:`tfpose.inference.backends.KerasBackend.from_model`) and ``benchmarks/reproduce.py``.

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
      heatmaps: ``region="crops"``: the first batch's predicted maps [B, H, W, K]
        (``"predicted"``, flip-averaged with the flip test) and, when the pipeline encodes
        them, its target maps (``"target"``); training's validation shows them in TensorBoard.
    """

    result: dict[str, Any]
    predicted: dict[str, Any]
    heatmaps: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

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
    progress: bool = True,
    coco_keypoints: bool = True,
    pipeline_config=None,
) -> Evaluation:
    """Runs ``model`` over a split of ``records`` and scores it.

    Args:
      model: a path or shipped name (:func:`tfpose.inference.backends.load_backend`: ``.keras``
        carrying its run record, SavedModel, ``.tflite``, ``.onnx``), or a loaded backend.
      records: a converted dataset folder (``manifest.json``).
      split: the split to score.
      region: ``"crops"``, ``"whole_image"`` or ``"annotation"`` (module docstring).
      refine: ``region="whole_image"``: extra passes on the joints found.
      flip_test: None = the setting recorded with the model.
      protocol: ``mpii``, ``lsp`` or ``pck`` (None: from the skeleton and the records).
      max_examples: the first N examples only.
      batch_size: crops (or photos) per model call.
      log: where progress messages go (default :func:`tfpose.progress.write`).
      progress: show a progress bar (or lines) while predicting.
      coco_keypoints: for COCO models on COCO records, also score AP/AR by OKS (pycocotools).
      pipeline_config: ``region="crops"``: the :class:`tfpose.data.pipeline.PipelineConfig`
        cutting the crops (default: the spec's input size, stride, crop convention and
        normalization, with a Gaussian target); it must agree with the spec in those four. A
        training run passes its own, whose targets :attr:`Evaluation.heatmaps` then shows.

    Training's validation is this call on the model in training
    (:meth:`tfpose.inference.backends.KerasBackend.from_model`), quiet, without the COCO OKS.

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
    run = _Run(
        backend, records, split, flip, protocol, max_examples, batch_size, total, log, progress
    )
    heatmaps: dict[str, np.ndarray] = {}
    if region == "crops":
        result, predictions = _on_crops(run, manifest, pipeline_config)
        heatmaps["predicted"] = predictions["heatmaps"]
        if predictions.get("target_heatmaps") is not None:
            heatmaps["target"] = predictions["target_heatmaps"]
    else:
        refine = refine if region == "whole_image" else 0
        result, predictions = _on_photos(run, region, refine)
        result["region"], result["refine"] = region, refine
    result["model"] = source
    result["model_format"] = spec.format
    result["records"] = f"{records} ({split})"
    result["flip_test"], result["flip_test_source"] = flip, flip_source
    predicted = _with_coco_keypoints(
        result, predictions, spec.layout, manifest.skeleton, coco_keypoints
    )
    return Evaluation(result, predicted, heatmaps)


def _crop_pipeline(spec, config):
    """The evaluation crops' pipeline: ``config`` checked against ``spec``, or made from it."""
    from tfpose.data import pipeline

    fields = ("input_size", "heatmap_stride", "crop_convention", "normalization")
    if config is None:
        return pipeline.PipelineConfig(**{name: getattr(spec, name) for name in fields})
    differ = [
        f"{name} {getattr(config, name)!r} (the model's: {getattr(spec, name)!r})"
        for name in fields
        if getattr(config, name) != getattr(spec, name)
    ]
    if differ:
        raise ValueError(f"pipeline_config does not fit the model: {', '.join(differ)}")
    return config


@dataclasses.dataclass(frozen=True)
class _Run:
    """What both ways of evaluating are given (:func:`evaluate_model`'s arguments, resolved)."""

    backend: Any
    records: str
    split: str
    flip: bool
    protocol: str | None
    max_examples: int | None
    batch_size: int
    total: int
    log: Callable[[str], None]
    progress: bool


def _on_crops(run: _Run, manifest, pipeline_config):
    from tfpose.data import pipeline
    from tfpose.evaluation import on_records
    from tfpose.progress import Progress

    spec = run.backend.spec
    config = _crop_pipeline(spec, pipeline_config)
    dataset = pipeline.build_dataset(
        manifest.files(run.split),
        spec.layout,
        config,
        training=False,
        batch_size=run.batch_size,
        deterministic=True,
        record_skeleton=skeletons.get_skeleton(manifest.skeleton),
    )

    def heatmap_fn(images):
        return run.backend(np.asarray(images, np.float32))[spec.prediction_output]

    run.log(f"evaluating on {run.total} examples of {run.records} ({run.split}) ...")
    with Progress("evaluating", run.total, unit="examples", enabled=run.progress) as bar:
        predictions = on_records.predict_batches(
            heatmap_fn,
            dataset,
            spec.heatmap_stride,
            flip_permutation=spec.layout.flip_permutation if run.flip else None,
            max_examples=run.max_examples,
            progress=bar,
        )
    return on_records.score_predictions(predictions, spec.layout, run.protocol), predictions


def _on_photos(run: _Run, region, refine):
    from tfpose.evaluation import on_images
    from tfpose.inference import Predictor
    from tfpose.progress import Progress

    predictor = Predictor(run.backend, batch_size=run.batch_size, flip_test=run.flip)
    run.log(
        f"evaluating on {run.total} photos of {run.records} ({run.split}), region {region}, "
        f"refine {refine} ..."
    )
    with Progress("evaluating", run.total, unit="photos", enabled=run.progress) as bar:
        predictions = on_images.predict_photos(
            predictor,
            run.records,
            run.split,
            region=region,
            refine=refine,
            max_examples=run.max_examples,
            batch_size=run.batch_size,
            progress=bar.update,
        )
    protocol = run.protocol
    result = on_images.score_photos(predictions, predictor.skeleton, protocol)
    if predictor.skeleton.name == "lsp":
        body = on_images.score_photos(
            predictions, predictor.skeleton, protocol, joints=on_images.BODY_JOINTS
        )
        result["body_joints_mean"] = body["mean"]
        result["body_joints"] = list(on_images.BODY_JOINTS)
    return result, predictions


def _with_coco_keypoints(
    result: dict,
    predictions: dict,
    skeleton: skeletons.Skeleton,
    record_skeleton: str,
    score: bool = True,
) -> dict:
    """With ``score``, adds COCO's keypoint AP/AR to ``result`` when the model and the records
    are of the COCO skeleton (``result["coco_keypoints"]``, and the ground truth it was computed
    on, ``result["coco_ground_truth"]``); returns what the COCO results file is written from.

    Image ids are integers: the COCO ids the records keep, else from the image names. The
    entries scored are those of keypoint_results.json (:func:`report.coco_entries`).
    """
    from tfpose.evaluation import coco_keypoints

    names = [str(name) for name in predictions["image_id"]]
    ids = coco_keypoints.image_ids_of(names, predictions.get("coco_id"))
    if score and coco_keypoints.applies(skeleton, record_skeleton):
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
