"""Building blocks shared by the model families: initialisers, channel scaling, output heads.

Shape legend: B batch, H/W height/width of a feature map, C channels, K keypoints.
"""

from __future__ import annotations

import inspect
import math

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="tfpose")
class BilinearUpsampling(keras.initializers.Initializer):
    """Initialises a ``Conv2DTranspose`` kernel as bilinear upsampling (FCN, Long et al. 2015).

    The filter is Caffe's "bilinear" filler: for a kernel of size ``k``, ``f = ceil(k / 2)``,
    ``c = (2f - 1 - f % 2) / (2f)`` and ``w(x) = 1 - |x / f - c|`` along each axis. With
    ``k = 2s - s % 2`` for stride ``s`` (4 for ×2, 8 for ×4) and ``padding="same"`` the layer
    starts as exact bilinear interpolation. Channel ``i`` is upsampled into channel ``i``
    only (a diagonal kernel), so the layer starts as a per-channel upsampler.

    Works for any kernel of shape ``(kh, kw, C_out, C_in)``; off-diagonal channel pairs are 0.
    """

    def __call__(self, shape, dtype=None):
        if len(shape) != 4:
            raise ValueError(
                f"BilinearUpsampling initialises a 4-D transposed-conv kernel, got shape {shape}"
            )
        kh, kw, c_out, c_in = shape
        kernel = np.zeros(shape, dtype=np.float32)
        plane = np.outer(_bilinear_1d(kh), _bilinear_1d(kw))
        for channel in range(min(c_out, c_in)):
            kernel[:, :, channel, channel] = plane
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self) -> dict:
        return {}


def _bilinear_1d(size: int) -> np.ndarray:
    factor = math.ceil(size / 2)
    center = (2 * factor - 1 - factor % 2) / (2.0 * factor)
    x = np.arange(size, dtype=np.float64)
    return (1.0 - np.abs(x / factor - center)).astype(np.float32)


def scaled_channels(channels: int, width_multiplier: float) -> int:
    """Channel count of a hidden layer after applying the width multiplier (at least 1)."""
    return max(1, int(round(channels * width_multiplier)))


def validate_common_args(
    *,
    model: str,
    num_keypoints: int,
    input_size: int,
    width_multiplier: float,
    input_multiple: int,
    min_input_size: int,
) -> None:
    """Raises ``ValueError`` naming the argument when a constructor argument is unusable."""
    if not isinstance(num_keypoints, int) or num_keypoints < 1:
        raise ValueError(f"{model}: num_keypoints must be a positive int, got {num_keypoints!r}")
    if not isinstance(input_size, int) or input_size < min_input_size:
        raise ValueError(
            f"{model}: input_size must be an int >= {min_input_size}, got {input_size!r}"
        )
    if input_size % input_multiple:
        raise ValueError(
            f"{model}: input_size must be a multiple of {input_multiple}, got {input_size}"
        )
    if not width_multiplier > 0:
        raise ValueError(f"{model}: width_multiplier must be > 0, got {width_multiplier!r}")


