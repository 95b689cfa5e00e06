"""Reading predictions and ground truth produced elsewhere (.mat, .h5, .json).

Shape legend: N = persons, K = keypoints. Keypoints are ``(x, y)`` pixels, in whatever pixel
convention the file uses (MATLAB files are often 1-based); predictions and ground truth must use
the same one, and nothing here shifts them.

Predictions (:func:`load_predictions`), in the first key found, or the one named:

* ``preds`` / ``predictions`` / ``keypoints``: [N, K, 2], or [N, K, 3] with a confidence third;
* ``pos_pred_src``: [K, 2, N] (the layout of ``detections_our_format.mat``);
* optional ``scores`` or ``maxvals``: [N, K] (or [N, K, 1]) confidences, e.g. heatmap maxima;
* JSON: the same object ``{"keypoints": ..., "scores": ...}``, or a COCO keypoint-results list
  ``[{"image_id", "keypoints": [x1, y1, s1, ...], "score", "person_index"?}, ...]``.

Ground truth (:func:`load_ground_truth`), one of three layouts:

* MPII (``detections_our_format.mat``): ``pos_gt_src`` [K, 2, N], ``jnt_missing`` [K, N]
  (1 = not annotated), optional ``headboxes_src`` [2, 2, N] (corner, xy, person);
* LSP ``joints.mat``: ``joints`` [3, 14, N] (original LSP: x, y, flag with 1 = occluded) or
  [14, 3, N] (LSP Extended: flag 1 = annotated, 0 = missing, no occlusion labels);
* tfpose: ``keypoints`` [N, K, 2], ``visibility`` [N, K] (0 not annotated, 1 occluded,
  2 visible), optional ``head_boxes`` [N, 4] (x1, y1, x2, y2), ``occlusion_labelled`` (bool,
  default false), ``image_ids`` [N] strings, ``skeleton`` (a :mod:`tfpose.skeletons` name).

``docs/evaluation.md`` has examples of each file.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np
import scipy.io

from tfpose.data.example import NOT_ANNOTATED, OCCLUDED, VISIBLE

PREDICTION_KEYS = ("preds", "predictions", "keypoints", "pos_pred_src")
SCORE_KEYS = ("scores", "maxvals")
_MATLAB_LAYOUT_KEYS = ("pos_pred_src",)


@dataclasses.dataclass
class Predictions:
    """Predicted keypoints of N persons.

    Attributes:
      keypoints: [N, K, 2] float64 pixels.
      scores: [N, K] confidences or None.
      image_ids: [N] image identifiers (COCO results) or None.
      person_indices: [N] position of each prediction in the ground truth (COCO results written
        by tfpose carry it) or None.
      source: the file it came from, for error messages.
    """

    keypoints: np.ndarray
    scores: np.ndarray | None = None
    image_ids: tuple[str, ...] | None = None
    person_indices: tuple[int, ...] | None = None
    source: str = "<memory>"

    @property
    def num_persons(self) -> int:
        return int(self.keypoints.shape[0])


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


# ---------------------------------------------------------------------------------------------
# Containers


def _read_mat(path: pathlib.Path) -> dict[str, Any]:
    try:
        contents = scipy.io.loadmat(str(path))
    except NotImplementedError:
        # MATLAB v7.3 files are HDF5 with every array stored transposed (column-major).
        with h5py.File(path, "r") as file:
            return {
                key: np.asarray(value).T
                for key, value in file.items()
                if isinstance(value, h5py.Dataset) and not key.startswith("#")
            }
    except Exception as error:  # scipy raises several types for corrupt files
        raise ValueError(f"{path}: cannot read as a MATLAB .mat file ({error})") from error
    return {key: value for key, value in contents.items() if not key.startswith("__")}


def _read_h5(path: pathlib.Path) -> dict[str, Any]:
    try:
        with h5py.File(path, "r") as file:
            contents: dict[str, Any] = {
                key: value[()] for key, value in file.items() if isinstance(value, h5py.Dataset)
            }
            contents.update({key: value for key, value in file.attrs.items()})
    except OSError as error:
        raise ValueError(f"{path}: cannot read as an HDF5 file ({error})") from error
    return contents


def _read_json(path: pathlib.Path) -> Any:
    try:
        with open(path) as file:
            return json.load(file)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error


def _read(path: str | pathlib.Path) -> Any:
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return _read_mat(path)
    if suffix in (".h5", ".hdf5"):
        return _read_h5(path)
    if suffix == ".json":
        return _read_json(path)
    raise ValueError(f"{path}: unknown file type {suffix!r}; expected .mat, .h5, .hdf5 or .json")


# ---------------------------------------------------------------------------------------------
# Field access with readable errors


def _numeric(contents: Mapping[str, Any], key: str, path: Any, expected: str) -> np.ndarray:
    try:
        array = np.asarray(contents[key], dtype=np.float64)
    except KeyError:
        raise KeyError(
            f"{path}: missing key {key!r} ({expected}); keys present: {', '.join(sorted(contents))}"
        ) from None
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {key!r} must be numeric {expected} ({error})") from error
    return array


def _check_shape(array: np.ndarray, path: Any, key: str, expected: str, ok: bool) -> None:
    if not ok:
        raise ValueError(f"{path}: {key!r} must be {expected}, got shape {array.shape}")


def _strings(values: Any) -> tuple[str, ...]:
    values = np.asarray(values).reshape(-1)
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist())


def _scalar_string(value: Any) -> str:
    value = np.asarray(value).reshape(-1)[0] if not isinstance(value, str | bytes) else value
    return value.decode() if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------------------------------------
# Predictions


def load_predictions(path: str | pathlib.Path, key: str | None = None) -> Predictions:
    """Reads predicted keypoints (and confidences, if present) from .mat, .h5 or .json.

    Args:
      path: the file; the layouts are listed in the module docstring.
      key: the array to read; by default the first of ``PREDICTION_KEYS`` present.

    Returns:
      :class:`Predictions` in file order (COCO results keep their ``person_index`` or
      ``image_id`` for :func:`align_predictions`).

    Raises:
      FileNotFoundError, KeyError, ValueError: naming the file and what is wrong.
    """
    contents = _read(path)
    if isinstance(contents, list):
        return _coco_results(contents, path)
    if not isinstance(contents, Mapping):
        raise ValueError(f"{path}: expected a JSON object or a COCO results list")
    if key is None:
        key = next((k for k in PREDICTION_KEYS if k in contents), None)
        if key is None:
            raise KeyError(
                f"{path}: no predictions found; expected one of {', '.join(PREDICTION_KEYS)}; "
                f"keys present: {', '.join(sorted(contents))}"
            )
    keypoints = _numeric(contents, key, path, "predicted keypoints")
    scores = None
    if key in _MATLAB_LAYOUT_KEYS:
        _check_shape(
            keypoints, path, key, "[K, 2, N]", keypoints.ndim == 3 and keypoints.shape[1] == 2
        )
        keypoints = keypoints.transpose(2, 0, 1)
    else:
        _check_shape(
            keypoints,
            path,
            key,
            "[N, K, 2] or [N, K, 3]",
            keypoints.ndim == 3 and keypoints.shape[2] in (2, 3),
        )
        if keypoints.shape[2] == 3:
            keypoints, scores = keypoints[..., :2], keypoints[..., 2]
    score_key = next((k for k in SCORE_KEYS if k in contents), None)
    if score_key is not None:
        scores = _numeric(contents, score_key, path, "confidences")
        if scores.ndim == 3 and scores.shape[2] == 1:
            scores = scores[..., 0]
        _check_shape(
            scores,
            path,
            score_key,
            f"[N, K] = {list(keypoints.shape[:2])}",
            scores.shape == keypoints.shape[:2],
        )
    return Predictions(keypoints=keypoints, scores=scores, source=str(path))


def _coco_results(results: list[Any], path: Any) -> Predictions:
    if not results:
        raise ValueError(f"{path}: the COCO results list is empty")
    keypoints, image_ids, person_indices = [], [], []
    for i, entry in enumerate(results):
        if not isinstance(entry, Mapping) or "keypoints" not in entry or "image_id" not in entry:
            raise ValueError(f"{path}: COCO result {i} needs 'image_id' and 'keypoints'")
        values = np.asarray(entry["keypoints"], np.float64)
        if values.ndim != 1 or values.size % 3:
            raise ValueError(
                f"{path}: COCO result {i}: 'keypoints' must be a flat list [x1, y1, s1, ...] "
                f"of length 3K, got {values.size} values"
            )
        values = values.reshape(-1, 3)
        if keypoints and values.shape != keypoints[0].shape:
            raise ValueError(
                f"{path}: COCO result {i} has {values.shape[0]} keypoints, "
                f"result 0 has {keypoints[0].shape[0]}"
            )
        keypoints.append(values)
        image_ids.append(str(entry["image_id"]))
        person_indices.append(entry.get("person_index"))
    stacked = np.stack(keypoints)
    has_indices = all(index is not None for index in person_indices)
    return Predictions(
        keypoints=stacked[..., :2],
        scores=stacked[..., 2],
        image_ids=tuple(image_ids),
        person_indices=tuple(int(i) for i in person_indices) if has_indices else None,
        source=str(path),
    )


# ---------------------------------------------------------------------------------------------
# Ground truth


def load_ground_truth(path: str | pathlib.Path) -> GroundTruth:
    """Reads ground truth in the MPII, LSP ``joints.mat`` or tfpose layout (module docstring).

    Raises:
      FileNotFoundError, KeyError, ValueError: naming the file and what is wrong.
    """
    contents = _read(path)
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
    positions = _numeric(contents, "pos_gt_src", path, "[K, 2, N]")
    _check_shape(
        positions, path, "pos_gt_src", "[K, 2, N]", positions.ndim == 3 and positions.shape[1] == 2
    )
    num_keypoints, _, num_persons = positions.shape
    missing = _numeric(contents, "jnt_missing", path, "[K, N], 1 = not annotated")
    _check_shape(
        missing,
        path,
        "jnt_missing",
        f"[K, N] = [{num_keypoints}, {num_persons}]",
        missing.shape == (num_keypoints, num_persons),
    )
    head_boxes = None
    if "headboxes_src" in contents:
        boxes = _numeric(contents, "headboxes_src", path, "[2, 2, N]")
        _check_shape(
            boxes,
            path,
            "headboxes_src",
            f"[2, 2, N] = [2, 2, {num_persons}]",
            boxes.shape == (2, 2, num_persons),
        )
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
    joints = _numeric(contents, "joints", path, "[3, 14, N] (LSP) or [14, 3, N] (LSPET)")
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
    keypoints = _numeric(contents, "keypoints", path, "[N, K, 2]")
    _check_shape(
        keypoints, path, "keypoints", "[N, K, 2]", keypoints.ndim == 3 and keypoints.shape[2] == 2
    )
    visibility = _numeric(contents, "visibility", path, "[N, K] in {0, 1, 2}")
    _check_shape(
        visibility,
        path,
        "visibility",
        f"[N, K] = {list(keypoints.shape[:2])}",
        visibility.shape == keypoints.shape[:2],
    )
    if not np.isin(visibility, (NOT_ANNOTATED, OCCLUDED, VISIBLE)).all():
        raise ValueError(f"{path}: 'visibility' values must be 0, 1 or 2")
    head_boxes = None
    if "head_boxes" in contents:
        head_boxes = _numeric(contents, "head_boxes", path, "[N, 4]")
        _check_shape(
            head_boxes,
            path,
            "head_boxes",
            f"[N, 4] = [{keypoints.shape[0]}, 4]",
            head_boxes.shape == (keypoints.shape[0], 4),
        )
    image_ids = None
    if "image_ids" in contents:
        image_ids = _strings(contents["image_ids"])
        if len(image_ids) != keypoints.shape[0]:
            raise ValueError(
                f"{path}: 'image_ids' has {len(image_ids)} entries for {keypoints.shape[0]} persons"
            )
    occlusion_labelled = bool(np.asarray(contents.get("occlusion_labelled", False)).reshape(-1)[0])
    skeleton = _scalar_string(contents["skeleton"]) if "skeleton" in contents else None
    return GroundTruth(
        keypoints=keypoints,
        visibility=visibility.astype(np.int64),
        head_boxes=head_boxes,
        occlusion_labelled=occlusion_labelled,
        image_ids=image_ids,
        skeleton=skeleton,
        source=str(path),
    )


# ---------------------------------------------------------------------------------------------
# Matching


def align_predictions(predictions: Predictions, ground_truth: GroundTruth) -> Predictions:
    """Orders predictions like the ground truth and checks that the shapes agree.

    Array predictions are taken in file order. COCO results are placed by their
    ``person_index`` when every entry has one, else by ``image_id`` when the ground truth has
    one person per image id, else in file order.

    Raises:
      ValueError: naming both files when persons or keypoints do not match.
    """
    where = f"predictions {predictions.source} vs ground truth {ground_truth.source}"
    num_persons = ground_truth.num_persons
    if predictions.keypoints.shape[1] != ground_truth.keypoints.shape[1]:
        raise ValueError(
            f"{where}: {predictions.keypoints.shape[1]} keypoints per person vs "
            f"{ground_truth.keypoints.shape[1]}"
        )
    order = None
    if predictions.person_indices is not None:
        order = np.asarray(predictions.person_indices)
    elif predictions.image_ids is not None and ground_truth.image_ids is not None:
        if len(set(ground_truth.image_ids)) == num_persons:
            position = {image_id: i for i, image_id in enumerate(ground_truth.image_ids)}
            unknown = [i for i in predictions.image_ids if i not in position]
            if unknown:
                raise ValueError(f"{where}: image ids not in the ground truth: {unknown[:5]}")
            order = np.asarray([position[i] for i in predictions.image_ids])
    if predictions.num_persons != num_persons:
        raise ValueError(
            f"{where}: {predictions.num_persons} persons predicted, {num_persons} annotated"
        )
    if order is None:
        return predictions
    if sorted(order.tolist()) != list(range(num_persons)):
        raise ValueError(
            f"{where}: the predictions do not cover each ground-truth person exactly once"
        )
    inverse = np.argsort(order)
    return dataclasses.replace(
        predictions,
        keypoints=predictions.keypoints[inverse],
        scores=None if predictions.scores is None else predictions.scores[inverse],
        image_ids=None
        if predictions.image_ids is None
        else tuple(predictions.image_ids[i] for i in inverse),
        person_indices=tuple(range(num_persons)),
    )
