"""Tests of tfpose.data.targets, heatmaps and heatmap_decoding: encoders, decoders (round
trips) and occlusion weights, through the names tfpose.data.targets re-exports."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfpose.data import targets, transforms
from tfpose.skeletons import LSP, MPII


def _points(num, low, high, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(low, high, (num, 2)), tf.float32)


def test_gaussian_round_trip_at_stride_1():
    points = _points(40, 8.0, 56.0)
    maps = targets.gaussian_heatmaps(points, 1.3, (64, 64), stride=1, amplitude=12.0)
    decoded, confidence = targets.decode_heatmaps(maps, stride=1)
    errors = np.linalg.norm(decoded.numpy() - points.numpy(), axis=-1)
    assert errors.max() <= 0.5
    np.testing.assert_allclose(confidence.numpy(), maps.numpy().max(axis=(0, 1)))
    assert confidence.numpy().min() > 12.0 * math.exp(-0.5 * 0.5 / 1.3**2)


def test_gaussian_round_trip_at_stride_4():
    points = _points(40, 16.0, 232.0, seed=1)
    maps = targets.gaussian_heatmaps(points, 1.3, (62, 62), stride=4, amplitude=12.0)
    decoded, _ = targets.decode_heatmaps(maps, stride=4)
    per_axis = np.abs(decoded.numpy() - points.numpy())
    assert per_axis.max() <= 4 / 4 + 1e-4  # stride / 4 along each axis


def test_gaussian_peak_and_exact_zero_background():
    maps = targets.gaussian_heatmaps(tf.constant([[20.0, 30.0]]), 1.3, (48, 48), amplitude=12.0)
    maps = maps.numpy()[..., 0]
    assert maps[30, 20] == pytest.approx(12.0)
    ys, xs = np.mgrid[0:48, 0:48]
    outside = (xs - 20) ** 2 + (ys - 30) ** 2 > (3 * 1.3) ** 2
    assert (maps[outside] == 0).all() and (maps[~outside] > 0).all()


def test_body_sigma_and_disc_radius_scale_with_the_person():
    # Bulat's crop: a 200·scale box → 256, so a person is 256 px tall and σ = 5·256/200.
    example = {
        "keypoints": tf.constant([[128.0, 128.0]]),
        "visibility": tf.constant([2]),
        "in_crop": tf.constant([True]),
        "scale": tf.constant(1.7),
        "affine": transforms.crop_affine([0.0, 0.0], 1.7, 0.0, False, 256),
    }
    out = targets.encode_targets(
        example,
        targets=[
            targets.GaussianTarget(sigma=5.0, sigma_units="body", truncate=6.0),
            targets.DiscTarget(),
        ],
        skeleton=LSP,
        heatmap_size=(256, 256),
        stride=1,
        occlusion_mode="include",
    )
    gaussian = out["heatmaps/keypoints"].numpy()[..., 0]
    xs = np.arange(256)
    profile = gaussian.sum(axis=0)
    std = math.sqrt((profile * (xs - 128) ** 2).sum() / profile.sum())
    assert std == pytest.approx(5.0 * 256 / 200, rel=0.01)
    disc_area = out["heatmaps/detection"].numpy().sum()
    assert disc_area == pytest.approx(math.pi * (10.0 * 256 / 200) ** 2, rel=0.05)


def test_disc_round_trip():
    points = _points(20, 15.0, 49.0, seed=2)
    maps = targets.disc_heatmaps(points, 6.0, (64, 64))
    decoded, area = targets.decode_discs(maps)
    assert np.linalg.norm(decoded.numpy() - points.numpy(), axis=-1).max() <= 0.5
    assert set(np.unique(maps.numpy())) == {0.0, 1.0}
    np.testing.assert_allclose(area.numpy(), math.pi * 36, rtol=0.1)
    coarse = targets.disc_heatmaps(points * 4, 24.0, (64, 64), stride=4)
    decoded, _ = targets.decode_discs(coarse, stride=4)
    assert np.abs(decoded.numpy() - points.numpy() * 4).max() <= 1.0 + 1e-4


def test_limb_round_trip():
    keypoints = tf.constant([[20.0, 20.0], [50.0, 44.0], [40.0, 10.0], [40.0, 40.0]])
    limbs = [(0, 1), (2, 3)]
    maps = targets.limb_heatmaps(keypoints, limbs, (64, 64), amplitude=12.0)
    midpoints, lengths, directions = targets.decode_limbs(maps)
    np.testing.assert_allclose(midpoints.numpy(), [[35.0, 32.0], [40.0, 25.0]], atol=0.5)
    true_lengths = np.array([math.hypot(30, 24), 30.0])
    np.testing.assert_allclose(lengths.numpy(), true_lengths, rtol=0.05)
    true_directions = np.array([[30.0, 24.0], [0.0, 30.0]]) / true_lengths[:, None]
    cosines = np.abs((directions.numpy() * true_directions).sum(-1))
    assert cosines.min() > math.cos(math.radians(3))
    assert maps.numpy().max() == pytest.approx(12.0, rel=0.02)


def test_limb_map_is_anisotropic_along_the_limb():
    maps = targets.limb_heatmaps(tf.constant([[10.0, 32.0], [54.0, 32.0]]), [(0, 1)], (64, 64))
    row, column = maps.numpy()[32, :, 0], maps.numpy()[:, 32, 0]
    # σ_along = 0.15·44 = 6.6 px, σ_across = 0.08·44 = 3.52 px, truncated at 3σ.
    assert (row > 0).sum() == pytest.approx(2 * 3 * 6.6, abs=2)
    assert (column > 0).sum() == pytest.approx(2 * 3 * 3.52, abs=2)
    assert maps.numpy()[0, 0, 0] == 0.0


def test_decode_heatmaps_batched_inside_tf_function():
    points = tf.reshape(_points(2 * 3 * 4, 4.0, 28.0, seed=3), [2, 3, 4, 2])
    maps = targets.gaussian_heatmaps(points, 1.5, (32, 32))
    assert maps.shape == (2, 3, 32, 32, 4)
    decoded, confidence = tf.function(targets.decode_heatmaps)(maps)
    assert decoded.shape == (2, 3, 4, 2) and confidence.shape == (2, 3, 4)
    assert np.linalg.norm(decoded.numpy() - points.numpy(), axis=-1).max() <= 0.5


def test_flip_average_recovers_maps_of_the_unflipped_crop():
    size = 64
    points = _points(LSP.num_keypoints, 5.0, 58.0, seed=4)
    maps = targets.gaussian_heatmaps(points, 2.0, (16, 16), stride=4)
    # The mirrored crop: x → S − 1 − x, and joint k is labelled as its flip partner.
    mirrored = tf.stack([size - 1 - points[:, 0], points[:, 1]], axis=-1)
    mirrored = tf.gather(mirrored, LSP.flip_permutation)
    flipped_maps = targets.gaussian_heatmaps(mirrored, 2.0, (16, 16), stride=4)
    average = targets.flip_average(maps, flipped_maps, LSP.flip_permutation)
    np.testing.assert_allclose(average.numpy(), maps.numpy(), atol=1e-5)
    shifted = targets.flip_average(maps, flipped_maps, LSP.flip_permutation, shift=1)
    np.testing.assert_allclose((2 * shifted - maps).numpy()[:, 1:], maps.numpy()[:, :-1], atol=1e-5)
    with pytest.raises(ValueError, match="shift"):
        targets.flip_average(maps, flipped_maps, LSP.flip_permutation, shift=-1)


def test_decode_then_crop_to_image_returns_image_pixels():
    image_points = tf.constant([[[120.0, 80.0], [150.5, 140.25]]])
    affine = transforms.crop_affine([[130.0, 110.0]], [0.8], [25.0], [True], 248, box_scale=1.5)
    crop_points = transforms.apply_affine(image_points, affine)
    maps = targets.gaussian_heatmaps(crop_points, 1.3, (62, 62), stride=4, amplitude=12.0)
    decoded, _ = targets.decode_heatmaps(maps, stride=4)
    back = transforms.crop_to_image(decoded, affine).numpy()
    zoom = float(transforms.affine_zoom(affine)[0])
    assert np.linalg.norm(back - image_points.numpy(), axis=-1).max() <= math.sqrt(2) / zoom


# Occlusion modes ---------------------------------------------------------------------------

# Channels: visible, occluded, missing, annotated-but-outside-the-crop.
VISIBILITY = tf.constant([2, 1, 0, 2])
IN_CROP = tf.constant([True, True, True, False])
POINTS = tf.constant([[8.0, 8.0], [20.0, 20.0], [8.0, 24.0], [40.0, 8.0]])


@pytest.mark.parametrize("mode", targets.OCCLUSION_MODES)
def test_occlusion_mode_targets_and_weights(mode):
    maps = targets.gaussian_heatmaps(POINTS, 1.5, (32, 32), amplitude=12.0)
    target, weight = targets.apply_occlusion_mode(maps, VISIBILITY, IN_CROP, mode)
    target, weight, maps = target.numpy(), weight.numpy(), maps.numpy()
    # Visible: ordinary target, full weight.
    np.testing.assert_array_equal(target[..., 0], maps[..., 0])
    assert (weight[..., 0] == 1).all()
    # Missing: nothing, no gradient anywhere.
    assert (target[..., 2] == 0).all() and (weight[..., 2] == 0).all()
    # Outside the crop: background with full weight.
    assert (target[..., 3] == 0).all() and (weight[..., 3] == 1).all()
    # Occluded: depends on the mode.
    region = maps[..., 1] > 0
    if mode == "include":
        np.testing.assert_array_equal(target[..., 1], maps[..., 1])
        assert (weight[..., 1] == 1).all()
    elif mode == "ignore":
        assert (target[..., 1] == 0).all()
        assert (weight[..., 1][region] == 0).all() and (weight[..., 1][~region] == 1).all()
    else:
        assert (target[..., 1] == 0).all() and (weight[..., 1] == 1).all()
    # Every foreground pixel carries gradient.
    assert (weight[target > 0] == 1).all()


def _encode(mode, specs, skeleton=LSP, visibility=None, in_crop=None):
    num = skeleton.num_keypoints
    rng = np.random.default_rng(5)
    example = {
        "keypoints": tf.constant(rng.uniform(6, 58, (num, 2)), tf.float32),
        "visibility": tf.constant(
            visibility if visibility is not None else rng.integers(0, 3, num)
        ),
        "in_crop": tf.constant(in_crop if in_crop is not None else rng.uniform(size=num) > 0.2),
        "scale": tf.constant(0.3),
        "affine": transforms.crop_affine([0.0, 0.0], 0.3, 0.0, False, 64),
    }
    return example, targets.encode_targets(
        example,
        targets=specs,
        skeleton=skeleton,
        heatmap_size=(32, 32),
        stride=2,
        occlusion_mode=mode,
    )


@pytest.mark.parametrize("mode", targets.OCCLUSION_MODES)
def test_encode_targets_matches_the_reference_rules(mode):
    specs = [targets.GaussianTarget(amplitude=12.0), targets.LimbTarget(), targets.DiscTarget()]
    example, out = _encode(mode, specs)
    kp, vis, inside = example["keypoints"], example["visibility"], example["in_crop"]
    full = {
        "keypoints": (targets.gaussian_heatmaps(kp, 1.3, (32, 32), 2, 12.0), vis, inside, mode),
        "limbs": (
            targets.limb_heatmaps(kp, LSP.limbs, (32, 32), 2, amplitude=12.0),
            targets.limb_visibility(vis, LSP.limbs),
            tf.ones([LSP.num_limbs], tf.bool),
            mode,
        ),
        "detection": (
            targets.disc_heatmaps(kp, 10.0 * 0.3 * 200 * 64 / 60 / 200, (32, 32), 2),
            vis,
            inside,
            "exclude",  # Bulat's detection: visible parts only
        ),
    }
    for name, (maps, channel_vis, channel_in, channel_mode) in full.items():
        target, weight = targets.apply_occlusion_mode(maps, channel_vis, channel_in, channel_mode)
        np.testing.assert_allclose(out[f"heatmaps/{name}"], target, atol=1e-5, err_msg=name)
        np.testing.assert_array_equal(out[f"weights/{name}"], weight, err_msg=name)


def test_limb_with_missing_or_occluded_endpoint():
    visibility = np.full(LSP.num_keypoints, 2)
    visibility[LSP.index("right_knee")] = 0
    visibility[LSP.index("left_knee")] = 1
    _, out = _encode(
        "exclude",
        [targets.LimbTarget()],
        visibility=visibility,
        in_crop=np.ones(LSP.num_keypoints, bool),
    )
    weights, maps = out["weights/limbs"].numpy(), out["heatmaps/limbs"].numpy()
    for index, (a, b) in enumerate(LSP.limbs):
        names = {LSP.joint_names[a], LSP.joint_names[b]}
        if "right_knee" in names:
            assert (weights[..., index] == 0).all() and (maps[..., index] == 0).all()
        elif "left_knee" in names:  # occluded, exclude mode: background
            assert (weights[..., index] == 1).all() and (maps[..., index] == 0).all()
        else:
            assert (weights[..., index] == 1).all() and maps[..., index].max() > 0


def test_joints_a_dataset_lacks_get_zero_weight():
    visibility = np.full(MPII.num_keypoints, 2)
    for name in ("pelvis", "thorax"):  # what LSP records lack once mapped to MPII
        visibility[MPII.index(name)] = 0
    _, out = _encode(
        "include",
        [targets.GaussianTarget()],
        skeleton=MPII,
        visibility=visibility,
        in_crop=np.ones(MPII.num_keypoints, bool),
    )
    channel_max = out["weights/keypoints"].numpy().max(axis=(0, 1))
    expected = np.ones(MPII.num_keypoints)
    expected[[MPII.index("pelvis"), MPII.index("thorax")]] = 0
    np.testing.assert_array_equal(channel_max, expected)


def test_encode_targets_identical_eagerly_and_in_tf_data():
    specs = [
        targets.GaussianTarget(sigma=5.0, sigma_units="body"),
        targets.LimbTarget(),
        targets.DiscTarget(),
    ]
    example, eager = _encode("ignore", specs)

    def op(e):
        return targets.encode_targets(
            e,
            targets=specs,
            skeleton=LSP,
            heatmap_size=(32, 32),
            stride=2,
            occlusion_mode="ignore",
        )

    graph = next(iter(tf.data.Dataset.from_tensors(example).map(op)))
    batched = next(iter(tf.data.Dataset.from_tensors(example).batch(1).map(op)))
    for key in eager:
        np.testing.assert_allclose(eager[key], graph[key], atol=1e-5, err_msg=key)
        np.testing.assert_allclose(eager[key], batched[key][0], atol=1e-5, err_msg=key)


def test_bad_occlusion_mode_and_sigma_units():
    with pytest.raises(ValueError, match="occlusion_mode"):
        targets.occlusion_masks(VISIBILITY, IN_CROP, "drop")
    with pytest.raises(ValueError, match="sigma_units"):
        _encode("include", [targets.GaussianTarget(sigma_units="px")])
