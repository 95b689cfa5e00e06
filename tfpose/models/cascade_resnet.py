"""Part heatmap regression with residual subnetworks (Bulat & Tzimiropoulos, ECCV 2016, §3.2).

The paper's best model. Detector (Table 3): ResNet-152 with the last stage's stride changed
from 2 to 1, average pool and fc removed, a 1×1 scoring conv with N outputs and a 4×4
stride-4 transposed conv — stride 16 → 4 (64×64 maps for a 256 input). Layers are named
exactly like ``keras.applications.ResNet152`` (Caffe layout: the stride is on the first 1×1
convolution of a block) so the published ImageNet weights load by name.

Regressor (Table 4): one hourglass (Newell et al. 2016) on [image ‖ heatmaps upsampled to
the input resolution]: conv 7×7/2 (64) + max-pool 2×2 → stride 4; residual modules; an
hourglass from S/4 down to S/64 (4×4 for 256) and back, upsampling with 4×4/2 transposed
convs instead of nearest neighbour; conv 1×1 (512); scoring conv 1×1 (N); a final 8×8/4
transposed conv back to the input resolution. Batch norm throughout.

Initialisation (paper): added layers zero, transposed convs bilinear. Literally zeroing every
regressor convolution, as the paper states, leaves every activation and therefore every
weight gradient at zero (nothing would train), so only the scoring layers start at zero;
the other regressor convolutions are He-normal.

Shape legend: B batch, S input size, N keypoints.
"""

from __future__ import annotations

import functools

import keras

from tfpose.models.layers import (
    CascadeStages,
    bilinear_transposed_conv,
    resolve_dtype,
    scaled_channels,
    validate_imagenet_width,
)
from tfpose.models.pretrained import load_layer_named_weights, resolve_backbone_weights

# Bottleneck blocks per stage (conv2_x … conv5_x) of the ResNets with 1×1-3×3-1×1 blocks.
RESNET_STAGE_DEPTHS = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
STAGE_FILTERS = (64, 128, 256, 512)  # bottleneck width; block output is 4× this
STAGE_STRIDES = (1, 2, 2, 1)  # keras/He et al. use (1, 2, 2, 2); the paper sets the last to 1
DETECTOR_STRIDE = 16
DETECTOR_UPSAMPLING = 4  # "a deconvolution layer B7 with a kernel size and stride of 4"
DETECTION_STRIDE = DETECTOR_STRIDE // DETECTOR_UPSAMPLING  # of the detector's maps
BN_EPSILON = 1.001e-5  # keras.applications.ResNet

HOURGLASS_FEATURES = 256
HOURGLASS_DEPTH = 4  # S/4 → S/64: 64×64 → 4×4 for S = 256
HOURGLASS_MODULES = 3  # "3x bottleneck" per block in Table 4
HEAD_FEATURES = 512  # "1x conv layer (512, 1x1)"
REGRESSOR_STRIDE = 4  # after the 7×7/2 conv and the 2×2 max-pool
PAPER_INPUT_SIZE = 256

# keras.applications ResNet files for backbone_weights="imagenet", in order of preference: the
# detector has no classifier, so the "_notop" file (downloaded when neither is in the Keras
# cache); the full file is used when it is the one cached.
RESNET_WEIGHT_SUFFIXES = ("_notop", "")


def apply_residual_block(x, filters: int, stride: int, conv_shortcut: bool, name: str, dtype):
    """keras.applications ``residual_block_v1`` (same layer names): [B,H,W,C] → [B,H/s,W/s,4f]."""

    def conv(channels, kernel, suffix, strides=1):
        return keras.layers.Conv2D(
            channels, kernel, strides=strides, padding="same", name=f"{name}_{suffix}", dtype=dtype
        )

    def batch_norm(suffix):
        return keras.layers.BatchNormalization(
            epsilon=BN_EPSILON, name=f"{name}_{suffix}", dtype=dtype
        )

    shortcut = x
    if conv_shortcut:
        shortcut = batch_norm("0_bn")(conv(4 * filters, 1, "0_conv", stride)(x))
    x = conv(filters, 1, "1_conv", stride)(x)
    x = keras.layers.ReLU(name=f"{name}_1_relu", dtype=dtype)(batch_norm("1_bn")(x))
    x = conv(filters, 3, "2_conv")(x)
    x = keras.layers.ReLU(name=f"{name}_2_relu", dtype=dtype)(batch_norm("2_bn")(x))
    x = batch_norm("3_bn")(conv(4 * filters, 1, "3_conv")(x))
    x = keras.layers.Add(name=f"{name}_add", dtype=dtype)([shortcut, x])
    return keras.layers.ReLU(name=f"{name}_out", dtype=dtype)(x)


