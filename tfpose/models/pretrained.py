"""Loading ImageNet backbone weights published for ``keras.applications``.

The published files (``vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5``,
``resnet152_weights_tf_dim_ordering_tf_kernels[_notop].h5``) are in Keras' layer-named HDF5
format: the root attribute ``layer_names`` lists layers, and each layer's group lists its
arrays in its ``weight_names`` attribute, in the order of ``layer.weights``. Full models
saved by ``model.save("x.h5")`` keep the same layout under a ``model_weights`` group; both
are read here. (The Keras 3 ``.weights.h5`` format is keyed by object position, not layer
name, so it cannot be matched onto a different model and is rejected with an explanation.)

The detectors in :mod:`tfpose.models.cascade_vgg` and :mod:`tfpose.models.cascade_resnet`
name their layers exactly like ``keras.applications.VGG16`` / ``ResNet152``, so loading is a
by-name copy. A ``Dense`` kernel is reshaped into a convolution kernel with the same number of
entries (VGG's ``fc1`` [25088, 4096] → [7, 7, 512, 4096], FCN-style).
"""

from __future__ import annotations

import os
import pathlib

import h5py
import keras
import numpy as np


def keras_cache_dir() -> pathlib.Path:
    """Where ``keras.utils.get_file`` caches downloaded weights (``$KERAS_HOME/models``)."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return pathlib.Path(home) / "models"


def resolve_backbone_weights(
    backbone_weights: str | os.PathLike | None, file_names: tuple[str, ...], urls: tuple[str, ...]
) -> pathlib.Path | None:
    """Turns a ``backbone_weights`` argument into a file path (or ``None``).

    Args:
      backbone_weights: ``None`` (random initialisation), ``"imagenet"`` (the published
        keras.applications file, taken from the Keras download cache) or a path to such a file.
      file_names: cache file names to try, in order of preference, for ``"imagenet"``.
      urls: where those files are published (quoted in the error message).

    Raises:
      FileNotFoundError: the file does not exist, or ``"imagenet"`` is not in the cache
        (this project cannot download; the message says how to pass a path instead).
    """
    if backbone_weights is None:
        return None
    if str(backbone_weights) == "imagenet":
        for file_name in file_names:
            candidate = keras_cache_dir() / file_name
            if candidate.is_file():
                return candidate
        looked = ", ".join(str(keras_cache_dir() / n) for n in file_names)
        raise FileNotFoundError(
            "backbone_weights='imagenet': the ImageNet weights are not in the Keras cache "
            f"(looked for {looked}) and tfpose never downloads them. Download one of "
            f"{', '.join(urls)} on a machine with internet access, copy it here and pass "
            "backbone_weights=<path to the .h5 file> (or put it in the cache folder above)."
        )
    path = pathlib.Path(backbone_weights)
    if not path.is_file():
        raise FileNotFoundError(f"backbone_weights: no such file {str(path)!r}")
    return path


def load_layer_named_weights(model: keras.Model, path: str | os.PathLike) -> list[str]:
    """Copies arrays from a layer-named Keras HDF5 file into the layers of ``model`` by name.

    Layers of ``model`` absent from the file keep their values (e.g. the added scoring
    layers); layers of the file absent from ``model`` are ignored (e.g. ``predictions``).

    Args:
      model: the model (or sub-model) whose top-level layers receive the weights.
      path: a keras.applications weights file, or a model saved with ``model.save("x.h5")``.

    Returns:
      The names of the layers that were loaded, in file order.

    Raises:
      ValueError: the file is not layer-named HDF5, no layer name matches, or a matched
        layer's arrays have a different number or size (message names the layer and shapes).
    """
    path = str(path)
    layers = {layer.name: layer for layer in model.layers}
    loaded = []
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        layer_names = _read_attribute(root, "layer_names")
        if layer_names is None:
            raise ValueError(
                f"{path}: not a layer-named Keras HDF5 weights file (no 'layer_names' "
                "attribute). Keras 3 '.weights.h5' files are keyed by position, not layer name; "
                "save the source model with model.save('x.h5') or use the published "
                "keras.applications '.h5' file."
            )
        for layer_name in layer_names:
            layer = layers.get(layer_name)
            if layer is None:
                continue
            group = root[layer_name]
            weight_names = _read_attribute(group, "weight_names") or []
            arrays = [np.asarray(group[name]) for name in weight_names]
            _assign(layer, arrays, path)
            loaded.append(layer_name)
    if not loaded:
        raise ValueError(
            f"{path}: no layer name matches a layer of model {model.name!r} "
            f"(file has e.g. {list(layer_names)[:4]}, model has e.g. {list(layers)[:4]})"
        )
    return loaded


def _assign(layer: keras.layers.Layer, arrays: list[np.ndarray], path: str) -> None:
    variables = layer.weights
    if len(variables) != len(arrays):
        raise ValueError(
            f"{path}: layer {layer.name!r} has {len(arrays)} arrays in the file but "
            f"{len(variables)} in the model"
        )
    for variable, array in zip(variables, arrays, strict=True):
        shape = tuple(variable.shape)
        if array.shape != shape:
            if array.size != int(np.prod(shape)):
                raise ValueError(
                    f"{path}: layer {layer.name!r}: file array {array.shape} does not fit "
                    f"variable {variable.path} {shape} (is width_multiplier 1.0?)"
                )
            array = array.reshape(shape)  # Dense kernel -> equivalent conv kernel
        variable.assign(array.astype(variable.dtype))


def _read_attribute(group: h5py.Group, name: str) -> list[str] | None:
    # Keras splits attributes larger than HDF5's 64 KiB header limit into name0, name1, ...
    if name in group.attrs:
        values = list(group.attrs[name])
    elif f"{name}0" in group.attrs:
        values, chunk = [], 0
        while f"{name}{chunk}" in group.attrs:
            values.extend(group.attrs[f"{name}{chunk}"])
            chunk += 1
    else:
        return None
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]
