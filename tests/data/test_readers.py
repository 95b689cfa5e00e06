"""Reader → record → parsed tensors round trips, on real files and on files written here."""

import json

import cv2
import numpy as np
import pytest
import scipy.io
import tensorflow as tf

from tests.conftest import run_python
from tfpose.data import coco, lsp, mpii, records
from tfpose.data.conversion import convert
from tfpose.data.example import OCCLUDED, VISIBLE, PoseExample, parse_example
from tfpose.data.image_files import SkipLog, UnreadableImageError, read_image_file
from tfpose.skeletons import MPII


def _parse_all(manifest_dir, split):
    manifest = records.Manifest.load(str(manifest_dir))
    ds = tf.data.TFRecordDataset(manifest.files(split))
    return [parse_example(s, manifest.num_keypoints) for s in ds]


def _write_jpeg(path, height=40, width=30, seed=0):
    image = np.random.default_rng(seed).integers(0, 255, (height, width, 3), np.uint8)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())
    return data.tobytes()


def _assert_round_trip(parsed, keypoints, visibility, image_bytes=None):
    annotated = visibility > 0
    np.testing.assert_allclose(
        parsed["keypoints"].numpy()[annotated], keypoints[annotated], atol=1e-4
    )
    np.testing.assert_array_equal(parsed["visibility"].numpy(), visibility)
    if image_bytes is not None:
        assert parsed["image_bytes"].numpy() == image_bytes


# ---------------------------------------------------------------- image files


def test_read_image_file_reports_bad_files(tmp_path):
    good = tmp_path / "good.jpg"
    data = _write_jpeg(good)
    image = read_image_file(str(good))
    assert (image.format, image.height, image.width, image.encoded) == ("jpeg", 40, 30, data)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_bytes(b"hello, not an image")
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    for name, message in [
        ("empty.jpg", "empty"),
        ("text.jpg", "not a JPEG or PNG"),
        ("cut.jpg", "truncated|does not decode"),
        ("missing.jpg", "cannot read"),
    ]:
        with pytest.raises(UnreadableImageError, match=message) as info:
            read_image_file(str(tmp_path / name))
        assert name in str(info.value)


# ---------------------------------------------------------------- LSP / LSPET


def test_lsp_original_annotations_real_file(shared_data):
    joints = lsp.load_joints_mat(str(shared_data / "lsp_annotations" / "joints.mat"))
    people = lsp.parse_lsp_joints(joints)
    assert len(people) == 2000
    visibility = np.stack([p["visibility"] for p in people])
    # Every joint annotated; the README's 7.3% are the occluded ones.
    assert set(np.unique(visibility)) == {OCCLUDED, VISIBLE}
    assert np.mean(visibility == OCCLUDED) == pytest.approx(0.073, abs=1e-3)
    np.testing.assert_allclose(people[0]["keypoints"], joints[:2, :, 0].T - 1.0)


def test_lsp_layouts_are_told_apart(shared_data):
    original = lsp.load_joints_mat(str(shared_data / "lsp_annotations" / "joints.mat"))
    with pytest.raises(ValueError, match="use --dataset=lsp"):
        lsp.parse_lspet_joints(original)
    with pytest.raises(ValueError, match="use --dataset=lspet"):
        lsp.parse_lsp_joints(original.transpose(1, 0, 2))


def _write_lsp_dataset(root, joints, digits, corrupt=()):
    (root / "images").mkdir(parents=True)
    scipy.io.savemat(root / "joints.mat", {"joints": joints})
    data = {}
    for n in range(1, joints.shape[-1] + 1):
        path = root / "images" / f"im{n:0{digits}d}.jpg"
        if n in corrupt:
            path.write_bytes(b"\xff\xd8\xff garbage")
        else:
            data[n] = _write_jpeg(path, seed=n)
    return data


