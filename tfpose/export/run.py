"""One export: a trained ``.keras`` model → ``export/NAME/`` with every artifact and its parity.

Layout of ``output_dir`` (``export/README.md`` is the serving contract)::

    <version>/                   SavedModel, TF Serving layout (saved_model.pb, variables/)
    model_fp32.tflite            crop → heatmaps, keypoints (crop px), confidence, peak
    model_fp16.tflite            same, float16 weights
    model_int8.tflite            same, int8 network, float I/O
    model_heatmaps_gpu.tflite    crop → heatmaps (GPU delegate ops only, batch 1)
    model.onnx                   same I/O as model_fp32.tflite
    tfpose_export.json           ModelSpec: pre/post-processing facts (flip_test included)
                                 and the artifact list
    parity.json                  every artifact against the Keras model (tfpose.export.parity)
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import keras

import tfpose.models  # registers the model classes for load_model; as_float32
from tfpose import run_config
from tfpose.cli import TRAIN_HINT
from tfpose.export import examples as examples_lib
from tfpose.export import onnx, parity, saved_model, tflite
from tfpose.model_spec import SPEC_FILE, ModelSpec
from tfpose.progress import Progress, write

FORMATS = ("saved_model", "tflite_fp32", "tflite_fp16", "tflite_int8", "tflite_gpu", "onnx")


@dataclasses.dataclass
class ExportConfig:
    """Arguments of :func:`export` (``python -m tfpose.export --help`` explains each).

    ``representative_records`` / ``validation_records`` default to the training run's
    ``--records`` (from its run record), splits ``train`` / the run's validation split.
    ``flip_test`` None = the model's recorded setting
    (:func:`tfpose.model_spec.recorded_flip_test`: ``val_flip_test`` of the run record in the
    model, ``tfpose_run.json``, or of the ``flags.json`` beside an older one); the
    result is written to ``tfpose_export.json`` and applied by every reader of the artifacts.
    """

    model: str
    output_dir: str
    version: int = 1
    formats: Sequence[str] = FORMATS
    representative_records: str | None = None
    representative_split: str = "train"
    num_calibration_examples: int = 200
    validation_records: str | None = None
    validation_split: str | None = None
    max_validation_examples: int = 256
    flip_test: bool | None = None
    check_parity: bool = True
    tolerances: Mapping[str, parity.Tolerance] = dataclasses.field(
        default_factory=lambda: dict(parity.DEFAULT_TOLERANCES)
    )
    overwrite: bool = False

    def validate(self) -> None:
        """Raises ``ValueError`` naming the argument and the problem."""
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise ValueError(f"--formats: unknown {unknown}; choose from {', '.join(FORMATS)}")
        if not os.path.isfile(self.model):
            what = "a folder, not a .keras file" if os.path.isdir(self.model) else "no such file"
            raise FileNotFoundError(f"--model={self.model}: {what}; {TRAIN_HINT}")
        if not zipfile.is_zipfile(self.model):  # Keras calls a damaged file "File not found"
            raise ValueError(
                f"--model={self.model} cannot be read: not a .keras archive (damaged, empty or "
                "still being written?)"
            )
        if self.version < 1:
            raise ValueError(f"--version must be a positive integer, got {self.version}")
        if self.num_calibration_examples < 1:
            raise ValueError("--num_calibration_examples must be >= 1")
        if self.max_validation_examples < 0:
            raise ValueError("--max_validation_examples must be >= 0 (0 = all)")


def _records(explicit: str | None, saved: Mapping[str, Any], flag: str) -> str:
    records = explicit or saved.get("records")
    if not records:
        raise ValueError(
            f"--{flag} is needed: {flag} were not given and the model's run record names none"
        )
    if "," not in records and "*" not in records and not os.path.exists(records):
        raise FileNotFoundError(f"--{flag}={records}: no such folder or file")
    return records


def _prepare_dir(config: ExportConfig) -> str:
    version_dir = os.path.join(config.output_dir, str(config.version))
    if os.path.exists(version_dir):
        if not config.overwrite:
            raise FileExistsError(
                f"{version_dir} exists; pass --version=<new number> (TF Serving serves the "
                "highest) or --overwrite"
            )
        shutil.rmtree(version_dir)
    os.makedirs(config.output_dir, exist_ok=True)
    return version_dir


def export(config: ExportConfig, log=print) -> dict[str, Any]:
    """Writes every requested artifact, ``tfpose_export.json`` and ``parity.json``.

    Returns:
      The parity report (also in ``parity.json``).

    Raises:
      parity.ParityError: after writing everything, when an artifact diverges beyond its
        tolerance (and ``config.check_parity``).
      ImportError: ``onnx`` requested without tf2onnx (the message says what to install).
    """
    from tfpose import zoo

    config = dataclasses.replace(config, model=zoo.resolve_model(config.model))
    config.validate()
    if "onnx" in config.formats:
        onnx.require_tf2onnx()
    pipe, skeleton, saved = run_config.saved_pipeline(config.model)
    write(f"loading {config.model} ...")
    trained = keras.models.load_model(config.model)
    model = tfpose.models.as_float32(trained)
    if model is not trained:
        log(f"the model computes in {trained.dtype_policy_name}; exporting a float32 copy")
    spec = ModelSpec.from_model(config.model, model, flip_test=config.flip_test)
    source = spec.flip_test_source
    if config.flip_test is not None:
        source = "--flip_test" if config.flip_test else "--noflip_test"
    log(f"flip test: {'on' if spec.flip_test else 'off'} ({source}); recorded in {SPEC_FILE}")
    version_dir = _prepare_dir(config)
    validation = examples_lib.read_examples(
        _records(config.validation_records, saved, "validation_records"),
        config.validation_split or saved.get("val_split") or "val",
        pipe,
        skeleton,
        config.max_validation_examples or None,
    )
    log(f"validation: {len(validation['image'])} examples")
    spec = dataclasses.replace(spec, signatures=saved_model.signature_table(spec))
    timings: dict[str, float] = {}
    artifacts: dict[str, str] = {}  # format -> path in output_dir
    outputs: dict[str, list[str]] = {}  # TFLite/ONNX artifact -> its output names

    start = time.time()
    if "saved_model" in config.formats:
        write("writing the SavedModel ...")
        saved_model.export_saved_model(model, spec, version_dir)
        artifacts["saved_model"] = str(config.version)
        timings["saved_model"] = time.time() - start
        log(f"wrote {version_dir}")

    tflite_formats = [f for f in config.formats if f in tflite.TFLITE_FORMATS]
    if tflite_formats:
        calibration = None
        if "tflite_int8" in tflite_formats:
            calibration = examples_lib.read_examples(
                _records(config.representative_records, saved, "representative_records"),
                config.representative_split,
                pipe,
                skeleton,
                config.num_calibration_examples,
            )["image"]
            log(f"int8 calibration: {len(calibration)} crops")
        with tempfile.TemporaryDirectory() as scratch:
            tflite.write_conversion_model(model, spec, scratch)
            for fmt in tflite_formats:
                start = time.time()
                write(f"converting to {fmt} ...")
                content = tflite.convert(scratch, fmt, calibration)
                artifacts[fmt] = tflite.write(content, config.output_dir, fmt)
                outputs[fmt] = list(
                    tflite.GPU_OUTPUTS if fmt == "tflite_gpu" else tflite.CROP_OUTPUTS
                )
                timings[fmt] = time.time() - start
                log(f"wrote {artifacts[fmt]} ({len(content) / 1e6:.2f} MB)")

    if "onnx" in config.formats:
        start = time.time()
        write("converting to onnx ...")
        onnx.convert(model, spec, os.path.join(config.output_dir, onnx.FILE_NAME))
        artifacts["onnx"] = onnx.FILE_NAME
        outputs["onnx"] = list(tflite.CROP_OUTPUTS)
        timings["onnx"] = time.time() - start
        log(f"wrote {onnx.FILE_NAME}")
    spec = dataclasses.replace(spec, artifacts=artifacts, tflite_outputs=outputs)
    spec.write(config.output_dir)

    report = parity_report(model, spec, config, validation, skeleton)
    report["export_seconds"] = timings
    parity.write_report(report, config.output_dir)
    log(parity.format_table(report))
    if config.check_parity:
        parity.check(report)
    return report


def parity_report(
    model: keras.Model,
    spec: ModelSpec,
    config: ExportConfig,
    validation: Mapping,
    skeleton,
) -> dict[str, Any]:
    """Loads every written artifact back and compares it with the Keras model."""
    count = len(validation["image"])
    passes = 1 + int(spec.flip_test) + len(spec.artifacts)  # each runs over every crop
    with Progress("parity", count * passes, unit="crops") as progress:
        progress.set_status("keras")
        plain = parity.keras_outputs(model, spec, validation, False, progress=progress)
        flipped = plain
        if spec.flip_test:
            flipped = parity.keras_outputs(model, spec, validation, True, progress=progress)
        rows = {}
        for fmt, relative in spec.artifacts.items():
            progress.set_status(fmt)
            path = os.path.join(config.output_dir, relative)
            if fmt == "saved_model":
                outputs = parity.saved_model_outputs(path, spec, validation, progress=progress)
                # The maps come from the heatmaps signature (no flip): compare them with the
                # plain maps, the keypoints with the reference of the same flip setting.
                reference = dataclasses.replace(flipped, heatmaps=plain.heatmaps)
            elif fmt == "onnx":
                outputs = parity.onnx_outputs(path, spec, validation, progress=progress)
                reference = plain
            else:
                outputs = parity.tflite_outputs(path, spec, validation, progress=progress)
                reference = plain
            tolerance = config.tolerances.get(fmt, parity.DEFAULT_TOLERANCES[fmt])
            rows[fmt] = parity.compare(outputs, reference, validation, spec, skeleton, tolerance)
    return {
        "model": os.path.abspath(config.model),
        "validation_examples": int(len(validation["image"])),
        "validation_records": config.validation_records,
        "calibration_examples": config.num_calibration_examples,
        "flip_test": spec.flip_test,
        "heatmap_stride": spec.heatmap_stride,
        "keypoint_distance_unit": "heatmap pixels (crop pixels / heatmap_stride)",
        "artifacts": rows,
    }
