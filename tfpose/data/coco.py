"""Reader for COCO person keypoints (official ``person_keypoints_*.json`` layout).

COCO's keypoint flags map one to one onto tfpose visibility: 0 not labelled, 1 labelled but not
visible (occluded), 2 labelled and visible. One example per person annotation with at least one
labelled keypoint; crowd annotations are skipped (they have no keypoints). The person centre is
the middle of the ``bbox`` and the scale its larger side / 200 px. COCO coordinates are already
0-based pixels.

Layout expected by :func:`read_coco`: ``data_dir`` holds one or more annotation JSON files
(directly or under ``annotations/``); each file becomes one split named after it
(``person_keypoints_val2017.json`` → ``val2017``, ``test_coco.json`` → ``test_coco``). Images are
looked up in ``data_dir/<split>/``, ``data_dir/images/`` and ``data_dir/`` in that order.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from tfpose.data.example import SCALE_UNIT_PX, PoseExample
from tfpose.data.image_files import SkipLog, example_or_skip, find_image, read_or_skip
from tfpose.skeletons import COCO


def load_coco_json(path: str) -> dict[str, Any]:
    """Loads and checks a COCO keypoints file; raises naming the file and the problem."""
    try:
        with open(path) as f:
            content = json.load(f)
    except OSError as e:
        raise FileNotFoundError(f"{path}: cannot read ({e.strerror or e})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
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


def parse_coco_people(content: dict[str, Any]) -> list[dict]:
    """Person annotations with keypoints: dicts with ``file_name``, ``keypoints`` [17, 2],
    ``visibility`` [17], ``center`` [2], ``scale``, ``annotation_id``."""
    images = {img["id"]: img for img in content["images"]}
    people = []
    for ann in content["annotations"]:
        values = np.asarray(ann["keypoints"], np.float32).reshape(COCO.num_keypoints, 3)
        visibility = values[:, 2].astype(np.int64)
        if ann.get("iscrowd", 0) or not (visibility > 0).any():
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
            }
        )
    return people


def split_name(annotation_path: str) -> str:
    stem = os.path.splitext(os.path.basename(annotation_path))[0]
    return stem.removeprefix("person_keypoints_")


def _read_people(
    people: list[dict], image_dirs: list[str], skip_log: SkipLog
) -> Iterator[PoseExample]:
    for person in people:
        path = find_image(person["file_name"], image_dirs)
        image = read_or_skip(path, skip_log)
        if image is None:
            continue
        example = example_or_skip(
            skip_log,
            path,
            image_bytes=image.encoded,
            image_format=image.format,
            image_height=image.height,
            image_width=image.width,
            image_id=person["file_name"],
            keypoints=person["keypoints"],
            visibility=person["visibility"],
            center=person["center"],
            scale=person["scale"],
            dataset="coco",
            skeleton=COCO.name,
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
            "annotations/person_keypoints_*.json)"
        )
    splits = {}
    for path in files:
        split = split_name(path)
        people = parse_coco_people(load_coco_json(path))
        image_dirs = [os.path.join(data_dir, split), os.path.join(data_dir, "images"), data_dir]
        splits[split] = (len(people), _read_people(people, image_dirs, skip_log))
    return splits
