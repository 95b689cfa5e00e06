"""The optional COCO record features (``image/coco_id``, ``person/area``): written when given,
parsed with defaults when absent (records of other datasets, records written before), checked."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import encoded_example
from tfpose.data import pipeline, records
from tfpose.data.example import NO_COCO_ID, parse_example
from tfpose.skeletons import COCO


def _example(**fields):
    image = np.random.default_rng(0).integers(0, 255, (40, 30, 3), np.uint8)
    keypoints = np.random.default_rng(1).uniform(2.0, 28.0, (COCO.num_keypoints, 2))
    return encoded_example(
        image,
        keypoints,
        np.full(COCO.num_keypoints, 2),
        image_id="000000000785.jpg",
        center=[15.0, 20.0],
        scale=0.2,
        dataset="coco",
        **fields,
    )


def test_records_without_the_features_read_with_defaults():
    old = _example()  # what every record was before: no coco_id, no area
    features = old.to_tf_example().features.feature
    assert "image/coco_id" not in features and "person/area" not in features
    parsed = parse_example(old.serialize(), COCO.num_keypoints)
    assert int(parsed["coco_id"]) == NO_COCO_ID == -1
    assert float(parsed["area"]) == 0.0
    assert parsed["image_id"].numpy() == b"000000000785.jpg"


def test_the_features_round_trip_single_and_batched():
    new = _example(coco_id=785, area=27789.11055)
    parsed = parse_example(new.serialize(), COCO.num_keypoints)
    assert int(parsed["coco_id"]) == 785
    assert float(parsed["area"]) == pytest.approx(27789.11055)
    batch = parse_example(
        tf.constant([new.serialize(), _example().serialize()]), COCO.num_keypoints
    )
    np.testing.assert_array_equal(batch["coco_id"].numpy(), [785, -1])
    np.testing.assert_allclose(batch["area"].numpy(), [27789.11055, 0.0])


def test_bad_values_are_refused_when_written_and_when_read():
    with pytest.raises(ValueError, match="coco_id must be an integer >= 0"):
        _example(coco_id=-3)
    with pytest.raises(ValueError, match="area must be a finite number >= 0"):
        _example(area=float("nan"))
    example = _example(area=1.0).to_tf_example()
    example.features.feature["person/area"].float_list.value[0] = -5.0  # another tool's record
    with pytest.raises(tf.errors.InvalidArgumentError, match="area must be a finite number"):
        parse_example(example.SerializeToString(), COCO.num_keypoints)


def test_evaluation_batches_carry_them_for_old_and_new_records(tmp_path):
    examples = [_example(coco_id=785, area=500.0), _example(), _example(coco_id=7, area=12.5)]
    entry = records.write_split(examples, str(tmp_path), "val")
    dataset = pipeline.build_dataset(
        [str(tmp_path / name) for name in entry["files"]],
        COCO,
        pipeline.PipelineConfig(input_size=32, heatmap_stride=4),
        training=False,
        batch_size=3,
        deterministic=True,
        record_skeleton=COCO,
    )
    batch = next(iter(dataset))
    np.testing.assert_array_equal(batch["coco_id"].numpy(), [785, -1, 7])
    np.testing.assert_allclose(batch["area"].numpy(), [500.0, 0.0, 12.5])
