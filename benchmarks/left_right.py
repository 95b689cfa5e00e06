r"""How much of a model's PCKh error is left/right confusion.

Reads a split of pose records and a COCO keypoint-results file of predictions for it (what
``python -m tfpose.evaluate --output_dir=DIR`` writes as ``DIR/keypoint_results.json``) and
reports PCKh@0.5 over the annotated joints (all joints pooled, MPII head-box reference)

* as predicted,
* with each person's predictions mirrored (every left joint swapped with its right partner)
  when that scores more of its joints: the upper bound if the model's only mistake were which
  way the person faces,
* per left/right pair, how often both joints of the pair miss as labelled but both hit when
  swapped,
* per joint with a partner, where its prediction lands: on the joint ("hit"), on its
  partner's position instead ("on_partner": a left wrist predicted on the right wrist, the
  left/right mistake of a single joint), or elsewhere.

Command (the README's main job writes the inputs)::

    python -m benchmarks.left_right --records=data/synthetic --split=test \
        --predictions=runs/quickstart/eval/keypoint_results.json --output_json=runs/lr.json

This is an analysis, not a metric of any paper: docs/training.md uses it to explain the
quickstart's per-joint results.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from absl import app, flags

from benchmarks import common

_RECORDS = flags.DEFINE_string("records", None, "Manifest directory of the records.")
_SPLIT = flags.DEFINE_string("split", "test", "Manifest split the predictions are for.")
_PREDICTIONS = flags.DEFINE_string("predictions", None, "COCO keypoint-results .json file.")
_OUTPUT_JSON = flags.DEFINE_string("output_json", None, "Optional: where to write the results.")
_THRESHOLD = flags.DEFINE_float("threshold", 0.5, "PCKh threshold (head-box units).")


def load_ground_truth(records: str, split: str):
    """The split's :class:`GroundTruth` (with image ids and head boxes) and its skeleton."""
    import tensorflow as tf

    from tfpose.data.example import parse_example
    from tfpose.data.records import Manifest
    from tfpose.evaluation.prediction_files import GroundTruth
    from tfpose.skeletons import get_skeleton

    manifest = Manifest.load(records)
    skeleton = get_skeleton(manifest.skeleton)
    dataset = tf.data.TFRecordDataset(manifest.files(split)).batch(256)
    parts = [parse_example(batch, skeleton.num_keypoints) for batch in dataset]
    ground_truth = GroundTruth(
        keypoints=np.concatenate([p["keypoints"].numpy() for p in parts]).astype(np.float64),
        visibility=np.concatenate([p["visibility"].numpy() for p in parts]),
        head_boxes=np.concatenate([p["head_box"].numpy() for p in parts]),
        image_ids=tuple(i.decode() for p in parts for i in p["image_id"].numpy()),
        skeleton=skeleton.name,
        source=f"{records} ({split})",
    )
    return ground_truth, skeleton


def analyse(pred, gt, visibility, head_boxes, flip_permutation, threshold) -> dict:
    from tfpose.evaluation import metrics

    reference = metrics.head_box_reference(head_boxes)
    mask = metrics.valid_mask(visibility, reference)
    flip = np.asarray(flip_permutation)

    def hits(points):
        distances = metrics.normalized_distances(points, gt, reference)
        return metrics.pck_hits(distances, threshold, inclusive=True) & mask

    as_is = hits(pred)
    mirrored = hits(pred[:, flip])
    better = mirrored.sum(1) > as_is.sum(1)
    best = np.where(better[:, None], mirrored, as_is)
    pairs = {}
    for left in range(len(flip)):
        right = int(flip[left])
        if right <= left:
            continue
        both = mask[:, left] & mask[:, right]
        swapped = both & ~as_is[:, left] & ~as_is[:, right] & mirrored[:, left] & mirrored[:, right]
        pairs[f"{left}-{right}"] = round(100.0 * swapped.sum() / max(both.sum(), 1), 2)
    per_joint = {}
    for joint in range(len(flip)):
        partner, annotated = int(flip[joint]), mask[:, joint]
        if partner == joint or not annotated.any():
            continue
        # mirrored[:, partner] scores this joint's prediction against the partner's position.
        on_partner = ~as_is[:, joint] & mirrored[:, partner]
        elsewhere = ~as_is[:, joint] & ~on_partner
        per_joint[str(joint)] = {
            name: round(100.0 * value[annotated].mean(), 2)
            for name, value in (
                ("hit", as_is[:, joint]),
                ("on_partner", on_partner),
                ("elsewhere", elsewhere),
            )
        }
    total = mask.sum()
    return {
        "people": int(len(gt)),
        "joints": int(total),
        "pckh_as_predicted": round(100.0 * as_is.sum() / total, 2),
        "pckh_mirrored_where_better": round(100.0 * best.sum() / total, 2),
        "people_better_mirrored_percent": round(100.0 * better.mean(), 2),
        "pair_swapped_percent": pairs,
        "per_joint_percent": per_joint,
    }


def main(argv: list[str]) -> None:
    del argv
    if not _RECORDS.value or not _PREDICTIONS.value:
        raise app.UsageError("--records and --predictions are required")
    from tfpose.evaluation import prediction_files

    ground_truth, skeleton = load_ground_truth(_RECORDS.value, _SPLIT.value)
    try:
        loaded = prediction_files.load_predictions(_PREDICTIONS.value)
        # Match by image id, not by person index: indices of another split would match too.
        predictions = prediction_files.align_predictions(
            dataclasses.replace(loaded, person_indices=None), ground_truth
        )
    except (OSError, KeyError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    result = analyse(
        predictions.keypoints,
        ground_truth.keypoints,
        ground_truth.visibility,
        ground_truth.head_boxes,
        skeleton.flip_permutation,
        _THRESHOLD.value,
    )
    names = skeleton.joint_names
    result["pair_swapped_percent"] = {
        f"{names[int(a)]}/{names[int(b)]}": v
        for (a, b), v in (
            (key.split("-"), value) for key, value in result["pair_swapped_percent"].items()
        )
    }
    result["per_joint_percent"] = {
        names[int(joint)]: value for joint, value in result["per_joint_percent"].items()
    }
    result["command"] = common.command_line("benchmarks.left_right")
    print(json.dumps(result, indent=2))
    if _OUTPUT_JSON.value:
        common.write_json(result, _OUTPUT_JSON.value)


if __name__ == "__main__":
    app.run(main)
