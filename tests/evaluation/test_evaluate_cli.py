"""``python -m tfpose.evaluate`` on prediction files, in process and (real data) as a command."""

import json

import h5py
import numpy as np
import pytest
import scipy.io
from absl import app

from tests.conftest import run_python
from tfpose.inference.results import validate_coco_results
from tfpose.skeletons import LSP, MPII

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _mpii_files(tmp_path):
    """4 persons, head boxes 30×40 (reference 0.6 × 50 = 30 px); known misses and occlusions."""
    rng = np.random.default_rng(3)
    gt = rng.uniform(100, 300, (4, MPII.num_keypoints, 2))
    pred = gt.copy()
    pred[0, MPII.index("head_top"), 0] += 15.0  # exactly 0.5: miss with <, hit with <=
    pred[1, MPII.index("left_wrist"), 1] += 20.0  # 0.67: a miss in both conventions
    visibility = np.full((4, MPII.num_keypoints), 2)
    visibility[2, MPII.index("right_ankle")] = 0  # not annotated
    visibility[3, MPII.index("left_knee")] = 1  # occluded
    visibility[3, MPII.index("right_knee")] = 1
    scores = np.full((4, MPII.num_keypoints), 0.8)
    scores[3, MPII.index("left_knee")] = 0.1
    scores[3, MPII.index("right_knee")] = 0.9  # ranked above every visible joint
    ground_truth = {
        "skeleton": "mpii",
        "keypoints": gt.tolist(),
        "visibility": visibility.tolist(),
        "head_boxes": [[0.0, 0.0, 30.0, 40.0]] * 4,
        "occlusion_labelled": True,
        "image_ids": ["p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg"],
    }
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(ground_truth))
    pred_path = tmp_path / "pred.json"
    pred_path.write_text(json.dumps({"keypoints": pred.tolist(), "scores": scores.tolist()}))
    return gt_path, pred_path


def _evaluate_mpii(run_cli, predictions, ground_truth, out_dir):
    """``run_cli`` on the MPII protocol, writing to ``out_dir``: (what it printed, the
    metrics.json it wrote)."""
    printed = run_cli(
        predictions=str(predictions),
        ground_truth=str(ground_truth),
        protocol="mpii",
        output_dir=str(out_dir),
    )
    return printed, json.loads((out_dir / "metrics.json").read_text())


