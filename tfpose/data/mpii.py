"""Readers for MPII Human Pose: the official release ``.mat``, the common JSON layouts, and the
Tompson validation split.

Sources and their conventions:

* Official release (``mpii_human_pose_v1_u12_1.mat``, struct ``RELEASE``):
  ``annolist(i).image.name``,
  ``annolist(i).annorect(r)`` with the head box ``x1, y1, x2, y2``, ``annopoints.point(j)`` with
  ``id`` (0-based joint id), ``x``, ``y``, ``is_visible``, and ``objpos``/``scale``;
  ``img_train(i)`` marks training images; ``single_person{i}`` lists the rectangles of
  separated single people. Only training images have joint annotations (test annotations are
  withheld by the benchmark), so only they are converted. ``is_visible`` keeps the
  visible (1) / occluded (0) distinction; where it is empty the joint is taken as visible.
* JSON (mmpose ``mpii_{train,val}.json`` and the shared samples): a list of
  ``{"image", "joints" [16][2], "joints_vis" [16], "center" [2], "scale"}``; pytorch-pose's
  ``mpii_annotations.json``: ``{"img_paths", "joint_self" [16][3], "objpos", "scale_provided",
  "isValidation"}``. Both only say annotated / not annotated, so their records have
  ``occlusion_labelled = False``; neither carries head boxes.
* Tompson validation split (``detections_our_format.mat``: ``pos_gt_src`` 16×2×N,
  ``jnt_missing`` 16×N, ``headboxes_src`` 2×2×N): the 2,958 persons most papers validate on. It
  names no images, so its persons are found in the other sources by their joint coordinates
  (:class:`TompsonValidation`); matched persons form the ``val`` split and get their head box.

All MPII coordinates are 1-based MATLAB pixels; records store 0-based pixels (x − 1, y − 1),
like mmpose and pytorch-pose do when loading.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import scipy.io
from absl import logging

from tfpose.data.example import NOT_ANNOTATED, OCCLUDED, VISIBLE, PoseExample
from tfpose.data.image_files import SkipLog, example_or_skip, find_image, read_json, read_or_skip
from tfpose.data.sources import MPII_VALIDATION, where_to_get
from tfpose.skeletons import MPII

K = MPII.num_keypoints
# Two annotations are the same person when every annotated joint agrees within this many pixels
# (the .mat files store the same numbers, up to float32 round-off).
_MATCH_TOLERANCE_PX = 0.5


def _load_mat(path: str, **kwargs) -> dict[str, Any]:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return scipy.io.loadmat(path, **kwargs)
    except Exception as e:  # scipy raises several unrelated types for bad files
        raise ValueError(f"{path}: not a readable MATLAB file ({e})") from None


class TompsonValidation:
    """The Tompson et al. MPII validation persons, findable by their joint coordinates.

    Attributes:
      keypoints: [N, 16, 2] float32, 1-based pixels as in the file.
      annotated: [N, 16] bool.
      head_boxes: [N, 4] float32 (x1, y1, x2, y2), 1-based pixels.
    """

    def __init__(self, keypoints: np.ndarray, annotated: np.ndarray, head_boxes: np.ndarray):
        self.keypoints = keypoints
        self.annotated = annotated
        self.head_boxes = head_boxes
        self._index: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        for n in range(len(keypoints)):
            for k in np.flatnonzero(annotated[n]):
                x, y = np.floor(keypoints[n, k]).astype(int)
                self._index[(int(k), int(x), int(y))].append(n)

    @classmethod
    def load(cls, path: str) -> TompsonValidation:
        content = _load_mat(path)
        for key in ("pos_gt_src", "jnt_missing", "headboxes_src"):
            if key not in content:
                raise ValueError(f"{path}: not the Tompson validation file, no {key!r} array")
        gt = np.asarray(content["pos_gt_src"], np.float32)
        if gt.ndim != 3 or gt.shape[:2] != (K, 2):
            raise ValueError(f"{path}: pos_gt_src must be 16×2×N, got {gt.shape}")
        boxes = np.asarray(content["headboxes_src"], np.float32)  # 2×2×N: [[x1, y1], [x2, y2]]
        if boxes.ndim != 3 or boxes.shape[:2] != (2, 2) or boxes.shape[2] != gt.shape[2]:
            raise ValueError(f"{path}: headboxes_src must be 2×2×{gt.shape[2]}, got {boxes.shape}")
        return cls(
            keypoints=gt.transpose(2, 0, 1),
            annotated=np.asarray(content["jnt_missing"]).T == 0,
            head_boxes=boxes.reshape(4, -1).T,  # rows (x1, y1, x2, y2)
        )

    def __len__(self) -> int:
        return len(self.keypoints)

    def find(self, keypoints: np.ndarray, annotated: np.ndarray) -> int | None:
        """Index of the validation person with these joints (1-based pixels), else ``None``."""
        joints = np.flatnonzero(annotated)
        if joints.size == 0:
            return None
        k = int(joints[0])
        x0, y0 = np.floor(keypoints[k]).astype(int)
        candidates = {
            n
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for n in self._index.get((k, int(x0 + dx), int(y0 + dy)), ())
        }
        for n in sorted(candidates):
            both = annotated & self.annotated[n]
            if not np.array_equal(both, annotated):
                continue
            if np.all(np.abs(self.keypoints[n][both] - keypoints[both]) <= _MATCH_TOLERANCE_PX):
                return n
        return None


def _records(value: Any) -> list[Any]:
    """A MATLAB struct array / cell array / single struct / empty as a Python list."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return [v for v in value.ravel()]
    return [value]


