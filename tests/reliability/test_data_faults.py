"""Damaged data: every case stops with the file, the record and the problem, or is a counted
skip at conversion; none trains silently on garbage.

Records are normally written by ``tfpose.data.convert``, which validates every example; the
damaged records here are written past that validation (attributes changed after construction,
bytes cut or flipped), the way a disk error or another tool would produce them.
"""

import json

import cv2
import numpy as np
import pytest
import scipy.io
import tensorflow as tf

from tests.conftest import tiny_run_config
from tests.reliability.conftest import person, write_records
from tfpose.data import pipeline, records
from tfpose.data.conversion import convert
from tfpose.skeletons import MPII
from tfpose.training import run as run_lib

BAD_VALUES = {
    "nan_keypoint": (
        {"keypoints": np.where(np.eye(16, 2, dtype=bool), np.nan, 10.0)},
        "NaN or inf",
    ),
    "inf_keypoint": ({"keypoints": np.full((16, 2), np.inf)}, "NaN or inf"),
    "absurd_keypoint": ({"keypoints": np.full((16, 2), 1e30)}, "more than one image size"),
    "zero_scale": ({"scale": 0.0}, "scale must be a positive finite number"),
    "negative_scale": ({"scale": -0.3}, "scale must be a positive finite number"),
    "nan_center": ({"center": np.array([np.nan, 3.0], np.float32)}, "center is NaN or inf"),
}


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


BAD_IMAGES = {
    "not_an_image": (b"this is not an image" * 4, "Unknown image file format"),
    "truncated_jpeg": (None, "Invalid JPEG data"),
}


def _damaged(tmp_path, case):
    """A one-shard record folder whose record #2 (of 5) carries ``case``."""
    if case in BAD_VALUES:
        bad = person(99, **BAD_VALUES[case][0])
    else:
        bad = person(99)
        bad.image_bytes = BAD_IMAGES[case][0] or _cut(bad.image_bytes)
    examples = [person(0), person(1), bad, person(2), person(3)]
    return write_records(tmp_path / case, {"train": examples})


@pytest.mark.parametrize("case", sorted(BAD_VALUES) + sorted(BAD_IMAGES))
def test_check_records_names_file_record_and_problem(tmp_path, case):
    folder = _damaged(tmp_path, case)
    files = records.Manifest.load(folder).files("train")
    count, problems = records.check_records(files, 16)
    assert count == 4 and len(problems) == 1, problems
    message = {**BAD_VALUES, **BAD_IMAGES}[case][1]
    assert problems[0].startswith(f"{files[0]}: record #2: ")
    assert message in problems[0]
    if case in BAD_VALUES:
        assert "person99.jpg" in problems[0]


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_pipeline_refuses_bad_values_instead_of_training_on_them(tmp_path, case):
    # Before: NaN keypoints gave NaN targets' coordinates silently, a negative scale an
    # upside-down crop, a zero scale NaN images. Now parse_example stops on them.
    folder = _damaged(tmp_path, case)
    config = pipeline.belagiannis_config(MPII, input_size=32)
    for training in (True, False):
        dataset = pipeline.build_dataset(
            folder, MPII, config, training=training, batch_size=5, seed=0, repeat=False
        )
        with pytest.raises(tf.errors.InvalidArgumentError, match="person99.jpg"):
            for _ in dataset:
                pass


def test_damaged_shards_are_named_with_the_record(tmp_path):
    folder = write_records(tmp_path / "shards", {"train": [person(i) for i in range(6)]})
    [path] = records.Manifest.load(folder).files("train")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-100])  # a truncated copy
    count, problems = records.check_records([path], 16)
    assert count == 5 and len(problems) == 1
    assert problems[0].startswith(f"{path}: record #5 and after: the file is truncated")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # one flipped bit pattern: the record checksum catches it
    open(path, "wb").write(bytes(flipped))
    count, problems = records.check_records([path], 16)
    assert count < 6 and len(problems) == 1 and "truncated or corrupted" in problems[0]
    assert path in problems[0]


def test_training_on_damaged_records_names_them(tmp_path):
    # A negative scale in one shard and a truncated second shard: the run stops with both named
    # (the pipeline's own error names neither) and says how to resume.
    folder = tmp_path / "records"
    examples = [person(i) for i in range(8)] + [person(99, scale=-1.0)]
    write_records(folder, {"train": examples, "val": [person(20), person(21)]})
    second = records.write_split([person(i) for i in range(10, 18)], str(folder), "more", 1)
    shard = folder / second["files"][0]
    shard.write_bytes(shard.read_bytes()[:-50])
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["splits"]["train"]["files"] += second["files"]
    manifest["splits"]["train"]["num_examples"] += 8
    (folder / "manifest.json").write_text(json.dumps(manifest))
    config = tiny_run_config(tmp_path / "run", folder, stages=(("joint", 40),))
    with pytest.raises(run_lib.DamagedRecordsError) as info:
        run_lib.train(config)
    message = str(info.value)
    assert 'train-00000-of-00001.tfrecord: record #8: record of image "person99.jpg"' in message
    assert "scale must be a positive finite number" in message
    assert f"{shard}: record #7 and after: the file is truncated or corrupted" in message
    assert "re-run the same command: it resumes from" in message
    assert isinstance(info.value, run_lib.USER_ERRORS)  # the CLI prints it without a traceback


