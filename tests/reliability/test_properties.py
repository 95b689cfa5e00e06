"""Property-based tests (hypothesis) of the geometry and of every encode/decode pair.

Each property holds for every input hypothesis draws, not for a handful of hand-picked ones:
crops invert, heatmaps decode back to their keypoint, records parse back to their example, and
a record that carries a NaN/inf/absurd coordinate or a non-positive scale is always refused.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SKELETON_OF_SIZE
from tfpose.data import targets, transforms
from tfpose.data.example import PoseExample, parse_example
from tfpose.export import preprocess
from tfpose.skeletons import SKELETONS

# Seeded (derandomize) so CI is reproducible; no example database is written into the repo.
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)

coordinate = st.floats(-2000.0, 6000.0, allow_nan=False)
point = st.tuples(coordinate, coordinate)
scale = st.floats(0.05, 20.0)
rotation = st.floats(-180.0, 180.0)
crop_size = st.sampled_from([32, 64, 128, 256])
box_scale = st.sampled_from([1.0, 1.5])


@PROPERTY
@given(
    point,
    scale,
    rotation,
    st.booleans(),
    crop_size,
    box_scale,
    st.lists(point, min_size=1, max_size=6),
)
def test_crop_matrix_inverts_and_centres_the_person(center, s, angle, flip, size, box, points):
    affine = transforms.crop_affine(center, s, angle, flip, size, box)
    points = np.asarray(points, np.float32)
    back = transforms.crop_to_image(transforms.apply_affine(points, affine), affine).numpy()
    # float32: relative to the magnitude of the numbers involved.
    magnitude = max(np.abs(points).max(), np.abs(center).max(), 200.0 * s * box)
    np.testing.assert_allclose(back, points, atol=2e-5 * magnitude + 1e-3)
    middle = transforms.apply_affine(np.asarray([center], np.float32), affine).numpy()[0]
    np.testing.assert_allclose(middle, [(size - 1) / 2] * 2, atol=2e-5 * magnitude * size + 1e-3)
    zoom = float(transforms.affine_zoom(affine))
    np.testing.assert_allclose(zoom, size / (box * 200.0 * s), rtol=1e-4)


@PROPERTY
@given(point, scale, rotation, crop_size, st.lists(point, min_size=1, max_size=6))
def test_flip_mirrors_the_crop_about_its_vertical_axis(center, s, angle, size, points):
    points = np.asarray(points, np.float32)
    plain = transforms.apply_affine(points, transforms.crop_affine(center, s, angle, False, size))
    flipped = transforms.apply_affine(points, transforms.crop_affine(center, s, angle, True, size))
    magnitude = max(np.abs(points).max(), np.abs(center).max(), 200.0 * s)
    tolerance = 2e-5 * magnitude * size / (200.0 * s) + 1e-3
    np.testing.assert_allclose(flipped[:, 0], size - 1 - plain[:, 0], atol=tolerance)
    np.testing.assert_allclose(flipped[:, 1], plain[:, 1], atol=tolerance)


@pytest.mark.parametrize("name", sorted(SKELETONS))
def test_flip_permutations_are_involutions(name):
    skeleton = SKELETONS[name]
    permutation = np.asarray(skeleton.flip_permutation)
    np.testing.assert_array_equal(permutation[permutation], np.arange(skeleton.num_keypoints))
    limbs = np.asarray(skeleton.limb_flip_permutation)
    np.testing.assert_array_equal(limbs[limbs], np.arange(skeleton.num_limbs))


@PROPERTY
@given(
    st.sampled_from([1, 2, 4]),
    st.floats(1.0, 3.0),
    st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=1, max_size=5),
)
def test_gaussian_heatmaps_decode_to_their_keypoints(stride, sigma, fractions):
    size = 64
    heatmap = size // stride
    # Keypoints anywhere the whole peak fits on the map (the decoder's stated domain).
    low, high = stride * (1.5 * sigma + 1), size - 1 - stride * (1.5 * sigma + 1)
    keypoints = low + np.asarray(fractions, np.float32) * (high - low)
    maps = targets.gaussian_heatmaps(keypoints, sigma, (heatmap, heatmap), stride)
    decoded, confidence = targets.decode_heatmaps(maps, stride)
    # Within a quarter heatmap pixel per axis, plus float slack (the decoder's contract).
    assert np.abs(decoded.numpy() - keypoints).max() <= 0.25 * stride + 0.05 * stride
    assert (confidence.numpy() > 0.5).all()


@PROPERTY
@given(
    st.floats(1.0, 3.0),
    st.tuples(st.floats(-500.0, 500.0), st.floats(-500.0, 500.0)),
)
def test_a_keypoint_outside_the_crop_gets_no_target(sigma, position):
    size, stride = 64, 4
    keypoints = np.asarray([position], np.float32)
    heatmap_point = (keypoints + 0.5) / stride - 0.5
    limit = size / stride - 1 + 3.0 * sigma  # truncation radius beyond the last pixel
    outside = (heatmap_point < -3.0 * sigma).any() or (heatmap_point > limit).any()
    maps = targets.gaussian_heatmaps(keypoints, sigma, (size // stride, size // stride), stride)
    if outside:
        assert float(tf.reduce_max(maps)) == 0.0
    inside = bool(transforms.in_crop(tf.constant(keypoints), size).numpy()[0])
    if inside:
        assert float(tf.reduce_max(maps)) > 0.0


def _example(num_keypoints, keypoints, visibility, center, s, head_box):
    return PoseExample(
        image_bytes=b"\xff\xd8\xff bytes are not decoded here",
        image_format="jpeg",
        image_height=480,
        image_width=640,
        image_id="x.jpg",
        keypoints=np.asarray(keypoints, np.float32).reshape(num_keypoints, 2),
        visibility=np.asarray(visibility),
        center=center,
        scale=s,
        dataset="synthetic",
        skeleton=SKELETON_OF_SIZE[num_keypoints],
        head_box=head_box,
    )


@st.composite
def examples(draw):
    k = draw(st.sampled_from([14, 16, 17]))
    values = st.floats(-400.0, 900.0, width=32)  # within one image size of 640 x 480
    keypoints = draw(st.lists(values, min_size=2 * k, max_size=2 * k))
    visibility = draw(st.lists(st.sampled_from([0, 1, 2]), min_size=k, max_size=k))
    center = draw(st.tuples(values, values))
    s = draw(st.floats(0.015625, 50.0, width=32))
    head_box = draw(st.none() | st.tuples(values, values, values, values))
    return _example(k, keypoints, visibility, center, s, head_box)


@PROPERTY
@given(examples())
def test_records_parse_back_to_their_example(example):
    parsed = parse_example(example.serialize(), example.num_keypoints)
    annotated = example.visibility > 0
    np.testing.assert_array_equal(parsed["visibility"].numpy(), example.visibility)
    np.testing.assert_array_equal(
        parsed["keypoints"].numpy()[annotated], example.keypoints[annotated]
    )
    assert (parsed["keypoints"].numpy()[~annotated] == 0).all()  # never NaN in a record
    np.testing.assert_array_equal(parsed["center"].numpy(), example.center)
    assert parsed["scale"].numpy() == np.float32(example.scale)
    assert bool(parsed["has_head_box"]) == (example.head_box is not None)
    assert parsed["image_bytes"].numpy() == example.image_bytes
    assert tuple(parsed["image_size"].numpy()) == (480, 640)


bad_coordinate = st.sampled_from([np.nan, np.inf, -np.inf, 1e9, -1e9, 3e38])


@PROPERTY
@given(examples(), st.integers(0, 16), st.integers(0, 1), bad_coordinate)
def test_a_bad_coordinate_on_an_annotated_joint_is_always_refused(example, joint, axis, value):
    joint = joint % example.num_keypoints
    example.visibility[joint] = 2
    example.keypoints[joint, axis] = value
    with pytest.raises(ValueError, match="x.jpg"):
        example.validate()  # at conversion
    with pytest.raises(tf.errors.InvalidArgumentError, match="x.jpg"):
        parse_example(example.serialize(), example.num_keypoints)  # and in damaged records


@PROPERTY
@given(examples(), st.sampled_from([0.0, -1e-6, -1.0, -np.inf, np.nan, np.inf]))
def test_a_non_positive_or_non_finite_scale_is_always_refused(example, value):
    example.scale = value
    with pytest.raises(ValueError, match="scale must be a positive"):
        example.validate()
    with pytest.raises(tf.errors.InvalidArgumentError, match="scale must be a positive"):
        parse_example(example.serialize(), example.num_keypoints)


@PROPERTY
@given(
    st.tuples(st.floats(-500.0, 3000.0), st.floats(-500.0, 3000.0)),
    st.floats(2.0, 2000.0),
    st.floats(2.0, 2000.0),
    crop_size,
    st.sampled_from(["bulat", "belagiannis"]),
)
def test_serving_region_round_trips_through_its_crop(corner, width, height, size, convention):
    box = np.asarray([*corner, corner[0] + width, corner[1] + height], np.float32)
    affine = preprocess.crop_affine_for_box(box, size, convention)
    region = preprocess.region_from_affine(affine, size).numpy()
    # The crop shows the square of side max(width, height) centred on the box.
    side = max(width, height)
    middle = (box[:2] + box[2:]) / 2
    expected = np.concatenate([middle - side / 2, middle + side / 2])
    np.testing.assert_allclose(region, expected, atol=1e-4 * (np.abs(box).max() + side) + 1e-2)
