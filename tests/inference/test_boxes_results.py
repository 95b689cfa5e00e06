"""The --boxes file schema, COCO results entries and their check, image ids, media listing."""

import json

import numpy as np
import pytest

from tfpose.inference import boxes, media, results


def test_parse_boxes_both_forms():
    table = boxes.parse_boxes({"a.jpg": [0, 0, 10, 20], "b.jpg": [[0, 0, 5, 5], [1, 1, 9, 9]]})
    assert [len(v) for v in table.values()] == [1, 2]
    np.testing.assert_allclose(table["a.jpg"][0], [0, 0, 10, 20])
    listed = boxes.parse_boxes(
        [{"image": "a.jpg", "box": [0, 0, 10, 20]}, {"image": "a.jpg", "box": [1, 1, 2, 2]}]
    )
    assert len(listed["a.jpg"]) == 2


@pytest.mark.parametrize(
    "content, message",
    [
        ({"a.jpg": [0, 0, 10]}, r"entry 'a.jpg': a box must be 4 numbers"),
        ({"a.jpg": [[0, 0, 1, 1], [5, 5, 1, 1]]}, r"entry 'a.jpg'\[1\]: box .* x2 > x1"),
        ([{"image": "a.jpg"}], r"entry 0 must be an object"),
        ([{"image": "a.jpg", "box": "x"}], r"entry 0 \('a.jpg'\): a box must be 4 numbers"),
        ("a.jpg", "expected an object"),
    ],
)
def test_bad_boxes_name_the_entry(content, message):
    with pytest.raises(ValueError, match=message):
        boxes.parse_boxes(content, "boxes.json")


def test_load_boxes_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        boxes.load_boxes(str(tmp_path / "none.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        boxes.load_boxes(str(tmp_path / "bad.json"))


def test_boxes_for_matches_relative_then_base_name(tmp_path):
    table = boxes.parse_boxes({"sub/a.jpg": [0, 0, 1, 1], "b.jpg": [0, 0, 2, 2]})
    assert boxes.boxes_for(table, str(tmp_path / "sub" / "a.jpg"), str(tmp_path)) is not None
    assert boxes.boxes_for(table, str(tmp_path / "x" / "b.jpg"), str(tmp_path)) is not None
    assert boxes.boxes_for(table, str(tmp_path / "c.jpg"), str(tmp_path)) is None
    assert boxes.unused_names(table, [str(tmp_path / "b.jpg")], str(tmp_path)) == ["sub/a.jpg"]


def test_coco_result_validates_and_round_trips():
    entry = results.coco_result(
        785, np.ones((17, 2)), np.full(17, 0.5), np.zeros(17), np.array([0, 0, 5, 5]), "a.jpg", 3
    )
    parsed = json.loads(json.dumps([entry]))
    results.validate_coco_results(parsed, 17)
    assert parsed[0]["keypoints"][:3] == [1.0, 1.0, 0.5] and parsed[0]["score"] == 0.5
    assert parsed[0]["category_id"] == 1 and parsed[0]["frame"] == 3


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda e: e.pop("score"), "missing 'score'"),
        (lambda e: e.update(image_id="785"), "'image_id' must be an integer"),
        (lambda e: e.update(keypoints=e["keypoints"][:-1]), "list of 3 x 17 numbers"),
        (lambda e: e["keypoints"].__setitem__(0, float("nan")), "non-finite"),
        (lambda e: e.update(score=None), "'score' must be a finite number"),
    ],
)
def test_validate_coco_results_rejects(mutate, message):
    entry = results.coco_result(
        1, np.ones((17, 2)), np.ones(17), np.ones(17), np.array([0, 0, 1, 1]), "a.jpg"
    )
    mutate(entry)
    with pytest.raises(ValueError, match=message):
        results.validate_coco_results([entry], 17)
    with pytest.raises(ValueError, match="must be a JSON list"):
        results.validate_coco_results({}, 17)


def test_image_ids():
    assert results.image_ids(["000000000785.jpg", "sub/42.png"], True) == [785, 42]
    assert results.image_ids(["7.jpg", "a.jpg"], True) == [0, 1]
    assert results.image_ids(["1.jpg", "01.png"], True) == [0, 1]  # not distinct
    assert results.image_ids(["1.jpg"], False) == [0]
    # Several persons of one image (evaluate's records) share its id.
    assert results.image_ids(["785.jpg", "9.jpg", "785.jpg"]) == [785, 9, 785]
    assert results.image_ids(["b.jpg", "a.jpg", "b.jpg"]) == [0, 1, 0]


def test_write_coco_results_checks_before_writing(tmp_path):
    entry = results.coco_result(3, np.ones((17, 2)), np.ones(17), person_index=0, decimals=None)
    path = results.write_coco_results(tmp_path / "ok.json", [entry], 17)
    assert json.loads(path.read_text()) == [entry]
    with pytest.raises(ValueError, match="'image_id' must be an integer"):
        results.write_coco_results(tmp_path / "bad.json", [{**entry, "image_id": "3.jpg"}], 17)
    assert not (tmp_path / "bad.json").exists()


def test_list_inputs(tmp_path):
    for name in ("b.jpg", "a.PNG", "c.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.rsplit("/", 1)[-1] for p in media.list_inputs(str(tmp_path))] == [
        "a.PNG",
        "b.jpg",
        "c.mp4",
    ]
    with pytest.raises(ValueError, match="not an image"):
        media.list_inputs(str(tmp_path / "notes.txt"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        media.list_inputs(str(tmp_path / "missing.jpg"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no image"):
        media.list_inputs(str(tmp_path / "empty"))


def test_unreadable_files_are_named(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "broken.bmp").write_bytes(b"BM123")
    (tmp_path / "clip.mp4").write_bytes(b"not a video")
    for name, message in [
        ("empty.jpg", "empty"),
        ("text.png", "not a JPEG or PNG"),
        ("broken.bmp", "decode"),
    ]:
        with pytest.raises(media.UnreadableInputError, match=name + ".*" + message):
            media.read_image(str(tmp_path / name))
    with pytest.raises(media.UnreadableInputError, match="clip.mp4"):
        media.VideoReader(str(tmp_path / "clip.mp4"))