def _write_lspet(root, joints, corrupt=()):
    (root / "images").mkdir(parents=True)
    scipy.io.savemat(root / "joints.mat", {"joints": joints})
    for n in range(1, joints.shape[-1] + 1):
        image = np.random.default_rng(n).integers(0, 255, (40, 30, 3), np.uint8)
        data = b"\xff\xd8\xff garbage" if n in corrupt else cv2.imencode(".jpg", image)[1].tobytes()
        (root / "images" / f"im{n:05d}.jpg").write_bytes(data)


def test_conversion_counts_bad_annotations_and_images_as_skips(tmp_path):
    rng = np.random.default_rng(3)
    joints = np.ones((14, 3, 5))
    joints[:, :2] = rng.uniform(2, 28, (14, 2, 5))
    joints[4, 0, 1] = np.nan  # image 2: a NaN coordinate
    joints[6, :2, 2] = 1e7  # image 3: an absurd coordinate
    _write_lspet(tmp_path / "lspet", joints, corrupt=(4,))  # image 4: corrupt file
    manifest = convert("lspet", str(tmp_path / "out"), str(tmp_path / "lspet"))
    assert manifest["splits"]["train"]["num_examples"] == 2
    assert manifest["skipped"]["train"] == 3
    assert manifest["skip_reasons"] == {"invalid annotation": 2, "unreadable image": 1}


def test_an_empty_split_is_an_error_not_an_empty_run(tmp_path):
    joints = np.ones((14, 3, 2))
    _write_lspet(tmp_path / "lspet", joints, corrupt=(1, 2))
    with pytest.raises(ValueError, match="split 'train' of lspet has no usable example"):
        convert("lspet", str(tmp_path / "out"), str(tmp_path / "lspet"))
    folder = write_records(tmp_path / "records", {"train": [], "val": [person(0)]})
    config = run_lib.RunConfig(workdir=str(tmp_path / "run"), records=folder)
    with pytest.raises(ValueError, match=r"manifest.json: split 'train' is empty"):
        run_lib.train(config)
    folder = write_records(tmp_path / "records2", {"train": [person(0)] * 4, "val": []})
    config = run_lib.RunConfig(workdir=str(tmp_path / "run2"), records=folder, val_split="val")
    with pytest.raises(ValueError, match=r"manifest.json: split 'val' is empty"):
        run_lib.train(config)


@pytest.mark.parametrize(
    "dataset, message",
    [
        ("lsp", "expected an 'images/' folder and 'joints.mat'"),
        ("lspet", "expected an 'images/' folder and 'joints.mat'"),
        ("coco", "no COCO annotation JSON found"),
        ("mpii", "mpii"),
    ],
)
def test_wrong_dataset_layout_names_the_folder(tmp_path, dataset, message):
    (tmp_path / "data" / "stray").mkdir(parents=True)
    (tmp_path / "data" / "notes.txt").write_text("not a dataset")
    with pytest.raises((FileNotFoundError, ValueError), match=message) as info:
        convert(dataset, str(tmp_path / "out"), str(tmp_path / "data"))
    assert str(tmp_path / "data") in str(info.value)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"num_keypoints": 14}, "num_keypoints is 14 but skeleton 'mpii' has 16 joints"),
        ({"skeleton": "mpi"}, "unknown skeleton 'mpi'"),
        ({"splits": {"train": ["a.tfrecord"]}}, "'splits' must map each split"),
        ({"splits": {"train": {"files": ["gone.tfrecord"], "num_examples": 1}}}, None),
    ],
)
def test_manifest_that_does_not_match_is_refused(tmp_path, change, message):
    folder = write_records(tmp_path, {"train": [person(0)]})
    content = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**content, **change}))
    if message is None:  # a listed file that is gone
        with pytest.raises(FileNotFoundError, match="gone.tfrecord"):
            records.Manifest.load(folder).files("train")
        return
    with pytest.raises(ValueError, match=message):
        records.Manifest.load(folder)


def test_records_of_another_skeleton_are_named(tmp_path):
    # LSP records (14 joints) behind a manifest that claims MPII (16): each record is named.
    example = person(0)
    example.keypoints, example.visibility = example.keypoints[:14], example.visibility[:14]
    folder = write_records(tmp_path, {"train": [example, example]})
    count, problems = records.check_records(records.Manifest.load(folder).files("train"), 16)
    assert count == 0 and len(problems) == 2
    assert "record #0" in problems[0] and "not a tfpose example with the manifest's" in problems[0]


def test_joints_slightly_outside_the_image_are_kept(tmp_path):
    # Truncated people have joints just outside the image: they are data, not errors; the
    # pipeline gives them no target where they leave the crop (see test_properties.py).
    keypoints = np.full((16, 2), 20.0)
    keypoints[0] = (-10.0, 70.0)  # left of and below the 48 × 64 image
    folder = write_records(tmp_path, {"train": [person(0, keypoints=keypoints)]})
    assert records.check_records(records.Manifest.load(folder).files("train"), 16) == (1, [])
