"""tfpose worker for ``benchmarks/peers.py``: one artifact, one thread count, one process.

TensorFlow's thread pools are set once per process, so each (artifact, threads) row of the
peer benchmark runs here in a process of its own, as each MediaPipe model does in
``peers_mediapipe_worker.py``; both time the same thing: the call a user makes on a decoded
RGB photo (here ``Predictor.predict(photo)``: crop, network, decoding; with ``--refine=1`` the
second pass on the joints the first found), after ``--warmup`` untimed calls on the first image.

Input: a JSON file ``{"paths": [...]}``. Output: a JSON file with, per image in input order,
``{"path", "ms", "keypoints"}`` (14 LSP joints, 0-based image pixels).

    python benchmarks/peers_tfpose_worker.py --model=export/lspet/1 --threads=1 \
        --input=paths.json --output=out.json --refine=1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help=".keras, SavedModel dir, .tflite or name")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--refine", type=int, default=1)
    parser.add_argument("--flip_test", action="store_true")
    parser.add_argument("--warmup", type=int, default=3)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import cv2
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    from tfpose.inference import Predictor
    from tfpose.inference.backends import TFLiteBackend, load_backend

    if args.model.endswith(".tflite"):
        backend = TFLiteBackend(args.model, num_threads=args.threads)
    else:
        backend = load_backend(args.model)
    predictor = Predictor(backend, batch_size=1, flip_test=args.flip_test, refine=args.refine)
    paths = json.loads(open(args.input).read())["paths"]

    def read(path):
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"{path}: cannot be read as an image")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    if paths:
        first = read(paths[0])
        for _ in range(args.warmup):
            predictor.predict(first)
    images = []
    for path in paths:
        rgb = read(path)
        start = time.perf_counter()
        result = predictor.predict(rgb)
        ms = (time.perf_counter() - start) * 1000.0
        images.append({"path": path, "ms": ms, "keypoints": result.keypoints[0].tolist()})
    output = {
        "model": args.model,
        "format": backend.spec.format,
        "threads": args.threads,
        "refine": args.refine,
        "flip_test": args.flip_test,
        "median_ms": statistics.median(i["ms"] for i in images) if images else None,
        "images": images,
    }
    with open(args.output, "w") as f:
        json.dump(output, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
