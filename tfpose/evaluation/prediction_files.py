"""Reading predictions produced elsewhere (.mat, .h5, .json) and matching them to ground truth.

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

Ground truth (:func:`load_ground_truth`, :class:`GroundTruth`) is read by
:mod:`tfpose.evaluation.ground_truth_files` and re-exported here;
:func:`align_predictions` matches the two and :func:`missing_values` says how missing
predictions are scored.

``docs/evaluation.md`` has examples of each file.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfpose.evaluation.array_files import (
    check_shape,
    describe_contents,
    numeric_field,
    read_contents,
)
from tfpose.evaluation.ground_truth_files import GroundTruth, load_ground_truth

__all__ = [
    "LAYOUTS",
    "PREDICTION_KEYS",
    "SCORE_KEYS",
    "GroundTruth",
    "Predictions",
    "align_predictions",
    "load_ground_truth",
    "load_predictions",
    "missing_values",
]

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
    contents = read_contents(path)
    if isinstance(contents, list):
        return _coco_results(contents, path)
    if not isinstance(contents, Mapping):
        raise ValueError(f"{path}: expected a JSON object or a COCO results list")
    if key is None:
        key = next((k for k in PREDICTION_KEYS if k in contents), None)
        if key is None:
            raise KeyError(
                f"{path}: no predictions found; expected one of {', '.join(PREDICTION_KEYS)}; "
                f"{describe_contents(contents, path)}; name the array with --predictions_key"
            )
    elif key not in contents and key.lstrip("/") in contents:
        key = key.lstrip("/")
    array = numeric_field(contents, key, path, "predicted keypoints")
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
        scores = numeric_field(contents, score_key, path, "confidences")
        if scores.ndim == 3 and scores.shape[2] == 1:
            scores = scores[..., 0]
        if scores.shape != keypoints.shape[:2] and scores.shape == keypoints.shape[1::-1]:
            scores = scores.T  # [K, N], the MATLAB order
        check_shape(
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
