"""Prediction over an image, a folder or a video, with every output of ``python -m tfpose.predict``.

Outputs in ``output_dir``:

* ``predictions.json`` — COCO keypoint results (:mod:`tfpose.inference.results`), one entry per
  person per image or video frame;
* ``skeleton.json`` — joint names (the order of the keypoints), limbs and the model's input spec;
* ``overlays/<name>.jpg`` — each image with its persons' skeletons
  (:func:`tfpose.drawing.draw_pose`);
* ``videos/<name>.mp4`` — each video with the skeletons drawn on every frame (``mp4v``);
* ``heatmaps/<name>[_<person>].jpg`` with ``heatmaps=True`` — the per-pass heatmap grid
  (:func:`tfpose.drawing.heatmap_grid`) of every person of every image, and of a video's first
  frame.

Files that cannot be read are reported on stderr by name, listed in the returned summary under
``skipped`` and left out; the run goes on.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import cv2
import numpy as np

from tfpose import drawing
from tfpose.inference import boxes as boxes_lib
from tfpose.inference import media, results
from tfpose.inference.predictor import PosePrediction, Predictor, normalize_scores
from tfpose.progress import Progress, write


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Options of a prediction run (the flags of ``python -m tfpose.predict``).

    Attributes:
      flip_test: average each crop's maps with its mirror's; None = the predictor's default
        (the setting recorded with the model, :class:`tfpose.inference.Predictor`).
      heatmaps: write the per-pass heatmap grids.
      box_mode: ``"region"`` (boxes are crop regions) or ``"person"`` (tight person boxes).
      visibility_threshold: joints at or above it are drawn as visible.
      overlay_max_side: shrink overlays to this longer side (0 = original size).
      jpeg_quality: JPEG quality of overlays and grids.
      progress: show the progress on stderr for folders and videos (a bar on a terminal,
        a line every 10 s elsewhere; :mod:`tfpose.progress`).
    """

    flip_test: bool | None = None
    heatmaps: bool = False
    box_mode: str = "region"
    visibility_threshold: float = drawing.DEFAULT_VISIBILITY_THRESHOLD
    overlay_max_side: int = 0
    jpeg_quality: int = 90
    progress: bool = True


def _report(message: str) -> None:
    write(message)  # above the progress bar, when one is drawn


class _Run:
    """State of one run: output folders, ids, collected results, skipped files."""

    def __init__(
        self,
        predictor: Predictor,
        input_path: str,
        output_dir: str,
        box_table: boxes_lib.BoxTable | None,
        options: RunOptions,
    ):
        self.predictor = predictor
        self.input_path = input_path
        self.output_dir = output_dir
        self.box_table = box_table or {}
        self.options = options
        self.entries: list[dict[str, Any]] = []
        self.skipped: list[dict[str, str]] = []
        self.outputs: list[str] = []
        self._stems: set[str] = set()
        self.frames = 0

    def output_stem(self, path: str) -> str:
        """A base name for the outputs of ``path``, unique within the run."""
        name = os.path.basename(path)
        stem, ext = os.path.splitext(name)
        if stem in self._stems:
            stem = f"{stem}_{ext.lstrip('.')}"
        self._stems.add(stem)
        return stem

    def boxes(self, path: str) -> list[np.ndarray] | None:
        return boxes_lib.boxes_for(self.box_table, path, self.input_path)

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append({"file": path, "reason": reason})
        _report(f"skipped {reason}")

    def predict(self, images: Sequence[np.ndarray], boxes: Sequence[Any]) -> PosePrediction:
        return self.predictor.predict(
            list(images),
            list(boxes),
            flip_test=self.options.flip_test,
            box_mode=self.options.box_mode,
            return_heatmaps=self.options.heatmaps,
        )

    def overlay(self, image_rgb: np.ndarray, persons: PosePrediction) -> np.ndarray:
        canvas = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
        for n in range(len(persons)):
            canvas = drawing.draw_pose(
                canvas,
                persons.keypoints[n],
                persons.confidence[n],
                persons.visibility[n],
                self.predictor.skeleton,
                box=persons.boxes[n],
                visibility_threshold=self.options.visibility_threshold,
            )
        return drawing.resize_to_max_side(canvas, self.options.overlay_max_side)

    def write_jpeg(self, path: str, image: np.ndarray) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, self.options.jpeg_quality]):
            raise OSError(f"could not write {path}")
        self.outputs.append(path)

    def write_grids(self, stem: str, persons: PosePrediction) -> None:
        spec = self.predictor.spec
        for n in range(len(persons)):
            # Maps as [0, 1] scores (peak / amplitude, or sigmoid of logits), one colour scale.
            maps = [
                (
                    name,
                    normalize_scores(
                        persons.heatmaps[name][n], spec.amplitude, spec.visibility_kind
                    ),
                )
                for name in spec.pass_outputs
            ]
            grid = drawing.heatmap_grid(persons.crops[n], maps, self.predictor.skeleton, 1.0)
            suffix = f"_{n}" if len(persons) > 1 else ""
            self.write_jpeg(os.path.join(self.output_dir, "heatmaps", f"{stem}{suffix}.jpg"), grid)

    def add_entries(
        self, image_id: int, persons: PosePrediction, file_name: str, frame: int | None = None
    ) -> None:
        for n in range(len(persons)):
            self.entries.append(
                results.coco_result(
                    image_id,
                    persons.keypoints[n],
                    persons.confidence[n],
                    persons.visibility[n],
                    persons.boxes[n],
                    file_name,
                    frame,
                )
            )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _display_name(path: str, input_path: str) -> str:
    if os.path.isdir(input_path):
        return os.path.relpath(path, input_path)
    return os.path.basename(path)


