"""COCO's keypoint AP/AR (pycocotools COCOeval) in tfpose.evaluate, and the one COCO results
writer of tfpose.evaluate and tfpose.predict: hand-made cases with known OKS, the real COCO
samples against their official annotation file, and both commands' files through the validator.
"""

import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from tests.inference import fake_spec
from tfpose.data import records
from tfpose.data.conversion import convert
from tfpose.data.example import parse_example
from tfpose.evaluation import coco_keypoints, prediction_files, report
from tfpose.inference.results import validate_coco_results
from tfpose.skeletons import COCO

# COCO's per-joint σ (cocodataset.org/#keypoints-eval; COCOeval's kpt_oks_sigmas), COCO order.
COCO_SIGMAS = np.array(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]
) / 10.0  # fmt: skip
RNG = np.random.default_rng(11)


def _oks(distances, area, labelled):
    """OKS from COCO's formula, exp(-d² / (2 s² k²)) averaged over labelled joints, s² = area,
    k = 2σ."""
    k = 2.0 * COCO_SIGMAS
    terms = np.exp(-(np.asarray(distances) ** 2) / (2.0 * area * k**2))
    return float(terms[labelled].mean())


def _people(num_persons=3):
    """Persons with every joint labelled visible, except (from 3 persons on) person 1's left ear
    (not labelled: out of the OKS) and person 2's right knee (labelled occluded: in it)."""
    keypoints = RNG.uniform(40.0, 260.0, (num_persons, COCO.num_keypoints, 2))
    visibility = np.full((num_persons, COCO.num_keypoints), 2)
    if num_persons >= 3:
        visibility[1, COCO.index("left_ear")] = 0
        visibility[2, COCO.index("right_knee")] = 1
    return keypoints, visibility


def _score(ground_truth, keypoints, ids, scores=None):
    """COCOeval on the results file that report.write_coco_results writes and reads back."""
    entries = report.coco_entries(keypoints, scores, ids)
    return coco_keypoints.evaluate(ground_truth, json.loads(json.dumps(entries)))


# -------------------------------------------------------------------------- hand-made cases


def test_predictions_equal_to_the_ground_truth_score_ap_1():
    keypoints, visibility = _people()
    ids = [7, 7, 12]  # two persons in one image
    areas = np.array([8000.0, 12000.0, 30000.0])  # one medium (32²–96²), two large
    truth = coco_keypoints.ground_truth(keypoints, visibility, ids, areas)
    assert [image["id"] for image in truth["images"]] == [7, 12]
    assert [a["num_keypoints"] for a in truth["annotations"]] == [17, 16, 17]
    assert truth["annotations"][1]["keypoints"][3 * COCO.index("left_ear") :][:3] == [0, 0, 0]
    cocoeval = _score(truth, keypoints, ids)
    assert cocoeval.stats[0] == pytest.approx(1.0)  # AP
    assert cocoeval.stats[5] == pytest.approx(1.0)  # AR
    metrics = coco_keypoints.keypoint_metrics(
        truth, report.coco_entries(keypoints, None, ids), areas_kept=True
    )
    for name in ("AP", "AP50", "AP75", "APm", "APl", "AR"):
        assert metrics[name] == pytest.approx(100.0), name
    assert metrics["num_images"] == 2 and metrics["num_persons"] == 3


