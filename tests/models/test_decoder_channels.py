"""The decoder width of a recurrent model on a pretrained backbone (``decoder_channels``)."""

import keras
import numpy as np
import pytest

from tfpose import run_config
from tfpose.models import build_model


def _conv_channels(model, name):
    return model.get_layer(name).kernel.shape[-2]  # Conv2DTranspose: [k, k, out, in]


def test_decoder_channels_set_each_transposed_convolution(tmp_path):
    model = build_model(
        "recurrent_mobilenet_v2",
        input_size=64,
        num_passes=1,
        width_multiplier=0.5,
        backbone_weights=None,
        decoder_channels=(48, 40, 24),
    )
    assert [_conv_channels(model, f"feedforward_deconv{i}") for i in (1, 2, 3)] == [48, 40, 24]
    assert model.get_layer("feedforward_keypoints").kernel.shape[-2] == 24
    assert tuple(model.output[model.prediction_output].shape[1:]) == (16, 16, 16)
    default = build_model(
        "recurrent_mobilenet_v2",
        input_size=64,
        num_passes=1,
        width_multiplier=0.5,
        backbone_weights=None,
    )
    assert [_conv_channels(default, f"feedforward_deconv{i}") for i in (1, 2, 3)] == [128] * 3
    assert model.count_params() < default.count_params()

    images = np.random.default_rng(0).uniform(size=(1, 64, 64, 3)).astype(np.float32)
    before = model(images, training=False)
    path = tmp_path / "narrow.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.decoder_channels == (48, 40, 24)
    after = loaded(images, training=False)
    for key in before:
        np.testing.assert_allclose(after[key], before[key], atol=1e-5)


@pytest.mark.parametrize(
    "model, channels, message",
    [
        ("recurrent_tiny", (8, 8, 8), "decoder_channels needs a pretrained backbone"),
        ("recurrent_mobilenet_v2", (8, 8), "must be 3 positive ints"),
        ("recurrent_mobilenet_v2", (8, 0, 8), "must be 3 positive ints"),
    ],
)
def test_bad_decoder_channels_are_refused(model, channels, message):
    with pytest.raises(ValueError, match=message):
        build_model(model, input_size=64, backbone_weights=None, decoder_channels=channels)


def test_the_flag_reads_positive_integers():
    assert run_config.parse_positive_ints(["128", "128", "64"]) == (128, 128, 64)
    for bad in (["128", "x"], ["128", "-1"]):
        with pytest.raises(ValueError, match="--decoder_channels entry .* positive integer"):
            run_config.parse_positive_ints(bad)