def validate_choice(model: str, name: str, value, choices) -> None:
    """Raises ``ValueError`` naming the argument when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{model}: {name} must be one of {choices}, got {value!r}")


def validate_imagenet_width(model: str, backbone_weights, width_multiplier: float, widths: str):
    """Raises ``ValueError`` when ImageNet weights are asked for a model of another width
    (the ImageNet layers have ``widths``, e.g. "VGG-16's")."""
    if str(backbone_weights) == "imagenet" and width_multiplier != 1.0:
        raise ValueError(
            f"{model}: backbone_weights='imagenet' needs width_multiplier=1.0 (the "
            f"ImageNet layers have {widths} widths), got {width_multiplier}"
        )


def resolve_dtype(dtype) -> str:
    """The dtype-policy name the layers of a model are built with.

    Args:
      dtype: ``None`` (use the global ``keras.mixed_precision`` policy at construction time),
        a policy name such as ``"mixed_float16"`` / ``"mixed_bfloat16"`` / ``"float32"``, or a
        ``keras.DTypePolicy``.
    """
    if dtype is None:
        return keras.config.dtype_policy().name
    if isinstance(dtype, keras.DTypePolicy):
        return dtype.name
    return keras.DTypePolicy(dtype).name


def float32_output(x, name: str):
    """Identity that casts a head to float32 and gives the model output its ``name``.

    Under a mixed policy the network computes in float16/bfloat16; losses and decoders
    always receive float32.
    """
    return keras.layers.Activation("linear", dtype="float32", name=name)(x)


def bilinear_transposed_conv(
    channels: int, kernel: int, strides: int, name: str, dtype: str, use_bias: bool = True
):
    """A ``padding="same"`` ``Conv2DTranspose`` that starts as bilinear upsampling
    (:class:`BilinearUpsampling`)."""
    return keras.layers.Conv2DTranspose(
        channels,
        kernel,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=BilinearUpsampling(),
        name=name,
        dtype=dtype,
    )


def crop_to(x, height: int, width: int, name: str, dtype: str):
    """Crops the bottom/right of ``x`` [B, H, W, C] to [B, height, width, C] (no-op if equal).

    Upsampling a map whose size was rounded up by a ``"same"`` pooling can overshoot its skip
    connection by a row/column; FCN crops the same way.
    """
    h, w = x.shape[1], x.shape[2]
    if (h, w) == (height, width):
        return x
    if h < height or w < width:
        raise ValueError(f"{name}: cannot crop a {h}x{w} map to {height}x{width}")
    return keras.layers.Cropping2D(((0, h - height), (0, w - width)), name=name, dtype=dtype)(x)


class ArgumentsConfig:
    """``get_config`` / ``from_config`` of a model whose config is its constructor's arguments.

    Mixed in before ``keras.Model``. The constructor ends with :meth:`keep_arguments`, which
    keeps every argument of its ``__init__`` (but ``dtype`` and ``**kwargs``) under the
    argument's name, and its dtype-policy name as ``dtype_policy_name``; the config is those
    (tuples as lists) plus ``name``, ``trainable`` and ``dtype``. ``from_config`` does not read
    ImageNet ``backbone_weights`` again (:func:`from_config_without_backbone_weights`).
    """

    def keep_arguments(self, arguments: dict, dtype_policy: str) -> None:
        """Keeps the constructor's ``arguments`` (its ``locals()``) for :meth:`get_config`:
        each under its name (``backbone_weights`` as a string), the dtype policy's name as
        ``dtype_policy_name``."""
        for name in constructor_arguments(type(self)):
            setattr(self, name, arguments[name])
        if self.backbone_weights is not None:
            self.backbone_weights = str(self.backbone_weights)
        self.dtype_policy_name = dtype_policy

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        for name in constructor_arguments(type(self)):
            value = getattr(self, name)
            config[name] = list(value) if isinstance(value, tuple) else value
        config["dtype"] = self.dtype_policy_name
        return config

    @classmethod
    def from_config(cls, config: dict):
        return from_config_without_backbone_weights(cls, config)


def constructor_arguments(cls) -> list[str]:
    """The named arguments of ``cls.__init__`` but ``dtype``, in order."""
    return [
        parameter.name
        for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and parameter.name != "dtype"
    ]


class CascadeStages(ArgumentsConfig):
    """The two stages of a part-heatmap-regression cascade, shared by its instances.

    Mixed into the cascade models, whose functional graph holds the nested models ``detector``
    (first stage: part detector, or first regressor of the regression variants) and, except for
    single-stage variants, ``regressor``. Staged training sets their ``trainable`` flags:
    ``model.detector`` is the first stage, ``model.regressor`` the second (``None`` for
    single-stage variants); set ``model.detector.trainable = False`` to train the regressor
    alone, then back to ``True`` for joint training (re-compile after each).

    Each instance sets the class attributes below, checks its common arguments with
    :meth:`validate_cascade_arguments` and ends its constructor with :meth:`init_cascade`.
    """

    input_multiple: int  # the input size must be a multiple of this
    min_input_size: int
    first_stage_stride: int  # input pixels per pixel of the first stage's maps
    regressor_stride: int  # input pixels per pixel of the regressor's maps

    def validate_cascade_arguments(
        self, num_keypoints: int, input_size: int, width_multiplier: float, variant: str
    ) -> None:
        """Raises ``ValueError`` naming the argument when a common argument is unusable."""
        model = type(self).__name__
        validate_common_args(
            model=model,
            num_keypoints=num_keypoints,
            input_size=input_size,
            width_multiplier=width_multiplier,
            input_multiple=self.input_multiple,
            min_input_size=self.min_input_size,
        )
        validate_choice(model, "variant", variant, CASCADE_VARIANTS)

    def init_cascade(
        self, arguments: dict, dtype_policy: str, detector: keras.Model, build_regressor, kwargs
    ) -> None:
        """Ends the constructor: wires ``detector`` and the regressor into the functional model
        (:func:`apply_cascade`), then keeps the constructor's ``arguments`` (its ``locals()``,
        see :meth:`keep_arguments`); ``kwargs`` go to ``keras.Model``.

        Args:
          build_regressor: called (only for two-stage variants) with the keyword arguments
            ``input_size``, ``num_keypoints`` (from ``arguments``) and ``dtype``.
        """
        input_size, num_keypoints = arguments["input_size"], arguments["num_keypoints"]
        image, outputs = apply_cascade(
            input_size,
            detector,
            arguments["variant"],
            dtype_policy,
            lambda: build_regressor(
                input_size=input_size, num_keypoints=num_keypoints, dtype=dtype_policy
            ),
        )
        super().__init__(inputs=image, outputs=outputs, **kwargs)
        self.keep_arguments(arguments, dtype_policy)

    @property
    def detector(self) -> keras.Model:
        """The first stage (part detector, or first regressor for regression variants)."""
        return self.get_layer("detector")

    @property
    def regressor(self) -> keras.Model | None:
        """The second stage, or ``None`` for single-stage variants."""
        names = {layer.name for layer in self.layers}
        return self.get_layer("regressor") if "regressor" in names else None

    @property
    def prediction_output(self) -> str:
        """Name of the output to decode into keypoints."""
        return "detection" if self.variant == "detection_only" else "regression"

    @property
    def output_strides(self) -> dict[str, int]:
        """Stride of every output, by name."""
        second = self.first_stage_stride if self.regressor is None else self.regressor_stride
        return {
            name: second if name == "regression" else self.first_stage_stride
            for name in self.output_names
        }

    @property
    def output_stride(self) -> int:
        """Input pixels per pixel of :attr:`prediction_output`."""
        return self.output_strides[self.prediction_output]


# Bulat & Tzimiropoulos' Table 5 variants, shared by both cascade instances.
CASCADE_VARIANTS = (
    "detection_regression",
    "detection_only",
    "regression_only",
    "regression_regression",
)


def apply_cascade(
    input_size: int, detector: keras.Model, variant: str, dtype: str, build_regressor
):
    """Wires a cascade: the image input, the first stage, then (two-stage variants) the
    regressor on [image ‖ first-stage maps] — ``sigmoid(detection)`` for the method, the raw
    maps for regression + regression.

    Args:
      input_size: S, side of the [B, S, S, 3] float32 input ``image``.
      detector: the first-stage model.
      variant: one of :data:`CASCADE_VARIANTS`.
      dtype: dtype policy name.
      build_regressor: ``() -> keras.Model`` taking ``[image, maps]``; called only when needed.

    Returns:
      ``(image, outputs)``, the functional model's input and its outputs dict (float32):
      ``detection`` (logits) or ``regression_0`` / ``regression``, plus ``regression`` for
      two-stage variants.
    """
    image = keras.Input(shape=(input_size, input_size, 3), name="image", dtype="float32")
    first = detector(image)
    outputs = {}
    if variant in ("detection_regression", "detection_only"):
        outputs["detection"] = float32_output(first, "detection")
    else:
        first_name = "regression" if variant == "regression_only" else "regression_0"
        outputs[first_name] = float32_output(first, first_name)
    if variant in ("detection_regression", "regression_regression"):
        heatmaps = first
        if variant == "detection_regression":
            heatmaps = keras.layers.Activation("sigmoid", name="detection_sigmoid", dtype=dtype)(
                first
            )
        regressor = build_regressor()
        outputs["regression"] = float32_output(regressor([image, heatmaps]), "regression")
    return image, outputs


def from_config_without_backbone_weights(cls, config: dict):
    """``cls.from_config`` for models whose config names ImageNet ``backbone_weights``: a saved
    model holds its trained weights, so the ImageNet file is not read again (it may not exist
    where the model is loaded), but the config keeps its value."""
    model = cls(**{**config, "backbone_weights": None})
    model.backbone_weights = config.get("backbone_weights")
    return model