def test_the_oks_of_a_displaced_keypoint_is_coco_s_formula():
    keypoints, visibility = _people()
    ids = [1, 2, 3]  # one person per image: one OKS each
    areas = np.array([9000.0, 4000.0, 20000.0])
    truth = coco_keypoints.ground_truth(keypoints, visibility, ids, areas)
    predicted = keypoints.copy()
    moves = {0: ("left_wrist", (3.0, 4.0)), 1: ("left_hip", (-6.0, 8.0))}  # 5 px and 10 px
    distances = np.zeros((3, COCO.num_keypoints))
    for n, (joint, shift) in moves.items():
        predicted[n, COCO.index(joint)] += shift
        distances[n, COCO.index(joint)] = np.hypot(*shift)
    predicted[1, COCO.index("left_ear")] += 500.0  # not labelled: changes nothing
    predicted[2, COCO.index("right_knee")] += (30.0, 0.0)  # occluded but labelled
    distances[2, COCO.index("right_knee")] = 30.0
    cocoeval = _score(truth, predicted, ids)
    for n, image_id in enumerate(ids):
        expected = _oks(distances[n], areas[n], visibility[n] > 0)
        assert cocoeval.ious[(image_id, 1)].shape == (1, 1)
        assert cocoeval.ious[(image_id, 1)][0, 0] == pytest.approx(expected, rel=1e-9), n
    # Person 0 by hand: (16 + exp(-25 / (2 · 9000 · (2 · 0.062)²))) / 17.
    by_hand = (16.0 + np.exp(-25.0 / (2.0 * 9000.0 * (2.0 * 0.062) ** 2))) / 17.0
    assert cocoeval.ious[(1, 1)][0, 0] == pytest.approx(by_hand, rel=1e-12)


def test_ap_counts_the_oks_thresholds_a_prediction_passes():
    keypoints, visibility = _people(1)
    truth = coco_keypoints.ground_truth(keypoints, visibility, [4], np.array([10000.0]))
    predicted = keypoints.copy()
    predicted[0, COCO.index("nose")] += 1000.0  # its term is 0: OKS = 16/17 = 0.941
    cocoeval = _score(truth, predicted, [4])
    assert cocoeval.ious[(4, 1)][0, 0] == pytest.approx(16.0 / 17.0)
    # Matched at thresholds 0.50 … 0.90, missed at 0.95: AP 9/10; AP50 = AP75 = 1.
    np.testing.assert_allclose(cocoeval.stats[:3], [0.9, 1.0, 1.0])


def test_ground_truth_without_areas_uses_the_labelled_joints_box():
    keypoints, visibility = _people(1)
    visibility[0, :10] = 0
    truth = coco_keypoints.ground_truth(keypoints, visibility, [3], None)
    annotation = truth["annotations"][0]
    labelled = keypoints[0, 10:]
    low, high = labelled.min(0), labelled.max(0)
    np.testing.assert_allclose(annotation["bbox"], [*low, *(high - low)])
    assert annotation["area"] == pytest.approx(np.prod(high - low))
    assert annotation["iscrowd"] == 0 and annotation["num_keypoints"] == 7
    assert truth["categories"][0]["keypoints"] == list(COCO.joint_names)
    assert truth["categories"][0]["skeleton"][0] == [16, 14]  # COCO's 1-based limbs


# ------------------------------------------------------------------ real COCO samples, records


@pytest.fixture(scope="module")
def coco_samples(shared_data, tmp_path_factory):
    root = shared_data / "samples" / "coco"
    out = tmp_path_factory.mktemp("coco_records")
    convert("coco", str(out), str(root))
    official = json.loads((root / "test_coco.json").read_text())
    return root, out, official


def _converted_people(official):
    return [a for a in official["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"]]


def _records_ground_truth(records_dir):
    manifest = records.Manifest.load(str(records_dir))
    parsed = [
        parse_example(s, manifest.num_keypoints)
        for s in tf.data.TFRecordDataset(manifest.files("test_coco"))
    ]
    names = [p["image_id"].numpy().decode() for p in parsed]
    coco_ids = [int(p["coco_id"]) for p in parsed]
    areas = np.array([float(p["area"]) for p in parsed])
    ids = coco_keypoints.image_ids_of(names, coco_ids)
    truth = coco_keypoints.ground_truth(
        np.stack([p["keypoints"].numpy() for p in parsed]),
        np.stack([p["visibility"].numpy() for p in parsed]),
        ids,
        areas,
        np.stack([p["image_size"].numpy() for p in parsed]),
        names,
    )
    return truth, coco_ids, areas


