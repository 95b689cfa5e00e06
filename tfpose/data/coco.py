"""Reader for COCO person keypoints (official ``person_keypoints_*.json`` layout).

COCO's keypoint flags map one to one onto tfpose visibility: 0 not labelled, 1 labelled but not
visible (occluded), 2 labelled and visible. One example per person annotation with at least one
labelled keypoint; crowd annotations and persons without a labelled keypoint are skipped and
counted, by reason, in the manifest (``skipped``, ``skip_reasons``). The person centre is
the middle of the ``bbox`` and the scale its larger side / 200 px. COCO coordinates are already
0-based pixels. Each record also keeps the image's integer ``id`` (``image/coco_id``) and the
annotation's ``area`` (``person/area``), what COCO's keypoint AP needs (the OKS scale, and the
image a result belongs to; see :mod:`tfpose.evaluation.coco_keypoints`).

Layout expected by :func:`read_coco`: ``data_dir`` holds one or more annotation JSON files
(directly or under ``annotations/``); each file becomes one split named after it
(``person_keypoints_val2017.json`` → ``val2017``, ``test_coco.json`` → ``test_coco``). Images are
looked up in ``data_dir/<split>/``, ``data_dir/images/`` and ``data_dir/`` in that order.
"""

from __future__ import annotations

import collections
import glob
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from tfpose.data.example import SCALE_UNIT_PX, PoseExample
from tfpose.data.image_files import SkipLog, example_or_skip, find_image, read_json, read_or_skip
from tfpose.data.sources import where_to_get
from tfpose.skeletons import COCO


def load_coco_json(path: str) -> dict[str, Any]:
    """Loads and checks a COCO keypoints file; raises naming the file and the problem."""
    content = read_json(path)
    for key in ("images", "annotations"):
        if not isinstance(content, dict) or not isinstance(content.get(key), list):
            raise ValueError(f"{path}: not a COCO keypoints file, no {key!r} list")
    for i, ann in enumerate(content["annotations"]):
        if not isinstance(ann, dict):
            raise ValueError(f"{path}: annotation #{i} is not a JSON object")
        for key in ("image_id", "keypoints", "bbox"):
            if key not in ann:
                raise ValueError(f"{path}: annotation #{i} has no {key!r}")
        if len(ann["keypoints"]) != 3 * COCO.num_keypoints:
            raise ValueError(
                f"{path}: annotation #{i} (id {ann.get('id')}) has {len(ann['keypoints'])} "
                f"keypoint values, expected {3 * COCO.num_keypoints} (17 × x, y, v)"
            )
    try:  # the types and references of every value, as parse_coco_people reads them
        parse_coco_people(content)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
        raise ValueError(
            f"{path}: malformed COCO keypoints file ({type(e).__name__}: {e})"
        ) from None
    return content


# Why a person annotation is not converted (counted in the manifest's skip_reasons).
DROPPED_CROWD = "crowd annotation (no keypoints)"
DROPPED_UNLABELLED = "no labelled keypoint"


def parse_coco_people(
    content: dict[str, Any], dropped: collections.Counter[str] | None = None
) -> list[dict]:
    """Person annotations with keypoints: dicts with ``file_name``, ``keypoints`` [17, 2],
    ``visibility`` [17], ``center`` [2], ``scale``, ``annotation_id``, ``coco_id`` (the image's
    integer id, None if it is not one) and ``area`` (None when absent or not a number >= 0).

    Crowd annotations and persons without a labelled keypoint are left out; ``dropped`` (if
    given) counts them by reason (:data:`DROPPED_CROWD`, :data:`DROPPED_UNLABELLED`).
    """
    images = {img["id"]: img for img in content["images"]}
    people = []
    for ann in content["annotations"]:
        values = np.asarray(ann["keypoints"], np.float32).reshape(COCO.num_keypoints, 3)
        visibility = values[:, 2].astype(np.int64)
        if ann.get("iscrowd", 0) or not (visibility > 0).any():
            if dropped is not None:
                dropped[DROPPED_CROWD if ann.get("iscrowd", 0) else DROPPED_UNLABELLED] += 1
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        people.append(
            {
                "file_name": images[ann["image_id"]]["file_name"],
                "keypoints": values[:, :2],
                "visibility": visibility,
                "center": np.array([x + w / 2.0, y + h / 2.0], np.float32),
                "scale": max(w, h, 1.0) / SCALE_UNIT_PX,
                "annotation_id": ann.get("id"),
                "coco_id": _coco_image_id(ann["image_id"]),
                "area": _area(ann.get("area")),
            }
        )
    return people


def _coco_image_id(value: Any) -> int | None:
    """COCO image ids are integers; other files' ids (strings) are not kept."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _area(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if np.isfinite(value) and value >= 0:
            return float(value)
    return None


def split_name(annotation_path: str) -> str:
    stem = os.path.splitext(os.path.basename(annotation_path))[0]
    return stem.removeprefix("person_keypoints_")


def _read_people(
    people: list[dict],
    image_dirs: list[str],
    skip_log: SkipLog,
    dropped: collections.Counter[str] | None = None,
    source: str = "",
) -> Iterator[PoseExample]:
    # Counted when the split is written, so that the manifest gives them to this split.
    for reason, count in (dropped or {}).items():
        skip_log.skip_many(reason, count, f"{source}: {count} person annotations: {reason}")
    for person in people:
        path = find_image(person["file_name"], image_dirs)
        image = read_or_skip(path, skip_log)
        if image is None:
            continue
        example = example_or_skip(
            skip_log,
            path,
            image,
            image_id=person["file_name"],
            keypoints=person["keypoints"],
            visibility=person["visibility"],
            center=person["center"],
            scale=person["scale"],
            dataset="coco",
            skeleton=COCO.name,
            coco_id=person["coco_id"],
            area=person["area"],
        )
        if example is not None:
            yield example


def read_coco(data_dir: str, skip_log: SkipLog) -> dict[str, tuple[int, Iterator[PoseExample]]]:
    """One split per annotation JSON file in ``data_dir`` (see module docstring):
    ``{split: (people before skips, examples)}``."""
    files = sorted(
        glob.glob(os.path.join(data_dir, "*.json"))
        + glob.glob(os.path.join(data_dir, "annotations", "person_keypoints_*.json"))
    )
    if not files:
        raise FileNotFoundError(
            f"{data_dir}: no COCO annotation JSON found (expected *.json or "
            f"annotations/person_keypoints_*.json); {where_to_get('coco')}"
        )
    splits = {}
    for path in files:
        split = split_name(path)
        dropped: collections.Counter[str] = collections.Counter()
        people = parse_coco_people(load_coco_json(path), dropped)
        image_dirs = [os.path.join(data_dir, split), os.path.join(data_dir, "images"), data_dir]
        splits[split] = (len(people), _read_people(people, image_dirs, skip_log, dropped, path))
    return splits
