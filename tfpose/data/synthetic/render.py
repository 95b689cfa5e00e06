"""Rendering of a scene with its ownership buffer, and the main person's joint visibility."""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from tfpose.data.example import NOT_ANNOTATED, OCCLUDED, VISIBLE
from tfpose.data.synthetic.body import _geometry, figure_head_box, figure_keypoints
from tfpose.data.synthetic.config import (
    _MAX_OCCLUDERS,
    _MAX_PEOPLE,
    ATTACHED_PARTS,
    NUM_PARTS,
    PART_NAMES,
    SKELETON,
    Appearance,
    Figure,
    RenderedScene,
    Scene,
)


def _fixed(points: np.ndarray) -> np.ndarray:
    """Pixel coordinates to OpenCV's fixed point with 4 fractional bits."""
    return np.round(np.asarray(points) * 16.0).astype(np.int32)


def _fill(
    image: np.ndarray,
    owner: np.ndarray | None,
    polygon: np.ndarray,
    color,
    owner_id: int = 0,
    outline=None,
) -> None:
    points = _fixed(polygon)
    if owner is None:  # decorations and clutter need not be convex
        cv2.fillPoly(image, [points], tuple(float(c) for c in color), cv2.LINE_AA, 4)
    else:
        cv2.fillConvexPoly(image, points, tuple(float(c) for c in color), cv2.LINE_AA, 4)
    if outline is not None:
        cv2.polylines(image, [points], True, tuple(float(c) for c in outline), 1, cv2.LINE_AA, 4)
    if owner is not None:
        cv2.fillConvexPoly(owner, points, int(owner_id), cv2.LINE_8, 4)


@functools.lru_cache(maxsize=4)
def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def _apply_stripes(image: np.ndarray, mask: np.ndarray, stripes: tuple[float, float]) -> None:
    """Darkens every other band of ``period`` pixels at ``angle`` inside ``mask`` (in place)."""
    if not mask.any():
        return
    angle, period = stripes
    xs, ys = _pixel_grid(*mask.shape)
    a = math.radians(angle)
    band = np.floor((xs[mask] * math.cos(a) + ys[mask] * math.sin(a)) / period) % 2
    shade = np.where(band > 0, 0.6, 1.0)[:, None]
    image[mask] = (image[mask] * shade).astype(np.uint8)


def _part_colors(appearance: Appearance) -> dict[str, np.ndarray]:
    skin, shirt, trousers = appearance.skin, appearance.shirt, appearance.trousers
    colors = {
        "skin": skin,
        "hair": appearance.hair,
        "shirt": shirt,
        "sleeve": skin if appearance.sleeveless else shirt,
        "forearm": shirt if appearance.long_sleeves else skin,
        "trousers": trousers,
        "shin": skin if appearance.shorts else trousers,
        "shoes": appearance.shoes,
        "eye": (25, 25, 25),
        "mouth": (70, 60, 150),
    }
    return {k: np.asarray(v, np.float64) for k, v in colors.items()}


def _draw_figure(image: np.ndarray, owner: np.ndarray, figure: Figure, person: int) -> None:
    geometry = _geometry(figure)
    scale, offset = figure.height_px, np.asarray(figure.torso_center, np.float64)
    colors = _part_colors(figure.appearance)
    first_id = 1 + person * NUM_PARTS
    for drawable in geometry.drawables:
        # Parts behind the body's middle are in its shadow.
        shade = 1.0 - 0.35 * float(np.clip(-drawable.depth / 0.12, 0.0, 1.0))
        color = colors[drawable.color_key] * shade
        _fill(
            image,
            owner,
            drawable.polygon * scale + offset,
            color,
            first_id + drawable.part,
            outline=0.6 * color,
        )
        for polygon, key in drawable.decorations:
            _fill(image, None, polygon * scale + offset, colors[key] * shade)
    stripes = figure.appearance.shirt_stripes
    if stripes is not None:
        shirt_parts = ["torso_left", "torso_right"]
        if not figure.appearance.sleeveless:
            shirt_parts += ["left_upper_arm", "right_upper_arm"]
        if figure.appearance.long_sleeves:
            shirt_parts += ["left_forearm", "right_forearm"]
        ids = [first_id + PART_NAMES.index(p) for p in shirt_parts]
        _apply_stripes(image, np.isin(owner, ids), stripes)


