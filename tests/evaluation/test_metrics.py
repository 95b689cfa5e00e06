"""Metric maths against hand-computed arrays, and the published MPII reference table."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfpose.evaluation import metrics, prediction_files, report
from tfpose.skeletons import COCO, LSP, MPII, PckReference

# ../shared/data/README.md: PCKh@0.5 of hg_s2_b1_predictions.mat.
PUBLISHED_PORT = {
    "Head": 95.80, "Sho": 94.57, "Elb": 88.12, "Wri": 83.31,
    "Hip": 86.24, "Knee": 80.88, "Ank": 77.44,
}  # fmt: skip
PUBLISHED_PORT_MEAN = 86.76
PUBLISHED_MATLAB = {**PUBLISHED_PORT, "Head": 96.74}
PUBLISHED_MATLAB_TOTAL = 87.30
TOMPSON_PORT_MEAN = 81.46


# ---------------------------------------------------------------------------------------------
# Reference lengths


def test_head_box_reference_is_0_6_times_the_diagonal():
    boxes = np.array([[10.0, 20.0, 13.0, 24.0], [0.0, 0.0, 6.0, 8.0]])  # diagonals 5 and 10
    np.testing.assert_allclose(metrics.head_box_reference(boxes), [3.0, 6.0])
    np.testing.assert_allclose(metrics.head_box_reference(boxes, factor=1.0), [5.0, 10.0])


def test_head_box_reference_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        metrics.head_box_reference(np.zeros((3, 2, 2)))


def test_joint_distance_reference_is_nan_when_a_joint_is_missing():
    keypoints = np.zeros((2, LSP.num_keypoints, 2))
    shoulder, hip = LSP.index("left_shoulder"), LSP.index("right_hip")
    keypoints[:, shoulder] = [[3.0, 0.0], [1.0, 1.0]]
    keypoints[:, hip] = [[0.0, 4.0], [1.0, 1.0]]
    mask = np.ones((2, LSP.num_keypoints), bool)
    mask[1, hip] = False
    lengths = metrics.joint_distance_reference(keypoints, mask, (shoulder, hip))
    assert lengths[0] == 5.0 and math.isnan(lengths[1])


def test_bounding_box_reference_uses_annotated_joints_only():
    keypoints = np.array([[[0.0, 0.0], [4.0, 1.0], [2.0, 6.0], [100.0, 100.0]]])
    mask = np.array([[True, True, True, False]])
    np.testing.assert_allclose(metrics.bounding_box_reference(keypoints, mask), [6.0])
    lonely = metrics.bounding_box_reference(keypoints, np.array([[True, False, False, False]]))
    assert math.isnan(lonely[0])


def test_reference_lengths_dispatches_on_the_reference():
    keypoints = np.zeros((1, LSP.num_keypoints, 2))
    keypoints[0, LSP.index("left_shoulder")] = [6.0, 0.0]
    keypoints[0, LSP.index("right_hip")] = [0.0, 8.0]
    mask = np.ones((1, LSP.num_keypoints), bool)
    torso = metrics.reference_lengths(LSP.pck_reference, LSP, keypoints, mask)
    np.testing.assert_allclose(torso, [10.0])
    half_torso = PckReference(kind="joints", joints=("left_shoulder", "right_hip"), factor=0.5)
    np.testing.assert_allclose(metrics.reference_lengths(half_torso, LSP, keypoints, mask), [5.0])
    np.testing.assert_allclose(metrics.reference_lengths("box", LSP, keypoints, mask), [8.0])
    with pytest.raises(ValueError, match="head_boxes"):
        metrics.reference_lengths(MPII.pck_reference, LSP, keypoints, mask)


# ---------------------------------------------------------------------------------------------
# PCK


def test_strict_and_inclusive_differ_exactly_at_the_threshold():
    gt = np.zeros((1, 3, 2))
    pred = np.array([[[1.5, 0.0], [0.0, 1.4], [3.0, 0.0]]])  # distances 1.5, 1.4, 3.0
    distances = metrics.normalized_distances(pred, gt, np.array([3.0]))
    np.testing.assert_allclose(distances, [[0.5, 1.4 / 3.0, 1.0]])
    assert metrics.pck_hits(distances, 0.5, inclusive=True).tolist() == [[True, True, False]]
    assert metrics.pck_hits(distances, 0.5, inclusive=False).tolist() == [[False, True, False]]


def test_persons_without_reference_and_nan_predictions_are_handled():
    gt = np.zeros((2, 2, 2))
    pred = np.array([[[np.nan, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    distances = metrics.normalized_distances(pred, gt, np.array([1.0, np.nan]))
    hits = metrics.pck_hits(distances, 0.5, inclusive=True)
    assert hits.tolist() == [[False, True], [False, False]]
    mask = metrics.valid_mask(np.full((2, 2), 2), np.array([1.0, np.nan]))
    assert mask.tolist() == [[True, True], [False, False]]
    np.testing.assert_allclose(metrics.per_joint_rates(hits, mask), [0.0, 1.0])


def test_per_joint_pooled_and_unweighted_rates():
    hits = np.array([[True, False, True], [True, True, False], [False, True, False]])
    mask = np.array([[True, True, True], [True, True, False], [False, True, False]])
    # joint 0: 2/2, joint 1: 2/3, joint 2: 1/1
    np.testing.assert_allclose(metrics.per_joint_rates(hits, mask), [1.0, 2 / 3, 1.0])
    assert metrics.pooled_rate(hits, mask, [0, 1, 2]) == pytest.approx(5 / 6)
    assert metrics.unweighted_rate(np.array([1.0, 2 / 3, 1.0]), [0, 1, 2]) == pytest.approx(8 / 9)
    never = metrics.per_joint_rates(hits, np.zeros_like(mask))
    assert np.isnan(never).all()
    assert metrics.unweighted_rate(np.array([0.5, np.nan]), [0, 1]) == 0.5


def _mpii_distances() -> tuple[np.ndarray, np.ndarray]:
    """2 persons, distances chosen per joint so that every column has a known rate."""
    distances = np.full((2, MPII.num_keypoints), 0.1)
    mask = np.ones((2, MPII.num_keypoints), bool)
    distances[0, MPII.index("head_top")] = 0.5  # a hit only with <=
    distances[:, MPII.index("neck")] = 0.9  # never a hit
    distances[0, MPII.index("left_wrist")] = 0.7  # left wrist 1/2
    mask[1, MPII.index("right_ankle")] = False  # right ankle counted once
    distances[0, MPII.index("right_ankle")] = 0.8  # right ankle 0/1
    distances[:, MPII.index("pelvis")] = 0.9  # excluded from both summaries
    return distances, mask


def test_mpii_port_row_by_hand():
    distances, mask = _mpii_distances()
    columns, mean, per_joint = metrics.pck_row(distances, mask, 0.5, MPII, metrics.MPII_PORT)
    assert list(columns) == ["Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank"]
    assert columns["Head"] == 0.5  # head top alone, strict <
    assert columns["Wri"] == pytest.approx(0.75)
    assert columns["Ank"] == pytest.approx(0.5)  # (0/1 + 2/2) / 2
    assert per_joint[MPII.index("neck")] == 0.0
    # Unweighted over the 14 joints without pelvis and thorax:
    # head_top 0.5, neck 0, left_wrist 0.5, right_ankle 0, ten joints at 1.
    assert mean == pytest.approx(11 / 14)


def test_mpii_matlab_row_by_hand():
    distances, mask = _mpii_distances()
    columns, total, _ = metrics.pck_row(distances, mask, 0.5, MPII, metrics.MPII_MATLAB)
    assert columns["Head"] == pytest.approx(0.5)  # mean(neck 0, head_top 1 with <=)
    assert columns["Wri"] == pytest.approx(0.75)
    # Pooled: 27 annotated joints (14 × 2 − the missing right ankle), misses: 2 necks,
    # 1 left wrist, 1 right ankle.
    assert total == pytest.approx(23 / 27)


def test_generic_convention_uses_the_head_joints_the_skeleton_has():
    convention = metrics.generic_convention(COCO)
    columns = dict(convention.columns)
    assert columns["Head"] == ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    assert convention.mean_joints(COCO) == tuple(range(COCO.num_keypoints))
    lsp_columns = dict(metrics.generic_convention(LSP).columns)
    assert lsp_columns["Head"] == ("neck", "head_top")


def test_lsp_torso_pck_at_0_2_by_hand():
    gt = np.zeros((2, LSP.num_keypoints, 2))
    gt[:, LSP.index("left_shoulder")] = [30.0, 0.0]
    gt[:, LSP.index("right_hip")] = [0.0, 40.0]  # torso 50 px, threshold 10 px
    pred = gt.copy()
    pred[0, LSP.index("left_wrist"), 0] += 10.0  # exactly 0.2: a hit (<=)
    pred[1, LSP.index("left_wrist"), 0] += 10.5  # a miss
    pred[0, LSP.index("head_top"), 1] += 20.0  # a miss
    visibility = np.full((2, LSP.num_keypoints), 2)
    result = report.evaluate_predictions(pred, gt, visibility, None, LSP, "lsp")
    assert result["threshold"] == 0.2 and result["mean_name"] == "Total"
    assert result["per_keypoint"]["left_wrist"] == pytest.approx(50.0)
    assert result["per_joint"]["Wri"] == pytest.approx(75.0)
    assert result["per_joint"]["Head"] == pytest.approx(75.0)  # mean(neck 100, head_top 50)
    assert result["mean"] == pytest.approx(100 * 26 / 28)


def test_lsp_person_without_torso_is_ignored():
    gt = np.zeros((2, LSP.num_keypoints, 2))
    gt[:, LSP.index("left_shoulder")] = [30.0, 0.0]
    gt[:, LSP.index("right_hip")] = [0.0, 40.0]
    pred = gt + 100.0
    pred[0] = gt[0]
    visibility = np.full((2, LSP.num_keypoints), 2)
    visibility[1, LSP.index("right_hip")] = 0
    result = report.evaluate_predictions(pred, gt, visibility, None, LSP, "lsp")
    assert result["mean"] == 100.0
    assert result["num_persons_without_reference"] == 1
    assert result["num_annotated"]["neck"] == 1


# ---------------------------------------------------------------------------------------------
# AUC


def test_area_under_curve_by_hand():
    assert metrics.area_under_curve(np.array([0.0, 0.5, 1.0]), np.array([0.0, 1.0, 1.0])) == 0.75
    thresholds = metrics.auc_thresholds()
    assert thresholds.size == 51 and thresholds[-1] == 0.5
    assert metrics.area_under_curve(thresholds, thresholds / 0.5) == pytest.approx(0.5)
    assert metrics.area_under_curve(thresholds, np.ones(51)) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        metrics.area_under_curve(np.array([0.0]), np.array([1.0]))


def test_perfect_predictions_auc_differs_between_conventions_only_at_zero():
    gt = np.random.default_rng(0).uniform(0, 100, (3, MPII.num_keypoints, 2))
    boxes = np.tile([0.0, 0.0, 30.0, 40.0], (3, 1))
    visibility = np.full((3, MPII.num_keypoints), 2)
    result = report.evaluate_predictions(gt, gt, visibility, boxes, MPII, "mpii")
    # Strict <: PCK(0) = 0 then 100 → trapezoid loses half a step: 100 · (1 − 0.005 / 0.5).
    assert result["conventions"]["port"]["auc"] == pytest.approx(99.0)
    assert result["conventions"]["matlab"]["auc"] == pytest.approx(100.0)
    assert result["PCKh@0.1"]["mean"] == 100.0


# ---------------------------------------------------------------------------------------------
# Visibility average precision


def test_average_precision_by_hand():
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    labels = np.array([True, False, True, False])
    # Positives at ranks 1 and 3: precision 1/1 and 2/3.
    assert metrics.average_precision(scores, labels) == pytest.approx((1 + 2 / 3) / 2)
    precision, recall, thresholds = metrics.precision_recall_curve(scores, labels)
    np.testing.assert_allclose(precision, [1.0, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(thresholds, scores)


def test_average_precision_ties_share_the_precision_of_their_block():
    scores = np.array([0.5, 0.1, 0.5])
    labels = np.array([True, True, False])
    # The tie at 0.5 enters together: precision 1/2 at recall 1/2, then 2/3 at recall 1.
    assert metrics.average_precision(scores, labels) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    precision, recall, thresholds = metrics.precision_recall_curve(scores, labels)
    assert thresholds.tolist() == [0.5, 0.1]


def test_average_precision_extremes_and_errors():
    assert metrics.average_precision(np.array([3.0, 2.0, 1.0]), np.array([1, 1, 0])) == 1.0
    assert metrics.average_precision(np.array([1.0, 2.0]), np.array([1, 0])) == 0.5
    with pytest.raises(ValueError, match="positive"):
        metrics.average_precision(np.array([1.0]), np.array([False]))
    with pytest.raises(ValueError, match="match"):
        metrics.average_precision(np.array([1.0, 2.0]), np.array([True]))


def _brute_force_average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    precisions = []
    for score, label in zip(scores, labels, strict=True):
        if label:
            above = scores >= score
            precisions.append(labels[above].sum() / above.sum())
    return float(np.mean(precisions))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=25).filter(
        lambda pairs: any(label for _, label in pairs)
    )
)
def test_average_precision_matches_brute_force(pairs):
    scores = np.array([float(s) for s, _ in pairs])  # small integers: many ties
    labels = np.array([label for _, label in pairs])
    assert metrics.average_precision(scores, labels) == pytest.approx(
        _brute_force_average_precision(scores, labels)
    )


def test_visibility_entry_needs_occlusion_labels_and_confidences():
    gt = np.zeros((2, MPII.num_keypoints, 2))
    boxes = np.tile([0.0, 0.0, 3.0, 4.0], (2, 1))
    visibility = np.full((2, MPII.num_keypoints), 2)
    visibility[0, :4] = 1  # occluded
    visibility[1, 0] = 0  # not annotated: ignored
    confidences = np.full((2, MPII.num_keypoints), 0.9)
    confidences[0, :4] = [0.1, 0.95, 0.2, 0.3]
    confidences[1, 0] = 0.0
    result = report.evaluate_predictions(
        gt, gt, visibility, boxes, MPII, "mpii", confidences, occlusion_labelled=True
    )
    entry = result["visibility"]
    assert entry["num_positive"] == 27 and entry["num_negative"] == 4
    # Ranking: 0.95 (neg), 27 positives tied at 0.9, then negatives.
    assert entry["average_precision"] == pytest.approx(100 * 27 / 28)
    unlabelled = report.evaluate_predictions(gt, gt, visibility, boxes, MPII, "mpii", confidences)
    assert unlabelled["visibility"] is None and "occlusion" in unlabelled["visibility_note"]
    no_scores = report.evaluate_predictions(gt, gt, visibility, boxes, MPII, "mpii")
    assert no_scores["visibility_note"] == "no confidences given"


# ---------------------------------------------------------------------------------------------
# Protocol errors


def test_protocol_errors_are_clear():
    gt = np.zeros((1, MPII.num_keypoints, 2))
    visibility = np.full((1, MPII.num_keypoints), 2)
    with pytest.raises(ValueError, match="head_boxes"):
        report.evaluate_predictions(gt, gt, visibility, None, MPII, "mpii")
    with pytest.raises(ValueError, match="lsp skeleton"):
        report.evaluate_predictions(gt, gt, visibility, None, MPII, "lsp")
    with pytest.raises(ValueError, match="reference"):
        report.evaluate_predictions(gt, gt, visibility, None, MPII, "mpii", reference="box")
    with pytest.raises(ValueError, match="unknown protocol"):
        report.evaluate_predictions(gt, gt, visibility, None, MPII, "pckh")
    with pytest.raises(ValueError, match="skeleton .mpii. has 16"):
        report.evaluate_predictions(gt[:, :14], gt[:, :14], visibility[:, :14], None, MPII, "pck")


def test_generic_pck_with_box_reference_and_custom_threshold():
    gt = np.zeros((1, COCO.num_keypoints, 2))
    gt[0, :, 0] = np.arange(COCO.num_keypoints) * 5.0  # box 80 x 0 → reference 80
    pred = gt.copy()
    pred[0, COCO.index("nose"), 1] = 8.0  # 0.1 of the box
    visibility = np.full((1, COCO.num_keypoints), 2)
    result = report.evaluate_predictions(
        pred, gt, visibility, None, COCO, "pck", reference="box", threshold=0.05
    )
    assert result["metric"] == "PCK" and result["threshold"] == 0.05
    assert result["per_keypoint"]["nose"] == 0.0
    assert result["per_joint"]["Head"] == pytest.approx(80.0)  # nose missed, 4 of 5 head joints
    assert result["mean"] == pytest.approx(100 * 16 / 17)


# ---------------------------------------------------------------------------------------------
# Published reference (real data)


def _mpii_result(shared_data, predictions_file, key=None):
    folder = shared_data / "mpii_val"
    ground_truth = prediction_files.load_ground_truth(folder / "detections_our_format.mat")
    predictions = prediction_files.load_predictions(folder / predictions_file, key)
    return report.evaluate_predictions(
        predictions.keypoints,
        ground_truth.keypoints,
        ground_truth.visibility,
        ground_truth.head_boxes,
        MPII,
        "mpii",
    )


def test_reproduces_the_published_hourglass_table_in_both_conventions(shared_data):
    result = _mpii_result(shared_data, "hg_s2_b1_predictions.mat")
    port, matlab = result["conventions"]["port"], result["conventions"]["matlab"]
    assert {k: round(v, 2) for k, v in port["per_joint"].items()} == PUBLISHED_PORT
    assert round(port["mean"], 2) == PUBLISHED_PORT_MEAN
    assert {k: round(v, 2) for k, v in matlab["per_joint"].items()} == PUBLISHED_MATLAB
    assert round(matlab["mean"], 2) == PUBLISHED_MATLAB_TOTAL
    assert result["num_persons"] == 2958


def test_reproduces_tompsons_published_mean(shared_data):
    result = _mpii_result(shared_data, "detections_our_format.mat", "pos_pred_src")
    assert round(result["conventions"]["port"]["mean"], 2) == TOMPSON_PORT_MEAN
