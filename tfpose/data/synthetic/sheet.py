"""Contact sheets: examples drawn with their annotations in a grid."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from tfpose import skeletons
from tfpose.data.example import NOT_ANNOTATED, OCCLUDED, VISIBLE, PoseExample
from tfpose.data.synthetic.config import SKELETON, SyntheticConfig
from tfpose.data.synthetic.examples import generate_examples
from tfpose.data.synthetic.render import _fixed

# BGR: the person's left in blue, right in orange, the middle of the body in green.
_SIDE_COLORS = {"left": (255, 140, 30), "right": (30, 120, 255), "middle": (60, 220, 60)}


def _joint_side(name: str) -> str:
    return name.split("_")[0] if name.startswith(("left_", "right_")) else "middle"


def draw_annotation(
    image: np.ndarray,
    keypoints: np.ndarray,
    visibility: np.ndarray,
    head_box: np.ndarray | None = None,
    skeleton: skeletons.Skeleton = SKELETON,
) -> np.ndarray:
    """Draws limbs, joints and the head box on a copy of a BGR image.

    Visible joints are filled discs, occluded joints hollow circles with a cross; joints that
    are not annotated are not drawn. Limbs take the colour of their side (person's left blue,
    right orange, middle green).
    """
    canvas = image.copy()
    if head_box is not None:
        x1, y1, x2, y2 = _fixed(head_box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (255, 255, 255), 1, cv2.LINE_AA, 4)
    points = _fixed(keypoints)
    for a, b in skeleton.limbs:
        if visibility[a] == NOT_ANNOTATED or visibility[b] == NOT_ANNOTATED:
            continue
        names = (skeleton.joint_names[a], skeleton.joint_names[b])
        sides = {_joint_side(n) for n in names} - {"middle"}
        color = _SIDE_COLORS[sides.pop() if len(sides) == 1 else "middle"]
        cv2.line(canvas, tuple(points[a]), tuple(points[b]), color, 1, cv2.LINE_AA, 4)
    for k, name in enumerate(skeleton.joint_names):
        if visibility[k] == NOT_ANNOTATED:
            continue
        color = _SIDE_COLORS[_joint_side(name)]
        center = tuple(points[k])
        if visibility[k] == VISIBLE:
            cv2.circle(canvas, center, 2 * 16 + 8, color, -1, cv2.LINE_AA, 4)
            cv2.circle(canvas, center, 2 * 16 + 8, (0, 0, 0), 1, cv2.LINE_AA, 4)
        else:
            cv2.circle(canvas, center, 4 * 16, (255, 255, 255), 1, cv2.LINE_AA, 4)
            d = 2 * 16 + 8
            x, y = center
            cv2.line(canvas, (x - d, y - d), (x + d, y + d), color, 1, cv2.LINE_AA, 4)
            cv2.line(canvas, (x - d, y + d), (x + d, y - d), color, 1, cv2.LINE_AA, 4)
    return canvas


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
        cv2.putText(tile, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(
            tile, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA
        )
        tiles.append(tile)
    height, width = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    gap = 2
    legend = 22
    sheet = np.full(
        (rows * (height + gap) + legend, columns * (width + gap) - gap, 3), 255, np.uint8
    )
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = r * (height + gap), c * (width + gap)
        sheet[y : y + tile.shape[0], x : x + tile.shape[1]] = tile[:height, :width]
    text = (
        "person's left = blue, right = orange; filled = visible, hollow x = occluded; "
        "white box = head box"
    )
    cv2.putText(
        sheet,
        text,
        (6, sheet.shape[0] - 7),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    return sheet


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
