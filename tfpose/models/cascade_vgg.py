"""Part heatmap regression with VGG-FCN subnetworks (Bulat & Tzimiropoulos, ECCV 2016, §3.1).

Detector (Table 1): VGG-16 made fully convolutional and fused FCN-8s style down to stride 8.

====================  ==============================================================
``block1``-``block5``   VGG-16 3×3 convolutions (64, 128, 256, 512, 512) + 2×2 max-pools,
                        named exactly like ``keras.applications.VGG16``
``fc1``, ``fc2``        the fully connected layers as convolutions: 7×7 → 4096, 1×1 → 4096
                        (FCN; the ImageNet ``fc1``/``fc2`` kernels load reshaped)
``score_fr``            1×1 → N
``upscore2``            4×4/2 transposed conv, + ``score_pool4`` (1×1 on pool4)
``upscore_pool4``       4×4/2 transposed conv, + ``score_pool3`` (1×1 on pool3) → stride 8
====================  ==============================================================

Regressor (Table 2): seven convolutions on [image ‖ heatmaps] at the detector's stride 8,
the image being average-pooled 8×8 to that resolution (see ``REGRESSOR_LAYERS``).

Pooling uses ``padding="same"`` so any input size works: every map is ``ceil(S / 8)`` wide
(48 for the paper's 380); an upsampled map that overshoots its skip by one row is cropped.

No batch norm (the paper's VGG instance has none). Initialisation: VGG layers from ImageNet
when ``backbone_weights`` is given (else Glorot, like keras.applications); the added scoring
layers 0 and the transposed convs bilinear, as in FCN; regressor N(0, 0.01) (paper).

Shape legend: B batch, S input size, N keypoints (parts), s = ceil(S / 8).
"""

from __future__ import annotations

import functools
import math

import keras

from tfpose.models.layers import (
    CascadeStages,
    bilinear_transposed_conv,
    crop_to,
    resolve_dtype,
    scaled_channels,
    validate_imagenet_width,
)
from tfpose.models.pretrained import load_layer_named_weights, resolve_backbone_weights

# VGG-16 blocks: (channels, number of 3×3 convolutions).
VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
# FCN-style fully connected layers. The paper says the fc layers became convolutions "of kernel
# size 1"; FCN (which it cites for the conversion) and methods.md make fc6 7×7, which is also
# the only shape the published ImageNet fc1 kernel [25088, 4096] fits. Change here if needed.
FC_KERNEL_SIZES = (7, 1)
FC_CHANNELS = 4096
# Regressor, Table 2 of the paper (garbled in the text we have). Layout "layer(channels,
# kernel, stride)" as in Table 1, so "layer(128, 13x13)" and "layer(256, 15x15)" are read as
# 128 channels 13×13 and 256 channels 15×15; the first two layers' channel counts and the 7×7
# kernel are lost and taken from Pfister et al.'s spatial fusion layers (7×7 64, 13×13 64),
# which this subnetwork extends ("the first 4 layers use a large kernel size that varies from
# 7 to 15"). methods.md pairs them differently (13×13 128, 13×13 256, 15×15 ?). Followed by the
# scoring layer 1×1 → N. (kernel, channels):
REGRESSOR_LAYERS = ((7, 64), (13, 64), (13, 128), (15, 256), (1, 512), (1, 512))
REGRESSOR_STDDEV = 0.01
OUTPUT_STRIDE = 8
PAPER_INPUT_SIZE = 380

# keras.applications VGG16 files for backbone_weights="imagenet", in order of preference; the
# first is downloaded when neither is in the Keras cache. The full file, because the detector
# keeps fc1/fc2 (as FCN convolutions) and only the full file has them (528 MB; the 59 MB
# "_notop" file, used when it is the one cached, leaves fc1/fc2 randomly initialised).
VGG16_WEIGHT_FILES = (
    "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
)


def _map_size(input_size: int, stride: int) -> int:
    return math.ceil(input_size / stride)


def build_detector(
    input_size: int, num_keypoints: int, width_multiplier: float, dtype: str
) -> keras.Model:
    """The VGG-FCN part detector: [B, S, S, 3] image → [B, s, s, N] scores (logits)."""
    image = keras.Input(shape=(input_size, input_size, 3), name="image", dtype="float32")
    x, pools = image, []
    for block, (channels, depth) in enumerate(VGG16_BLOCKS, 1):
        for index in range(1, depth + 1):
            x = keras.layers.Conv2D(
                scaled_channels(channels, width_multiplier),
                3,
                padding="same",
                activation="relu",
                name=f"block{block}_conv{index}",
                dtype=dtype,
            )(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"block{block}_pool", dtype=dtype)(x)
        pools.append(x)
    for index, kernel in enumerate(FC_KERNEL_SIZES, 1):
        x = keras.layers.Conv2D(
            scaled_channels(FC_CHANNELS, width_multiplier),
            kernel,
            padding="same",
            activation="relu",
            name=f"fc{index}",
            dtype=dtype,
        )(x)
    x = _score(num_keypoints, "score_fr", dtype)(x)
    for pool, name in ((pools[3], "pool4"), (pools[2], "pool3")):
        upscore = "upscore2" if name == "pool4" else "upscore_pool4"
        x = bilinear_transposed_conv(num_keypoints, 4, 2, upscore, dtype, use_bias=False)(x)
        x = crop_to(x, pool.shape[1], pool.shape[2], f"crop_{name}", dtype)
        x = keras.layers.Add(name=f"fuse_{name}", dtype=dtype)(
            [x, _score(num_keypoints, f"score_{name}", dtype)(pool)]
        )
    return keras.Model(image, x, name="detector")


