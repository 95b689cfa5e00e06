"""Tests of tfpose.data.transforms, affine and warp: crop geometry, warping, augmentation ops
(through the names tfpose.data.transforms re-exports)."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tfpose.data import transforms
from tfpose.skeletons import LSP

CROP = transforms.CROP_CONVENTIONS["bulat"]


def _blob_image(height, width, points, sigma=2.0):
    """float32 [H, W, 3] image with one Gaussian blob per point (channel 0)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.zeros((height, width, 3), np.float32)
    for x, y in points:
        image[..., 0] += 255.0 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return image


def _centroid(channel, around, radius=8):
    ys, xs = np.mgrid[0 : channel.shape[0], 0 : channel.shape[1]].astype(np.float32)
    near = (xs - around[0]) ** 2 + (ys - around[1]) ** 2 <= radius**2
    weights = np.where(near, channel, 0.0)
    return np.array([(weights * xs).sum(), (weights * ys).sum()]) / weights.sum()


def _example():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (90, 120, 3), np.uint8)
    return {
        "image": tf.constant(image),
        "keypoints": tf.constant(rng.uniform(20, 80, (14, 2)), tf.float32),
        "visibility": tf.constant(rng.integers(0, 3, 14), tf.int32),
        "center": tf.constant([60.0, 45.0]),
        "scale": tf.constant(0.4),
    }


@pytest.mark.parametrize(
    "scale, rotation, flip, size",
    [(0.5, 0.0, False, 64), (0.4, 30.0, False, 96), (0.6, -40.0, True, 64), (0.3, 90.0, True, 80)],
)
def test_dot_at_keypoint_lands_at_transformed_keypoint(scale, rotation, flip, size):
    points = np.array([[50.0, 40.0], [72.3, 55.8], [61.0, 30.5]], np.float32)
    affine = transforms.crop_affine([60.0, 45.0], scale, rotation, flip, size, box_scale=1.0)
    expected = transforms.apply_affine(points, affine).numpy()
    for point, target in zip(points, expected, strict=True):
        image = _blob_image(100, 120, [point])  # one dot per image: no neighbour's tail
        crop = transforms.warp_image(image, affine, size).numpy()
        assert np.linalg.norm(_centroid(crop[..., 0], target) - target) < 1.0


# The XLA-compiled warp, which only the benchmarks use, is tested with them
# (tests/benchmarks/test_xla_warp.py) on these cases.
FAST_WARPS = {
    "fast": transforms.warp_image_fast,
    "axis_aligned": transforms.warp_image_axis_aligned,
}


WARP_CASES = [  # height, width, scale, rotation, flip, size
    (50, 70, 0.2, 25.0, True, 48),
    (31, 17, 0.25, -60.0, False, 40),
    (64, 64, 0.5, 0.0, False, 32),
    (45, 80, 0.17, 0.0, True, 36),
    (90, 30, 0.6, 0.0, False, 33),
]


def assert_warp_equals_projective_warp(
    warp, dtype, fill, height, width, scale, rotation, flip, size
):
    """``warp(image, affine, size, fill=fill)`` equals ``transforms.warp_image`` on a WARP_CASES
    case: float32 crops that reach past every image border (the window is shifted by a fraction
    of a pixel), so the fill taps and the blend at the border are compared too."""
    rng = np.random.default_rng(height)
    image = rng.uniform(0, 255, (height, width, 3)).astype(dtype)
    affine = transforms.crop_affine(
        [width / 2 + 3.3, height / 2 - 2.1], scale, rotation, flip, size, box_scale=1.5
    )
    affine = transforms.translate_affine(affine, tf.constant([-0.37, 1.61]))
    expected = transforms.warp_image(image.astype(np.float32), affine, size, fill=fill).numpy()
    ours = warp(tf.constant(image), affine, size, fill=fill).numpy()
    assert ours.shape == expected.shape and ours.dtype == np.float32
    assert (ours == np.float32(fill)).any() and (ours != np.float32(fill)).any()
    np.testing.assert_allclose(ours, expected, atol=0.05)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("fill", [128.0, 0.5])
