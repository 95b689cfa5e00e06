"""Pose metric maths in pure numpy: PCK / PCKh, their curves and AUC, visibility AP.

No file I/O and no bookkeeping here: functions take arrays and return arrays or floats, all
rates as fractions in [0, 1]. :mod:`tfpose.evaluation.report` turns them into the papers' tables.

Shape legend: N = persons, K = keypoints of the skeleton, T = thresholds, M = scored joints.
Keypoints are ``(x, y)`` in pixels. ``mask`` arrays are boolean ``[N, K]``: True where the
ground-truth joint is annotated and counts towards the metric.

PCK conventions (see ``docs/evaluation.md``): a joint is correct when its distance to the ground
truth, divided by the person's reference length, is below the threshold α. The two MPII
evaluations in common use differ in three ways, captured by :class:`PckConvention`:

* the common Python port of the MPII evaluation: strict ``<``, the Head column is the head top
  alone, Mean = unweighted mean of the 14 per-joint rates without pelvis and thorax;
* the official MATLAB evaluation: ``<=``, Head = mean of upper neck and head top, Total = pooled
  over the same 14 joints (every annotated joint counts once, so joints annotated more often
  weigh more).

Left/right columns of the tables are the unweighted mean of the two sides' rates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np

from tfpose.skeletons import PckReference, Skeleton

# The papers' table columns, by joint name. Columns whose joints a skeleton lacks are dropped.
_SHOULDERS = ("left_shoulder", "right_shoulder")
_BODY_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Sho", _SHOULDERS),
    ("Elb", ("left_elbow", "right_elbow")),
    ("Wri", ("left_wrist", "right_wrist")),
    ("Hip", ("left_hip", "right_hip")),
    ("Knee", ("left_knee", "right_knee")),
    ("Ank", ("left_ankle", "right_ankle")),
)

# Head joints of a generic PCK table, in the order they are looked for in a skeleton.
_HEAD_JOINT_NAMES = ("neck", "head_top", "nose", "left_eye", "right_eye", "left_ear", "right_ear")

# Step of the PCK curve whose area is the AUC (0, 0.01, ..., 0.5: the MPII evaluation's grid).
AUC_THRESHOLD_STEP = 0.01
AUC_MAX_THRESHOLD = 0.5


@dataclasses.dataclass(frozen=True)
class PckConvention:
    """How per-joint PCK rates become a table row.

    Attributes:
      name: short identifier (``"port"``, ``"matlab"``, ``"lsp"``, ``"pck"``).
      description: one line for printed tables and ``metrics.json``.
      inclusive: ``True`` counts ``distance <= α·reference`` as correct, ``False`` needs ``<``.
      columns: ``(column name, joint names)`` in table order; a column is the unweighted mean
        of its joints' rates.
      mean_name: the name of the summary column (``"Mean"`` or ``"Total"``).
      mean_kind: ``"unweighted"`` averages per-joint rates; ``"pooled"`` divides all correct
        joints by all annotated joints.
      excluded_from_mean: joint names left out of the summary column.
    """

    name: str
    description: str
    inclusive: bool
    columns: tuple[tuple[str, tuple[str, ...]], ...]
    mean_name: str
    mean_kind: Literal["unweighted", "pooled"]
    excluded_from_mean: tuple[str, ...] = ()

    def mean_joints(self, skeleton: Skeleton) -> tuple[int, ...]:
        """Indices of the joints averaged into the summary column."""
        return tuple(
            i for i, name in enumerate(skeleton.joint_names) if name not in self.excluded_from_mean
        )

    def present_columns(self, skeleton: Skeleton) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """The columns whose joints ``skeleton`` has, with joint indices instead of names."""
        present = []
        for column, names in self.columns:
            if all(name in skeleton.joint_names for name in names):
                present.append((column, tuple(skeleton.index(name) for name in names)))
        return tuple(present)


MPII_PORT = PckConvention(
    name="port",
    description="common Python port: <, Head = head top, Mean unweighted over 14 joints",
    inclusive=False,
    columns=(("Head", ("head_top",)), *_BODY_COLUMNS),
    mean_name="Mean",
    mean_kind="unweighted",
    excluded_from_mean=("pelvis", "thorax"),
)


def _pooled_convention(
    name: str, description: str, head: tuple[str, ...], excluded_from_mean: tuple[str, ...] = ()
) -> PckConvention:
    """The MATLAB evaluation's table: ``<=``, Head = mean of the ``head`` joints (no Head
    column without them), Total pooled."""
    return PckConvention(
        name=name,
        description=description,
        inclusive=True,
        columns=((("Head", head),) if head else ()) + _BODY_COLUMNS,
        mean_name="Total",
        mean_kind="pooled",
        excluded_from_mean=excluded_from_mean,
    )


MPII_MATLAB = _pooled_convention(
    "matlab",
    "official MATLAB: <=, Head = mean(neck, head top), Total pooled over 14 joints",
    ("neck", "head_top"),
    excluded_from_mean=("pelvis", "thorax"),
)

# LSP tables come from the same MATLAB code (Pishchulin et al.'s evaluation): Head = mean of
# neck and head top, Total pooled over all 14 joints.
LSP_MATLAB = _pooled_convention(
    "lsp",
    "LSP MATLAB: <=, Head = mean(neck, head top), Total pooled over 14 joints",
    ("neck", "head_top"),
)


def generic_convention(skeleton: Skeleton) -> PckConvention:
    """A PCK table for any skeleton: ``<=``, Head = the head joints it has, Total pooled."""
    head = tuple(name for name in _HEAD_JOINT_NAMES if name in skeleton.joint_names)
    return _pooled_convention(
        "pck", f"generic PCK: <=, Head = mean({', '.join(head)}), Total pooled over all", head
    )


# ---------------------------------------------------------------------------------------------
# Reference lengths: one per person, NaN where it cannot be measured (that person is ignored).


def head_box_reference(head_boxes: np.ndarray, factor: float = 0.6) -> np.ndarray:
    """MPII PCKh reference: ``factor`` × the head-box diagonal.

    Args:
      head_boxes: [N, 4] ``(x1, y1, x2, y2)`` in pixels.
      factor: 0.6 in the MPII evaluation ("SC_BIAS").

    Returns:
      [N] reference lengths in pixels.
    """
    head_boxes = np.asarray(head_boxes, np.float64)
    if head_boxes.ndim != 2 or head_boxes.shape[1] != 4:
        raise ValueError(f"head_boxes must be [N, 4] (x1, y1, x2, y2), got {head_boxes.shape}")
    return factor * np.hypot(
        head_boxes[:, 2] - head_boxes[:, 0], head_boxes[:, 3] - head_boxes[:, 1]
    )


def joint_distance_reference(
    keypoints: np.ndarray, mask: np.ndarray, joints: tuple[int, int]
) -> np.ndarray:
    """Reference = distance between two ground-truth joints (LSP torso: left shoulder–right hip).

    Args:
      keypoints: [N, K, 2] ground truth.
      mask: [N, K] annotated joints.
      joints: the two joint indices.

    Returns:
      [N] lengths; NaN where either joint is not annotated.
    """
    keypoints = np.asarray(keypoints, np.float64)
    a, b = joints
    length = np.linalg.norm(keypoints[:, a] - keypoints[:, b], axis=-1)
    return np.where(mask[:, a] & mask[:, b], length, np.nan)


def bounding_box_reference(keypoints: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Reference = the longer side of the tight box around the annotated ground-truth joints.

    Args:
      keypoints: [N, K, 2] ground truth.
      mask: [N, K] annotated joints.

    Returns:
      [N] lengths; NaN for persons with fewer than two annotated joints.
    """
    keypoints = np.asarray(keypoints, np.float64)
    inside = mask[..., None]
    low = np.where(inside, keypoints, np.inf).min(axis=1)
    high = np.where(inside, keypoints, -np.inf).max(axis=1)
    with np.errstate(invalid="ignore"):
        side = (high - low).max(axis=-1)
    return np.where(mask.sum(axis=1) >= 2, side, np.nan)