def _scalar(value: Any, default: float | None = None) -> float | None:
    array = np.asarray(value).ravel()
    if array.size == 0:
        return default
    item = array[0]
    if isinstance(item, str | bytes):
        item = item.strip()
        return float(item) if item else default
    return float(item)


def parse_release(path: str) -> list[dict]:
    """Annotated people of the training images of the official MPII release file.

    Returns:
      One dict per person: ``image`` (file name), ``keypoints`` [16, 2] (1-based pixels as in the
      file), ``visibility`` [16], ``center`` [2] (1-based), ``scale``, ``head_box`` [4] (1-based),
      ``single_person`` bool.
    """
    content = _load_mat(path, struct_as_record=False, squeeze_me=True)
    if "RELEASE" not in content:
        raise ValueError(f"{path}: not the MPII release file, no 'RELEASE' struct")
    release = content["RELEASE"]
    for field in ("annolist", "img_train"):
        if not hasattr(release, field):
            raise ValueError(f"{path}: RELEASE has no {field!r} field")
    annolist = _records(release.annolist)
    img_train = np.asarray(release.img_train).ravel()
    single = _records(getattr(release, "single_person", None))
    if len(img_train) != len(annolist):
        raise ValueError(
            f"{path}: RELEASE.img_train has {len(img_train)} entries, annolist {len(annolist)}"
        )
    people = []
    for i, anno in enumerate(annolist):
        if not img_train[i]:
            continue
        singles = {int(v) for v in np.asarray(single[i]).ravel()} if i < len(single) else set()
        name = str(anno.image.name)
        for r, rect in enumerate(_records(getattr(anno, "annorect", None))):
            annopoints = getattr(rect, "annopoints", None)
            points = _records(getattr(annopoints, "point", None)) if annopoints is not None else []
            if not points:
                continue
            keypoints = np.zeros((K, 2), np.float32)
            visibility = np.full(K, NOT_ANNOTATED, np.int64)
            for point in points:
                k = int(_scalar(point.id))
                if not 0 <= k < K:
                    raise ValueError(f"{path}: image {name}: joint id {k} outside 0..{K - 1}")
                keypoints[k] = (_scalar(point.x), _scalar(point.y))
                seen = _scalar(getattr(point, "is_visible", None), default=1.0)
                visibility[k] = VISIBLE if seen else OCCLUDED
            objpos = getattr(rect, "objpos", None)
            people.append(
                {
                    "image": name,
                    "keypoints": keypoints,
                    "visibility": visibility,
                    "center": np.array([_scalar(objpos.x), _scalar(objpos.y)], np.float32),
                    "scale": _scalar(rect.scale),
                    "head_box": np.array(
                        [_scalar(getattr(rect, c)) for c in ("x1", "y1", "x2", "y2")], np.float32
                    ),
                    "single_person": (r + 1) in singles,
                    "occlusion_labelled": True,
                }
            )
    return people


