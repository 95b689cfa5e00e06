"""Reading predictions and ground truth from .mat, .h5 and .json."""

import json

import h5py
import numpy as np
import pytest
import scipy.io

from tfpose.evaluation import prediction_files
from tfpose.evaluation.report import write_coco_results
from tfpose.inference.results import validate_coco_results

N, K = 3, 16
RNG = np.random.default_rng(7)
KEYPOINTS = RNG.uniform(0, 200, (N, K, 2)).round(2)
SCORES = RNG.uniform(0, 1, (N, K)).round(3)
HEAD_BOXES = np.array([[10.0, 20.0, 40.0, 60.0], [0.0, 0.0, 5.0, 5.0], [1.0, 2.0, 3.0, 4.0]])
VISIBILITY = RNG.integers(0, 3, (N, K))


def _tfpose_ground_truth_fields():
    return {
        "keypoints": KEYPOINTS,
        "visibility": VISIBILITY,
        "head_boxes": HEAD_BOXES,
        "occlusion_labelled": True,
        "image_ids": ["a.jpg", "b.jpg", "c.jpg"],
        "skeleton": "mpii",
    }


def _write_json(path, fields):
    def plain(value):
        return value.tolist() if isinstance(value, np.ndarray) else value

    path.write_text(json.dumps({k: plain(v) for k, v in fields.items()}))
    return path


def _write_h5(path, fields):
    with h5py.File(path, "w") as file:
        for key, value in fields.items():
            if isinstance(value, list):
                file.create_dataset(key, data=np.array(value, dtype="S"))
            elif isinstance(value, bool | str):
                file.attrs[key] = value
            else:
                file.create_dataset(key, data=value)
    return path


def _write_mat(path, fields):
    scipy.io.savemat(path, fields)
    return path


# ---------------------------------------------------------------------------------------------
# Ground truth


@pytest.mark.parametrize(
    "writer, suffix", [(_write_json, ".json"), (_write_h5, ".h5"), (_write_mat, ".mat")]
)
def test_tfpose_ground_truth_layout_in_every_container(tmp_path, writer, suffix):
    path = writer(tmp_path / f"gt{suffix}", _tfpose_ground_truth_fields())
    truth = prediction_files.load_ground_truth(path)
    np.testing.assert_allclose(truth.keypoints, KEYPOINTS)
    np.testing.assert_array_equal(truth.visibility, VISIBILITY)
    np.testing.assert_allclose(truth.head_boxes, HEAD_BOXES)
    assert truth.occlusion_labelled is True
    assert truth.image_ids == ("a.jpg", "b.jpg", "c.jpg")
    assert truth.skeleton == "mpii"


def test_mpii_detections_layout(tmp_path):
    missing = (VISIBILITY == 0).astype(np.uint8)
    corners = np.stack([HEAD_BOXES[:, :2].T, HEAD_BOXES[:, 2:].T])  # [2 corners, xy, N]
    path = _write_mat(
        tmp_path / "detections.mat",
        {
            "pos_gt_src": KEYPOINTS.transpose(1, 2, 0),
            "jnt_missing": missing.T,
            "headboxes_src": corners,
        },
    )
    truth = prediction_files.load_ground_truth(path)
    np.testing.assert_allclose(truth.keypoints, KEYPOINTS)
    np.testing.assert_allclose(truth.head_boxes, HEAD_BOXES)
    np.testing.assert_array_equal(truth.visibility, np.where(VISIBILITY == 0, 0, 2))
    assert truth.occlusion_labelled is False and truth.skeleton == "mpii"


def test_original_lsp_joints_mat(tmp_path):
    joints = np.zeros((3, 14, 2))
    joints[0, :, 0] = np.arange(14)  # x of image 1
    joints[1, :, 0] = 100 + np.arange(14)  # y of image 1
    joints[2, 3, 1] = 1  # image 2, left hip occluded
    truth = prediction_files.load_ground_truth(
        _write_mat(tmp_path / "joints.mat", {"joints": joints})
    )
    assert truth.keypoints.shape == (2, 14, 2)
    assert truth.keypoints[0, 5].tolist() == [5.0, 105.0]
    assert truth.visibility[1, 3] == 1 and (np.delete(truth.visibility, 3, axis=1) == 2).all()
    assert truth.occlusion_labelled is True
    assert truth.image_ids == ("im0001", "im0002") and truth.skeleton == "lsp"