def reference_lengths(
    reference: PckReference | Literal["box"],
    skeleton: Skeleton,
    gt_keypoints: np.ndarray,
    mask: np.ndarray,
    head_boxes: np.ndarray | None = None,
) -> np.ndarray:
    """[N] reference lengths of any PCK variant: head box, two joints (torso) or person box.

    Args:
      reference: a :class:`~tfpose.skeletons.PckReference` (``skeleton.pck_reference`` or one
        built for the occasion), or ``"box"`` for :func:`bounding_box_reference`.
      skeleton: resolves the joint names of a ``"joints"`` reference.
      gt_keypoints: [N, K, 2] ground truth.
      mask: [N, K] annotated joints.
      head_boxes: [N, 4], needed by a ``"head_box"`` reference.
    """
    if reference == "box":
        return bounding_box_reference(gt_keypoints, mask)
    if reference.kind == "head_box":
        if head_boxes is None:
            raise ValueError("a head-box PCK reference needs head_boxes [N, 4]")
        return head_box_reference(head_boxes, reference.factor)
    if reference.kind == "joints" and reference.joints is not None:
        a, b = (skeleton.index(name) for name in reference.joints)
        return reference.factor * joint_distance_reference(gt_keypoints, mask, (a, b))
    raise ValueError(f"unsupported PCK reference {reference!r}")