@pytest.mark.parametrize(
    "warp, height, width, scale, rotation, flip, size",
    [  # the axis-aligned warp is only defined without rotation
        (warp, *case)
        for warp in sorted(FAST_WARPS)
        for case in WARP_CASES
        if warp != "axis_aligned" or case[3] == 0.0
    ],
)
def test_fast_warps_equal_projective_warp(
    warp, dtype, fill, height, width, scale, rotation, flip, size
):
    assert_warp_equals_projective_warp(
        FAST_WARPS[warp], dtype, fill, height, width, scale, rotation, flip, size
    )


def test_fast_warp_picks_the_kernel_by_rotation():
    upright = transforms.crop_affine([30.0, 20.0], 0.3, 0.0, True, 32)
    tilted = transforms.crop_affine([30.0, 20.0], 0.3, 10.0, True, 32)
    assert bool(transforms.is_axis_aligned(upright))
    assert not bool(transforms.is_axis_aligned(tilted))
    # The axis-aligned kernel applied to a rotated crop is wrong: the fast warp must not use it.
    image = tf.constant(np.random.default_rng(0).uniform(0, 255, (40, 60, 3)), tf.float32)
    expected = transforms.warp_image(image, tilted, 32)
    assert np.abs(transforms.warp_image_axis_aligned(image, tilted, 32) - expected).max() > 10
    np.testing.assert_allclose(transforms.warp_image_fast(image, tilted, 32), expected, atol=0.05)


def test_warp_matches_opencv():
    image = np.random.default_rng(1).uniform(0, 255, (50, 70, 3)).astype(np.float32)
    affine = transforms.crop_affine([35.0, 25.0], 0.2, 25.0, True, 48, box_scale=1.5)
    ours = transforms.warp_image(image, affine, 48, fill=128.0).numpy()
    theirs = cv2.warpAffine(
        image,
        affine.numpy().astype(np.float64),
        (48, 48),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(128, 128, 128),
    )
    # Away from the image border (where the two libraries blend the fill differently).
    inside = cv2.warpAffine(
        np.ones((50, 70), np.float32),
        affine.numpy().astype(np.float64),
        (48, 48),
        flags=cv2.INTER_NEAREST,
    )
    inside = cv2.erode(inside, np.ones((3, 3))) > 0
    np.testing.assert_allclose(ours[inside], theirs[inside], atol=0.05)


def test_crop_affine_maps_box_to_crop():
    affine = transforms.crop_affine([100.0, 80.0], 1.0, 0.0, False, 256, box_scale=1.5)
    corners = [[100.0 - 150, 80.0 - 150], [100.0 + 150, 80.0 + 150], [100.0, 80.0]]
    mapped = transforms.apply_affine(tf.constant(corners), affine).numpy()
    np.testing.assert_allclose(mapped, [[-0.5, -0.5], [255.5, 255.5], [127.5, 127.5]], atol=1e-4)


def test_flip_is_a_mirror_and_twice_is_identity():
    image = np.random.default_rng(2).uniform(0, 255, (60, 60, 3)).astype(np.float32)
    plain = transforms.crop_affine([30.0, 30.0], 0.25, 15.0, False, 40)
    flipped = transforms.crop_affine([30.0, 30.0], 0.25, 15.0, True, 40)
    a = transforms.warp_image(image, plain, 40).numpy()
    b = transforms.warp_image(image, flipped, 40).numpy()
    np.testing.assert_allclose(b, a[:, ::-1], atol=1e-2)  # float rounding on 0–255
    # The crop → crop mirror, applied twice, is the identity (image and points).
    mirror = transforms.crop_affine([19.5, 19.5], 0.2, 0.0, True, 40)  # 40 px box → 40 px
    twice = transforms.warp_image(transforms.warp_image(a, mirror, 40), mirror, 40).numpy()
    np.testing.assert_allclose(twice, a, atol=1e-2)
    points = tf.constant([[3.2, 7.9], [30.0, 1.0]])
    back = transforms.apply_affine(transforms.apply_affine(points, mirror), mirror)
    np.testing.assert_allclose(back.numpy(), points.numpy(), atol=1e-4)
    perm = np.array(LSP.flip_permutation)
    np.testing.assert_array_equal(perm[perm], np.arange(LSP.num_keypoints))


