"""Tests for backbone_weights="imagenet" (tfpose.models.pretrained): download into the Keras
cache with keras.utils.get_file, offline use of the cache, hash checks and the offline error.

Downloads come from an http.server on 127.0.0.1 serving small fake weights files under the
published names (never the internet); the published hashes are swapped for the fakes' where a
test needs the file accepted.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import inspect
import pathlib
import threading

import h5py
import numpy as np
import pytest

from tfpose.models import pretrained
from tfpose.models.cascade_resnet import RESNET_STAGE_DEPTHS, CascadeResNet
from tfpose.models.pretrained import (
    KERAS_APPLICATIONS_URL,
    PUBLISHED_WEIGHTS,
    WEIGHTS_URL_ENV,
    published_weights_url,
    resolve_backbone_weights,
)

NOTOP = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
FULL = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
FILES = (NOTOP, FULL)  # what CascadeResNet asks for at depth 50


def write_fake_resnet50_file(path: pathlib.Path, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """A few ResNet-50 layers in the layout of the published files (root ``layer_names``,
    per-layer ``weight_names``), with random values; returns them by layer name."""
    rng = np.random.default_rng(seed)
    layers = {
        "conv1_conv": [("kernel", (7, 7, 3, 64)), ("bias", (64,))],
        "conv1_bn": [(n, (64,)) for n in ("gamma", "beta", "moving_mean", "moving_variance")],
    }
    arrays = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name in layers]
        for layer, weights in layers.items():
            group = f.create_group(layer)
            names = [f"{layer}/{weight}:0" for weight, _ in weights]
            group.attrs["weight_names"] = [name.encode() for name in names]
            arrays[layer] = []
            for name, (_, shape) in zip(names, weights, strict=True):
                array = rng.uniform(0.5, 1.5, shape).astype("float32")
                group[name] = array
                arrays[layer].append(array)
    return arrays


def md5(path: pathlib.Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


class _Server:
    """http.server on 127.0.0.1 (a free port) serving ``root`` and logging request paths."""

    def __init__(self, root: pathlib.Path):
        requests = self.requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):  # http.server's method name
                requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()


@pytest.fixture
def keras_home(tmp_path, monkeypatch) -> pathlib.Path:
    """An empty Keras cache; no proxy for 127.0.0.1; no mirror URL from the environment."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv(WEIGHTS_URL_ENV, raising=False)
    return tmp_path / "keras_home"


@pytest.fixture
def mirror(tmp_path):
    """(folder laid out like the published base URL, running server); stopped afterwards."""
    root = tmp_path / "mirror"
    root.mkdir()
    server = _Server(root)
    yield root, server
    server.stop()


def accept(monkeypatch, file_name: str, path: pathlib.Path) -> None:
    """Makes the fake ``path`` the published ``file_name`` (its hash replaces the real one)."""
    folder, _ = PUBLISHED_WEIGHTS[file_name]
    monkeypatch.setitem(PUBLISHED_WEIGHTS, file_name, (folder, md5(path)))


def test_published_names_urls_and_hashes_are_keras_applications_own():
    from keras.src.applications import resnet, vgg16

    assert resnet.BASE_WEIGHTS_PATH == KERAS_APPLICATIONS_URL + "resnet/"
    for depth in (50, 101, 152):
        full, notop = resnet.WEIGHTS_HASHES[f"resnet{depth}"]
        assert PUBLISHED_WEIGHTS[f"resnet{depth}_weights_tf_dim_ordering_tf_kernels.h5"] == (
            "resnet",
            full,
        )
        name = f"resnet{depth}_weights_tf_dim_ordering_tf_kernels_notop.h5"
        assert PUBLISHED_WEIGHTS[name] == ("resnet", notop)
    source = inspect.getsource(vgg16)
    for url in (vgg16.WEIGHTS_PATH, vgg16.WEIGHTS_PATH_NO_TOP):
        name = url.rsplit("/", 1)[1]
        assert published_weights_url(name, KERAS_APPLICATIONS_URL) == url
        assert f'file_hash="{PUBLISHED_WEIGHTS[name][1]}"' in source


def test_imagenet_downloads_into_the_cache_then_loads_it_offline(keras_home, mirror, monkeypatch):
    root, server = mirror
    arrays = write_fake_resnet50_file(root / "resnet" / NOTOP)
    accept(monkeypatch, NOTOP, root / "resnet" / NOTOP)
    monkeypatch.setenv(WEIGHTS_URL_ENV, server.url)

    # (a) downloaded (once) into $KERAS_HOME/models and loaded by layer name.
    model = CascadeResNet(
        input_size=64,
        stage_depths=RESNET_STAGE_DEPTHS[50],
        backbone_weights="imagenet",
        variant="detection_only",
    )
    assert server.requests == [f"/resnet/{NOTOP}"]
    cached = keras_home / "models" / NOTOP
    assert cached.read_bytes() == (root / "resnet" / NOTOP).read_bytes()
    for name in ("conv1_conv", "conv1_bn"):
        for ours, theirs in zip(model.detector.get_layer(name).weights, arrays[name], strict=True):
            np.testing.assert_array_equal(ours.numpy(), theirs)
    assert model.get_config()["backbone_weights"] == "imagenet"

    # (b) with the server gone, the cached copy is used without any network access.
    server.stop()
    assert resolve_backbone_weights("imagenet", FILES) == cached
    assert server.requests == [f"/resnet/{NOTOP}"]


