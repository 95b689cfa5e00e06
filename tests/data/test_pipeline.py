"""Tests of tfpose.data.pipeline (build_dataset, configs) and the inspect tool."""

import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import encoded_example, import_cli
from tfpose.data import pipeline, records, transforms
from tfpose.data.example import PoseExample, parse_example
from tfpose.skeletons import LSP, MPII

HEIGHT, WIDTH = 96, 128
NUM_EXAMPLES = 5
RED, GREEN = (255, 0, 0), (0, 255, 0)


def _person(index: int, rng: np.random.Generator) -> PoseExample:
    """A synthetic LSP person: noise image, a red disc at the right ankle, a green one at the
    left ankle, a few occluded and missing joints."""
    image = rng.integers(0, 60, (HEIGHT, WIDTH, 3), np.uint8)
    keypoints = rng.uniform([34, 20], [94, 76], (LSP.num_keypoints, 2)).astype(np.float32)
    keypoints[LSP.index("right_ankle")] = [44.0, 70.0]
    keypoints[LSP.index("left_ankle")] = [84.0, 70.0]
    for name, colour in (("right_ankle", RED), ("left_ankle", GREEN)):
        x, y = keypoints[LSP.index(name)]
        cv2.circle(image, (int(round(x)), int(round(y))), 5, colour, -1)
    visibility = np.full(LSP.num_keypoints, 2)
    visibility[LSP.index("right_wrist")] = 1
    visibility[LSP.index("left_wrist")] = 0
    return encoded_example(
        image,
        keypoints,
        visibility,
        image_format="png",
        image_id=f"person{index}",
        center=np.array([64.0, 48.0]),
        scale=0.4,
        head_box=np.array([50.0, 10.0, 70.0, 30.0]) if index % 2 else None,
    )


@pytest.fixture(scope="module")
def record_dir(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("records"))
    rng = np.random.default_rng(0)
    people = [_person(i, rng) for i in range(NUM_EXAMPLES)]
    split = records.write_split(people, directory, "train", num_shards=2)
    records.write_manifest(
        directory,
        {"dataset": "test", "skeleton": "lsp", "num_keypoints": 14, "splits": {"train": split}},
    )
    return directory


def _files(record_dir):
    return os.path.join(record_dir, "train-*.tfrecord")


def _small(name):
    if name == "belagiannis":
        return pipeline.belagiannis_config(LSP, input_size=64)
    return pipeline.bulat_config(LSP, input_size=64, heatmap_stride=2)


def _dataset(record_dir, config, *, training, batch_size, skeleton=LSP, **options):
    """The deterministic dataset of ``record_dir``'s training shards."""
    return pipeline.build_dataset(
        _files(record_dir),
        skeleton,
        config,
        training=training,
        batch_size=batch_size,
        deterministic=True,
        **options,
    )


def _first(dataset):
    return {k: v.numpy() for k, v in next(iter(dataset)).items()}