def _score(num_keypoints: int, name: str, dtype: str):
    return keras.layers.Conv2D(num_keypoints, 1, kernel_initializer="zeros", name=name, dtype=dtype)


def build_regressor(
    input_size: int, num_keypoints: int, width_multiplier: float, dtype: str
) -> keras.Model:
    """The regression subnetwork: image [B, S, S, 3] + heatmaps [B, s, s, N] → [B, s, s, N]."""
    size = _map_size(input_size, OUTPUT_STRIDE)
    image = keras.Input(shape=(input_size, input_size, 3), name="image", dtype="float32")
    heatmaps = keras.Input(shape=(size, size, num_keypoints), name="heatmaps", dtype="float32")
    small_image = keras.layers.AveragePooling2D(
        OUTPUT_STRIDE, padding="same", name="regressor_image_pool", dtype=dtype
    )(image)
    x = keras.layers.Concatenate(name="regressor_concat", dtype=dtype)([small_image, heatmaps])
    for index, (kernel, channels) in enumerate(REGRESSOR_LAYERS, 1):
        x = _regressor_conv(
            scaled_channels(channels, width_multiplier), kernel, f"regressor_conv{index}", dtype
        )(x)
    x = _regressor_conv(num_keypoints, 1, "regressor_score", dtype, activation=None)(x)
    return keras.Model([image, heatmaps], x, name="regressor")


def _regressor_conv(channels: int, kernel: int, name: str, dtype: str, activation="relu"):
    return keras.layers.Conv2D(
        channels,
        kernel,
        padding="same",
        activation=activation,
        kernel_initializer=keras.initializers.RandomNormal(stddev=REGRESSOR_STDDEV),
        name=name,
        dtype=dtype,
    )


@keras.saving.register_keras_serializable(package="tfpose")
class CascadeVGG(CascadeStages, keras.Model):
    """Bulat & Tzimiropoulos's part heatmap regression, VGG-FCN instance.

    Args:
      num_keypoints: N, parts (16 MPII, 14 LSP, 17 COCO).
      input_size: S, side of the square input (paper: 380).
      width_multiplier: scales every hidden channel count (1.0 = paper; ImageNet weights need
        1.0).
      variant: ``"detection_regression"`` (the method), ``"detection_only"``,
        ``"regression_only"`` (the detector trained by L2 on confidence maps) or
        ``"regression_regression"`` (two L2 stages) — the ablations of the paper's Table 5.
      backbone_weights: ``None``, ``"imagenet"`` (the keras.applications VGG16 file, from the
        Keras cache or downloaded into it, see :mod:`tfpose.models.pretrained`) or a path to
        such a file; loaded into the first stage by layer name. Kept in the config but not
        re-loaded by ``from_config``: a saved model has its own weights.
      dtype: dtype policy of the layers (``None`` = the global policy); outputs are float32.
      **kwargs: ``name`` / ``trainable`` for ``keras.Model``.

    Inputs:
      ``image``: [B, S, S, 3] float32, normalised by the data pipeline (ImageNet weights expect
      ``keras.applications.vgg16.preprocess_input``, i.e. BGR minus the ImageNet mean).

    Outputs (float32, all [B, s, s, N] with s = ceil(S / 8)):
      ``detection``: part-detection LOGITS (apply a sigmoid in the loss / decoder);
      ``regression``: regressed confidence maps (the prediction);
      ``regression_0``: first-stage confidence maps (``regression_regression`` only).
    The regressor sees ``sigmoid(detection)`` (or ``regression_0``) stacked with the image.

    Staged training: :class:`tfpose.models.layers.CascadeStages`.
    """

    input_multiple = 1
    min_input_size = 32
    first_stage_stride = regressor_stride = OUTPUT_STRIDE

    def __init__(
        self,
        num_keypoints: int = 16,
        input_size: int = PAPER_INPUT_SIZE,
        width_multiplier: float = 1.0,
        variant: str = "detection_regression",
        backbone_weights=None,
        dtype=None,
        **kwargs,
    ):
        self.validate_cascade_arguments(num_keypoints, input_size, width_multiplier, variant)
        validate_imagenet_width("CascadeVGG", backbone_weights, width_multiplier, "VGG-16's")
        weights_path = resolve_backbone_weights(backbone_weights, VGG16_WEIGHT_FILES)
        policy = resolve_dtype(dtype)

        # === Functional model ===
        detector = build_detector(input_size, num_keypoints, width_multiplier, policy)
        if weights_path is not None:
            load_layer_named_weights(detector, weights_path)
        regressor = functools.partial(build_regressor, width_multiplier=width_multiplier)
        self.init_cascade(locals(), policy, detector, regressor, kwargs)
