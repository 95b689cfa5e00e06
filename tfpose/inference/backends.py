"""Model backends for inference: a ``.keras`` file, a SavedModel directory, a ``.tflite`` or a
``.onnx`` file.

Every backend maps preprocessed crops float32 [B, S, S, 3] to named heatmaps [B, H, W, K] (raw
maps: no backend flips inside) and carries a :class:`ModelSpec`, everything needed to crop for
it and decode its maps. The :class:`tfpose.inference.Predictor` does the cropping, flip test
and decoding, so the four formats are used identically and give one answer.

Where the spec comes from:

* ``.keras``: ``flags.json`` next to the model (written by ``python -m tfpose.train``), read with
  :func:`tfpose.run_config.saved_pipeline`. All recurrent passes are available (the heatmap
  grid of ``python -m tfpose.predict --heatmaps``).
* SavedModel / ``.tflite`` / ``.onnx``: ``tfpose_export.json`` written by ``python -m
  tfpose.export`` next to the artifact (the export folder ``export/NAME/``; for a SavedModel the
  folder above its version folder). Only the prediction maps are available: the SavedModel's
  ``heatmaps`` signature, the TFLite or ONNX model's ``heatmaps`` output.

The flip test (``ModelSpec.flip_test``, the default of the Predictor) is recorded with the
model: ``flip_test`` of ``tfpose_export.json`` for the exports (what the SavedModel's
``serving_default`` applies inside), and for a ``.keras`` file ``val_flip_test`` of its
``flags.json`` — the setting its validation ran with, the one that chose ``best.keras`` — or the
:mod:`tfpose.zoo` manifest's ``flip_test`` for a shipped model
(:func:`tfpose.export.spec.recorded_flip_test`). Exporting without ``--flip_test`` /
``--noflip_test`` keeps the ``.keras`` setting, so a model and its exports answer alike.

Shape legend: B batch, S crop side, H × W heatmap, K keypoints.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Protocol

import numpy as np

from tfpose.data import pipeline, transforms
from tfpose.skeletons import Skeleton, get_skeleton

EXPORT_METADATA_NAME = "tfpose_export.json"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """How to feed a model and read its maps.

    Attributes:
      skeleton: keypoint layout of the maps' channels.
      input_size: crop side S.
      heatmap_stride: crop pixels per pixel of the prediction maps.
      crop_convention: a name in ``transforms.CROP_CONVENTIONS``.
      box_scale: crop side in units of ``200 · scale`` (from the convention).
      fill: value (0–255) of crop pixels outside the image.
      normalization: ``"unit"`` or ``"belagiannis"``.
      amplitude: peak value the prediction output was trained to show on a joint (1 for Bulat,
        12 for Belagiannis); scores are map peaks divided by it.
      visibility_kind: how a peak becomes a [0, 1] score, as in ``tfpose_export.json``:
        ``"peak_over_amplitude"`` (clip(peak / amplitude, 0, 1)) or ``"sigmoid"`` (the maps are
        logits, e.g. a detection-only cascade).
      prediction_output: name of the decoded output.
      pass_outputs: outputs shown by the heatmap grid, in order (the recurrent passes for a
        ``.keras`` recurrent model, else the prediction output alone).
      source: the model path.
      format: ``"keras"``, ``"saved_model"``, ``"tflite"`` or ``"onnx"``.
      flip_test: the flip-test setting recorded with the model (see the module docstring): the
        default of :class:`tfpose.inference.Predictor`.
      flip_test_source: where ``flip_test`` comes from, for messages (e.g.
        ``"flags.json val_flip_test"``, ``"tfpose_export.json"``).
    """

    skeleton: Skeleton
    input_size: int
    heatmap_stride: int
    crop_convention: str
    box_scale: float
    fill: float
    normalization: str
    amplitude: float
    visibility_kind: str
    prediction_output: str
    pass_outputs: tuple[str, ...]
    source: str
    format: str
    flip_test: bool = False
    flip_test_source: str = "off: not recorded"


class Backend(Protocol):
    spec: ModelSpec

    def __call__(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        """float32 [B, S, S, 3] → {output name: float32 [B, H, W, K]} (at least the prediction)."""
        ...


def _keypoint_amplitude(targets: tuple[Any, ...]) -> float:
    for target in targets:
        if target.name == "keypoints":
            return float(target.amplitude)
    raise ValueError(f"the pipeline has no 'keypoints' head (heads: {[t.name for t in targets]})")


def _pass_label_order(name: str) -> int:
    return int(name.rsplit("_", 1)[1])


class KerasBackend:
    """A ``.keras`` model written by ``python -m tfpose.train`` (flags.json beside it), or
    (:meth:`from_model`) a model in memory with its run's settings.

    Args:
      path: the ``.keras`` file.
      jit_compile: compile the forward pass with XLA.
      dtype_policy: run a copy of the model under this Keras dtype policy (e.g.
        ``"mixed_bfloat16"``, ``"mixed_float16"``); None keeps the saved one. Outputs stay
        float32.
    """

    def __init__(self, path: str, jit_compile: bool = False, dtype_policy: str | None = None):
        import keras

        import tfpose.models  # noqa: F401  (registers the model classes for load_model)
        from tfpose.export.spec import recorded_flip_test, spec_from_model
        from tfpose.models import as_float32
        from tfpose.run_config import saved_pipeline

        config, skeleton, saved = saved_pipeline(path)
        # Shipped models store float16 weights (tfpose.zoo); every model runs in float32.
        model = as_float32(keras.models.load_model(path))
        # The export's reading of the trained target (amplitude, logits or not) and of the
        # recorded flip test, so a .keras model and its exports score peaks alike.
        flip_test, flip_source = recorded_flip_test(path)
        export_spec = spec_from_model(path, model, flip_test=flip_test)
        spec = _keras_spec(
            model,
            config,
            skeleton,
            export_spec.visibility_kind,
            export_spec.amplitude,
            source=path,
            flip_test=flip_test,
            flip_test_source=flip_source,
        )
        if saved.get("input_size") not in (None, spec.input_size):
            raise ValueError(
                f"{path}: flags.json says input_size {saved['input_size']}, the model takes "
                f"{spec.input_size}; is flags.json from another run?"
            )
        self._setup(model, spec, jit_compile, dtype_policy)

    @classmethod
    def from_model(
        cls,
        model,
        config,
        skeleton: Skeleton,
        *,
        flip_test: bool = False,
        source: str = "the model in training",
        jit_compile: bool = False,
    ) -> KerasBackend:
        """A backend on a model in memory (training's validation runs its model through
        :func:`tfpose.evaluation.evaluate_model` with it), its spec from the run's
        :class:`tfpose.run_config.RunConfig` as :meth:`__init__` reads it from ``flags.json``.

        Args:
          model: the Keras model, as it is (its dtype policy is kept; outputs are float32).
          config: the run's settings.
          skeleton: the skeleton the model predicts.
          flip_test: the spec's flip-test setting.
          source: what to call the model in messages and results.
          jit_compile: compile the forward pass with XLA.
        """
        from tfpose.export.spec import prediction_scoring
        from tfpose.models.families import pipeline_config

        pipe = pipeline_config(config, skeleton, int(model.input_size), int(model.output_stride))
        kind, amplitude = prediction_scoring(config, pipe, model)
        spec = _keras_spec(
            model,
            pipe,
            skeleton,
            kind,
            amplitude,
            source=source,
            flip_test=flip_test,
            flip_test_source="given",
        )
        backend = cls.__new__(cls)
        backend._setup(model, spec, jit_compile, None)
        return backend

    def _setup(self, model, spec: ModelSpec, jit_compile: bool, dtype_policy: str | None) -> None:
        self.model = model
        self.spec = spec
        if dtype_policy:
            model = type(model).from_config({**model.get_config(), "dtype": dtype_policy})
            model.set_weights(self.model.get_weights())
        self._forward = _compiled_forward(
            model, self.spec.input_size, self.spec.pass_outputs, jit_compile
        )

    def __call__(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self._forward(np.asarray(crops, np.float32))
        return {name: np.asarray(outputs[name]) for name in self.spec.pass_outputs}


def _keras_spec(
    model,
    pipe: pipeline.PipelineConfig,
    skeleton: Skeleton,
    visibility_kind: str,
    amplitude: float,
    *,
    source: str,
    flip_test: bool,
    flip_test_source: str,
) -> ModelSpec:
    """The :class:`ModelSpec` of a Keras model trained with ``pipe``: all recurrent passes are
    available."""
    prediction = model.prediction_output
    passes = sorted(
        (n for n in model.output_names if n.startswith("keypoints_")), key=_pass_label_order
    )
    crop = pipe.crop
    return ModelSpec(
        skeleton=skeleton,
        input_size=int(model.input_size),
        heatmap_stride=int(model.output_stride),
        crop_convention=pipe.crop_convention,
        box_scale=crop.box_scale,
        fill=crop.fill,
        normalization=pipe.normalization,
        amplitude=amplitude,
        visibility_kind=visibility_kind,
        prediction_output=prediction,
        pass_outputs=tuple(passes) if prediction in passes else (prediction,),
        source=source,
        format="keras",
        flip_test=flip_test,
        flip_test_source=flip_test_source,
    )


def _compiled_forward(model, input_size: int, names: tuple[str, ...], jit_compile: bool = False):
    """``model(crops, training=False)`` restricted to ``names``, as one ``tf.function`` traced
    once for any batch size (XLA with ``jit_compile``, which compiles once per batch size).

    Calling a Keras model eagerly runs it layer by layer from Python: on the 2-core CPU that
    made the quickstart model 11x slower than its SavedModel at batch 1; compiled, the two are
    within about 10 % (docs/benchmarks.md, "Slow parts found").
    """
    import tensorflow as tf

    @tf.function(
        input_signature=[tf.TensorSpec([None, input_size, input_size, 3], tf.float32)],
        autograph=False,
        jit_compile=jit_compile,
    )
    def forward(crops):
        outputs = model(crops, training=False)
        return {name: tf.cast(outputs[name], tf.float32) for name in names}

    return forward


def find_export_metadata(path: str) -> str:
    """The ``tfpose_export.json`` of an artifact: in its folder or the folder above.

    Raises:
      FileNotFoundError: naming the places looked at.
    """
    path = os.path.abspath(path)
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    candidates = [os.path.join(folder, EXPORT_METADATA_NAME)]
    candidates.append(os.path.join(os.path.dirname(folder), EXPORT_METADATA_NAME))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f"{path}: no {EXPORT_METADATA_NAME} found (looked at {', '.join(candidates)}); "
        "export the model with python -m tfpose.export, which writes it"
    )


def spec_from_export_metadata(metadata_path: str, source: str, fmt: str) -> ModelSpec:
    """A :class:`ModelSpec` from an export's ``tfpose_export.json``.

    Raises:
      ValueError: naming the file and the missing or invalid key.
    """
    with open(metadata_path) as f:
        try:
            meta = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{metadata_path}: not valid JSON ({e})") from None
    required = ("skeleton", "input_size", "heatmap_stride", "crop_convention", "normalization")
    missing = [key for key in required if key not in meta]
    if missing:
        raise ValueError(f"{metadata_path}: missing keys {missing}")
    convention = meta["crop_convention"]
    if convention not in transforms.CROP_CONVENTIONS:
        raise ValueError(
            f"{metadata_path}: crop_convention {convention!r} is not one of "
            f"{sorted(transforms.CROP_CONVENTIONS)}"
        )
    crop = transforms.CROP_CONVENTIONS[convention]
    skeleton = get_skeleton(meta["skeleton"])
    if "amplitude" in meta:
        amplitude = float(meta["amplitude"])
    else:
        # The export metadata of the contract has no amplitude; the pipeline preset of the crop
        # convention fixes it (the training pipelines are exactly these presets).
        amplitude = _keypoint_amplitude(pipeline.CONFIGS[convention]().targets)
    prediction = meta.get("prediction_output", "heatmaps")
    if "flip_test" in meta:
        flip_test, flip_source = bool(meta["flip_test"]), EXPORT_METADATA_NAME
    else:
        flip_test, flip_source = False, f"off: {EXPORT_METADATA_NAME} records no flip_test"
    return ModelSpec(
        skeleton=skeleton,
        input_size=int(meta["input_size"]),
        heatmap_stride=int(meta["heatmap_stride"]),
        crop_convention=convention,
        box_scale=float(meta.get("box_scale", crop.box_scale)),
        fill=float(meta.get("fill", crop.fill)),
        normalization=meta["normalization"],
        amplitude=amplitude,
        visibility_kind=meta.get("visibility_kind", "peak_over_amplitude"),
        prediction_output=prediction,
        pass_outputs=(prediction,),
        source=source,
        format=fmt,
        flip_test=flip_test,
        flip_test_source=flip_source,
    )


def resolve_saved_model_dir(path: str) -> str:
    """``path`` itself when it holds ``saved_model.pb``, else its highest numbered version folder
    (the TF Serving layout ``export/NAME/<version>/``).

    Raises:
      FileNotFoundError: no SavedModel found.
    """
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = [
        entry
        for entry in os.listdir(path)
        if entry.isdigit() and os.path.isfile(os.path.join(path, entry, "saved_model.pb"))
    ]
    if not versions:
        raise FileNotFoundError(
            f"{path}: not a SavedModel (no saved_model.pb, and no version folder holding one)"
        )
    return os.path.join(path, max(versions, key=int))


class SavedModelBackend:
    """An exported SavedModel, called through its ``heatmaps`` signature."""

    SIGNATURE = "heatmaps"

    def __init__(self, path: str):
        import tensorflow as tf

        model_dir = resolve_saved_model_dir(path)
        self.spec = spec_from_export_metadata(find_export_metadata(model_dir), path, "saved_model")
        self._loaded = tf.saved_model.load(model_dir)
        if self.SIGNATURE not in self._loaded.signatures:
            raise ValueError(
                f"{model_dir}: the SavedModel has no {self.SIGNATURE!r} signature (it has "
                f"{sorted(self._loaded.signatures)}); re-export with python -m tfpose.export"
            )
        self._fn = self._loaded.signatures[self.SIGNATURE]
        _, inputs = self._fn.structured_input_signature
        if len(inputs) != 1:
            raise ValueError(
                f"{model_dir}: signature {self.SIGNATURE!r} must take one input, has {list(inputs)}"
            )
        self._input_name = next(iter(inputs))

    def __call__(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        import tensorflow as tf

        outputs = self._fn(**{self._input_name: tf.constant(crops, tf.float32)})
        maps = outputs["heatmaps"] if "heatmaps" in outputs else next(iter(outputs.values()))
        return {self.spec.prediction_output: np.asarray(maps, np.float32)}


class TFLiteBackend:
    """A ``.tflite`` model whose input is the preprocessed crop and one output the heatmaps, run
    through its signature (:class:`tfpose.export.tflite_runner.TFLiteRunner`, as the parity
    report runs it).

    A batch is run in one call when the model's batch dimension is dynamic, else one crop at a
    time. Integer (quantised) inputs and outputs are converted with the tensors' quantisation
    parameters, so float-I/O and int-I/O models are called alike.
    """

    def __init__(self, path: str, num_threads: int | None = None):
        from tfpose.export.tflite_runner import TFLiteRunner

        self.spec = spec_from_export_metadata(find_export_metadata(path), path, "tflite")
        self._runner = TFLiteRunner(path, num_threads=num_threads)
        inputs = self._runner.inputs
        if len(inputs) != 1:
            raise ValueError(f"{path}: expected one input (the crop), the model has {len(inputs)}")
        ((self._input_name, details),) = inputs.items()
        expected = self.spec.input_size
        if list(details["shape"][1:]) != [expected, expected, 3]:
            raise ValueError(
                f"{path}: input shape {list(details['shape'])} does not match input_size "
                f"{expected} of {EXPORT_METADATA_NAME}"
            )
        self._output_name = self._heatmap_output(path)
        self._dynamic_batch = int(details.get("shape_signature", details["shape"])[0]) < 0
        self._batch = int(details["shape"][0])

    def _heatmap_output(self, path: str) -> str:
        num_keypoints = self.spec.skeleton.num_keypoints
        maps = [
            name
            for name, d in self._runner.outputs.items()
            if len(d["shape"]) == 4 and int(d["shape"][-1]) == num_keypoints
        ]
        if not maps:
            raise ValueError(f"{path}: no output of shape [B, H, W, {num_keypoints}] (heatmaps)")
        named = [name for name in maps if "heatmap" in name]
        return (named or maps)[0]

    def _run(self, crops: np.ndarray) -> np.ndarray:
        maps = self._runner(**{self._input_name: crops})[self._output_name]
        return maps.astype(np.float32, copy=False)

    def __call__(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        crops = np.asarray(crops, np.float32)
        if self._dynamic_batch or crops.shape[0] == self._batch:
            maps = self._run(crops)
        else:
            maps = np.concatenate([self._run(crops[i : i + 1]) for i in range(crops.shape[0])])
        return {self.spec.prediction_output: maps}


class OnnxBackend:
    """A ``model.onnx`` written by ``python -m tfpose.export`` (``tfpose_export.json`` beside it),
    run with onnxruntime on the CPU; its input is the preprocessed crop and its ``heatmaps``
    output the raw maps (the decoded outputs are not used: the Predictor decodes).

    Args:
      path: the ``.onnx`` file.
      num_threads: onnxruntime intra-op threads (None = its default).
    """

    def __init__(self, path: str, num_threads: int | None = None):
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError(
                f"{path}: running an .onnx model needs onnxruntime: pip install "
                "'onnxruntime>=1.18'  (or: pip install tfpose[onnx])"
            ) from error

        self.spec = spec_from_export_metadata(find_export_metadata(path), path, "onnx")
        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        try:
            self._session = onnxruntime.InferenceSession(
                path, options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own types for a damaged file
            raise ValueError(f"model {path!r} cannot be read by onnxruntime ({error})") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"{path}: expected one input (the crop), the model has {len(inputs)}")
        self._input_name = inputs[0].name
        expected = self.spec.input_size
        if list(inputs[0].shape[1:]) != [expected, expected, 3]:
            raise ValueError(
                f"{path}: input shape {inputs[0].shape} does not match input_size {expected} "
                f"of {EXPORT_METADATA_NAME}"
            )
        self._output_name = self._heatmap_output(path)

    def _heatmap_output(self, path: str) -> str:
        num_keypoints = self.spec.skeleton.num_keypoints
        maps = [
            o.name
            for o in self._session.get_outputs()
            if len(o.shape) == 4 and o.shape[-1] == num_keypoints
        ]
        if not maps:
            raise ValueError(f"{path}: no output of shape [B, H, W, {num_keypoints}] (heatmaps)")
        named = [name for name in maps if "heatmap" in name]
        return (named or maps)[0]

    def __call__(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        crops = np.ascontiguousarray(crops, np.float32)
        (maps,) = self._session.run([self._output_name], {self._input_name: crops})
        return {self.spec.prediction_output: np.asarray(maps, np.float32)}


def load_backend(path: str) -> Backend:
    """The backend for ``path``: ``*.keras``, ``*.tflite``, ``*.onnx``, a SavedModel directory,
    or the name of a model shipped in :mod:`tfpose.zoo`.

    Raises:
      FileNotFoundError: ``path`` does not exist (or lacks its metadata).
      ValueError: ``path`` is none of the four formats.
    """
    from tfpose import zoo

    path = zoo.resolve_model(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"model {path!r} does not exist (give a .keras file, a SavedModel directory, a "
            ".tflite or .onnx file or the name of a shipped model: python -m tfpose.zoo lists "
            "them)"
        )
    try:
        if os.path.isdir(path):
            return SavedModelBackend(path)
        if path.endswith(".keras"):
            import zipfile

            if not zipfile.is_zipfile(path):  # Keras reports a damaged file as "File not found"
                raise ValueError(
                    f"model {path!r} cannot be read: not a .keras archive (damaged, empty or "
                    "still being written?)"
                )
            return KerasBackend(path)
        if path.endswith(".tflite"):
            return TFLiteBackend(path)
        if path.endswith(".onnx"):
            return OnnxBackend(path)
    except FileNotFoundError:
        raise
    except OSError as error:  # e.g. a damaged saved_model.pb, an unreadable file
        raise ValueError(f"model {path!r} cannot be read ({error})") from error
    raise ValueError(
        f"model {path!r}: expected a .keras file, a SavedModel directory, a .tflite or an "
        ".onnx file"
    )
