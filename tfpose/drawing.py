"""Pictures of poses and heatmaps (BGR, OpenCV): the one drawer behind ``python -m
tfpose.predict`` (overlays, heatmap grids; the README gallery is its output), the synthetic
contact sheet (``docs/synthetic_samples.png``), the pipeline sheet of ``python -m
tfpose.data.inspect`` and training's TensorBoard images.

Skeletons (:func:`draw_skeleton`; :func:`draw_pose` is a prediction's overlay): a joint shown
as visible is a filled disc, any other a hollow circle with a cross; the look is a
:class:`SkeletonStyle`:

* :data:`PREDICTION` (predict's overlays): every limb has its own colour (a hue wheel over
  ``skeleton.limbs``), a solid line when both its joints are visible, a thin dashed line
  otherwise; white joints; line widths and radii grow with the image; each joint may carry a
  label (its confidence in percent) and the person's region is a thin grey box.
* :data:`ANNOTATION` (the contact sheets): limbs and joints take the colour of their side
  (person's left blue, right orange, middle green), thin solid limbs, small fixed radii, the
  head box in white.

Heatmaps: :func:`overlay_heatmap` lays one map over an image on a fixed colour scale (the
map's value is also its opacity); :func:`heatmap_grid` shows every pass of the recurrent
network for one person (feed-forward, pass 1, …; rows for all joints and for selected joints),
so the sharpening of the maps from pass to pass (Belagiannis & Zisserman, Fig. 2) is visible;
:func:`heatmap_strips` puts predicted and target maps side by side for TensorBoard.

Sheets: :func:`tile_grid` lays tiles out in rows with a legend line below.

This module depends on numpy, OpenCV and :mod:`tfpose.skeletons` only, so every layer can draw
with it. Shape legend: K keypoints, S crop side, H × W heatmap; points (x, y) in pixels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np

from tfpose.skeletons import Skeleton

DEFAULT_VISIBILITY_THRESHOLD = 0.5
# Joints shown in their own rows of the heatmap grid when present: the extremities, which
# profit most from context.
DEFAULT_GRID_JOINTS = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")
FONT = cv2.FONT_HERSHEY_SIMPLEX
_SHIFT = 4  # sub-pixel bits for OpenCV drawing
_GREY = (170, 170, 170)
_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)
# BGR: the person's left in blue, right in orange, the middle of the body in green.
SIDE_COLORS = {"left": (255, 140, 30), "right": (30, 120, 255), "middle": (60, 220, 60)}


@dataclasses.dataclass(frozen=True)
class SkeletonStyle:
    """How :func:`draw_skeleton` draws.

    Attributes:
      limb_colors: ``"hue"`` (one colour per limb, :func:`limb_colors`) or ``"side"``
        (:data:`SIDE_COLORS` by the side of the body the limb is on).
      joint_colors: fill of visible joints and colour of the crosses of the others:
        ``"white"`` or ``"side"``.
      thickness: limb width in pixels; None: 2 per 480 pixels of the image's longer side.
      radius: joint radius in pixels; None: 3.5 per 480 pixels of the longer side (at least 2).
      hidden_radius: radius of the hollow circle of a joint not shown as visible; None: radius.
      cross: half size of that joint's cross, in units of ``radius``.
      dash_hidden_limbs: a limb with an end not visible is a thin dashed line (else solid).
      box_color: colour of the box (the person's region, the head box).
    """

    limb_colors: str = "hue"
    joint_colors: str = "white"
    thickness: int | None = None
    radius: float | None = None
    hidden_radius: float | None = None
    cross: float = 0.7
    dash_hidden_limbs: bool = True
    box_color: tuple[int, int, int] = _GREY


PREDICTION = SkeletonStyle()
ANNOTATION = SkeletonStyle(
    limb_colors="side",
    joint_colors="side",
    thickness=1,
    radius=2.5,
    hidden_radius=4.0,
    cross=1.0,
    dash_hidden_limbs=False,
    box_color=_WHITE,
)


def limb_colors(num_limbs: int) -> list[tuple[int, int, int]]:
    """One saturated BGR colour per limb, evenly spaced in hue."""
    hues = np.linspace(0, 180, num_limbs, endpoint=False).astype(np.uint8)
    hsv = np.stack([hues, np.full_like(hues, 230), np.full_like(hues, 255)], -1)[None]
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]
    return [tuple(int(c) for c in color) for color in bgr]


def joint_side(name: str) -> str:
    """``"left"``, ``"right"`` or ``"middle"`` from a joint name."""
    return name.split("_")[0] if name.startswith(("left_", "right_")) else "middle"


def side_colors(skeleton: Skeleton) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """(per limb, per joint) colours of :data:`SIDE_COLORS`; a limb joining the middle to one
    side takes that side's colour."""
    joints = [SIDE_COLORS[joint_side(name)] for name in skeleton.joint_names]
    limbs = []
    for a, b in skeleton.limbs:
        sides = {joint_side(skeleton.joint_names[k]) for k in (a, b)} - {"middle"}
        limbs.append(SIDE_COLORS[sides.pop() if len(sides) == 1 else "middle"])
    return limbs, joints


def _fixed(point) -> tuple[int, int]:
    return tuple(int(round(float(v) * (1 << _SHIFT))) for v in point)


def _dashed_line(canvas, start, end, color, thickness: int, dash: float) -> None:
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    length = float(np.linalg.norm(end - start))
    steps = max(1, int(length // dash))
    for i in range(0, steps, 2):
        a = start + (end - start) * (i / steps)
        b = start + (end - start) * (min(i + 1, steps) / steps)
        cv2.line(canvas, _fixed(a), _fixed(b), color, thickness, cv2.LINE_AA, _SHIFT)


def _line(canvas, a, b, color, thickness: int) -> None:
    cv2.line(canvas, _fixed(a), _fixed(b), color, thickness, cv2.LINE_AA, _SHIFT)


def text(canvas: np.ndarray, label: str, origin, size: float, color=_WHITE) -> None:
    """Writes ``label`` in place, outlined in black so that it reads on any background."""
    origin = tuple(int(v) for v in origin)
    thickness = max(1, int(round(size * 2)))
    cv2.putText(canvas, label, origin, FONT, size, _BLACK, thickness + 2, cv2.LINE_AA)
    cv2.putText(canvas, label, origin, FONT, size, color, thickness, cv2.LINE_AA)


def draw_skeleton(
    image: np.ndarray,
    keypoints: np.ndarray,
    skeleton: Skeleton,
    visible: np.ndarray,
    *,
    drawn: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    box: np.ndarray | None = None,
    box_label: str | None = None,
    style: SkeletonStyle = PREDICTION,
) -> np.ndarray:
    """Draws one person's skeleton on a copy of ``image``.

    Args:
      image: uint8 BGR [H, W, 3].
      keypoints: [K, 2] (x, y) image pixels.
      skeleton: joint names and limbs.
      visible: bool [K], joints drawn as visible (the others hollow with a cross).
      drawn: bool [K], joints drawn at all (default all); limbs need both ends drawn.
      labels: K texts written beside the joints (e.g. confidences).
      box: optional [4] (x1, y1, x2, y2) drawn as a thin box (the person's region, a head box).
      box_label: written above the box.
      style: see :class:`SkeletonStyle`.

    Returns:
      uint8 BGR [H, W, 3].
    """
    canvas = np.ascontiguousarray(image).copy()
    height, width = canvas.shape[:2]
    unit = max(height, width) / 480.0  # line widths and radii grow with the image
    thickness = style.thickness or max(1, int(round(2 * unit)))
    radius = style.radius or max(2.0, 3.5 * unit)
    hidden_radius = style.hidden_radius or radius
    visible = np.asarray(visible, bool)
    drawn = np.ones_like(visible) if drawn is None else np.asarray(drawn, bool)
    keypoints = np.asarray(keypoints, np.float64)
    if style.limb_colors == "side" or style.joint_colors == "side":
        side_limbs, side_joints = side_colors(skeleton)
    limb_palette = side_limbs if style.limb_colors == "side" else limb_colors(skeleton.num_limbs)
    if box is not None:
        x1, y1, x2, y2 = np.asarray(box, np.float64)
        cv2.rectangle(
            canvas, _fixed((x1, y1)), _fixed((x2, y2)), style.box_color, 1, cv2.LINE_AA, _SHIFT
        )
        if box_label is not None:
            text(canvas, box_label, (max(x1, 2), max(y1 - 4, 12 * unit)), 0.4 * unit)
    for (a, b), color in zip(skeleton.limbs, limb_palette, strict=True):
        if not (drawn[a] and drawn[b]):
            continue
        if (visible[a] and visible[b]) or not style.dash_hidden_limbs:
            _line(canvas, keypoints[a], keypoints[b], color, thickness)
        else:
            _dashed_line(canvas, keypoints[a], keypoints[b], color, 1, dash=6 * unit)
    scaled = int(round(radius * (1 << _SHIFT)))
    hidden_scaled = int(round(hidden_radius * (1 << _SHIFT)))
    for k in range(skeleton.num_keypoints):
        if not drawn[k]:
            continue
        color = side_joints[k] if style.joint_colors == "side" else _WHITE
        center = _fixed(keypoints[k])
        if visible[k]:
            cv2.circle(canvas, center, scaled, color, -1, cv2.LINE_AA, _SHIFT)
            cv2.circle(canvas, center, scaled, _BLACK, 1, cv2.LINE_AA, _SHIFT)
        else:
            cv2.circle(canvas, center, hidden_scaled, _WHITE, 1, cv2.LINE_AA, _SHIFT)
            d = radius * style.cross
            x, y = keypoints[k]
            _line(canvas, (x - d, y + d), (x + d, y - d), color, 1)
            _line(canvas, (x - d, y - d), (x + d, y + d), color, 1)
        if labels is not None:
            origin = (keypoints[k, 0] + radius + 1, keypoints[k, 1] - radius)
            text(canvas, labels[k], origin, 0.33 * unit)
    return canvas


def draw_pose(
    image: np.ndarray,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    visibility: np.ndarray,
    skeleton: Skeleton,
    *,
    box: np.ndarray | None = None,
    visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD,
    show_confidence: bool = True,
) -> np.ndarray:
    """Draws one predicted person on a copy of ``image`` (:data:`PREDICTION` style).

    Args:
      image: uint8 BGR [H, W, 3].
      keypoints: [K, 2] (x, y) image pixels.
      confidence: [K] in [0, 1].
      visibility: [K] in [0, 1].
      skeleton: joint names and limbs.
      box: optional region [4] (x1, y1, x2, y2) drawn as a thin grey box, with the mean
        confidence above it.
      visibility_threshold: joints at or above it are drawn as visible.
      show_confidence: write each joint's confidence (percent) beside it.

    Returns:
      uint8 BGR [H, W, 3].
    """
    labels = None
    if show_confidence:
        labels = [f"{100 * float(c):.0f}" for c in np.asarray(confidence)]
    return draw_skeleton(
        image,
        keypoints,
        skeleton,
        np.asarray(visibility) >= visibility_threshold,
        labels=labels,
        box=box,
        box_label=None if box is None else f"mean conf {float(np.mean(confidence)):.2f}",
        style=PREDICTION,
    )


def legend(width: int, visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD) -> np.ndarray:
    """A white BGR strip [20, width, 3] explaining the overlay's marks."""
    strip = np.full((20, width, 3), 255, np.uint8)
    label = (
        f"filled: visibility >= {visibility_threshold:g}; hollow x: occluded/unsure; "
        "numbers: confidence %; dashed limb: an end not visible"
    )
    cv2.putText(strip, label, (4, 14), FONT, 0.38, _BLACK, 1, cv2.LINE_AA)
    return strip


def resize_to_max_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrinks ``image`` so that its longer side is at most ``max_side`` (0 = unchanged)."""
    height, width = image.shape[:2]
    if max_side <= 0 or max(height, width) <= max_side:
        return image
    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def overlay_heatmap(
    image: np.ndarray,
    values: np.ndarray,
    amplitude: float,
    *,
    dim: float = 0.5,
    colormap: int | None = cv2.COLORMAP_JET,
    opacity: float | None = None,
) -> np.ndarray:
    """One map over an image: the map on the scale [0, amplitude], coloured, over the image
    darkened by ``dim``.

    Args:
      image: uint8 BGR [S, S', 3]; the map is resized to it (bilinear).
      values: [H, W].
      amplitude: the value shown at full colour.
      dim: the image's brightness under the map.
      colormap: an OpenCV colour map; None: grey levels.
      opacity: the map's opacity; None: its scaled value (an empty map shows the image).

    Returns:
      uint8 BGR like ``image``.
    """
    height, width = image.shape[:2]
    background = (dim * image).astype(np.float32)
    scaled = np.clip(np.asarray(values, np.float32) / float(amplitude), 0.0, 1.0)
    resized = cv2.resize(scaled, (width, height), interpolation=cv2.INTER_LINEAR)
    levels = np.uint8(255 * resized)
    if colormap is None:
        colored = cv2.cvtColor(levels, cv2.COLOR_GRAY2BGR)
    else:
        colored = cv2.applyColorMap(levels, colormap)
    alpha = resized[..., None] if opacity is None else np.float32(opacity)
    cell = background * (1 - alpha) + colored.astype(np.float32) * alpha
    return np.clip(cell, 0, 255).astype(np.uint8)


def _pass_label(name: str, index: int, count: int) -> str:
    if count == 1:
        return "prediction"
    return "feed-forward" if index == 0 else f"pass {index}"


def heatmap_grid(
    crop: np.ndarray,
    pass_maps: Sequence[tuple[str, np.ndarray]],
    skeleton: Skeleton,
    amplitude: float,
    *,
    joints: Sequence[str] | None = None,
    cell_size: int = 128,
) -> np.ndarray:
    """The maps of every pass for one person, on the crop, as a BGR grid.

    One column per pass, one row for all joints (maximum over channels) and one per selected
    joint; each cell is :func:`overlay_heatmap` on the crop, on a common colour scale (0 to
    ``amplitude``), with the cell's peak written in it.

    Args:
      crop: uint8 RGB [S, S, 3], what the network saw.
      pass_maps: (output name, maps [H, W, K]) per pass, in order.
      skeleton: joint names of the channels.
      amplitude: the training target's peak; maps are shown on the scale [0, amplitude].
      joints: joint names with a row of their own (default: the wrists and ankles the skeleton
        has); the first row is always the maximum over all joints.
      cell_size: side of a cell in pixels.

    Returns:
      uint8 BGR [rows · cell + header, columns · cell + label column, 3].
    """
    if not pass_maps:
        raise ValueError("heatmap_grid needs the maps of at least one pass")
    if joints is None:
        joints = [j for j in DEFAULT_GRID_JOINTS if j in skeleton.joint_names]
    rows = [("all joints", None)] + [(name, skeleton.index(name)) for name in joints]
    background = cv2.cvtColor(
        cv2.resize(crop, (cell_size, cell_size), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR
    )
    header, label_width, gap = 22, 96, 2
    grid = np.full(
        (
            header + len(rows) * (cell_size + gap),
            label_width + len(pass_maps) * (cell_size + gap),
            3,
        ),
        255,
        np.uint8,
    )
    for c, (name, maps) in enumerate(pass_maps):
        x = label_width + c * (cell_size + gap)
        label = _pass_label(name, c, len(pass_maps))
        cv2.putText(grid, label, (x + 4, 15), FONT, 0.45, _BLACK, 1, cv2.LINE_AA)
        for r, (_, channel) in enumerate(rows):
            values = maps.max(axis=-1) if channel is None else maps[..., channel]
            y = header + r * (cell_size + gap)
            grid[y : y + cell_size, x : x + cell_size] = overlay_heatmap(
                background, values, amplitude
            )
            peak = np.clip(np.asarray(values, np.float32) / float(amplitude), 0.0, 1.0).max()
            text(grid, f"peak {float(peak):.2f}", (x + 3, y + cell_size - 5), 0.35)
    for r, (label, _) in enumerate(rows):
        y = header + r * (cell_size + gap) + cell_size // 2
        cv2.putText(grid, label, (4, y), FONT, 0.38, _BLACK, 1, cv2.LINE_AA)
    return grid


def heatmap_strips(panels: Sequence[np.ndarray | None], count: int = 4) -> np.ndarray:
    """Maps side by side for TensorBoard: for the first ``count`` examples, the maximum over
    channels of each panel (e.g. predicted, target), each panel scaled to [0, 1] by its own
    maximum.

    Args:
      panels: maps [N, H, W, C] each, all of one size; None entries are left out.

    Returns:
      float [min(N, count), H, W · panels, 1].
    """
    scaled = []
    for maps in panels:
        if maps is None:
            continue
        maps = maps[:count].max(axis=-1, keepdims=True)
        scaled.append(np.clip(maps / max(float(maps.max()), 1e-6), 0.0, 1.0))
    return np.concatenate(scaled, axis=2)


def tile_grid(
    tiles: Sequence[np.ndarray],
    columns: int,
    *,
    gap: int = 2,
    footer: str | None = None,
    footer_height: int = 22,
) -> np.ndarray:
    """BGR tiles in rows of ``columns`` on white, ``gap`` pixels apart, with a legend line
    (``footer``) below; every cell has the size of the first tile (larger tiles are cut)."""
    if not tiles:
        raise ValueError("tile_grid needs at least one tile")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    height, width = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    extra = footer_height if footer is not None else 0
    sheet = np.full(
        (rows * (height + gap) + extra, columns * (width + gap) - gap, 3), 255, np.uint8
    )
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = r * (height + gap), c * (width + gap)
        part = tile[:height, :width]
        sheet[y : y + part.shape[0], x : x + part.shape[1]] = part
    if footer is not None:
        cv2.putText(sheet, footer, (6, sheet.shape[0] - 7), FONT, 0.45, _BLACK, 1, cv2.LINE_AA)
    return sheet
