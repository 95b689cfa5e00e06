r"""Predicts single-person poses on images, folders or videos with a trained or exported model.

  python -m tfpose.predict --model=runs/quickstart/best.keras \
    --input=../shared/data/samples/mpii --output_dir=runs/predictions --heatmaps

writes runs/predictions/predictions.json (COCO keypoint results), skeleton.json (joint order),
overlays/*.jpg, videos/*.mp4 for video inputs and, with --heatmaps, heatmaps/*.jpg (the maps of
every recurrent pass). --model takes a .keras file (carrying the run record training writes), a
SavedModel directory, a .tflite or .onnx file (with the tfpose_export.json of python -m
tfpose.export), or a shipped model's name.

The flip test follows the model's recorded setting unless --flip_test / --noflip_test is given
(val_flip_test of a .keras file's run record, tfpose_run.json inside the model or flags.json
beside an older one; flip_test of tfpose_export.json for an export), so every format of one
model gives the same answer; the summary says which was used and why.

Without --boxes each image (each video frame) is one person region: the whole image, padded to a
square. --boxes=FILE.json gives regions per file: {"name.jpg": [x1, y1, x2, y2]} or
{"name.jpg": [[...], [...]]} for several persons, or [{"image": "name.jpg", "box": [...]}, ...].
See docs/inference.md.

TensorFlow's start-up messages are hidden; -v 0 shows them.
"""

from __future__ import annotations

from absl import app, flags

from tfpose import cli

flags.declare_key_flag("verbosity")  # listed by --help: -v 0 shows TensorFlow's messages

# Flags under their names: those named as fields of runner.RunOptions set them.
_FLAGS = cli.by_name(
    flags.DEFINE_string(
        "model",
        None,
        "A .keras file, a SavedModel directory, a .tflite or .onnx file, or a shipped model's "
        "name.",
        required=True,
    ),
    flags.DEFINE_string(
        "input", None, "An image, a video, or a folder of images/videos.", required=True
    ),
    flags.DEFINE_string("output_dir", None, "Folder for the outputs.", required=True),
    flags.DEFINE_string(
        "boxes", None, "JSON file of person regions per input file (see docs/inference.md)."
    ),
    flags.DEFINE_enum(
        "box_mode",
        "region",
        ["region", "person"],
        "region: a box is the crop the network sees (squared); person: a tight person box, "
        "enlarged by the model's crop convention (box_scale) to the training context.",
    ),
    flags.DEFINE_boolean(
        "heatmaps", False, "Also write the grid of predicted maps per recurrent pass per person."
    ),
    flags.DEFINE_boolean(
        "flip_test",
        None,
        "Average the maps of each crop and its mirror image. Unset: the model's recorded setting "
        "(val_flip_test of a .keras model's run record, tfpose_run.json inside it or flags.json "
        "beside an older one; flip_test of an export's tfpose_export.json).",
    ),
    flags.DEFINE_integer(
        "refine",
        None,
        "Extra passes per person, each on the region around the joints the previous pass found: "
        "1 finds the person in a whole photo, then looks again at it. Unset: the model's setting "
        "(a shipped model's manifest; else 0).",
        lower_bound=0,
    ),
    flags.DEFINE_integer("batch_size", 16, "Crops per model call."),
    flags.DEFINE_float(
        "visibility_threshold", 0.5, "Joints with visibility below it are drawn as occluded/unsure."
    ),
    flags.DEFINE_integer(
        "overlay_max_side", 0, "Shrink overlays to this longer side in pixels (0 = original size)."
    ),
    flags.DEFINE_boolean(
        "progress",
        True,
        "Progress on stderr for folders and videos: a bar on a terminal, a line every 10 s "
        "otherwise.",
    ),
)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    given = cli.flag_values(_FLAGS)
    if given["batch_size"] <= 0:
        raise app.UsageError("--batch_size must be positive")
    from tfpose.inference import boxes, runner
    from tfpose.inference.predictor import Predictor
    from tfpose.progress import write

    try:
        table = boxes.load_boxes(given["boxes"]) if given["boxes"] else None
        write(f"loading {given['model']} ...")
        predictor = Predictor.from_path(
            given["model"], batch_size=given["batch_size"], refine=given["refine"]
        )
        options = runner.RunOptions(**cli.fields_of(runner.RunOptions, given))
        summary = runner.predict_inputs(
            predictor, given["input"], given["output_dir"], table, options
        )
    except (OSError, ValueError) as e:
        cli.fail(cli.message_of(e))
    skipped = summary["skipped"]
    if summary["images"] == 0 and summary["frames"] == 0 and skipped:
        # Each file was reported on its own line above.
        cli.fail(
            f"no input could be processed: {len(skipped)} unreadable (each named above), "
            "nothing predicted"
        )
    print(
        f"{summary['persons']} persons in {summary['images']} images and {summary['frames']} "
        f"video frames -> {summary['predictions']}"
    )
    print(f"flip test: {'on' if summary['flip_test'] else 'off'} ({summary['flip_test_source']})")
    if predictor.refine:
        print(
            f"passes per person: {predictor.refine + 1} (the first on the given region or whole "
            "image, then on the joints found)"
        )
    if skipped:
        print(f"skipped {len(skipped)} unreadable files:")
        for item in skipped:
            print(f"  {item['reason']}")


if __name__ == "__main__":
    cli.run(main)  # errors in one line, without absl's usage text
