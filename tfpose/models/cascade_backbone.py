"""Part heatmap regression on an ImageNet-pretrained backbone (Bulat & Tzimiropoulos, ECCV 2016).

The method of :mod:`tfpose.models.cascade_resnet` with a backbone from
:mod:`tfpose.models.backbones` as the part-detection subnetwork, sized for a CPU:

=====================  ======================================================================
detector               backbone (stride 32) → three 4×4 stride-2 transposed convolutions
                       (256·w channels, batch norm, ReLU; SimpleBaseline's decoder) → 1×1
                       scoring conv → part-detection logits at stride 4
regressor              the residual instance's hourglass on [image ‖ sigmoid(detection)]
                       (:func:`tfpose.models.cascade_resnet.build_regressor`), width
                       ``regressor_width``; its maps stay at stride 4 (the paper's last 8×8/4
                       transposed conv to the input resolution costs more multiply-adds here
                       than the whole backbone)
=====================  ======================================================================

The decoder and the scoring convolution start from N(0, 0.001) (SimpleBaseline); the
regressor's scoring conv from zero, as in the paper. The Table 5 variants are built the same
way as for the residual instance (:data:`tfpose.models.layers.CASCADE_VARIANTS`).

Shape legend: B batch, S input size (a multiple of 64), N keypoints.
"""

from __future__ import annotations

import functools

import keras

from tfpose.models import backbones
from tfpose.models.cascade_resnet import build_regressor
from tfpose.models.layers import (
    CascadeStages,
    resolve_dtype,
    scaled_channels,
    validate_choice,
)

OUTPUT_STRIDE = 4
DECODER_UPSAMPLINGS = 3  # stride 32 -> 4
HEAD_STDDEV = 0.001  # SimpleBaseline's initialisation of the decoder and the scoring conv


def build_detector(
    input_size: int, num_keypoints: int, backbone: str, width_multiplier: float, dtype: str
) -> keras.Model:
    """Backbone part detector: image [B, S, S, 3] in [0, 1] → logits [B, S/4, S/4, N]."""
    image = keras.Input(shape=(input_size, input_size, 3), name="image", dtype="float32")
    x = backbones.apply_backbone(image, backbone, dtype)[32]
    small = keras.initializers.RandomNormal(stddev=HEAD_STDDEV)
    for index in range(1, DECODER_UPSAMPLINGS + 1):
        x = keras.layers.Conv2DTranspose(
            scaled_channels(256, width_multiplier),
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=small,
            name=f"detector_deconv{index}",
            dtype=dtype,
        )(x)
        x = keras.layers.BatchNormalization(name=f"detector_deconv_bn{index}", dtype=dtype)(x)
        x = keras.layers.ReLU(name=f"detector_deconv_relu{index}", dtype=dtype)(x)
    x = keras.layers.Conv2D(
        num_keypoints, 1, kernel_initializer=small, name="detector_score", dtype=dtype
    )(x)
    return keras.Model(image, x, name="detector")


@keras.saving.register_keras_serializable(package="tfpose")
class CascadeBackbone(CascadeStages, keras.Model):
    """Bulat & Tzimiropoulos's cascade with a pretrained part detector.

    Args:
      num_keypoints: N.
      input_size: S, a multiple of 64 (backbone stride 32, hourglass down to S/64).
      backbone: a name in :data:`tfpose.models.backbones.BACKBONES`.
      backbone_weights: ``"imagenet"``, a path to the backbone's file, or ``None`` (random).
        Kept in the config but not re-loaded by ``from_config``.
      width_multiplier: scales the detector's decoder (256 channels at 1.0).
      regressor_width: scales the regressor (the paper's hourglass at 1.0).
      hourglass_modules: residual modules per hourglass block (paper: 3).
      variant: one of :data:`tfpose.models.layers.CASCADE_VARIANTS`.
      dtype: dtype policy of the layers (``None`` = the global policy); outputs are float32.

    Inputs:
      ``image``: [B, S, S, 3], RGB in [0, 1].

    Outputs (float32, all [B, S/4, S/4, N]): ``detection`` (logits), ``regression``,
    ``regression_0`` as for :class:`tfpose.models.cascade_resnet.CascadeResNet`.
    """

    input_multiple = 64
    min_input_size = 64
    first_stage_stride = regressor_stride = OUTPUT_STRIDE

    def __init__(
        self,
        num_keypoints: int = 16,
        input_size: int = 256,
        backbone: str = "mobilenet_v2",
        backbone_weights=None,
        width_multiplier: float = 0.5,
        regressor_width: float = 0.25,
        hourglass_modules: int = 1,
        variant: str = "detection_regression",
        dtype=None,
        **kwargs,
    ):
        self.validate_cascade_arguments(num_keypoints, input_size, width_multiplier, variant)
        validate_choice("CascadeBackbone", "backbone", backbone, list(backbones.BACKBONES))
        if not regressor_width > 0:
            raise ValueError(f"CascadeBackbone: regressor_width must be > 0, got {regressor_width}")
        policy = resolve_dtype(dtype)

        detector = build_detector(input_size, num_keypoints, backbone, width_multiplier, policy)
        if backbone_weights is not None:
            backbones.load_imagenet_weights(detector, backbone, backbone_weights)
        regressor = functools.partial(
            build_regressor,
            width_multiplier=regressor_width,
            hourglass_modules=hourglass_modules,
            heatmap_stride=OUTPUT_STRIDE,
            output_stride=OUTPUT_STRIDE,
        )
        self.init_cascade(locals(), policy, detector, regressor, kwargs)
