"""Readers for Leeds Sports Pose (LSP, 2,000 images) and LSP Extended (LSPET, 10,000 images).

Both store ``joints.mat`` with 14 joints in the :data:`tfpose.skeletons.LSP` order, but with
different layouts and opposite flag meanings:

* LSP (original): ``joints`` is 3×14×2000 (x, y, flag); every joint is annotated and the flag is
  1 for the occluded ones (7.3% of joints), 0 for visible ones. Images ``images/im0001.jpg``.
  Standard split: images 1–1000 train, 1001–2000 test.
* LSPET: ``joints`` is 14×3×10000; flag 1 = annotated, 0 = missing (missing joints also have
  x ≤ 0 or y ≤ 0). There are **no occlusion labels**: annotated joints are stored as visible (2)
  with ``occlusion_labelled = False``. Images ``images/im00001.jpg``. This project's fixed
  split: 1–9000 train, 9001–9500 val, 9501–10000 test.

Coordinates in the files are 1-based MATLAB pixels; records store them unchanged except for
the 1-pixel shift to 0-based pixels (x − 1, y − 1). Neither dataset gives a person box: centre and
scale come from the annotated joints (:func:`tfpose.data.example.center_scale_from_keypoints`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np
import scipy.io

from tfpose.data.example import (
    NOT_ANNOTATED,
    OCCLUDED,
    VISIBLE,
    PoseExample,
    center_scale_from_keypoints,
)
from tfpose.data.image_files import SkipLog, example_or_skip, read_or_skip
from tfpose.data.sources import where_to_get
from tfpose.skeletons import LSP

LSP_SPLITS = {"train": (1, 1000), "test": (1001, 2000)}
LSPET_SPLITS = {"train": (1, 9000), "val": (9001, 9500), "test": (9501, 10000)}


def load_joints_mat(path: str) -> np.ndarray:
    """The ``joints`` array of an LSP/LSPET ``joints.mat``; raises naming the file if absent."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file (expected the dataset's joints.mat)")
    try:
        content = scipy.io.loadmat(path)
    except Exception as e:  # scipy raises several unrelated types for bad files
        raise ValueError(f"{path}: not a readable MATLAB file ({e})") from None
    if "joints" not in content:
        keys = [k for k in content if not k.startswith("__")]
        raise ValueError(f"{path}: has no 'joints' array (found: {keys})")
    return np.asarray(content["joints"], np.float64)


def parse_lsp_joints(joints: np.ndarray, source: str = "joints.mat") -> list[dict]:
    """Per-image annotations of the original LSP (3×14×N, flag 1 = occluded).

    Returns:
      One dict per image, in file order: ``keypoints`` [14, 2] 0-based pixels, ``visibility``
      [14] (2 visible, 1 occluded).
    """
    if joints.ndim != 3 or joints.shape[:2] != (3, LSP.num_keypoints):
        raise ValueError(
            f"{source}: original LSP joints must be 3×14×N, got {'×'.join(map(str, joints.shape))}"
            " (LSP Extended files are 14×3×N: use --dataset=lspet)"
        )
    people = []
    for i in range(joints.shape[2]):
        occluded = joints[2, :, i] > 0.5
        people.append(
            {
                "keypoints": joints[:2, :, i].T - 1.0,
                "visibility": np.where(occluded, OCCLUDED, VISIBLE),
            }
        )
    return people


def parse_lspet_joints(joints: np.ndarray, source: str = "joints.mat") -> list[dict]:
    """Per-image annotations of LSP Extended (14×3×N, flag 1 = annotated)."""
    if joints.ndim != 3 or joints.shape[:2] != (LSP.num_keypoints, 3):
        raise ValueError(
            f"{source}: LSP Extended joints must be 14×3×N, got "
            f"{'×'.join(map(str, joints.shape))} (original LSP files are 3×14×N: use --dataset=lsp)"
        )
    people = []
    for i in range(joints.shape[2]):
        annotated = joints[:, 2, i] > 0.5
        people.append(
            {
                "keypoints": joints[:, :2, i] - 1.0,
                "visibility": np.where(annotated, VISIBLE, NOT_ANNOTATED),
            }
        )
    return people


def _read_split(
    data_dir: str,
    people: list[dict],
    first: int,
    last: int,
    digits: int,
    dataset: str,
    occlusion_labelled: bool,
    skip_log: SkipLog,
) -> Iterator[PoseExample]:
    for number in range(first, last + 1):
        name = f"im{number:0{digits}d}.jpg"
        path = os.path.join(data_dir, "images", name)
        person = people[number - 1]
        image = read_or_skip(path, skip_log)
        if image is None:
            continue
        try:
            center, scale = center_scale_from_keypoints(person["keypoints"], person["visibility"])
        except ValueError as e:
            skip_log.skip("no annotated joint", f"{path}: {e}")
            continue
        example = example_or_skip(
            skip_log,
            path,
            image,
            image_id=name,
            keypoints=person["keypoints"],
            visibility=person["visibility"],
            center=center,
            scale=scale,
            dataset=dataset,
            skeleton=LSP.name,
            occlusion_labelled=occlusion_labelled,
        )
        if example is not None:
            yield example


def _check_layout(data_dir: str, dataset: str) -> np.ndarray:
    images = os.path.join(data_dir, "images")
    if not os.path.isdir(images):
        raise FileNotFoundError(
            f"{data_dir}: expected an 'images/' folder and 'joints.mat' ({dataset} layout); "
            f"{where_to_get(dataset)}"
        )
    try:
        return load_joints_mat(os.path.join(data_dir, "joints.mat"))
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{e}; {where_to_get(dataset)}") from None


def _clip(splits: dict[str, tuple[int, int]], num_people: int) -> dict[str, tuple[int, int]]:
    """Split ranges limited to the people the file has (a subset file gives smaller splits)."""
    return {name: (a, min(b, num_people)) for name, (a, b) in splits.items() if a <= num_people}


def _read_dataset(
    data_dir: str,
    skip_log: SkipLog,
    dataset: str,
    parse: Callable[[np.ndarray, str], list[dict]],
    splits: dict[str, tuple[int, int]],
    digits: int,
    occlusion_labelled: bool,
) -> dict[str, tuple[int, Iterator[PoseExample]]]:
    """``{split: (count before skips, examples)}`` of one dataset's layout: ``parse`` reads its
    ``joints.mat``, image names have ``digits`` digits."""
    joints = _check_layout(data_dir, dataset)
    people = parse(joints, os.path.join(data_dir, "joints.mat"))
    return {
        split: (
            b - a + 1,
            _read_split(data_dir, people, a, b, digits, dataset, occlusion_labelled, skip_log),
        )
        for split, (a, b) in _clip(splits, len(people)).items()
    }


def read_lsp(data_dir: str, skip_log: SkipLog) -> dict[str, tuple[int, Iterator[PoseExample]]]:
    """Original LSP: ``{"train": (count, examples), "test": ...}``; count is before skips."""
    return _read_dataset(data_dir, skip_log, "lsp", parse_lsp_joints, LSP_SPLITS, 4, True)


def read_lspet(data_dir: str, skip_log: SkipLog) -> dict[str, tuple[int, Iterator[PoseExample]]]:
    """LSP Extended: ``{"train", "val", "test"}`` → (count before skips, examples)."""
    return _read_dataset(data_dir, skip_log, "lspet", parse_lspet_joints, LSPET_SPLITS, 5, False)
