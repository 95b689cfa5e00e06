"""Tests of benchmarks/xla_warp.py, the XLA-compiled warp that benchmarks/pipeline.py times
against the library's kernels (it left tfpose.data.transforms: only the benchmarks use it)."""

import numpy as np
import pytest
import tensorflow as tf

from benchmarks import xla_warp
from tests.data.test_transforms import (
    WARP_CASES,
    _example,
    _prepared,
    assert_identical_eagerly_and_in_tf_data,
    assert_warp_equals_projective_warp,
)
from tfpose.data import transforms


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("fill", [128.0, 0.5])
@pytest.mark.parametrize("height, width, scale, rotation, flip, size", WARP_CASES)
def test_compiled_warp_equals_projective_warp(
    dtype, fill, height, width, scale, rotation, flip, size
):
    assert_warp_equals_projective_warp(
        xla_warp.warp_image_compiled, dtype, fill, height, width, scale, rotation, flip, size
    )


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

    assert_identical_eagerly_and_in_tf_data(op)


def test_the_library_warp_crop_has_no_compiled_method():
    assert transforms.WARP_METHODS == ("projective", "fast")
    with pytest.raises(ValueError, match="method"):
        transforms.warp_crop(_prepared(_example()), input_size=32, fill=128.0, method="compiled")
