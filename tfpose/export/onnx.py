"""ONNX artifact via tf2onnx (optional extra: ``pip install tfpose[onnx]``).

``model.onnx``: input ``image`` float32 [B, S, S, 3] (preprocessed crop, NHWC as in Keras) →
outputs ``heatmaps`` float32 [B, H, W, K], ``keypoints`` float32 [B, K, 2] (crop pixels),
``confidence`` float32 [B, K] ([0, 1]) and ``peak`` float32 [B, K] (raw map peak), the same as
``model_fp32.tflite``. Run it with onnxruntime, or with
:class:`tfpose.inference.backends.OnnxBackend` (``Predictor.from_path("…/model.onnx")``), which
applies the flip test recorded in ``tfpose_export.json``.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfpose.export import tflite
from tfpose.model_spec import ModelSpec

FILE_NAME = "model.onnx"
# Opset 17 runs on onnxruntime >= 1.13 and every current mobile/edge runtime we know of.
OPSET = 17
INSTALL_HINT = "pip install 'tf2onnx>=1.16' 'onnxruntime>=1.18'  (or: pip install tfpose[onnx])"


def require_tf2onnx():
    """Imports tf2onnx or raises ``ImportError`` saying how to install it."""
    try:
        import tf2onnx
    except ImportError as error:
        raise ImportError(f"--formats=onnx needs tf2onnx: {INSTALL_HINT}") from error
    return tf2onnx


def convert(model: keras.Model, spec: ModelSpec, path: str) -> str:
    """Writes ``model.onnx`` (crop → heatmaps + decoded crop keypoints) to ``path``."""
    tf2onnx = require_tf2onnx()
    size = spec.input_size
    signature = [tf.TensorSpec([None, size, size, 3], tf.float32, name="image")]
    function = tf.function(tflite.crop_functions(model, spec)["crops"], input_signature=signature)
    tf2onnx.convert.from_function(
        function, input_signature=signature, opset=OPSET, output_path=path
    )
    return path
