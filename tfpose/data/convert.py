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

Unreadable images are skipped with a warning naming the file; the manifest counts them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator

from absl import app, flags, logging

from tfpose.data import coco, lsp, mpii, records
from tfpose.data.example import PoseExample
from tfpose.data.image_files import SkipLog
from tfpose.skeletons import get_skeleton

DATASETS = ("mpii", "lsp", "lspet", "coco", "synthetic")
SKELETON_OF = {"mpii": "mpii", "lsp": "lsp", "lspet": "lsp", "coco": "coco", "synthetic": "mpii"}

_DATASET = flags.DEFINE_enum("dataset", None, DATASETS, "Which dataset to convert.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "The dataset's folder (not for synthetic).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where records and manifest.json go.")
_NUM_SHARDS = flags.DEFINE_integer("num_shards", 0, "Shards per split; 0 = about 1,000 per shard.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 10000, "Synthetic: training examples.")
_NUM_EVAL_EXAMPLES = flags.DEFINE_integer(
    "num_eval_examples", None, "Synthetic: examples in val and in test; default num_examples/10."
)
_SEED = flags.DEFINE_integer("seed", 0, "Synthetic: generator seed.")
_NUM_WORKERS = flags.DEFINE_integer("num_workers", 2, "Synthetic: generator processes.")
_ANNOTATIONS = flags.DEFINE_string("annotations", None, "MPII: annotation file (.mat or .json).")
_VALIDATION_FILE = flags.DEFINE_string(
    "validation_file", None, "MPII: Tompson's detections_our_format.mat; its persons become val."
)
_SINGLE_PERSON = flags.DEFINE_bool(
    "single_person_only", False, "MPII .mat: keep only the release's single-person rectangles."
)

EXAMPLES_PER_SHARD = 1000


def dataset_splits(
    dataset: str,
    data_dir: str | None,
    skip_log: SkipLog,
    *,
    num_examples: int = 10000,
    num_eval_examples: int | None = None,
    seed: int = 0,
    num_workers: int = 2,
    annotations: str | None = None,
    validation_file: str | None = None,
    single_person_only: bool = False,
) -> dict[str, tuple[int, Iterable[PoseExample]]]:
    """``{split: (expected count before skips, examples)}`` for ``dataset``."""
    if dataset == "synthetic":
        from tfpose.data import synthetic  # imported here: the generator is only needed here

        n_eval = num_eval_examples if num_eval_examples is not None else max(num_examples // 10, 1)
        starts = {"train": (0, num_examples), "val": (num_examples, n_eval)}
        starts["test"] = (num_examples + n_eval, n_eval)
        return {
            split: (
                count,
                synthetic.generate_examples(
                    count, seed=seed, start=start, num_workers=num_workers
                ),
            )
            for split, (start, count) in starts.items()
        }
    if not data_dir:
        raise app.UsageError(f"--data_dir is required for --dataset={dataset}")
    if not os.path.isdir(data_dir):
        raise app.UsageError(f"--data_dir={data_dir} is not a directory")
    if dataset == "lsp":
        splits = lsp.read_lsp(data_dir, skip_log)
    elif dataset == "lspet":
        splits = lsp.read_lspet(data_dir, skip_log)
    elif dataset == "coco":
        splits = coco.read_coco(data_dir, skip_log)
    else:
        splits = mpii.read_mpii(
            data_dir, skip_log, annotations, validation_file, single_person_only
        )
    return splits


def _with_progress(
    examples: Iterable[PoseExample], split: str, total: int, every: int = 500
) -> Iterator[PoseExample]:
    start = time.time()
    count = 0
    for count, example in enumerate(examples, 1):
        if count % every == 0:
            rate = count / max(time.time() - start, 1e-9)
            print(f"  {split}: {count}/{total} examples ({rate:.0f}/s)", file=sys.stderr, flush=True)
        yield example
    print(f"  {split}: {count} examples in {time.time() - start:.1f}s", file=sys.stderr)


def convert(
    dataset: str, output_dir: str, data_dir: str | None = None, num_shards: int = 0, **options
) -> dict:
    """Converts ``dataset`` into ``output_dir``; returns the manifest it wrote."""
    skeleton = get_skeleton(SKELETON_OF[dataset])
    skip_log = SkipLog()
    splits = dataset_splits(dataset, data_dir, skip_log, **options)
    manifest = {
        "dataset": dataset,
        "skeleton": skeleton.name,
        "num_keypoints": skeleton.num_keypoints,
        "splits": {},
        "skipped": {},
    }
    for split, (expected, examples) in splits.items():
        skipped_before = skip_log.total
        shards = num_shards or max(1, -(-expected // EXAMPLES_PER_SHARD))
        entry = records.write_split(
            _with_progress(examples, split, expected), output_dir, split, shards
        )
        if entry["num_examples"] == 0:
            raise ValueError(
                f"split {split!r} of {dataset} has no usable example "
                f"({skip_log.total - skipped_before} skipped; see the warnings above)"
            )
        manifest["splits"][split] = entry
        manifest["skipped"][split] = skip_log.total - skipped_before
    manifest["skip_reasons"] = dict(skip_log.reasons)
    records.write_manifest(output_dir, manifest)
    return manifest


def main(argv: list[str]) -> None:
    del argv
    if _DATASET.value is None or _OUTPUT_DIR.value is None:
        raise app.UsageError("--dataset and --output_dir are required")
    logging.set_verbosity(logging.WARNING)
    try:
        manifest = convert(
            _DATASET.value,
            _OUTPUT_DIR.value,
            _DATA_DIR.value,
            _NUM_SHARDS.value,
            num_examples=_NUM_EXAMPLES.value,
            num_eval_examples=_NUM_EVAL_EXAMPLES.value,
            seed=_SEED.value,
            num_workers=_NUM_WORKERS.value,
            annotations=_ANNOTATIONS.value,
            validation_file=_VALIDATION_FILE.value,
            single_person_only=_SINGLE_PERSON.value,
        )
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    counts = ", ".join(f"{s} {v['num_examples']}" for s, v in manifest["splits"].items())
    skipped = sum(manifest["skipped"].values())
    print(f"wrote {os.path.join(_OUTPUT_DIR.value, records.MANIFEST_NAME)}: {counts}; "
          f"skipped {skipped}")


if __name__ == "__main__":
    app.run(main)
