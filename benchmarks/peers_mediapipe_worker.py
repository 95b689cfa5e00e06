"""MediaPipe Pose worker for ``benchmarks/peers.py``; runs in the MediaPipe venv, not the project's.

MediaPipe 0.10.21 pins protobuf<5 while TensorFlow 2.21 needs protobuf>=6.31, so the two cannot
share an interpreter: ``benchmarks/peers.py`` (project side, no mediapipe import) starts this
script with ``.venv-mediapipe/bin/python`` (made by ``python -m benchmarks.peers
--setup_mediapipe``). This file imports only mediapipe, cv2, numpy and the standard library.

Input: a JSON file ``{"paths": [...]}``. Output: a JSON file with, per image in input order,
``{"path", "width", "height", "ms", "landmarks"}`` where ``landmarks`` is ``null`` when MediaPipe
found nobody, else 33 rows ``[x, y, z, visibility]`` as MediaPipe gives them (x, y normalized
to the image width and height; the conversion to pixels is done by peers.py), plus the run's
settings and the median inference time.

Timing: the legacy ``mp.solutions.pose.Pose`` graph with ``static_image_mode=True`` (person
detector + landmark model on every image, no tracking between images), one process, the
library's default threading; only ``pose.process(rgb)`` is timed (decoding is not), after
``--warmup`` untimed calls on the first image.

    .venv-mediapipe/bin/python benchmarks/peers_mediapipe_worker.py \
        --input=paths.json --output=out.json --model_complexity=1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import cv2
import mediapipe as mp
import numpy as np

MODEL_NAMES = {0: "lite", 1: "full", 2: "heavy"}


def _read_rgb(path: str) -> np.ndarray:
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"{path}: cannot be read as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def run(
    paths: list[str],
    model_complexity: int,
    min_detection_confidence: float,
    min_tracking_confidence: float,
    warmup: int,
) -> dict:
    results = []
    with mp.solutions.pose.Pose(
        static_image_mode=True,
        model_complexity=model_complexity,
        min_detection_confidence=min_detection_confidence,
        min_tracking_confidence=min_tracking_confidence,
        enable_segmentation=False,
    ) as pose:
        if paths and warmup > 0:
            first = _read_rgb(paths[0])
            for _ in range(warmup):
                pose.process(first)
        for path in paths:
            rgb = _read_rgb(path)
            start = time.perf_counter()
            output = pose.process(rgb)
            ms = 1000.0 * (time.perf_counter() - start)
            landmarks = None
            if output.pose_landmarks is not None:
                landmarks = [
                    [lm.x, lm.y, lm.z, lm.visibility] for lm in output.pose_landmarks.landmark
                ]
            results.append(
                {
                    "path": path,
                    "width": int(rgb.shape[1]),
                    "height": int(rgb.shape[0]),
                    "ms": ms,
                    "landmarks": landmarks,
                }
            )
    times = [r["ms"] for r in results]
    return {
        "mediapipe_version": mp.__version__,
        "model_complexity": model_complexity,
        "model": MODEL_NAMES[model_complexity],
        "static_image_mode": True,
        "min_detection_confidence": min_detection_confidence,
        "min_tracking_confidence": min_tracking_confidence,
        "warmup": warmup,
        "median_ms": statistics.median(times) if times else None,
        "images": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--input", required=True, help='JSON file {"paths": [...]}.')
    parser.add_argument("--output", required=True, help="Where to write the results JSON.")
    parser.add_argument("--model_complexity", type=int, choices=(0, 1, 2), default=1)
    parser.add_argument("--min_detection_confidence", type=float, default=0.5)
    parser.add_argument("--min_tracking_confidence", type=float, default=0.5)
    parser.add_argument("--warmup", type=int, default=3, help="Untimed calls on the first image.")
    args = parser.parse_args(argv)
    with open(args.input) as f:
        paths = json.load(f)["paths"]
    result = run(
        paths,
        args.model_complexity,
        args.min_detection_confidence,
        args.min_tracking_confidence,
        args.warmup,
    )
    with open(args.output, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
