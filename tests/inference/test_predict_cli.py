"""python -m tfpose.predict and the run behind it: real sample images, an unreadable file, boxes,
heatmap grids, COCO results, and a video round trip on a generated clip."""

import json
import os
import re
import shutil
import struct

import cv2
import numpy as np
import pytest

from tests.inference import run_predict
from tfpose.inference import runner
from tfpose.inference.predictor import Predictor
from tfpose.inference.results import validate_coco_results
from tfpose.skeletons import MPII


@pytest.fixture(scope="module")
def predictor(model_path):
    return Predictor.from_path(str(model_path), batch_size=4)


@pytest.fixture
def image_folder(shared_data, tmp_path):
    """The MPII sample images plus one truncated JPEG and one non-image with an image name."""
    folder = tmp_path / "images"
    shutil.copytree(shared_data / "samples" / "mpii", folder)
    (folder / "test_mpii.json").unlink()
    data = (folder / "004645041.jpg").read_bytes()
    (folder / "zz_truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "aa_text.png").write_text("not an image")
    return folder


def test_cli_on_a_folder_skips_unreadable_files(model_path, image_folder, tmp_path):
    out = tmp_path / "out"
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"004645041.jpg": [[600, 100, 1100, 719], [0, 0, 400, 400]]}))
    proc = run_predict(
        model_path, image_folder, out, f"--boxes={boxes}", "--heatmaps", "--overlay_max_side=320"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("zz_truncated.jpg", "aa_text.png"):
        assert name in proc.stderr and name in proc.stdout
    assert "6 persons in 5 images" in proc.stdout
    # Not a terminal: plain progress lines (tfpose.progress), the last one at the end.
    assert re.search(r"^images (\d+)/\1 \(.* images/s\) done in \S+$", proc.stderr, re.M)
    predictions = json.loads((out / "predictions.json").read_text())
    validate_coco_results(predictions, MPII.num_keypoints)
    assert [p["image_id"] for p in predictions] == [0, 0, 1, 2, 3, 4]  # names not all numbers
    assert predictions[0]["box"] == [600, 100, 1100, 719]
    assert sorted(os.listdir(out / "overlays")) == sorted(
        p.name for p in image_folder.glob("0*.jpg")
    )
    overlay = cv2.imread(str(out / "overlays" / "004645041.jpg"))
    assert max(overlay.shape[:2]) == 320
    grids = sorted(os.listdir(out / "heatmaps"))
    assert grids[:2] == ["004645041_0.jpg", "004645041_1.jpg"] and len(grids) == 6
    grid = cv2.imread(str(out / "heatmaps" / grids[0]))
    assert grid.shape[1] == 96 + 2 * (128 + 2)  # feed-forward + 1 recurrent pass
    skeleton = json.loads((out / "skeleton.json").read_text())
    assert skeleton["joint_names"] == list(MPII.joint_names)


def test_cli_reports_a_bad_box_by_entry(model_path, image_folder, tmp_path):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"004645041.jpg": [10, 10, 5, 50]}))
    proc = run_predict(model_path, image_folder, tmp_path / "out", f"--boxes={boxes}")
    assert proc.returncode == 1
    assert "boxes.json: entry '004645041.jpg': box [10, 10, 5, 50] needs x2 > x1" in proc.stderr


