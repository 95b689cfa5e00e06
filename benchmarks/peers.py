r"""Side by side with other pose estimators: PCK@0.2 on the LSP Extended test split.

Every tool gets the **whole image** (no person box, no crop) of LSPET test images 9501–10000
(``tfpose.data.lsp.LSPET_SPLITS``) and is scored against the ground truth with the project's LSP
protocol (:func:`tfpose.evaluation.report.evaluate_predictions`, ``protocol="lsp"``: PCK@0.2 of
the torso ‖left shoulder − right hip‖, ``<=``, Total pooled over the annotated joints).

**12 joints, not 14.** MediaPipe Pose has no neck or head-top landmark, so the comparison uses the
12 body joints (ankles, knees, hips, wrists, elbows, shoulders) for every tool: neck and head top
are marked not annotated before scoring, so the Total pools the 12 body joints only. The numbers
are therefore not the 14-joint LSP figures of ``docs/results.md``.

**Nobody found.** A photo where a tool finds nobody counts as all misses (its predictions are
NaN, which the metric scores as a miss); it stays in the denominator.

Rows:

* MediaPipe Pose (legacy ``mp.solutions.pose``, ``static_image_mode=True``, default
  ``min_detection_confidence=0.5`` and ``min_tracking_confidence=0.5``), models ``lite``, ``full``
  and ``heavy`` (``model_complexity`` 0, 1, 2). MediaPipe 0.10.21 pins protobuf<5 and
  TensorFlow 2.21 needs protobuf>=6.31, so MediaPipe lives in its own venv ``.venv-mediapipe/``
  and runs in a subprocess (``benchmarks/peers_mediapipe_worker.py``); this module never imports
  mediapipe. Its 33 landmarks map to LSP's 12 body joints by name
  (:func:`mediapipe_to_lsp12`).
* tfpose artifacts (``--tfpose``: a ``.keras`` file, an exported SavedModel or ``.tflite``
  file, or a shipped model's name), each with each of ``--threads``, in a process of its own
  (``benchmarks/peers_tfpose_worker.py``): ``Predictor.predict(photo)`` on the whole photo,
  with ``--refine`` passes on the person it found (:mod:`tfpose.inference.predictor`).
* Any other tool through the hook :func:`run_callable` (a name and a ``predict(rgb_image)``
  returning [12 or 14, 2] keypoints).

Speed: median milliseconds per image of one process, after a warm-up on the first image, only
the tool's call timed (not JPEG decoding). On a shared or loaded machine these move with the
load; compare rows of one run.

Setup (once; creates ``.venv-mediapipe/``, installs mediapipe, adds the lite and heavy landmark
models from the npm package ``@mediapipe/pose``, since the wheel only holds ``full`` and
MediaPipe would otherwise try to download them; needs pip and npm registry access)::

    python -m benchmarks.peers --setup_mediapipe

Run (``--limit`` takes the first N test images; the data lives in ``../shared/data/lspet``)::

    python -m benchmarks.peers --mediapipe=lite,full,heavy --limit=20
    python -m benchmarks.peers --mediapipe=lite,full,heavy --output_json=runs/peers.json
    python -m benchmarks.peers --mediapipe=full,heavy --threads=1,2 \
        --tfpose=export/lspet/1,export/lspet/model_fp32.tflite,export/lspet/model_int8.tflite
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tfpose.evaluation.report import json_ready
from tfpose.skeletons import LSP

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# ../shared/data/lspet relative to the repository root.
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "lspet"
MEDIAPIPE_VENV = REPO_ROOT / ".venv-mediapipe"
MEDIAPIPE_WORKER = pathlib.Path(__file__).resolve().parent / "peers_mediapipe_worker.py"
TFPOSE_WORKER = pathlib.Path(__file__).resolve().parent / "peers_tfpose_worker.py"
MEDIAPIPE_VERSION = "0.10.21"
# MediaPipe's model_complexity of each landmark model.
MEDIAPIPE_MODELS = {"lite": 0, "full": 1, "heavy": 2}
# The npm package holding the lite and heavy landmark models (the wheel only has full). Its
# full model is byte-identical to the one in the mediapipe 0.10.21 wheel (checked by
# --setup_mediapipe), which is how we know the package's models are the ones this version runs.
MEDIAPIPE_NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"
MEDIAPIPE_MODEL_SHA256 = {
    "lite": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    "full": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "heavy": "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}

# MediaPipe Pose's 33 landmarks in index order (mp.solutions.pose.PoseLandmark, lower-cased).
MEDIAPIPE_LANDMARK_NAMES = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

# The 12 joints every tool is scored on: LSP's first 12 joints (its order), i.e. LSP without
# neck (12) and head top (13).
BODY_JOINT_NAMES = LSP.joint_names[:12]
NUM_BODY_JOINTS = len(BODY_JOINT_NAMES)
LSP_EXCLUDED_JOINTS = tuple(range(NUM_BODY_JOINTS, LSP.num_keypoints))  # neck, head top

# For each of the 12 body joints, the MediaPipe landmark with the same name.
#
# Left/right: MediaPipe's LEFT_* landmarks are the person's own left, the same convention as
# LSP's labels, so left maps to left with no swap. Checked, not assumed (mediapipe 0.10.21, full
# model, static_image_mode, unmirrored photos): on LSPET im09508, a man jumping towards the
# camera (his left shoulder on the image's right), LEFT_SHOULDER / LEFT_WRIST / LEFT_HIP land
# 5 / 2 / 9 px from LSP's left shoulder / wrist / hip and 42 / 88 / 23 px from the right ones
# (RIGHT_*: 3 / 2 / 5 px from the right joints, 37 / 89 / 29 px from the left ones); on the
# first 20 test images, of the 80 left/right pairs with both joints annotated on a photo where
# MediaPipe found the person, 79 were closer as same-name than swapped (the exception: the
# knees of im09505, a side view, 13.6 vs 13.1 px).
MEDIAPIPE_TO_LSP12 = tuple(MEDIAPIPE_LANDMARK_NAMES.index(name) for name in BODY_JOINT_NAMES)


# ---------------------------------------------------------------------------------------------
# Keypoint conversions


def mediapipe_to_lsp12(landmarks: np.ndarray | Sequence | None) -> np.ndarray:
    """MediaPipe's 33 landmarks → LSP's 12 body joints, in LSP order.

    Args:
      landmarks: [33, C] with C >= 2 (x, y first; extra columns such as z and visibility are
        dropped), in any coordinates; ``None`` when MediaPipe found nobody.

    Returns:
      [12, 2] float64 (x, y) of ``BODY_JOINT_NAMES``; all NaN (every joint a miss) for ``None``.
    """
    if landmarks is None:
        return np.full((NUM_BODY_JOINTS, 2), np.nan)
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.ndim != 2 or landmarks.shape[0] != len(MEDIAPIPE_LANDMARK_NAMES):
        raise ValueError(
            f"expected [{len(MEDIAPIPE_LANDMARK_NAMES)}, C>=2] MediaPipe landmarks, got "
            f"{landmarks.shape}"
        )
    if landmarks.shape[1] < 2:
        raise ValueError(f"landmarks need x and y columns, got {landmarks.shape}")
    return landmarks[list(MEDIAPIPE_TO_LSP12), :2].copy()


def normalized_to_pixels(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """MediaPipe's normalized (x, y) (0 and 1 = the image's edges) → 0-based pixel coordinates.

    The project's pixels have integer coordinates at pixel centres (LSP's 1-based MATLAB
    coordinates minus 1), so pixel i spans [i − 0.5, i + 0.5]: x_pixel = x·width − 0.5.
    """
    xy = np.asarray(xy, np.float64)
    return xy * np.asarray([width, height], np.float64) - 0.5


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
# Running tools


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


def mediapipe_python(venv: str | os.PathLike = MEDIAPIPE_VENV) -> pathlib.Path:
    return pathlib.Path(venv) / "bin" / "python"


def run_mediapipe(
    paths: Sequence[str],
    model: str,
    python: str | os.PathLike | None = None,
    min_detection_confidence: float = 0.5,
    min_tracking_confidence: float = 0.5,
    warmup: int = 3,
    timeout: float | None = None,
) -> PeerRun:
    """Runs MediaPipe Pose ``model`` (lite, full, heavy) on ``paths`` in the MediaPipe venv.

    The worker (``benchmarks/peers_mediapipe_worker.py``) runs in one subprocess of the venv's
    python, in ``static_image_mode`` (each photo on its own), and returns the 33 landmarks per
    image (or none) with each image's inference time; they become LSP's 12 body joints here.
    """
    if model not in MEDIAPIPE_MODELS:
        raise ValueError(
            f"unknown MediaPipe model {model!r}; expected one of {list(MEDIAPIPE_MODELS)}"
        )
    python = pathlib.Path(python) if python is not None else mediapipe_python()
    if not python.exists():
        raise FileNotFoundError(
            f"{python}: no MediaPipe venv; create it with `python -m benchmarks.peers "
            "--setup_mediapipe`"
        )
    with tempfile.TemporaryDirectory(prefix="peers_mediapipe_") as tmp:
        request = pathlib.Path(tmp) / "input.json"
        response = pathlib.Path(tmp) / "output.json"
        request.write_text(json.dumps({"paths": [os.path.abspath(p) for p in paths]}))
        command = [
            str(python),
            str(MEDIAPIPE_WORKER),
            f"--input={request}",
            f"--output={response}",
            f"--model_complexity={MEDIAPIPE_MODELS[model]}",
            f"--min_detection_confidence={min_detection_confidence}",
            f"--min_tracking_confidence={min_tracking_confidence}",
            f"--warmup={warmup}",
        ]
        # The worker's environment: no PYTHONPATH from this one (the venv has its own packages),
        # and glog kept quiet.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.setdefault("GLOG_minloglevel", "2")
        process = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if process.returncode != 0 or not response.exists():
            raise RuntimeError(
                f"MediaPipe worker failed (exit {process.returncode}): {' '.join(command)}\n"
                f"{process.stderr[-4000:]}"
            )
        output = json.loads(response.read_text())
    keypoints, found, ms = [], [], []
    for image in output["images"]:
        landmarks = image["landmarks"]
        body = mediapipe_to_lsp12(landmarks)
        if landmarks is not None:
            body = normalized_to_pixels(body, image["width"], image["height"])
        keypoints.append(body)
        found.append(landmarks is not None)
        ms.append(image["ms"])
    info = {k: v for k, v in output.items() if k != "images"}
    return PeerRun(
        name=f"mediapipe/{model}",
        keypoints=np.asarray(keypoints, np.float64).reshape(-1, NUM_BODY_JOINTS, 2),
        found=np.asarray(found, bool),
        ms=np.asarray(ms, np.float64),
        info=info,
    )


def run_tfpose(
    paths: Sequence[str],
    model: str,
    threads: int,
    refine: int = 1,
    flip_test: bool = False,
    warmup: int = 3,
    timeout: float | None = None,
) -> PeerRun:
    """Runs a tfpose artifact (``.keras``, SavedModel, ``.tflite`` or shipped name) on the whole
    photos in a process of its own with ``threads`` threads (``peers_tfpose_worker.py``)."""
    with tempfile.TemporaryDirectory(prefix="peers_tfpose_") as tmp:
        request = pathlib.Path(tmp) / "input.json"
        response = pathlib.Path(tmp) / "output.json"
        request.write_text(json.dumps({"paths": [os.path.abspath(p) for p in paths]}))
        command = [
            sys.executable,
            str(TFPOSE_WORKER),
            f"--model={model}",
            f"--threads={threads}",
            f"--input={request}",
            f"--output={response}",
            f"--refine={refine}",
            f"--warmup={warmup}",
        ] + (["--flip_test"] if flip_test else [])
        # The worker imports this checkout's tfpose, installed or not.
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(TFPOSE_WORKER.parent.parent), env.get("PYTHONPATH")) if p
        )
        process = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if process.returncode != 0 or not response.exists():
            raise RuntimeError(
                f"tfpose worker failed (exit {process.returncode}): {' '.join(command)}\n"
                f"{process.stderr[-4000:]}"
            )
        output = json.loads(response.read_text())
    keypoints = [to_lsp12(np.asarray(image["keypoints"])) for image in output["images"]]
    info = {k: v for k, v in output.items() if k != "images"}
    name = f"tfpose/{os.path.basename(os.path.normpath(model))}"
    if output["format"] == "saved_model":
        name = f"tfpose/saved_model {os.path.basename(os.path.dirname(os.path.normpath(model)))}"
    label = f"{name} ({threads} thread{'s' if threads > 1 else ''}"
    label += f", {refine + 1} pass{'es' if refine else ''}" + (", flip" if flip_test else "") + ")"
    return PeerRun(
        name=label,
        keypoints=np.asarray(keypoints, np.float64).reshape(-1, NUM_BODY_JOINTS, 2),
        found=np.ones(len(keypoints), bool),
        ms=np.asarray([image["ms"] for image in output["images"]], np.float64),
        info=info,
    )


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """[H, W, 3] uint8 RGB image (what MediaPipe gets too)."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


