"""Evaluation bookkeeping: protocols → result dict → table, metrics.json, COCO JSON, plots.

:func:`evaluate_predictions` is the one entry point both modes of ``python -m tfpose.evaluate``
use (prediction files now, a model later): arrays in, a JSON-ready dict out. :func:`write_report`
writes that dict and the predictions to a folder. The maths lives in
:mod:`tfpose.evaluation.metrics`.

Shape legend: N = persons, K = keypoints; keypoints ``(x, y)`` in pixels.

All rates in the result (PCK, AUC, average precision) are percentages.
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from tfpose.data.example import OCCLUDED, VISIBLE
from tfpose.evaluation import metrics
from tfpose.skeletons import LSP, MPII, PckReference, Skeleton

PROTOCOLS = ("mpii", "lsp", "pck")
REFERENCES = ("head", "torso", "box")

DEFAULT_THRESHOLDS = {"mpii": 0.5, "lsp": 0.2, "pck": 0.2}
# MPII papers also report PCKh@0.1.
_EXTRA_THRESHOLDS = {"mpii": (0.1,), "lsp": (), "pck": ()}

_TORSO = PckReference(kind="joints", joints=("left_shoulder", "right_hip"))
_REFERENCE_DESCRIPTIONS = {
    "head_box": "{factor:g} x head-box diagonal",
    "box": "longer side of the box around the annotated joints",
}

# Result keys too long for metrics.json: the visibility PR arrays (written as CSV instead) and
# the COCO ground truth that COCO's keypoint AP was computed on (coco_ground_truth.json).
_NOT_IN_JSON = ("visibility_curve", "coco_ground_truth")


def _percent(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else 100.0 * float(value)


def _protocol_setup(
    protocol: str, skeleton: Skeleton, reference: str | None
) -> tuple[PckReference | Literal["box"], tuple[metrics.PckConvention, ...]]:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    if protocol in ("mpii", "lsp"):
        expected = MPII if protocol == "mpii" else LSP
        if skeleton.name != expected.name:
            raise ValueError(
                f"protocol {protocol!r} needs the {expected.name} skeleton "
                f"({expected.num_keypoints} joints), got {skeleton.name!r}"
            )
        if reference is not None:
            raise ValueError(
                f"protocol {protocol!r} fixes its reference; use protocol 'pck' for --reference"
            )
        conventions = (
            (metrics.MPII_PORT, metrics.MPII_MATLAB)
            if protocol == "mpii"
            else (metrics.LSP_MATLAB,)
        )
        return skeleton.pck_reference, conventions
    if reference is None:
        chosen: PckReference | Literal["box"] = skeleton.pck_reference
    elif reference == "head":
        chosen = MPII.pck_reference
    elif reference == "torso":
        chosen = _TORSO
    elif reference == "box":
        chosen = "box"
    else:
        raise ValueError(
            f"unknown reference {reference!r}; expected one of {', '.join(REFERENCES)}"
        )
    return chosen, (metrics.generic_convention(skeleton),)


def _describe_reference(reference: PckReference | Literal["box"]) -> str:
    if reference == "box":
        return _REFERENCE_DESCRIPTIONS["box"]
    if reference.kind == "head_box":
        return _REFERENCE_DESCRIPTIONS["head_box"].format(factor=reference.factor)
    a, b = reference.joints or ("?", "?")
    scale = "" if reference.factor == 1.0 else f"{reference.factor:g} x "
    return f"{scale}||{a} - {b}||"


def _convention_entry(
    distances: np.ndarray,
    mask: np.ndarray,
    skeleton: Skeleton,
    convention: metrics.PckConvention,
    threshold: float,
    extra_thresholds: Sequence[float],
    metric_name: str,
) -> dict[str, Any]:
    columns, summary, per_joint = metrics.pck_row(distances, mask, threshold, skeleton, convention)
    entry: dict[str, Any] = {
        "convention": convention.name,
        "description": convention.description,
        "per_joint": {name: _percent(v) for name, v in columns.items()},
        "mean_name": convention.mean_name,
        "mean": _percent(summary),
        "per_keypoint": {
            name: _percent(v) for name, v in zip(skeleton.joint_names, per_joint, strict=True)
        },
    }
    for extra in extra_thresholds:
        extra_columns, extra_summary, _ = metrics.pck_row(
            distances, mask, extra, skeleton, convention
        )
        entry[f"{metric_name}@{extra:g}"] = {
            "per_joint": {name: _percent(v) for name, v in extra_columns.items()},
            "mean": _percent(extra_summary),
        }
    thresholds = metrics.auc_thresholds()
    curve_columns: dict[str, list[float]] = {name: [] for name in columns}
    curve_mean: list[float] = []
    for alpha in thresholds:
        alpha_columns, alpha_summary, _ = metrics.pck_row(
            distances, mask, float(alpha), skeleton, convention
        )
        for name, value in alpha_columns.items():
            curve_columns[name].append(value)
        curve_mean.append(alpha_summary)
    entry["auc"] = _percent(metrics.area_under_curve(thresholds, np.asarray(curve_mean)))
    entry["auc_per_joint"] = {
        name: _percent(metrics.area_under_curve(thresholds, np.asarray(values)))
        for name, values in curve_columns.items()
    }
    entry["auc_range"] = [float(thresholds[0]), float(thresholds[-1])]
    entry["pck_curve"] = {
        "thresholds": [float(t) for t in thresholds],
        "per_joint": {
            name: [_percent(v) for v in values] for name, values in curve_columns.items()
        },
        "mean": [_percent(v) for v in curve_mean],
    }
    return entry


def _visibility_entry(
    confidences: np.ndarray | None,
    visibility: np.ndarray,
    occlusion_labelled: np.ndarray,
) -> tuple[dict[str, Any] | None, dict[str, np.ndarray] | None, str | None]:
    if confidences is None:
        return None, None, "no confidences given"
    labelled = occlusion_labelled[:, None] & np.isin(visibility, (OCCLUDED, VISIBLE))
    labels = visibility[labelled] == VISIBLE
    scores = np.asarray(confidences, np.float64)[labelled]
    num_positive, num_negative = int(labels.sum()), int((~labels).sum())
    if num_positive == 0 or num_negative == 0:
        return (
            None,
            None,
            "the ground truth has no occlusion labels (needs both visible and occluded joints)",
        )
    precision, recall, thresholds = metrics.precision_recall_curve(scores, labels)
    entry = {
        "average_precision": _percent(metrics.average_precision(scores, labels)),
        "num_positive": num_positive,
        "num_negative": num_negative,
        "positive": "visible",
        "negative": "occluded",
    }
    curve = {"precision": precision, "recall": recall, "thresholds": thresholds}
    return entry, curve, None


def evaluate_predictions(
    pred_keypoints: np.ndarray,
    gt_keypoints: np.ndarray,
    visibility: np.ndarray,
    head_boxes: np.ndarray | None,
    skeleton: Skeleton,
    protocol: str,
    confidences: np.ndarray | None = None,
    occlusion_labelled: bool | np.ndarray = False,
    threshold: float | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """Evaluates predictions under a protocol; the dict is what ``metrics.json`` holds.

    Args:
      pred_keypoints: [N, K, 2] predicted ``(x, y)``, same pixel convention as the truth.
      gt_keypoints: [N, K, 2] ground truth.
      visibility: [N, K] 0 not annotated (ignored), 1 occluded, 2 visible.
      head_boxes: [N, 4] ``(x1, y1, x2, y2)``; required by ``mpii`` (and reference ``head``).
      skeleton: the keypoint layout; ``mpii`` needs MPII, ``lsp`` needs LSP.
      protocol: ``"mpii"`` (PCKh@0.5 in both conventions, PCKh@0.1, AUC), ``"lsp"``
        (PCK@0.2, torso, pooled Total) or ``"pck"`` (any skeleton and ``reference``).
      confidences: [N, K] per-joint confidences (heatmap maxima) for the visibility AP.
      occlusion_labelled: bool or [N] bool; where false, 1 vs 2 in ``visibility`` is not a
        real occlusion label and those persons are left out of the visibility AP.
      threshold: α; defaults to 0.5 (mpii) or 0.2 (lsp, pck).
      reference: ``pck`` only: ``"head"`` (0.6 × head-box diagonal), ``"torso"``
        (‖left shoulder − right hip‖) or ``"box"``; defaults to ``skeleton.pck_reference``.

    Returns:
      A dict with ``protocol``, ``skeleton``, ``reference``, ``threshold``, the first
      convention's ``convention``, ``per_joint`` (table columns), ``mean_name``, ``mean``,
      ``per_keypoint``, ``auc``, ``auc_per_joint``, ``pck_curve`` (and ``PCKh@0.1`` for mpii),
      ``conventions`` (every convention's entry by name), ``num_persons``, ``num_annotated``,
      ``num_persons_without_reference``, ``visibility`` (AP entry or None),
      ``visibility_note`` and ``visibility_curve`` (numpy PR arrays, not written to JSON).
    """
    num_persons, num_keypoints = np.shape(gt_keypoints)[:2]
    if num_keypoints != skeleton.num_keypoints:
        raise ValueError(
            f"ground truth has {num_keypoints} keypoints, skeleton {skeleton.name!r} has "
            f"{skeleton.num_keypoints}"
        )
    visibility = np.asarray(visibility)
    if visibility.shape != (num_persons, num_keypoints):
        raise ValueError(
            f"visibility must be [N, K] = [{num_persons}, {num_keypoints}], got {visibility.shape}"
        )
    if confidences is not None and np.shape(confidences) != (num_persons, num_keypoints):
        raise ValueError(
            f"confidences must be [N, K] = [{num_persons}, {num_keypoints}], "
            f"got {np.shape(confidences)}"
        )
    chosen_reference, conventions = _protocol_setup(protocol, skeleton, reference)
    threshold = DEFAULT_THRESHOLDS[protocol] if threshold is None else float(threshold)
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    annotated = visibility > 0
    lengths = metrics.reference_lengths(
        chosen_reference, skeleton, gt_keypoints, annotated, head_boxes
    )
    distances = metrics.normalized_distances(pred_keypoints, gt_keypoints, lengths)
    mask = metrics.valid_mask(visibility, lengths)
    metric_name = "PCKh" if protocol == "mpii" or reference == "head" else "PCK"
    extra = [t for t in _EXTRA_THRESHOLDS[protocol] if t != threshold]
    entries = {
        c.name: _convention_entry(distances, mask, skeleton, c, threshold, extra, metric_name)
        for c in conventions
    }
    occlusion = np.broadcast_to(np.asarray(occlusion_labelled, bool), (num_persons,))
    vis_entry, vis_curve, vis_note = _visibility_entry(confidences, visibility, occlusion)
    result: dict[str, Any] = {
        "protocol": protocol,
        "metric": metric_name,
        "skeleton": skeleton.name,
        "reference": _describe_reference(chosen_reference),
        "threshold": threshold,
        **entries[conventions[0].name],
        "conventions": entries,
        "num_persons": int(num_persons),
        "num_annotated": {
            name: int(count)
            for name, count in zip(skeleton.joint_names, mask.sum(axis=0), strict=True)
        },
        "num_persons_without_reference": int(np.sum(~(np.isfinite(lengths) & (lengths > 0)))),
        "visibility": vis_entry,
        "units": "percent",
    }
    if vis_note is not None:
        result["visibility_note"] = vis_note
    if vis_curve is not None:
        result["visibility_curve"] = vis_curve
    return result


# ---------------------------------------------------------------------------------------------
# Text


def _format_number(value: float | None) -> str:
    return "    -" if value is None else f"{value:.2f}"


def format_table(result: dict[str, Any]) -> str:
    """The per-joint tables in the papers' layout, one block per convention.

    Columns Head, Sho, Elb, Wri, Hip, Knee, Ank and Mean/Total; rows PCK(h)@threshold, the
    extra thresholds (PCKh@0.1 for MPII) and the AUC over α ∈ [0, 0.5].
    """
    metric = result["metric"]
    lines = [
        f"{result['protocol'].upper()} {metric}@{result['threshold']:g}, "
        f"reference {result['reference']}, {result['num_persons']} persons"
    ]
    for entry in result["conventions"].values():
        names = [*entry["per_joint"], entry["mean_name"]]
        rows = [(f"{metric}@{result['threshold']:g}", entry["per_joint"], entry["mean"])]
        rows += [
            (key, value["per_joint"], value["mean"])
            for key, value in entry.items()
            if key.startswith(f"{metric}@")
        ]
        low, high = entry["auc_range"]
        rows.append((f"AUC@{low:g}-{high:g}", entry["auc_per_joint"], entry["auc"]))
        width = max(len(label) for label, _, _ in rows)
        lines.append("")
        lines.append(f"[{entry['convention']}] {entry['description']}")
        lines.append(" " * width + "".join(f"{name:>8}" for name in names))
        for label, columns, mean in rows:
            values = [columns.get(name) for name in names[:-1]] + [mean]
            lines.append(f"{label:<{width}}" + "".join(f"{_format_number(v):>8}" for v in values))
    visibility = result.get("visibility")
    lines.append("")
    if visibility is not None:
        lines.append(
            f"Visibility AP (visible = positive, occluded = negative): "
            f"{visibility['average_precision']:.2f} "
            f"({visibility['num_positive']} visible, {visibility['num_negative']} occluded)"
        )
    else:
        lines.append(f"Visibility AP: not computed ({result.get('visibility_note', 'n/a')})")
    coco = result.get("coco_keypoints")
    if coco is not None:
        names = ("AP", "AP50", "AP75", "APm", "APl", "AR")
        lines.append("")
        lines.append(
            f"COCO keypoints (OKS; pycocotools COCOeval), {coco['num_persons']} persons in "
            f"{coco['num_images']} images"
        )
        lines.append("".join(f"{name:>8}" for name in names))
        lines.append("".join(f"{_format_number(coco[name]):>8}" for name in names))
        if not coco.get("areas_kept", True):
            lines.append(f"OKS areas: {coco['areas']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Files


def json_ready(value: Any) -> Any:
    """``value`` with numpy arrays and scalars as lists and numbers, non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics_json(result: dict[str, Any], path: str | pathlib.Path) -> pathlib.Path:
    """Writes the result (without the long PR arrays) as strict JSON; NaN becomes null."""
    path = pathlib.Path(path)
    content = {k: v for k, v in result.items() if k not in _NOT_IN_JSON}
    path.write_text(json.dumps(json_ready(content), indent=2, allow_nan=False) + "\n")
    return path


def coco_entries(
    pred_keypoints: np.ndarray,
    confidences: np.ndarray | None = None,
    image_ids: Sequence[str | int] | None = None,
    file_names: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The COCO keypoint-results entries of N predicted persons, one per person.

    Each entry is ``{"image_id", "category_id": 1, "keypoints": [x1, y1, s1, ...], "score",
    "person_index", "file_name"?}`` (:func:`tfpose.inference.results.coco_result`, at full
    precision): ``s`` is the joint's confidence (1 when none is given), ``score`` their mean,
    ``person_index`` the position in the ground truth so that several persons of one image can
    be matched back (:func:`tfpose.evaluation.prediction_files.align_predictions`). COCO
    results hold numbers only: a joint without a prediction (NaN, e.g. in a prediction file) is
    written as ``0, 0`` with confidence 0, and a NaN confidence as 0.

    Args:
      pred_keypoints: [N, K, 2].
      confidences: [N, K] or None.
      image_ids: [N] integer image ids, or image names (strings), which become integer ids by
        :func:`tfpose.inference.results.image_ids` and are kept as ``file_name``; None: each
        person's index.
      file_names: [N] image names (``file_name``), or None.
    """
    from tfpose.inference import results  # the one COCO results format and writer

    pred_keypoints = np.asarray(pred_keypoints, np.float64)
    num_persons = pred_keypoints.shape[0]
    if confidences is None:
        confidences = np.ones(pred_keypoints.shape[:2])
    confidences = np.asarray(confidences, np.float64)
    missing = ~np.isfinite(pred_keypoints).all(axis=-1)  # [N, K]
    pred_keypoints = np.where(missing[..., None], 0.0, pred_keypoints)
    confidences = np.where(missing | ~np.isfinite(confidences), 0.0, confidences)
    if image_ids is None:
        ids = list(range(num_persons))
    else:
        if len(image_ids) != num_persons:
            raise ValueError(f"image_ids has {len(image_ids)} entries for {num_persons} persons")
        if all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in image_ids):
            ids = [int(i) for i in image_ids]
        else:
            file_names = [str(i) for i in image_ids] if file_names is None else file_names
            ids = results.image_ids([str(i) for i in image_ids])
    if file_names is not None and len(file_names) != num_persons:
        raise ValueError(f"file_names has {len(file_names)} entries for {num_persons} persons")
    return [
        results.coco_result(
            ids[i],
            pred_keypoints[i],
            confidences[i],
            file_name=None if file_names is None else str(file_names[i]),
            person_index=i,
            decimals=None,
        )
        for i in range(num_persons)
    ]


def write_coco_results(
    path: str | pathlib.Path,
    pred_keypoints: np.ndarray,
    confidences: np.ndarray | None = None,
    image_ids: Sequence[str | int] | None = None,
    file_names: Sequence[str] | None = None,
) -> pathlib.Path:
    """Writes predictions as a COCO keypoint-results file (:func:`coco_entries`), with the
    writer ``python -m tfpose.predict`` uses too (:func:`tfpose.inference.results.
    write_coco_results`, which checks the format first)."""
    from tfpose.inference import results

    entries = coco_entries(pred_keypoints, confidences, image_ids, file_names)
    path = pathlib.Path(path)
    results.write_coco_results(path, entries, int(np.shape(pred_keypoints)[1]))
    return path


def write_visibility_csv(result: dict[str, Any], path: str | pathlib.Path) -> pathlib.Path:
    """Writes the visibility precision–recall points (threshold, precision, recall) as CSV."""
    curve = result["visibility_curve"]
    table = np.stack([curve["thresholds"], curve["precision"], curve["recall"]], axis=1)
    path = pathlib.Path(path)
    np.savetxt(
        path, table, delimiter=",", header="threshold,precision,recall", comments="", fmt="%.6g"
    )
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_pck_curves(result: dict[str, Any], path: str | pathlib.Path) -> pathlib.Path:
    """PNG: PCK against the threshold α for each joint group and the mean, every convention."""
    plt = _pyplot()
    entries = list(result["conventions"].values())
    figure, axes = plt.subplots(1, len(entries), figsize=(6.0 * len(entries), 4.6), squeeze=False)
    for axis, entry in zip(axes[0], entries, strict=True):
        curve = entry["pck_curve"]
        thresholds = curve["thresholds"]
        for name, values in curve["per_joint"].items():
            auc = entry["auc_per_joint"][name]
            axis.plot(thresholds, _plottable(values), label=f"{name} (AUC {_format_number(auc)})")
        axis.plot(
            thresholds,
            _plottable(curve["mean"]),
            color="black",
            linewidth=2.2,
            label=f"{entry['mean_name']} (AUC {_format_number(entry['auc'])})",
        )
        axis.axvline(result["threshold"], color="grey", linestyle="--", linewidth=1)
        axis.set_xlim(thresholds[0], thresholds[-1])
        axis.set_ylim(0, 100)
        axis.set_xlabel(f"threshold α (× {result['reference']})")
        axis.set_ylabel(f"{result['metric']} (%)")
        axis.set_title(
            f"{result['protocol'].upper()} [{entry['convention']}]: {entry['mean_name']} "
            f"{_format_number(entry['mean'])} at α={result['threshold']:g}",
            fontsize=10,
        )
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    path = pathlib.Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _plottable(values: Sequence[float | None]) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], np.float64)


def plot_visibility_pr(result: dict[str, Any], path: str | pathlib.Path) -> pathlib.Path:
    """PNG: the visibility precision–recall curve (visible = positive), AP in the title."""
    plt = _pyplot()
    curve, entry = result["visibility_curve"], result["visibility"]
    figure, axis = plt.subplots(figsize=(5.2, 4.6))
    recall = np.r_[0.0, curve["recall"]]
    precision = np.r_[curve["precision"][0], curve["precision"]]
    axis.step(recall, precision, where="post", label=f"AP {entry['average_precision']:.2f}")
    base_rate = entry["num_positive"] / (entry["num_positive"] + entry["num_negative"])
    axis.axhline(base_rate, color="grey", linestyle="--", linewidth=1, label="chance")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("recall (visible joints)")
    axis.set_ylabel("precision")
    axis.set_title(
        f"Visibility from heatmap maxima: {entry['num_positive']} visible, "
        f"{entry['num_negative']} occluded",
        fontsize=9,
    )
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left")
    figure.tight_layout()
    path = pathlib.Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_report(
    result: dict[str, Any],
    output_dir: str | pathlib.Path,
    pred_keypoints: np.ndarray,
    confidences: np.ndarray | None = None,
    image_ids: Sequence[str | int] | None = None,
    file_names: Sequence[str] | None = None,
) -> dict[str, pathlib.Path]:
    """Writes everything about one evaluation to ``output_dir`` (created if needed).

    Files: ``metrics.json``, ``table.txt``, ``keypoint_results.json`` (COCO results),
    ``pck_curves.png``, when the visibility AP was computed ``visibility_pr.png`` and
    ``visibility_pr.csv``, and when COCO's keypoint AP was computed ``coco_ground_truth.json``
    (the COCO ground truth it was computed on, ``result["coco_ground_truth"]``).

    Args:
      result: from :func:`evaluate_predictions`.
      output_dir: folder to write to.
      pred_keypoints: [N, K, 2] the evaluated predictions.
      confidences: [N, K] or None.
      image_ids: [N] integer image ids or image names (see :func:`coco_entries`), or None.
      file_names: [N] image names, or None.

    Returns:
      ``{file kind: path}`` of what was written.
    """
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = {
        "metrics": write_metrics_json(result, output_dir / "metrics.json"),
        "coco_results": write_coco_results(
            output_dir / "keypoint_results.json", pred_keypoints, confidences, image_ids, file_names
        ),
        "pck_curves": plot_pck_curves(result, output_dir / "pck_curves.png"),
    }
    table = output_dir / "table.txt"
    table.write_text(format_table(result) + "\n")
    written["table"] = table
    if result.get("visibility_curve") is not None:
        written["visibility_pr"] = plot_visibility_pr(result, output_dir / "visibility_pr.png")
        written["visibility_csv"] = write_visibility_csv(result, output_dir / "visibility_pr.csv")
    if result.get("coco_ground_truth") is not None:
        path = output_dir / "coco_ground_truth.json"
        path.write_text(json.dumps(json_ready(result["coco_ground_truth"]), allow_nan=False))
        written["coco_ground_truth"] = path
    return written
