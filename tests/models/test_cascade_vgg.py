"""Tests for tfpose.models.cascade_vgg (tiny configurations unless marked paper size)."""

import keras
import numpy as np
import pytest

from tests.models import (
    assert_gradients_reach_every_weight,
    assert_output_shapes,
    assert_same_layer_weights,
    assert_save_load_round_trip,
    random_images,
    randomize_weights,
)
from tfpose.models.cascade_vgg import CascadeVGG
from tfpose.models.pretrained import WEIGHTS_URL_ENV

TINY = {"input_size": 48, "width_multiplier": 0.0625}


@pytest.mark.parametrize(
    "variant, outputs, prediction",
    [
        ("detection_regression", ["detection", "regression"], "regression"),
        ("detection_only", ["detection"], "detection"),
        ("regression_only", ["regression"], "regression"),
        ("regression_regression", ["regression", "regression_0"], "regression"),
    ],
)
def test_variants_outputs(variant, outputs, prediction):
    model = CascadeVGG(num_keypoints=14, variant=variant, **TINY)
    assert_output_shapes(model, {name: (6, 6, 14) for name in outputs})
    assert model.prediction_output == prediction
    assert model.output_stride == 8
    assert (model.regressor is None) == (len(outputs) == 1)


def test_any_input_size_gives_ceil_stride_8():
    model = CascadeVGG(input_size=37, width_multiplier=0.0625, num_keypoints=17)
    assert_output_shapes(model, {"detection": (5, 5, 17), "regression": (5, 5, 17)})


def test_detector_starts_at_zero_and_regressor_sees_sigmoid():
    model = CascadeVGG(**TINY)  # scoring layers are zero-initialised, as in FCN
    outputs = model(random_images(model), training=False)
    np.testing.assert_array_equal(outputs["detection"], 0.0)
    heatmaps = model.get_layer("detection_sigmoid").output
    assert model.regressor.inputs[1].shape == heatmaps.shape


def test_detector_can_be_frozen_for_staged_training():
    model = CascadeVGG(**TINY)
    randomize_weights(model)
    model.detector.trainable = False
    assert len(model.trainable_weights) == len(model.regressor.trainable_weights)
    detector_before = [w.numpy() for w in model.detector.weights]
    regressor_before = [w.numpy() for w in model.regressor.weights]
    model.compile(optimizer="sgd", loss={"detection": "mse", "regression": "mse"})
    images = random_images(model)
    targets = {name: np.ones((2, 6, 6, 16), "float32") for name in model.output_names}
    model.train_on_batch(images, targets)
    for before, after in zip(detector_before, model.detector.weights, strict=True):
        np.testing.assert_array_equal(before, after.numpy())
    assert any(
        not np.array_equal(before, after.numpy())
        for before, after in zip(regressor_before, model.regressor.weights, strict=True)
    )


def test_save_load_round_trip(tmp_path):
    assert_save_load_round_trip(CascadeVGG(variant="regression_regression", **TINY), tmp_path)


def test_gradients_reach_every_weight():
    assert_gradients_reach_every_weight(CascadeVGG(**TINY))


def test_loads_keras_applications_vgg16_weights(tmp_path):
    source = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16_notop.h5"
    source.save(path)  # layer-named HDF5, the layout of the published weights files
    model = CascadeVGG(input_size=32, backbone_weights=str(path), variant="detection_only")
    assert_same_layer_weights(
        model.detector, source, ("block1_conv1", "block3_conv2", "block5_conv3")
    )
    assert model.get_config()["backbone_weights"] == str(path)


def test_dense_fc1_loads_as_an_equivalent_7x7_convolution(tmp_path):
    dense = keras.Sequential(
        [keras.Input((7, 7, 32)), keras.layers.Flatten(), keras.layers.Dense(256, name="fc1")]
    )
    dense.get_layer("fc1").bias.assign(np.linspace(-1, 1, 256))
    path = tmp_path / "fc1.h5"
    dense.save(path)
    model = CascadeVGG(
        input_size=32, width_multiplier=0.0625, backbone_weights=path, variant="detection_only"
    )
    fc1 = model.detector.get_layer("fc1")
    features = np.random.default_rng(0).normal(size=(1, 7, 7, 32)).astype("float32")
    conv_center = fc1.convolution_op(features, fc1.kernel)[0, 3, 3] + fc1.bias
    np.testing.assert_allclose(conv_center, dense(features)[0], rtol=1e-4, atol=1e-4)


def test_backbone_weights_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv(WEIGHTS_URL_ENV, "http://127.0.0.1:1/")  # never the internet in tests
    with pytest.raises(ValueError, match="width_multiplier=1.0"):
        CascadeVGG(backbone_weights="imagenet", **TINY)  # refused before any download
    with pytest.raises(FileNotFoundError, match="download from http://127.0.0.1:1/vgg16/"):
        CascadeVGG(backbone_weights="imagenet", input_size=32)  # fails before building
    with pytest.raises(FileNotFoundError, match="no such file"):
        CascadeVGG(backbone_weights=tmp_path / "missing.h5", **TINY)
    source = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    source.save(tmp_path / "full_width.h5")
    with pytest.raises(ValueError, match="block1_conv1.*width_multiplier"):
        CascadeVGG(backbone_weights=tmp_path / "full_width.h5", **TINY)


def test_bad_variant_is_named():
    with pytest.raises(ValueError, match="variant"):
        CascadeVGG(variant="detection", **TINY)


@pytest.mark.slow
def test_paper_size_parameter_count():
    model = CascadeVGG()  # 380 input, 16 parts
    assert {name: tuple(t.shape[1:]) for name, t in model.output.items()} == {
        "detection": (48, 48, 16),
        "regression": (48, 48, 16),
    }
    vgg16_convs = 14_714_688  # keras.applications.VGG16(include_top=False).count_params()
    fc = 7 * 7 * 512 * 4096 + 4096 + 4096 * 4096 + 4096
    fcn_scores = (4096 + 512 + 256) * 16 + 3 * 16 + 2 * 4 * 4 * 16 * 16
    assert model.detector.count_params() == vgg16_convs + fc + fcn_scores == 134_346_608
    assert model.regressor.count_params() == 9_912_016
    assert model.count_params() == 144_258_624


def test_reload_does_not_need_the_backbone_file(tmp_path):
    source = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    weights = tmp_path / "vgg16_notop.h5"
    source.save(weights)
    model = CascadeVGG(input_size=32, backbone_weights=weights, variant="detection_only")
    model.save(tmp_path / "model.keras")
    weights.unlink()
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(
        loaded.detector.get_layer("block2_conv1").kernel.numpy(),
        source.get_layer("block2_conv1").kernel.numpy(),
    )
