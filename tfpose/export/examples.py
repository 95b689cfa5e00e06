"""Real examples for calibration and parity: records through the evaluation preprocessing.

Shape legend: N examples, S crop side, K keypoints.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfpose.data import pipeline
from tfpose.data.example import parse_example
from tfpose.skeletons import Skeleton

_KEYS = (
    "image",
    "affine",
    "image_keypoints",
    "visibility",
    "head_box",
    "has_head_box",
    "occlusion_labelled",
    "image_id",
    "image_size",
)


def read_examples(
    records: str,
    split: str,
    config: pipeline.PipelineConfig,
    skeleton: Skeleton,
    max_examples: int | None = None,
) -> dict[str, np.ndarray]:
    """The first ``max_examples`` persons of ``records`` (in file order), cropped for the model.

    Args:
      records: a converted dataset folder (manifest.json), record files or glob patterns.
      split: split of a manifest to read.
      config: the model's pipeline (``tfpose.run_config.saved_pipeline``).
      skeleton: the model's skeleton.
      max_examples: None or 0 = all.

    Returns:
      ``image`` float32 [N, S, S, 3] (network input, the evaluation crop), ``affine`` [N, 2, 3],
      ``image_keypoints`` [N, K, 2] (ground truth, image pixels), ``visibility`` [N, K],
      ``head_box`` [N, 4], ``has_head_box`` [N], ``occlusion_labelled`` [N], ``image_id`` [N]
      (bytes), ``image_size`` [N, 2] and ``image_bytes`` [N] (the encoded image).

    Raises:
      FileNotFoundError: naming records that do not exist.
      ValueError: when the records hold no example.
    """
    files, record_skeleton = pipeline.resolve_records(records, split)
    record_skeleton = record_skeleton or skeleton
    example_fn = pipeline.make_example_fn(
        skeleton, config, training=False, record_skeleton=record_skeleton
    )

    def both(serialized):
        example = example_fn(serialized, tf.zeros([2], tf.int64))
        out = {key: example[key] for key in _KEYS}
        out["image_bytes"] = parse_example(serialized, record_skeleton.num_keypoints)["image_bytes"]
        return out

    dataset = tf.data.TFRecordDataset(files).map(both)
    if max_examples:
        dataset = dataset.take(max_examples)
    collected: dict[str, list] = {}
    for example in dataset.batch(64):
        for key, value in example.items():
            collected.setdefault(key, []).append(value.numpy())
    if not collected:
        raise ValueError(f"records {records!r} (split {split!r}) hold no example")
    return {key: np.concatenate(values) for key, values in collected.items()}
