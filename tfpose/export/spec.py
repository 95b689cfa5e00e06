"""What a client must know to pre- and post-process for an exported model (``tfpose_export.json``).

Everything comes from the trained model and the ``flags.json`` written next to it, so an export
needs only the model path.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import keras

from tfpose import run_config
from tfpose.data import targets, transforms
from tfpose.models.families import loss_spec

SPEC_FILE = "tfpose_export.json"
SPEC_VERSION = 1

# How a heatmap peak becomes the [0, 1] visibility score.
VISIBILITY_KINDS = ("peak_over_amplitude", "sigmoid")


@dataclasses.dataclass
class ExportSpec:
    """The serving contract of one exported model (written as ``tfpose_export.json``).

    Attributes:
      skeleton: skeleton name (``mpii``, ``lsp``, ``coco``).
      num_keypoints: K.
      joint_names: the K channel names, in order.
      flip_permutation: channel of each joint's mirror partner (flip test).
      input_size: crop side S.
      heatmap_stride: crop pixels per heatmap pixel of the prediction output.
      heatmap_size: H = W = S / stride.
      crop_convention: a name in ``transforms.CROP_CONVENTIONS``.
      box_scale: region side in units of ``200 · scale`` (see :mod:`tfpose.export.preprocess`).
      margin: the convention's training margin (evaluation crops are ``S / (S + margin)`` of the
        box; informational).
      fill: 0–255 value of crop pixels outside the image.
      normalization: ``unit`` (x / 255) or ``belagiannis`` ((x − 128) / 256).
      prediction_output: name of the Keras output that is decoded.
      visibility_kind: ``peak_over_amplitude`` (visibility = clip(peak / amplitude, 0, 1)) or
        ``sigmoid`` (the maps are logits: visibility = sigmoid(peak)).
      amplitude: the target peak the model was trained to output on a visible joint.
      flip_test: whether the model's answer averages the maps of each crop and its mirror:
        applied inside the SavedModel's ``serving_default``/``whole_image``, and by
        :class:`tfpose.inference.Predictor` (``python -m tfpose.predict``) around every
        artifact, so all formats give one answer. The crop-level TFLite/ONNX files and the
        ``heatmaps`` signature never flip inside; a client of those runs the mirror itself.
      artifacts: format → path relative to the export folder.
      signatures: SavedModel signature name → {"inputs": ..., "outputs": ...} (dtype, shape).
      tflite_outputs: TFLite/ONNX artifact → its output names.
    """

    skeleton: str
    num_keypoints: int
    joint_names: list[str]
    flip_permutation: list[int]
    input_size: int
    heatmap_stride: int
    heatmap_size: int
    crop_convention: str
    box_scale: float
    margin: int
    fill: float
    normalization: str
    prediction_output: str
    visibility_kind: str
    amplitude: float
    flip_test: bool = False
    artifacts: dict[str, str] = dataclasses.field(default_factory=dict)
    signatures: dict[str, Any] = dataclasses.field(default_factory=dict)
    tflite_outputs: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def write(self, export_dir: str) -> str:
        """Writes ``export_dir/tfpose_export.json``; returns its path."""
        path = os.path.join(export_dir, SPEC_FILE)
        with open(path, "w") as f:
            json.dump({"spec_version": SPEC_VERSION, **dataclasses.asdict(self)}, f, indent=2)
        return path

    @classmethod
    def load(cls, path: str) -> ExportSpec:
        """Reads ``tfpose_export.json`` (or the export folder holding it)."""
        if os.path.isdir(path):
            path = os.path.join(path, SPEC_FILE)
        with open(path) as f:
            values = json.load(f)
        values.pop("spec_version", None)
        return cls(**values)


def _prediction_target(config: run_config.RunConfig, pipe, model: keras.Model):
    """The loss term and target head that trained the prediction output."""
    spec = loss_spec(config, model)
    term = spec.get(model.prediction_output)
    if term is None:
        return None, None
    heads = {t.name: t for t in pipe.targets}
    return term, heads.get(term.head)


def prediction_scoring(config: run_config.RunConfig, pipe, model: keras.Model) -> tuple[str, float]:
    """How the peaks of the prediction output become [0, 1] scores, from the loss term and the
    target head that trained it: ``(visibility_kind, amplitude)`` (see :class:`ExportSpec`).

    ``pipe``: the run's pipeline (:func:`tfpose.run_config.saved_pipeline` for a saved model).
    """
    term, head = _prediction_target(config, pipe, model)
    if term is not None and term.kind == "sigmoid_xent":
        return "sigmoid", 1.0
    amplitude = float(getattr(head, "amplitude", 1.0)) if head is not None else 1.0
    if isinstance(head, targets.DiscTarget):
        amplitude = 1.0
    return "peak_over_amplitude", amplitude


def recorded_flip_test(model_path: str) -> tuple[bool, str]:
    """The flip-test setting recorded with a trained ``.keras`` model, and where it comes from.

    * a model shipped in :mod:`tfpose.zoo`: its manifest's ``flip_test`` (the setting its
      published score was measured with);
    * else ``val_flip_test`` of the ``flags.json`` beside it: the validation that chose
      ``best.keras`` ran with (or without) the flip test, so the model is scored as it was
      selected (``python -m tfpose.train --val_flip_test``);
    * off when ``flags.json`` has no ``val_flip_test`` (runs older than that flag).

    Returns:
      ``(flip_test, source)``, source a short phrase for messages, e.g.
      ``"flags.json val_flip_test"``.

    Raises:
      FileNotFoundError: naming the missing flags.json (not for a shipped model).
    """
    from tfpose import zoo

    real = os.path.realpath(model_path)
    for entry in zoo.entries().values():
        if os.path.realpath(entry.path) == real:
            return bool(entry.flip_test), f"tfpose.zoo manifest ({entry.name})"
    _, saved = run_config.load_saved_run(model_path)
    if "val_flip_test" in saved:
        return bool(saved["val_flip_test"]), "flags.json val_flip_test"
    return False, "off: flags.json records no val_flip_test"


def spec_from_model(
    model_path: str, model: keras.Model, flip_test: bool | None = None
) -> ExportSpec:
    """The :class:`ExportSpec` of a trained model (reads ``flags.json`` next to ``model_path``).

    ``flip_test``: None = the model's recorded setting (:func:`recorded_flip_test`).

    Raises:
      FileNotFoundError: naming the missing flags.json.
      ValueError: when the model and its flags disagree (input size, stride).
    """
    pipe, skeleton, saved = run_config.saved_pipeline(model_path)
    config, _ = run_config.load_saved_run(model_path)
    if model.input_size != pipe.input_size:
        raise ValueError(
            f"{model_path}: model input size {model.input_size} != flags.json input_size "
            f"{pipe.input_size}"
        )
    if model.output_stride != pipe.heatmap_stride:
        raise ValueError(
            f"{model_path}: model output stride {model.output_stride} != flags.json "
            f"heatmap_stride {pipe.heatmap_stride}"
        )
    kind, amplitude = prediction_scoring(config, pipe, model)
    crop = transforms.CROP_CONVENTIONS[pipe.crop_convention]
    if flip_test is None:
        flip_test, _ = recorded_flip_test(model_path)
    return ExportSpec(
        skeleton=skeleton.name,
        num_keypoints=skeleton.num_keypoints,
        joint_names=list(skeleton.joint_names),
        flip_permutation=[int(i) for i in skeleton.flip_permutation],
        input_size=pipe.input_size,
        heatmap_stride=pipe.heatmap_stride,
        heatmap_size=pipe.input_size // pipe.heatmap_stride,
        crop_convention=pipe.crop_convention,
        box_scale=crop.box_scale,
        margin=crop.margin,
        fill=crop.fill,
        normalization=pipe.normalization,
        prediction_output=model.prediction_output,
        visibility_kind=kind,
        amplitude=amplitude,
        flip_test=flip_test,
    )
