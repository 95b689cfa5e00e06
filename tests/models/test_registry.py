"""Tests for tfpose.models: the MODELS table, presets, XLA and mixed precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models import random_images, randomize_weights
from tfpose.models import MODEL_PRESETS, MODELS, as_float32, build_model

TINY_OVERRIDES = {
    "recurrent_tiny": {"input_size": 32},
    "cascade_vgg_tiny": {"input_size": 32, "width_multiplier": 0.0625},
    "cascade_resnet_tiny": {"input_size": 64, "width_multiplier": 0.0625},
}


@pytest.fixture
def restore_policy():
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)


def test_every_preset_is_a_model():
    assert set(MODELS) == set(MODEL_PRESETS)
    for name in ("recurrent", "cascade_vgg", "cascade_resnet"):
        assert f"{name}_tiny" in MODELS
    for family in ("cascade_vgg", "cascade_resnet"):
        for variant in ("detection_only", "regression_only", "regression_regression"):
            assert MODEL_PRESETS[f"{family}_{variant}"][1] == {"variant": variant}


def test_unknown_name_is_a_readable_error():
    with pytest.raises(ValueError, match="unknown model 'recurent'.*'recurrent'.*cascade_vgg"):
        build_model("recurent")


@pytest.mark.parametrize("name", sorted(TINY_OVERRIDES))
def test_tiny_presets_build_with_overrides(name):
    model = build_model(name, num_keypoints=14, **TINY_OVERRIDES[name])
    assert model.prediction_output in model.output_names
    assert model.output[model.prediction_output].shape[-1] == 14
    size = model.output[model.prediction_output].shape[1]
    assert size * model.output_stride == model.input_size


def test_recurrent_tiny_preset_is_the_quickstart_configuration():
    model = build_model("recurrent_tiny")
    assert (model.num_keypoints, model.num_limbs, model.input_size) == (16, 15, 128)
    assert model.output["keypoints_2"].shape[1:] == (32, 32, 16)


@pytest.mark.parametrize("name", sorted(TINY_OVERRIDES))
def test_xla_matches_eager(name):
    model = build_model(name, **TINY_OVERRIDES[name])
    randomize_weights(model)
    images = tf.constant(random_images(model))
    compiled = tf.function(lambda x: model(x, training=False), jit_compile=True)
    expected, actual = model(images, training=False), compiled(images)
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("name", sorted(TINY_OVERRIDES))
def test_mixed_precision_global_policy(name, policy, restore_policy):
    keras.config.set_dtype_policy(policy)
    model = build_model(name, **TINY_OVERRIDES[name])
    keras.config.set_dtype_policy("float32")
    compute = policy.removeprefix("mixed_")
    convs = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == compute for layer in convs)
    assert all(w.dtype == "float32" for w in model.weights)
    randomize_weights(model)
    outputs = model(random_images(model), training=True)
    for tensor in outputs.values():
        assert tensor.dtype == "float32"
        assert np.all(np.isfinite(tensor))
    assert model.get_config()["dtype"] == policy


def test_dtype_argument_overrides_the_global_policy(restore_policy):
    keras.config.set_dtype_policy("float32")
    model = build_model("recurrent_tiny", input_size=32, dtype="mixed_bfloat16")
    assert model.get_layer("feedforward_conv1").compute_dtype == "bfloat16"
    assert model.output["keypoints_0"].dtype == "float32"


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


@pytest.mark.parametrize("name", sorted(TINY_OVERRIDES))
def test_as_float32_copies_a_mixed_precision_model(name, restore_policy):
    model = build_model(name, **TINY_OVERRIDES[name], dtype="mixed_bfloat16")
    randomize_weights(model)
    copy = as_float32(model)
    assert copy is not model and copy.get_config()["dtype"] == "float32"
    convs = [layer for layer in _all_layers(copy) if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == "float32" for layer in convs)
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    images = random_images(model)
    expected, actual = model(images, training=False), copy(images, training=False)
    for key in expected:  # bfloat16 keeps 8 bits of mantissa
        scale = float(np.max(np.abs(actual[key]))) + 1e-6
        assert float(np.max(np.abs(expected[key] - actual[key]))) < 0.1 * scale
    float_model = build_model(name, **TINY_OVERRIDES[name], dtype="float32")
    assert as_float32(float_model) is float_model