def parse_json(path: str) -> list[dict]:
    """People of an mmpose or pytorch-pose MPII JSON file (see module docstring).

    Returns:
      Dicts like :func:`parse_release` (1-based pixels, no ``head_box``), plus ``is_validation``
      when the file says so (pytorch-pose layout).
    """
    content = read_json(path)
    if not isinstance(content, list):
        raise ValueError(f"{path}: expected a JSON list of person annotations")
    people = []
    for i, item in enumerate(content):
        if not isinstance(item, dict):
            raise ValueError(f"{path}: person #{i} is not a JSON object")
        try:
            people.append(_json_person(item, path, i))
        except (TypeError, ValueError, KeyError, IndexError) as e:
            if str(e).startswith(path):
                raise
            raise ValueError(
                f"{path}: person #{i} is malformed ({type(e).__name__}: {e})"
            ) from None
    return people


def _json_person(item: dict, path: str, i: int) -> dict:
    """One person of an MPII JSON file (``parse_json``); raises on a malformed entry."""
    if "joints" in item:  # mmpose
        required = ("image", "joints", "joints_vis", "center", "scale")
    else:  # pytorch-pose
        required = ("img_paths", "joint_self", "objpos", "scale_provided")
    missing = [key for key in required if key not in item]
    if missing:
        raise ValueError(f"{path}: person #{i} lacks {', '.join(map(repr, missing))}")
    if "joints" in item:
        joints = np.asarray(item["joints"], np.float32)
        annotated = np.asarray(item["joints_vis"]).ravel() > 0
        image, center, scale = item["image"], item["center"], item["scale"]
    else:
        values = np.asarray(item["joint_self"], np.float32)
        joints, annotated = values[:, :2], values[:, 2] > 0
        image, center, scale = item["img_paths"], item["objpos"], item["scale_provided"]
    if joints.shape != (K, 2) or annotated.shape != (K,):
        raise ValueError(f"{path}: person #{i} must have 16 joints, got {joints.shape}")
    person = {
        "image": image,
        "keypoints": joints,
        "visibility": np.where(annotated, VISIBLE, NOT_ANNOTATED),
        "center": np.asarray(center, np.float32),
        "scale": float(scale),
        "occlusion_labelled": False,
    }
    if "isValidation" in item:
        person["is_validation"] = bool(item["isValidation"])
    return person


def assign_splits(
    people: Iterable[dict], validation: TompsonValidation | None, default_split: str = "train"
) -> dict[str, list[dict]]:
    """Puts Tompson validation persons (or pytorch-pose ``isValidation``) in ``val`` with their
    head boxes, every other person in ``default_split``."""
    splits: dict[str, list[dict]] = {}
    for person in people:
        split = default_split
        if validation is not None:
            n = validation.find(person["keypoints"], person["visibility"] > 0)
            if n is not None:
                split = "val"
                person = {**person, "head_box": validation.head_boxes[n]}
        elif person.get("is_validation"):
            split = "val"
        splits.setdefault(split, []).append(person)
    return splits