def test_mpii_prediction_files_end_to_end(tmp_path, run_cli):
    gt_path, pred_path = _mpii_files(tmp_path)
    out_dir = tmp_path / "out"
    printed, metrics = _evaluate_mpii(run_cli, pred_path, gt_path, out_dir)
    assert "[port]" in printed and "[matlab]" in printed and "PCKh@0.1" in printed
    assert metrics["protocol"] == "mpii" and metrics["threshold"] == 0.5
    assert list(metrics["per_joint"]) == ["Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank"]
    assert metrics["per_joint"]["Head"] == 75.0  # port: head top, 3 of 4
    assert metrics["per_joint"]["Wri"] == 87.5  # (100 + 75) / 2
    # Port Mean: unweighted over 14 joints; head top 0.75 and left wrist 0.75, 12 at 1.
    assert metrics["mean"] == pytest.approx(100 * 13.5 / 14)
    matlab = metrics["conventions"]["matlab"]
    assert matlab["per_joint"]["Head"] == 100.0 and matlab["mean_name"] == "Total"
    assert matlab["mean"] == pytest.approx(100 * (55 - 1) / 55)  # 4 × 14 − 1 not annotated
    assert 0 < metrics["auc"] < 100 and "Head" in metrics["auc_per_joint"]
    assert metrics["PCKh@0.1"]["mean"] is not None
    assert metrics["num_annotated"]["right_ankle"] == 3
    # 61 visible and 2 occluded joints; one occluded ranks first: AP = (61/62 · 61 + 0) / 61.
    assert metrics["visibility"]["num_positive"] == 61
    assert metrics["visibility"]["num_negative"] == 2
    assert metrics["visibility"]["average_precision"] == pytest.approx(100 * 61 / 62)
    for name in ("pck_curves.png", "visibility_pr.png"):
        data = (out_dir / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    csv = np.loadtxt(out_dir / "visibility_pr.csv", delimiter=",", skiprows=1)
    assert csv.shape[1] == 3 and csv[-1, 2] == 1.0
    assert "PCKh@0.5" in (out_dir / "table.txt").read_text()

    # The COCO results written there pass the COCO results check (integer image ids; the
    # names are kept as file_name) and evaluate to the same numbers.
    results = json.loads((out_dir / "keypoint_results.json").read_text())
    validate_coco_results(results, MPII.num_keypoints)
    assert [r["image_id"] for r in results] == [0, 1, 2, 3]
    assert [r["file_name"] for r in results] == ["p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg"]
    results_path = out_dir / "keypoint_results.json"
    _, again = _evaluate_mpii(run_cli, results_path, gt_path, tmp_path / "again")
    assert again["per_joint"] == metrics["per_joint"] and again["mean"] == metrics["mean"]
    assert again["visibility"] == metrics["visibility"]


def test_lsp_protocol_with_joints_mat_and_slice(tmp_path, run_cli):
    joints = np.zeros((3, 14, 3))  # original LSP layout, 3 images
    rng = np.random.default_rng(5)
    joints[:2] = rng.uniform(0, 100, (2, 14, 3))
    gt = joints[:2].transpose(2, 1, 0)
    pred = gt[1:].copy()  # predictions for images 2 and 3 only
    torso = np.linalg.norm(gt[2, LSP.index("left_shoulder")] - gt[2, LSP.index("right_hip")])
    pred[1, LSP.index("left_ankle"), 0] += 0.3 * torso  # a miss
    gt_path = tmp_path / "joints.mat"
    scipy.io.savemat(gt_path, {"joints": joints})
    pred_path = tmp_path / "pred.h5"
    with h5py.File(pred_path, "w") as file:
        file.create_dataset("preds", data=pred)
    out_dir = tmp_path / "out"
    printed = run_cli(
        predictions=str(pred_path),
        ground_truth=str(gt_path),
        protocol="lsp",
        ground_truth_slice="1:",
        output_dir=str(out_dir),
        predictions_layout="NK2",  # 2 persons: [2, 14, 2] also reads as [2, K, N]
    )
    assert "PCK@0.2" in printed and "Total" in printed
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["threshold"] == 0.2 and metrics["num_persons"] == 2
    assert metrics["per_joint"]["Ank"] == 75.0
    assert metrics["mean"] == pytest.approx(100 * 27 / 28)
    results = json.loads((out_dir / "keypoint_results.json").read_text())
    validate_coco_results(results, LSP.num_keypoints)
    assert [(r["image_id"], r["file_name"]) for r in results] == [(0, "im0002"), (1, "im0003")]


def test_2_k_n_predictions_with_nan_joints_are_read_named_and_scored_as_misses(tmp_path, run_cli):
    gt_path, pred_path = _mpii_files(tmp_path)
    pred = np.asarray(json.loads(pred_path.read_text())["keypoints"])
    baseline = run_cli(predictions=str(pred_path), ground_truth=str(gt_path), protocol="mpii")
    assert "read as" not in run_cli.err
    pred[2, MPII.index("left_ankle")] = np.nan  # annotated: a miss
    pred[2, MPII.index("right_ankle")] = np.nan  # not annotated in _mpii_files: not scored
    h5_path = tmp_path / "pred_2kn.h5"  # evalMPII.m / eval_pose layout, e.g. written from MATLAB
    with h5py.File(h5_path, "w") as file:
        file.create_dataset("preds", data=pred.transpose(2, 1, 0))
    out_dir = tmp_path / "out"
    printed, metrics = _evaluate_mpii(run_cli, h5_path, gt_path, out_dir)
    assert f"predictions: {h5_path}: 'preds' [2, 16, 4] read as [2, K, N]: N = 4 persons" in printed
    assert run_cli.err.startswith("warning: 2 of 64 predicted joints are NaN (1 persons)")
    assert "a NaN prediction is a miss: 1 of them are annotated and scored as misses" in run_cli.err
    assert metrics["per_keypoint"]["left_ankle"] == 75.0  # 3 of 4: the NaN joint is a miss
    assert metrics["num_annotated"]["right_ankle"] == 3  # unchanged: the NaN is not scored
    assert baseline.splitlines()[1:] != printed.splitlines()[1:]
    # COCO results hold numbers only: a NaN joint is written as 0, 0 with confidence 0.
    results = json.loads((out_dir / "keypoint_results.json").read_text())
    validate_coco_results(results, MPII.num_keypoints)
    ankle = 3 * MPII.index("left_ankle")
    assert results[2]["keypoints"][ankle : ankle + 3] == [0.0, 0.0, 0.0]
    # Two persons: [2, 16, 2] reads as [N, K, 2] and [2, K, N] alike; refused until named.
    fields = json.loads(gt_path.read_text())
    two = {k: (v[:2] if isinstance(v, list) else v) for k, v in fields.items()}
    (tmp_path / "gt2.json").write_text(json.dumps(two))
    with h5py.File(tmp_path / "two.h5", "w") as file:
        file.create_dataset("preds", data=np.asarray(two["keypoints"]))
    gt2, pred2 = str(tmp_path / "gt2.json"), str(tmp_path / "two.h5")
    with pytest.raises(app.UsageError, match=r"reads as \[N, K, 2\].*--predictions_layout"):
        run_cli(predictions=pred2, ground_truth=gt2)
    printed = run_cli(predictions=pred2, ground_truth=gt2, predictions_layout="NK2")
    assert "read as [N, K, 2]: N = 2 persons" in printed


def test_generic_pck_needs_a_skeleton(tmp_path, run_cli):
    gt_path, pred_path = _mpii_files(tmp_path)
    fields = json.loads(gt_path.read_text())
    del fields["skeleton"]
    gt_path.write_text(json.dumps(fields))
    with pytest.raises(app.UsageError, match="--skeleton"):
        run_cli(predictions=str(pred_path), ground_truth=str(gt_path), protocol="pck")
    printed = run_cli(
        predictions=str(pred_path),
        ground_truth=str(gt_path),
        protocol="pck",
        skeleton="mpii",
        reference="head",
        threshold=0.5,
    )
    assert "PCKh@0.5" in printed and "[pck]" in printed


def test_usage_errors(tmp_path, run_cli):
    with pytest.raises(app.UsageError, match="model.tflite' does not exist"):
        run_cli(model=str(tmp_path / "model.tflite"), records="val")
    with pytest.raises(app.UsageError, match="--model needs --records"):
        run_cli(model=str(tmp_path / "model.keras"))
    with pytest.raises(app.UsageError, match="--predictions and --ground_truth"):
        run_cli(predictions="p.mat")
    gt_path, pred_path = _mpii_files(tmp_path)
    with pytest.raises(app.UsageError, match="missing.mat: no such file"):
        run_cli(predictions=str(tmp_path / "missing.mat"), ground_truth=str(gt_path))
    with pytest.raises(app.UsageError, match="START:STOP"):
        run_cli(predictions=str(pred_path), ground_truth=str(gt_path), ground_truth_slice="5")
    with pytest.raises(app.UsageError, match="16 keypoints, skeleton 'lsp' has 14"):
        run_cli(predictions=str(pred_path), ground_truth=str(gt_path), protocol="lsp")


def test_acceptance_command_prints_the_published_tables(shared_data, tmp_path):
    folder = shared_data / "mpii_val"
    completed = run_python(
        "-m",
        "tfpose.evaluate",
        f"--predictions={folder / 'hg_s2_b1_predictions.mat'}",
        f"--ground_truth={folder / 'detections_our_format.mat'}",
        "--protocol=mpii",
        f"--output_dir={tmp_path}",
        timeout=120,
        check=True,
    )
    rows = [line.split() for line in completed.stdout.splitlines() if line.startswith("PCKh@0.5")]
    assert rows[0][1:] == "95.80 94.57 88.12 83.31 86.24 80.88 77.44 86.76".split()
    assert rows[1][1:] == "96.74 94.57 88.12 83.31 86.24 80.88 77.44 87.30".split()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert round(metrics["mean"], 2) == 86.76
    assert round(metrics["conventions"]["matlab"]["mean"], 2) == 87.30
    assert len(json.loads((tmp_path / "keypoint_results.json").read_text())) == 2958
