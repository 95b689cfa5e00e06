"""Model families as data: what training, the pipeline, evaluation and export ask of a model.

A *family* is a kind of network trained one way. Each declares, in one :class:`Family` row:

* ``model_classes`` — the Keras classes of its presets (``tfpose.models.MODEL_PRESETS``);
* ``codec`` — keypoints → training targets: the data-pipeline preset that encodes the
  annotation into the maps the network learns; the decoding side (argmax with sub-pixel
  refinement, :func:`tfpose.data.targets.decode_heatmaps`) reads the peak the codec's keypoint
  head trains (its ``amplitude``) or, for logits, a sigmoid — both read off the same targets
  and losses by :meth:`tfpose.model_spec.ModelSpec.from_model`;
* ``losses`` — the loss term of every output;
* ``stages`` — the schedule stages it can be trained in;
* ``constructor`` — the run settings that become constructor arguments;
* ``background_ratio`` — whether its heatmap loss takes ``--background_ratio``.

Nothing outside this table decides by a model's name. A new family is a new row (and its
presets in ``MODEL_PRESETS``); ``tests/models/test_families.py`` adds a toy one from inside
the test and trains, evaluates and exports it.

The functions below take the run's settings as ``config`` (a
:class:`tfpose.training.run.RunConfig`, read by attribute) so that this module does not
depend on the training package.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import keras

from tfpose import losses
from tfpose.data import pipeline, transforms
from tfpose.data import targets as targets_lib
from tfpose.models.cascade_backbone import CascadeBackbone
from tfpose.models.cascade_resnet import CascadeResNet
from tfpose.models.cascade_vgg import CascadeVGG
from tfpose.models.recurrent import RecurrentPoseNet


@dataclasses.dataclass(frozen=True)
class Family:
    """One row of :data:`FAMILIES` (see the module docstring)."""

    name: str
    model_classes: tuple[type[keras.Model], ...]
    codec: Callable[..., pipeline.PipelineConfig]
    losses: Callable[[Any, keras.Model], dict[str, losses.LossTerm]]
    stages: tuple[str, ...]
    constructor: Callable[[Any, Any], dict[str, Any]]
    background_ratio: bool = False


def preset_arguments(model_name: str) -> dict[str, Any]:
    """The constructor arguments the preset ``model_name`` fixes."""
    from tfpose.models import MODEL_PRESETS

    if model_name not in MODEL_PRESETS:
        raise ValueError(f"unknown model {model_name!r}")
    return dict(MODEL_PRESETS[model_name][1])


def input_normalization(model_name: str, default: str) -> str:
    """How the pipeline must normalise images for ``model_name``: models on a pretrained
    backbone take RGB in [0, 1] and normalise it themselves; others keep the codec's."""
    return "unit" if preset_arguments(model_name).get("backbone") else default


# ------------------------------------------------------------------ shared constructor args


def _common_arguments(config, skeleton) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"num_keypoints": skeleton.num_keypoints}
    if config.input_size:
        kwargs["input_size"] = config.input_size
    if config.width_multiplier is not None:
        kwargs["width_multiplier"] = config.width_multiplier
    if config.backbone_weights:
        kwargs["backbone_weights"] = config.backbone_weights
    return kwargs


# ----------------------------------------------------------------------------- recurrent


def _recurrent_codec(config, skeleton, input_size, stride, augmentation):
    del stride  # always 4
    return pipeline.belagiannis_config(
        skeleton,
        with_limbs=config.limbs,
        occlusion_mode=config.occlusion_mode,
        input_size=input_size,
        augmentation=augmentation,
    )


def _recurrent_losses(config, model):
    # Outputs keypoints_0 (feed-forward) ... keypoints_{num_passes}.
    weights = list(config.pass_weights) if config.pass_weights else None
    spec = losses.recurrent_loss_spec(model.num_passes + 1, config.limbs, weights)
    if config.heatmap_loss:
        spec = {name: term._replace(kind=config.heatmap_loss) for name, term in spec.items()}
    return spec


