r"""Converts a pose dataset into tfpose's sharded TFRecords and a ``manifest.json``.

Examples::

  # LSP Extended (train 9000 / val 500 / test 500):
  python -m tfpose.data.convert --dataset=lspet --data_dir=../shared/data/lspet \
      --output_dir=data/lspet --num_shards=8

  # The built-in synthetic people (no download): 10,000 train + 1,000 val + 1,000 test.
  python -m tfpose.data.convert --dataset=synthetic --num_examples=10000 \
      --output_dir=data/synthetic

  # MPII (official release .mat, Tompson validation split as `val`):
  python -m tfpose.data.convert --dataset=mpii --data_dir=DATA/mpii \
      --validation_file=../shared/data/mpii_val/detections_our_format.mat --output_dir=data/mpii

  # COCO person keypoints (one split per annotation file):
  python -m tfpose.data.convert --dataset=coco --data_dir=../shared/data/samples/coco \
      --output_dir=data/coco_samples

Unreadable images, invalid annotations and (COCO) crowd annotations or persons without a labelled
keypoint are skipped with a warning; the manifest counts them by split and reason and the command
prints the counts.

Progress goes to stderr: a bar per split on a terminal, a line every 10 s in a log file.
TensorFlow's start-up messages are hidden; -v 0 shows them.
"""

from __future__ import annotations

import os

from absl import app, flags, logging

from tfpose import cli
from tfpose.data import records
from tfpose.data.conversion import DATASETS, convert

flags.declare_key_flag("verbosity")  # listed by --help: -v 0 shows TensorFlow's messages

# Each flag is the argument of conversion.convert of the same name.
_FLAGS = cli.by_name(
    flags.DEFINE_enum("dataset", None, DATASETS, "Which dataset to convert."),
    flags.DEFINE_string("data_dir", None, "The dataset's folder (not for synthetic)."),
    flags.DEFINE_string("output_dir", None, "Where records and manifest.json go."),
    flags.DEFINE_integer("num_shards", 0, "Shards per split; 0 = about 1,000 per shard."),
    flags.DEFINE_integer("num_examples", 10000, "Synthetic: training examples."),
    flags.DEFINE_integer(
        "num_eval_examples",
        None,
        "Synthetic: examples in val and in test; default num_examples/10.",
    ),
    flags.DEFINE_integer("seed", 0, "Synthetic: generator seed."),
    flags.DEFINE_integer("num_workers", 2, "Synthetic: generator processes."),
    flags.DEFINE_string("annotations", None, "MPII: annotation file (.mat or .json)."),
    flags.DEFINE_string(
        "validation_file",
        None,
        "MPII: Tompson's detections_our_format.mat; its persons become val.",
    ),
    flags.DEFINE_bool(
        "single_person_only", False, "MPII .mat: keep only the release's single-person rectangles."
    ),
)


def main(argv: list[str]) -> None:
    del argv
    output_dir = _FLAGS["output_dir"].value
    if _FLAGS["dataset"].value is None or output_dir is None:
        raise app.UsageError("--dataset and --output_dir are required")
    logging.set_verbosity(logging.WARNING)
    try:
        manifest = convert(**cli.flag_values(_FLAGS))
    except (OSError, KeyError, ValueError) as e:
        cli.fail(cli.message_of(e))
    counts = ", ".join(f"{s} {v['num_examples']}" for s, v in manifest["splits"].items())
    skipped = sum(manifest["skipped"].values())
    print(f"wrote {os.path.join(output_dir, records.MANIFEST_NAME)}: {counts}; skipped {skipped}")
    # Every dropped person, by split and reason (also in the manifest: skip_reasons_by_split).
    for split, reasons in manifest.get("skip_reasons_by_split", {}).items():
        if reasons:
            why = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
            print(f"  {split}: skipped {why}")


if __name__ == "__main__":
    cli.run(main)  # errors in one line, without absl's usage text
