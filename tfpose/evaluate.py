r"""Evaluates pose predictions: MPII PCKh, LSP PCK@0.2, generic PCK, visibility AP.

Prediction-file mode (results produced elsewhere, .mat / .h5 / .json):

  python -m tfpose.evaluate \
    --predictions=../shared/data/mpii_val/hg_s2_b1_predictions.mat \
    --ground_truth=../shared/data/mpii_val/detections_our_format.mat \
    --protocol=mpii --output_dir=/tmp/hg_eval

prints the per-joint tables (both MPII conventions) and, with --output_dir, writes metrics.json,
table.txt, keypoint_results.json (COCO keypoint results), pck_curves.png and, when confidences
and occlusion labels exist, visibility_pr.png/.csv. See docs/evaluation.md.

Model mode (a model trained by ``python -m tfpose.train``; its flags.json says how to crop):

  python -m tfpose.evaluate --model=runs/quickstart/best.keras --records=data/synthetic \
    --split=test --flip_test --output_dir=runs/quickstart/eval

``--model`` may also be a SavedModel directory or a ``.tflite`` file from ``python -m
tfpose.export`` (their ``tfpose_export.json`` says how to crop); all formats are scored on the
same evaluation crops.
"""

from __future__ import annotations

from absl import app, flags

from tfpose import skeletons
from tfpose.evaluation import prediction_files, report

_MODEL = flags.DEFINE_string(
    "model", None, "Model to evaluate: a .keras file, a SavedModel directory or a .tflite file."
)
_RECORDS = flags.DEFINE_string("records", None, "Converted dataset folder (manifest.json).")
_SPLIT = flags.DEFINE_string("split", "test", "Split of --records to evaluate on.")
_MAX_EXAMPLES = flags.DEFINE_integer("max_examples", 0, "Evaluate the first N examples (0 = all).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Model mode: batch size.")
_FLIP_TEST = flags.DEFINE_boolean(
    "flip_test", False, "Average the heatmaps of the image and its mirror (model mode)."
)
_PREDICTIONS = flags.DEFINE_string(
    "predictions", None, "Predictions file (.mat, .h5, .json or COCO keypoint-results .json)."
)
_PREDICTIONS_KEY = flags.DEFINE_string(
    "predictions_key", None, "Array holding the predictions (default: preds, predictions, ...)."
)
_GROUND_TRUTH = flags.DEFINE_string(
    "ground_truth", None, "Ground truth: MPII detections .mat, LSP joints.mat, or tfpose layout."
)
_GROUND_TRUTH_SLICE = flags.DEFINE_string(
    "ground_truth_slice",
    None,
    "START:STOP (0-based, Python slice) of ground-truth persons the predictions cover, "
    "e.g. 9500:10000 for the LSPET test split.",
)
_PROTOCOL = flags.DEFINE_enum(
    "protocol",
    None,
    report.PROTOCOLS,
    "mpii: PCKh; lsp: PCK@0.2 torso; pck: generic. Default: mpii for prediction files; for a "
    "model, mpii (MPII skeleton with head boxes), lsp (LSP skeleton) or pck.",
)
_SKELETON = flags.DEFINE_enum(
    "skeleton",
    None,
    list(skeletons.SKELETONS),
    "Skeleton for --protocol=pck (default: the ground truth file's).",
)
_REFERENCE = flags.DEFINE_enum(
    "reference", None, report.REFERENCES, "Reference length for --protocol=pck."
)
_THRESHOLD = flags.DEFINE_float(
    "threshold", None, "PCK threshold α (default 0.5 for mpii, 0.2 for lsp and pck)."
)
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for metrics.json, plots, results.")