def test_lsp_extended_joints_mat(tmp_path):
    joints = np.ones((14, 3, 2))
    joints[:, 0, 1] = np.arange(14)  # x of image 2
    joints[13, :, 0] = [-1.0, -1.0, 0.0]  # image 1, head top missing
    truth = prediction_files.load_ground_truth(
        _write_mat(tmp_path / "joints.mat", {"joints": joints})
    )
    assert truth.keypoints[1, :, 0].tolist() == list(range(14))
    assert truth.visibility[0, 13] == 0 and truth.visibility[0, 0] == 2
    assert truth.occlusion_labelled is False
    assert truth.image_ids == ("im00001", "im00002")


def test_select_takes_a_slice_of_persons():
    truth = prediction_files.GroundTruth(
        keypoints=KEYPOINTS, visibility=VISIBILITY, head_boxes=HEAD_BOXES, image_ids=("a", "b", "c")
    )
    part = truth.select(slice(1, None))
    assert part.num_persons == 2 and part.image_ids == ("b", "c")
    np.testing.assert_allclose(part.head_boxes, HEAD_BOXES[1:])


def test_real_mpii_ground_truth(shared_data):
    truth = prediction_files.load_ground_truth(
        shared_data / "mpii_val" / "detections_our_format.mat"
    )
    assert truth.keypoints.shape == (2958, 16, 2) and truth.head_boxes.shape == (2958, 4)
    # Person 0: head top (962.2, 80.0) lies inside its head box (914, 79)–(1031, 237).
    x1, y1, x2, y2 = truth.head_boxes[0]
    head_top = truth.keypoints[0, 9]
    assert x1 <= head_top[0] <= x2 and y1 <= head_top[1] <= y2


# ---------------------------------------------------------------------------------------------
# Predictions


@pytest.mark.parametrize(
    "writer, suffix", [(_write_json, ".json"), (_write_h5, ".h5"), (_write_mat, ".mat")]
)
def test_predictions_with_scores_in_every_container(tmp_path, writer, suffix):
    path = writer(tmp_path / f"pred{suffix}", {"preds": KEYPOINTS, "scores": SCORES})
    predictions = prediction_files.load_predictions(path)
    np.testing.assert_allclose(predictions.keypoints, KEYPOINTS)
    np.testing.assert_allclose(predictions.scores, SCORES)


def test_predictions_with_a_third_column_and_maxvals_shape(tmp_path):
    stacked = np.concatenate([KEYPOINTS, SCORES[..., None]], axis=-1)
    predictions = prediction_files.load_predictions(
        _write_mat(tmp_path / "p.mat", {"preds": stacked})
    )
    np.testing.assert_allclose(predictions.scores, SCORES)
    path = _write_h5(tmp_path / "p.h5", {"predictions": KEYPOINTS, "maxvals": SCORES[..., None]})
    np.testing.assert_allclose(prediction_files.load_predictions(path).scores, SCORES)


def test_matlab_layout_and_explicit_key(tmp_path):
    path = _write_mat(
        tmp_path / "p.mat", {"pos_pred_src": KEYPOINTS.transpose(1, 2, 0), "other": KEYPOINTS + 1}
    )
    np.testing.assert_allclose(prediction_files.load_predictions(path).keypoints, KEYPOINTS)
    np.testing.assert_allclose(
        prediction_files.load_predictions(path, "other").keypoints, KEYPOINTS + 1
    )


def test_matlab_v7_3_file_is_read_through_hdf5(tmp_path):
    path = tmp_path / "v73.mat"
    with h5py.File(path, "w", userblock_size=512) as file:
        file.create_dataset("preds", data=KEYPOINTS.T)  # MATLAB stores column-major
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    with open(path, "r+b") as file:
        file.write(header.ljust(116) + b"\0" * 8 + b"\x00\x02IM")
    np.testing.assert_allclose(prediction_files.load_predictions(path).keypoints, KEYPOINTS)