def _read_people(
    people: list[dict], image_dirs: list[str], skip_log: SkipLog
) -> Iterator[PoseExample]:
    for person in people:
        path = find_image(person["image"], image_dirs)
        image = read_or_skip(path, skip_log)
        if image is None:
            continue
        annotated = person["visibility"] > 0
        head_box = person.get("head_box")
        scale = person["scale"]
        if scale is None or not np.isfinite(scale) or scale <= 0:
            skip_log.skip("no person scale", f"{path}: person without a valid scale ({scale})")
            continue
        example = example_or_skip(
            skip_log,
            path,
            image,
            image_id=person["image"],
            keypoints=np.where(annotated[:, None], person["keypoints"] - 1.0, 0.0),
            visibility=person["visibility"],
            center=person["center"] - 1.0,
            scale=scale,
            dataset="mpii",
            skeleton=MPII.name,
            head_box=None if head_box is None else np.asarray(head_box) - 1.0,
            occlusion_labelled=person["occlusion_labelled"],
        )
        if example is not None:
            yield example


def read_mpii(
    data_dir: str,
    skip_log: SkipLog,
    annotations: str | None = None,
    validation_file: str | None = None,
    single_person_only: bool = False,
) -> dict[str, tuple[int, Iterator[PoseExample]]]:
    """MPII examples by split: ``{split: (people before skips, examples)}``.

    Args:
      data_dir: folder with ``images/`` (or the images themselves) and the annotation file.
      skip_log: collects skipped examples.
      annotations: the annotation file; default: ``data_dir/mpii_human_pose_v1_u12_1.mat``, else
        the only ``*.json`` in ``data_dir``. ``.mat`` is read as the official release, ``.json``
        as mmpose/pytorch-pose.
      validation_file: Tompson's ``detections_our_format.mat``; its persons become ``val``.
      single_person_only: keep only the release's ``single_person`` rectangles (``.mat`` only).

    Returns:
      ``{"train": ..., "val": ...}`` (``val`` only with a validation file or pytorch-pose
      ``isValidation``); a JSON file without either becomes the split named after the file.
    """
    if annotations is None:
        official = os.path.join(data_dir, "mpii_human_pose_v1_u12_1.mat")
        jsons = sorted(f for f in os.listdir(data_dir) if f.endswith(".json"))
        if os.path.exists(official):
            annotations = official
        elif len(jsons) == 1:
            annotations = os.path.join(data_dir, jsons[0])
        else:
            raise FileNotFoundError(
                f"{data_dir}: found neither mpii_human_pose_v1_u12_1.mat nor exactly one *.json; "
                "name the annotation file with --annotations and Tompson's validation split "
                f"with --validation_file; {where_to_get('mpii')}"
            )
    if not os.path.isfile(annotations):
        raise FileNotFoundError(
            f"--annotations={annotations}: no such file; {where_to_get('mpii')}"
        )
    if validation_file and not os.path.isfile(validation_file):
        raise FileNotFoundError(
            f"--validation_file={validation_file}: no such file; it is {MPII_VALIDATION}"
        )
    if annotations.endswith(".mat") and not validation_file:
        logging.warning(
            "no --validation_file: every person goes to 'train' and there is no 'val' split, "
            "which the MPII configs validate on; pass --validation_file=%s",
            MPII_VALIDATION,
        )
    if annotations.endswith(".mat"):
        people = parse_release(annotations)
        if single_person_only:
            people = [p for p in people if p["single_person"]]
        default_split = "train"
    elif annotations.endswith(".json"):
        people = parse_json(annotations)
        stem = os.path.splitext(os.path.basename(annotations))[0]
        has_flags = any("is_validation" in p for p in people)
        default_split = "train" if (validation_file or has_flags) else stem.removeprefix("mpii_")
    else:
        raise ValueError(f"{annotations}: MPII annotations must be a .mat or .json file")
    validation = TompsonValidation.load(validation_file) if validation_file else None
    image_dirs = [os.path.join(data_dir, "images"), data_dir]
    return {
        split: (len(members), _read_people(members, image_dirs, skip_log))
        for split, members in assign_splits(people, validation, default_split).items()
    }