def _recurrent_arguments(config, skeleton):
    kwargs = _common_arguments(config, skeleton)
    for name in (
        "num_passes",
        "kernel_init",
        "head_activation",
        "large_kernels",
        "frozen_backbone_stride",
        "decoder_channels",
    ):
        if getattr(config, name) is not None:
            kwargs[name] = getattr(config, name)
    kwargs["num_limbs"] = skeleton.num_limbs if config.limbs else 0
    return kwargs


# ------------------------------------------------------------------------------ cascades


def cascade_variant(model_name: str) -> str:
    """The Table 5 variant of a cascade preset (``detection_regression`` unless it sets one)."""
    return preset_arguments(model_name).get("variant", "detection_regression")


def _cascade_codec(config, skeleton, input_size, stride, augmentation):
    outputs = losses.CASCADE_VARIANTS[cascade_variant(config.model)]
    return pipeline.bulat_config(
        skeleton,
        input_size=input_size,
        heatmap_stride=stride,
        with_detection="detection" in outputs,
        occlusion_mode=config.occlusion_mode,
        augmentation=augmentation,
    )


def _cascade_losses(config, model):
    del model
    return losses.cascade_loss_spec(
        cascade_variant(config.model), config.detection_weight, config.regression_weight
    )


FAMILIES: dict[str, Family] = {
    "recurrent": Family(
        name="recurrent",
        model_classes=(RecurrentPoseNet,),
        codec=_recurrent_codec,
        losses=_recurrent_losses,
        stages=("joint",),
        constructor=_recurrent_arguments,
        background_ratio=True,
    ),
    "cascade": Family(
        name="cascade",
        model_classes=(CascadeVGG, CascadeResNet, CascadeBackbone),
        codec=_cascade_codec,
        losses=_cascade_losses,
        stages=("detector", "regressor", "joint"),
        constructor=_common_arguments,
    ),
}


def family_of(model_name: str) -> Family:
    """The family of the preset ``model_name``.

    Raises:
      ValueError: unknown preset, or its class belongs to no family.
    """
    from tfpose.models import MODEL_PRESETS

    if model_name not in MODEL_PRESETS:
        raise ValueError(f"unknown model {model_name!r}")
    model_class = MODEL_PRESETS[model_name][0]
    for family in FAMILIES.values():
        if model_class in family.model_classes:
            return family
    raise ValueError(
        f"model {model_name!r} ({model_class.__name__}) belongs to no family of "
        f"tfpose.models.families.FAMILIES ({', '.join(FAMILIES)})"
    )


def augmentation_of(config) -> transforms.AugmentationConfig:
    """The run's augmentation ranges: each field of the :class:`AugmentationConfig` that the run
    config has, by name (a run has no ``brightness``: it keeps its default)."""
    names = [f.name for f in dataclasses.fields(transforms.AugmentationConfig)]
    values = {name: getattr(config, name) for name in names if hasattr(config, name)}
    values["scale_range"] = tuple(values["scale_range"])
    return transforms.AugmentationConfig(**values)


def pipeline_config(config, skeleton, input_size: int, stride: int) -> pipeline.PipelineConfig:
    """The data pipeline of a run: the paper's preset with the run's augmentation ranges, the
    model's input size and the stride of its prediction output."""
    family = family_of(config.model)
    pipe = family.codec(config, skeleton, input_size, stride, augmentation_of(config))
    if config.crop_convention:
        pipe = dataclasses.replace(pipe, crop_convention=config.crop_convention)
    pipe = dataclasses.replace(
        pipe, normalization=input_normalization(config.model, pipe.normalization)
    )
    if config.heatmap_sigma is not None:
        # The keypoint Gaussians only; sigma keeps the preset's units (heatmap pixels for the
        # recurrent network, pixels per 200 px of person for the cascades).
        pipe = dataclasses.replace(
            pipe,
            targets=tuple(
                dataclasses.replace(t, sigma=config.heatmap_sigma)
                if isinstance(t, targets_lib.GaussianTarget)
                else t
                for t in pipe.targets
            ),
        )
    return pipe


def loss_spec(config, model: keras.Model) -> dict[str, losses.LossTerm]:
    """The loss term of every output of ``model``, as its family trains it."""
    return family_of(config.model).losses(config, model)
