"""The comparison of ``benchmarks/peers.py``: LSP's 12 body joints, the LSPET test split, the
scores and the tables, and how a tool's worker process is run (:func:`run_worker`).

Every tool's predictions become a :class:`PeerRun` ([N, 12, 2] keypoints in
``BODY_JOINT_NAMES`` order, NaN where the tool found nobody); :func:`evaluate_run` scores it
with the project's LSP protocol (:func:`score_lsp12`) and :func:`format_table` prints the rows.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tfpose.skeletons import LSP

# The 12 joints every tool is scored on: LSP's first 12 joints (its order), i.e. LSP without
# neck (12) and head top (13).
BODY_JOINT_NAMES = LSP.joint_names[:12]
NUM_BODY_JOINTS = len(BODY_JOINT_NAMES)
LSP_EXCLUDED_JOINTS = tuple(range(NUM_BODY_JOINTS, LSP.num_keypoints))  # neck, head top


def to_lsp12(keypoints: np.ndarray | Sequence | None) -> np.ndarray:
    """A tool's keypoints in LSP order, [12, 2] or [14, 2] (neck and head top dropped) → [12, 2].

    ``None`` (nobody found) becomes all NaN: every joint a miss.
    """
    if keypoints is None:
        return np.full((NUM_BODY_JOINTS, 2), np.nan)
    keypoints = np.asarray(keypoints, np.float64)
    if keypoints.ndim != 2 or keypoints.shape[0] not in (NUM_BODY_JOINTS, LSP.num_keypoints):
        raise ValueError(
            f"expected [12, 2+] or [14, 2+] keypoints in LSP order, got {keypoints.shape}"
        )
    return keypoints[:NUM_BODY_JOINTS, :2].copy()


# ---------------------------------------------------------------------------------------------
# Data and scoring


def lspet_test_numbers(limit: int | None = None) -> list[int]:
    """Image numbers of the LSPET test split (9501–10000), the first ``limit`` of them."""
    from tfpose.data.lsp import LSPET_SPLITS

    first, last = LSPET_SPLITS["test"]
    numbers = list(range(first, last + 1))
    return numbers[:limit] if limit else numbers


def lspet_image_path(data_dir: str | os.PathLike, number: int) -> str:
    return os.path.join(data_dir, "images", f"im{number:05d}.jpg")


def lspet_ground_truth(
    data_dir: str | os.PathLike, numbers: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth of LSPET images ``numbers`` (1-based): [N, 14, 2] keypoints (0-based pixels)
    and [N, 14] visibility (0 not annotated, 2 annotated), read with the project's reader."""
    from tfpose.data.lsp import load_joints_mat, parse_lspet_joints

    path = os.path.join(data_dir, "joints.mat")
    people = parse_lspet_joints(load_joints_mat(path), path)
    keypoints = np.stack([people[n - 1]["keypoints"] for n in numbers]).astype(np.float64)
    visibility = np.stack([people[n - 1]["visibility"] for n in numbers])
    return keypoints, visibility


def score_lsp12(
    pred12: np.ndarray, gt_keypoints: np.ndarray, gt_visibility: np.ndarray
) -> dict[str, Any]:
    """The project's LSP PCK@0.2 of [N, 12, 2] predictions on the 12 body joints.

    Predictions become LSP's 14 joints with NaN at neck and head top, and those two joints are
    marked not annotated, so ``evaluate_predictions(..., protocol="lsp")`` (torso reference,
    ``<=``, Total pooled over annotated joints) scores the 12 body joints only. NaN predictions
    (nobody found) are misses.

    Args:
      pred12: [N, 12, 2] predictions in ``BODY_JOINT_NAMES`` order, 0-based pixels.
      gt_keypoints: [N, 14, 2] LSP ground truth.
      gt_visibility: [N, 14] (0 = not annotated).

    Returns:
      ``pck`` (the 12-joint pooled Total, percent), ``pck_unweighted`` (unweighted mean of the
      12 per-joint rates), ``per_joint`` ({LSP joint name: percent} for the 12 joints),
      ``columns`` (the paper columns Sho … Ank), ``num_persons``,
      ``num_persons_without_reference`` and ``result`` (the full result dict).
    """
    from tfpose.evaluation.report import evaluate_predictions

    pred12 = np.asarray(pred12, np.float64)
    num = pred12.shape[0]
    if pred12.shape != (num, NUM_BODY_JOINTS, 2):
        raise ValueError(f"predictions must be [N, 12, 2], got {pred12.shape}")
    if np.shape(gt_keypoints) != (num, LSP.num_keypoints, 2):
        raise ValueError(f"ground truth must be [N={num}, 14, 2], got {np.shape(gt_keypoints)}")
    pred14 = np.full((num, LSP.num_keypoints, 2), np.nan)
    pred14[:, :NUM_BODY_JOINTS] = pred12
    visibility = np.array(gt_visibility, copy=True)
    visibility[:, list(LSP_EXCLUDED_JOINTS)] = 0
    result = evaluate_predictions(
        pred14, np.asarray(gt_keypoints, np.float64), visibility, None, LSP, "lsp"
    )
    per_joint = {name: result["per_keypoint"][name] for name in BODY_JOINT_NAMES}
    rates = [v for v in per_joint.values() if v is not None]
    return {
        "pck": result["mean"],
        "pck_unweighted": float(np.mean(rates)) if rates else None,
        "per_joint": per_joint,
        "columns": {k: v for k, v in result["per_joint"].items() if v is not None},
        "num_persons": result["num_persons"],
        "num_persons_without_reference": result["num_persons_without_reference"],
        "result": result,
    }


# ---------------------------------------------------------------------------------------------
# One tool's run


