"""Fuzzing every reader with random bytes, random JSON and randomly damaged valid files.

The contract: a reader either returns a result or raises ``ValueError`` /
``FileNotFoundError`` (TensorFlow readers: ``InvalidArgumentError``, or a problem reported by
``records.check_records``) whose message names the file; never another exception type, a
crash, or a hang.
"""

import json
import os
import tempfile

import cv2
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.conftest import person
from tfpose.data import coco, lsp, mpii, records
from tfpose.data.example import parse_example
from tfpose.data.image_files import read_image_file

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
READER_ERRORS = (ValueError, FileNotFoundError)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _jpeg() -> bytes:
    image = np.random.default_rng(0).integers(0, 255, (24, 16, 3), np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def _png() -> bytes:
    image = np.random.default_rng(0).integers(0, 255, (24, 16, 3), np.uint8)
    return cv2.imencode(".png", image)[1].tobytes()


def _damage(data: bytes, positions: list[int], values: list[int], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in zip(positions, values, strict=False):
        out[position % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


def _in_file(data: bytes, name: str):
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _expect_named_error_or_result(function, path):
    try:
        function(path)
    except READER_ERRORS as e:
        assert path in str(e), f"{type(e).__name__} without the file name: {e}"


# ----------------------------------------------------------------- image files


@FUZZ
@given(st.binary(max_size=300))
def test_image_reader_on_random_bytes(data):
    path = _in_file(data, "x.jpg")
    _expect_named_error_or_result(read_image_file, path)


@FUZZ
@given(
    st.sampled_from(["jpeg", "png"]),
    st.lists(st.integers(0, 10_000), max_size=6),
    st.lists(st.integers(0, 255), max_size=6),
    st.none() | st.integers(0, 2000),
)
def test_image_reader_on_damaged_images(kind, positions, values, cut):
    data = _damage(_jpeg() if kind == "jpeg" else _png(), positions, values, cut)
    path = _in_file(data, "x." + kind)
    try:
        image = read_image_file(path)
    except READER_ERRORS as e:
        assert path in str(e)
        return
    # What is accepted decodes to the size it claims (TensorFlow agrees with OpenCV).
    decoded = tf.io.decode_image(image.encoded, channels=3, expand_animations=False)
    assert tuple(decoded.shape[:2]) == (image.height, image.width)


# ----------------------------------------------------------------- annotation files


@FUZZ
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_annotation_readers_on_random_content(data):
    _expect_named_error_or_result(mpii.parse_json, _in_file(data, "mpii.json"))
    _expect_named_error_or_result(coco.load_coco_json, _in_file(data, "coco.json"))
    _expect_named_error_or_result(records.Manifest.load, _in_file(data, "manifest.json"))


@FUZZ
@given(json_values)
def test_coco_people_from_any_json_that_loads(value):
    path = _in_file(json.dumps(value).encode(), "coco.json")
    try:
        content = coco.load_coco_json(path)
    except READER_ERRORS as e:
        assert path in str(e)
        return
    coco.parse_coco_people(content)


@FUZZ
@given(st.binary(max_size=300))
def test_matlab_readers_on_random_bytes(data):
    _expect_named_error_or_result(lsp.load_joints_mat, _in_file(data, "joints.mat"))
    _expect_named_error_or_result(mpii.parse_release, _in_file(data, "release.mat"))


# ----------------------------------------------------------------- records


@FUZZ
@given(st.binary(max_size=400))
def test_parse_example_on_random_bytes(data):
    try:
        parse_example(tf.constant(data), 16)
    except tf.errors.InvalidArgumentError:
        pass


RECORD = person(0).serialize()


@FUZZ
@given(
    st.lists(st.integers(0, 100_000), min_size=1, max_size=6),
    st.lists(st.integers(0, 255), min_size=1, max_size=6),
)
def test_parse_example_on_damaged_records(positions, values):
    # A damaged record either fails to parse/validate, or parses to finite, valid values.
    try:
        parsed = parse_example(tf.constant(_damage(RECORD, positions, values, None)), 16)
    except tf.errors.InvalidArgumentError:
        return
    annotated = parsed["visibility"].numpy() > 0
    assert np.isfinite(parsed["keypoints"].numpy()[annotated]).all()
    assert np.isfinite(parsed["scale"].numpy()) and parsed["scale"].numpy() > 0


@settings(FUZZ, max_examples=15)
@given(st.binary(max_size=400), st.booleans())
def test_record_files_of_random_bytes_are_reported(data, after_a_good_record):
    prefix = b""
    if after_a_good_record:
        folder = tempfile.mkdtemp()
        path = records.write_split([person(1)], folder, "x", 1)["files"][0]
        prefix = open(os.path.join(folder, path), "rb").read()
    path = _in_file(prefix + data, "x.tfrecord")
    count, problems = records.check_records([path], 16)
    assert count == int(after_a_good_record) or data == b""
    if data:
        assert problems and all(p.startswith(path) for p in problems), problems


@pytest.mark.parametrize("length", [0, 7, 8, 23])
def test_serving_preprocessing_on_short_png_headers(length):
    from tfpose.export import preprocess

    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
    with pytest.raises(tf.errors.InvalidArgumentError):
        preprocess.crop_encoded_images(
            tf.constant([data[:length]]),
            None,
            input_size=16,
            crop_convention="bulat",
            normalization="unit",
        )
