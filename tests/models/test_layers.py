"""Tests for tfpose.models.layers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose.models.layers import BilinearUpsampling, scaled_channels


@pytest.mark.parametrize("stride", [2, 4])
def test_bilinear_transposed_conv_equals_bilinear_resize(stride):
    channels = 3
    layer = keras.layers.Conv2DTranspose(
        channels,
        2 * stride,
        strides=stride,
        padding="same",
        use_bias=False,
        kernel_initializer=BilinearUpsampling(),
    )
    x = np.random.default_rng(0).normal(size=(1, 6, 6, channels)).astype("float32")
    upsampled = layer(x).numpy()
    resized = tf.image.resize(x, (6 * stride, 6 * stride), method="bilinear").numpy()
    assert upsampled.shape == resized.shape
    inner = slice(stride, -stride)  # borders differ: zero padding vs edge clamping
    np.testing.assert_allclose(upsampled[:, inner, inner], resized[:, inner, inner], atol=1e-5)


def test_bilinear_kernel_is_diagonal_in_channels():
    kernel = BilinearUpsampling()((4, 4, 3, 3)).numpy()
    np.testing.assert_allclose(
        kernel[:, :, 0, 0], np.outer([0.25, 0.75, 0.75, 0.25], [0.25, 0.75, 0.75, 0.25])
    )
    assert not np.any(kernel[:, :, 0, 1])
    np.testing.assert_array_equal(kernel[:, :, 2, 2], kernel[:, :, 0, 0])


def test_bilinear_initializer_serializes():
    config = keras.initializers.serialize(BilinearUpsampling())
    assert isinstance(keras.initializers.deserialize(config), BilinearUpsampling)
    with pytest.raises(ValueError, match="4-D"):
        BilinearUpsampling()((4, 4))


def test_scaled_channels():
    assert scaled_channels(64, 1.0) == 64
    assert scaled_channels(64, 0.125) == 8
    assert scaled_channels(3, 0.1) == 1
