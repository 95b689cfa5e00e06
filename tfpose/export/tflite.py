"""TFLite artifacts: fp32, fp16 weights, full-integer int8, and a GPU-delegate heatmaps model.

==========================  ==============================  ================================
artifact                    input                           outputs
==========================  ==============================  ================================
``model_fp32.tflite``       ``image`` float32 [B, S, S, 3]  ``heatmaps`` float32 [B, H, W, K],
``model_fp16.tflite``       (preprocessed crop; B = 1 by    ``keypoints`` float32 [B, K, 2]
``model_int8.tflite``       default, resizable)             (crop pixels), ``confidence``
                                                            float32 [B, K] ([0, 1], as the
                                                            Predictor's), ``peak`` float32
                                                            [B, K] (raw map peak)
``model_heatmaps_gpu``      ``image`` float32 [1, S, S, 3]  ``heatmaps`` float32 [1, H, W, K]
``.tflite``
==========================  ==============================  ================================

* fp16: weights stored as float16 (half the size), computed in float32 on CPU and in float16
  by the GPU delegate.
* int8: every network op (convolutions with per-channel weight scales, pooling, concatenation,
  additions) runs in int8, calibrated on real crops from ``--representative_records`` through
  the evaluation preprocessing. Input and output stay float32 (quantise/dequantise ops at the
  edges) so callers feed the same crops to every variant. The decoding tail (argmax with
  quarter-pixel refinement) is kept in float: quantising it would round crop coordinates to
  the int8 grid of their calibrated range (about half a pixel at S = 128).
* No flip test inside (the artifacts are crop-level): ``flip_test`` in ``tfpose_export.json``
  says whether the model's answer averages each crop with its mirror, which
  :class:`tfpose.inference.Predictor` does around these files.
* GPU: heatmaps only, a fixed [1, S, S, 3] input and only ops the GPU delegate accepts
  (checked with ``tf.lite.experimental.Analyzer(gpu_compatibility=True)`` at export); decode
  with ``decode_heatmaps`` in ``export/client.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Callable, Iterable

import keras
import numpy as np
import tensorflow as tf

from tfpose import console
from tfpose.data import targets
from tfpose.export.decode import visibility_score
from tfpose.model_spec import ModelSpec

TFLITE_FORMATS = ("tflite_fp32", "tflite_fp16", "tflite_int8", "tflite_gpu")
FILE_NAMES = {
    "tflite_fp32": "model_fp32.tflite",
    "tflite_fp16": "model_fp16.tflite",
    "tflite_int8": "model_int8.tflite",
    "tflite_gpu": "model_heatmaps_gpu.tflite",
}
CROP_OUTPUTS = ("heatmaps", "keypoints", "confidence", "peak")
GPU_OUTPUTS = ("heatmaps",)
# Signature names inside the intermediate SavedModel and the .tflite files.
CROP_SIGNATURE = "serving_default"
_DECODE_SCOPE = "decode"
_GPU_OK = "looks compatible with GPU delegate"


def crop_functions(model: keras.Model, spec: ModelSpec) -> dict[str, Callable]:
    """``crops`` (maps + decoded crop keypoints) and ``heatmaps`` (maps only) on crops."""
    output = spec.prediction_output

    def raw(image):
        return tf.cast(model(image, training=False)[output], tf.float32)

    def crops(image):
        maps = raw(image)
        with tf.name_scope(_DECODE_SCOPE):
            keypoints, peak = targets.decode_heatmaps(maps, spec.heatmap_stride)
            confidence = visibility_score(peak, spec.visibility_kind, spec.amplitude)
        return {"heatmaps": maps, "keypoints": keypoints, "confidence": confidence, "peak": peak}

    def heatmaps(image):
        return {"heatmaps": raw(image)}

    return {"crops": crops, "heatmaps": heatmaps}


def write_conversion_model(model: keras.Model, spec: ModelSpec, path: str) -> str:
    """A SavedModel with the crop-level functions as signatures, the converters' input.

    Signatures: ``serving_default`` (= crops, dynamic batch) and ``heatmaps_gpu`` (fixed
    batch 1). Converting from a SavedModel freezes the variables into constants.
    """
    functions = crop_functions(model, spec)
    size = spec.input_size
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        CROP_SIGNATURE,
        functions["crops"],
        [tf.TensorSpec([None, size, size, 3], tf.float32, name="image")],
    )
    archive.add_endpoint(
        "heatmaps_gpu",
        functions["heatmaps"],
        [tf.TensorSpec([1, size, size, 3], tf.float32, name="image")],
    )
    archive.write_out(path, verbose=False)
    return path


def _converter(saved_model_dir: str, signature: str) -> tf.lite.TFLiteConverter:
    return tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[signature])


def _tensor_names(model_content: bytes) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter

    return [d["name"] for d in Interpreter(model_content=model_content).get_tensor_details()]


def _float_tail_nodes(fp32_content: bytes) -> list[str]:
    """Tensors of the decoding tail and of the decoded outputs (kept float in int8)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=fp32_content)
    runner = interpreter.get_signature_runner(CROP_SIGNATURE)
    details = runner.get_output_details()
    by_index = {d["index"]: d["name"] for d in interpreter.get_tensor_details()}
    outputs = [by_index[details[name]["index"]] for name in ("keypoints", "confidence", "peak")]
    decode = [n for n in _tensor_names(fp32_content) if n.startswith(f"{_DECODE_SCOPE}/")]
    return decode + outputs


