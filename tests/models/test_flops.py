"""Tests for tfpose.models.flops: TensorFlow's counts against hand-computed ones."""

import keras

from tfpose.models.flops import count_flops, count_flops_by_op_type
from tfpose.models.recurrent import RecurrentPoseNet


def test_counts_match_hand_computed_convolutions():
    image = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)(image)  # 16x16x8
    x = keras.layers.MaxPooling2D(2)(x)  # 8x8x8
    x = keras.layers.Conv2DTranspose(4, 4, strides=2, padding="same", use_bias=False)(x)
    model = keras.Model(image, x)
    by_type = count_flops_by_op_type(model)
    assert by_type["Conv2D"] == 2 * 16 * 16 * 8 * (3 * 3 * 3)  # 2 FLOPs per multiply-add
    assert by_type["Conv2DBackpropInput"] == 2 * 8 * 8 * 8 * (4 * 4 * 4)
    assert by_type["MaxPool"] == 8 * 8 * 8 * 4  # one per input element of the window
    assert count_flops(model) == sum(by_type.values())
    assert count_flops(model, batch_size=3) == 3 * count_flops(model)


def test_shared_recurrent_module_is_counted_once_per_pass():
    tiny = {"input_size": 32, "width_multiplier": 0.125}
    flops = [count_flops(RecurrentPoseNet(num_passes=t, **tiny)) for t in (1, 2, 3)]
    assert flops[1] - flops[0] == flops[2] - flops[1] > 0
