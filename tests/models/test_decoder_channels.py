"""The decoder width of a recurrent model on a pretrained backbone (``decoder_channels``)."""

import numpy as np
import pytest

from tests.models import assert_save_load_round_trip
from tfpose import run_config
from tfpose.models import build_model


def _conv_channels(model, name):
    return model.get_layer(name).kernel.shape[-2]  # Conv2DTranspose: [k, k, out, in]


_SMALL = dict(input_size=64, num_passes=1, width_multiplier=0.5, backbone_weights=None)


def test_decoder_channels_set_each_transposed_convolution(tmp_path):
    model = build_model("recurrent_mobilenet_v2", **_SMALL, decoder_channels=(48, 40, 24))
    assert [_conv_channels(model, f"feedforward_deconv{i}") for i in (1, 2, 3)] == [48, 40, 24]
    assert model.get_layer("feedforward_keypoints").kernel.shape[-2] == 24
    assert tuple(model.output[model.prediction_output].shape[1:]) == (16, 16, 16)
    default = build_model("recurrent_mobilenet_v2", **_SMALL)
    assert [_conv_channels(default, f"feedforward_deconv{i}") for i in (1, 2, 3)] == [128] * 3
    assert model.count_params() < default.count_params()

    images = np.random.default_rng(0).uniform(size=(1, 64, 64, 3)).astype(np.float32)
    loaded = assert_save_load_round_trip(model, tmp_path, images, rtol=0.0)
    assert loaded.decoder_channels == (48, 40, 24)


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