def test_lsp_round_trip_with_written_files(tmp_path):
    rng = np.random.default_rng(1)
    joints = np.zeros((3, 14, 4))
    joints[:2] = rng.uniform(2, 28, (2, 14, 4))
    joints[2, 3, 1] = 1  # joint 3 of image 2 occluded
    data = _write_lsp_dataset(tmp_path / "lsp", joints, digits=4, corrupt=(4,))
    manifest = convert("lsp", str(tmp_path / "out"), str(tmp_path / "lsp"))
    assert manifest["splits"]["train"]["num_examples"] == 3
    assert manifest["skipped"]["train"] == 1  # image 4 is corrupt: skipped and counted
    parsed = _parse_all(tmp_path / "out", "train")
    for i, p in enumerate(parsed):
        expected_vis = np.where(joints[2, :, i] > 0, OCCLUDED, VISIBLE)
        _assert_round_trip(p, joints[:2, :, i].T - 1.0, expected_vis, data[i + 1])
        assert not p["has_head_box"] and p["occlusion_labelled"]
        assert p["skeleton"].numpy() == b"lsp"
    assert parsed[1]["visibility"].numpy()[3] == OCCLUDED


def test_lspet_round_trip_with_written_files(tmp_path):
    rng = np.random.default_rng(2)
    joints = np.ones((14, 3, 3))
    joints[:, :2] = rng.uniform(2, 28, (14, 2, 3))
    joints[5, :, 0] = (-1, -1, 0)  # a missing joint
    data = _write_lsp_dataset(tmp_path / "lspet", joints, digits=5)
    convert("lspet", str(tmp_path / "out"), str(tmp_path / "lspet"))
    parsed = _parse_all(tmp_path / "out", "train")
    assert len(parsed) == 3
    for i, p in enumerate(parsed):
        vis = np.where(joints[:, 2, i] > 0, VISIBLE, 0)
        _assert_round_trip(p, joints[:, :2, i] - 1.0, vis, data[i + 1])
        assert not p["occlusion_labelled"]  # LSPET has no occlusion labels
    assert parsed[0]["visibility"].numpy()[5] == 0


