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
  and runs in a subprocess (``benchmarks/peers_mediapipe_worker.py``); these modules never
  import mediapipe. Its 33 landmarks map to LSP's 12 body joints by name
  (:func:`benchmarks.peers_mediapipe.mediapipe_to_lsp12`).
* tfpose artifacts (``--tfpose``: a ``.keras`` file, an exported SavedModel or ``.tflite``
  file, or a shipped model's name), each with each of ``--threads``, in a process of its own
  (``benchmarks/peers_tfpose_worker.py``): ``Predictor.predict(photo)`` on the whole photo,
  with ``--refine`` passes on the person it found (:mod:`tfpose.inference.predictor`).
* Any other tool through the hook :func:`run_callable` (a name and a ``predict(rgb_image)``
  returning [12 or 14, 2] keypoints).

Speed: median milliseconds per image of one process, after a warm-up on the first image, only
the tool's call timed (not JPEG decoding). On a shared or loaded machine these move with the
load; compare rows of one run.

The modules: ``benchmarks/peers_scoring.py`` (joints, data, scores, tables),
``benchmarks/peers_mediapipe.py`` (MediaPipe's landmarks, its subprocess, its venv) and this
one (the tfpose rows, the hook for other tools, the command line).

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
import json
import os
import pathlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks.peers_mediapipe import MEDIAPIPE_MODELS, run_mediapipe, setup_mediapipe
from benchmarks.peers_scoring import (
    BODY_JOINT_NAMES,
    NUM_BODY_JOINTS,
    PeerRun,
    evaluate_run,
    format_table,
    lspet_ground_truth,
    lspet_image_path,
    lspet_test_numbers,
    run_worker,
    to_lsp12,
)
from tfpose.evaluation.report import json_ready

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# ../shared/data/lspet relative to the repository root.
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "lspet"
TFPOSE_WORKER = pathlib.Path(__file__).resolve().parent / "peers_tfpose_worker.py"


# ---------------------------------------------------------------------------------------------
# Running tools


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
    # The worker imports this checkout's tfpose, installed or not.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(TFPOSE_WORKER.parent.parent), env.get("PYTHONPATH")) if p
    )
    command = [
        sys.executable,
        str(TFPOSE_WORKER),
        f"--model={model}",
        f"--threads={threads}",
        f"--refine={refine}",
        f"--warmup={warmup}",
    ] + (["--flip_test"] if flip_test else [])
    output = run_worker("tfpose", command, paths, env, timeout)
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
