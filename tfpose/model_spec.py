"""The serving contract of a trained model: :class:`ModelSpec`, one record under one name.

A model spec says what a caller must know to feed a model and read its maps: the keypoint
layout (skeleton, flip pairs), the crop (input size, crop convention, normalisation), the
output stride, how a map peak becomes a [0, 1] score, and whether the model's answer uses the
flip test. It is built in one place from a trained ``.keras`` model
(:meth:`ModelSpec.from_model`, from the run record the model carries, ``tfpose_run.json``, or
the ``flags.json`` beside an older model) and read in one place from an export
(:meth:`ModelSpec.load`, ``tfpose_export.json``, which :meth:`ModelSpec.write` writes beside the
exported artifacts). ``python -m tfpose.export``, ``python -m tfpose.evaluate``, ``python -m
tfpose.predict`` and :class:`tfpose.inference.Predictor` all read this one type, so a model and
its exports are fed and decoded alike.

Why a top-level module: the contract belongs to neither package that reads it. Export writes it
and inference reads it, so putting it in either would make the other import that package's
machinery; here both depend on the contract only. It reads trained models through
:mod:`tfpose.run_config` (the run record) and imports nothing from :mod:`tfpose.training`, so
export and inference still import nothing from there.

Serialised and runtime fields. The fields written to ``tfpose_export.json`` are the contract;
four more (``source``, ``format``, ``pass_outputs``, ``flip_test_source``) say where this copy
of the contract was read from and what the loaded model offers, and are never written (their
field metadata marks them ``runtime``). ``skeleton`` is the skeleton's name, as in the file;
:attr:`ModelSpec.layout` is the :class:`tfpose.skeletons.Skeleton` itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from tfpose.data import transforms
from tfpose.skeletons import Skeleton, get_skeleton

SPEC_FILE = "tfpose_export.json"
SPEC_VERSION = 1

# How a heatmap peak becomes the [0, 1] visibility score.
VISIBILITY_KINDS = ("peak_over_amplitude", "sigmoid")

_RUNTIME = {"runtime": True}
# The fields a trained model's spec takes from its data pipeline (the PipelineConfig fields of
# the same names).
_PIPELINE_FIELDS = ("input_size", "heatmap_stride", "crop_convention", "normalization")
# Keys of tfpose_export.json a reader cannot do without; the others have defaults
# (:meth:`ModelSpec.load`).
_REQUIRED_KEYS = ("skeleton", *_PIPELINE_FIELDS)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """The serving contract of one model (``tfpose_export.json`` for an export).

    Attributes:
      skeleton: skeleton name (``mpii``, ``lsp``, ``coco``); :attr:`layout` is the skeleton.
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
      amplitude: the target peak the model was trained to output on a visible joint (12 for
        the recurrent network, 1 for the cascades).
      flip_test: whether the model's answer averages the maps of each crop and its mirror:
        applied inside the SavedModel's ``serving_default``/``whole_image``, and by
        :class:`tfpose.inference.Predictor` (``python -m tfpose.predict``) around every
        artifact, so all formats give one answer. The crop-level TFLite/ONNX files and the
        ``heatmaps`` signature never flip inside; a client of those runs the mirror itself.
      artifacts: format → path relative to the export folder (exports only).
      signatures: SavedModel signature name → {"inputs": ..., "outputs": ...} (dtype, shape).
      tflite_outputs: TFLite/ONNX artifact → its output names.

    Runtime fields (not written to ``tfpose_export.json``):
      source: the model path this spec was read for (messages, results).
      format: ``"keras"``, ``"saved_model"``, ``"tflite"`` or ``"onnx"`` (empty: not loaded).
      pass_outputs: outputs the heatmap grid shows, in order: the recurrent passes of a
        ``.keras`` recurrent model, else the prediction output alone (the default).
      flip_test_source: where ``flip_test`` comes from, for messages (e.g.
        ``"tfpose_export.json"``; :func:`recorded_flip_test`).
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
    source: str = dataclasses.field(default="", metadata=_RUNTIME)
    format: str = dataclasses.field(default="", metadata=_RUNTIME)
    pass_outputs: tuple[str, ...] = dataclasses.field(default=(), metadata=_RUNTIME)
    flip_test_source: str = dataclasses.field(default="off: not recorded", metadata=_RUNTIME)

    def __post_init__(self) -> None:
        if not self.pass_outputs:
            object.__setattr__(self, "pass_outputs", (self.prediction_output,))

    @property
    def layout(self) -> Skeleton:
        """The keypoint layout of the maps' channels (the skeleton called ``skeleton``)."""
        return get_skeleton(self.skeleton)

    @classmethod
    def create(
        cls,
        skeleton: Skeleton,
        *,
        input_size: int,
        heatmap_stride: int,
        crop_convention: str,
        normalization: str,
        prediction_output: str,
        visibility_kind: str = "peak_over_amplitude",
        amplitude: float = 1.0,
        **fields: Any,
    ) -> ModelSpec:
        """The spec of a model with these settings; the skeleton's fields, the heatmap size and
        the crop convention's box scale, margin and fill follow from them (``fields`` sets any
        other field, or overrides one of those).

        Raises:
          ValueError: an unknown crop convention.
        """
        if crop_convention not in transforms.CROP_CONVENTIONS:
            raise ValueError(
                f"crop_convention {crop_convention!r} is not one of "
                f"{sorted(transforms.CROP_CONVENTIONS)}"
            )
        crop = transforms.CROP_CONVENTIONS[crop_convention]
        derived = dict(
            skeleton=skeleton.name,
            num_keypoints=skeleton.num_keypoints,
            joint_names=list(skeleton.joint_names),
            flip_permutation=[int(i) for i in skeleton.flip_permutation],
            input_size=int(input_size),
            heatmap_stride=int(heatmap_stride),
            heatmap_size=int(input_size) // int(heatmap_stride),
            crop_convention=crop_convention,
            box_scale=crop.box_scale,
            margin=crop.margin,
            fill=crop.fill,
            normalization=normalization,
            prediction_output=prediction_output,
            visibility_kind=visibility_kind,
            amplitude=float(amplitude),
        )
        return cls(**{**derived, **fields})

    @classmethod
    def from_model(
        cls,
        model_path: str,
        model,
        flip_test: bool | None = None,
        *,
        config=None,
        skeleton: Skeleton | None = None,
    ) -> ModelSpec:
        """The spec of a trained Keras model, from the run record it carries
        (:func:`tfpose.run_config.load_saved_run`: ``tfpose_run.json`` inside the ``.keras``
        file, else the ``flags.json`` beside it).

        Args:
          model_path: the ``.keras`` file (``source`` of the spec).
          model: the loaded model.
          flip_test: None = the model's recorded setting (:func:`recorded_flip_test`).
          config: instead of reading the record, the run's :class:`tfpose.run_config.RunConfig`
            (a model in memory, e.g. in training; then ``model_path`` only names it).
          skeleton: with ``config``, the skeleton the model predicts.

        Raises:
          FileNotFoundError: naming the missing flags.json (a model without a run record).
          ValueError: when the model and its run record disagree (input size, stride).
        """
        from tfpose import run_config
        from tfpose.models.families import pipeline_config

        saved = None
        if config is None:
            config, saved = run_config.load_saved_run(model_path)
            pipe, skeleton = run_config.pipeline_of(config, saved)
            for name, ours, theirs in (
                ("input size", model.input_size, pipe.input_size),
                ("output stride", model.output_stride, pipe.heatmap_stride),
            ):
                if ours != theirs:
                    raise ValueError(
                        f"{model_path}: model {name} {ours} != {theirs} in its run record "
                        f"({_record_name(model_path)}); is the record from another run?"
                    )
        elif skeleton is None:
            raise ValueError("ModelSpec.from_model: config= needs skeleton= as well")
        else:
            pipe = pipeline_config(
                config, skeleton, int(model.input_size), int(model.output_stride)
            )
        if flip_test is None:
            flip_test, flip_source = recorded_flip_test(model_path, saved)
        else:
            flip_source = "given"
        kind, amplitude = prediction_scoring(config, pipe, model)
        prediction = model.prediction_output
        passes = sorted(
            (n for n in model.output_names if n.startswith("keypoints_")),
            key=lambda name: int(name.rsplit("_", 1)[1]),
        )
        return cls.create(
            skeleton,
            **{name: getattr(pipe, name) for name in _PIPELINE_FIELDS},
            prediction_output=prediction,
            visibility_kind=kind,
            amplitude=amplitude,
            flip_test=bool(flip_test),
            source=model_path,
            format="keras",
            pass_outputs=tuple(passes) if prediction in passes else (prediction,),
            flip_test_source=flip_source,
        )

    def to_json(self) -> dict[str, Any]:
        """The contents of ``tfpose_export.json``: the contract, without the runtime fields."""
        values = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not f.metadata.get("runtime")
        }
        return {"spec_version": SPEC_VERSION, **json.loads(json.dumps(values))}

    def write(self, export_dir: str) -> str:
        """Writes ``export_dir/tfpose_export.json``; returns its path."""
        path = os.path.join(export_dir, SPEC_FILE)
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=2)
        return path

    @classmethod
    def load(cls, path: str, *, source: str | None = None, fmt: str = "") -> ModelSpec:
        """Reads ``tfpose_export.json``: ``path`` is the file, or an artifact or folder beside
        it or one level below it (:func:`find_spec_file`). Keys other than
        ``skeleton``, ``input_size``, ``heatmap_stride``, ``crop_convention`` and
        ``normalization`` may be missing (older exports): they follow from the skeleton, the
        crop convention and its training preset.

        Args:
          path: the file, an export folder, a SavedModel version folder, a ``.tflite`` or
            ``.onnx`` file.
          source: the runtime ``source`` (default ``path``).
          fmt: the runtime ``format`` of the artifact read with it.

        Raises:
          FileNotFoundError: no ``tfpose_export.json`` (naming the places looked at).
          ValueError: naming the file and the missing or invalid key.
        """
        metadata_path = path if os.path.isfile(path) and path.endswith(".json") else None
        metadata_path = metadata_path or find_spec_file(path)
        with open(metadata_path) as f:
            try:
                meta = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{metadata_path}: not valid JSON ({e})") from None
        missing = [key for key in _REQUIRED_KEYS if key not in meta]
        if missing:
            raise ValueError(f"{metadata_path}: missing keys {missing}")
        convention = meta["crop_convention"]
        if convention not in transforms.CROP_CONVENTIONS:
            raise ValueError(
                f"{metadata_path}: crop_convention {convention!r} is not one of "
                f"{sorted(transforms.CROP_CONVENTIONS)}"
            )
        if "amplitude" not in meta:
            # The first exports recorded no amplitude; the pipeline preset of the crop
            # convention fixes it (the training pipelines are exactly these presets).
            from tfpose.data import pipeline

            meta["amplitude"] = _keypoint_amplitude(pipeline.CONFIGS[convention]().targets)
        if "flip_test" in meta:
            flip_source = SPEC_FILE
        else:
            flip_source = f"off: {SPEC_FILE} records no flip_test"
        known = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("runtime")}
        fields = {key: value for key, value in meta.items() if key in known}
        for key in ("input_size", "heatmap_stride"):
            fields[key] = int(meta[key])
        for key in ("box_scale", "fill", "amplitude"):
            if key in fields:
                fields[key] = float(fields[key])
        fields.setdefault("prediction_output", "heatmaps")
        return cls.create(
            get_skeleton(fields.pop("skeleton")),
            **fields,
            source=path if source is None else source,
            format=fmt,
            flip_test_source=flip_source,
        )


