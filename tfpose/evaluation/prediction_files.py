"""Reading predictions and ground truth produced elsewhere (.mat, .h5, .json).

Shape legend: N = persons, K = keypoints. Keypoints are ``(x, y)`` pixels, in whatever pixel
convention the file uses (MATLAB files are often 1-based); predictions and ground truth must use
the same one, and nothing here shifts them.

Predictions (:func:`load_predictions`), in the first key found, or the one named:

* ``preds`` / ``predictions`` / ``keypoints`` / ``pos_pred_src``, in any of three layouts:
  [N, K, 2] (or [N, K, 3] with a confidence third; Python/Lua code such as the hourglass
  ``preds``), [K, 2, N] (``pos_pred_src`` of ``detections_our_format.mat``) or [2, K, N] (the
  ``pred`` arrays that evalMPII.m and the LSP ``eval_pose`` code read, and HDF5 files written from
  MATLAB). The layout is told from the shape and the ground truth's K (and N); a shape that
  still reads two ways is refused unless the layout is named (:data:`LAYOUTS`);
* optional ``scores`` or ``maxvals``: [N, K] (or [N, K, 1], or [K, N]) confidences, e.g.
  heatmap maxima;
* HDF5: datasets inside groups are named by their path (``--predictions_key=results/preds``);
* JSON: the same object ``{"keypoints": ..., "scores": ...}``, or a COCO keypoint-results list
  ``[{"image_id", "keypoints": [x1, y1, s1, ...], "score", "person_index"?, "file_name"?},
  ...]`` (what ``python -m tfpose.evaluate`` and ``python -m tfpose.predict`` write); an entry's
  image is named by its ``file_name`` when it has one, else by its ``image_id``.

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
# Layouts of a predictions array: name -> (description, axes of N, K and x/y).
LAYOUTS = {
    "NK2": ("[N, K, 2]", (0, 1, 2)),
    "K2N": ("[K, 2, N]", (2, 0, 1)),
    "2KN": ("[2, K, N]", (2, 1, 0)),
}
# The layout a key is documented with, used when the ground truth's K is not known.
_KEY_LAYOUTS = {"pos_pred_src": "K2N"}


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
      description: how the file was read (key, layout, confidences), one line for the user.
    """

    keypoints: np.ndarray
    scores: np.ndarray | None = None
    image_ids: tuple[str, ...] | None = None
    person_indices: tuple[int, ...] | None = None
    source: str = "<memory>"
    description: str = ""

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


def _h5_datasets(file: h5py.File, transpose: bool) -> dict[str, Any]:
    """Every dataset of an HDF5 file by its path (``preds``, ``results/preds``)."""
    contents: dict[str, Any] = {}

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset) and not name.startswith("#"):
            value = item[()]
            contents[name] = np.asarray(value).T if transpose else value

    file.visititems(visit)
    return contents


def _read_mat(path: pathlib.Path) -> dict[str, Any]:
    try:
        contents = scipy.io.loadmat(str(path))
    except NotImplementedError:
        # MATLAB v7.3 files are HDF5 with every array stored transposed (column-major).
        with h5py.File(path, "r") as file:
            return _h5_datasets(file, transpose=True)
    except Exception as error:  # scipy raises several types for corrupt files
        raise ValueError(f"{path}: cannot read as a MATLAB .mat file ({error})") from error
    return {key: value for key, value in contents.items() if not key.startswith("__")}


def _read_h5(path: pathlib.Path) -> dict[str, Any]:
    try:
        with h5py.File(path, "r") as file:
            contents = _h5_datasets(file, transpose=False)
            contents.update({key: value for key, value in file.attrs.items()})
    except OSError as error:
        raise ValueError(f"{path}: cannot read as an HDF5 file ({error})") from error
    return contents