def representative_dataset(crops: Iterable[np.ndarray]) -> Callable:
    """The converter's calibration generator over preprocessed crops [S, S, 3]."""

    def generate():
        for crop in crops:
            yield {"image": np.asarray(crop, np.float32)[None]}

    return generate


def convert(
    saved_model_dir: str,
    fmt: str,
    calibration_crops: np.ndarray | None = None,
    float_nodes: Iterable[str] = (),
) -> bytes:
    """Converts the conversion SavedModel to one TFLite format (:func:`_convert`), without the
    converter's C++ console lines in a quiet command line."""
    with console.native_output_filtered():
        return _convert(saved_model_dir, fmt, calibration_crops, float_nodes)


def _convert(
    saved_model_dir: str,
    fmt: str,
    calibration_crops: np.ndarray | None = None,
    float_nodes: Iterable[str] = (),
) -> bytes:
    """Converts the conversion SavedModel to one TFLite format.

    Args:
      saved_model_dir: :func:`write_conversion_model` output.
      fmt: one of :data:`TFLITE_FORMATS`.
      calibration_crops: float32 [N, S, S, 3] preprocessed crops (int8 only; required there).
      float_nodes: extra TFLite tensor names to keep in float in int8 (e.g. the last layer),
        on top of the decoding tail.

    Raises:
      ValueError: int8 without calibration crops, or a GPU model the analyzer rejects.
    """
    if fmt == "tflite_gpu":
        content = _converter(saved_model_dir, "heatmaps_gpu").convert()
        check_gpu_compatible(content)
        return content
    converter = _converter(saved_model_dir, CROP_SIGNATURE)
    if fmt == "tflite_fp32":
        return converter.convert()
    if fmt == "tflite_fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    if fmt != "tflite_int8":
        raise ValueError(f"unknown TFLite format {fmt!r}; choose one of {TFLITE_FORMATS}")
    if calibration_crops is None or len(calibration_crops) == 0:
        raise ValueError("tflite_int8 needs calibration crops (--representative_records)")
    fp32 = _converter(saved_model_dir, CROP_SIGNATURE).convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset(calibration_crops)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_nodes=_float_tail_nodes(fp32) + list(float_nodes)
    )
    with warnings.catch_warnings():
        # The debugger runs TensorFlow's own deprecated tf.lite.Interpreter internally; its
        # deprecation warning is about TensorFlow's code, not ours (we run ai_edge_litert).
        warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated")
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=representative_dataset(calibration_crops[:1]),
            debug_options=options,
        )
        return debugger.get_nondebug_quantized_model()


def analyze(content: bytes, gpu_compatibility: bool = False) -> str:
    """The text of ``tf.lite.experimental.Analyzer`` for a model."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tf.lite.experimental.Analyzer.analyze(
            model_content=content, gpu_compatibility=gpu_compatibility
        )
    return buffer.getvalue()


def check_gpu_compatible(content: bytes) -> None:
    """Raises ``ValueError`` with the analyzer's warnings when the GPU delegate would reject an
    op of ``content``."""
    report = analyze(content, gpu_compatibility=True)
    if _GPU_OK not in report:
        warnings = [line for line in report.splitlines() if "GPU" in line]
        raise ValueError(
            "the heatmaps model has ops the TFLite GPU delegate rejects:\n" + "\n".join(warnings)
        )


def op_types(content: bytes) -> set[str]:
    """Builtin op names of a TFLite model (e.g. ``{"CONV_2D", "MAX_POOL_2D", ...}``)."""
    ops = set()
    for line in analyze(content).splitlines():
        line = line.strip()
        if line.startswith("Op#"):
            ops.add(line.split(" ", 1)[1].split("(", 1)[0])
    return ops


def quantized_tensor_types(content: bytes) -> dict[str, str]:
    """TFLite tensor name → dtype name (``int8``, ``float32`` ...), to audit quantisation."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    return {d["name"]: np.dtype(d["dtype"]).name for d in interpreter.get_tensor_details()}


def write(content: bytes, export_dir: str, fmt: str) -> str:
    """Writes ``content`` as the artifact file of ``fmt``; returns the relative path."""
    name = FILE_NAMES[fmt]
    with open(os.path.join(export_dir, name), "wb") as f:
        f.write(content)
    return name