@pytest.mark.parametrize("name", ["belagiannis", "bulat"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_has_documented_keys_dtypes_and_shapes(record_dir, name, training):
    config = _small(name)
    dataset = _dataset(record_dir, config, training=training, batch_size=2, seed=0)
    size, hm, k = config.input_size, config.heatmap_size, LSP.num_keypoints
    channels = {"keypoints": k, "limbs": LSP.num_limbs, "detection": k}
    expected = {
        "image": (tf.float32, [2, size, size, 3]),
        "keypoints": (tf.float32, [2, k, 2]),
        "visibility": (tf.int32, [2, k]),
        "in_crop": (tf.bool, [2, k]),
        "image_keypoints": (tf.float32, [2, k, 2]),
        "affine": (tf.float32, [2, 2, 3]),
        "center": (tf.float32, [2, 2]),
        "scale": (tf.float32, [2]),
        "head_box": (tf.float32, [2, 4]),
        "has_head_box": (tf.bool, [2]),
        "image_id": (tf.string, [2]),
        "image_size": (tf.int32, [2, 2]),
        "occlusion_labelled": (tf.bool, [2]),
        "coco_id": (tf.int64, [2]),
        "area": (tf.float32, [2]),
    }
    for head in config.target_names:
        expected[f"heatmaps/{head}"] = (tf.float32, [2, hm, hm, channels[head]])
        expected[f"weights/{head}"] = (tf.float32, [2, hm, hm, channels[head]])
    assert set(dataset.element_spec) == set(expected)
    batch = next(iter(dataset))
    for key, (dtype, shape) in expected.items():
        assert batch[key].dtype == dtype, key
        assert batch[key].shape.as_list() == shape, key
        static = dataset.element_spec[key].shape.as_list()
        assert static[1:] == shape[1:], key
        assert static[0] == (2 if training else None), key
    weights = [batch[f"weights/{h}"].numpy() for h in config.target_names]
    assert all(w.min() >= 0 and w.max() <= 1 for w in weights)
    expected_names = {"belagiannis": ("keypoints", "limbs"), "bulat": ("detection", "keypoints")}
    assert config.target_names == expected_names[name]


def test_same_seed_reproduces_and_other_seed_differs(record_dir):
    config = _small("belagiannis")

    def take(seed):
        dataset = _dataset(record_dir, config, training=True, batch_size=3, seed=seed)
        return [{k: v.numpy() for k, v in b.items()} for b in dataset.take(3)]

    first, again, other = take(7), take(7), take(8)
    for a, b in zip(first, again, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not all(np.allclose(a["affine"], b["affine"]) for a, b in zip(first, other, strict=True))


def test_evaluation_is_deterministic_ordered_and_complete(record_dir):
    config = _small("belagiannis")
    dataset = _dataset(record_dir, config, training=False, batch_size=2, seed=None)
    batches = [{k: v.numpy() for k, v in b.items()} for b in dataset]
    assert [len(b["image"]) for b in batches] == [2, 2, 1]
    ids = [i.decode() for b in batches for i in b["image_id"]]
    assert sorted(ids) == [f"person{i}" for i in range(NUM_EXAMPLES)]
    again = [{k: v.numpy() for k, v in b.items()} for b in dataset]
    for a, b in zip(batches, again, strict=True):
        np.testing.assert_array_equal(a["image"], b["image"])
    example = {"center": tf.constant([64.0, 48.0]), "scale": tf.constant(0.4)}
    centre_crop = transforms.center_crop_affine(example, input_size=64, crop=config.crop)
    for batch in batches:
        np.testing.assert_allclose(
            batch["affine"],
            np.broadcast_to(centre_crop["affine"].numpy(), batch["affine"].shape),
            atol=1e-4,
        )


def test_batched_parse_equals_single_parse_and_names_a_bad_record():
    rng = np.random.default_rng(3)
    people = [_person(i, rng) for i in range(4)]
    serialized = [p.serialize() for p in people]
    batch = parse_example(tf.constant(serialized), LSP.num_keypoints)
    for i, record in enumerate(serialized):
        single = parse_example(tf.constant(record), LSP.num_keypoints)
        assert set(single) == set(batch)
        for key, value in single.items():
            np.testing.assert_array_equal(batch[key][i].numpy(), value.numpy(), err_msg=key)
    people[2].scale = -1.0  # the conversion would refuse it; damaged records carry it
    people[3].keypoints[0] = np.nan
    damaged = tf.constant([p.serialize() for p in people])
    with pytest.raises(tf.errors.InvalidArgumentError, match="person2.*scale must be"):
        parse_example(damaged, LSP.num_keypoints)
    parsed = tf.function(lambda s: parse_example(s, LSP.num_keypoints)["scale"])
    with pytest.raises(tf.errors.InvalidArgumentError, match="person2.*scale must be"):
        parsed(damaged)
    np.testing.assert_array_equal(parsed(tf.constant(serialized[:2])), np.float32([0.4, 0.4]))


def test_keypoints_map_back_to_image_pixels(record_dir):
    config = _small("bulat")
    dataset = _dataset(record_dir, config, training=True, batch_size=4, seed=1)
    for batch in dataset.take(3):
        back = transforms.crop_to_image(batch["keypoints"], batch["affine"])
        np.testing.assert_allclose(back.numpy(), batch["image_keypoints"].numpy(), atol=1e-2)
        expected_in = transforms.in_crop(batch["keypoints"], config.input_size)
        np.testing.assert_array_equal(batch["in_crop"].numpy(), expected_in.numpy())


@pytest.mark.parametrize("flip", [False, True])
def test_flip_swaps_left_and_right_labels(record_dir, flip):
    augmentation = transforms.AugmentationConfig(
        scale_probability=0.0, rotation_probability=0.0, flip_probability=float(flip)
    )
    config = pipeline.bulat_config(input_size=64, augmentation=augmentation)
    batch = _first(_dataset(record_dir, config, training=True, batch_size=2, seed=0))
    image = transforms.denormalize_pixels(batch["image"], "unit")
    for i in range(2):
        x, y = np.round(batch["keypoints"][i, LSP.index("right_ankle")]).astype(int)
        red, green = image[i, y, x, 0], image[i, y, x, 1]
        # After a flip the person's right ankle is the one that was drawn green.
        assert (green > red + 100) if flip else (red > green + 100)
        # The occluded right wrist and the missing left wrist swap sides too.
        right, left = LSP.index("right_wrist"), LSP.index("left_wrist")
        assert batch["visibility"][i, right] == (0 if flip else 1)
        assert batch["visibility"][i, left] == (1 if flip else 0)


def test_targets_follow_visibility_and_crop(record_dir):
    config = pipeline.belagiannis_config(LSP, input_size=64, occlusion_mode="ignore")
    batch = _first(_dataset(record_dir, config, training=False, batch_size=2))
    weights, maps = batch["weights/keypoints"], batch["heatmaps/keypoints"]
    missing, occluded = LSP.index("left_wrist"), LSP.index("right_wrist")
    assert (weights[..., missing] == 0).all() and (maps[..., missing] == 0).all()
    assert (maps[..., occluded] == 0).all() and weights[..., occluded].min() == 0
    assert maps.max() == pytest.approx(12.0, rel=0.1) and (maps >= 0).all()


def test_joints_the_records_lack_are_missing(record_dir):
    config = pipeline.belagiannis_config(MPII, input_size=64)
    options = dict(skeleton=MPII, record_skeleton=LSP)
    batch = _first(_dataset(record_dir, config, training=False, batch_size=2, **options))
    assert batch["keypoints"].shape == (2, MPII.num_keypoints, 2)
    for name in ("pelvis", "thorax"):
        k = MPII.index(name)
        assert (batch["visibility"][:, k] == 0).all()
        assert (batch["weights/keypoints"][..., k] == 0).all()
    # Limbs through the pelvis or thorax have a missing endpoint: zero weight.
    lacking = {MPII.index("pelvis"), MPII.index("thorax")}
    for index, (a, b) in enumerate(MPII.limbs):
        if {a, b} & lacking:
            assert (batch["weights/limbs"][..., index] == 0).all()
    # Shared joints are matched by name.
    lsp_config = pipeline.belagiannis_config(LSP, input_size=64)
    lsp_batch = _first(_dataset(record_dir, lsp_config, training=False, batch_size=2))
    for name in ("neck", "left_knee", "right_wrist"):
        np.testing.assert_array_equal(
            batch["image_keypoints"][:, MPII.index(name)],
            lsp_batch["image_keypoints"][:, LSP.index(name)],
        )
        np.testing.assert_array_equal(
            batch["visibility"][:, MPII.index(name)], lsp_batch["visibility"][:, LSP.index(name)]
        )


def test_manifest_directory_and_errors(record_dir):
    config = _small("belagiannis")
    batch = _first(
        pipeline.build_dataset(
            record_dir,
            LSP,
            config,
            training=False,
            batch_size=5,
            deterministic=True,
        )
    )
    assert len(batch["image"]) == NUM_EXAMPLES
    with pytest.raises(FileNotFoundError, match="matches no file"):
        pipeline.build_dataset("/nonexistent/*.tfrecord", LSP, config, training=False, batch_size=1)
    with pytest.raises(ValueError, match="contradicts"):
        pipeline.build_dataset(
            record_dir, LSP, config, training=False, batch_size=1, record_skeleton=MPII
        )
    with pytest.raises(ValueError, match="batch_size"):
        pipeline.build_dataset(record_dir, LSP, config, training=False, batch_size=0)


def test_config_validation():
    with pytest.raises(ValueError, match="multiple"):
        pipeline.PipelineConfig(input_size=250, heatmap_stride=4)
    with pytest.raises(ValueError, match="crop_convention"):
        pipeline.PipelineConfig(crop_convention="square")
    with pytest.raises(ValueError, match="occlusion_mode"):
        pipeline.belagiannis_config(occlusion_mode="drop")
    with pytest.raises(ValueError, match="normalization"):
        pipeline.PipelineConfig(normalization="imagenet")
    config = pipeline.belagiannis_config()
    assert (config.input_size, config.heatmap_size, config.crop.box_scale) == (248, 62, 1.5)
    config = pipeline.bulat_config()
    assert (config.input_size, config.heatmap_size, config.crop.box_scale) == (256, 256, 1.0)


def test_inspect_writes_a_sheet(record_dir, tmp_path):
    output = str(tmp_path / "sheet.png")
    inspect = import_cli("tfpose.data.inspect")
    inspect.write_sheet(record_dir, output, config_name="belagiannis", augment=True, num_examples=2)
    image = cv2.imread(output)
    assert image is not None and image.shape[0] > 100 and image.std() > 10


def test_remap_joints_eagerly_and_in_tf_data():
    example = {
        "keypoints": tf.reshape(tf.range(28, dtype=tf.float32), [14, 2]),
        "visibility": tf.fill([14], 2),
    }

    def op(e):
        return pipeline.remap_joints(e, source=LSP, target=MPII)

    eager = op(example)
    graph = next(iter(tf.data.Dataset.from_tensors(example).map(op)))
    for key in eager:
        np.testing.assert_array_equal(eager[key].numpy(), graph[key].numpy())
    for name in MPII.joint_names:
        k = MPII.index(name)
        if name in LSP.joint_names:
            np.testing.assert_array_equal(
                eager["keypoints"][k], example["keypoints"][LSP.index(name)]
            )
            assert eager["visibility"][k] == 2
        else:
            assert eager["visibility"][k] == 0 and (eager["keypoints"][k] == 0).numpy().all()
