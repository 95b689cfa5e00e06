"""Pictures of predictions: skeleton overlays and per-pass heatmap grids (BGR, OpenCV).

Overlay (:func:`draw_pose`):

* every limb has its own colour (a hue wheel over ``skeleton.limbs``); a limb is a solid line
  when both its joints are visible (visibility ≥ the threshold), a thin dashed line otherwise;
* a joint with visibility ≥ the threshold is a filled disc, one below it (occluded, outside the
  image or unsure) a hollow circle with a cross;
* each joint carries its confidence in percent; the person's region is a thin grey box and its
  mean confidence is written above it.

Heatmap grid (:func:`heatmap_grid`): one column per pass of the recurrent network (feed-forward,
pass 1, …), one row for all joints (maximum over channels) and one per selected joint; each cell
is the crop with the map on a common colour scale (0 to the training target's peak), so the
sharpening of the maps from pass to pass (Belagiannis & Zisserman, Fig. 2) is visible.

Shape legend: K keypoints, S crop side, H × W heatmap; points (x, y) in pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from tfpose.skeletons import Skeleton

DEFAULT_VISIBILITY_THRESHOLD = 0.5
# Joints shown in their own rows of the heatmap grid when present: the extremities, which
# profit most from context.
DEFAULT_GRID_JOINTS = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_SHIFT = 4  # sub-pixel bits for OpenCV drawing
_GREY = (170, 170, 170)


def limb_colors(num_limbs: int) -> list[tuple[int, int, int]]:
    """One saturated BGR colour per limb, evenly spaced in hue."""
    hues = np.linspace(0, 180, num_limbs, endpoint=False).astype(np.uint8)
    hsv = np.stack([hues, np.full_like(hues, 230), np.full_like(hues, 255)], -1)[None]
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]
    return [tuple(int(c) for c in color) for color in bgr]


def _fixed(point: np.ndarray) -> tuple[int, int]:
    return tuple(int(round(float(v) * (1 << _SHIFT))) for v in point)


def _dashed_line(canvas, start, end, color, thickness: int, dash: float) -> None:
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    length = float(np.linalg.norm(end - start))
    steps = max(1, int(length // dash))
    for i in range(0, steps, 2):
        a = start + (end - start) * (i / steps)
        b = start + (end - start) * (min(i + 1, steps) / steps)
        cv2.line(canvas, _fixed(a), _fixed(b), color, thickness, cv2.LINE_AA, _SHIFT)


def _text(canvas, text: str, origin, size: float, color=(255, 255, 255)) -> None:
    origin = tuple(int(v) for v in origin)
    thickness = max(1, int(round(size * 2)))
    cv2.putText(canvas, text, origin, _FONT, size, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(canvas, text, origin, _FONT, size, color, thickness, cv2.LINE_AA)


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
    """Draws one person's skeleton on a copy of ``image``.

    Args:
      image: uint8 BGR [H, W, 3].
      keypoints: [K, 2] (x, y) image pixels.
      confidence: [K] in [0, 1].
      visibility: [K] in [0, 1].
      skeleton: joint names and limbs.
      box: optional region [4] (x1, y1, x2, y2) drawn as a thin grey box.
      visibility_threshold: joints at or above it are drawn as visible.
      show_confidence: write each joint's confidence (percent) beside it.

    Returns:
      uint8 BGR [H, W, 3].
    """
    canvas = np.ascontiguousarray(image).copy()
    height, width = canvas.shape[:2]
    unit = max(height, width) / 480.0  # line widths and radii grow with the image
    thickness = max(1, int(round(2 * unit)))
    radius = max(2.0, 3.5 * unit)
    visible = np.asarray(visibility) >= visibility_threshold
    keypoints = np.asarray(keypoints, np.float64)
    if box is not None:
        x1, y1, x2, y2 = np.asarray(box, np.float64)
        cv2.rectangle(canvas, _fixed((x1, y1)), _fixed((x2, y2)), _GREY, 1, cv2.LINE_AA, _SHIFT)
        label = f"mean conf {float(np.mean(confidence)):.2f}"
        _text(canvas, label, (max(x1, 2), max(y1 - 4, 12 * unit)), 0.4 * unit)
    for (a, b), color in zip(skeleton.limbs, limb_colors(skeleton.num_limbs), strict=True):
        if visible[a] and visible[b]:
            cv2.line(
                canvas,
                _fixed(keypoints[a]),
                _fixed(keypoints[b]),
                color,
                thickness,
                cv2.LINE_AA,
                _SHIFT,
            )
        else:
            _dashed_line(canvas, keypoints[a], keypoints[b], color, 1, dash=6 * unit)
    for k in range(skeleton.num_keypoints):
        center = _fixed(keypoints[k])
        scaled = int(round(radius * (1 << _SHIFT)))
        if visible[k]:
            cv2.circle(canvas, center, scaled, (255, 255, 255), -1, cv2.LINE_AA, _SHIFT)
            cv2.circle(canvas, center, scaled, (0, 0, 0), 1, cv2.LINE_AA, _SHIFT)
        else:
            cv2.circle(canvas, center, scaled, (255, 255, 255), 1, cv2.LINE_AA, _SHIFT)
            d = radius * 0.7
            x, y = keypoints[k]
            for sx in (-1, 1):
                cv2.line(
                    canvas,
                    _fixed((x - d, y - sx * d)),
                    _fixed((x + d, y + sx * d)),
                    (255, 255, 255),
                    1,
                    cv2.LINE_AA,
                    _SHIFT,
                )
        if show_confidence:
            origin = (keypoints[k, 0] + radius + 1, keypoints[k, 1] - radius)
            _text(canvas, f"{100 * float(confidence[k]):.0f}", origin, 0.33 * unit)
    return canvas


def legend(width: int, visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD) -> np.ndarray:
    """A white BGR strip [20, width, 3] explaining the overlay's marks."""
    strip = np.full((20, width, 3), 255, np.uint8)
    text = (
        f"filled: visibility >= {visibility_threshold:g}; hollow x: occluded/unsure; "
        "numbers: confidence %; dashed limb: an end not visible"
    )
    cv2.putText(strip, text, (4, 14), _FONT, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def resize_to_max_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrinks ``image`` so that its longer side is at most ``max_side`` (0 = unchanged)."""
    height, width = image.shape[:2]
    if max_side <= 0 or max(height, width) <= max_side:
        return image
    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


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
    background = (0.5 * background).astype(np.float32)
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
        cv2.putText(
            grid,
            _pass_label(name, c, len(pass_maps)),
            (x + 4, 15),
            _FONT,
            0.45,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
        for r, (_, channel) in enumerate(rows):
            values = maps.max(axis=-1) if channel is None else maps[..., channel]
            scaled = np.clip(np.asarray(values, np.float32) / float(amplitude), 0.0, 1.0)
            resized = cv2.resize(scaled, (cell_size, cell_size), interpolation=cv2.INTER_LINEAR)
            colored = cv2.applyColorMap(np.uint8(255 * resized), cv2.COLORMAP_JET)
            alpha = resized[..., None]
            cell = background * (1 - alpha) + colored.astype(np.float32) * alpha
            y = header + r * (cell_size + gap)
            grid[y : y + cell_size, x : x + cell_size] = np.clip(cell, 0, 255).astype(np.uint8)
            _text(grid, f"peak {float(scaled.max()):.2f}", (x + 3, y + cell_size - 5), 0.35)
    for r, (label, _) in enumerate(rows):
        y = header + r * (cell_size + gap) + cell_size // 2
        cv2.putText(grid, label, (4, y), _FONT, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    return grid
