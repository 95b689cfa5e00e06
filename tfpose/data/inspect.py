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

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from tfpose.data import pipeline  # noqa: E402
from tfpose.data.transforms import denormalize_pixels  # noqa: E402
from tfpose.skeletons import SKELETONS, Skeleton, get_skeleton  # noqa: E402

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


def _upsample(maps: np.ndarray, size: int) -> np.ndarray:
    factor = size // maps.shape[0]
    return np.repeat(np.repeat(maps, factor, axis=0), factor, axis=1)


def draw_sheet(
    features: dict[str, np.ndarray],
    skeleton: Skeleton,
    config: pipeline.PipelineConfig,
    num_examples: int | None = None,
) -> plt.Figure:
    """A figure of one batch of pipeline outputs (numpy arrays keyed as in build_dataset)."""
    images = np.clip(denormalize_pixels(features["image"], config.normalization), 0, 255)
    images = np.asarray(images, np.uint8)
    count = len(images) if num_examples is None else min(num_examples, len(images))
    heads = config.target_names
    columns = 1 + 2 * len(heads)
    figure, axes = plt.subplots(count, columns, figsize=(2.2 * columns, 2.2 * count), squeeze=False)
    size = config.input_size
    for row in range(count):
        image = images[row]
        points = features["keypoints"][row]
        visibility = features["visibility"][row]
        shown = (visibility > 0) & features["in_crop"][row]
        ax = axes[row, 0]
        ax.imshow(image)
        for a, b in skeleton.limbs:
            if shown[a] and shown[b]:
                ax.plot(points[[a, b], 0], points[[a, b], 1], "-", color="yellow", lw=1)
        for k in np.flatnonzero(shown):
            filled = visibility[k] == 2
            ax.plot(
                points[k, 0],
                points[k, 1],
                "o",
                ms=4,
                mec="red",
                mfc="red" if filled else "none",
            )
        ax.set_title(features["image_id"][row].decode(errors="replace"), fontsize=7)
        for h, name in enumerate(heads):
            maps = features[f"heatmaps/{name}"][row]
            weights = features[f"weights/{name}"][row]
            ax = axes[row, 1 + 2 * h]
            ax.imshow(image)
            peak = maps.max(axis=-1)
            ax.imshow(
                _upsample(peak, size), cmap="magma", alpha=0.6, vmin=0, vmax=max(peak.max(), 1e-6)
            )
            ax.set_title(f"{name} max={maps.max():.2f}", fontsize=7)
            ax = axes[row, 2 + 2 * h]
            ax.imshow(image)
            ax.imshow(_upsample(weights.min(axis=-1), size), cmap="gray", alpha=0.6, vmin=0, vmax=1)
            zero = int((weights.reshape(-1, weights.shape[-1]).max(axis=0) == 0).sum())
            ax.set_title(f"{name} weights ({zero} ch. off)", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    figure.tight_layout()
    return figure


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
    figure = draw_sheet(features, skeleton, config)
    figure.savefig(output, dpi=100)
    plt.close(figure)
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
