"""Smoke test of the speed benchmarks: each script's ``main()`` on the tiniest settings writes
its JSON with the keys docs/benchmarks.md reads. Timings are not checked (they are
measurements of a shared machine, not properties of the code)."""

import json
import os

import numpy as np
from absl import flags

from tests import conftest

# Flags every benchmark takes, at their cheapest.
COMMON_FLAGS = ["--repeats=1", "--matmul_size=64"]


def _run_main(name: str, argv: list[str], output_json: str) -> dict:
    """Imports benchmark ``name`` after unloading every other flag-defining module (their
    flag names overlap), parses ``argv`` with the settings every benchmark takes, calls its
    ``main`` and returns the JSON it wrote to ``output_json``."""
    module = conftest.import_cli(name)
    flags.FLAGS([name, *argv, *COMMON_FLAGS, f"--output_json={output_json}"])
    module.main([])
    with open(output_json) as f:
        return json.load(f)


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

    training = _run_main(
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
        ],
        str(tmp_path / "training.json"),
    )
    assert {"machine", "matmul_peak", "models", "command"} <= set(training)
    model = training["models"]["recurrent_tiny"]
    assert model["input_size"] == 32
    assert model["training_gflops_per_example"] > 0
    assert 0 <= model["input_pipeline"]["input_wait_share"] <= 1
    entry = model["runs"]["float32/eager"]
    assert entry["examples_per_s"]["median"] > 0
    assert {"first_call_s", "achieved_gflops", "fraction_of_peak"} <= set(entry)

    export_dir = _tiny_export(tmp_path)
    inference = _run_main(
        "benchmarks.inference_speed",
        [
            f"--exports={export_dir}",
            "--artifacts=tflite_fp32",
            "--batch_sizes=1,2",
            "--threads=1",
            "--min_seconds=0",
        ],
        str(tmp_path / "inference.json"),
    )
    assert inference["matmul_peak"]["peak_gflops"] > 0
    measured = inference["exports"][export_dir]
    assert set(measured["runs"]) == {"tflite_fp32/threads1/batch1", "tflite_fp32/threads1/batch2"}
    assert measured["forward_gflops_per_image"] > 0
    assert measured["best"]["candidate"] in measured["runs"]

    plot = str(tmp_path / "scaling.png")
    scaling = _run_main(
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
            f"--plot={plot}",
        ],
        str(tmp_path / "scaling.json"),
    )
    assert [e["num_passes"] for e in scaling["num_passes"]] == [0, 1]
    assert [e["batch_size"] for e in scaling["batch_size"]] == [1, 2]
    flops = [e["gflops_per_image"] for e in scaling["num_passes"]]
    assert flops[1] > flops[0]  # a recurrent pass costs FLOPs
    assert np.all([e["ms_per_image"] > 0 for e in scaling["input_size"]])
    assert os.path.getsize(plot) > 0