def _describe_contents(contents: Mapping[str, Any], path: Any) -> str:
    """What a file holds, for error messages: HDF5 datasets by full path, with shapes."""
    hdf5 = pathlib.Path(str(path)).suffix.lower() in (".h5", ".hdf5")
    entries = []
    for key in sorted(contents):
        shape = np.shape(contents[key]) if not isinstance(contents[key], str | bytes) else ()
        name = "/" + key if hdf5 else key
        entries.append(f"{name} {list(shape)}" if shape else name)
    what = "datasets in the file" if hdf5 else "keys present"
    return f"{what}: {', '.join(entries) if entries else 'none'}"


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
            f"{path}: missing key {key!r} ({expected}); {_describe_contents(contents, path)}"
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


def load_predictions(
    path: str | pathlib.Path,
    key: str | None = None,
    num_keypoints: int | None = None,
    num_persons: int | None = None,
    layout: str | None = None,
) -> Predictions:
    """Reads predicted keypoints (and confidences, if present) from .mat, .h5 or .json.

    Args:
      path: the file; the layouts are listed in the module docstring.
      key: the array to read (an HDF5 path inside groups); by default the first of
        ``PREDICTION_KEYS`` present at the top level.
      num_keypoints: K of the ground truth; tells the array layouts apart.
      num_persons: N of the ground truth; tells them apart where K alone does not.
      layout: a name in :data:`LAYOUTS` for a shape that reads two ways.

    Returns:
      :class:`Predictions` in file order (COCO results keep their ``person_index`` or
      ``image_id`` for :func:`align_predictions`); ``description`` says how the file was read.

    Raises:
      FileNotFoundError, KeyError, ValueError: naming the file and what is wrong (an ambiguous
        layout names the readings and how to choose).
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
                f"{_describe_contents(contents, path)}; name the array with --predictions_key"
            )
    elif key not in contents and key.lstrip("/") in contents:
        key = key.lstrip("/")
    array = _numeric(contents, key, path, "predicted keypoints")
    name = _choose_layout(array, path, key, num_keypoints, num_persons, layout)
    n_axis, k_axis, xy_axis = LAYOUTS[name][1]
    values = array.transpose(n_axis, k_axis, xy_axis)
    keypoints, scores = values[..., :2], None
    shape = LAYOUTS[name][0]
    if values.shape[2] == 3:
        scores, shape = values[..., 2], "[N, K, 3] (x, y, confidence)"
    group = key.rpartition("/")[0]  # confidences are looked for beside the predictions
    score_keys = [f"{group}/{k}" if group else k for k in SCORE_KEYS]
    score_key = next((k for k in score_keys if k in contents), None)
    if score_key is not None:
        scores = _numeric(contents, score_key, path, "confidences")
        if scores.ndim == 3 and scores.shape[2] == 1:
            scores = scores[..., 0]
        if scores.shape != keypoints.shape[:2] and scores.shape == keypoints.shape[1::-1]:
            scores = scores.T  # [K, N], the MATLAB order
        _check_shape(
            scores,
            path,
            score_key,
            f"[N, K] = {list(keypoints.shape[:2])}",
            scores.shape == keypoints.shape[:2],
        )
    described = (
        f"{path}: {key!r} {list(array.shape)} read as {shape}: "
        f"N = {keypoints.shape[0]} persons, K = {keypoints.shape[1]} joints"
    )
    if score_key is not None:
        described += f"; confidences from {score_key!r}"
    return Predictions(keypoints=keypoints, scores=scores, source=str(path), description=described)


def _choose_layout(
    array: np.ndarray,
    path: Any,
    key: str,
    num_keypoints: int | None,
    num_persons: int | None,
    layout: str | None,
) -> str:
    """The :data:`LAYOUTS` name of a predictions array; refuses a shape that reads two ways."""
    expected = "[N, K, 2], [N, K, 3] (x, y, confidence), [K, 2, N] or [2, K, N]"
    if array.ndim != 3:
        raise ValueError(f"{path}: {key!r} must be {expected}, got shape {array.shape}")
    fits = {}  # name -> (N, K)
    for name, (_, (n_axis, k_axis, xy_axis)) in LAYOUTS.items():
        sides = (2, 3) if name == "NK2" else (2,)
        if array.shape[xy_axis] in sides:
            fits[name] = (array.shape[n_axis], array.shape[k_axis])
    if not fits:
        raise ValueError(f"{path}: {key!r} must be {expected}, got shape {array.shape}")
    if layout is not None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        if layout not in fits:
            raise ValueError(
                f"{path}: {key!r} of shape {array.shape} is not {LAYOUTS[layout][0]} "
                f"(layout {layout})"
            )
        return layout
    candidates = dict(fits)
    if num_keypoints is not None:
        candidates = {n: nk for n, nk in candidates.items() if nk[1] == num_keypoints}
        if not candidates:
            readings = "; ".join(f"{LAYOUTS[n][0]} gives K = {k}" for n, (_, k) in fits.items())
            raise ValueError(
                f"{path}: {key!r} of shape {array.shape} has no reading with the ground "
                f"truth's K = {num_keypoints} joints ({readings})"
            )
    if len(candidates) > 1 and num_persons is not None:
        by_persons = {n: nk for n, nk in candidates.items() if nk[0] == num_persons}
        candidates = by_persons or candidates
    if len(candidates) > 1 and num_keypoints is None and _KEY_LAYOUTS.get(key) in candidates:
        return _KEY_LAYOUTS[key]
    if len(candidates) > 1:
        with_scores = array.shape[2] == 3  # an [N, K, 3] reading: x, y and a confidence
        readings = " and as ".join(
            f"{'[N, K, 3]' if n == 'NK2' and with_scores else LAYOUTS[n][0]} (N = {nn}, K = {k})"
            for n, (nn, k) in candidates.items()
        )
        raise ValueError(
            f"{path}: {key!r} of shape {array.shape} reads as {readings}; name the layout with "
            f"--predictions_layout={'|'.join(candidates)}"
        )
    return next(iter(candidates))


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
        # tfpose's files give integer ids and the image's name; ground truth names images.
        image_ids.append(str(entry.get("file_name", entry["image_id"])))
        person_indices.append(entry.get("person_index"))
    stacked = np.stack(keypoints)
    has_indices = all(index is not None for index in person_indices)
    return Predictions(
        keypoints=stacked[..., :2],
        scores=stacked[..., 2],
        image_ids=tuple(image_ids),
        person_indices=tuple(int(i) for i in person_indices) if has_indices else None,
        source=str(path),
        description=f"{path}: COCO keypoint results, {len(results)} entries of "
        f"{stacked.shape[1]} joints, placed by "
        + ("person_index" if has_indices else "image_id (or file order)"),
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
# Missing values


def missing_values(
    predictions: Predictions, ground_truth: GroundTruth
) -> tuple[Predictions, str | None]:
    """Counts NaN (or infinite) predicted joints and confidences, and says how they are scored.

    A joint predicted as NaN is a miss where the ground truth annotates it (the reference code
    does the same: evalMPII.m and ``eval_pck.m`` compare a NaN distance, which is false) and is
    not scored where it does not. A NaN confidence becomes 0, the lowest, for the visibility AP.

    Args:
      predictions: aligned with ``ground_truth`` (:func:`align_predictions`).
      ground_truth: the annotations.

    Returns:
      ``(predictions with finite confidences, warning line or None)``.
    """
    missing = ~np.isfinite(predictions.keypoints).all(axis=-1)  # [N, K]
    parts = []
    if missing.any():
        scored = int((missing & (ground_truth.visibility > 0)).sum())
        parts.append(
            f"{int(missing.sum())} of {missing.size} predicted joints are NaN "
            f"({int(missing.any(axis=1).sum())} persons); a NaN prediction is a miss: {scored} of "
            "them are annotated and scored as misses (as evalMPII.m and eval_pck.m score them), "
            "the others are not scored"
        )
    scores = predictions.scores
    if scores is not None and not np.isfinite(scores).all():
        bad = ~np.isfinite(scores)
        parts.append(f"{int(bad.sum())} confidences are NaN and count as 0 for the visibility AP")
        scores = np.where(bad, 0.0, scores)
        predictions = dataclasses.replace(predictions, scores=scores)
    return predictions, ("; ".join(parts) or None)


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