# ---------------------------------------------------------------------------------------------
# HOOK for other tools (tfpose rows go here).
#
# run_callable(name, predict, paths) runs any estimator given as a plain function on the same
# whole images MediaPipe gets and returns a PeerRun that evaluate_run / format_table treat like
# a MediaPipe row. predict(rgb_image) receives a [H, W, 3] uint8 RGB image (the whole photo) and
# returns [12, 2] or [14, 2] (x, y) in LSP joint order (tfpose.skeletons.LSP; 14 = with neck and
# head top, which are dropped) in 0-based pixels of that image (integer = pixel centre), or None
# when it finds nobody (NaN rows also count as misses). To add tfpose rows, build such functions
# (e.g. a person box from a detector or the whole image, then the model) and pass them to
# benchmark(..., predictors={"tfpose/<model>": predict}); see main().


def run_callable(
    name: str,
    predict: Callable[[np.ndarray], np.ndarray | Sequence | None],
    paths: Sequence[str],
    warmup: int = 3,
) -> PeerRun:
    """The hook: times ``predict(rgb_image)`` on each image (after ``warmup`` calls on the
    first, untimed) and collects its keypoints as LSP's 12 body joints.

    Args:
      name: row label, e.g. ``"tfpose/recurrent"``.
      predict: ``rgb_image [H, W, 3] uint8 -> [12 or 14, 2]`` keypoints in LSP order, 0-based
        pixels, or ``None`` when nobody was found.
      paths: image files.
      warmup: untimed calls on the first image.
    """
    if paths and warmup > 0:
        first = read_rgb(paths[0])
        for _ in range(warmup):
            predict(first)
    keypoints, found, ms = [], [], []
    for path in paths:
        rgb = read_rgb(path)
        start = time.perf_counter()
        output = predict(rgb)
        ms.append(1000.0 * (time.perf_counter() - start))
        body = to_lsp12(output)
        keypoints.append(body)
        found.append(output is not None and not np.all(np.isnan(body)))
    return PeerRun(
        name=name,
        keypoints=np.asarray(keypoints, np.float64).reshape(-1, NUM_BODY_JOINTS, 2),
        found=np.asarray(found, bool),
        ms=np.asarray(ms, np.float64),
        info={"warmup": warmup},
    )


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


