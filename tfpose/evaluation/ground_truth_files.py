"""Reading ground truth produced elsewhere (.mat, .h5, .json), in one of three layouts.

Shape legend: N = persons, K = keypoints. Keypoints are ``(x, y)`` pixels, in whatever pixel
convention the file uses (MATLAB files are often 1-based); predictions and ground truth must use
the same one, and nothing here shifts them.

Layouts (:func:`load_ground_truth` tells them apart by their keys):

* MPII (``detections_our_format.mat``): ``pos_gt_src`` [K, 2, N], ``jnt_missing`` [K, N]
  (1 = not annotated), optional ``headboxes_src`` [2, 2, N] (corner, xy, person);
* LSP ``joints.mat``: ``joints`` [3, 14, N] (original LSP: x, y, flag with 1 = occluded) or
  [14, 3, N] (LSP Extended: flag 1 = annotated, 0 = missing, no occlusion labels);
* tfpose: ``keypoints`` [N, K, 2], ``visibility`` [N, K] (0 not annotated, 1 occluded,
  2 visible), optional ``head_boxes`` [N, 4] (x1, y1, x2, y2), ``occlusion_labelled`` (bool,
  default false), ``image_ids`` [N] strings, ``skeleton`` (a :mod:`tfpose.skeletons` name).

``docs/evaluation.md`` has examples of each file; the predictions are read by
:mod:`tfpose.evaluation.prediction_files`.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfpose.data.example import NOT_ANNOTATED, OCCLUDED, VISIBLE
from tfpose.evaluation.array_files import (
    numeric_field,
    read_contents,
    scalar_string,
    shaped_field,
    string_list,
)


@dataclasses.dataclass
class GroundTruth:
    """Annotated keypoints of N persons.

    Attributes:
      keypoints: [N, K, 2] float64 pixels.
      visibility: [N, K] int64, 0 not annotated, 1 occluded, 2 visible.
      head_boxes: [N, 4] ``(x1, y1, x2, y2)`` or None.
      occlusion_labelled: whether 1 and 2 in ``visibility`` are real occlusion labels.
      image_ids: [N] image identifiers or None.
      skeleton: the :mod:`tfpose.skeletons` name the file declares (or implies), or None.
      source: the file it came from, for error messages.
    """

    keypoints: np.ndarray
    visibility: np.ndarray
    head_boxes: np.ndarray | None = None
    occlusion_labelled: bool = False
    image_ids: tuple[str, ...] | None = None
    skeleton: str | None = None
    source: str = "<memory>"

    @property
    def num_persons(self) -> int:
        return int(self.keypoints.shape[0])

    def select(self, persons: slice) -> GroundTruth:
        """The persons in ``persons`` (e.g. ``slice(9500, 10000)`` for the LSPET test split)."""
        return dataclasses.replace(
            self,
            keypoints=self.keypoints[persons],
            visibility=self.visibility[persons],
            head_boxes=None if self.head_boxes is None else self.head_boxes[persons],
            image_ids=None if self.image_ids is None else self.image_ids[persons],
        )


def load_ground_truth(path: str | pathlib.Path) -> GroundTruth:
    """Reads ground truth in the MPII, LSP ``joints.mat`` or tfpose layout (module docstring).

    Raises:
      FileNotFoundError, KeyError, ValueError: naming the file and what is wrong.
    """
    contents = read_contents(path)
    if not isinstance(contents, Mapping):
        raise ValueError(f"{path}: ground truth must be an object/struct, not a list")
    if "pos_gt_src" in contents:
        return _mpii_ground_truth(contents, path)
    if "joints" in contents:
        return _lsp_ground_truth(contents, path)
    if "keypoints" in contents:
        return _tfpose_ground_truth(contents, path)
    raise KeyError(
        f"{path}: no ground truth found; expected 'pos_gt_src' (MPII), 'joints' (LSP joints.mat) "
        f"or 'keypoints' (tfpose layout); keys present: {', '.join(sorted(contents))}"
    )


def _mpii_ground_truth(contents: Mapping[str, Any], path: Any) -> GroundTruth:
    positions = shaped_field(contents, "pos_gt_src", path, "[K, 2, N]", (None, 2, None))
    num_keypoints, _, num_persons = positions.shape
    missing = shaped_field(
        contents,
        "jnt_missing",
        path,
        "[K, N]",
        (num_keypoints, num_persons),
        described="[K, N], 1 = not annotated",
    )
    head_boxes = None
    if "headboxes_src" in contents:
        boxes = shaped_field(contents, "headboxes_src", path, "[2, 2, N]", (2, 2, num_persons))
        # headboxes_src[c, :, n] is corner c (x, y) of person n.
        head_boxes = np.concatenate([boxes[0].T, boxes[1].T], axis=1)
    visibility = np.where(missing.T > 0, NOT_ANNOTATED, VISIBLE).astype(np.int64)
    return GroundTruth(
        keypoints=positions.transpose(2, 0, 1),
        visibility=visibility,
        head_boxes=head_boxes,
        occlusion_labelled=False,
        skeleton="mpii" if num_keypoints == 16 else None,
        source=str(path),
    )


def _lsp_ground_truth(contents: Mapping[str, Any], path: Any) -> GroundTruth:
    joints = numeric_field(contents, "joints", path, "[3, 14, N] (LSP) or [14, 3, N] (LSPET)")
    if joints.ndim == 3 and joints.shape[:2] == (3, 14):
        # Original LSP: every joint annotated; flag 1 marks an occluded joint.
        keypoints = joints[:2].transpose(2, 1, 0)
        flag = joints[2].T
        visibility = np.where(flag > 0, OCCLUDED, VISIBLE)
        occlusion_labelled, width = True, 4
    elif joints.ndim == 3 and joints.shape[:2] == (14, 3):
        # LSP Extended: flag 1 = annotated, 0 = missing; no occlusion labels.
        keypoints = joints[:, :2].transpose(2, 0, 1)
        flag = joints[:, 2].T
        visibility = np.where(flag > 0, VISIBLE, NOT_ANNOTATED)
        occlusion_labelled, width = False, 5
    else:
        raise ValueError(
            f"{path}: 'joints' must be [3, 14, N] (original LSP) or [14, 3, N] (LSP Extended), "
            f"got shape {joints.shape}"
        )
    num_persons = keypoints.shape[0]
    return GroundTruth(
        keypoints=keypoints,
        visibility=visibility.astype(np.int64),
        occlusion_labelled=occlusion_labelled,
        image_ids=tuple(f"im{n:0{width}d}" for n in range(1, num_persons + 1)),
        skeleton="lsp",
        source=str(path),
    )


def _tfpose_ground_truth(contents: Mapping[str, Any], path: Any) -> GroundTruth:
    keypoints = shaped_field(contents, "keypoints", path, "[N, K, 2]", (None, None, 2))
    visibility = shaped_field(
        contents, "visibility", path, "[N, K]", keypoints.shape[:2], described="[N, K] in {0, 1, 2}"
    )
    if not np.isin(visibility, (NOT_ANNOTATED, OCCLUDED, VISIBLE)).all():
        raise ValueError(f"{path}: 'visibility' values must be 0, 1 or 2")
    head_boxes = None
    if "head_boxes" in contents:
        head_boxes = shaped_field(contents, "head_boxes", path, "[N, 4]", (keypoints.shape[0], 4))
    image_ids = None
    if "image_ids" in contents:
        image_ids = string_list(contents["image_ids"])
        if len(image_ids) != keypoints.shape[0]:
            raise ValueError(
                f"{path}: 'image_ids' has {len(image_ids)} entries for {keypoints.shape[0]} persons"
            )
    occlusion_labelled = bool(np.asarray(contents.get("occlusion_labelled", False)).reshape(-1)[0])
    skeleton = scalar_string(contents["skeleton"]) if "skeleton" in contents else None
    return GroundTruth(
        keypoints=keypoints,
        visibility=visibility.astype(np.int64),
        head_boxes=head_boxes,
        occlusion_labelled=occlusion_labelled,
        image_ids=image_ids,
        skeleton=skeleton,
        source=str(path),
    )
