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

``backbone_weights="imagenet"`` behaves like ``keras.applications``: the file is taken from the
Keras cache (``$KERAS_HOME/models``, default ``~/.keras/models``) when a copy with the published
hash is there (no network access at all), and otherwise downloaded into that cache with
``keras.utils.get_file`` from the URL keras.applications uses, its hash checked. When the
download fails the error names the URL, the reason, and how to pass a local file instead.
"""

from __future__ import annotations

import hashlib
import os
import pathlib

import h5py
import keras
import numpy as np

# Where keras.applications publishes its weights; the environment variable replaces it (a
# mirror with the same layout: ``<base>/vgg16/<file>``, ``<base>/resnet/<file>``).
KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
WEIGHTS_URL_ENV = "TFPOSE_KERAS_WEIGHTS_URL"

# file name -> (folder under the base URL, md5 hash of the published file), exactly as in
# keras/src/applications/vgg16.py (WEIGHTS_PATH[_NO_TOP] and the file_hash passed to get_file)
# and resnet.py (BASE_WEIGHTS_PATH, WEIGHTS_HASHES: (with top, notop)).
PUBLISHED_WEIGHTS = {
    "vgg16_weights_tf_dim_ordering_tf_kernels.h5": ("vgg16", "64373286793e3c8b2b4e3219cbf3544b"),
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5": (
        "vgg16",
        "6d6bbae143d832006294945121d1f1fc",
    ),
    "resnet50_weights_tf_dim_ordering_tf_kernels.h5": (
        "resnet",
        "2cb95161c43110f7111970584f804107",
    ),
    "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5": (
        "resnet",
        "4d473c1dd8becc155b73f8504c6f6626",
    ),
    "resnet101_weights_tf_dim_ordering_tf_kernels.h5": (
        "resnet",
        "f1aeb4b969a6efcfb50fad2f0c20cfc5",
    ),
    "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5": (
        "resnet",
        "88cf7a10940856eca736dc7b7e228a21",
    ),
    "resnet152_weights_tf_dim_ordering_tf_kernels.h5": (
        "resnet",
        "100835be76be38e30d865e96f2aaae62",
    ),
    "resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5": (
        "resnet",
        "ee4c566cf9a93f14d82f913c2dc6dd0c",
    ),
}


def keras_cache_dir() -> pathlib.Path:
    """Where ``keras.utils.get_file`` caches downloaded weights (``$KERAS_HOME/models``).

    Read from the environment at each call (Keras itself reads ``KERAS_HOME`` once, at import).
    """
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return pathlib.Path(home) / "models"


def published_weights_url(file_name: str, base_url: str | None = None) -> str:
    """The URL of a published keras.applications weights file.

    ``base_url`` (else ``$TFPOSE_KERAS_WEIGHTS_URL``, else :data:`KERAS_APPLICATIONS_URL`) is
    the folder holding ``vgg16/`` and ``resnet/``.
    """
    folder, _ = PUBLISHED_WEIGHTS[file_name]
    base = base_url or os.environ.get(WEIGHTS_URL_ENV) or KERAS_APPLICATIONS_URL
    return f"{base.rstrip('/')}/{folder}/{file_name}"


def resolve_backbone_weights(
    backbone_weights: str | os.PathLike | None,
    file_names: tuple[str, ...],
    *,
    base_url: str | None = None,
) -> pathlib.Path | None:
    """Turns a ``backbone_weights`` argument into a file path (or ``None``).

    Args:
      backbone_weights: ``None`` (random initialisation), ``"imagenet"`` (the published
        keras.applications file, from the Keras cache or downloaded into it) or a path to such
        a file.
      file_names: for ``"imagenet"``, names of :data:`PUBLISHED_WEIGHTS` files accepted from
        the cache, in order of preference; the first is the one downloaded when none is cached.
      base_url: replaces the published base URL (see :func:`published_weights_url`).

    Raises:
      FileNotFoundError: the path does not exist, or ``"imagenet"`` is not in the cache and the
        download failed (the message names the URL and the reason, and says how to pass a
        local file instead).
      ValueError: the downloaded file does not have the published hash (it is deleted).
    """
    if backbone_weights is None:
        return None
    if str(backbone_weights) != "imagenet":
        path = pathlib.Path(backbone_weights)
        if not path.is_file():
            raise FileNotFoundError(f"backbone_weights: no such file {str(path)!r}")
        return path

    cache = keras_cache_dir()
    stale = []
    for file_name in file_names:
        candidate, published = cache / file_name, PUBLISHED_WEIGHTS[file_name][1]
        if candidate.is_file():
            if _file_hash(candidate, published) == published:
                return candidate  # cached: no network access
            stale.append(str(candidate))

    file_name = file_names[0]
    url = published_weights_url(file_name, base_url)
    expected = PUBLISHED_WEIGHTS[file_name][1]
    try:
        # get_file silently uses a temporary folder when the cache folder does not exist yet.
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    try:
        downloaded = keras.utils.get_file(
            file_name,
            url,
            file_hash=expected,
            cache_subdir="models",
            cache_dir=str(cache.parent),
        )
    except ValueError as error:
        target = cache / file_name
        if not target.is_file():
            raise
        actual = _file_hash(target, expected)
        if actual == expected:
            raise
        target.unlink()
        raise ValueError(
            f"backbone_weights='imagenet': the file downloaded from {url} has hash {actual}, "
            f"not the published {expected}, so it is not the keras.applications file (a broken "
            "download, or a mirror serving another file); it was deleted from the cache. Try "
            "again, or download the file yourself and pass backbone_weights=<path to the .h5 "
            "file>."
        ) from error
    except Exception as error:  # get_file wraps every network error in a bare Exception
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        reason = reason.removeprefix(f"URL fetch failure on {url}: ").removeprefix("None -- ")
        reason = reason[:300].rstrip(".")
        others = [str(cache / name) for name in file_names[1:]]
        also = f" (also accepted there: {', '.join(others)})" if others else ""
        ignored = (
            f" Not used: {', '.join(stale)} (not the published hash, e.g. a partial download)."
            if stale
            else ""
        )
        raise FileNotFoundError(
            f"backbone_weights='imagenet': the ImageNet weights are not in the Keras cache and "
            f"the download from {url} failed, so nothing was downloaded: {reason}.{ignored} "
            "Download that file on a machine with internet access and pass "
            "backbone_weights=<path to the .h5 file>, or put it in the Keras cache as "
            f"{cache / file_name}{also}; or set {WEIGHTS_URL_ENV} to a mirror of "
            f"{KERAS_APPLICATIONS_URL}."
        ) from error
    return pathlib.Path(downloaded)


def _file_hash(path: pathlib.Path, like: str) -> str:
    """md5 or sha256 of a file (sha256 when ``like`` has 64 hex digits, as get_file decides)."""
    hasher = hashlib.sha256() if len(like) == 64 else hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


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