def _predict_images(run: _Run, paths: list[str], ids: dict[str, int]) -> None:
    progress = Progress(
        os.path.basename(os.path.normpath(run.input_path)) or run.input_path,
        len(paths),
        unit="images",
        enabled=run.options.progress and len(paths) > 1,
    )
    for chunk in _chunks(paths, run.predictor.batch_size):
        loaded = []
        for path in chunk:
            warnings: list[str] = []  # damaged data decoded anyway: one line per file
            try:
                loaded.append((path, media.read_image(path, warnings)))
                for warning in warnings:
                    _report(f"warning: {warning}")
            except media.UnreadableInputError as e:
                run.skip(path, str(e))
                progress.update()
        if not loaded:
            continue
        prediction = run.predict([image for _, image in loaded], [run.boxes(p) for p, _ in loaded])
        for index, (path, image) in enumerate(loaded):
            persons = prediction.for_image(index)
            stem = run.output_stem(path)
            run.write_jpeg(
                os.path.join(run.output_dir, "overlays", f"{stem}.jpg"), run.overlay(image, persons)
            )
            if run.options.heatmaps:
                run.write_grids(stem, persons)
            run.add_entries(ids[path], persons, _display_name(path, run.input_path))
            progress.update()
    progress.close()


def _predict_video(run: _Run, path: str, next_id: int) -> int:
    """Predicts every frame of a video; returns the next free image id."""
    try:
        reader = media.VideoReader(path)
    except media.UnreadableInputError as e:
        run.skip(path, str(e))
        return next_id
    stem = run.output_stem(path)
    out_path = os.path.join(run.output_dir, "videos", f"{stem}.mp4")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    boxes = run.boxes(path)
    name = _display_name(path, run.input_path)
    progress = Progress(name, reader.frame_count, unit="frames", enabled=run.options.progress)
    frame_index = 0
    with reader, media.VideoWriter(out_path, reader.fps) as writer:
        batch: list[np.ndarray] = []

        def flush() -> None:
            nonlocal frame_index, next_id
            prediction = run.predict(batch, [boxes] * len(batch))
            for index, frame in enumerate(batch):
                persons = prediction.for_image(index)
                writer.write(run.overlay(frame, persons))
                if run.options.heatmaps and frame_index == 0:
                    run.write_grids(stem, persons)
                run.add_entries(next_id, persons, name, frame_index)
                frame_index += 1
                next_id += 1
                progress.update()
            batch.clear()

        for frame in reader:
            batch.append(frame)
            if len(batch) == run.predictor.batch_size:
                flush()
        if batch:
            flush()
    progress.close()
    if frame_index == 0:
        if os.path.exists(out_path):
            os.remove(out_path)
        run.skip(path, f"{path}: no frame decodes")
    else:
        run.outputs.append(out_path)
        run.frames += frame_index
    return next_id


