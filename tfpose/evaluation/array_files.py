"""Reading .mat (MATLAB v5 and v7.3), .h5 and .json files into plain containers, with errors
that name the file, the key and what the file holds.

The readers of :mod:`tfpose.evaluation.prediction_files` and
:mod:`tfpose.evaluation.ground_truth_files` share them.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np
import scipy.io

# ---------------------------------------------------------------------------------------------
# Containers


def _h5_datasets(file: h5py.File, transpose: bool) -> dict[str, Any]:
    """Every dataset of an HDF5 file by its path (``preds``, ``results/preds``)."""
    contents: dict[str, Any] = {}

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset) and not name.startswith("#"):
            value = item[()]
            contents[name] = np.asarray(value).T if transpose else value

    file.visititems(visit)
    return contents


def _read_mat(path: pathlib.Path) -> dict[str, Any]:
    try:
        contents = scipy.io.loadmat(str(path))
    except NotImplementedError:
        # MATLAB v7.3 files are HDF5 with every array stored transposed (column-major).
        with h5py.File(path, "r") as file:
            return _h5_datasets(file, transpose=True)
    except Exception as error:  # scipy raises several types for corrupt files
        raise ValueError(f"{path}: cannot read as a MATLAB .mat file ({error})") from error
    return {key: value for key, value in contents.items() if not key.startswith("__")}


def _read_h5(path: pathlib.Path) -> dict[str, Any]:
    try:
        with h5py.File(path, "r") as file:
            contents = _h5_datasets(file, transpose=False)
            contents.update({key: value for key, value in file.attrs.items()})
    except OSError as error:
        raise ValueError(f"{path}: cannot read as an HDF5 file ({error})") from error
    return contents


def describe_contents(contents: Mapping[str, Any], path: Any) -> str:
    """What a file holds, for error messages: HDF5 datasets by full path, with shapes."""
    hdf5 = pathlib.Path(str(path)).suffix.lower() in (".h5", ".hdf5")
    entries = []
    for key in sorted(contents):
        shape = np.shape(contents[key]) if not isinstance(contents[key], str | bytes) else ()
        name = "/" + key if hdf5 else key
        entries.append(f"{name} {list(shape)}" if shape else name)
    what = "datasets in the file" if hdf5 else "keys present"
    return f"{what}: {', '.join(entries) if entries else 'none'}"


def _read_json(path: pathlib.Path) -> Any:
    try:
        with open(path) as file:
            return json.load(file)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error


def read_contents(path: str | pathlib.Path) -> Any:
    """The contents of a .mat, .h5/.hdf5 or .json file: arrays by key (HDF5: by dataset path)
    or, for JSON, whatever the file holds."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return _read_mat(path)
    if suffix in (".h5", ".hdf5"):
        return _read_h5(path)
    if suffix == ".json":
        return _read_json(path)
    raise ValueError(f"{path}: unknown file type {suffix!r}; expected .mat, .h5, .hdf5 or .json")


# ---------------------------------------------------------------------------------------------
# Field access with readable errors


def numeric_field(contents: Mapping[str, Any], key: str, path: Any, expected: str) -> np.ndarray:
    """``contents[key]`` as float64; the errors name the file, the key and ``expected``."""
    try:
        array = np.asarray(contents[key], dtype=np.float64)
    except KeyError:
        raise KeyError(
            f"{path}: missing key {key!r} ({expected}); {describe_contents(contents, path)}"
        ) from None
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {key!r} must be numeric {expected} ({error})") from error
    return array


def check_shape(array: np.ndarray, path: Any, key: str, expected: str, ok: bool) -> None:
    """Raises a ValueError naming the file, the key, ``expected`` and the shape unless ``ok``."""
    if not ok:
        raise ValueError(f"{path}: {key!r} must be {expected}, got shape {array.shape}")


def shaped_field(
    contents: Mapping[str, Any],
    key: str,
    path: Any,
    dims: str,
    shape: tuple[int | None, ...],
    described: str | None = None,
) -> np.ndarray:
    """:func:`numeric_field` (``expected`` = ``described`` or ``dims``, e.g. ``"[K, 2, N]"``)
    checked by :func:`check_shape` against ``shape``, whose ``None`` entries take any length.
    The shape error names ``dims``, followed by the lengths when ``shape`` fixes them all."""
    array = numeric_field(contents, key, path, described or dims)
    ok = array.ndim == len(shape) and all(
        n is None or n == length for n, length in zip(shape, array.shape, strict=False)
    )
    if all(n is not None for n in shape):
        dims = f"{dims} = {list(shape)}"
    check_shape(array, path, key, dims, ok)
    return array


def string_list(values: Any) -> tuple[str, ...]:
    """An array of strings or bytes (any shape) as a flat tuple of str."""
    values = np.asarray(values).reshape(-1)
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist())


def scalar_string(value: Any) -> str:
    """A string, bytes or one-element array of either as str."""
    value = np.asarray(value).reshape(-1)[0] if not isinstance(value, str | bytes) else value
    return value.decode() if isinstance(value, bytes) else str(value)