# ---------------------------------------------------------------------------------------------
# PCK


def normalized_distances(
    pred_keypoints: np.ndarray, gt_keypoints: np.ndarray, reference_lengths: np.ndarray
) -> np.ndarray:
    """Distances between predicted and true joints in units of each person's reference length.

    Args:
      pred_keypoints: [N, K, 2].
      gt_keypoints: [N, K, 2].
      reference_lengths: [N]; persons with a NaN or non-positive length get NaN distances.

    Returns:
      [N, K] normalized distances (NaN where undefined; NaN counts as incorrect).
    """
    pred_keypoints = np.asarray(pred_keypoints, np.float64)
    gt_keypoints = np.asarray(gt_keypoints, np.float64)
    if pred_keypoints.shape != gt_keypoints.shape or pred_keypoints.shape[-1:] != (2,):
        raise ValueError(
            f"predictions {pred_keypoints.shape} and ground truth {gt_keypoints.shape} must both "
            "be [N, K, 2]"
        )
    reference_lengths = np.asarray(reference_lengths, np.float64)
    if reference_lengths.shape != pred_keypoints.shape[:1]:
        raise ValueError(
            f"reference_lengths must be [N={pred_keypoints.shape[0]}], "
            f"got {reference_lengths.shape}"
        )
    usable = np.isfinite(reference_lengths) & (reference_lengths > 0)
    safe = np.where(usable, reference_lengths, 1.0)
    distances = np.linalg.norm(pred_keypoints - gt_keypoints, axis=-1) / safe[:, None]
    return np.where(usable[:, None], distances, np.nan)


def valid_mask(visibility: np.ndarray, reference_lengths: np.ndarray) -> np.ndarray:
    """[N, K] joints that count: annotated (visibility > 0) with a usable reference length."""
    reference_lengths = np.asarray(reference_lengths, np.float64)
    usable = np.isfinite(reference_lengths) & (reference_lengths > 0)
    return (np.asarray(visibility) > 0) & usable[:, None]


def pck_hits(distances: np.ndarray, threshold: float, inclusive: bool) -> np.ndarray:
    """[N, K] bool: ``distance <= threshold`` (inclusive) or ``<`` (strict); NaN is a miss."""
    with np.errstate(invalid="ignore"):
        return (distances <= threshold) if inclusive else (distances < threshold)


