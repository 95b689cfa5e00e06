"""Model backends for inference: a ``.keras`` file, a SavedModel directory, a ``.tflite`` or a
``.onnx`` file.

Every backend maps preprocessed crops float32 [B, S, S, 3] to named heatmaps [B, H, W, K] (raw
maps: no backend flips inside) and carries the model's :class:`tfpose.model_spec.ModelSpec`,
everything needed to crop for it and decode its maps. The :class:`tfpose.inference.Predictor`
does the cropping, flip test and decoding, so the four formats are used identically and give
one answer.

Where the spec comes from (the two readers of :class:`~tfpose.model_spec.ModelSpec`):

* ``.keras``: :meth:`ModelSpec.from_model <tfpose.model_spec.ModelSpec.from_model>`, from the
  run record inside the model (``tfpose_run.json``, written by ``python -m tfpose.train``; the
  ``flags.json`` beside an older model). All recurrent passes are available (the heatmap grid of
  ``python -m tfpose.predict --heatmaps``).
* SavedModel / ``.tflite`` / ``.onnx``: :meth:`ModelSpec.load <tfpose.model_spec.ModelSpec.load>`,
  from the ``tfpose_export.json`` written by ``python -m tfpose.export`` next to the artifact
  (the export folder ``export/NAME/``; for a SavedModel the folder above its version folder).
  Only the prediction maps are available: the SavedModel's ``heatmaps`` signature, the TFLite or
  ONNX model's ``heatmaps`` output.

The flip test (``ModelSpec.flip_test``, the default of the Predictor) is recorded with the
model: ``flip_test`` of ``tfpose_export.json`` for the exports (what the SavedModel's
``serving_default`` applies inside), and for a ``.keras`` file ``val_flip_test`` of its run
record (``tfpose_run.json`` inside the model, or ``flags.json`` beside an older one) — the
setting its validation ran with, the one that chose ``best.keras`` — or the :mod:`tfpose.zoo`
manifest's ``flip_test`` for a shipped model (:func:`tfpose.model_spec.recorded_flip_test`).
Exporting without ``--flip_test`` / ``--noflip_test`` keeps the ``.keras`` setting, so a model
and its exports answer alike.

Shape legend: B batch, S crop side, H × W heatmap, K keypoints.
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

from tfpose.model_spec import SPEC_FILE, ModelSpec
from tfpose.skeletons import Skeleton


class Backend(Protocol):
    spec: ModelSpec

    def __call__(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        """float32 [B, S, S, 3] → {output name: float32 [B, H, W, K]} (at least the prediction)."""
        ...


class KerasBackend:
    """A ``.keras`` model written by ``python -m tfpose.train`` (its run record inside it, or
    the flags.json beside an older one), or (:meth:`from_model`) a model in memory with its
    run's settings.

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
        from tfpose.models import as_float32

        # Shipped models store float16 weights (tfpose.zoo); every model runs in float32.
        model = as_float32(keras.models.load_model(path))
        # The export's reading of the run record (scoring, recorded flip test), so a .keras
        # model and its exports score peaks alike.
        spec = ModelSpec.from_model(path, model)
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
        :class:`tfpose.run_config.RunConfig`, as :meth:`__init__` reads it from the run record.

        Args:
          model: the Keras model, as it is (its dtype policy is kept; outputs are float32).
          config: the run's settings.
          skeleton: the skeleton the model predicts.
          flip_test: the spec's flip-test setting.
          source: what to call the model in messages and results.
          jit_compile: compile the forward pass with XLA.
        """
        spec = ModelSpec.from_model(
            source, model, flip_test=bool(flip_test), config=config, skeleton=skeleton
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
        self.spec = ModelSpec.load(model_dir, source=path, fmt="saved_model")
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

        self.spec = ModelSpec.load(path, fmt="tflite")
        self._runner = TFLiteRunner(path, num_threads=num_threads)
        inputs = self._runner.inputs
        if len(inputs) != 1:
            raise ValueError(f"{path}: expected one input (the crop), the model has {len(inputs)}")
        ((self._input_name, details),) = inputs.items()
        expected = self.spec.input_size
        if list(details["shape"][1:]) != [expected, expected, 3]:
            raise ValueError(
                f"{path}: input shape {list(details['shape'])} does not match input_size "
                f"{expected} of {SPEC_FILE}"
            )
        self._output_name = self._heatmap_output(path)
        self._dynamic_batch = int(details.get("shape_signature", details["shape"])[0]) < 0
        self._batch = int(details["shape"][0])

    def _heatmap_output(self, path: str) -> str:
        num_keypoints = self.spec.num_keypoints
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

        self.spec = ModelSpec.load(path, fmt="onnx")
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
                f"of {SPEC_FILE}"
            )
        self._output_name = self._heatmap_output(path)

    def _heatmap_output(self, path: str) -> str:
        num_keypoints = self.spec.num_keypoints
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