def parse_slice(text: str) -> slice:
    """``"START:STOP"`` → ``slice(START, STOP)``; either side may be empty."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start, stop = (int(p) if p.strip() else None for p in parts)
    except ValueError:
        raise app.UsageError(f"--ground_truth_slice must be START:STOP, got {text!r}") from None
    return slice(start, stop)


def _skeleton_for(protocol: str, ground_truth: prediction_files.GroundTruth) -> skeletons.Skeleton:
    if protocol in ("mpii", "lsp"):
        return skeletons.get_skeleton(protocol)
    name = _SKELETON.value or ground_truth.skeleton
    if name is None:
        raise app.UsageError(
            f"--protocol=pck needs --skeleton: {ground_truth.source} does not name its skeleton"
        )
    return skeletons.get_skeleton(name)


def _evaluate_model() -> tuple[dict, dict]:
    """Model mode: runs the model over ``--records`` and scores it.

    ``.keras`` files read their training ``flags.json``; SavedModel directories and ``.tflite``
    files read the ``tfpose_export.json`` written by ``python -m tfpose.export``. All three go
    through the same evaluation crops, so their numbers are directly comparable.
    """
    import numpy as np

    from tfpose.data import pipeline
    from tfpose.data.records import Manifest
    from tfpose.evaluation import on_records
    from tfpose.inference.backends import load_backend

    path = _MODEL.value
    if not _RECORDS.value:
        raise app.UsageError("--model needs --records (a converted dataset folder)")
    if not _BATCH_SIZE.value > 0:
        raise app.UsageError("--batch_size must be positive")
    backend = load_backend(path)
    spec = backend.spec
    config = pipeline.PipelineConfig(
        input_size=spec.input_size,
        heatmap_stride=spec.heatmap_stride,
        crop_convention=spec.crop_convention,
        normalization=spec.normalization,
    )
    manifest = Manifest.load(_RECORDS.value)
    dataset = pipeline.build_dataset(
        manifest.files(_SPLIT.value),
        spec.skeleton,
        config,
        training=False,
        batch_size=_BATCH_SIZE.value,
        deterministic=True,
        record_skeleton=skeletons.get_skeleton(manifest.skeleton),
    )

    def heatmap_fn(images):
        return backend(np.asarray(images, np.float32))[spec.prediction_output]

    predictions = on_records.predict_batches(
        heatmap_fn,
        dataset,
        spec.heatmap_stride,
        flip_permutation=spec.skeleton.flip_permutation if _FLIP_TEST.value else None,
        max_examples=_MAX_EXAMPLES.value or None,
    )
    result = on_records.score_predictions(predictions, spec.skeleton, _PROTOCOL.value)
    result["model"] = path
    result["model_format"] = spec.format
    result["records"] = f"{_RECORDS.value} ({_SPLIT.value})"
    result["flip_test"] = _FLIP_TEST.value
    return result, {
        "keypoints": predictions["pred_keypoints"],
        "scores": predictions["confidence"],
        "image_ids": list(predictions["image_id"]),
    }


def _evaluate_prediction_file() -> tuple[dict, dict]:
    protocol = _PROTOCOL.value or "mpii"
    ground_truth = prediction_files.load_ground_truth(_GROUND_TRUTH.value)
    if _GROUND_TRUTH_SLICE.value:
        ground_truth = ground_truth.select(parse_slice(_GROUND_TRUTH_SLICE.value))
    predictions = prediction_files.align_predictions(
        prediction_files.load_predictions(_PREDICTIONS.value, _PREDICTIONS_KEY.value),
        ground_truth,
    )
    result = report.evaluate_predictions(
        predictions.keypoints,
        ground_truth.keypoints,
        ground_truth.visibility,
        ground_truth.head_boxes,
        _skeleton_for(protocol, ground_truth),
        protocol,
        confidences=predictions.scores,
        occlusion_labelled=ground_truth.occlusion_labelled,
        threshold=_THRESHOLD.value,
        reference=_REFERENCE.value,
    )
    return result, {
        "keypoints": predictions.keypoints,
        "scores": predictions.scores,
        "image_ids": ground_truth.image_ids,
    }


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if _MODEL.value is None and (_PREDICTIONS.value is None or _GROUND_TRUTH.value is None):
        raise app.UsageError("give --model and --records, or --predictions and --ground_truth")
    try:
        if _MODEL.value is not None:
            result, predicted = _evaluate_model()
        else:
            result, predicted = _evaluate_prediction_file()
    except (FileNotFoundError, KeyError, ValueError) as error:
        # Bad input files or flag combinations: report the message, not a traceback.
        raise app.UsageError(str(error.args[0]) if error.args else repr(error)) from error
    print(report.format_table(result))
    if _OUTPUT_DIR.value:
        written = report.write_report(
            result,
            _OUTPUT_DIR.value,
            predicted["keypoints"],
            predicted["scores"],
            predicted["image_ids"],
        )
        print("\nwrote " + ", ".join(str(path) for path in written.values()))


if __name__ == "__main__":
    app.run(main)