def per_joint_rates(hits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[K] fraction of annotated joints that are hits; NaN for joints never annotated."""
    counts = mask.sum(axis=0)
    correct = (hits & mask).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, correct / np.maximum(counts, 1), np.nan)


def pooled_rate(hits: np.ndarray, mask: np.ndarray, joints: Sequence[int]) -> float:
    """Fraction of hits among all annotated ``joints`` of all persons (count-weighted mean)."""
    joints = list(joints)
    total = mask[:, joints].sum()
    if total == 0:
        return float("nan")
    return float((hits[:, joints] & mask[:, joints]).sum() / total)


def unweighted_rate(rates: np.ndarray, joints: Sequence[int]) -> float:
    """Unweighted mean of per-joint ``rates`` over ``joints``, ignoring NaN (never annotated)."""
    selected = np.asarray(rates, np.float64)[list(joints)]
    selected = selected[np.isfinite(selected)]
    return float(selected.mean()) if selected.size else float("nan")


def pck_row(
    distances: np.ndarray,
    mask: np.ndarray,
    threshold: float,
    skeleton: Skeleton,
    convention: PckConvention,
) -> tuple[dict[str, float], float, np.ndarray]:
    """One table row: column rates, the summary (Mean/Total) and the per-joint rates.

    Args:
      distances: [N, K] normalized distances.
      mask: [N, K] joints that count.
      threshold: α.
      skeleton: gives the joint names of the columns.
      convention: the table's rules.

    Returns:
      ``(columns, summary, per_joint)``: ``{column name: rate}`` in table order, the summary
      rate and [K] per-joint rates, all fractions.
    """
    hits = pck_hits(distances, threshold, convention.inclusive)
    per_joint = per_joint_rates(hits, mask)
    columns = {
        column: unweighted_rate(per_joint, joints)
        for column, joints in convention.present_columns(skeleton)
    }
    mean_joints = convention.mean_joints(skeleton)
    if convention.mean_kind == "pooled":
        summary = pooled_rate(hits, mask, mean_joints)
    else:
        summary = unweighted_rate(per_joint, mean_joints)
    return columns, summary, per_joint


def auc_thresholds(
    max_threshold: float = AUC_MAX_THRESHOLD, step: float = AUC_THRESHOLD_STEP
) -> np.ndarray:
    """[T] thresholds ``0, step, ..., max_threshold`` (inclusive), without float drift."""
    count = int(round(max_threshold / step))
    return np.arange(count + 1) * step


def area_under_curve(thresholds: np.ndarray, values: np.ndarray) -> float:
    """Normalized area under a piecewise-linear curve: ∫ values dα / (α_max − α_min).

    This is the MATLAB evaluation's ``area_under_curve(scale01(range), pck)``: the trapezoid
    rule on the curve's own points, with the threshold axis rescaled to [0, 1], so a curve at
    1 everywhere has AUC 1.

    Args:
      thresholds: [T] increasing.
      values: [T].
    """
    thresholds = np.asarray(thresholds, np.float64)
    values = np.asarray(values, np.float64)
    if thresholds.ndim != 1 or thresholds.shape != values.shape or thresholds.size < 2:
        raise ValueError(
            f"thresholds {thresholds.shape} and values {values.shape} must be equal 1-D with T >= 2"
        )
    span = thresholds[-1] - thresholds[0]
    if not span > 0:
        raise ValueError("thresholds must increase")
    widths = np.diff(thresholds)
    return float(np.sum(widths * (values[1:] + values[:-1]) / 2.0) / span)


# ---------------------------------------------------------------------------------------------
# Visibility: is a joint visible or occluded, judged by its heatmap's maximum?


def precision_recall_curve(
    scores: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall when predicting "positive" for every score ≥ each distinct threshold.

    Tied scores enter together (one curve point per distinct score), as in
    ``sklearn.metrics.precision_recall_curve``, but ordered from the highest threshold down.

    Args:
      scores: [M] confidence of each joint (e.g. its heatmap maximum).
      labels: [M] bool, True = positive (visible), False = negative (occluded).

    Returns:
      ``(precision, recall, thresholds)``, each [D] for the D distinct scores, thresholds
      decreasing, recall non-decreasing.
    """
    scores = np.asarray(scores, np.float64).reshape(-1)
    labels = np.asarray(labels, bool).reshape(-1)
    if scores.shape != labels.shape:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must match")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    num_positive = int(labels.sum())
    if num_positive == 0:
        raise ValueError("precision/recall need at least one positive label")
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    true_positives = np.cumsum(labels)
    # The last index of each run of equal scores: ties are decided together.
    last_of_tie = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]
    true_positives = true_positives[last_of_tie]
    predicted = last_of_tie + 1
    return true_positives / predicted, true_positives / num_positive, scores[last_of_tie]


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Non-interpolated average precision, as ``sklearn.metrics.average_precision_score``.

    AP = Σ_d (R_d − R_{d−1}) · P_d over the distinct thresholds, i.e. the mean over positives of
    the precision at that positive's rank (tied scores share the precision of their whole tie).
    No interpolation (no running maximum of precision, unlike PASCAL VOC's AP).

    Args:
      scores: [M] confidences.
      labels: [M] bool, True = positive.

    Returns:
      AP as a fraction in [0, 1].
    """
    precision, recall, _ = precision_recall_curve(scores, labels)
    recall_steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_steps * precision))
