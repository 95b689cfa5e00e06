"""Shipped models (tfpose.zoo): stored in float16, checked by hash, found by name everywhere,
and the predictor's whole-photo refinement."""

import json

import keras
import numpy as np
import pytest

from tests.conftest import tiny_run_config
from tfpose import run_config, zoo
from tfpose.data.conversion import convert
from tfpose.inference import Predictor
from tfpose.inference.backends import load_backend
from tfpose.inference.predictor import REFINE_MIN_JOINTS, joint_region
from tfpose.training import run as run_lib


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    records = tmp_path_factory.mktemp("records")
    convert("synthetic", str(records), num_examples=8, num_eval_examples=4, num_workers=1)
    work = tmp_path_factory.mktemp("run")
    run_lib.train(tiny_run_config(work, records, val_examples=4, val_flip_test=True))
    return work / "model.keras"


@pytest.fixture
def temporary_zoo(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo, "ZOO_DIR", tmp_path / "zoo")
    monkeypatch.setattr(zoo, "MANIFEST", tmp_path / "zoo" / "manifest.json")
    (tmp_path / "zoo").mkdir()
    return tmp_path / "zoo"


def _add(trained, **overrides):
    arguments = dict(
        command="python -m tfpose.train ...",
        score={"test": 1.0},
        description="a toy",
        flip_test=True,
        refine=1,
    )
    return zoo.add_entry("toy_model", str(trained), **{**arguments, **overrides})


def test_entry_is_float16_checked_and_listed(trained, temporary_zoo):
    entry = _add(trained)
    stored = keras.models.load_model(entry.path)
    assert {w.dtype for w in stored.weights} == {"float16"}
    assert entry.path.stat().st_size < trained.stat().st_size
    manifest = json.loads((temporary_zoo / "manifest.json").read_text())
    assert manifest["models"][0]["sha256"] == zoo.file_sha256(entry.path)
    flags = json.loads((temporary_zoo / "toy_model" / "flags.json").read_text())
    assert flags["model"]
    assert run_config.read_run_record(str(entry.path)) == flags  # the record inside, too
    assert "toy_model" in zoo.describe() and "refine=1" in zoo.describe()
    assert zoo.resolve_model("toy_model") == str(entry.path)
    assert zoo.resolve_model("no_such_thing") == "no_such_thing"


def test_damaged_entry_is_refused(trained, temporary_zoo):
    entry = _add(trained)
    entry.path.write_bytes(entry.path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="sha256 .* differs from the manifest"):
        zoo.get("toy_model")
    with pytest.raises(KeyError, match="no shipped model named 'other'.*toy_model"):
        zoo.get("other")


def test_preset_predicts_like_the_trained_model_in_float32(trained, temporary_zoo):
    _add(trained)
    shipped = Predictor.from_preset("toy_model")
    assert shipped.refine == 1 and shipped.flip_test
    assert {w.dtype for w in shipped.backend.model.weights} == {"float32"}
    by_name = Predictor.from_path("toy_model")
    assert by_name.refine == 1 and by_name.flip_test
    assert load_backend("toy_model").spec.input_size == 32
    original = Predictor.from_path(str(trained), refine=1, flip_test=True)
    image = np.random.default_rng(0).integers(0, 255, (48, 40, 3), dtype=np.uint8)
    a, b = shipped.predict(image), original.predict(image)
    # float16 weights: the same joints within a fraction of a crop pixel.
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=2.0)


def test_size_limit(trained, temporary_zoo, monkeypatch):
    monkeypatch.setattr(zoo, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match="exceeds"):
        _add(trained)


def test_joint_region_frames_the_joints_like_training_crops():
    keypoints = np.array([[10.0, 20.0], [30.0, 60.0], [20.0, 40.0], [25.0, 30.0], [0.0, 0.0]])
    usable = np.array([True, True, True, True, False])
    region = joint_region(keypoints, usable, box_scale=1.25)
    # Joints span 40 px (y); the training crop is box_scale · 1.1 · extent around their middle.
    np.testing.assert_allclose(region[2:] - region[:2], [1.25 * 1.1 * 40] * 2, rtol=1e-6)
    np.testing.assert_allclose((region[:2] + region[2:]) / 2, [20.0, 40.0], rtol=1e-6)
    few = np.zeros(len(usable), bool)
    few[: REFINE_MIN_JOINTS - 1] = True
    assert joint_region(keypoints, few, 1.25) is None


def test_refine_recenters_on_the_person(trained):
    predictor = Predictor.from_path(str(trained), flip_test=False)
    predictor.refine_min_confidence = -1.0  # an untrained model: use every joint
    image = np.random.default_rng(1).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    whole = predictor.predict(image, refine=0)
    refined = predictor.predict(image, refine=1)
    expected = joint_region(whole.keypoints[0], np.ones(16, bool), predictor.spec.box_scale)
    np.testing.assert_allclose(refined.boxes[0], expected, rtol=1e-5)
    with pytest.raises(ValueError, match="refine must be an int >= 0"):
        Predictor(predictor.backend, refine=-1)
