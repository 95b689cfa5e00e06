"""Tests for tfpose.models.recurrent (tiny configurations unless marked paper size)."""

import numpy as np
import pytest

from tests.models import (
    assert_gradients_reach_every_weight,
    assert_output_shapes,
    assert_save_load_round_trip,
    random_images,
    randomize_weights,
)
from tfpose.models.recurrent import RecurrentPoseNet

TINY = {"input_size": 32, "width_multiplier": 0.125}


def test_output_names_and_shapes():
    model = RecurrentPoseNet(num_keypoints=16, num_limbs=15, num_passes=2, **TINY)
    expected = {}
    for t in range(3):
        expected[f"keypoints_{t}"] = (8, 8, 16)
        expected[f"limbs_{t}"] = (8, 8, 15)
    assert_output_shapes(model, expected)
    assert model.prediction_output == "keypoints_2"
    assert model.output_stride == 4
    assert model.output_strides == {name: 4 for name in expected}


@pytest.mark.parametrize("num_keypoints", [14, 17])
def test_no_limbs_and_other_skeletons(num_keypoints):
    model = RecurrentPoseNet(num_keypoints=num_keypoints, num_limbs=0, num_passes=1, **TINY)
    assert_output_shapes(
        model, {"keypoints_0": (8, 8, num_keypoints), "keypoints_1": (8, 8, num_keypoints)}
    )


def test_feedforward_only():
    model = RecurrentPoseNet(num_passes=0, **TINY)
    assert sorted(model.output_names) == ["keypoints_0", "limbs_0"]
    assert model.prediction_output == "keypoints_0"


def test_weight_count_does_not_depend_on_passes():
    counts = {t: RecurrentPoseNet(num_passes=t, **TINY).count_params() for t in (1, 2, 4)}
    assert len(set(counts.values())) == 1, counts
    # The feed-forward model alone is smaller: the passes do own one set of weights.
    assert RecurrentPoseNet(num_passes=0, **TINY).count_params() < counts[1]


def test_unshared_batch_norm_adds_one_set_per_extra_pass():
    shared = RecurrentPoseNet(num_passes=3, **TINY)
    unshared = RecurrentPoseNet(num_passes=3, share_batch_norm=False, **TINY)
    bn_channels = sum(int(w.shape[0]) for w in shared.weights if "recurrent_bn" in w.path)
    assert unshared.count_params() - shared.count_params() == 2 * bn_channels


def test_passes_share_weights_but_not_outputs():
    model = RecurrentPoseNet(num_passes=2, **TINY)
    kernel = model.get_layer("recurrent_conv1").kernel
    assert sum(w is kernel for w in model.weights) == 1
    randomize_weights(model)
    outputs = model(random_images(model), training=False)
    assert not np.allclose(outputs["keypoints_1"], outputs["keypoints_2"])


def test_save_load_round_trip(tmp_path):
    assert_save_load_round_trip(RecurrentPoseNet(num_passes=2, num_limbs=3, **TINY), tmp_path)


def test_gradients_reach_every_weight():
    assert_gradients_reach_every_weight(
        RecurrentPoseNet(num_passes=2, share_batch_norm=False, **TINY)
    )


def test_dilated_large_kernels_span_the_same_window():
    dense = RecurrentPoseNet(num_passes=1, **TINY)
    dilated = RecurrentPoseNet(num_passes=1, large_kernels="dilated", **TINY)
    for name, (kernel, dilation) in {
        "feedforward_conv1": (3, 1),
        "feedforward_conv7": (3, 4),  # 9 x 9
        "feedforward_conv9": (1, 1),
        "recurrent_conv1": (3, 3),  # 7 x 7
        "recurrent_conv2": (3, 6),  # 13 x 13
    }.items():
        layer = dilated.get_layer(name)
        assert layer.kernel_size == (kernel, kernel) and layer.dilation_rate == (dilation,) * 2
        span = (kernel - 1) * dilation + 1
        assert dense.get_layer(name).kernel_size == (span, span), name
    assert dilated.count_params() < dense.count_params() / 3
    assert dilated.get_config()["large_kernels"] == "dilated"
    # "dilated_feedforward": the 9 x 9 ones only; the recurrent module keeps its dense kernels.
    mixed = RecurrentPoseNet(num_passes=1, large_kernels="dilated_feedforward", **TINY)
    assert mixed.get_layer("feedforward_conv8").dilation_rate == (4, 4)
    for name in ("recurrent_conv1", "recurrent_conv2", "recurrent_conv3"):
        assert mixed.get_layer(name).kernel_size == dense.get_layer(name).kernel_size
        assert mixed.get_layer(name).dilation_rate == (1, 1)
    assert dilated.count_params() < mixed.count_params() < dense.count_params()


def test_dilated_model_round_trips_and_trains(tmp_path):
    model = RecurrentPoseNet(num_passes=1, num_limbs=3, large_kernels="dilated_feedforward", **TINY)
    assert_save_load_round_trip(model, tmp_path)
    assert_gradients_reach_every_weight(model)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"large_kernels": "sparse"}, "large_kernels"),
        ({"input_size": 30}, "multiple of 4"),
        ({"num_passes": -1}, "num_passes"),
        ({"num_limbs": -2}, "num_limbs"),
        ({"num_keypoints": 0}, "num_keypoints"),
        ({"width_multiplier": 0}, "width_multiplier"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RecurrentPoseNet(**{**TINY, **kwargs})


@pytest.mark.slow
def test_paper_size_is_layer_exact():
    model = RecurrentPoseNet()  # 248 input, 16 keypoints, 15 limbs, the paper's 2 iterations
    assert {name: tuple(t.shape[1:]) for name, t in model.output.items()} == {
        **{f"keypoints_{t}": (62, 62, 16) for t in range(4)},
        **{f"limbs_{t}": (62, 62, 15) for t in range(4)},
    }
    kernels = {
        w.path.split("/")[0]: tuple(w.shape) for w in model.weights if w.path.endswith("kernel")
    }
    # Released initialize3ObjeRecFusion.m: conv1-10, heads, fusion block (7, 13, 13, 1).
    assert kernels == {
        "feedforward_conv1": (3, 3, 3, 64),
        "feedforward_conv2": (3, 3, 64, 64),
        "feedforward_conv3": (3, 3, 64, 64),
        "feedforward_conv4": (3, 3, 64, 128),
        "feedforward_conv5": (3, 3, 128, 128),
        "feedforward_conv6": (3, 3, 128, 128),
        "feedforward_conv7": (9, 9, 128, 256),
        "feedforward_conv8": (9, 9, 256, 512),
        "feedforward_conv9": (1, 1, 512, 256),
        "feedforward_conv10": (1, 1, 256, 256),
        "feedforward_keypoints": (1, 1, 256, 16),
        "feedforward_limbs": (1, 1, 256, 15),
        "recurrent_conv1": (7, 7, 384, 64),
        "recurrent_conv2": (13, 13, 64, 64),
        "recurrent_conv3": (13, 13, 64, 128),
        "recurrent_conv4": (1, 1, 128, 256),
        "recurrent_keypoints": (1, 1, 256, 16),
        "recurrent_limbs": (1, 1, 256, 15),
    }
    assert sum(int(np.prod(shape)) for shape in kernels.values()) == 17_241_280
    assert model.count_params() == 17_250_110
