"""Tests of benchmarks/xla_warp.py, the XLA-compiled warp that benchmarks/pipeline.py times
against the library's kernels (it left tfpose.data.transforms: only the benchmarks use it)."""

import numpy as np
import pytest
import tensorflow as tf

from benchmarks import xla_warp
from tests.data.test_transforms import WARP_CASES, _example, _prepared
from tfpose.data import transforms


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("fill", [128.0, 0.5])
@pytest.mark.parametrize("height, width, scale, rotation, flip, size", WARP_CASES)
def test_compiled_warp_equals_projective_warp(
    dtype, fill, height, width, scale, rotation, flip, size
):
    # Crops that reach past every image border (the window is shifted by a fraction of a
    # pixel), so the fill taps and the blend at the border are compared too.
    rng = np.random.default_rng(height)
    image = rng.uniform(0, 255, (height, width, 3)).astype(dtype)
    affine = transforms.crop_affine(
        [width / 2 + 3.3, height / 2 - 2.1], scale, rotation, flip, size, box_scale=1.5
    )
    affine = transforms.translate_affine(affine, tf.constant([-0.37, 1.61]))
    expected = transforms.warp_image(image.astype(np.float32), affine, size, fill=fill).numpy()
    ours = xla_warp.warp_image_compiled(tf.constant(image), affine, size, fill=fill).numpy()
    assert ours.shape == expected.shape and ours.dtype == np.float32
    assert (ours == np.float32(fill)).any() and (ours != np.float32(fill)).any()
    np.testing.assert_allclose(ours, expected, atol=0.05)


def test_compiled_warp_length_buckets_cover_and_bound_the_image():
    lengths = tf.constant([1, 2, 3, 17, 1000, 78_000, 921_600, 1_000_001])
    buckets = xla_warp._bucket_length(lengths).numpy()
    assert (buckets >= lengths.numpy()).all()
    assert (buckets <= np.maximum(np.ceil(lengths.numpy() * 2**0.5) + 1, 2**16)).all()
    # Image sizes from 100 × 100 to 1000 × 1000 share a handful of buckets (compilations).
    sizes = [h * w for h in range(100, 1001, 7) for w in range(100, 1001, 11)]
    assert len(set(xla_warp._bucket_length(tf.constant(sizes)).numpy())) <= 9


def test_warp_crop_compiled_is_identical_eagerly_and_in_tf_data():
    def op(e):
        return xla_warp.warp_crop_compiled(_prepared(e), input_size=32, fill=128.0)

    eager = op(_example())
    graph = next(iter(tf.data.Dataset.from_tensors(_example()).map(op)))
    assert set(eager) == set(graph)
    for key in eager:
        np.testing.assert_allclose(eager[key].numpy(), graph[key].numpy(), atol=1e-4, err_msg=key)


def test_the_library_warp_crop_has_no_compiled_method():
    assert transforms.WARP_METHODS == ("projective", "fast")
    with pytest.raises(ValueError, match="method"):
        transforms.warp_crop(_prepared(_example()), input_size=32, fill=128.0, method="compiled")