def _coco_results(ids: dict) -> list[dict]:
    """COCO results of KEYPOINTS and SCORES, person i with the fields ``ids[field][i]``."""
    return [
        {
            **{field: values[i] for field, values in ids.items()},
            "keypoints": np.c_[KEYPOINTS[i], SCORES[i]].ravel().tolist(),
        }
        for i in range(N)
    ]


def _align_shuffled(path, entries, order, image_ids=None):
    """Writes ``entries`` in ``order`` to ``path`` and aligns them with the ground truth whose
    persons have ``image_ids``."""
    path.write_text(json.dumps([entries[i] for i in order]))
    truth = prediction_files.GroundTruth(
        keypoints=KEYPOINTS, visibility=VISIBILITY, image_ids=image_ids
    )
    return prediction_files.align_predictions(prediction_files.load_predictions(path), truth)


def test_coco_results_round_trip_in_ground_truth_order(tmp_path):
    path = write_coco_results(tmp_path / "results.json", KEYPOINTS, SCORES, ["a", "a", "b"])
    entries = json.loads(path.read_text())
    validate_coco_results(entries, K)  # the check of python -m tfpose.predict's files too
    assert [e["image_id"] for e in entries] == [0, 0, 1]  # integers; the names as file_name
    assert entries[2]["file_name"] == "b" and entries[2]["category_id"] == 1
    assert len(entries[0]["keypoints"]) == 3 * K
    assert entries[0]["score"] == pytest.approx(SCORES[0].mean())
    aligned = _align_shuffled(path, entries, [2, 1, 0])  # reversed; person_index restores
    np.testing.assert_allclose(aligned.keypoints, KEYPOINTS, atol=1e-3)
    np.testing.assert_allclose(aligned.scores, SCORES, atol=1e-3)


def test_coco_results_matched_by_unique_image_id(tmp_path):
    entries = _coco_results({"image_id": ["x", "y", "z"]})
    aligned = _align_shuffled(tmp_path / "results.json", entries, [1, 2, 0], ("x", "y", "z"))
    np.testing.assert_allclose(aligned.keypoints, KEYPOINTS)


def test_coco_results_with_integer_ids_are_matched_by_file_name(tmp_path):
    # As python -m tfpose.predict writes them: integer ids, the image's name in file_name.
    names = ["x.jpg", "y.jpg", "z.jpg"]
    entries = _coco_results({"image_id": [0, 1, 2], "file_name": names})
    aligned = _align_shuffled(tmp_path / "predictions.json", entries, [2, 0, 1], tuple(names))
    np.testing.assert_allclose(aligned.keypoints, KEYPOINTS)


def test_real_hourglass_predictions(shared_data):
    predictions = prediction_files.load_predictions(
        shared_data / "mpii_val" / "hg_s2_b1_predictions.mat"
    )
    assert predictions.keypoints.shape == (2958, 16, 2) and predictions.scores is None


def test_the_reference_codes_2_k_n_layout_is_read_and_named(tmp_path):
    # evalMPII.m / eval_pose's pred: [2, K, N]; e.g. LSP results in a .mat, MPII ones in an .h5.
    for path in (
        _write_mat(tmp_path / "pred_keypoints_lsp.mat", {"pred": KEYPOINTS.transpose(2, 1, 0)}),
        _write_h5(tmp_path / "pred.h5", {"preds": KEYPOINTS.transpose(2, 1, 0)}),
    ):
        key = "pred" if path.suffix == ".mat" else None
        # [2, 16, 3] also reads as [N, K, 3] (2 persons with confidences): N decides.
        with pytest.raises(ValueError, match=r"\[N, K, 3\] \(N = 2, K = 16\) and as \[2, K, N\]"):
            prediction_files.load_predictions(path, key, num_keypoints=K)
        predictions = prediction_files.load_predictions(path, key, num_keypoints=K, num_persons=N)
        np.testing.assert_allclose(predictions.keypoints, KEYPOINTS)
        assert "read as [2, K, N]: N = 3 persons, K = 16 joints" in predictions.description
    predictions = prediction_files.load_predictions(
        _write_mat(tmp_path / "n.mat", {"preds": KEYPOINTS}), num_keypoints=K
    )
    assert "'preds' [3, 16, 2] read as [N, K, 2]" in predictions.description


