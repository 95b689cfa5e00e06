"""Tests for tfpose.models.cascade_resnet (tiny configurations unless marked paper size)."""

import keras
import numpy as np
import pytest

from tests.models import (
    assert_gradients_reach_every_weight,
    assert_output_shapes,
    assert_same_layer_weights,
    assert_save_load_round_trip,
    random_images,
)
from tfpose.models.cascade_resnet import RESNET_STAGE_DEPTHS, CascadeResNet
from tfpose.models.layers import BilinearUpsampling
from tfpose.models.pretrained import WEIGHTS_URL_ENV

TINY = {
    "input_size": 64,
    "width_multiplier": 0.0625,
    "stage_depths": (1, 1, 1, 1),
    "hourglass_modules": 1,
}


@pytest.mark.parametrize(
    "variant, outputs, prediction, stride",
    [
        ("detection_regression", {"detection": 16, "regression": 64}, "regression", 1),
        ("detection_only", {"detection": 16}, "detection", 4),
        ("regression_only", {"regression": 16}, "regression", 4),
        ("regression_regression", {"regression_0": 16, "regression": 64}, "regression", 1),
    ],
)
def test_variants_outputs(variant, outputs, prediction, stride):
    model = CascadeResNet(num_keypoints=17, variant=variant, **TINY)
    assert_output_shapes(model, {name: (size, size, 17) for name, size in outputs.items()})
    assert model.prediction_output == prediction
    assert model.output_stride == stride
    assert model.output_strides == {name: 64 // size for name, size in outputs.items()}


def test_paper_initialisation():
    model = CascadeResNet(**TINY)
    for name in ("detector_score",):
        assert not np.any(model.detector.get_layer(name).kernel.numpy())
    assert not np.any(model.regressor.get_layer("regressor_score").kernel.numpy())
    bilinear = BilinearUpsampling()
    for layer in (
        model.detector.get_layer("detector_upsample"),
        model.regressor.get_layer("hourglass_upsample"),
        model.regressor.get_layer("regressor_upsample"),
    ):
        kernel = layer.kernel.numpy()
        np.testing.assert_array_equal(kernel, bilinear(kernel.shape).numpy())
    # Batch norm throughout the regressor (the paper's residual instance).
    assert any(
        isinstance(layer, keras.layers.BatchNormalization) for layer in model.regressor.layers
    )


def test_save_load_round_trip(tmp_path):
    assert_save_load_round_trip(CascadeResNet(num_keypoints=14, **TINY), tmp_path)


@pytest.mark.parametrize("variant", ["detection_regression", "regression_regression"])
def test_gradients_reach_every_weight(variant):
    assert_gradients_reach_every_weight(CascadeResNet(variant=variant, **TINY))


def test_loads_keras_applications_resnet_weights(tmp_path):
    source = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    for layer in source.layers:  # non-trivial batch-norm statistics too
        for variable in layer.weights:
            variable.assign(np.random.default_rng(0).uniform(0.5, 1.5, variable.shape))
    path = tmp_path / "resnet50_notop.h5"
    source.save(path)
    model = CascadeResNet(
        input_size=64,
        stage_depths=RESNET_STAGE_DEPTHS[50],
        backbone_weights=path,
        variant="detection_only",
    )
    assert_same_layer_weights(
        model.detector,
        source,
        ("conv1_conv", "conv1_bn", "conv3_block1_0_conv", "conv5_block3_3_bn"),
    )
    # Same layers and weights as keras' ResNet-50, plus the scoring conv and transposed conv.
    added = model.detector.get_layer("detector_score").count_params()
    added += model.detector.get_layer("detector_upsample").count_params()
    assert model.detector.count_params() == source.count_params() + added


def test_imagenet_needs_a_keras_depth_and_full_width(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv(WEIGHTS_URL_ENV, "http://127.0.0.1:1/")  # never the internet in tests
    with pytest.raises(ValueError, match="stage_depths"):
        CascadeResNet(backbone_weights="imagenet", **TINY)
    with pytest.raises(ValueError, match="width_multiplier=1.0"):
        CascadeResNet(backbone_weights="imagenet", input_size=64, width_multiplier=0.0625)
    # The default depth is 152; resolving the file fails before the network is built.
    with pytest.raises(FileNotFoundError, match="resnet152_weights_tf_dim_ordering_tf_kernels_no"):
        CascadeResNet(backbone_weights="imagenet", input_size=64)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_size": 96}, "multiple of 64"),
        ({"stage_depths": (1, 1, 1)}, "stage_depths"),
        ({"hourglass_modules": 0}, "hourglass_modules"),
        ({"variant": "regression"}, "variant"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CascadeResNet(**{**TINY, **kwargs})


def test_regressor_input_is_image_and_upsampled_sigmoid_heatmaps():
    model = CascadeResNet(**TINY)
    image, heatmaps = model.regressor.inputs
    assert tuple(image.shape[1:]) == (64, 64, 3)
    assert tuple(heatmaps.shape[1:]) == (16, 16, 16)
    outputs = model(random_images(model), training=False)
    assert set(outputs) == {"detection", "regression"}


@pytest.mark.slow
def test_paper_size_parameter_count():
    model = CascadeResNet()  # ResNet-152 detector, 256 input, 16 parts
    assert {name: tuple(t.shape[1:]) for name, t in model.output.items()} == {
        "detection": (64, 64, 16),
        "regression": (256, 256, 16),
    }
    resnet152_notop = 58_370_944  # keras.applications.ResNet152(include_top=False)
    added = (2048 * 16 + 16) + (4 * 4 * 16 * 16 + 16)
    assert model.detector.count_params() == resnet152_notop + added == 58_407_840
    assert model.regressor.count_params() == 13_457_952
    assert model.count_params() == 71_865_792
