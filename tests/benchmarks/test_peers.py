"""benchmarks/peers.py, peers_mediapipe.py, peers_scoring.py: MediaPipe's 33 landmarks → LSP's
12 body joints, scoring, the hook.

None of these tests needs mediapipe in this interpreter (benchmarks.peers and its modules never
import it).
The two that run MediaPipe itself go through the MediaPipe venv (``python -m benchmarks.peers
--setup_mediapipe``) and skip with a reason when it is absent.
"""

import subprocess

import numpy as np
import pytest

from benchmarks import peers, peers_mediapipe, peers_scoring
from tfpose.skeletons import LSP

# MediaPipe PoseLandmark index of each LSP body joint, written out by hand (not derived from
# the name table) in LSP order: R-ankle, R-knee, R-hip, L-hip, L-knee, L-ankle, R-wrist,
# R-elbow, R-shoulder, L-shoulder, L-elbow, L-wrist.
EXPECTED_MEDIAPIPE_INDEX = (28, 26, 24, 23, 25, 27, 16, 14, 12, 11, 13, 15)


def _hand_made_landmarks() -> np.ndarray:
    """[33, 4]: landmark i at (x, y) = (i, 100 + i), then z and visibility columns."""
    index = np.arange(33, dtype=np.float64)
    return np.stack([index, 100 + index, -index, np.full(33, 0.9)], axis=1)


def test_mapping_gives_twelve_lsp_body_joints_in_lsp_order():
    landmarks = _hand_made_landmarks()
    body = peers_mediapipe.mediapipe_to_lsp12(landmarks)
    assert body.shape == (12, 2)
    assert peers_scoring.BODY_JOINT_NAMES == LSP.joint_names[:12]
    assert (
        "neck" not in peers_scoring.BODY_JOINT_NAMES
        and "head_top" not in peers_scoring.BODY_JOINT_NAMES
    )
    assert peers_mediapipe.MEDIAPIPE_TO_LSP12 == EXPECTED_MEDIAPIPE_INDEX
    np.testing.assert_array_equal(body[:, 0], EXPECTED_MEDIAPIPE_INDEX)
    np.testing.assert_array_equal(body[:, 1], 100 + np.asarray(EXPECTED_MEDIAPIPE_INDEX))


def test_mapping_keeps_left_as_left_and_right_as_right():
    # MediaPipe's LEFT_* are the person's left, like LSP's labels: no swap.
    landmarks = np.zeros((33, 2))
    landmarks[15] = [10.0, 1.0]  # LEFT_WRIST
    landmarks[16] = [90.0, 1.0]  # RIGHT_WRIST
    landmarks[27] = [20.0, 2.0]  # LEFT_ANKLE
    landmarks[28] = [80.0, 2.0]  # RIGHT_ANKLE
    landmarks[11] = [30.0, 3.0]  # LEFT_SHOULDER
    landmarks[12] = [70.0, 3.0]  # RIGHT_SHOULDER
    body = peers_mediapipe.mediapipe_to_lsp12(landmarks)
    joint = {name: body[i] for i, name in enumerate(peers_scoring.BODY_JOINT_NAMES)}
    np.testing.assert_array_equal(joint["left_wrist"], [10.0, 1.0])
    np.testing.assert_array_equal(joint["right_wrist"], [90.0, 1.0])
    np.testing.assert_array_equal(joint["left_ankle"], [20.0, 2.0])
    np.testing.assert_array_equal(joint["right_ankle"], [80.0, 2.0])
    np.testing.assert_array_equal(joint["left_shoulder"], [30.0, 3.0])
    np.testing.assert_array_equal(joint["right_shoulder"], [70.0, 3.0])
    # Every mapped landmark carries the same side in its name as its LSP joint.
    for lsp_name, mp_index in zip(
        peers_scoring.BODY_JOINT_NAMES, peers_mediapipe.MEDIAPIPE_TO_LSP12, strict=True
    ):
        assert peers_mediapipe.MEDIAPIPE_LANDMARK_NAMES[mp_index] == lsp_name


def test_mapping_rejects_wrong_shapes_and_maps_nobody_to_nan():
    assert len(peers_mediapipe.MEDIAPIPE_LANDMARK_NAMES) == 33
    with pytest.raises(ValueError, match="33"):
        peers_mediapipe.mediapipe_to_lsp12(np.zeros((17, 2)))
    nobody = peers_mediapipe.mediapipe_to_lsp12(None)
    assert nobody.shape == (12, 2) and np.isnan(nobody).all()


def test_normalized_coordinates_become_zero_based_pixel_centres():
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.25]])
    np.testing.assert_allclose(
        peers_mediapipe.normalized_to_pixels(xy, width=200, height=100),
        [[-0.5, -0.5], [199.5, 99.5], [99.5, 24.5]],
    )


def test_to_lsp12_accepts_12_or_14_joints():
    fourteen = np.arange(28, dtype=np.float64).reshape(14, 2)
    np.testing.assert_array_equal(peers_scoring.to_lsp12(fourteen), fourteen[:12])
    np.testing.assert_array_equal(peers_scoring.to_lsp12(fourteen[:12]), fourteen[:12])
    assert np.isnan(peers_scoring.to_lsp12(None)).all()
    with pytest.raises(ValueError):
        peers_scoring.to_lsp12(np.zeros((16, 2)))