def test_invert_affine_and_crop_to_image_round_trip():
    affine = transforms.crop_affine(
        [[10.0, 20.0], [50.0, 5.0]], [0.3, 1.2], [10.0, -70.0], [False, True], 64, box_scale=1.5
    )
    points = tf.random.stateless_uniform([2, 5, 2], [1, 2], maxval=100.0)
    crop = transforms.apply_affine(points, affine)
    np.testing.assert_allclose(
        transforms.crop_to_image(crop, affine).numpy(), points.numpy(), atol=1e-3
    )
    identity = tf.linalg.matmul(
        tf.concat([transforms.invert_affine(affine), tf.constant([[[0.0, 0, 1]]] * 2)], 1),
        tf.concat([affine, tf.constant([[[0.0, 0, 1]]] * 2)], 1),
    )
    np.testing.assert_allclose(identity.numpy(), np.stack([np.eye(3)] * 2), atol=1e-5)


def test_in_crop():
    points = tf.constant([[-0.5, 0.0], [-0.6, 3.0], [9.5, 9.5], [9.6, 0.0], [4.0, 10.0]])
    np.testing.assert_array_equal(transforms.in_crop(points, 10).numpy(), [1, 0, 1, 0, 0])


def test_sample_crop_parameters_respect_ranges_and_probabilities():
    aug = transforms.AugmentationConfig(
        scale_range=(0.7, 1.3),
        scale_probability=0.5,
        rotation_max_deg=40.0,
        rotation_probability=0.5,
        flip_probability=0.5,
        center_jitter=0.05,
    )
    draws = [transforms.sample_crop_parameters(tf.constant([7, i]), aug, 8) for i in range(300)]
    scales = np.array([d["scale_factor"].numpy() for d in draws])
    rotations = np.array([d["rotation"].numpy() for d in draws])
    flips = np.array([d["flip"].numpy() for d in draws])
    offsets = np.array([d["offset"].numpy() for d in draws])
    jitters = np.array([d["jitter"].numpy() for d in draws])
    assert scales.min() >= 0.7 and scales.max() <= 1.3
    assert np.abs(rotations).max() <= 40.0
    assert 0.35 < np.mean(scales != 1.0) < 0.65
    assert 0.35 < np.mean(rotations != 0.0) < 0.65
    assert 0.35 < flips.mean() < 0.65
    assert set(np.unique(offsets)) == set(range(9))
    assert np.abs(jitters).max() <= 0.05


def test_augmentation_config_rejects_bad_ranges():
    with pytest.raises(ValueError, match="scale_range"):
        transforms.AugmentationConfig(scale_range=(1.3, 0.7))
    with pytest.raises(ValueError, match="flip_probability"):
        transforms.AugmentationConfig(flip_probability=1.5)
    with pytest.raises(ValueError, match="rotation_max_deg"):
        transforms.AugmentationConfig(rotation_max_deg=-1.0)
    with pytest.raises(ValueError, match="normalization"):
        transforms.normalize_pixels(tf.zeros([2]), "imagenet")


def test_random_crop_is_reproducible_from_its_seed():
    aug = transforms.AugmentationConfig(center_jitter=0.1)

    def crop(seed):
        return transforms.random_crop_affine(
            _example(),
            seed=tf.constant(seed, tf.int64),
            input_size=32,
            crop=CROP,
            augmentation=aug,
        )["affine"].numpy()

    np.testing.assert_array_equal(crop([3, 4]), crop([3, 4]))
    assert not np.allclose(crop([3, 4]), crop([3, 5]))


def test_center_crop_is_the_deterministic_transform():
    belagiannis = transforms.CROP_CONVENTIONS["belagiannis"]
    out = transforms.center_crop_affine(_example(), input_size=248, crop=belagiannis)
    # 300·scale box → 256, centre 248 window: the person centre lands at the crop centre.
    centre = transforms.apply_affine(tf.constant([[60.0, 45.0]]), out["affine"]).numpy()
    np.testing.assert_allclose(centre, [[123.5, 123.5]], atol=1e-4)
    zoom = transforms.affine_zoom(out["affine"]).numpy()
    np.testing.assert_allclose(zoom, 256.0 / (300.0 * 0.4), rtol=1e-5)
    assert not out["flip"].numpy()


