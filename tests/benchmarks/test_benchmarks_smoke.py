"""Smoke test of the speed benchmarks: each script's ``main()`` on the tiniest settings writes
its JSON with the keys docs/benchmarks.md reads. Timings are not checked (they are
measurements of a shared machine, not properties of the code)."""

import importlib
import json
import os
import sys

import numpy as np
from absl import flags

from tests import conftest

BENCHMARK_MODULES = (
    "benchmarks.training_speed",
    "benchmarks.inference_speed",
    "benchmarks.scaling",
)


def _run_main(name: str, argv: list[str]) -> None:
    """Imports benchmark ``name`` after unloading every other flag-defining module (their
    flag names overlap), parses ``argv`` and calls its ``main``."""
    for other in conftest.CLI_MODULES + BENCHMARK_MODULES:
        if other != name and other in sys.modules:
            for flag in list(flags.FLAGS.flags_by_module_dict().get(other, [])):
                if flag.name in flags.FLAGS:
                    delattr(flags.FLAGS, flag.name)
            del sys.modules[other]
    module = importlib.import_module(name)
    flags.FLAGS([name, *argv])
    module.main([])


def _tiny_export(folder) -> str:
    """An export folder with one tiny TFLite artifact, its metadata and the .keras it came
    from (what python -m tfpose.export writes, minus the other formats)."""
    import tensorflow as tf

    from tfpose.export.tflite import FILE_NAMES
    from tfpose.models import build_model

    model = build_model(
        "recurrent_tiny", input_size=32, width_multiplier=0.0625, num_passes=1, num_limbs=0
    )
    keras_path = os.path.join(folder, "model.keras")
    model.save(keras_path)
    forward = tf.function(
        lambda image: {"heatmaps": model(image, training=False)[model.prediction_output]},
        input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32, name="image")],
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [forward.get_concrete_function()], model
    )
    with open(os.path.join(folder, FILE_NAMES["tflite_fp32"]), "wb") as f:
        f.write(converter.convert())
    metadata = {
        "skeleton": "mpii",
        "input_size": 32,
        "heatmap_stride": 4,
        "crop_convention": "bulat",
        "normalization": "belagiannis",
        "prediction_output": "heatmaps",
        "artifacts": {"tflite_fp32": FILE_NAMES["tflite_fp32"]},
    }
    with open(os.path.join(folder, "tfpose_export.json"), "w") as f:
        json.dump(metadata, f)
    with open(os.path.join(folder, "parity.json"), "w") as f:
        json.dump({"model": keras_path, "artifacts": {}}, f)
    return str(folder)


def test_benchmark_scripts_write_their_json(tmp_path):
    from tfpose.data.conversion import convert

    records = str(tmp_path / "records")
    convert("synthetic", records, num_examples=8, num_eval_examples=4, num_workers=1)
    common = ["--repeats=1", "--matmul_size=64"]

    training_json = str(tmp_path / "training.json")
    _run_main(
        "benchmarks.training_speed",
        [
            "--models=recurrent_tiny",
            "--batch_sizes=2",
            "--steps=1",
            "--modes=eager",
            "--precisions=float32",
            "--input_size=32",
            "--width_multiplier=0.0625",
            f"--records={records}",
            f"--output_json={training_json}",
            *common,
        ],
    )
    with open(training_json) as f:
        training = json.load(f)
    assert {"machine", "matmul_peak", "models", "command"} <= set(training)
    model = training["models"]["recurrent_tiny"]
    assert model["input_size"] == 32
    assert model["training_gflops_per_example"] > 0
    assert 0 <= model["input_pipeline"]["input_wait_share"] <= 1
    entry = model["runs"]["float32/eager"]
    assert entry["examples_per_s"]["median"] > 0
    assert {"first_call_s", "achieved_gflops", "fraction_of_peak"} <= set(entry)

    export_dir = _tiny_export(tmp_path)
    inference_json = str(tmp_path / "inference.json")
    _run_main(
        "benchmarks.inference_speed",
        [
            f"--exports={export_dir}",
            "--artifacts=tflite_fp32",
            "--batch_sizes=1,2",
            "--threads=1",
            "--min_seconds=0",
            f"--output_json={inference_json}",
            *common,
        ],
    )
    with open(inference_json) as f:
        inference = json.load(f)
    assert inference["matmul_peak"]["peak_gflops"] > 0
    measured = inference["exports"][export_dir]
    assert set(measured["runs"]) == {"tflite_fp32/threads1/batch1", "tflite_fp32/threads1/batch2"}
    assert measured["forward_gflops_per_image"] > 0
    assert measured["best"]["candidate"] in measured["runs"]

    scaling_json, plot = str(tmp_path / "scaling.json"), str(tmp_path / "scaling.png")
    _run_main(
        "benchmarks.scaling",
        [
            "--model=recurrent_tiny",
            "--width_multiplier=0.0625",
            "--input_size=32",
            "--num_passes=1",
            "--input_sizes=32",
            "--passes=0,1",
            "--batch_sizes=1,2",
            "--min_seconds=0",
            f"--output_json={scaling_json}",
            f"--plot={plot}",
            *common,
        ],
    )
    with open(scaling_json) as f:
        scaling = json.load(f)
    assert [e["num_passes"] for e in scaling["num_passes"]] == [0, 1]
    assert [e["batch_size"] for e in scaling["batch_size"]] == [1, 2]
    flops = [e["gflops_per_image"] for e in scaling["num_passes"]]
    assert flops[1] > flops[0]  # a recurrent pass costs FLOPs
    assert np.all([e["ms_per_image"] > 0 for e in scaling["input_size"]])
    assert os.path.getsize(plot) > 0
