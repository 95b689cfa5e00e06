"""Both methods on a pretrained backbone: each preset builds, round-trips through ``.keras``,
trains a few steps on tiny inputs from its ImageNet weights, and exports."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import PRESET_WIDTH, tiny_run_config
from tests.models import assert_save_load_round_trip
from tfpose.data.conversion import convert
from tfpose.export.run import ExportConfig, export
from tfpose.models import MODEL_PRESETS, build_model
from tfpose.models import backbones as backbones_lib
from tfpose.training import run as run_lib

BACKBONE_PRESETS = sorted(name for name, (_, kw) in MODEL_PRESETS.items() if kw.get("backbone"))


def test_presets_cover_both_methods_and_backbones():
    assert "recurrent_mobilenet_v2" in BACKBONE_PRESETS
    assert "cascade_mobilenet_v2" in BACKBONE_PRESETS
    used = {MODEL_PRESETS[name][1]["backbone"] for name in BACKBONE_PRESETS}
    assert used == set(backbones_lib.BACKBONES)


@pytest.mark.parametrize("name", BACKBONE_PRESETS)
def test_preset_builds_and_round_trips(name, tmp_path):
    model = build_model(name, num_keypoints=14, input_size=64, backbone_weights=None)
    assert model.output_stride == 4
    maps = model.output[model.prediction_output]
    assert tuple(maps.shape[1:]) == (16, 16, 14)
    images = np.random.default_rng(0).uniform(size=(2, 64, 64, 3)).astype(np.float32)
    assert_save_load_round_trip(model, tmp_path, images, rtol=1e-7)  # assert_allclose default


def test_recurrent_backbone_shares_weights_across_passes():
    counts = {
        passes: build_model(
            "recurrent_mobilenet_v2", input_size=64, num_passes=passes, backbone_weights=None
        ).count_params()
        for passes in (1, 3)
    }
    assert counts[1] == counts[3]


def test_a_frozen_backbone_stays_frozen_through_saving(tmp_path):
    model = build_model(
        "recurrent_mobilenet_v2", input_size=64, backbone_weights=None, frozen_backbone_stride=8
    )
    whole = build_model("recurrent_mobilenet_v2", input_size=64, backbone_weights=None)
    assert 0 < len(model.trainable_weights) < len(whole.trainable_weights)
    assert not model.get_layer("mobilenet_v2_features6_project_conv").trainable
    assert model.get_layer("mobilenet_v2_features7_project_conv").trainable
    path = tmp_path / "frozen.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.frozen_backbone_stride == 8
    assert [w.path for w in loaded.trainable_weights] == [w.path for w in model.trainable_weights]
    with pytest.raises(ValueError, match="frozen_backbone_stride needs a pretrained backbone"):
        build_model("recurrent_tiny", input_size=64, frozen_backbone_stride=8)
    with pytest.raises(ValueError, match="frozen_backbone_stride must be one of"):
        build_model("recurrent_mobilenet_v2", input_size=64, frozen_backbone_stride=6)


def test_imagenet_weights_reach_the_backbone_layers():
    try:
        backbones_lib.weights_path("mobilenet_v2")
    except backbones_lib.BackboneWeightsError as error:
        pytest.skip(str(error))
    reference = backbones_lib.build_backbone("mobilenet_v2", 64)
    model = build_model("recurrent_mobilenet_v2", input_size=64)
    layer = "mobilenet_v2_features5_depthwise_conv"
    np.testing.assert_array_equal(
        model.get_layer(layer).get_weights()[0], reference.get_layer(layer).get_weights()[0]
    )


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out = tmp_path_factory.mktemp("records")
    convert("synthetic", str(out), num_examples=8, num_eval_examples=4, num_workers=1)
    return str(out)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,stages",
    [
        ("recurrent_mobilenet_v2", (("joint", 2),)),
        ("cascade_mobilenet_v2", (("detector", 1), ("regressor", 1), ("joint", 1))),
    ],
)
def test_preset_trains_from_imagenet_and_exports(name, stages, records, tmp_path):
    try:
        backbones_lib.weights_path("mobilenet_v2")
    except backbones_lib.BackboneWeightsError as error:
        pytest.skip(str(error))
    size = dict(input_size=64, batch_size=2, **PRESET_WIDTH)
    schedule = dict(stages=stages, log_every=1, checkpoint_every=10, val_examples=2)
    config = tiny_run_config(tmp_path / "run", records, model=name, **size, **schedule)
    summary = run_lib.train(config)
    assert np.isfinite(summary["final_loss"]) if "final_loss" in summary else summary
    out = tmp_path / "export"
    report = export(
        ExportConfig(
            model=str(tmp_path / "run" / "model.keras"),
            output_dir=str(out),
            formats=("saved_model", "tflite_fp32"),
            max_validation_examples=2,
        ),
        log=lambda *_: None,
    )
    assert all(row["passed"] for row in report["artifacts"].values()), report["artifacts"]
    loaded = tf.saved_model.load(str(out / "1"))
    maps = loaded.signatures["heatmaps"](image=tf.zeros([1, 64, 64, 3]))
    assert maps["heatmaps"].shape == (1, 16, 16, 16)
