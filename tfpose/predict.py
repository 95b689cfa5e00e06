r"""Predicts single-person poses on images, folders or videos with a trained or exported model.

  python -m tfpose.predict --model=runs/quickstart/best.keras \
    --input=../shared/data/samples/mpii --output_dir=/tmp/predictions --heatmaps

writes /tmp/predictions/predictions.json (COCO keypoint results), skeleton.json (joint order),
overlays/*.jpg, videos/*.mp4 for video inputs and, with --heatmaps, heatmaps/*.jpg (the maps of
every recurrent pass). --model takes a .keras file (with the flags.json training writes), a
SavedModel directory or a .tflite file (with the tfpose_export.json of python -m tfpose.export).

Without --boxes each image (each video frame) is one person region: the whole image, padded to a
square. --boxes=FILE.json gives regions per file: {"name.jpg": [x1, y1, x2, y2]} or
{"name.jpg": [[...], [...]]} for several persons, or [{"image": "name.jpg", "box": [...]}, ...].
See docs/inference.md.
"""

from __future__ import annotations

import sys

from absl import app, flags

_MODEL = flags.DEFINE_string(
    "model", None, "A .keras file, a SavedModel directory or a .tflite file.", required=True
)
_INPUT = flags.DEFINE_string(
    "input", None, "An image, a video, or a folder of images/videos.", required=True
)
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for the outputs.", required=True)
_BOXES = flags.DEFINE_string(
    "boxes", None, "JSON file of person regions per input file (see docs/inference.md)."
)
_BOX_MODE = flags.DEFINE_enum(
    "box_mode",
    "region",
    ["region", "person"],
    "region: a box is the crop the network sees (squared); person: a tight person box, "
    "enlarged by the model's crop convention (box_scale) to the training context.",
)
_HEATMAPS = flags.DEFINE_boolean(
    "heatmaps", False, "Also write the grid of predicted maps per recurrent pass per person."
)
_FLIP_TEST = flags.DEFINE_boolean(
    "flip_test", False, "Average the maps of each crop and its mirror image."
)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Crops per model call.")
_VISIBILITY_THRESHOLD = flags.DEFINE_float(
    "visibility_threshold", 0.5, "Joints with visibility below it are drawn as occluded/unsure."
)
_OVERLAY_MAX_SIDE = flags.DEFINE_integer(
    "overlay_max_side", 0, "Shrink overlays to this longer side in pixels (0 = original size)."
)
_PROGRESS = flags.DEFINE_boolean("progress", True, "Progress line on stderr (folders, videos).")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if _BATCH_SIZE.value <= 0:
        raise app.UsageError("--batch_size must be positive")
    from tfpose.inference import boxes, runner
    from tfpose.inference.predictor import Predictor

    try:
        table = boxes.load_boxes(_BOXES.value) if _BOXES.value else None
        predictor = Predictor.from_path(_MODEL.value, batch_size=_BATCH_SIZE.value)
        summary = runner.predict_inputs(
            predictor,
            _INPUT.value,
            _OUTPUT_DIR.value,
            table,
            runner.RunOptions(
                flip_test=_FLIP_TEST.value,
                heatmaps=_HEATMAPS.value,
                box_mode=_BOX_MODE.value,
                visibility_threshold=_VISIBILITY_THRESHOLD.value,
                overlay_max_side=_OVERLAY_MAX_SIDE.value,
                progress=_PROGRESS.value,
            ),
        )
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    print(
        f"{summary['persons']} persons in {summary['images']} images and {summary['frames']} "
        f"video frames -> {summary['predictions']}"
    )
    if summary["skipped"]:
        print(f"skipped {len(summary['skipped'])} unreadable files:")
        for item in summary["skipped"]:
            print(f"  {item['reason']}")


if __name__ == "__main__":
    app.run(main)
