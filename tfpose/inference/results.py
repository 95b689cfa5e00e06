"""COCO keypoint results files, and a check of that format: the one writer of tfpose.

COCO keypoint results (https://cocodataset.org/#format-results) are a JSON list with one object
per person::

    {"image_id": int, "category_id": int, "keypoints": [x1, y1, v1, ..., xK, yK, vK],
     "score": float}

Both ``python -m tfpose.predict`` (``predictions.json``) and ``python -m tfpose.evaluate``
(``keypoint_results.json``) write them with :func:`write_coco_results`, which checks every entry
with :func:`validate_coco_results` first, so both files load in pycocotools (``COCO.loadRes``).

tfpose writes ``v`` = the keypoint's confidence (in [0, 1] from ``predict``, the heatmap maximum
from ``evaluate``) and ``score`` = the mean confidence, keypoints in the skeleton's joint order
(``python -m tfpose.predict`` writes the order into ``OUT/skeleton.json``), and adds fields the
format allows and COCO tools ignore:
``file_name`` (the input file, or the record's image name), ``frame`` (video frame index,
videos only), ``box`` (the region x1, y1, x2, y2 the person was cropped from), ``visibility``
(K scores in [0, 1]) and, from ``evaluate``, ``person_index`` (the person's position in the
ground truth).

``image_id`` is always an integer (:func:`image_ids`): the file name's number when every name
(without extension) is an integer and distinct names have distinct numbers — COCO's and MPII's
file names are, so results on COCO images match their annotation ids — and else the name's
position among the distinct names (for ``predict``: images in sorted order, then every video
frame in order). ``evaluate`` uses the COCO image id its records keep, when they all keep one.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

PERSON_CATEGORY_ID = 1


def _rounded(value: Any, decimals: int | None) -> float:
    return float(value) if decimals is None else round(float(value), decimals)


def coco_result(
    image_id: int,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    visibility: np.ndarray | None = None,
    box: np.ndarray | None = None,
    file_name: str | None = None,
    frame: int | None = None,
    *,
    person_index: int | None = None,
    decimals: int | None = 3,
) -> dict[str, Any]:
    """One person's COCO keypoint-results entry (keypoints [K, 2], scores [K], box [4]).

    ``visibility``, ``box``, ``file_name``, ``frame`` and ``person_index`` are left out when
    None. ``decimals`` rounds keypoints (scores keep 2 more); None keeps full precision, e.g.
    for results that are scored again at exact PCK thresholds.
    """
    triples = np.concatenate(
        [np.asarray(keypoints, np.float64), np.asarray(confidence, np.float64)[:, None]], axis=1
    )
    fine = None if decimals is None else decimals + 2
    entry: dict[str, Any] = {
        "image_id": int(image_id),
        "category_id": PERSON_CATEGORY_ID,
        "keypoints": [_rounded(v, decimals) for v in triples.reshape(-1)],
        "score": _rounded(np.mean(confidence), fine),
    }
    if file_name is not None:
        entry["file_name"] = str(file_name)
    if box is not None:
        entry["box"] = [round(float(v), 2) for v in box]
    if visibility is not None:
        entry["visibility"] = [_rounded(v, fine) for v in visibility]
    if frame is not None:
        entry["frame"] = int(frame)
    if person_index is not None:
        entry["person_index"] = int(person_index)
    return entry


def write_coco_results(
    path: str | os.PathLike, entries: list[dict[str, Any]], num_keypoints: int
) -> str | os.PathLike:
    """Writes ``entries`` (from :func:`coco_result`) as a COCO keypoint-results file at ``path``
    after checking them (:func:`validate_coco_results`); returns ``path``.

    Raises:
      ValueError: an entry that does not conform, before anything is written.
    """
    validate_coco_results(entries, num_keypoints)
    with open(path, "w") as f:
        json.dump(entries, f, allow_nan=False)
    return path


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


def image_ids(names: Sequence[str], all_images: bool = True) -> list[int]:
    """The integer ``image_id`` of each name (see the module docstring).

    A name may repeat (several persons of one image): it gets the same id each time. Ids are
    the numbers in the names when ``all_images`` and every name (without folder and extension)
    is an integer, distinct names giving distinct numbers; else each name's position among the
    distinct names in order of first appearance (0, 1, 2, … for distinct names).
    """
    names = [str(name) for name in names]
    distinct = list(dict.fromkeys(names))
    stems = [name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0] for name in distinct]
    if (
        all_images
        and all(s.isdigit() for s in stems)
        and len({int(s) for s in stems}) == len(stems)
    ):
        number = {name: int(s) for name, s in zip(distinct, stems, strict=True)}
    else:
        number = {name: i for i, name in enumerate(distinct)}
    return [number[name] for name in names]
