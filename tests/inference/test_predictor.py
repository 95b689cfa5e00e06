"""Predictor: geometry of crops and decoding, scores, flip test, batching, boxes, backends.

The model tests use a tiny recurrent network trained for a few steps by the real training code
(the ``model_path`` fixture of ``conftest.py``, built once per session) and the real MPII sample
images.
"""

import os
import shutil
import zipfile

import cv2
import numpy as np
import pytest

from tests.inference import fake_spec
from tfpose.data import targets, transforms
from tfpose.inference import preprocess
from tfpose.inference.backends import load_backend
from tfpose.inference.predictor import Predictor, inside_image, normalize_scores
from tfpose.run_config import RUN_ENTRY
from tfpose.skeletons import MPII


@pytest.fixture(scope="module")
def predictor(model_path):
    return Predictor.from_path(str(model_path), batch_size=2)


@pytest.fixture(scope="module")
def mpii_images(shared_data):
    paths = sorted((shared_data / "samples" / "mpii").glob("*.jpg"))
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]


# ------------------------------------------------------------------------------- fake backends

SPEC = fake_spec(MPII, pass_outputs=("keypoints_0", "keypoints_1"))


class DotBackend:
    """Finds the brightest pixel of each crop and puts a Gaussian of peak ``peak`` there in
    channel 0 (right ankle) only: a mirror-equivariant "network" with known output. With
    ``corner``, channel 1 peaks at the crop's top-left corner."""

    def __init__(self, spec=SPEC, peak=6.0, corner=False):
        self.spec = spec
        self.peak = peak
        self.corner = corner
        self.calls = []

    def __call__(self, crops):
        self.calls.append(crops.shape[0])
        size = self.spec.input_size // self.spec.heatmap_stride
        brightness = crops.sum(-1).reshape(crops.shape[0], -1)
        index = brightness.argmax(-1)
        points = np.stack([index % crops.shape[2], index // crops.shape[2]], -1).astype(np.float32)
        keypoints = np.zeros((crops.shape[0], MPII.num_keypoints, 2), np.float32)
        keypoints[:, 0] = points
        draw = np.zeros((crops.shape[0], MPII.num_keypoints), bool)
        draw[:, 0] = True
        if self.corner:
            keypoints[:, 1] = 2.0
            draw[:, 1] = True
        maps = targets.gaussian_heatmaps(
            keypoints, 1.3, (size, size), self.spec.heatmap_stride, self.peak, draw=draw
        ).numpy()
        return {"keypoints_0": maps * 0.5, "keypoints_1": maps}


def dot_image(height, width, x, y):
    image = np.zeros((height, width, 3), np.uint8)
    cv2.circle(image, (x, y), 2, (255, 255, 255), -1)
    return image


# ------------------------------------------------------------------------------- geometry


def test_whole_image_region_maps_the_image_onto_the_crop():
    box = preprocess.whole_image_box(30, 50)
    center, scale = preprocess.person_from_box(box, 1.5)
    affine = transforms.crop_affine(center, scale, 0.0, False, 64, 1.5)
    corners = transforms.apply_affine([[-0.5, -0.5], [49.5, -0.5]], affine).numpy()
    # The longer side (width 50) spans the crop edge to edge; the image is centred vertically.
    np.testing.assert_allclose(corners[:, 0], [-0.5, 63.5], atol=1e-4)
    np.testing.assert_allclose(corners[0, 1], 31.5 - 64 * 15 / 50, atol=1e-4)


def test_person_box_to_region_adds_the_training_context():
    region = preprocess.person_box_to_region([10, 20, 30, 60], box_scale=1.5)
    np.testing.assert_allclose(region, [-10, 10, 50, 70])


@pytest.mark.parametrize("box", [None, [20.0, 5.0, 90.0, 60.0]])
def test_decoded_keypoint_lands_on_the_dot(box):
    predictor = Predictor(DotBackend())
    image = dot_image(60, 100, 47, 31)
    result = predictor.predict(image, box)
    # Decoding is exact to a quarter heatmap pixel = 1 crop pixel; back in image pixels that is
    # at most (region side / crop side) pixels per axis, plus the dot's radius.
    side = 100.0 if box is None else 70.0
    tolerance = 2.0 + side / SPEC.input_size
    np.testing.assert_allclose(result.keypoints[0, 0], [47, 31], atol=tolerance)


def test_scores_are_peaks_over_the_target_amplitude():
    backend = DotBackend(peak=6.0)
    image = dot_image(40, 40, 20, 20)
    result = Predictor(backend).predict(image)
    crop, _ = preprocess.crop_person(
        image,
        preprocess.whole_image_box(40, 40),
        input_size=64,
        box_scale=1.5,
        fill=128.0,
        normalization="belagiannis",
    )
    peak = backend(crop[None])["keypoints_1"][0, ..., 0].max()
    assert 5.0 < peak <= 6.0
    assert result.confidence[0, 0] == pytest.approx(peak / 12.0, rel=1e-5)
    np.testing.assert_allclose(normalize_scores([-1.0, 6.0, 30.0], 12.0), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(normalize_scores([0.0], 12.0, "sigmoid"), [0.5])
    assert np.all(result.confidence >= 0) and np.all(result.confidence <= 1)


def test_visibility_is_zero_outside_the_image():
    # A region larger than the image: channel 1 peaks in the crop's corner, outside the image,
    # and gets visibility 0 despite its confidence; the dot's channel keeps its confidence.
    predictor = Predictor(DotBackend(corner=True))
    image = dot_image(40, 40, 20, 20)
    cv2.circle(image, (20, 20), 4, (255, 255, 255), -1)
    result = predictor.predict(image, [-60.0, -60.0, 100.0, 100.0])
    outside = ~inside_image(result.keypoints[0], 40, 40)
    assert outside[1] and not outside[0]
    assert result.confidence[0, 1] > 0.4
    assert result.visibility[0, 1] == 0
    assert result.visibility[0, 0] == result.confidence[0, 0] > 0


def test_flip_test_is_consistent_for_a_mirror_equivariant_model():
    backend = DotBackend()
    predictor = Predictor(backend)
    image = dot_image(64, 64, 20, 40)
    plain = predictor.predict(image)
    flipped = predictor.predict(image, flip_test=True)
    # The mirrored crop's right-ankle channel is swapped into the left-ankle channel by the
    # network and swapped back, and flipped back in x, by the flip test: half the peak each.
    assert backend.calls == [1, 1, 1]
    np.testing.assert_allclose(flipped.keypoints[0, 0], plain.keypoints[0, 0], atol=1.0)
    assert flipped.confidence[0, 0] == pytest.approx(plain.confidence[0, 0] / 2, rel=0.05)
    assert flipped.confidence[0, 5] == pytest.approx(plain.confidence[0, 0] / 2, rel=0.05)


def test_batching_and_several_boxes_per_image():
    backend = DotBackend()
    predictor = Predictor(backend, batch_size=2)
    images = [dot_image(40, 60, 10 + 8 * i, 20) for i in range(3)]
    boxes = [None, [[0, 0, 30, 40], [20, 0, 60, 40]], [0.0, 0.0, 60.0, 40.0]]
    result = predictor.predict(images, boxes)
    assert backend.calls == [2, 2]  # 4 persons in batches of 2
    assert result.image_index.tolist() == [0, 1, 1, 2]
    np.testing.assert_allclose(result.boxes[1], [0, 0, 30, 40])
    alone = Predictor(DotBackend(), batch_size=1).predict(images[1], boxes[1])
    np.testing.assert_allclose(result.for_image(1).keypoints, alone.keypoints, atol=1e-4)


def test_box_mode_person_enlarges_the_box():
    predictor = Predictor(DotBackend())
    result = predictor.predict(dot_image(40, 40, 5, 5), [10, 10, 20, 30], box_mode="person")
    np.testing.assert_allclose(result.boxes[0], [0, 5, 30, 35])


@pytest.mark.parametrize(
    "boxes, message",
    [
        ([[1, 2, 3]], r"boxes\[0\]: a box must be 4 numbers"),
        ([[5, 5, 1, 9]], r"boxes\[0\]: box .* needs x2 > x1"),
        ([[0, 0, np.nan, 4]], r"boxes\[0\]: box .* non-finite"),
        ([[[0, 0, 4, 4], [0, 0, 4]]], r"boxes\[0\]: expected \[x1, y1, x2, y2\]"),
        ([None, None], "boxes has 2 entries for 1 images"),
    ],
)
def test_bad_boxes_are_named(boxes, message):
    predictor = Predictor(DotBackend())
    with pytest.raises(ValueError, match=message):
        predictor.predict([dot_image(10, 10, 5, 5)], boxes)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((4, 4)), "got ndarray of shape"),
        ([np.zeros((4, 4, 4), np.uint8)], r"images\[0\]: expected an RGB image"),
        ([], "images is empty"),
    ],
)
def test_bad_images_are_named(images, message):
    with pytest.raises(ValueError, match=message):
        Predictor(DotBackend()).predict(images)


