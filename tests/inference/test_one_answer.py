"""One answer per model: a ``.keras`` model and its SavedModel, TFLite and ONNX exports give the
same keypoints and scores by default, with the flip test recorded with the model.

One module fixture trains a 32 px recurrent model for a few steps *with* ``--val_flip_test``
(so the recorded setting is on, the non-default case) and exports it without ``--flip_test``,
so the export inherits the setting.
"""

import json

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_run_config
from tests.inference import run_predict
from tfpose.data.conversion import convert
from tfpose.export.run import ExportConfig, export
from tfpose.inference import runner
from tfpose.inference.predictor import Predictor
from tfpose.model_spec import ModelSpec
from tfpose.training import run as run_lib

FORMATS = ("saved_model", "tflite_fp32", "onnx")


def assert_scores_close(actual, expected):
    """Scores of float32 artifacts: equal to 0.1 % of the largest (a few-step model's scores
    are small, about 1e-3, so an absolute bound would say little)."""
    np.testing.assert_allclose(actual, expected, atol=1e-3 * float(np.max(expected)))


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("one_answer")
    records = root / "records"
    convert("synthetic", str(records), num_examples=16, num_eval_examples=4, num_workers=1)
    schedule = dict(stages=(("joint", 4),), log_every=4, checkpoint_every=4)
    config = tiny_run_config(root / "run", records, **schedule, val_examples=4, val_flip_test=True)
    run_lib.train(config)
    model = root / "run" / "model.keras"
    out = root / "export" / "tiny"
    export(
        ExportConfig(
            model=str(model),
            output_dir=str(out),
            formats=FORMATS,
            max_validation_examples=4,
            check_parity=False,
        ),
        log=lambda *_: None,
    )
    return {
        "keras": model,
        "saved_model": out,
        "tflite_fp32": out / "model_fp32.tflite",
        "onnx": out / "model.onnx",
    }


@pytest.fixture(scope="module")
def persons(shared_data):
    """The MPII sample images (RGB) and a region around each annotated person."""
    folder = shared_data / "samples" / "mpii"
    images, regions = [], []
    for entry in json.loads((folder / "test_mpii.json").read_text()):
        image = cv2.cvtColor(cv2.imread(str(folder / entry["image"])), cv2.COLOR_BGR2RGB)
        half = 200.0 * float(entry["scale"]) * 1.5 / 2  # the recurrent model's box_scale
        x, y = entry["center"]
        images.append(image)
        regions.append([x - half, y - half, x + half, y + half])
    return images, np.array(regions, np.float32)


@pytest.fixture(scope="module")
def predictions(artifacts, persons):
    """Each format's Predictor, with its default flip test, on every person."""
    images, regions = persons
    results = {}
    for name, path in artifacts.items():
        predictor = Predictor.from_path(str(path), batch_size=4)
        result = predictor.predict(images, list(regions), return_heatmaps=True)
        results[name] = (predictor, result)
    return results


def test_the_export_inherits_the_recorded_flip_test(artifacts):
    spec = ModelSpec.load(str(artifacts["saved_model"]))
    assert spec.flip_test is True  # val_flip_test of the run record, no --flip_test at export
    assert set(spec.artifacts) == set(FORMATS)
    assert spec.tflite_outputs["onnx"] == ["heatmaps", "keypoints", "confidence", "peak"]


def test_every_format_reports_the_same_flip_test(predictions):
    sources = {}
    for name, (predictor, _) in predictions.items():
        assert predictor.spec.flip_test is True, name
        assert predictor.flip_test is True, name
        sources[name] = predictor.flip_test_source
    assert sources["keras"] == (
        "the model's setting: tfpose_run.json val_flip_test, the run record in the model"
    )
    for name in FORMATS:
        assert sources[name] == "the model's setting: tfpose_export.json", name
    formats = {name: p.spec.format for name, (p, _) in predictions.items()}
    assert formats == {
        "keras": "keras",
        "saved_model": "saved_model",
        "tflite_fp32": "tflite",
        "onnx": "onnx",
    }


