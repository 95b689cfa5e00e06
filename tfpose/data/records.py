"""Sharded TFRecord files and the ``manifest.json`` that describes them.

A converted dataset directory looks like::

    OUT/
      manifest.json
      train-00000-of-00004.tfrecord ... train-00003-of-00004.tfrecord
      val-00000-of-00001.tfrecord
      test-00000-of-00001.tfrecord

``manifest.json``::

    {"dataset": "lspet", "skeleton": "lsp", "num_keypoints": 14,
     "splits": {"train": {"files": ["train-00000-of-00004.tfrecord", ...], "num_examples": 9000},
                ...},
     "skipped": {"train": 0, ...}}

File names in the manifest are relative to the manifest's directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import tensorflow as tf

from tfpose.data.example import PoseExample

MANIFEST_NAME = "manifest.json"


def shard_paths(output_dir: str, split: str, num_shards: int) -> list[str]:
    return [
        os.path.join(output_dir, f"{split}-{i:05d}-of-{num_shards:05d}.tfrecord")
        for i in range(num_shards)
    ]


def write_split(
    examples: Iterable[PoseExample], output_dir: str, split: str, num_shards: int = 1
) -> dict[str, Any]:
    """Writes ``examples`` round-robin into ``num_shards`` TFRecord files.

    Returns:
      ``{"files": [relative names], "num_examples": N}`` for the manifest.
    """
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    os.makedirs(output_dir, exist_ok=True)
    paths = shard_paths(output_dir, split, num_shards)
    writers = [tf.io.TFRecordWriter(p) for p in paths]
    count = 0
    try:
        for example in examples:
            writers[count % num_shards].write(example.serialize())
            count += 1
    finally:
        for w in writers:
            w.close()
    return {"files": [os.path.basename(p) for p in paths], "num_examples": count}


def write_manifest(output_dir: str, manifest: dict[str, Any]) -> str:
    path = os.path.join(output_dir, MANIFEST_NAME)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
    os.replace(tmp, path)
    return path


class Manifest:
    """A converted dataset: its skeleton and the record files of each split."""

    def __init__(self, path: str, content: dict[str, Any]):
        self.path = path
        self.directory = os.path.dirname(os.path.abspath(path))
        self.content = content

    @classmethod
    def load(cls, path: str) -> Manifest:
        """Loads ``path`` (a manifest file or the directory holding ``manifest.json``).

        Raises:
          FileNotFoundError: no manifest there.
          ValueError: the manifest lacks keys or names record files that do not exist.
        """
        if os.path.isdir(path):
            path = os.path.join(path, MANIFEST_NAME)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"no dataset manifest at {path}; create it with "
                "`python -m tfpose.data.convert --dataset=... --output_dir=...`"
            )
        try:
            with open(path) as f:
                content = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from None
        for key in ("dataset", "skeleton", "num_keypoints", "splits"):
            if key not in content:
                raise ValueError(f"{path}: manifest has no {key!r} entry")
        return cls(path, content)

    @property
    def skeleton(self) -> str:
        return self.content["skeleton"]

    @property
    def num_keypoints(self) -> int:
        return int(self.content["num_keypoints"])

    @property
    def splits(self) -> list[str]:
        return list(self.content["splits"])

    def num_examples(self, split: str) -> int:
        return int(self._split(split)["num_examples"])

    def files(self, split: str) -> list[str]:
        """Absolute paths of the record files of ``split``; raises if any is missing."""
        paths = [os.path.join(self.directory, f) for f in self._split(split)["files"]]
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise FileNotFoundError(
                f"{self.path}: split {split!r} names record files that do not exist: "
                + ", ".join(missing[:5])
            )
        return paths

    def _split(self, split: str) -> dict[str, Any]:
        try:
            return self.content["splits"][split]
        except KeyError:
            raise KeyError(
                f"{self.path}: no split {split!r}; available: {', '.join(self.splits)}"
            ) from None