def benchmark(
    data_dir: str | os.PathLike,
    limit: int | None,
    mediapipe_models: Sequence[str] = (),
    predictors: Mapping[str, Callable[[np.ndarray], Any]] | None = None,
    min_detection_confidence: float = 0.5,
    warmup: int = 3,
    python: str | os.PathLike | None = None,
    verbose: bool = True,
    tfpose_rows: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Runs every tool on the first ``limit`` LSPET test images and scores them.

    Args:
      data_dir: the LSPET folder (``images/``, ``joints.mat``).
      limit: number of test images (None: all 500).
      mediapipe_models: any of ``lite``, ``full``, ``heavy``.
      predictors: name → ``predict(rgb_image)`` for :func:`run_callable` (the tfpose hook).
      min_detection_confidence: MediaPipe's person-detector threshold.
      warmup: untimed calls on the first image, per tool.
      python: the MediaPipe venv's interpreter (default ``.venv-mediapipe/bin/python``).
      tfpose_rows: keyword arguments of :func:`run_tfpose` (``model``, ``threads``, ...), one
        row each, run in processes of their own.

    Returns:
      ``{"images", "image_numbers", "rows"}``.
    """
    numbers = lspet_test_numbers(limit)
    paths = [lspet_image_path(data_dir, n) for n in numbers]
    gt_keypoints, gt_visibility = lspet_ground_truth(data_dir, numbers)
    runs: list[PeerRun] = []
    for model in mediapipe_models:
        if verbose:
            print(f"[peers] mediapipe/{model} on {len(paths)} images ...", flush=True)
        runs.append(
            run_mediapipe(
                paths,
                model,
                python=python,
                min_detection_confidence=min_detection_confidence,
                warmup=warmup,
            )
        )
    for row in tfpose_rows:
        if verbose:
            print(f"[peers] tfpose {row} on {len(paths)} images ...", flush=True)
        runs.append(run_tfpose(paths, warmup=warmup, **row))
    for name, predict in (predictors or {}).items():
        if verbose:
            print(f"[peers] {name} on {len(paths)} images ...", flush=True)
        runs.append(run_callable(name, predict, paths, warmup=warmup))
    rows = [evaluate_run(run, gt_keypoints, gt_visibility) for run in runs]
    return {"images": len(numbers), "image_numbers": numbers, "rows": rows}


# ---------------------------------------------------------------------------------------------
# Setup of the MediaPipe venv


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(command: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
    print("[setup] " + " ".join(str(c) for c in command), flush=True)
    return subprocess.run([str(c) for c in command], check=True, **kwargs)


def setup_mediapipe(venv: str | os.PathLike = MEDIAPIPE_VENV) -> pathlib.Path:
    """Creates the MediaPipe venv and puts the lite and heavy landmark models into it.

    Steps (each skipped when already done): ``python -m venv``; ``pip install
    mediapipe==0.10.21`` (brings opencv-contrib-python and numpy<2); ``npm pack
    @mediapipe/pose`` in a temporary folder, checking the models' SHA-256 (and that its full
    model is the wheel's), then copying ``pose_landmark_lite.tflite`` and
    ``pose_landmark_heavy.tflite`` next to the wheel's ``pose_landmark_full.tflite``, where
    ``mp.solutions.pose`` looks before trying to download them.

    Returns:
      The venv's python.
    """
    venv = pathlib.Path(venv)
    python = mediapipe_python(venv)
    if not python.exists():
        _run([sys.executable, "-m", "venv", venv])
    probe = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('mediapipe'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0 or probe.stdout.strip() != MEDIAPIPE_VERSION:
        _run([python, "-m", "pip", "install", f"mediapipe=={MEDIAPIPE_VERSION}"])
    located = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util as u; "
            "print(u.find_spec('mediapipe').submodule_search_locations[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    model_dir = pathlib.Path(located.stdout.strip()) / "modules" / "pose_landmark"
    wheel_full = model_dir / "pose_landmark_full.tflite"
    if not wheel_full.exists():
        raise FileNotFoundError(f"{wheel_full}: not in the mediapipe wheel")
    missing = [
        name
        for name in ("lite", "heavy")
        if not (model_dir / f"pose_landmark_{name}.tflite").exists()
        or _sha256(model_dir / f"pose_landmark_{name}.tflite") != MEDIAPIPE_MODEL_SHA256[name]
    ]
    if missing:
        npm = shutil.which("npm")
        if npm is None:
            raise FileNotFoundError(
                "npm not found: it fetches the lite/heavy models from the npm package "
                f"{MEDIAPIPE_NPM_PACKAGE}"
            )
        with tempfile.TemporaryDirectory(prefix="mediapipe_pose_npm_") as tmp:
            _run([npm, "pack", MEDIAPIPE_NPM_PACKAGE], cwd=tmp, stdout=subprocess.DEVNULL)
            (tarball,) = pathlib.Path(tmp).glob("*.tgz")
            wanted = {f"package/pose_landmark_{name}.tflite" for name in MEDIAPIPE_MODELS}
            with tarfile.open(tarball) as archive:
                members = [m for m in archive.getmembers() if m.name in wanted and m.isfile()]
                archive.extractall(tmp, members=members, filter="data")
            for name in MEDIAPIPE_MODELS:
                got = _sha256(pathlib.Path(tmp) / "package" / f"pose_landmark_{name}.tflite")
                if got != MEDIAPIPE_MODEL_SHA256[name]:
                    raise ValueError(
                        f"{MEDIAPIPE_NPM_PACKAGE}: pose_landmark_{name}.tflite has SHA-256 {got}, "
                        f"expected {MEDIAPIPE_MODEL_SHA256[name]}"
                    )
            if _sha256(wheel_full) != MEDIAPIPE_MODEL_SHA256["full"]:
                raise ValueError(
                    f"{wheel_full} differs from the npm package's full model: the package's "
                    "lite/heavy models may not match this mediapipe version"
                )
            for name in missing:
                source = pathlib.Path(tmp) / "package" / f"pose_landmark_{name}.tflite"
                shutil.copyfile(source, model_dir / source.name)
                print(f"[setup] {source.name} -> {model_dir}", flush=True)
    print(f"[setup] MediaPipe {MEDIAPIPE_VERSION} ready: {python}", flush=True)
    return python


# ---------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.peers",
        description="tfpose vs other pose estimators on the LSPET test split (PCK@0.2, 12 "
        "body joints, whole image as input).",
    )
    parser.add_argument(
        "--setup_mediapipe",
        action="store_true",
        help="Create .venv-mediapipe/ (mediapipe==0.10.21 + lite/heavy models) and exit.",
    )
    parser.add_argument(
        "--mediapipe",
        default="lite,full,heavy",
        help="Comma-separated MediaPipe models to run (lite, full, heavy); empty for none.",
    )
    parser.add_argument("--limit", type=int, default=None, help="First N test images (all 500).")
    parser.add_argument(
        "--data_dir", default=str(DEFAULT_DATA_DIR), help="LSPET folder (images/, joints.mat)."
    )
    parser.add_argument(
        "--mediapipe_python",
        default=None,
        help="Python of the MediaPipe venv (default .venv-mediapipe/bin/python).",
    )
    parser.add_argument(
        "--tfpose",
        default="",
        help="Comma-separated tfpose artifacts (.keras, SavedModel dir, .tflite, or a shipped "
        "model's name), each run on the whole photos in a process of its own.",
    )
    parser.add_argument(
        "--threads", default="1,2", help="Thread counts of every --tfpose artifact (comma list)."
    )
    parser.add_argument(
        "--refine", type=int, default=1, help="tfpose: passes after the whole-photo one."
    )
    parser.add_argument("--flip_test", action="store_true", help="tfpose: flip test.")
    parser.add_argument("--min_detection_confidence", type=float, default=0.5)
    parser.add_argument("--warmup", type=int, default=3, help="Untimed calls per tool.")
    parser.add_argument("--output_json", default=None, help="Also write the rows here.")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.setup_mediapipe:
        setup_mediapipe()
        return 0
    models = [m.strip() for m in args.mediapipe.split(",") if m.strip()]
    unknown = [m for m in models if m not in MEDIAPIPE_MODELS]
    if unknown:
        raise SystemExit(f"unknown --mediapipe models {unknown}; expected {list(MEDIAPIPE_MODELS)}")
    # HOOK: tfpose rows. Register predict(rgb_image) -> [12 or 14, 2] functions here (name →
    # function); run_callable() times and scores them exactly like the MediaPipe rows.
    predictors: dict[str, Callable[[np.ndarray], Any]] = {}
    artifacts = [a.strip() for a in args.tfpose.split(",") if a.strip()]
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    tfpose_rows = [
        {"model": a, "threads": t, "refine": args.refine, "flip_test": args.flip_test}
        for a in artifacts
        for t in threads
    ]
    output = benchmark(
        args.data_dir,
        args.limit,
        mediapipe_models=models,
        predictors=predictors,
        min_detection_confidence=args.min_detection_confidence,
        warmup=args.warmup,
        python=args.mediapipe_python,
        tfpose_rows=tfpose_rows,
    )
    print()
    print(format_table(output["rows"], output["images"]))
    if args.output_json:
        content = {
            "images": output["images"],
            "image_numbers": output["image_numbers"],
            "joints": list(BODY_JOINT_NAMES),
            "note": "PCK@0.2 over the 12 body joints (no neck/head top: MediaPipe has neither); "
            "nobody found = all misses",
            "rows": output["rows"],
        }
        pathlib.Path(args.output_json).write_text(
            json.dumps(json_ready(content), indent=2, allow_nan=False) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