def test_every_format_gives_the_same_answer_by_default(predictions, persons):
    _, regions = persons
    crop_pixel = (regions[:, 2] - regions[:, 0])[:, None] / 32.0  # image px per crop px
    _, reference = predictions["keras"]
    output = "keypoints_1"
    for name in FORMATS:
        predictor, result = predictions[name]
        assert predictor.spec.prediction_output == output
        maps, expected = result.heatmaps[output], reference.heatmaps[output]
        # Flip-averaged once, by the Predictor: the raw maps of the exports are flipped by no
        # backend, so these agree only if nothing flips twice.
        np.testing.assert_allclose(maps, expected, atol=1e-4 * float(np.abs(expected).max()))
        assert_scores_close(result.confidence, reference.confidence)
        assert_scores_close(result.visibility, reference.visibility)
        distance = np.linalg.norm(result.keypoints - reference.keypoints, axis=-1)
        # A few-step model's maps are nearly flat, so float rounding may move an argmax between
        # near-equal pixels; nearly every keypoint agrees to within a crop pixel.
        assert np.mean(distance <= crop_pixel) >= 0.95, (name, distance / crop_pixel)


def test_an_explicit_flip_test_overrides_the_recorded_one(artifacts, predictions, persons):
    images, regions = persons
    keras = Predictor.from_path(str(artifacts["keras"]), batch_size=4, flip_test=False)
    onnx = Predictor.from_path(str(artifacts["onnx"]), batch_size=4, flip_test=False)
    assert keras.flip_test is onnx.flip_test is False
    assert keras.flip_test_source == "set explicitly"
    plain = keras.predict(images[:2], list(regions[:2]), return_heatmaps=True)
    again = onnx.predict(images[:2], list(regions[:2]), return_heatmaps=True)
    assert_scores_close(again.confidence, plain.confidence)
    _, flipped = predictions["keras"]
    # The flip test changes the maps: the default above did use it.
    maps = flipped.heatmaps["keypoints_1"][:2]
    change = np.abs(plain.heatmaps["keypoints_1"] - maps).max()
    assert change > 1e-2 * np.abs(maps).max()


def test_serving_default_scores_are_the_predictors(artifacts, predictions, persons):
    images, regions = persons
    loaded = tf.saved_model.load(str(artifacts["saved_model"] / "1"))
    # PNG, so the serving graph decodes exactly the pixels the Predictor gets.
    encoded = [
        cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
        for image in images
    ]
    out = loaded.signatures["serving_default"](
        images=tf.constant(encoded), boxes=tf.constant(regions)
    )
    spec = ModelSpec.load(str(artifacts["saved_model"]))
    for name in ("keras", "saved_model"):
        _, result = predictions[name]
        assert_scores_close(out["confidence"].numpy(), result.confidence)
        assert_scores_close(out["visibility"].numpy(), result.visibility)
        distance = np.linalg.norm(out["keypoints"].numpy() - result.keypoints, axis=-1)
        crop_pixel = (regions[:, 2] - regions[:, 0])[:, None] / 32.0
        assert np.mean(distance <= crop_pixel) >= 0.95, name
    confidence, peak = out["confidence"].numpy(), out["peak"].numpy()
    assert ((confidence >= 0) & (confidence <= 1)).all()
    np.testing.assert_allclose(confidence, np.clip(peak / spec.amplitude, 0, 1), atol=1e-6)
    # The whole image padded to a square: keypoints in the padding have visibility 0 in both.
    whole = loaded.signatures["whole_image"](images=tf.constant(encoded[:1]))
    predictor, _ = predictions["saved_model"]
    alone = predictor.predict(images[0])
    assert_scores_close(whole["confidence"].numpy(), alone.confidence)
    assert_scores_close(whole["visibility"].numpy(), alone.visibility)


def test_predict_summary_names_the_flip_test(artifacts, shared_data, tmp_path):
    image = shared_data / "samples" / "mpii" / "004645041.jpg"
    proc = run_predict(artifacts["onnx"], image, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 persons in 1 images" in proc.stdout
    assert "flip test: on (the model's setting: tfpose_export.json)" in proc.stdout
    # The run behind it, with the flag given.
    predictor = Predictor.from_path(str(artifacts["tflite_fp32"]))
    summary = runner.predict_inputs(
        predictor, str(image), str(tmp_path / "again"), options=runner.RunOptions(flip_test=False)
    )
    assert summary["flip_test"] is False and summary["flip_test_source"] == "--noflip_test"
