"""Dataset conversion as a library: readers → sharded TFRecords + ``manifest.json``.

``python -m tfpose.data.convert`` is the command-line front end (see that module for examples).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator

from tfpose.data import coco, lsp, mpii, records
from tfpose.data.example import PoseExample
from tfpose.data.image_files import SkipLog
from tfpose.data.sources import where_to_get
from tfpose.progress import track
from tfpose.skeletons import get_skeleton

DATASETS = ("mpii", "lsp", "lspet", "coco", "synthetic")
SKELETON_OF = {"mpii": "mpii", "lsp": "lsp", "lspet": "lsp", "coco": "coco", "synthetic": "mpii"}

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
                synthetic.generate_examples(count, seed=seed, start=start, num_workers=num_workers),
            )
            for split, (start, count) in starts.items()
        }
    if not data_dir:
        raise ValueError(f"--data_dir is required for --dataset={dataset}; {where_to_get(dataset)}")
    if not os.path.isdir(data_dir):
        raise ValueError(f"--data_dir={data_dir} is not a directory; {where_to_get(dataset)}")
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
    examples: Iterable[PoseExample], split: str, total: int
) -> Iterator[PoseExample]:
    """Yields ``examples`` with a progress bar (a terminal) or lines with ETA (logs)."""
    print(f"writing split {split!r} ({total} examples) ...", file=sys.stderr, flush=True)
    yield from track(examples, f"  {split}", total, unit="examples")


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
    manifest["skip_reasons_by_split"] = {}
    for split, (expected, examples) in splits.items():
        skipped_before = skip_log.total
        reasons_before = skip_log.reasons.copy()
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
        # Every person dropped and why (unreadable image, invalid annotation, COCO crowd or
        # unlabelled person), for this split.
        manifest["skip_reasons_by_split"][split] = dict(skip_log.reasons - reasons_before)
    manifest["skip_reasons"] = dict(skip_log.reasons)
    records.write_manifest(output_dir, manifest)
    return manifest