def _finish(image: np.ndarray, noise_seed: int, noise_std: float) -> np.ndarray:
    """Lighting gradient, slight blur and pixel noise, seeded by ``noise_seed``."""
    rng = np.random.default_rng(noise_seed)
    height, width = image.shape[:2]
    xs, ys = _pixel_grid(height, width)
    a = rng.uniform(0, 2 * np.pi)
    ramp = (xs * math.cos(a) + ys * math.sin(a)) / max(height, width)
    gain = rng.uniform(0.75, 1.1) + rng.uniform(-0.25, 0.25) * ramp
    result = image.astype(np.float32) * gain[..., None] + rng.uniform(-15, 15)
    if rng.random() < 0.3:
        result = cv2.GaussianBlur(result, (0, 0), rng.uniform(0.4, 1.0))
    if noise_std > 0:
        result += rng.uniform(0, noise_std) * rng.standard_normal(result.shape, np.float32)
    return np.clip(result, 0, 255).astype(np.uint8)


def _attached_ids() -> tuple[np.ndarray, ...]:
    """For each joint, the owner ids (main person) of the parts attached to it."""
    return tuple(
        np.array([1 + PART_NAMES.index(p) for p in ATTACHED_PARTS[name]], np.uint8)
        for name in SKELETON.joint_names
    )


_ATTACHED_IDS = _attached_ids()


def joint_visibility(owner: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """Visibility [K] of the main person's joints from the ownership buffer.

    Args:
      owner: [H, W] uint8 ownership buffer of a rendered scene.
      keypoints: [K, 2] (x, y) pixels of the main person (person 0).

    Returns:
      [K] int64: 0 outside ``[0, W-1] x [0, H-1]``; otherwise 1 when, in the 3x3 neighbourhood
      of the rounded position, more pixels belong to something other than the joint's attached
      parts (background excluded) than to them, else 2.
    """
    height, width = owner.shape
    visibility = np.full(len(keypoints), NOT_ANNOTATED, np.int64)
    for k, (x, y) in enumerate(np.asarray(keypoints, np.float64)):
        if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
            continue
        col, row = int(round(x)), int(round(y))
        window = owner[max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2]
        own = int(np.isin(window, _ATTACHED_IDS[k]).sum())
        other = int((window != 0).sum()) - own
        visibility[k] = OCCLUDED if other > own else VISIBLE
    return visibility


def render_scene(scene: Scene) -> RenderedScene:
    """Draws a scene (far to near) and annotates its main person.

    Distractors behind the main person are drawn first, then the main person, the distractors
    in front of it and the external occluders.
    """
    image = scene.background.copy()
    owner = np.zeros(image.shape[:2], np.uint8)
    if len(scene.distractors) + 1 > _MAX_PEOPLE:
        raise ValueError(f"a scene holds at most {_MAX_PEOPLE - 1} distractors")
    if len(scene.occluders) > _MAX_OCCLUDERS:
        raise ValueError(f"a scene holds at most {_MAX_OCCLUDERS} occluders")
    order = [(f, i + 1) for i, (f, front) in enumerate(scene.distractors) if not front]
    order.append((scene.main, 0))
    order += [(f, i + 1) for i, (f, front) in enumerate(scene.distractors) if front]
    for figure, person in order:
        _draw_figure(image, owner, figure, person)
    for i, occluder in enumerate(scene.occluders):
        owner_id = 255 - i
        color = np.asarray(occluder.color, np.float64)
        _fill(image, owner, occluder.polygon, color, owner_id, outline=0.7 * color)
        if occluder.stripes is not None:
            _apply_stripes(image, owner == owner_id, occluder.stripes)
    image = _finish(image, scene.noise_seed, scene.noise_std)
    keypoints = figure_keypoints(scene.main)
    return RenderedScene(
        image=image,
        owner=owner,
        keypoints=keypoints,
        visibility=joint_visibility(owner, keypoints),
        head_box=figure_head_box(scene.main),
    )