# ------------------------------------------------------------------------------- real model


def test_keras_predictor_on_real_images(predictor, mpii_images):
    spec = predictor.spec
    assert spec.format == "keras" and spec.skeleton == "mpii" and spec.layout is MPII
    assert spec.input_size == 32 and spec.heatmap_stride == 4
    assert spec.amplitude == 12.0 and spec.box_scale == 1.5
    assert spec.visibility_kind == "peak_over_amplitude"
    assert spec.pass_outputs == ("keypoints_0", "keypoints_1")
    result = predictor.predict(mpii_images, return_heatmaps=True)
    n, k = len(mpii_images), MPII.num_keypoints
    assert result.keypoints.shape == (n, k, 2) and result.confidence.shape == (n, k)
    assert np.isfinite(result.keypoints).all()
    assert np.all((0 <= result.visibility) & (result.visibility <= result.confidence))
    assert result.heatmaps["keypoints_1"].shape == (n, 8, 8, k)
    assert result.crops.shape == (n, 32, 32, 3) and result.crops.dtype == np.uint8
    # The keypoints are the decoded maps mapped back through the crop: recompute one.
    crop_points, _ = targets.decode_heatmaps(result.heatmaps["keypoints_1"][:1], 4)
    height, width = mpii_images[0].shape[:2]
    zoom = 32 / max(height, width)
    expected = (crop_points.numpy()[0] - 15.5) / zoom + [(width - 1) / 2, (height - 1) / 2]
    np.testing.assert_allclose(result.keypoints[0], expected, rtol=1e-4, atol=1e-2)


