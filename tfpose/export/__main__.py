r"""Exports a trained model for serving: SavedModel (TF Serving), TFLite, ONNX, parity report.

  python -m tfpose.export --model=runs/quickstart/best.keras --output_dir=export/quickstart \
    --version=1 --formats=saved_model,tflite_fp32,tflite_fp16,tflite_int8,tflite_gpu,onnx \
    --representative_records=data/synthetic

writes export/quickstart/1/ (SavedModel), model_*.tflite, model.onnx, tfpose_export.json and
parity.json, prints the parity table and exits non-zero when an artifact diverges from the
Keras model beyond its tolerance. See export/README.md (serving contract), BUILD.md and
docs/export.md (measured parity).

What it is doing and the parity check's progress (a bar on a terminal, a line every 10 s in a
log) go to stderr. TensorFlow's start-up messages are hidden; -v 0 shows them.
"""

from __future__ import annotations

import dataclasses
import sys

from absl import app, flags

from tfpose import cli
from tfpose.export import parity
from tfpose.export.run import FORMATS, ExportConfig, export

flags.declare_key_flag("verbosity")  # listed by --help: -v 0 shows TensorFlow's messages

# Each flag is the field of ExportConfig of the same name, but --int8_pck_tolerance (a field of
# its tolerances).
_FLAGS = cli.by_name(
    flags.DEFINE_string(
        "model", None, "Trained .keras model (its run record inside, or flags.json beside it)."
    ),
    flags.DEFINE_string("output_dir", None, "Export folder, e.g. export/NAME."),
    flags.DEFINE_integer("version", 1, "SavedModel version folder (TF Serving layout)."),
    flags.DEFINE_list("formats", list(FORMATS), f"Artifacts to write: {FORMATS}."),
    flags.DEFINE_string(
        "representative_records",
        None,
        "Records calibrating tflite_int8 (default: the training run's --records).",
    ),
    flags.DEFINE_string("representative_split", "train", "Their split."),
    flags.DEFINE_integer("num_calibration_examples", 200, "Crops used to calibrate int8."),
    flags.DEFINE_string(
        "validation_records", None, "Records for the parity report (default: training --records)."
    ),
    flags.DEFINE_string(
        "validation_split", None, "Their split (default: the run's validation split)."
    ),
    flags.DEFINE_integer(
        "max_validation_examples", 256, "Parity on the first N examples (0 = all)."
    ),
    flags.DEFINE_boolean(
        "flip_test",
        None,
        "Whether the model's answer averages the maps of each crop and its mirror (inside the "
        "SavedModel's serving_default; tfpose's Predictor applies it to every artifact). Unset: "
        "the model's own setting (val_flip_test of the run record in the model, tfpose_run.json, "
        "or of the flags.json beside an older one: the validation that chose best.keras). "
        "Recorded as flip_test in tfpose_export.json.",
    ),
    flags.DEFINE_boolean(
        "check_parity", True, "Exit non-zero when an artifact exceeds its tolerance."
    ),
    flags.DEFINE_float(
        "int8_pck_tolerance",
        parity.DEFAULT_TOLERANCES["tflite_int8"].pck_drop,
        "PCK(h) points tflite_int8 may lose against the Keras model.",
    ),
    flags.DEFINE_boolean("overwrite", False, "Replace an existing version folder."),
)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    given = cli.flag_values(_FLAGS)
    settings = cli.fields_of(ExportConfig, given)
    if not settings["model"] or not settings["output_dir"]:
        raise app.UsageError("--model and --output_dir are required")
    tolerances = dict(parity.DEFAULT_TOLERANCES)
    tolerances["tflite_int8"] = dataclasses.replace(
        tolerances["tflite_int8"], pck_drop=given["int8_pck_tolerance"]
    )
    settings["formats"] = tuple(settings["formats"])
    config = ExportConfig(**settings, tolerances=tolerances)
    try:
        export(config)
    except parity.ParityError as error:
        print(f"\nPARITY FAILED: {error}", file=sys.stderr)
        sys.exit(2)
    except (OSError, ImportError, KeyError, ValueError) as error:
        raise app.UsageError(cli.message_of(error)) from error


if __name__ == "__main__":
    cli.run(main)  # errors in one line, without absl's usage text
