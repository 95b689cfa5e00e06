#!/usr/bin/env python3
r"""A small client for exported tfpose models; it needs neither tfpose nor TensorFlow.

REST (standard library only) against TF Serving::

    python export/client.py --server=http://localhost:8501 --model_name=tfpose \
        photo.jpg other.png --box=100,50,400,600 --box=-1,-1,-1,-1

gRPC (optional extra: ``pip install tensorflow-serving-api grpcio``)::

    python export/client.py --grpc=localhost:8500 --model_name=tfpose photo.jpg

Each prints, per image, the keypoints (x, y) in original image pixels with confidence and
visibility (both in [0, 1], the scores of tfpose's ``Predictor``). Boxes are regions
(x1, y1, x2, y2) in image pixels; the network sees the square around the box's longer side;
``-1,-1,-1,-1`` or no ``--box`` at all means the whole image.

For the heatmaps-only artifacts (``model_heatmaps_gpu.tflite``, or the ``heatmaps`` output of
any TFLite/ONNX artifact) this file also holds the post-processing in NumPy:
:func:`crop_affine_for_box` (region → image-to-crop matrix, the crop itself is one
``cv2.warpAffine``), :func:`decode_heatmaps` (maps → crop pixels and peaks),
:func:`confidence_from_peak` (peak → the [0, 1] ``confidence``) and :func:`crop_to_image`
(crop pixels → image pixels). They mirror ``tfpose.export.preprocess`` and
``tfpose.data.targets.decode_heatmaps`` exactly (tested in ``tests/export``).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.request

SCALE_UNIT_PX = 200.0


# ------------------------------------------------------------------------------------------
# Post-processing for heatmaps-only artifacts (NumPy).


def decode_heatmaps(heatmaps, stride: int):
    """Argmax with quarter-pixel refinement toward the higher neighbour.

    Args:
      heatmaps: float [..., H, W, K].
      stride: crop pixels per heatmap pixel (``heatmap_stride`` in tfpose_export.json).

    Returns:
      keypoints float32 [..., K, 2] in crop pixels, peak float32 [..., K] (the maps' maximum;
      :func:`confidence_from_peak` turns it into the [0, 1] ``confidence``).
    """
    import numpy as np

    maps = np.asarray(heatmaps, np.float32)
    *lead, height, width, channels = maps.shape
    flat = np.moveaxis(maps.reshape(-1, height, width, channels), -1, 1).reshape(
        -1, channels, height * width
    )
    index = flat.argmax(axis=-1)
    peak = np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]
    y, x = index // width, index % width

    def value_at(i):
        i = np.clip(i, 0, height * width - 1)
        return np.take_along_axis(flat, i[..., None], axis=-1)[..., 0]

    step_x = np.sign(value_at(index + 1) - value_at(index - 1))
    step_y = np.sign(value_at(index + width) - value_at(index - width))
    step_x = np.where((x > 0) & (x < width - 1), step_x, 0.0)
    step_y = np.where((y > 0) & (y < height - 1), step_y, 0.0)
    points = np.stack([x + 0.25 * step_x, y + 0.25 * step_y], axis=-1)
    points = stride * (points + 0.5) - 0.5
    return (
        points.reshape(*lead, channels, 2).astype(np.float32),
        peak.reshape(*lead, channels).astype(np.float32),
    )


def confidence_from_peak(peak, spec: dict):
    """Map peaks [...] → the [0, 1] ``confidence`` of the other outputs (``visibility_kind`` and
    ``amplitude`` of the parsed ``tfpose_export.json``): ``clip(peak / amplitude, 0, 1)``, or
    ``sigmoid(peak)`` for logit maps."""
    import numpy as np

    peak = np.asarray(peak, np.float32)
    if spec["visibility_kind"] == "sigmoid":
        return (1.0 / (1.0 + np.exp(-peak))).astype(np.float32)
    return np.clip(peak / float(spec["amplitude"]), 0.0, 1.0).astype(np.float32)


def crop_affine_for_box(box, image_height: int, image_width: int, spec: dict):
    """The image → crop matrix [2, 3] of a region (``-1`` row or None = whole image).

    Args:
      box: (x1, y1, x2, y2) image pixels, or None.
      image_height, image_width: size of the decoded image.
      spec: the parsed ``tfpose_export.json`` (uses input_size, box_scale).
    """
    import numpy as np

    if box is None or all(v == -1 for v in box):
        box = (-0.5, -0.5, image_width - 0.5, image_height - 0.5)
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1)
    size = int(spec["input_size"])
    zoom = size / side  # = S / (box_scale · 200 · scale) with scale = side / 200 / box_scale
    half = (size - 1) / 2.0
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return np.array([[zoom, 0.0, half - zoom * cx], [0.0, zoom, half - zoom * cy]], np.float32)


def crop_image(image_rgb, affine, spec: dict):
    """Warps an RGB uint8 image [H, W, 3] into the normalised crop [S, S, 3] (needs OpenCV)."""
    import cv2
    import numpy as np

    size = int(spec["input_size"])
    fill = float(spec["fill"])
    warped = cv2.warpAffine(
        np.asarray(image_rgb, np.float32),
        np.asarray(affine, np.float64),
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(fill,) * 3,
    )
    if spec["normalization"] == "unit":
        return warped / 255.0
    return (warped - 128.0) / 256.0


def crop_to_image(keypoints, affine):
    """Crop-pixel keypoints [..., K, 2] → image pixels through the inverse of ``affine``
    [..., 2, 3] (image → crop)."""
    import numpy as np

    affine = np.asarray(affine, np.float64)
    linear, shift = affine[..., :2], affine[..., 2]
    points = np.asarray(keypoints, np.float64) - shift[..., None, :]
    inverse = np.linalg.inv(linear)
    return np.einsum("...ij,...kj->...ki", inverse, points).astype(np.float32)


# ------------------------------------------------------------------------------------------
# TF Serving clients.


def rest_request(images: list[bytes], boxes: list | None = None) -> dict:
    """The JSON body of a REST predict request (columnar ``inputs`` format).

    With boxes the request goes to ``serving_default``; without, to ``whole_image``.
    """
    body = {"inputs": {"images": [{"b64": base64.b64encode(b).decode("ascii")} for b in images]}}
    if boxes is None:
        body["signature_name"] = "whole_image"
    else:
        body["signature_name"] = "serving_default"
        body["inputs"]["boxes"] = [[float(v) for v in box] for box in boxes]
    return body


def predict_rest(
    server: str,
    model_name: str,
    images: list[bytes],
    boxes: list | None = None,
    version: int | None = None,
    timeout: float = 30.0,
) -> dict:
    """POSTs to ``{server}/v1/models/{model_name}[/versions/N]:predict``; returns ``outputs``.

    Raises:
      RuntimeError: with TF Serving's error message (e.g. an InvalidArgument for bad images).
    """
    path = f"/v1/models/{model_name}" + (f"/versions/{version}" if version else "") + ":predict"
    request = urllib.request.Request(
        server.rstrip("/") + path,
        data=json.dumps(rest_request(images, boxes)).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["outputs"]
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"TF Serving answered {error.code}: {error.read().decode()}") from None


def predict_grpc(
    target: str,
    model_name: str,
    images: list[bytes],
    boxes: list | None = None,
    timeout: float = 30.0,
) -> dict:
    """The same over gRPC (needs ``tensorflow-serving-api`` and ``grpcio``)."""
    try:
        import grpc
        import numpy as np
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    except ImportError as error:
        raise ImportError(
            "gRPC needs: pip install tensorflow-serving-api grpcio (REST needs nothing)"
        ) from error
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = "whole_image" if boxes is None else "serving_default"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images, dtype=tf.string))
    if boxes is not None:
        request.inputs["boxes"].CopyFrom(
            tf.make_tensor_proto(np.asarray(boxes, np.float32), dtype=tf.float32)
        )
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(target))
    response = stub.Predict(request, timeout)
    return {name: tf.make_ndarray(proto).tolist() for name, proto in response.outputs.items()}


def _parse_box(text: str) -> list[float]:
    values = [float(v) for v in text.split(",")]
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"--box must be x1,y1,x2,y2, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="+", help="JPEG/PNG files")
    parser.add_argument("--server", help="REST endpoint, e.g. http://localhost:8501")
    parser.add_argument("--grpc", help="gRPC endpoint, e.g. localhost:8500")
    parser.add_argument("--model_name", default="tfpose")
    parser.add_argument("--version", type=int, default=None)
    parser.add_argument(
        "--box",
        type=_parse_box,
        action="append",
        help="region per image, x1,y1,x2,y2 (repeat once per image)",
    )
    args = parser.parse_args(argv)
    if bool(args.server) == bool(args.grpc):
        parser.error("give exactly one of --server (REST) or --grpc")
    if args.box is not None and len(args.box) != len(args.images):
        parser.error(f"{len(args.box)} --box for {len(args.images)} images: give one per image")
    images = []
    for path in args.images:
        with open(path, "rb") as f:
            images.append(f.read())
    if args.server:
        outputs = predict_rest(args.server, args.model_name, images, args.box, args.version)
    else:
        outputs = predict_grpc(args.grpc, args.model_name, images, args.box)
    for i, path in enumerate(args.images):
        print(
            json.dumps(
                {
                    "image": path,
                    "keypoints": outputs["keypoints"][i],
                    "confidence": outputs["confidence"][i],
                    "visibility": outputs["visibility"][i],
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