def build_detector(
    input_size: int,
    num_keypoints: int,
    width_multiplier: float,
    stage_depths: tuple[int, ...],
    dtype: str,
) -> keras.Model:
    """ResNet part detector: image [B, S, S, 3] → scores (logits) [B, S/4, S/4, N]."""
    image = keras.Input(shape=(input_size, input_size, 3), name="image", dtype="float32")
    x = keras.layers.ZeroPadding2D(3, name="conv1_pad", dtype=dtype)(image)
    x = keras.layers.Conv2D(
        scaled_channels(64, width_multiplier), 7, strides=2, name="conv1_conv", dtype=dtype
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name="conv1_bn", dtype=dtype)(x)
    x = keras.layers.ReLU(name="conv1_relu", dtype=dtype)(x)
    x = keras.layers.ZeroPadding2D(1, name="pool1_pad", dtype=dtype)(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool", dtype=dtype)(x)
    for stage, (filters, depth, stride) in enumerate(
        zip(STAGE_FILTERS, stage_depths, STAGE_STRIDES, strict=True), 2
    ):
        filters = scaled_channels(filters, width_multiplier)
        for block in range(1, depth + 1):
            x = apply_residual_block(
                x,
                filters,
                stride if block == 1 else 1,
                conv_shortcut=block == 1,
                name=f"conv{stage}_block{block}",
                dtype=dtype,
            )
    x = keras.layers.Conv2D(
        num_keypoints, 1, kernel_initializer="zeros", name="detector_score", dtype=dtype
    )(x)
    x = bilinear_transposed_conv(
        num_keypoints, DETECTOR_UPSAMPLING, DETECTOR_UPSAMPLING, "detector_upsample", dtype
    )(x)
    return keras.Model(image, x, name="detector")


def apply_hourglass_residual(x, channels: int, name: str, dtype):
    """Newell et al.'s pre-activation bottleneck: BN-ReLU-1×1 (C/2), 3×3 (C/2), 1×1 (C)."""
    shortcut = x
    if x.shape[-1] != channels:
        shortcut = _he_conv(channels, 1, f"{name}_skip", dtype)(x)
    for index, (width, kernel) in enumerate(
        ((channels // 2 or 1, 1), (channels // 2 or 1, 3), (channels, 1)), 1
    ):
        x = keras.layers.BatchNormalization(name=f"{name}_bn{index}", dtype=dtype)(x)
        x = keras.layers.ReLU(name=f"{name}_relu{index}", dtype=dtype)(x)
        x = _he_conv(width, kernel, f"{name}_conv{index}", dtype)(x)
    return keras.layers.Add(name=f"{name}_add", dtype=dtype)([shortcut, x])


def _he_conv(channels: int, kernel: int, name: str, dtype, strides: int = 1):
    return keras.layers.Conv2D(
        channels,
        kernel,
        strides=strides,
        padding="same",
        kernel_initializer="he_normal",
        name=name,
        dtype=dtype,
    )


def _modules(x, channels: int, count: int, name: str, dtype):
    for index in range(1, count + 1):
        x = apply_hourglass_residual(x, channels, f"{name}_res{index}", dtype)
    return x


def apply_hourglass(x, depth: int, channels: int, modules: int, name: str, dtype):
    """One hourglass level: skip branch + (pool, modules, inner level, modules, upsample)."""
    skip = _modules(x, channels, modules, f"{name}_skip", dtype)
    low = keras.layers.MaxPooling2D(2, name=f"{name}_pool", dtype=dtype)(x)
    low = _modules(low, channels, modules, f"{name}_down", dtype)
    if depth > 1:
        low = apply_hourglass(low, depth - 1, channels, modules, f"{name}_inner", dtype)
    else:
        low = _modules(low, channels, modules, f"{name}_bottom", dtype)
    low = _modules(low, channels, modules, f"{name}_up", dtype)
    up = bilinear_transposed_conv(channels, 4, 2, f"{name}_upsample", dtype)(low)
    return keras.layers.Add(name=f"{name}_merge", dtype=dtype)([skip, up])


def build_regressor(
    input_size: int,
    num_keypoints: int,
    width_multiplier: float,
    hourglass_modules: int,
    heatmap_stride: int,
    dtype: str,
    output_stride: int = 1,
) -> keras.Model:
    """Hourglass regressor: image [B,S,S,3] + heatmaps [B,S/h,S/h,N] → maps [B,S/o,S/o,N].

    ``output_stride`` 1 is the paper's (a final 8×8/4 transposed conv to the input
    resolution); 4 keeps the maps at the hourglass's resolution.
    """
    if output_stride not in (1, REGRESSOR_STRIDE):
        raise ValueError(f"regressor output_stride must be 1 or {REGRESSOR_STRIDE}")
    features = scaled_channels(HOURGLASS_FEATURES, width_multiplier)
    image = keras.Input(shape=(input_size, input_size, 3), name="image", dtype="float32")
    size = input_size // heatmap_stride
    heatmaps = keras.Input(shape=(size, size, num_keypoints), name="heatmaps", dtype="float32")
    x = heatmaps
    if heatmap_stride > 1:
        x = keras.layers.UpSampling2D(
            heatmap_stride, interpolation="bilinear", name="regressor_heatmap_upsample", dtype=dtype
        )(x)
    x = keras.layers.Concatenate(name="regressor_concat", dtype=dtype)([image, x])
    x = _he_conv(scaled_channels(64, width_multiplier), 7, "regressor_conv1", dtype, strides=2)(x)
    x = keras.layers.BatchNormalization(name="regressor_bn1", dtype=dtype)(x)
    x = keras.layers.ReLU(name="regressor_relu1", dtype=dtype)(x)
    x = keras.layers.MaxPooling2D(2, name="regressor_pool1", dtype=dtype)(x)
    x = _modules(x, features, hourglass_modules, "regressor_stem", dtype)
    x = apply_hourglass(x, HOURGLASS_DEPTH, features, hourglass_modules, "hourglass", dtype)
    x = _he_conv(scaled_channels(HEAD_FEATURES, width_multiplier), 1, "regressor_head", dtype)(x)
    x = keras.layers.BatchNormalization(name="regressor_head_bn", dtype=dtype)(x)
    x = keras.layers.ReLU(name="regressor_head_relu", dtype=dtype)(x)
    x = keras.layers.Conv2D(
        num_keypoints, 1, kernel_initializer="zeros", name="regressor_score", dtype=dtype
    )(x)
    if output_stride == REGRESSOR_STRIDE:
        return keras.Model([image, heatmaps], x, name="regressor")
    x = bilinear_transposed_conv(
        num_keypoints, 2 * REGRESSOR_STRIDE, REGRESSOR_STRIDE, "regressor_upsample", dtype
    )(x)
    return keras.Model([image, heatmaps], x, name="regressor")


@keras.saving.register_keras_serializable(package="tfpose")
class CascadeResNet(CascadeStages, keras.Model):
    """Bulat & Tzimiropoulos's part heatmap regression, residual instance.

    Args:
      num_keypoints: N, parts (16 MPII, 14 LSP, 17 COCO).
      input_size: S, side of the square input (paper: 256); a multiple of 64.
      width_multiplier: scales every hidden channel count (1.0 = paper; ImageNet weights need
        1.0).
      variant: ``"detection_regression"`` (the method), ``"detection_only"``,
        ``"regression_only"`` or ``"regression_regression"`` (paper's Table 5).
      stage_depths: bottleneck blocks per ResNet stage; ``RESNET_STAGE_DEPTHS[152]`` in the
        paper (ImageNet weights need a keras.applications depth: 50, 101 or 152).
      hourglass_modules: residual modules per hourglass block (paper: 3).
      backbone_weights: ``None``, ``"imagenet"`` (the keras.applications ResNet file of that
        depth, from the Keras cache or downloaded into it, see :mod:`tfpose.models.pretrained`)
        or a path to such a file; loaded into the first stage by layer name. Kept in the
        config but not re-loaded by ``from_config``: a saved model has its own weights.
      dtype: dtype policy of the layers (``None`` = the global policy); outputs are float32.
      **kwargs: ``name`` / ``trainable`` for ``keras.Model``.

    Inputs:
      ``image``: [B, S, S, 3] float32, normalised by the data pipeline (ImageNet weights expect
      ``keras.applications.resnet.preprocess_input``, i.e. BGR minus the ImageNet mean).

    Outputs (float32):
      ``detection``: part-detection LOGITS [B, S/4, S/4, N] (apply a sigmoid in the loss /
      decoder); ``regression``: confidence maps, [B, S, S, N] after a regressor and
      [B, S/4, S/4, N] for ``regression_only``; ``regression_0``: first-stage maps
      [B, S/4, S/4, N] (``regression_regression`` only). The regressor sees
      ``sigmoid(detection)`` (or ``regression_0``), bilinearly upsampled, stacked with the image.

    Staged training: :class:`tfpose.models.layers.CascadeStages`.
    """

    input_multiple = REGRESSOR_STRIDE * 2**HOURGLASS_DEPTH
    min_input_size = 64
    first_stage_stride = DETECTION_STRIDE
    regressor_stride = 1

    def __init__(
        self,
        num_keypoints: int = 16,
        input_size: int = PAPER_INPUT_SIZE,
        width_multiplier: float = 1.0,
        variant: str = "detection_regression",
        stage_depths=RESNET_STAGE_DEPTHS[152],
        hourglass_modules: int = HOURGLASS_MODULES,
        backbone_weights=None,
        dtype=None,
        **kwargs,
    ):
        self.validate_cascade_arguments(num_keypoints, input_size, width_multiplier, variant)
        stage_depths = tuple(stage_depths)
        if len(stage_depths) != 4 or not all(isinstance(d, int) and d >= 1 for d in stage_depths):
            raise ValueError(
                f"CascadeResNet: stage_depths must be 4 positive ints, got {stage_depths!r}"
            )
        if not isinstance(hourglass_modules, int) or hourglass_modules < 1:
            raise ValueError(
                f"CascadeResNet: hourglass_modules must be an int >= 1, got {hourglass_modules!r}"
            )
        weights_path = None
        if backbone_weights is not None:
            depth = {v: k for k, v in RESNET_STAGE_DEPTHS.items()}.get(stage_depths)
            if depth is None and str(backbone_weights) == "imagenet":
                raise ValueError(
                    "CascadeResNet: backbone_weights='imagenet' needs stage_depths of "
                    f"ResNet-50/101/152 ({RESNET_STAGE_DEPTHS}), got {stage_depths}"
                )
            validate_imagenet_width("CascadeResNet", backbone_weights, width_multiplier, "ResNet's")
            files = tuple(
                f"resnet{depth}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
                for suffix in RESNET_WEIGHT_SUFFIXES
            )
            weights_path = resolve_backbone_weights(backbone_weights, files)
        policy = resolve_dtype(dtype)

        # === Functional model ===
        detector = build_detector(input_size, num_keypoints, width_multiplier, stage_depths, policy)
        if weights_path is not None:
            load_layer_named_weights(detector, weights_path)
        regressor = functools.partial(
            build_regressor,
            width_multiplier=width_multiplier,
            hourglass_modules=hourglass_modules,
            heatmap_stride=DETECTION_STRIDE,
        )
        self.init_cascade(locals(), policy, detector, regressor, kwargs)