def test_transform_keypoints_swaps_sides_when_flipped():
    example = _example()
    example["affine"] = transforms.crop_affine(example["center"], 0.4, 0.0, True, 64)
    example["flip"] = tf.constant(True)
    out = transforms.transform_keypoints(
        example, flip_permutation=LSP.flip_permutation, input_size=64
    )
    perm = list(LSP.flip_permutation)
    np.testing.assert_array_equal(out["visibility"], example["visibility"].numpy()[perm])
    np.testing.assert_allclose(out["image_keypoints"], example["keypoints"].numpy()[perm])
    np.testing.assert_allclose(
        transforms.crop_to_image(out["keypoints"], out["affine"]).numpy(),
        out["image_keypoints"].numpy(),
        atol=1e-3,
    )


def _prepared(example):
    example = dict(example)
    example["affine"] = transforms.crop_affine(example["center"], 0.4, 20.0, True, 32)
    example["flip"] = tf.constant(True)
    return example


OPS = {
    "random_crop_affine": lambda e: transforms.random_crop_affine(
        e,
        seed=tf.constant([1, 2], tf.int64),
        input_size=32,
        crop=CROP,
        augmentation=transforms.AugmentationConfig(center_jitter=0.1),
    ),
    "center_crop_affine": lambda e: transforms.center_crop_affine(e, input_size=32, crop=CROP),
    "warp_crop": lambda e: transforms.warp_crop(_prepared(e), input_size=32, fill=128.0),
    "warp_crop_fast": lambda e: transforms.warp_crop(
        _prepared(e), input_size=32, fill=128.0, method="fast"
    ),
    "transform_keypoints": lambda e: transforms.transform_keypoints(
        _prepared(e), flip_permutation=LSP.flip_permutation, input_size=32
    ),
    "color_jitter": lambda e: transforms.color_jitter(
        {**e, "image": tf.cast(e["image"], tf.float32)},
        seed=tf.constant([5, 6], tf.int64),
        color_scale=0.2,
        brightness=0.1,
    ),
    "normalize_image": lambda e: transforms.normalize_image(
        {**e, "image": tf.cast(e["image"], tf.float32)}, mode="belagiannis"
    ),
}


def assert_identical_eagerly_and_in_tf_data(op):
    """``op`` on :func:`_example` gives the same dict eagerly and mapped over a tf.data set."""
    eager = op(_example())
    graph = next(iter(tf.data.Dataset.from_tensors(_example()).map(op)))
    assert set(eager) == set(graph)
    for key in eager:
        np.testing.assert_allclose(eager[key].numpy(), graph[key].numpy(), atol=1e-4, err_msg=key)


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_is_identical_eagerly_and_in_tf_data(name):
    assert_identical_eagerly_and_in_tf_data(OPS[name])


def test_decode_image_eagerly_and_in_tf_data():
    image = np.random.default_rng(3).integers(0, 255, (20, 30, 3), np.uint8)
    encoded = cv2.imencode(".png", image[..., ::-1])[1].tobytes()
    example = {"image_bytes": tf.constant(encoded), "image_format": tf.constant("png")}
    eager = transforms.decode_image(example)
    graph = next(iter(tf.data.Dataset.from_tensors(example).map(transforms.decode_image)))
    np.testing.assert_array_equal(eager["image"].numpy(), image)
    np.testing.assert_array_equal(graph["image"].numpy(), image)
    assert "image_bytes" not in graph


def test_normalizations_invert():
    pixels = tf.constant([0.0, 128.0, 255.0])
    for mode in transforms.NORMALIZATIONS:
        back = transforms.denormalize_pixels(transforms.normalize_pixels(pixels, mode), mode)
        np.testing.assert_allclose(back.numpy(), pixels.numpy(), atol=1e-4)
    np.testing.assert_allclose(
        transforms.normalize_pixels(pixels, "belagiannis").numpy(), [-0.5, 0.0, 127 / 256]
    )
