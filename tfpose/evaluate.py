r"""Evaluates pose predictions: MPII PCKh, LSP PCK@0.2, generic PCK, visibility AP.

Prediction-file mode (results produced elsewhere, .mat / .h5 / .json):

  python -m tfpose.evaluate \
    --predictions=../shared/data/mpii_val/hg_s2_b1_predictions.mat \
    --ground_truth=../shared/data/mpii_val/detections_our_format.mat \
    --protocol=mpii --output_dir=/tmp/hg_eval

prints the per-joint tables (both MPII conventions) and, with --output_dir, writes metrics.json,
table.txt, keypoint_results.json (COCO keypoint results), pck_curves.png and, when confidences
and occlusion labels exist, visibility_pr.png/.csv. See docs/evaluation.md.

Model mode (--model, --records, --flip_test) is declared but not wired yet.
"""

from __future__ import annotations

from absl import app, flags

from tfpose import skeletons
from tfpose.evaluation import prediction_files, report

_MODEL = flags.DEFINE_string(
    "model", None, "Model to evaluate: a .keras file, a SavedModel directory or a .tflite file."
)
_RECORDS = flags.DEFINE_string("records", None, "Manifest or records of the evaluation split.")
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
    "protocol", "mpii", report.PROTOCOLS, "mpii: PCKh; lsp: PCK@0.2 torso; pck: generic."
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


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if _MODEL.value is not None:
        raise app.UsageError(
            "model mode (--model) is not available yet; evaluate a predictions file with "
            "--predictions and --ground_truth"
        )
    if _PREDICTIONS.value is None or _GROUND_TRUTH.value is None:
        raise app.UsageError("give --predictions and --ground_truth (or --model, once available)")
    try:
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
            _skeleton_for(_PROTOCOL.value, ground_truth),
            _PROTOCOL.value,
            confidences=predictions.scores,
            occlusion_labelled=ground_truth.occlusion_labelled,
            threshold=_THRESHOLD.value,
            reference=_REFERENCE.value,
        )
    except (FileNotFoundError, KeyError, ValueError) as error:
        # Bad input files or flag combinations: report the message, not a traceback.
        raise app.UsageError(str(error.args[0]) if error.args else repr(error)) from error
    print(report.format_table(result))
    if _OUTPUT_DIR.value:
        written = report.write_report(
            result,
            _OUTPUT_DIR.value,
            predictions.keypoints,
            predictions.scores,
            ground_truth.image_ids,
        )
        print("\nwrote " + ", ".join(str(path) for path in written.values()))


if __name__ == "__main__":
    app.run(main)