def test_a_cached_full_file_is_used_without_the_network(keras_home, tmp_path, monkeypatch):
    write_fake_resnet50_file(keras_home / "models" / FULL)
    accept(monkeypatch, FULL, keras_home / "models" / FULL)
    unreachable = "http://127.0.0.1:1/"  # would fail at once if anything were fetched
    assert resolve_backbone_weights("imagenet", FILES, base_url=unreachable) == (
        keras_home / "models" / FULL
    )


def test_a_download_without_the_published_hash_is_refused_and_deleted(keras_home, mirror):
    # (c) the fake file is served, but the table keeps the real published hash.
    root, server = mirror
    write_fake_resnet50_file(root / "resnet" / NOTOP)
    with pytest.raises(ValueError, match="not the published") as error:
        resolve_backbone_weights("imagenet", FILES, base_url=server.url)
    message = str(error.value)
    assert f"{server.url}resnet/{NOTOP}" in message
    assert md5(root / "resnet" / NOTOP) in message and PUBLISHED_WEIGHTS[NOTOP][1] in message
    assert "backbone_weights=<path" in message
    assert server.requests == [f"/resnet/{NOTOP}"]
    assert not (keras_home / "models" / NOTOP).exists()


def test_a_cached_file_without_the_published_hash_is_downloaded_again(
    keras_home, mirror, monkeypatch
):
    root, server = mirror
    write_fake_resnet50_file(root / "resnet" / NOTOP, seed=1)
    accept(monkeypatch, NOTOP, root / "resnet" / NOTOP)
    partial = keras_home / "models" / NOTOP
    partial.parent.mkdir(parents=True)
    partial.write_bytes((root / "resnet" / NOTOP).read_bytes()[:100])  # a broken download
    assert resolve_backbone_weights("imagenet", FILES, base_url=server.url) == partial
    assert server.requests == [f"/resnet/{NOTOP}"]
    assert md5(partial) == PUBLISHED_WEIGHTS[NOTOP][1]


def test_offline_error_names_the_url_the_reason_and_the_local_path_alternative(
    keras_home, mirror, monkeypatch
):
    # (d) the server is down and the cache is empty.
    _, server = mirror
    server.stop()
    monkeypatch.setenv(WEIGHTS_URL_ENV, server.url)
    with pytest.raises(FileNotFoundError) as error:
        resolve_backbone_weights("imagenet", FILES)
    message = str(error.value)
    assert f"download from {server.url}resnet/{NOTOP} failed" in message
    assert "nothing was downloaded" in message
    assert "refused" in message.lower()  # the underlying error, one line
    assert "\n" not in message
    assert "backbone_weights=<path to the .h5 file>" in message
    assert str(keras_home / "models" / NOTOP) in message  # where to put it in the cache
    assert str(keras_home / "models" / FULL) in message
    assert not any((keras_home / "models").iterdir())


def test_a_missing_file_on_the_server_is_reported_with_the_http_status(keras_home, mirror):
    _, server = mirror  # serves an empty folder
    with pytest.raises(FileNotFoundError, match=r"failed, so nothing was downloaded: 404"):
        resolve_backbone_weights("imagenet", FILES, base_url=server.url)
    assert not any((keras_home / "models").iterdir())


def test_default_url_is_the_published_one(monkeypatch):
    monkeypatch.delenv(WEIGHTS_URL_ENV, raising=False)
    assert published_weights_url(NOTOP) == KERAS_APPLICATIONS_URL + "resnet/" + NOTOP
    monkeypatch.setenv(WEIGHTS_URL_ENV, "http://mirror.example/keras")
    assert published_weights_url(NOTOP) == "http://mirror.example/keras/resnet/" + NOTOP
    assert published_weights_url(NOTOP, "http://x/") == "http://x/resnet/" + NOTOP


def test_paths_and_none_are_unchanged(tmp_path):
    assert resolve_backbone_weights(None, FILES) is None
    path = tmp_path / "weights.h5"
    write_fake_resnet50_file(path)
    assert resolve_backbone_weights(str(path), FILES) == path
    with pytest.raises(FileNotFoundError, match="no such file"):
        resolve_backbone_weights(tmp_path / "missing.h5", FILES)
    assert pretrained.keras_cache_dir().name == "models"
