"""``predictions.json``: COCO keypoint results, and a check of that format.

COCO keypoint results (https://cocodataset.org/#format-results) are a JSON list with one object
per person::

    {"image_id": int, "category_id": int, "keypoints": [x1, y1, v1, ..., xK, yK, vK],
     "score": float}

tfpose writes ``v`` = the keypoint's confidence in [0, 1] and ``score`` = the mean confidence,
keypoints in the skeleton's joint order (``python -m tfpose.predict`` writes the order into
``OUT/skeleton.json``), and adds fields the format allows and COCO tools ignore:
``file_name`` (the input file), ``frame`` (video frame index, videos only), ``box`` (the region
x1, y1, x2, y2 the person was cropped from) and ``visibility`` (K scores in [0, 1]).

``image_id`` is the file name's number when every input is an image whose name (without
extension) is a distinct integer — COCO's and MPII's file names are, so results on COCO images
match their annotation ids — and else the input's position in the run (images in sorted order,
then every video frame in order).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

PERSON_CATEGORY_ID = 1


def coco_result(
    image_id: int,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    visibility: np.ndarray,
    box: np.ndarray,
    file_name: str,
    frame: int | None = None,
) -> dict[str, Any]:
    """One person's COCO keypoint-results entry (keypoints [K, 2], scores [K], box [4])."""
    triples = np.concatenate(
        [np.asarray(keypoints, np.float64), np.asarray(confidence, np.float64)[:, None]], axis=1
    )
    entry = {
        "image_id": int(image_id),
        "category_id": PERSON_CATEGORY_ID,
        "keypoints": [round(float(v), 3) for v in triples.reshape(-1)],
        "score": round(float(np.mean(confidence)), 5),
        "file_name": file_name,
        "box": [round(float(v), 2) for v in box],
        "visibility": [round(float(v), 5) for v in visibility],
    }
    if frame is not None:
        entry["frame"] = int(frame)
    return entry


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def validate_coco_results(results: Any, num_keypoints: int) -> None:
    """Checks a parsed results file against the COCO keypoint-results format.

    Raises:
      ValueError: naming the first entry and field that do not conform.
    """
    if not isinstance(results, list):
        raise ValueError(f"COCO results must be a JSON list, got {type(results).__name__}")
    for i, entry in enumerate(results):
        if not isinstance(entry, dict):
            raise ValueError(f"result {i}: must be an object, got {type(entry).__name__}")
        for key in ("image_id", "category_id", "keypoints", "score"):
            if key not in entry:
                raise ValueError(f"result {i}: missing {key!r}")
        for key in ("image_id", "category_id"):
            if not isinstance(entry[key], int) or isinstance(entry[key], bool):
                raise ValueError(f"result {i}: {key!r} must be an integer, got {entry[key]!r}")
        values = entry["keypoints"]
        if not isinstance(values, list) or len(values) != 3 * num_keypoints:
            raise ValueError(
                f"result {i}: 'keypoints' must be a list of 3 x {num_keypoints} numbers"
            )
        if not all(_is_number(v) for v in values):
            raise ValueError(f"result {i}: 'keypoints' holds a non-number or non-finite value")
        if not _is_number(entry["score"]):
            raise ValueError(f"result {i}: 'score' must be a finite number")


def image_ids(names: Sequence[str], all_images: bool) -> list[int]:
    """``image_id`` of each input (see the module docstring): the number in each name when
    ``all_images`` and the names are distinct integers, else 0, 1, 2, …"""
    stems = [name.rsplit("/", 1)[-1].rsplit(".", 1)[0] for name in names]
    if (
        all_images
        and all(s.isdigit() for s in stems)
        and len({int(s) for s in stems}) == len(stems)
    ):
        return [int(s) for s in stems]
    return list(range(len(names)))