def find_spec_file(path: str) -> str:
    """The ``tfpose_export.json`` of an artifact: in its folder or the folder above (an export
    folder, its SavedModel version folder, a ``.tflite`` or ``.onnx`` file in it).

    Raises:
      FileNotFoundError: naming the places looked at.
    """
    path = os.path.abspath(path)
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    candidates = [os.path.join(folder, SPEC_FILE), os.path.join(os.path.dirname(folder), SPEC_FILE)]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f"{path}: no {SPEC_FILE} found (looked at {', '.join(candidates)}); "
        "export the model with python -m tfpose.export, which writes it"
    )


def _keypoint_amplitude(targets: tuple[Any, ...]) -> float:
    for target in targets:
        if target.name == "keypoints":
            return float(target.amplitude)
    raise ValueError(f"the pipeline has no 'keypoints' head (heads: {[t.name for t in targets]})")


def _record_name(model_path: str) -> str:
    """Which run record :func:`tfpose.run_config.load_saved_run` reads for ``model_path``: the
    one inside the model (``tfpose_run.json``), else ``flags.json`` (older models)."""
    from tfpose import run_config

    if run_config.read_run_record(model_path) is not None:
        return run_config.RUN_ENTRY
    return run_config.FLAGS_FILE


def prediction_scoring(config, pipe, model) -> tuple[str, float]:
    """How the peaks of the prediction output become [0, 1] scores, from the loss term and the
    target head that trained it: ``(visibility_kind, amplitude)`` (see :class:`ModelSpec`).

    ``config``: the run's :class:`tfpose.run_config.RunConfig`; ``pipe``: its pipeline
    (:func:`tfpose.run_config.saved_pipeline` for a saved model).
    """
    from tfpose.data import targets
    from tfpose.models.families import loss_spec

    term = loss_spec(config, model).get(model.prediction_output)
    head = None
    if term is not None:
        head = {t.name: t for t in pipe.targets}.get(term.head)
        if term.kind == "sigmoid_xent":
            return "sigmoid", 1.0
    amplitude = float(getattr(head, "amplitude", 1.0)) if head is not None else 1.0
    if isinstance(head, targets.DiscTarget):
        amplitude = 1.0
    return "peak_over_amplitude", amplitude


