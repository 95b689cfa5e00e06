"""MediaPipe Pose for ``benchmarks/peers.py``: its landmarks as LSP joints, the subprocess that
runs it, and the setup of its venv.

MediaPipe 0.10.21 pins protobuf<5 and TensorFlow 2.21 needs protobuf>=6.31, so MediaPipe lives
in its own venv ``.venv-mediapipe/`` (:func:`setup_mediapipe`) and runs in a subprocess
(``benchmarks/peers_mediapipe_worker.py``); this module never imports mediapipe.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence

import numpy as np

from benchmarks.peers_scoring import BODY_JOINT_NAMES, NUM_BODY_JOINTS, PeerRun, run_worker

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
MEDIAPIPE_VENV = REPO_ROOT / ".venv-mediapipe"
MEDIAPIPE_WORKER = pathlib.Path(__file__).resolve().parent / "peers_mediapipe_worker.py"
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

# MediaPipe Pose's 33 landmarks in index order (mp.solutions.pose.PoseLandmark, lower-cased):
# the face, then left/right pairs from the shoulders down.
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
) + tuple(
    f"{side}_{part}"
    for part in (
        "shoulder",
        "elbow",
        "wrist",
        "pinky",
        "index",
        "thumb",
        "hip",
        "knee",
        "ankle",
        "heel",
        "foot_index",
    )
    for side in ("left", "right")
)

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


# ---------------------------------------------------------------------------------------------
# Running MediaPipe


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
    # The worker's environment: no PYTHONPATH from this one (the venv has its own packages),
    # and glog kept quiet.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.setdefault("GLOG_minloglevel", "2")
    command = [
        str(python),
        str(MEDIAPIPE_WORKER),
        f"--model_complexity={MEDIAPIPE_MODELS[model]}",
        f"--min_detection_confidence={min_detection_confidence}",
        f"--min_tracking_confidence={min_tracking_confidence}",
        f"--warmup={warmup}",
    ]
    output = run_worker("MediaPipe", command, paths, env, timeout)
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
