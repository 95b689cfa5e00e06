r"""Evaluates pose predictions: MPII PCKh, LSP PCK@0.2, generic PCK, visibility AP.

Prediction-file mode (results produced elsewhere, .mat / .h5 / .json):

  python -m tfpose.evaluate \
    --predictions=../shared/data/mpii_val/hg_s2_b1_predictions.mat \
    --ground_truth=../shared/data/mpii_val/detections_our_format.mat \
    --protocol=mpii --output_dir=runs/hg_eval

prints the per-joint tables (both MPII conventions) and, with --output_dir, writes metrics.json,
table.txt, keypoint_results.json (COCO keypoint results, integer image ids), pck_curves.png and,
when confidences and occlusion labels exist, visibility_pr.png/.csv. See docs/evaluation.md.

Model mode (a model trained by ``python -m tfpose.train``; its run record says how to crop):

  python -m tfpose.evaluate --model=runs/quickstart/best.keras --records=data/synthetic \
    --split=test --flip_test --output_dir=runs/quickstart/eval

``--model`` may also be a SavedModel directory, a ``.tflite`` or a ``.onnx`` file from ``python
-m tfpose.export`` (their ``tfpose_export.json`` says how to crop); all formats are scored on the
same evaluation crops. The flip test is off unless ``--flip_test`` is given; the output says so,
and names the setting recorded with the model (the default of ``python -m tfpose.predict``)
when that differs.

A model of the COCO skeleton on COCO records is also scored by COCO's own metric, keypoint AP and
AR by OKS (AP, AP50, AP75, APm, APl, AR), computed by pycocotools' COCOeval against a COCO
ground truth built from the records (written as coco_ground_truth.json next to
keypoint_results.json); see tfpose/evaluation/coco_keypoints.py.

Tables go to stdout; progress (a bar on a terminal, a line every 10 s in a log) to stderr.
TensorFlow's start-up messages are hidden; -v 0 shows them.
"""

from __future__ import annotations

import sys

from absl import app, flags

from tfpose import cli, skeletons
from tfpose.evaluation import Evaluation, prediction_files, report

flags.declare_key_flag("verbosity")  # listed by --help: -v 0 shows TensorFlow's messages

# The arguments of evaluate_model (model mode) of the same names, but --protocol (below).
_MODEL_FLAGS = cli.by_name(
    flags.DEFINE_string(
        "model",
        None,
        "Model to evaluate: a .keras file, a SavedModel directory, a .tflite or a .onnx file.",
    ),
    flags.DEFINE_string("records", None, "Converted dataset folder (manifest.json)."),
    flags.DEFINE_string("split", "test", "Split of --records to evaluate on."),
    flags.DEFINE_integer("max_examples", 0, "Evaluate the first N examples (0 = all)."),
    flags.DEFINE_integer("batch_size", 16, "Model mode: batch size."),
    flags.DEFINE_boolean(
        "flip_test",
        None,
        "Average the heatmaps of the image and its mirror (model mode). Unset: the model's "
        "recorded setting (tfpose_export.json, or the val_flip_test of a .keras file's run record: "
        "tfpose_run.json inside it, flags.json beside an older one), as "
        "python -m tfpose.predict uses it; the output names which.",
    ),
    flags.DEFINE_enum(
        "region",
        "crops",
        ["crops", "whole_image", "annotation"],
        "Model mode: what the model is given. crops: the evaluation crops of the data pipeline "
        "(around each annotated person); whole_image: the decoded photo itself, the model finding "
        "the person on its own (see --refine), as a user's photo; annotation: the photo with the "
        "person region derived from the annotation.",
    ),
    flags.DEFINE_integer(
        "refine",
        1,
        "--region=whole_image: extra passes, each on the region around the joints the previous "
        "pass found (0 = the whole photo only).",
    ),
)
_PREDICTIONS = flags.DEFINE_string(
    "predictions", None, "Predictions file (.mat, .h5, .json or COCO keypoint-results .json)."
)
_PREDICTIONS_KEY = flags.DEFINE_string(
    "predictions_key",
    None,
    "Array holding the predictions (default: preds, predictions, ...); in HDF5 a path such as "
    "results/preds.",
)
_PREDICTIONS_LAYOUT = flags.DEFINE_enum(
    "predictions_layout",
    None,
    list(prediction_files.LAYOUTS),
    "Layout of the predictions array: NK2 = [N, K, 2] (or [N, K, 3] with confidences), "
    "K2N = [K, 2, N] (pos_pred_src), 2KN = [2, K, N] (evalMPII.m / eval_pose pred). Default: "
    "told from the shape and the ground truth's K and N; needed only when both still fit.",
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
    """Model mode: :func:`tfpose.evaluation.evaluate_model` with the flags."""
    from tfpose.evaluation import evaluate_model

    arguments = cli.flag_values(_MODEL_FLAGS)
    if not arguments["records"]:
        raise app.UsageError("--model needs --records (a converted dataset folder)")
    if not arguments["batch_size"] > 0:
        raise app.UsageError("--batch_size must be positive")
    arguments["max_examples"] = arguments["max_examples"] or None
    evaluation = evaluate_model(**arguments, protocol=_PROTOCOL.value)
    return evaluation.result, evaluation.predicted


def _evaluate_prediction_file() -> tuple[dict, dict]:
    protocol = _PROTOCOL.value or "mpii"
    ground_truth = prediction_files.load_ground_truth(_GROUND_TRUTH.value)
    if _GROUND_TRUTH_SLICE.value:
        ground_truth = ground_truth.select(parse_slice(_GROUND_TRUTH_SLICE.value))
    loaded = prediction_files.load_predictions(
        _PREDICTIONS.value,
        _PREDICTIONS_KEY.value,
        num_keypoints=ground_truth.keypoints.shape[1],
        num_persons=ground_truth.num_persons,
        layout=_PREDICTIONS_LAYOUT.value,
    )
    if loaded.description:
        print(f"predictions: {loaded.description}")
    predictions = prediction_files.align_predictions(loaded, ground_truth)
    predictions, warning = prediction_files.missing_values(predictions, ground_truth)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
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
    if _MODEL_FLAGS["model"].value is None and (
        _PREDICTIONS.value is None or _GROUND_TRUTH.value is None
    ):
        raise app.UsageError("give --model and --records, or --predictions and --ground_truth")
    try:
        if _MODEL_FLAGS["model"].value is not None:
            result, predicted = _evaluate_model()
        else:
            result, predicted = _evaluate_prediction_file()
    except (OSError, KeyError, ValueError) as error:
        # Bad input files or flag combinations: report the message, not a traceback.
        raise app.UsageError(cli.message_of(error)) from error
    print(report.format_table(result))
    if "flip_test_source" in result:
        used = "on" if result["flip_test"] else "off"
        print(f"flip test: {used} ({result['flip_test_source']})")
    if _OUTPUT_DIR.value:
        written = Evaluation(result, predicted).write_report(_OUTPUT_DIR.value)
        print("\nwrote " + ", ".join(str(path) for path in written.values()))


if __name__ == "__main__":
    cli.run(main)  # errors in one line, without absl's usage text
