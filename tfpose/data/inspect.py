r"""Draws a contact sheet of pipeline outputs, to see what the network is trained on.

Example::

    python -m tfpose.data.inspect --records=runs/lspet_records --output=sheet.png --augment \
        --config=belagiannis --num_examples=6

One row per example: the crop with its keypoints (visible joints filled, occluded hollow, joints
outside the crop omitted) and skeleton limbs, then for each target head the maximum over its
channels overlaid on the crop, then the head's weights (minimum over channels: dark where some
channel gets no gradient).

TensorFlow's start-up messages are hidden; -v 0 shows them.
"""

from __future__ import annotations

import cv2
import numpy as np
from absl import app, flags

from tfpose import drawing
from tfpose.data import pipeline
from tfpose.data.example import NOT_ANNOTATED, VISIBLE
from tfpose.data.transforms import denormalize_pixels
from tfpose.skeletons import SKELETONS, Skeleton, get_skeleton

flags.declare_key_flag("verbosity")  # listed by --help: -v 0 shows TensorFlow's messages

_RECORDS = flags.DEFINE_string("records", None, "Manifest directory or TFRecord files/patterns.")
_OUTPUT = flags.DEFINE_string("output", "sheet.png", "Where to write the PNG.")
_AUGMENT = flags.DEFINE_boolean("augment", False, "Show training crops (random augmentation).")
_CONFIG = flags.DEFINE_enum("config", "belagiannis", sorted(pipeline.CONFIGS), "Preset.")
_SPLIT = flags.DEFINE_string("split", "train", "Manifest split.")
_SKELETON = flags.DEFINE_enum(
    "skeleton", None, sorted(SKELETONS), "Records' skeleton when --records names no manifest."
)
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 6, "Rows of the sheet.")
_SEED = flags.DEFINE_integer("seed", 0, "Augmentation seed.")

_LEGEND = (
    "filled = visible, hollow x = occluded; maps: max over channels; weights: min over "
    "channels (dark = no gradient)"
)


def _titled(tile: np.ndarray, title: str) -> np.ndarray:
    drawing.text(tile, title, (4, 14), 0.4)
    return tile


def draw_sheet(
    features: dict[str, np.ndarray],
    skeleton: Skeleton,
    config: pipeline.PipelineConfig,
    num_examples: int | None = None,
) -> np.ndarray:
    """A BGR sheet of one batch of pipeline outputs (numpy arrays keyed as in build_dataset),
    drawn with :mod:`tfpose.drawing`: per row the annotated crop, then per target head its maps
    and its weights over the crop."""
    images = np.clip(denormalize_pixels(features["image"], config.normalization), 0, 255)
    images = np.asarray(images, np.uint8)
    count = len(images) if num_examples is None else min(num_examples, len(images))
    heads = config.target_names
    tiles = []
    for row in range(count):
        crop = cv2.cvtColor(images[row], cv2.COLOR_RGB2BGR)
        visibility = features["visibility"][row]
        shown = (visibility != NOT_ANNOTATED) & features["in_crop"][row]
        annotated = drawing.draw_skeleton(
            crop,
            features["keypoints"][row],
            skeleton,
            visibility == VISIBLE,
            drawn=shown,
            style=drawing.ANNOTATION,
        )
        title = features["image_id"][row].decode(errors="replace")
        tiles.append(_titled(annotated, title))
        for name in heads:
            maps = features[f"heatmaps/{name}"][row]
            weights = features[f"weights/{name}"][row]
            peak = maps.max(axis=-1)
            heat = drawing.overlay_heatmap(crop, peak, max(float(peak.max()), 1e-6))
            tiles.append(_titled(heat, f"{name} max={maps.max():.2f}"))
            shade = drawing.overlay_heatmap(
                crop, weights.min(axis=-1), 1.0, dim=1.0, colormap=None, opacity=0.6
            )
            zero = int((weights.reshape(-1, weights.shape[-1]).max(axis=0) == 0).sum())
            tiles.append(_titled(shade, f"{name} weights ({zero} ch. off)"))
    return drawing.tile_grid(tiles, 1 + 2 * len(heads), footer=_LEGEND)


def write_sheet(
    records: str,
    output: str,
    *,
    config_name: str = "belagiannis",
    augment: bool = False,
    split: str = "train",
    skeleton: Skeleton | None = None,
    num_examples: int = 6,
    seed: int = 0,
) -> str:
    """Runs the pipeline on ``records`` and writes one batch as a contact sheet PNG."""
    files, manifest_skeleton = pipeline.resolve_records(records, split)
    skeleton = manifest_skeleton or skeleton
    if skeleton is None:
        raise ValueError("records: no manifest named; pass the records' skeleton (--skeleton)")
    config = pipeline.CONFIGS[config_name](skeleton)
    dataset = pipeline.build_dataset(
        files,
        skeleton,
        config,
        training=augment,
        batch_size=num_examples,
        seed=seed,
        deterministic=True,
        repeat=False,
        drop_remainder=False,
    )
    features = {k: v.numpy() for k, v in next(iter(dataset)).items()}
    if not cv2.imwrite(output, draw_sheet(features, skeleton, config)):
        raise OSError(f"could not write the sheet to {output!r}")
    return output


def main(argv: list[str]) -> None:
    del argv
    if not _RECORDS.value:
        raise app.UsageError("--records is required")
    skeleton = get_skeleton(_SKELETON.value) if _SKELETON.value else None
    path = write_sheet(
        _RECORDS.value,
        _OUTPUT.value,
        config_name=_CONFIG.value,
        augment=_AUGMENT.value,
        split=_SPLIT.value,
        skeleton=skeleton,
        num_examples=_NUM_EXAMPLES.value,
        seed=_SEED.value,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    app.run(main)