def test_keras_batches_give_the_same_result(model_path, mpii_images):
    one = Predictor.from_path(str(model_path), batch_size=1).predict(mpii_images[:3])
    three = Predictor.from_path(str(model_path), batch_size=3).predict(mpii_images[:3])
    np.testing.assert_allclose(one.keypoints, three.keypoints, atol=1e-3)
    np.testing.assert_allclose(one.confidence, three.confidence, atol=1e-5)


def test_load_backend_errors(model_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_backend(str(tmp_path / "missing.keras"))
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"expected a \.keras file"):
        load_backend(str(tmp_path / "model.pt"))
    (tmp_path / "model.onnx").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="tfpose_export.json"):
        load_backend(str(tmp_path / "model.onnx"))
    # A model that carries its run record needs nothing beside it; one saved without the
    # record (before it existed) needs its flags.json.
    carried = tmp_path / "carried.keras"
    shutil.copy(model_path, carried)
    assert load_backend(str(carried)).spec.input_size == 32
    alone = tmp_path / "alone.keras"
    with zipfile.ZipFile(model_path) as source, zipfile.ZipFile(alone, "w") as target:
        for info in source.infolist():
            if info.filename != RUN_ENTRY:
                target.writestr(info, source.read(info))
    with pytest.raises(FileNotFoundError, match="flags.json"):
        load_backend(str(alone))
    (tmp_path / "model.tflite").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="tfpose_export.json"):
        load_backend(str(tmp_path / "model.tflite"))
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(FileNotFoundError, match="not a SavedModel"):
        load_backend(str(tmp_path / "empty_dir"))


# ------------------------------------------------------------------------------- export formats


@pytest.fixture(scope="module")
def export_dir(model_path, tmp_path_factory):
    """The tiny model exported by tfpose.export (SavedModel + float TFLite)."""
    from tfpose.export.run import ExportConfig, export

    root = tmp_path_factory.mktemp("export") / "tiny"
    export(
        ExportConfig(
            model=str(model_path),
            output_dir=str(root),
            formats=("saved_model", "tflite_fp32"),
            validation_records=str(model_path.parent.parent / "records"),
            validation_split="val",
            max_validation_examples=4,
            check_parity=False,
        ),
        log=lambda *args: None,
    )
    return root


@pytest.mark.parametrize("artifact", ["tiny", os.path.join("tiny", "1"), "model_fp32.tflite"])
def test_export_backends_match_keras(artifact, export_dir, predictor, mpii_images):
    path = export_dir / artifact if artifact.endswith(".tflite") else export_dir.parent / artifact
    exported = Predictor.from_path(str(path), batch_size=2)
    assert exported.spec.amplitude == 12.0
    assert exported.spec.format == ("tflite" if artifact.endswith(".tflite") else "saved_model")
    expected = predictor.predict(mpii_images[:3], flip_test=True, return_heatmaps=True)
    result = exported.predict(mpii_images[:3], flip_test=True, return_heatmaps=True)
    output = exported.spec.prediction_output
    assert output == predictor.spec.prediction_output
    maps, reference = result.heatmaps[output], expected.heatmaps[output]
    np.testing.assert_allclose(maps, reference, atol=1e-4 * float(reference.max()))
    np.testing.assert_allclose(result.confidence, expected.confidence, atol=1e-4)
    # A two-step model's maps are nearly flat, so float rounding may move an argmax between
    # near-equal pixels; nearly every keypoint must still agree exactly.
    same = np.all(np.abs(result.keypoints - expected.keypoints) < 1e-2, axis=-1)
    assert same.mean() >= 0.9