def test_an_ambiguous_shape_is_resolved_by_k_or_refused(tmp_path):
    # [K, 2, N] with N = 3 also reads as [N, K, 3] (16 persons of 2 joints): K decides.
    path = _write_mat(tmp_path / "p.mat", {"pos_pred_src": KEYPOINTS.transpose(1, 2, 0)})
    predictions = prediction_files.load_predictions(path, num_keypoints=K, num_persons=N)
    np.testing.assert_allclose(predictions.keypoints, KEYPOINTS)
    assert "read as [K, 2, N]" in predictions.description
    # Two persons: [2, 16, 2] is [N, K, 2] and [2, K, N] with the same N and K: refused.
    two = KEYPOINTS[:2]
    path = _write_mat(tmp_path / "two.mat", {"preds": two})
    with pytest.raises(
        ValueError,
        match=r"two\.mat.*reads as \[N, K, 2\].*\[2, K, N\].*"
        r"--predictions_layout=NK2\|2KN",
    ):
        prediction_files.load_predictions(path, num_keypoints=K, num_persons=2)
    chosen = prediction_files.load_predictions(path, num_keypoints=K, num_persons=2, layout="NK2")
    np.testing.assert_allclose(chosen.keypoints, two)
    transposed = _write_mat(tmp_path / "t.mat", {"preds": two.transpose(2, 1, 0)})
    chosen = prediction_files.load_predictions(transposed, num_keypoints=K, layout="2KN")
    np.testing.assert_allclose(chosen.keypoints, two)
    with pytest.raises(ValueError, match=r"no reading with the ground truth's K = 14"):
        prediction_files.load_predictions(path, num_keypoints=14)


def test_hdf5_predictions_in_a_group_are_listed_and_read_by_path(tmp_path):
    path = tmp_path / "results.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("results/joints", data=KEYPOINTS)
        file.create_dataset("results/scores", data=SCORES)
        file.create_dataset("meta/version", data=np.array([1]))
    with pytest.raises(KeyError) as info:
        prediction_files.load_predictions(path)
    message = info.value.args[0]
    assert "datasets in the file: /meta/version [1], /results/joints [3, 16, 2]" in message
    assert "/results/scores [3, 16]" in message and "--predictions_key" in message
    predictions = prediction_files.load_predictions(path, "/results/joints", num_keypoints=K)
    np.testing.assert_allclose(predictions.keypoints, KEYPOINTS)
    np.testing.assert_allclose(predictions.scores, SCORES)  # found beside the predictions
    assert "confidences from 'results/scores'" in predictions.description


def test_nan_predictions_are_counted_and_scored_as_misses():
    keypoints = KEYPOINTS.copy()
    keypoints[0, 3] = np.nan  # annotated (visibility 2): a miss
    keypoints[1, 5, 0] = np.nan
    visibility = np.full((N, K), 2)
    visibility[1, 5] = 0  # not annotated: not scored
    scores = SCORES.copy()
    scores[2, 0] = np.nan
    truth = prediction_files.GroundTruth(keypoints=KEYPOINTS, visibility=visibility)
    predictions = prediction_files.Predictions(keypoints=keypoints, scores=scores)
    cleaned, warning = prediction_files.missing_values(predictions, truth)
    assert warning.startswith("2 of 48 predicted joints are NaN (2 persons); a NaN prediction is a")
    assert "miss: 1 of them are annotated and scored as misses" in warning
    assert "1 confidences are NaN and count as 0" in warning
    assert cleaned.scores[2, 0] == 0 and np.isfinite(cleaned.scores).all()
    finite = prediction_files.Predictions(keypoints=KEYPOINTS, scores=SCORES)
    assert prediction_files.missing_values(finite, truth)[1] is None