@pytest.fixture(scope="module")
def lspet_records(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("lspet_records")
    manifest = convert("lspet", str(out), str(shared_data / "lspet"))
    return out, manifest


def test_lspet_real_conversion_splits(lspet_records):
    _, manifest = lspet_records
    counts = {s: v["num_examples"] for s, v in manifest["splits"].items()}
    assert counts == {"train": 9000, "val": 500, "test": 500}
    assert sum(manifest["skipped"].values()) == 0


def test_lspet_real_round_trip(lspet_records, shared_data):
    out, _ = lspet_records
    joints = lsp.load_joints_mat(str(shared_data / "lspet" / "joints.mat"))
    parsed = _parse_all(out, "test")
    assert parsed[0]["image_id"].numpy() == b"im09501.jpg"
    for p in parsed[:50]:
        n = int(p["image_id"].numpy()[2:7])
        source = (shared_data / "lspet" / "images" / f"im{n:05d}.jpg").read_bytes()
        vis = np.where(joints[:, 2, n - 1] > 0, VISIBLE, 0)
        _assert_round_trip(p, joints[:, :2, n - 1] - 1.0, vis, source)
        h, w = cv2.imdecode(np.frombuffer(source, np.uint8), cv2.IMREAD_COLOR).shape[:2]
        assert tuple(p["image_size"].numpy()) == (h, w)
        assert 0.3 < p["scale"].numpy() < 3.0  # LSPET people are ~150 px tall


# ---------------------------------------------------------------- MPII


def test_mpii_json_samples_with_tompson_validation(shared_data):
    samples = shared_data / "samples" / "mpii"
    validation_file = str(shared_data / "mpii_val" / "detections_our_format.mat")
    validation = mpii.TompsonValidation.load(validation_file)
    assert len(validation) == 2958
    splits = mpii.read_mpii(str(samples), SkipLog(), validation_file=validation_file)
    assert list(splits) == ["val"]  # the samples are the first 5 persons of the validation split
    count, examples = splits["val"]
    examples = list(examples)
    assert count == len(examples) == 5
    source = json.loads((samples / "test_mpii.json").read_text())
    for n, (example, item) in enumerate(zip(examples, source, strict=True)):
        assert validation.find(np.asarray(item["joints"]), np.asarray(item["joints_vis"]) > 0) == n
        parsed = parse_example(example.serialize(), MPII.num_keypoints)
        vis = np.where(np.asarray(item["joints_vis"]) > 0, VISIBLE, 0)
        _assert_round_trip(parsed, np.asarray(item["joints"]) - 1.0, vis)
        assert parsed["image_bytes"].numpy() == (samples / item["image"]).read_bytes()
        np.testing.assert_allclose(parsed["head_box"].numpy(), validation.head_boxes[n] - 1.0)
        x1, y1, x2, y2 = parsed["head_box"].numpy()
        head = parsed["keypoints"].numpy()[MPII.index("head_top")]
        assert x1 - 5 <= head[0] <= x2 + 5 and y1 - 5 <= head[1] <= y2 + 5


def _struct_array(items):
    array = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        array[0, i] = item
    return array


def _write_release_mat(path, people_per_image, img_train):
    annolist = []
    for i, people in enumerate(people_per_image):
        rects = []
        for person in people:
            points = [
                {"id": k, "x": float(x), "y": float(y), "is_visible": int(v)}
                for k, ((x, y), v) in enumerate(
                    zip(person["keypoints"], person["seen"], strict=True)
                )
                if person["annotated"][k]
            ]
            rects.append(
                {
                    "x1": 1.0,
                    "y1": 2.0,
                    "x2": 11.0,
                    "y2": 14.0,
                    "annopoints": {"point": _struct_array(points)},
                    "scale": person["scale"],
                    "objpos": {"x": 15.0, "y": 20.0},
                }
            )
        annolist.append({"image": {"name": f"img{i}.jpg"}, "annorect": _struct_array(rects)})
    release = {
        "annolist": _struct_array(annolist),
        "img_train": np.asarray(img_train, np.uint8)[None],
        "single_person": _struct_array([np.array([[1]]) for _ in people_per_image]),
    }
    scipy.io.savemat(path, {"RELEASE": release})


def test_mpii_release_mat_round_trip(tmp_path):
    rng = np.random.default_rng(3)

    def person():
        return {
            "keypoints": rng.uniform(2, 28, (16, 2)),
            "seen": rng.integers(0, 2, 16),
            "annotated": np.r_[np.ones(15, bool), False],
            "scale": 0.2,
        }

    people = [[person()], [person(), person()], [person()]]
    _write_release_mat(tmp_path / "mpii_human_pose_v1_u12_1.mat", people, img_train=[1, 1, 0])
    data = {i: _write_jpeg(tmp_path / "images" / f"img{i}.jpg", seed=i) for i in range(3)}
    convert("mpii", str(tmp_path / "out"), str(tmp_path))
    parsed = _parse_all(tmp_path / "out", "train")
    assert len(parsed) == 3  # image 2 is a test image: no annotations to convert
    expected = [(0, people[0][0]), (1, people[1][0]), (1, people[1][1])]
    for p, (image, source) in zip(parsed, expected, strict=True):
        vis = np.where(source["annotated"], np.where(source["seen"] > 0, VISIBLE, OCCLUDED), 0)
        _assert_round_trip(p, source["keypoints"] - 1.0, vis, data[image])
        assert p["has_head_box"] and p["occlusion_labelled"]
        np.testing.assert_allclose(p["head_box"].numpy(), [0, 1, 10, 13])
        np.testing.assert_allclose(p["center"].numpy(), [14, 19])
    singles = mpii.parse_release(str(tmp_path / "mpii_human_pose_v1_u12_1.mat"))
    assert [s["single_person"] for s in singles] == [True, True, False]


def test_mpii_bad_files_are_named(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image": "a.jpg", "joints": [[0, 0]] * 16}]))
    with pytest.raises(ValueError, match=r"bad.json: person #0 lacks 'joints_vis', 'center'"):
        mpii.parse_json(str(bad))
    scipy.io.savemat(tmp_path / "other.mat", {"x": np.zeros(3)})
    with pytest.raises(ValueError, match="other.mat: not the MPII release file"):
        mpii.parse_release(str(tmp_path / "other.mat"))
    with pytest.raises(ValueError, match="other.mat: not the Tompson validation file"):
        mpii.TompsonValidation.load(str(tmp_path / "other.mat"))


# ---------------------------------------------------------------- COCO


def test_coco_samples_round_trip(shared_data, tmp_path):
    root = shared_data / "samples" / "coco"
    content = json.loads((root / "test_coco.json").read_text())
    manifest = convert("coco", str(tmp_path / "out"), str(root))
    people = [a for a in content["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"]]
    assert manifest["splits"]["test_coco"]["num_examples"] == len(people)
    dropped = len(content["annotations"]) - len(people)  # 2 persons without a labelled keypoint
    assert manifest["skip_reasons_by_split"]["test_coco"] == {coco.DROPPED_UNLABELLED: dropped}
    parsed = _parse_all(tmp_path / "out", "test_coco")
    files = {img["id"]: img["file_name"] for img in content["images"]}
    for p, ann in zip(parsed, people, strict=True):
        values = np.asarray(ann["keypoints"], np.float32).reshape(17, 3)
        _assert_round_trip(p, values[:, :2], values[:, 2].astype(int))
        assert p["image_bytes"].numpy() == (root / files[ann["image_id"]]).read_bytes()
        x, y, w, h = ann["bbox"]
        np.testing.assert_allclose(p["center"].numpy(), [x + w / 2, y + h / 2], rtol=1e-5)
    # COCO keeps the occluded state (v = 1) where the file has it.
    assert any((np.asarray(a["keypoints"])[2::3] == 1).any() for a in people) == any(
        (p["visibility"].numpy() == OCCLUDED).any() for p in parsed
    )


def test_coco_dropped_people_are_counted_by_reason_and_printed(tmp_path, capsys):
    from absl import flags
    from absl.testing import flagsaver

    from tests.conftest import import_cli

    root = tmp_path / "coco"
    _write_jpeg(root / "a.jpg")
    labelled = np.zeros((17, 3))
    labelled[:5] = [10, 12, 2]
    none = np.zeros((17, 3))
    content = {
        "images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "gone.jpg"}],
        "annotations": [
            {
                "id": 10,
                "image_id": 1,
                "keypoints": labelled.ravel().tolist(),
                "bbox": [0, 0, 20, 30],
            },
            {"id": 11, "image_id": 1, "keypoints": none.ravel().tolist(), "bbox": [0, 0, 5, 5]},
            {
                "id": 12,
                "image_id": 1,
                "keypoints": none.ravel().tolist(),
                "bbox": [0, 0, 9, 9],
                "iscrowd": 1,
            },
            {"id": 13, "image_id": 2, "keypoints": labelled.ravel().tolist(), "bbox": [0, 0, 9, 9]},
        ],
    }
    (root / "person_keypoints_val2017.json").write_text(json.dumps(content))
    convert_cli = import_cli("tfpose.data.convert")
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()
    with flagsaver.flagsaver(dataset="coco", data_dir=str(root), output_dir=str(tmp_path / "out")):
        convert_cli.main(["convert"])
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["splits"]["val2017"]["num_examples"] == 1
    assert manifest["skipped"] == {"val2017": 3}  # every person of the file is accounted for
    assert manifest["skip_reasons_by_split"]["val2017"] == {
        coco.DROPPED_UNLABELLED: 1,
        coco.DROPPED_CROWD: 1,
        "unreadable image": 1,
    }
    printed = capsys.readouterr().out
    assert (
        "val2017: skipped 1 crowd annotation (no keypoints), 1 no labelled keypoint, "
        "1 unreadable image"
    ) in printed


def test_coco_bad_file_is_named(tmp_path):
    (tmp_path / "broken.json").write_text('{"images": [], "annotations": [{"image_id": 1}]}')
    with pytest.raises(ValueError, match="broken.json: annotation #0 has no 'keypoints'"):
        coco.read_coco(str(tmp_path), SkipLog())


# ---------------------------------------------------------------- the example format


def test_example_validation_names_the_problem():
    base = dict(
        image_bytes=b"x",
        image_format="jpeg",
        image_height=10,
        image_width=10,
        image_id="a.jpg",
        keypoints=np.zeros((14, 2)),
        visibility=np.full(14, 2),
        center=[5, 5],
        scale=1.0,
        dataset="lsp",
        skeleton="lsp",
    )
    PoseExample(**base)
    for change, message in [
        ({"scale": 0.0}, "scale must be a positive"),
        ({"scale": float("nan")}, "scale must be a positive"),
        ({"keypoints": np.full((14, 2), np.nan)}, "NaN or inf"),
        ({"visibility": np.full(14, 3)}, "visibility values"),
        ({"visibility": np.full(13, 2)}, r"visibility must be \[14\]"),
        ({"center": [np.inf, 0]}, "center"),
    ]:
        with pytest.raises(ValueError, match=message) as info:
            PoseExample(**{**base, **change})
        assert "a.jpg" in str(info.value)


@pytest.mark.parametrize(
    "dataset, needed",
    [
        (
            "mpii",
            [
                "http://human-pose.mpi-inf.mpg.de/#download",
                "mpii_human_pose_v1.tar.gz",
                "--annotations=",
                "--validation_file=",
                "bearpaw/pytorch-pose",
            ],
        ),
        ("lsp", ["http://sam.johnson.io/research/lsp.html", "--dataset=lsp --data_dir="]),
        ("lspet", ["http://sam.johnson.io/research/lspet.html", "--dataset=lspet --data_dir="]),
        ("coco", ["https://cocodataset.org/#download", "annotations_trainval2017.zip"]),
    ],
)
def test_a_missing_dataset_says_where_to_download_it(tmp_path, dataset, needed):
    for data_dir in (None, str(tmp_path / "nowhere"), str(tmp_path)):  # absent, wrong, empty
        with pytest.raises((FileNotFoundError, ValueError)) as info:
            convert(dataset, str(tmp_path / "out"), data_dir)
        message = str(info.value)
        for text in [*needed, "python -m tfpose.data.convert", "docs/training.md"]:
            assert text in message, (data_dir, message)
    if dataset == "mpii":
        (tmp_path / "annotations.json").write_text("[]")
        with pytest.raises(FileNotFoundError, match=r"--validation_file=.*val\.mat: no such file"):
            mpii.read_mpii(
                str(tmp_path),
                SkipLog(),
                str(tmp_path / "annotations.json"),
                str(tmp_path / "val.mat"),
            )


def test_convert_cli_errors_are_readable(tmp_path):
    result = run_python(
        "-m",
        "tfpose.data.convert",
        "--dataset=lspet",
        f"--data_dir={tmp_path}",
        f"--output_dir={tmp_path / 'out'}",
        timeout=120,
    )
    assert result.returncode != 0
    assert f"{tmp_path}: expected an 'images/' folder and 'joints.mat'" in result.stderr
    assert "http://sam.johnson.io/research/lspet.html" in result.stderr  # where to get it
    assert "Traceback" not in result.stderr and "flags:" not in result.stderr  # no usage dump