def skeleton_description(predictor: Predictor) -> dict[str, Any]:
    """Contents of ``skeleton.json``: joint order, limbs and the model's input conventions."""
    spec = predictor.spec
    skeleton = spec.layout
    return {
        "skeleton": skeleton.name,
        "joint_names": list(skeleton.joint_names),
        "limbs": [list(limb) for limb in skeleton.limbs],
        "flip_pairs": [list(pair) for pair in skeleton.flip_pairs],
        "model": spec.source,
        "format": spec.format,
        "input_size": spec.input_size,
        "heatmap_stride": spec.heatmap_stride,
        "crop_convention": spec.crop_convention,
        "box_scale": spec.box_scale,
        "amplitude": spec.amplitude,
        "visibility_kind": spec.visibility_kind,
    }


def predict_inputs(
    predictor: Predictor,
    input_path: str,
    output_dir: str,
    box_table: boxes_lib.BoxTable | None = None,
    options: RunOptions = RunOptions(),
) -> dict[str, Any]:
    """Predicts every person of an image, a folder of images/videos or a video; writes the
    outputs listed in the module docstring.

    Args:
      predictor: the model.
      input_path: an image, a video, or a folder of them (not recursive).
      output_dir: created if needed.
      box_table: person regions per file (:func:`tfpose.inference.boxes.load_boxes`); files
        without boxes are one person filling the image.
      options: see :class:`RunOptions`.

    Returns:
      Summary: ``images`` and ``frames`` predicted, ``persons`` (results written),
      ``skipped`` ([{"file", "reason"}]), ``unused_boxes`` (box-file names matching no input),
      ``predictions`` (path of predictions.json), ``outputs`` (files written), ``flip_test``
      (whether the flip test was used) and ``flip_test_source`` (where that setting came
      from: ``"--flip_test"`` / ``"--noflip_test"`` or the model's recorded setting).

    Raises:
      FileNotFoundError / ValueError: bad ``input_path`` or an invalid box.
    """
    paths = media.list_inputs(input_path)
    images = [p for p in paths if media.is_image(p)]
    videos = [p for p in paths if media.is_video(p)]
    run = _Run(predictor, input_path, output_dir, box_table, options)
    os.makedirs(output_dir, exist_ok=True)
    unused = boxes_lib.unused_names(run.box_table, paths, input_path)
    if unused:
        _report(f"warning: --boxes names no input file for {unused}")

    id_list = results.image_ids([_display_name(p, input_path) for p in images], not videos)
    ids = dict(zip(images, id_list, strict=True))
    if images:
        _predict_images(run, images, ids)
    next_id = max(id_list, default=-1) + 1
    for video in videos:
        next_id = _predict_video(run, video, next_id)

    predictions_path = os.path.join(output_dir, "predictions.json")
    results.write_coco_results(predictions_path, run.entries, predictor.skeleton.num_keypoints)
    with open(os.path.join(output_dir, "skeleton.json"), "w") as f:
        json.dump(skeleton_description(predictor), f, indent=2)
    predicted_images = len({e["file_name"] for e in run.entries if "frame" not in e})
    if options.flip_test is None:
        flip_test, flip_source = predictor.flip_test, predictor.flip_test_source
    else:
        flip_test = options.flip_test
        flip_source = "--flip_test" if flip_test else "--noflip_test"
    return {
        "images": predicted_images,
        "frames": run.frames,
        "persons": len(run.entries),
        "skipped": run.skipped,
        "unused_boxes": unused,
        "predictions": predictions_path,
        "outputs": run.outputs,
        "flip_test": bool(flip_test),
        "flip_test_source": flip_source,
    }