def recorded_flip_test(model_path: str, saved: dict | None = None) -> tuple[bool, str]:
    """The flip-test setting recorded with a trained ``.keras`` model, and where it comes from.

    * a model shipped in :mod:`tfpose.zoo`: its manifest's ``flip_test`` (the setting its
      published score was measured with);
    * else ``val_flip_test`` of the model's run record: ``tfpose_run.json`` inside the
      ``.keras`` file, or for a model saved before that record the ``flags.json`` beside it
      (:func:`tfpose.run_config.load_saved_run`). The validation that chose ``best.keras`` ran
      with (or without) the flip test, so the model is scored as it was selected (``python -m
      tfpose.train --val_flip_test``);
    * off when the record has no ``val_flip_test`` (runs older than that flag).

    ``saved``: the record as :func:`tfpose.run_config.load_saved_run` returned it, if the
    caller has read it already (else it is read here).

    Returns:
      ``(flip_test, source)``, source a short phrase for messages, e.g.
      ``"tfpose_run.json val_flip_test, the run record inside the model"``.

    Raises:
      FileNotFoundError: naming the missing flags.json (not for a shipped model).
    """
    from tfpose import run_config, zoo

    real = os.path.realpath(model_path)
    for entry in zoo.entries().values():
        if os.path.realpath(entry.path) == real:
            return bool(entry.flip_test), f"tfpose.zoo manifest ({entry.name})"
    if saved is None:
        _, saved = run_config.load_saved_run(model_path)
    where = _record_name(model_path)
    if "val_flip_test" not in saved:
        return False, f"off: {where} records no val_flip_test"
    if where == run_config.RUN_ENTRY:
        return bool(saved["val_flip_test"]), f"{where} val_flip_test, the run record in the model"
    return bool(saved["val_flip_test"]), f"{where} val_flip_test, beside a model with no record"