def test_records_keep_coco_ids_and_areas_and_score_as_the_official_file(coco_samples):
    _, records_dir, official = coco_samples
    truth, coco_ids, areas = _records_ground_truth(records_dir)
    people = _converted_people(official)
    assert coco_ids == [a["image_id"] for a in people]
    np.testing.assert_allclose(areas, [a["area"] for a in people], rtol=1e-6)
    images = {image["id"]: image for image in official["images"]}
    for image in truth["images"]:
        official_image = images[image["id"]]
        assert (image["file_name"], image["height"], image["width"]) == (
            official_image["file_name"],
            official_image["height"],
            official_image["width"],
        )
    # Official keypoints with seeded noise: the records' ground truth scores them exactly as
    # the official file does (whose 2 persons without a labelled joint COCOeval ignores).
    annotated = np.array([a["keypoints"] for a in people], np.float64).reshape(-1, 17, 3)
    noisy = annotated[..., :2] + RNG.normal(0.0, 4.0, annotated[..., :2].shape)
    scores = RNG.uniform(0.2, 1.0, annotated.shape[:2])
    ids = [a["image_id"] for a in people]
    ours = _score(truth, noisy, ids, scores)
    theirs = _score(official, noisy, ids, scores)
    np.testing.assert_allclose(ours.stats, theirs.stats, atol=1e-12)
    assert 0.2 < ours.stats[0] < 1.0
    assert _score(official, annotated[..., :2], ids).stats[0] == pytest.approx(1.0)


# ---------------------------------------------------------- the commands, on a fake network

SPEC = fake_spec(COCO)


