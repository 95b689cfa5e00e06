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
import re
from collections.abc import Iterable
from typing import Any

import tensorflow as tf

from tfpose.data.example import PoseExample, parse_example
from tfpose.skeletons import SKELETONS

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
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from None
        if not isinstance(content, dict):
            raise ValueError(f"{path}: a manifest must be a JSON object")
        for key in ("dataset", "skeleton", "num_keypoints", "splits"):
            if key not in content:
                raise ValueError(f"{path}: manifest has no {key!r} entry")
        skeleton = SKELETONS.get(str(content["skeleton"]))
        if skeleton is None:
            raise ValueError(
                f"{path}: unknown skeleton {content['skeleton']!r}; known: {sorted(SKELETONS)}"
            )
        if content["num_keypoints"] != skeleton.num_keypoints:
            raise ValueError(
                f"{path}: num_keypoints is {content['num_keypoints']!r} but skeleton "
                f"{skeleton.name!r} has {skeleton.num_keypoints} joints"
            )
        splits = content["splits"]
        if not isinstance(splits, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("files"), list) and "num_examples" in v
            for v in splits.values()
        ):
            raise ValueError(
                f"{path}: 'splits' must map each split to {{'files': [...], 'num_examples': N}}"
            )
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


def _check_record(serialized: tf.Tensor, num_keypoints: int) -> tf.Tensor:
    example = parse_example(serialized, num_keypoints)
    image = tf.io.decode_image(example["image_bytes"], channels=3, expand_animations=False)
    size = tf.shape(image)[:2]
    same = tf.reduce_all(tf.equal(size, example["image_size"]))
    message = tf.strings.format(
        "image {} is {} (height, width) but the record says {}",
        (example["image_id"], size, example["image_size"]),
    )
    with tf.control_dependencies([tf.debugging.Assert(same, [message])]):
        return tf.identity(example["image_id"])


def check_records(
    files: Iterable[str], num_keypoints: int, max_problems: int = 10
) -> tuple[int, list[str]]:
    """Reads every record of ``files`` as the pipeline would and names the damaged ones.

    Each record is parsed and validated (:func:`parse_example`) and its image decoded and
    compared with the stored size. A truncated or corrupted file stops at its first bad record
    (TFRecord checksums cannot resynchronise).

    Returns:
      ``(records read, problems)``; each problem is ``"FILE: record #i: what is wrong"``.
    """
    problems: list[str] = []
    count = 0
    for path in files:
        dataset = tf.data.TFRecordDataset(path).map(lambda s: _check_record(s, num_keypoints))
        iterator = iter(dataset)
        index = 0
        while len(problems) < max_problems:
            try:
                next(iterator)
            except StopIteration:
                stray = os.path.getsize(path) - _framed_size(path)
                if stray:
                    problems.append(
                        f"{path}: {stray} stray bytes after record #{index - 1}: the file is "
                        "truncated or has garbage at its end"
                    )
                break
            except tf.errors.DataLossError as e:
                problems.append(
                    f"{path}: record #{index} and after: the file is truncated or corrupted "
                    f"({_first_line(e)})"
                )
                break
            except tf.errors.InvalidArgumentError as e:
                problems.append(f"{path}: record #{index}: {_first_line(e)}")
            except UnicodeDecodeError:
                # TensorFlow quotes the record's bytes in its parse error and then fails to
                # decode its own message: the record is not a tf.train.Example.
                problems.append(f"{path}: record #{index}: not a serialized tf.train.Example")
            else:
                count += 1
            index += 1
    return count, problems


def _framed_size(path: str) -> int:
    """Bytes that the records of ``path`` occupy: each is a 12-byte header (length and its
    checksum), the data and a 4-byte checksum. The reader takes a file cut inside a header for
    its end, so only this sum tells such a file from a complete one."""
    lengths = tf.data.TFRecordDataset(path).map(lambda s: tf.strings.length(s, "BYTE"))
    return int(lengths.reduce(tf.constant(0, tf.int64), lambda a, n: a + tf.cast(n, tf.int64) + 16))


def _first_line(error: tf.errors.OpError) -> str:
    """The useful part of a TensorFlow error message (no function names, no node lists)."""
    text = error.message
    for marker in ("assertion failed: [", "transformation with iterator: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = text.split("\n")[0].split(" [Op:")[0].split("\t")[0]
    text = re.sub(r"^Iterator::[\w:]+: ", "", text)
    if text.startswith("}} "):
        text = text[3:]
    if "{{function_node" in text:
        text = text.split("}} ", 1)[-1]
    text = text.rstrip("]").replace('\\"', '"')
    if "Can't parse serialized Example" in text:
        text += f" (not a tfpose example with {_NUM_KEYPOINTS_HINT})"
    return text


_NUM_KEYPOINTS_HINT = "the manifest's num_keypoints joints; check its skeleton"
