"""Contact sheets: examples drawn with their annotations in a grid."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from tfpose import drawing, skeletons
from tfpose.data.example import NOT_ANNOTATED, OCCLUDED, VISIBLE, PoseExample
from tfpose.data.synthetic.config import SKELETON, SyntheticConfig
from tfpose.data.synthetic.examples import generate_examples


def draw_annotation(
    image: np.ndarray,
    keypoints: np.ndarray,
    visibility: np.ndarray,
    head_box: np.ndarray | None = None,
    skeleton: skeletons.Skeleton = SKELETON,
) -> np.ndarray:
    """Draws limbs, joints and the head box on a copy of a BGR image
    (:func:`tfpose.drawing.draw_skeleton`, :data:`~tfpose.drawing.ANNOTATION` style).

    Visible joints are filled discs, occluded joints hollow circles with a cross; joints that
    are not annotated are not drawn. Limbs take the colour of their side (person's left blue,
    right orange, middle green).
    """
    visibility = np.asarray(visibility)
    return drawing.draw_skeleton(
        image,
        keypoints,
        skeleton,
        visibility == VISIBLE,
        drawn=visibility != NOT_ANNOTATED,
        box=head_box,
        style=drawing.ANNOTATION,
    )


def contact_sheet(examples: Sequence[PoseExample], columns: int = 4) -> np.ndarray:
    """A BGR grid of the examples with their annotations and a legend line at the bottom."""
    if not examples:
        raise ValueError("contact_sheet needs at least one example")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    tiles = []
    for example in examples:
        image = cv2.imdecode(np.frombuffer(example.image_bytes, np.uint8), cv2.IMREAD_COLOR)
        tile = draw_annotation(image, example.keypoints, example.visibility, example.head_box)
        occluded = int((example.visibility == OCCLUDED).sum())
        outside = int((example.visibility == NOT_ANNOTATED).sum())
        label = f"{example.image_id.rsplit('-', 1)[-1].lstrip('0') or '0'}: occl {occluded}"
        if outside:
            label += f", out {outside}"
        drawing.text(tile, label, (4, 14), 0.4)
        tiles.append(tile)
    return drawing.tile_grid(
        tiles,
        columns,
        footer="person's left = blue, right = orange; filled = visible, hollow x = occluded; "
        "white box = head box",
    )


def write_contact_sheet(
    path: str,
    seed: int = 0,
    config: SyntheticConfig = SyntheticConfig(),  # noqa: B008
    num_examples: int = 16,
    columns: int = 4,
) -> str:
    """Writes a PNG grid of the first ``num_examples`` examples of ``seed`` to ``path``."""
    sheet = contact_sheet(list(generate_examples(num_examples, seed, config)), columns)
    if not cv2.imwrite(path, sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"could not write the contact sheet to {path!r}")
    return path