@dataclasses.dataclass
class PeerRun:
    """One tool's predictions on a list of images.

    Attributes:
      name: row label, e.g. ``"mediapipe/full"``.
      keypoints: [N, 12, 2] in ``BODY_JOINT_NAMES`` order, 0-based pixels; NaN where nobody
        was found.
      found: [N] bool, False where the tool found nobody.
      ms: [N] milliseconds of each image's call (timed after the warm-up).
      info: settings and versions, for the JSON output.
    """

    name: str
    keypoints: np.ndarray
    found: np.ndarray
    ms: np.ndarray
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def median_ms(self) -> float | None:
        return float(np.median(self.ms)) if len(self.ms) else None


# ---------------------------------------------------------------------------------------------
# Tables


def evaluate_run(run: PeerRun, gt_keypoints: np.ndarray, gt_visibility: np.ndarray) -> dict:
    """One table row: the run's scores, speed and nobody-found count (JSON-ready)."""
    score = score_lsp12(run.keypoints, gt_keypoints, gt_visibility)
    return {
        "name": run.name,
        "pck": score["pck"],
        "pck_unweighted": score["pck_unweighted"],
        "per_joint": score["per_joint"],
        "columns": score["columns"],
        "median_ms": run.median_ms,
        "images": int(len(run.found)),
        "nobody_found": int((~run.found).sum()),
        "num_persons_without_reference": score["num_persons_without_reference"],
        "info": run.info,
    }


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


_SHORT_NAMES = {
    "right_ankle": "RAnk",
    "right_knee": "RKne",
    "right_hip": "RHip",
    "left_hip": "LHip",
    "left_knee": "LKne",
    "left_ankle": "LAnk",
    "right_wrist": "RWri",
    "right_elbow": "RElb",
    "right_shoulder": "RSho",
    "left_shoulder": "LSho",
    "left_elbow": "LElb",
    "left_wrist": "LWri",
}


def _align(cells: Sequence[str], widths: Sequence[int]) -> str:
    """First cell left-aligned, the others right-aligned, two spaces apart."""
    return "  ".join(
        cell.ljust(width) if i == 0 else cell.rjust(width)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    )


def format_table(rows: Sequence[dict], num_images: int) -> str:
    """The summary table and the per-joint PCK@0.2 table of ``rows`` (from evaluate_run)."""
    header = ("tool/model", "PCK@0.2 (12 joints)", "median ms/image", "nobody found")
    cells = [
        (
            row["name"],
            _number(row["pck"]),
            _number(row["median_ms"]),
            f"{row['nobody_found']}/{row['images']}",
        )
        for row in rows
    ]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    without_reference = max((row["num_persons_without_reference"] for row in rows), default=0)
    lines = [
        f"LSPET test, first {num_images} images, whole image as input.",
        "PCK@0.2 (project's LSP protocol: torso reference, <=, pooled) over the 12 body joints"
        " only:",
        "MediaPipe has no neck or head-top landmark, so neck and head top are left out for every"
        " tool.",
        f"Scored images: {num_images - without_reference} of {num_images} (the protocol skips "
        "images whose left shoulder or right hip is not annotated: no torso length).",
        "Nobody found = all misses (counted over all images).",
        "",
        _align(header, widths),
    ]
    lines += [_align(c, widths) for c in cells]
    # Per-joint table: the paper columns, then the 12 joints.
    columns = list(rows[0]["columns"]) if rows else []
    joints = [_SHORT_NAMES[name] for name in BODY_JOINT_NAMES]
    name_width = max([len("tool/model")] + [len(r["name"]) for r in rows])
    lines += ["", "Per joint PCK@0.2 (%): left/right mean per part, then each joint"]
    lines.append(
        "tool/model".ljust(name_width)
        + "".join(f"{c:>6}" for c in columns)
        + "  |"
        + "".join(f"{j:>6}" for j in joints)
    )
    for row in rows:
        lines.append(
            row["name"].ljust(name_width)
            + "".join(f"{_number(row['columns'].get(c)):>6}" for c in columns)
            + "  |"
            + "".join(f"{_number(row['per_joint'][n]):>6}" for n in BODY_JOINT_NAMES)
        )
    return "\n".join(lines)


def run_worker(
    tool: str,
    command: Sequence[str],
    paths: Sequence[str],
    env: Mapping[str, str],
    timeout: float | None,
) -> dict[str, Any]:
    """Runs a tool's worker script on ``paths`` in a process of its own; returns its output.

    The worker reads ``{"paths": [absolute paths]}`` from the request JSON file of its
    ``--input`` flag and writes its output JSON to the file of its ``--output`` flag, both in a
    temporary folder ``peers_{tool}_…``.

    Args:
      tool: the tool's name, lower-cased in the folder's name ("tfpose", "MediaPipe").
      command: the worker's command line, but ``--input`` and ``--output``.
      env: the worker's environment.

    Raises:
      RuntimeError: the worker failed or wrote nothing (with its command and stderr's end).
    """
    with tempfile.TemporaryDirectory(prefix=f"peers_{tool.lower()}_") as tmp:
        request = pathlib.Path(tmp) / "input.json"
        response = pathlib.Path(tmp) / "output.json"
        request.write_text(json.dumps({"paths": [os.path.abspath(p) for p in paths]}))
        argv = [*command, f"--input={request}", f"--output={response}"]
        process = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=dict(env), check=False
        )
        if process.returncode != 0 or not response.exists():
            raise RuntimeError(
                f"{tool} worker failed (exit {process.returncode}): {' '.join(argv)}\n"
                f"{process.stderr[-4000:]}"
            )
        return json.loads(response.read_text())