def _ground_truth(num: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """[num, 14, 2] people 200 px tall with every joint annotated; torso ~100 px."""
    rng = np.random.default_rng(seed)
    keypoints = rng.uniform(0, 200, (num, 14, 2))
    keypoints[:, 9] = [100.0, 50.0]  # left shoulder
    keypoints[:, 2] = [100.0, 150.0]  # right hip: torso = 100 px, PCK@0.2 radius 20 px
    return keypoints, np.full((num, 14), 2)


def test_nobody_found_counts_as_all_misses():
    gt, visibility = _ground_truth(2)
    # Person 1: nobody found.
    pred = np.stack([gt[0, :12], peers_mediapipe.mediapipe_to_lsp12(None)])
    score = peers_scoring.score_lsp12(pred, gt, visibility)
    assert score["num_persons"] == 2
    assert score["pck"] == pytest.approx(50.0)
    assert score["pck_unweighted"] == pytest.approx(50.0)
    assert set(score["per_joint"]) == set(peers_scoring.BODY_JOINT_NAMES)
    assert all(v == pytest.approx(50.0) for v in score["per_joint"].values())
    # Neck and head top are not scored (MediaPipe has neither): no Head column.
    assert "Head" not in score["columns"]
    assert score["result"]["num_annotated"]["neck"] == 0
    assert score["result"]["num_annotated"]["head_top"] == 0
    assert sum(score["result"]["num_annotated"].values()) == 2 * 12


def test_perfect_predictions_score_100_without_neck_and_head():
    gt, visibility = _ground_truth(3, seed=1)
    pred = gt[:, :12] + 19.0 / np.sqrt(2)  # 19 px off: inside the 20 px radius
    score = peers_scoring.score_lsp12(pred, gt, visibility)
    assert score["pck"] == pytest.approx(100.0)
    far = gt[:, :12] + 21.0 / np.sqrt(2)  # 21 px off: outside
    assert peers_scoring.score_lsp12(far, gt, visibility)["pck"] == pytest.approx(0.0)


def test_hook_runs_a_callable_and_counts_nobody_found(tmp_path):
    from PIL import Image

    paths = []
    for i in range(3):
        path = tmp_path / f"im{i}.jpg"
        Image.fromarray(np.full((40, 30, 3), 60 * i, np.uint8)).save(path)
        paths.append(str(path))
    calls = []

    def predict(rgb):
        calls.append(rgb.shape)
        assert rgb.dtype == np.uint8 and rgb.shape == (40, 30, 3)
        level = int(rgb[0, 0, 0])
        if level > 100:  # the last image: nobody
            return None
        return np.full((14, 2), float(level))  # 14 joints: neck and head top dropped

    run = peers.run_callable("fake/model", predict, paths, warmup=2)
    assert len(calls) == 2 + 3
    assert run.name == "fake/model"
    assert run.keypoints.shape == (3, 12, 2)
    np.testing.assert_array_equal(run.found, [True, True, False])
    assert np.isnan(run.keypoints[2]).all()
    assert run.ms.shape == (3,) and run.median_ms is not None
    gt, visibility = _ground_truth(3)
    row = peers_scoring.evaluate_run(run, gt, visibility)
    assert row["nobody_found"] == 1 and row["images"] == 3
    table = peers_scoring.format_table([row], 3)
    assert "fake/model" in table and "12 body joints" in table and "1/3" in table


def test_missing_mediapipe_venv_says_how_to_set_it_up(tmp_path):
    with pytest.raises(FileNotFoundError, match="--setup_mediapipe"):
        peers_mediapipe.run_mediapipe(["x.jpg"], "full", python=tmp_path / "no" / "python")
    with pytest.raises(ValueError, match="unknown MediaPipe model"):
        peers_mediapipe.run_mediapipe(["x.jpg"], "huge")


def _mediapipe_python():
    python = peers_mediapipe.mediapipe_python()
    if not python.exists():
        pytest.skip(
            f"MediaPipe venv not found at {python} (create it with "
            "`python -m benchmarks.peers --setup_mediapipe`)"
        )
    return python


def test_landmark_names_match_mediapipe():
    python = _mediapipe_python()
    names = subprocess.run(
        [
            str(python),
            "-c",
            "import mediapipe as mp; "
            "print(' '.join(m.name for m in mp.solutions.pose.PoseLandmark))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tuple(n.lower() for n in names) == peers_mediapipe.MEDIAPIPE_LANDMARK_NAMES


def test_mediapipe_on_two_lspet_images(shared_data):
    _mediapipe_python()
    data_dir = shared_data / "lspet"
    if not (data_dir / "joints.mat").exists():
        pytest.skip(f"LSPET not found at {data_dir}")
    numbers = peers_scoring.lspet_test_numbers(2)
    assert numbers == [9501, 9502]
    paths = [peers_scoring.lspet_image_path(data_dir, n) for n in numbers]
    run = peers_mediapipe.run_mediapipe(paths, "lite", warmup=1)
    assert run.keypoints.shape == (2, 12, 2) and run.found.shape == (2,)
    assert np.isnan(run.keypoints[~run.found]).all()
    assert np.isfinite(run.keypoints[run.found]).all()
    gt, visibility = peers_scoring.lspet_ground_truth(data_dir, numbers)
    row = peers_scoring.evaluate_run(run, gt, visibility)
    assert 0.0 <= row["pck"] <= 100.0