class CentreBackend:
    """A "network" that puts every joint's peak at a fixed place near the crop's centre."""

    spec = SPEC

    def __call__(self, crops):
        size = SPEC.input_size // SPEC.heatmap_stride
        maps = np.zeros((len(crops), size, size, COCO.num_keypoints), np.float32)
        for k in range(COCO.num_keypoints):
            maps[:, 4 + k % 8, 4 + k // 3, k] = 6.0 + 0.1 * k
        return {"keypoints_1": maps}


@pytest.fixture
def run_evaluate(run_cli, monkeypatch):
    """:func:`tests.evaluation.conftest.run_cli` with every model a :class:`CentreBackend`."""
    from tfpose.inference import backends

    monkeypatch.setattr(backends, "load_backend", lambda path: CentreBackend())
    return run_cli


def _strip_coco_features(records_dir, out_dir):
    """A copy of the records as converted before the COCO id and area were kept."""
    manifest = records.Manifest.load(str(records_dir))
    out_dir.mkdir()
    for path in manifest.files("test_coco"):
        with tf.io.TFRecordWriter(str(out_dir / pathlib.Path(path).name)) as writer:
            for serialized in tf.data.TFRecordDataset(path):
                example = tf.train.Example.FromString(serialized.numpy())
                del example.features.feature["image/coco_id"]
                del example.features.feature["person/area"]
                writer.write(example.SerializeToString())
    records.write_manifest(str(out_dir), manifest.content)


@pytest.mark.parametrize("region", ["crops", "annotation"])
def test_evaluate_reports_coco_keypoint_ap_and_writes_integer_ids(
    coco_samples, run_evaluate, tmp_path, region
):
    _, records_dir, official = coco_samples
    out = tmp_path / "eval"
    printed = run_evaluate(
        model="fake.keras",
        records=str(records_dir),
        split="test_coco",
        region=region,
        batch_size=5,
        output_dir=str(out),
    )
    metrics = json.loads((out / "metrics.json").read_text())
    coco = metrics["coco_keypoints"]
    assert set(coco_keypoints.TABLE_NAMES) <= set(coco)
    assert coco["num_persons"] == 12 and coco["num_images"] == 4
    assert coco["areas_kept"] and coco["areas"] == coco_keypoints.AREAS_KEPT
    assert "OKS areas" not in printed
    assert "COCO keypoints (OKS; pycocotools COCOeval), 12 persons in 4 images" in printed
    assert "coco_ground_truth" not in metrics

    # keypoint_results.json: integer ids (the official ones), accepted by the validator, and
    # scored by COCOeval to metrics.json's numbers on the ground truth written beside it and
    # on the official annotation file.
    results = json.loads((out / "keypoint_results.json").read_text())
    validate_coco_results(results, COCO.num_keypoints)
    people = _converted_people(official)
    assert [r["image_id"] for r in results] == [a["image_id"] for a in people]
    assert [r["person_index"] for r in results] == list(range(12))
    truth = json.loads((out / "coco_ground_truth.json").read_text())
    summary = coco_keypoints.summary(coco_keypoints.evaluate(truth, results))
    for name in coco_keypoints.STAT_NAMES:
        assert summary[name] == pytest.approx(coco[name]), name
    official_summary = coco_keypoints.summary(coco_keypoints.evaluate(official, results))
    for name in coco_keypoints.STAT_NAMES:
        assert official_summary[name] == pytest.approx(coco[name]), name


def test_evaluate_on_records_without_coco_ids_and_areas(coco_samples, run_evaluate, tmp_path):
    _, records_dir, official = coco_samples
    old = tmp_path / "old_records"
    _strip_coco_features(records_dir, old)
    out = tmp_path / "eval"
    printed = run_evaluate(
        model="fake.keras", records=str(old), split="test_coco", output_dir=str(out)
    )
    coco = json.loads((out / "metrics.json").read_text())["coco_keypoints"]
    assert not coco["areas_kept"] and coco["areas"] == coco_keypoints.AREAS_FROM_KEYPOINTS
    assert f"OKS areas: {coco_keypoints.AREAS_FROM_KEYPOINTS}" in printed
    results = json.loads((out / "keypoint_results.json").read_text())
    validate_coco_results(results, COCO.num_keypoints)
    # COCO's file names are the image ids.
    assert [r["image_id"] for r in results] == [a["image_id"] for a in _converted_people(official)]


def test_evaluate_prediction_files_write_integer_ids(tmp_path, run_evaluate):
    keypoints, visibility = _people(3)
    ground_truth = tmp_path / "gt.json"
    ground_truth.write_text(
        json.dumps(
            {
                "skeleton": "coco",
                "keypoints": keypoints.tolist(),
                "visibility": visibility.tolist(),
                "image_ids": ["b.jpg", "a.jpg", "b.jpg"],
            }
        )
    )
    predictions = tmp_path / "pred.json"
    predictions.write_text(json.dumps({"keypoints": (keypoints + 1.0).tolist()}))
    out = tmp_path / "eval"
    run_evaluate(
        predictions=str(predictions),
        ground_truth=str(ground_truth),
        protocol="pck",
        output_dir=str(out),
    )
    results = json.loads((out / "keypoint_results.json").read_text())
    validate_coco_results(results, COCO.num_keypoints)
    assert [(r["image_id"], r["file_name"]) for r in results] == [
        (0, "b.jpg"),
        (1, "a.jpg"),
        (0, "b.jpg"),
    ]
    truth = prediction_files.load_ground_truth(ground_truth)
    back = prediction_files.align_predictions(
        prediction_files.load_predictions(out / "keypoint_results.json"), truth
    )
    np.testing.assert_allclose(back.keypoints, keypoints + 1.0)


def test_predict_writes_the_same_format_with_coco_ids(coco_samples, tmp_path):
    from tfpose.inference import Predictor, runner

    root, _, official = coco_samples
    predictor = Predictor(CentreBackend(), batch_size=4)
    summary = runner.predict_inputs(
        predictor, str(root), str(tmp_path / "out"), options=runner.RunOptions(progress=False)
    )
    results = json.loads((tmp_path / "out" / "predictions.json").read_text())
    validate_coco_results(results, COCO.num_keypoints)
    assert summary["persons"] == 4
    assert [r["image_id"] for r in results] == sorted(image["id"] for image in official["images"])
    # The official annotation file takes the file as it is.
    cocoeval = coco_keypoints.evaluate(official, results)
    assert set(cocoeval.ious) >= {(image["id"], 1) for image in official["images"]}
