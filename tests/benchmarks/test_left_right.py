"""benchmarks/left_right.py: the left/right-confusion analysis."""

import numpy as np

from tests.conftest import import_cli
from tfpose.skeletons import MPII


def test_a_mirrored_person_is_counted_as_a_left_right_confusion():
    left_right = import_cli("benchmarks.left_right")
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 200, (3, MPII.num_keypoints, 2))
    visibility = np.full((3, MPII.num_keypoints), 2)
    visibility[2, 0] = 0  # not annotated: not counted
    head_boxes = np.tile([0.0, 0.0, 10.0, 10.0], (3, 1))  # reference 0.6·√200 ≈ 8.5 px
    flip = np.asarray(MPII.flip_permutation)
    pred = gt.copy()
    pred[1] = gt[1][flip]  # person 1 predicted facing the other way
    pred[2] += 50.0  # person 2 wrong everywhere
    result = left_right.analyse(pred, gt, visibility, head_boxes, MPII.flip_permutation, 0.5)
    paired = int((flip != np.arange(len(flip))).sum())  # joints with a left/right partner
    counted = 3 * MPII.num_keypoints - 1
    assert result["joints"] == counted
    expected = (MPII.num_keypoints + (MPII.num_keypoints - paired)) / counted
    assert abs(result["pckh_as_predicted"] - 100 * expected) < 0.01
    assert abs(result["pckh_mirrored_where_better"] - 100 * 2 * MPII.num_keypoints / counted) < 0.01
    assert abs(result["people_better_mirrored_percent"] - 100 / 3) < 0.01
    # Each pair is swapped for one of the people with both joints annotated.
    partner = int(flip[0])
    for pair, swapped in result["pair_swapped_percent"].items():
        counted_people = 2 if pair == f"{min(0, partner)}-{max(0, partner)}" else 3
        assert swapped == round(100 / counted_people, 2), pair


def test_per_joint_breakdown_separates_partner_hits_from_other_misses():
    left_right = import_cli("benchmarks.left_right")
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 200, (4, MPII.num_keypoints, 2))
    gt[:, 15] = gt[:, 10] + [60.0, 0.0]  # left wrist 60 px right of the right wrist
    visibility = np.full((4, MPII.num_keypoints), 2)
    head_boxes = np.tile([0.0, 0.0, 10.0, 10.0], (4, 1))  # reference ≈ 8.5 px
    pred = gt.copy()
    pred[0, 15] = gt[0, 10]  # person 0: left wrist predicted on the right wrist
    pred[1, 15] = gt[1, 15] + [0.0, 40.0]  # person 1: left wrist predicted nowhere useful
    pred[2, 15] = gt[2, 15] + [3.0, 0.0]  # person 2: a hit, 3 px off
    visibility[3, 15] = 0  # person 3: left wrist not annotated, not counted
    result = left_right.analyse(pred, gt, visibility, head_boxes, MPII.flip_permutation, 0.5)
    assert result["per_joint_percent"]["15"] == {
        "hit": round(100 / 3, 2),
        "on_partner": round(100 / 3, 2),
        "elsewhere": round(100 / 3, 2),
    }
    assert result["per_joint_percent"]["10"] == {"hit": 100.0, "on_partner": 0.0, "elsewhere": 0.0}
    # Joints without a partner (pelvis, thorax, neck, head top) are not listed.
    assert set(result["per_joint_percent"]) == {
        str(j) for j in range(MPII.num_keypoints) if MPII.flip_permutation[j] != j
    }