def _jpeg(seed: int, size: int = 64) -> bytes:
    image = np.random.default_rng(seed).integers(0, 255, (size, size, 3), np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def _damaged_but_decodable(data: bytes) -> bytes:
    """Garbage inside the entropy-coded data: libjpeg decodes it with "Corrupt JPEG data"."""
    return data[: len(data) // 2] + b"\x00\x11\x22" * 10 + data[len(data) // 2 :]


def test_cli_fails_when_no_input_can_be_read(model_path, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a_text.png").write_text("not an image")
    (folder / "b_truncated.jpg").write_bytes(_jpeg(0)[:300])
    (folder / "c_empty.jpg").write_bytes(b"")
    proc = run_predict(model_path, folder, tmp_path / "out")
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = [line.strip() for line in proc.stderr.replace("\r", "\n").splitlines()]
    for name in ("a_text.png", "b_truncated.jpg", "c_empty.jpg"):
        assert len([line for line in lines if name in line]) == 1, lines  # one line per file
    assert lines[-1].startswith("error: no input could be processed: 3 unreadable")
    assert "Corrupt JPEG" not in proc.stderr and "Premature end" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_damaged_jpeg_data_is_one_warning_not_decoder_noise(predictor, tmp_path, capfd):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jpg").write_bytes(_jpeg(1))
    (folder / "damaged.jpg").write_bytes(_damaged_but_decodable(_jpeg(2)))
    summary = runner.predict_inputs(
        predictor, str(folder), str(tmp_path / "out"), options=runner.RunOptions(progress=False)
    )
    assert summary["images"] == 2 and not summary["skipped"]  # decoded anyway, predicted
    err = capfd.readouterr().err
    lines = [line.strip() for line in err.replace("\r", "\n").splitlines() if line.strip()]
    # libjpeg prints "Corrupt JPEG data: ..." from C for each decode; none of it reaches stderr.
    assert not any(line.startswith("Corrupt JPEG data") for line in lines), lines
    (warning,) = [line for line in lines if "damaged.jpg" in line]
    assert warning.startswith("warning: ") and "damaged image data" in warning


def _with_exif_orientation(data: bytes, orientation: int) -> bytes:
    """A JPEG with an APP1 EXIF segment holding only the orientation tag."""
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\x00" * 4
    app1 = b"Exif\x00\x00" + tiff
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]


def test_an_image_is_decoded_once_and_upright(tmp_path, monkeypatch):
    """One decode (OpenCV's, which applies the EXIF orientation as photo viewers do), with the
    file checks of dataset images but without their TensorFlow decode."""
    import tensorflow as tf

    from tfpose.inference import media

    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :40] = 255
    path = tmp_path / "rotated.jpg"
    path.write_bytes(_with_exif_orientation(cv2.imencode(".jpg", image)[1].tobytes(), 6))

    def no_second_decode(*args, **kwargs):
        raise AssertionError("the image was decoded a second time")

    monkeypatch.setattr(tf.io, "decode_image", no_second_decode)
    decoded = media.read_image(str(path))
    assert decoded.shape == (80, 40, 3)  # orientation 6: turned 90 degrees clockwise
    (tmp_path / "cut.jpg").write_bytes(path.read_bytes()[:-200])
    with pytest.raises(media.UnreadableInputError, match="cut.jpg.*truncated"):
        media.read_image(str(tmp_path / "cut.jpg"))


def test_coco_images_keep_their_coco_ids(predictor, shared_data, tmp_path):
    folder = shared_data / "samples" / "coco"
    annotations = json.loads((folder / "test_coco.json").read_text())
    people = [a for a in annotations["annotations"] if a["num_keypoints"] > 0]
    by_image = {}
    for a in people:
        x, y, w, h = a["bbox"]
        name = next(i["file_name"] for i in annotations["images"] if i["id"] == a["image_id"])
        by_image.setdefault(name, []).append([x, y, x + w, y + h])
    summary = runner.predict_inputs(
        predictor,
        str(folder),
        str(tmp_path),
        by_image,
        runner.RunOptions(box_mode="person", progress=False),
    )
    predictions = json.loads((tmp_path / "predictions.json").read_text())
    validate_coco_results(predictions, MPII.num_keypoints)
    assert summary["persons"] == len(predictions) == len(people)
    ids = {i["id"] for i in annotations["images"]}
    assert {p["image_id"] for p in predictions} == ids


def _write_clip(path, frames=10, size=64):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (size, size))
    assert writer.isOpened()
    for i in range(frames):
        frame = np.full((size, size, 3), 40, np.uint8)
        cv2.circle(frame, (8 + 5 * i, 32), 6, (255, 255, 255), -1)
        writer.write(frame)
    writer.release()


def test_video_round_trip(predictor, tmp_path):
    clip = tmp_path / "clip.mp4"
    _write_clip(clip)
    summary = runner.predict_inputs(
        predictor,
        str(clip),
        str(tmp_path / "out"),
        options=runner.RunOptions(heatmaps=True, progress=False),
    )
    assert summary["frames"] == 10 and summary["persons"] == 10 and not summary["skipped"]
    annotated = tmp_path / "out" / "videos" / "clip.mp4"
    capture = cv2.VideoCapture(str(annotated))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    assert len(frames) == 10 and frames[0].shape == (64, 64, 3)
    assert fps == pytest.approx(10.0)  # the source clip's rate
    predictions = json.loads((tmp_path / "out" / "predictions.json").read_text())
    validate_coco_results(predictions, MPII.num_keypoints)
    assert [p["frame"] for p in predictions] == list(range(10))
    assert [p["image_id"] for p in predictions] == list(range(10))
    assert {p["file_name"] for p in predictions} == {"clip.mp4"}
    assert os.listdir(tmp_path / "out" / "heatmaps") == ["clip.jpg"]  # first frame's grid


def test_unreadable_video_is_skipped(predictor, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(b"not a video")
    _write_clip(folder / "good.mp4", frames=3)
    summary = runner.predict_inputs(
        predictor, str(folder), str(tmp_path / "out"), options=runner.RunOptions(progress=False)
    )
    assert summary["frames"] == 3
    assert [s["file"] for s in summary["skipped"]] == [str(folder / "broken.mp4")]