# ---------------------------------------------------------------------------------------------
# Errors name the file and what is wrong


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.mat"):
        prediction_files.load_predictions(tmp_path / "nowhere.mat")
    (tmp_path / "p.csv").write_text("1,2")
    with pytest.raises(ValueError, match=r"p\.csv.*\.mat, \.h5"):
        prediction_files.load_predictions(tmp_path / "p.csv")


def test_missing_keys_are_named(tmp_path):
    path = _write_mat(tmp_path / "p.mat", {"something": KEYPOINTS})
    with pytest.raises(KeyError, match=r"p\.mat.*preds.*something"):
        prediction_files.load_predictions(path)
    with pytest.raises(KeyError, match=r"p\.mat.*'nope'"):
        prediction_files.load_predictions(path, "nope")
    with pytest.raises(KeyError, match=r"p\.mat.*pos_gt_src.*joints.*keypoints"):
        prediction_files.load_ground_truth(path)
    fields = _tfpose_ground_truth_fields()
    del fields["visibility"]
    with pytest.raises(KeyError, match=r"gt\.json.*'visibility'"):
        prediction_files.load_ground_truth(_write_json(tmp_path / "gt.json", fields))


def test_wrong_shapes_are_named(tmp_path):
    path = _write_mat(tmp_path / "p.mat", {"preds": KEYPOINTS[..., :1]})
    with pytest.raises(ValueError, match=r"p\.mat.*'preds'.*\[N, K, 2\].*\(3, 16, 1\)"):
        prediction_files.load_predictions(path)
    path = _write_mat(tmp_path / "s.mat", {"preds": KEYPOINTS, "scores": SCORES[:, :5]})
    with pytest.raises(ValueError, match=r"s\.mat.*'scores'"):
        prediction_files.load_predictions(path)
    path = _write_mat(tmp_path / "j.mat", {"joints": np.zeros((2, 14, 3))})
    with pytest.raises(ValueError, match=r"j\.mat.*'joints'.*\[3, 14, N\]"):
        prediction_files.load_ground_truth(path)
    fields = {**_tfpose_ground_truth_fields(), "head_boxes": HEAD_BOXES[:, :2]}
    with pytest.raises(ValueError, match=r"g\.json.*'head_boxes'"):
        prediction_files.load_ground_truth(_write_json(tmp_path / "g.json", fields))
    fields = {**_tfpose_ground_truth_fields(), "visibility": VISIBILITY + 3}
    with pytest.raises(ValueError, match=r"h\.json.*0, 1 or 2"):
        prediction_files.load_ground_truth(_write_json(tmp_path / "h.json", fields))


def test_corrupt_files(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json.*not valid JSON"):
        prediction_files.load_predictions(tmp_path / "bad.json")
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match=r"bad\.h5.*HDF5"):
        prediction_files.load_ground_truth(tmp_path / "bad.h5")
    (tmp_path / "r.json").write_text(json.dumps([{"image_id": 1, "keypoints": [1, 2]}]))
    with pytest.raises(ValueError, match=r"r\.json.*3K"):
        prediction_files.load_predictions(tmp_path / "r.json")


def test_alignment_errors_name_both_files(tmp_path):
    truth = prediction_files.GroundTruth(
        keypoints=KEYPOINTS, visibility=VISIBILITY, source="truth.mat"
    )
    too_few = prediction_files.Predictions(keypoints=KEYPOINTS[:2], source="pred.mat")
    with pytest.raises(ValueError, match=r"pred\.mat.*truth\.mat.*2 persons predicted, 3"):
        prediction_files.align_predictions(too_few, truth)
    wrong_k = prediction_files.Predictions(keypoints=KEYPOINTS[:, :14], source="pred.mat")
    with pytest.raises(ValueError, match="14 keypoints per person vs 16"):
        prediction_files.align_predictions(wrong_k, truth)
    duplicated = prediction_files.Predictions(keypoints=KEYPOINTS, person_indices=(0, 0, 1))
    with pytest.raises(ValueError, match="exactly once"):
        prediction_files.align_predictions(duplicated, truth)
