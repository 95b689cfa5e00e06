"""The exported SavedModel under malformed input and under sustained concurrent load.

``tests/export/test_export.py`` already checks, in a fresh process, non-image bytes, a wrong
rank, an empty ``serving_default`` batch, a box count or box that does not match and a wrong
crop shape. This file adds truncated images, decompression bombs, wrong dtypes, empty batches
of the other signatures, and many threads calling one loaded model (errors mixed in), with the
process's resident memory measured.
"""

import threading
import time

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tfpose.export.preprocess import MAX_IMAGE_PIXELS
from tfpose.export.saved_model import export_saved_model
from tfpose.model_spec import ModelSpec
from tfpose.models import build_model
from tfpose.skeletons import MPII

SIZE = 32


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024


def _jpeg(height=60, width=40, seed=0) -> bytes:
    image = np.random.default_rng(seed).integers(0, 255, (height, width, 3), np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


@pytest.fixture(scope="module")
def signatures(tmp_path_factory):
    """An untrained 32 px model exported to a SavedModel and loaded back in this process."""
    model = build_model("recurrent_tiny", input_size=SIZE, width_multiplier=0.125, num_passes=1)
    spec = ModelSpec.create(
        MPII,
        input_size=SIZE,
        heatmap_stride=model.output_stride,
        crop_convention="belagiannis",
        normalization="belagiannis",
        prediction_output=model.prediction_output,
    )
    path = str(tmp_path_factory.mktemp("saved_model") / "1")
    export_saved_model(model, spec, path)
    return tf.saved_model.load(path).signatures


def _error(function, **inputs) -> str:
    try:
        function(**inputs)
    except tf.errors.InvalidArgumentError as error:
        return error.message
    return "no error"


def test_truncated_and_wrong_dtype_inputs_are_invalid_argument(signatures):
    whole, serve, heatmaps = (
        signatures["whole_image"],
        signatures["serving_default"],
        signatures["heatmaps"],
    )
    good = _jpeg()
    truncated = good[: len(good) // 2]
    box = tf.constant([[-1.0, -1, -1, -1]])
    assert "Invalid JPEG data" in _error(whole, images=tf.constant([truncated]))
    assert "Invalid JPEG data" in _error(whole, images=tf.constant([good[:4]]))
    for wrong in (tf.constant([1.0]), tf.constant([7], tf.int32)):
        assert "expected to be a string tensor" in _error(whole, images=wrong)
    assert "expected to be a float tensor" in _error(
        serve, images=tf.constant([good]), boxes=tf.constant([[1, 1, 5, 5]], tf.int32)
    )
    assert "expected to be a float tensor" in _error(
        heatmaps, image=tf.zeros([1, SIZE, SIZE, 3], tf.uint8)
    )
    assert "empty batch" in _error(whole, images=tf.constant([], tf.string))
    assert "empty batch" in _error(heatmaps, image=tf.zeros([0, SIZE, SIZE, 3]))
    assert "boxes must be finite" in _error(
        serve, images=tf.constant([good]), boxes=tf.constant([[0.0, 0, np.nan, 5]])
    )
    # A good image after all those still works: errors leave no state behind.
    out = serve(images=tf.constant([good]), boxes=box)
    assert np.isfinite(out["keypoints"].numpy()).all()


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_a_decompression_bomb_is_refused_before_decoding(signatures, kind):
    # A 12000 x 12000 PNG of 440 KB used to take 20 s and 2.2 GB to decode; 7000 x 7000
    # (49 MP, above the 40 MP limit) keeps the test's own encoding cheap.
    side = 7000
    pixels = np.zeros((side, side, 3), np.uint8)
    data = cv2.imencode("." + ("jpg" if kind == "jpeg" else "png"), pixels)[1].tobytes()
    before, start = _rss_mb(), time.time()
    message = _error(signatures["whole_image"], images=tf.constant([data]))
    assert f"images[0] is {side} x {side} pixels" in message
    assert f"at most {MAX_IMAGE_PIXELS} pixels" in message
    assert time.time() - start < 5.0 and _rss_mb() - before < 100


def test_a_large_image_below_the_limit_is_served(signatures):
    data = _jpeg(height=2000, width=1500)
    out = signatures["whole_image"](images=tf.constant([data]))
    assert out["keypoints"].shape == (1, MPII.num_keypoints, 2)


def test_concurrent_requests_give_consistent_results_and_bounded_memory(signatures):
    """8 threads send 300 requests to one loaded model, one in five malformed.

    Every good request returns the same keypoints as a sequential call on the same images,
    every malformed one an InvalidArgumentError, and the resident memory after the load stays
    within 150 MB of what it was after a warm-up of the same mix.
    """
    serve = signatures["serving_default"]
    images = tf.constant([_jpeg(seed=1), _jpeg(height=80, width=120, seed=2)])
    boxes = tf.constant([[5.0, 5, 35, 55], [-1.0, -1, -1, -1]])
    expected = serve(images=images, boxes=boxes)["keypoints"].numpy()
    bad = {"images": tf.constant([b"not an image", b"x"]), "boxes": boxes}
    results = {"ok": 0, "rejected": 0, "wrong": []}
    lock = threading.Lock()

    def client(requests):
        for i in range(requests):
            if i % 5 == 4:
                message = _error(serve, **bad)
                with lock:
                    if "is not a JPEG or PNG image" in message:
                        results["rejected"] += 1
                    else:
                        results["wrong"].append(message)
                continue
            keypoints = serve(images=images, boxes=boxes)["keypoints"].numpy()
            with lock:
                if np.allclose(keypoints, expected, atol=1e-4):
                    results["ok"] += 1
                else:
                    results["wrong"].append(keypoints)

    def run(threads, requests):
        workers = [threading.Thread(target=client, args=(requests,)) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    run(8, 10)  # warm-up: thread pools, allocator arenas
    warm = _rss_mb()
    start = time.time()
    run(8, 300 // 8 + 1)
    elapsed = time.time() - start
    grown = _rss_mb() - warm
    print(
        f"\n{8 * (300 // 8 + 1)} requests from 8 threads in {elapsed:.1f} s; "
        f"RSS {warm:.0f} MB after warm-up, {grown:+.1f} MB after the load"
    )
    assert not results["wrong"], results["wrong"][:3]
    sent = [i for n in (10, 300 // 8 + 1) for i in range(n)] * 8
    assert results["ok"] == sum(i % 5 != 4 for i in sent)
    assert results["rejected"] == sum(i % 5 == 4 for i in sent)
    assert grown < 150
