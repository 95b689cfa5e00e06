"""Random sampling of poses, body shapes, appearances, backgrounds, occluders and scenes."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import cv2
import numpy as np

from tfpose.data.synthetic.body import _capsule, _ellipse, _geometry, _hull, figure_keypoints
from tfpose.data.synthetic.config import (
    SKELETON,
    Appearance,
    BodyPose,
    BodyShape,
    Figure,
    LimbPose,
    Occluder,
    Scene,
    SyntheticConfig,
)
from tfpose.data.synthetic.render import _fill, _pixel_grid


def _palette(hex_colours: str) -> tuple[tuple[int, int, int], ...]:
    """RGB triples from hex colours ("ffe0c4 f1c2a0 ...")."""
    return tuple(tuple(bytes.fromhex(colour)) for colour in hex_colours.split())


# RGB palettes (converted to BGR for OpenCV when drawn).
_SKIN_TONES = _palette("ffe0c4 f1c2a0 e0ac7d c6865a a1663e 784c2e 573724")
_HAIR_COLOURS = _palette("14110f 3c2819 6e4628 b48c50 dcc896 969696 8c321e")
_TROUSER_COLOURS = _palette("283c6e 1e1e23 beaa82 50505a 3c5a3c")


def _clipped_normal(
    rng: np.random.Generator, mean: float, std: float, low: float, high: float
) -> float:
    return float(np.clip(rng.normal(mean, std), low, high))


def _sample_arm(rng: np.random.Generator) -> LimbPose:
    r = rng.random()
    if r < 0.45:
        elevation = rng.uniform(0, 50)
    elif r < 0.8:
        elevation = rng.uniform(50, 120)
    else:
        elevation = rng.uniform(120, 170)
    azimuth = rng.uniform(-40, 130)
    if azimuth < 0:  # shoulders do not raise the arm far backwards
        elevation = min(elevation, 70.0)
    bend = rng.uniform(0, 20) if rng.random() < 0.35 else rng.uniform(20, 150)
    return LimbPose(elevation, azimuth, rng.uniform(-60, 60), bend)


def _sample_free_leg(rng: np.random.Generator) -> LimbPose:
    if rng.random() < 0.6:
        elevation, azimuth = rng.uniform(0, 40), rng.uniform(-100, 120)
        if azimuth < -20:
            elevation = min(elevation, 30.0)
    elif rng.random() < 0.7:
        elevation, azimuth = rng.uniform(40, 110), rng.uniform(50, 120)  # raised forwards
    else:
        elevation, azimuth = rng.uniform(40, 70), rng.uniform(-10, 40)  # raised sideways
    return LimbPose(elevation, azimuth, rng.uniform(-20, 20), rng.uniform(0, 140))


def sample_pose(rng: np.random.Generator) -> BodyPose:
    """A random plausible pose: standing, walking or running, sitting or crouching, or free."""
    activity = rng.choice(4, p=[0.35, 0.3, 0.15, 0.2])
    lean = _clipped_normal(rng, 5, 10, -20, 45)
    if activity == 0:  # standing
        legs = [
            LimbPose(
                rng.uniform(0, 15), rng.uniform(-30, 120), rng.uniform(-15, 15), rng.uniform(0, 20)
            )
            for _ in range(2)
        ]
        arms = [_sample_arm(rng), _sample_arm(rng)]
    elif activity == 1:  # walking or running: opposite arm and leg swing together
        front = LimbPose(
            rng.uniform(10, 50), rng.uniform(70, 110), rng.uniform(-10, 10), rng.uniform(0, 60)
        )
        back = LimbPose(
            rng.uniform(0, 30), rng.uniform(-110, -70), rng.uniform(-10, 10), rng.uniform(10, 110)
        )
        swing = rng.uniform(5, 50)
        bend = rng.uniform(10, 110)
        arm_forward = LimbPose(swing, rng.uniform(70, 100), rng.uniform(-20, 20), bend)
        arm_back = LimbPose(0.8 * swing, rng.uniform(-100, -70), rng.uniform(-20, 20), bend)
        if rng.random() < 0.5:
            legs, arms = [front, back], [arm_back, arm_forward]
        else:
            legs, arms = [back, front], [arm_forward, arm_back]
    elif activity == 2:  # sitting or crouching
        legs = [
            LimbPose(
                rng.uniform(60, 105),
                rng.uniform(60, 120),
                rng.uniform(-20, 20),
                rng.uniform(60, 135),
            )
            for _ in range(2)
        ]
        arms = [_sample_arm(rng), _sample_arm(rng)]
        lean = float(np.clip(lean + rng.uniform(0, 20), -20, 60))
    else:
        legs = [_sample_free_leg(rng), _sample_free_leg(rng)]
        arms = [_sample_arm(rng), _sample_arm(rng)]
    return BodyPose(
        left_arm=arms[0],
        right_arm=arms[1],
        left_leg=legs[0],
        right_leg=legs[1],
        torso_lean_deg=lean,
        torso_side_deg=_clipped_normal(rng, 0, 6, -20, 20),
        torso_twist_deg=_clipped_normal(rng, 0, 10, -35, 35),
        head_pitch_deg=_clipped_normal(rng, 0, 12, -35, 40),
        head_roll_deg=_clipped_normal(rng, 0, 8, -25, 25),
        head_yaw_deg=_clipped_normal(rng, 0, 20, -60, 60),
        foot_deg=rng.uniform(-10, 40),
    )


def sample_shape(rng: np.random.Generator) -> BodyShape:
    """Body proportions: each length within about +-8% of the average, a random build."""
    base = BodyShape()
    fields = {
        f.name: getattr(base, f.name) * _clipped_normal(rng, 1.0, 0.04, 0.92, 1.08)
        for f in dataclasses.fields(base)
        if f.name != "build"
    }
    return BodyShape(**fields, build=rng.uniform(0.85, 1.3))


def _bgr(rgb) -> tuple[int, int, int]:
    return (int(rgb[2]), int(rgb[1]), int(rgb[0]))


def _random_color(rng: np.random.Generator, saturation=(0.2, 0.9), value=(0.25, 0.95)):
    hsv = np.array(
        [[[rng.uniform(0, 180), rng.uniform(*saturation) * 255, rng.uniform(*value) * 255]]],
        np.float32,
    ).astype(np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _jitter(rng: np.random.Generator, rgb, amount: float = 12) -> tuple[int, int, int]:
    return _bgr(np.clip(np.asarray(rgb) + rng.uniform(-amount, amount, 3), 0, 255))


def sample_appearance(rng: np.random.Generator, pattern_probability: float) -> Appearance:
    """Skin, hair and clothing colours; sleeves, shorts and an optional striped shirt."""
    skin = _jitter(rng, _SKIN_TONES[rng.integers(len(_SKIN_TONES))])
    hair = _jitter(rng, _HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))], 8)
    if rng.random() < 0.6:
        trousers = _jitter(rng, _TROUSER_COLOURS[rng.integers(len(_TROUSER_COLOURS))])
    else:
        trousers = _random_color(rng)
    shoes = _jitter(rng, (30, 30, 30) if rng.random() < 0.7 else (225, 225, 225), 20)
    sleeves = rng.random()
    stripes = None
    if rng.random() < pattern_probability:
        stripes = (rng.uniform(0, 180), rng.uniform(3, 9))
    return Appearance(
        skin=skin,
        hair=hair,
        shirt=_random_color(rng),
        trousers=trousers,
        shoes=shoes,
        long_sleeves=bool(sleeves < 0.4),
        sleeveless=bool(sleeves > 0.9),
        shorts=bool(rng.random() < 0.25),
        shirt_stripes=stripes,
    )


def _sample_yaw(rng: np.random.Generator, view_probabilities: Sequence[float]) -> float:
    view = rng.choice(3, p=np.asarray(view_probabilities) / np.sum(view_probabilities))
    if view == 0:
        return _clipped_normal(rng, 0, 25, -60, 60)
    if view == 1:
        return 180.0 + _clipped_normal(rng, 0, 25, -60, 60)
    return float(rng.choice([-90.0, 90.0])) + _clipped_normal(rng, 0, 20, -40, 40)


def _sample_figure(
    rng: np.random.Generator,
    config: SyntheticConfig,
    height_px: float,
    torso_center: tuple[float, float],
) -> Figure:
    return Figure(
        pose=sample_pose(rng),
        shape=sample_shape(rng),
        appearance=sample_appearance(rng, config.clothing_pattern_probability),
        height_px=height_px,
        yaw_deg=_sample_yaw(rng, config.view_probabilities),
        pitch_deg=_clipped_normal(rng, 0, 8, -20, 20),
        roll_deg=rng.uniform(-config.rotation_range_deg, config.rotation_range_deg),
        torso_center=torso_center,
    )


def _sample_background(rng: np.random.Generator, config: SyntheticConfig) -> np.ndarray:
    """A gradient, plus when textured: smooth noise, a floor, a repeating pattern, clutter."""
    height, width = config.image_height, config.image_width
    xs, ys = _pixel_grid(height, width)
    c0 = np.asarray(_random_color(rng, (0.0, 0.7), (0.2, 0.95)), np.float32)
    c1 = np.asarray(_random_color(rng, (0.0, 0.7), (0.2, 0.95)), np.float32)
    a = rng.uniform(0, 2 * np.pi)
    t = (xs * math.cos(a) + ys * math.sin(a)) / max(height, width)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    image = c0 + t[..., None] * (c1 - c0)
    if not config.textured_background:
        return np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:  # a floor below a horizon
        horizon = rng.uniform(0.4, 0.85) * height
        floor = np.asarray(_random_color(rng, (0.0, 0.6), (0.2, 0.8)), np.float32)
        image = np.where((ys > horizon)[..., None], floor, image)
    # Smooth blotches, mostly in brightness with a little colour.
    cells = int(rng.integers(3, 14))
    brightness = rng.uniform(-1, 1, (cells, cells, 1))
    colour = rng.uniform(-1, 1, (cells, cells, 3))
    noise = (brightness + rng.uniform(0.1, 0.4) * colour).astype(np.float32)
    image += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC) * rng.uniform(10, 40)
    if rng.random() < 0.5:  # stripes or a check pattern (walls, fabric, tiles)
        b = rng.uniform(0, np.pi)
        period = rng.uniform(4, 40)
        wave = np.sin((xs * math.cos(b) + ys * math.sin(b)) * 2 * np.pi / period)
        if rng.random() < 0.4:
            wave = wave * np.sin((-xs * math.sin(b) + ys * math.cos(b)) * 2 * np.pi / period)
        image += (wave * rng.uniform(8, 35))[..., None]
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(2, 12))):  # clutter
        color = _random_color(rng, (0.0, 0.9), (0.1, 1.0))
        center = (rng.uniform(0, width), rng.uniform(0, height))
        size = rng.uniform(0.05, 0.4) * max(height, width)
        kind = rng.integers(4)
        if kind == 0:
            polygon = _rotated_rectangle(
                center, size, size * rng.uniform(0.2, 1), rng.uniform(0, 180)
            )
            _fill(image, None, polygon, color)
        elif kind == 1:
            axis = size / 2 * np.array([math.cos(a := rng.uniform(0, np.pi)), math.sin(a)])
            _fill(
                image,
                None,
                _ellipse(np.asarray(center), axis, size / 2 * rng.uniform(0.3, 1)),
                color,
            )
        elif kind == 2:
            end = np.asarray(center) + size * np.array(
                [math.cos(a := rng.uniform(0, 2 * np.pi)), math.sin(a)]
            )
            _fill(
                image,
                None,
                _capsule(np.asarray(center), end, *rng.uniform(1, 0.04 * max(height, width), 2)),
                color,
            )
        else:
            polygon = _random_convex_polygon(rng, np.asarray(center), size / 2)
            _fill(image, None, polygon, color)
    if rng.random() < 0.4:  # out of focus
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 2.0))
    return image


def _rotated_rectangle(center, width: float, height: float, angle_deg: float) -> np.ndarray:
    a = math.radians(angle_deg)
    u = np.array([math.cos(a), math.sin(a)]) * width / 2
    v = np.array([-math.sin(a), math.cos(a)]) * height / 2
    c = np.asarray(center, np.float64)
    return np.stack([c - u - v, c + u - v, c + u + v, c - u + v])


def _random_convex_polygon(rng: np.random.Generator, center: np.ndarray, radius: float):
    angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(5, 9))))
    radii = radius * rng.uniform(0.6, 1.0, len(angles))
    points = center + np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None]
    return _hull(points)


def _sample_occluder(
    rng: np.random.Generator, target: np.ndarray, person_height: float, pattern_probability: float
) -> Occluder:
    """A shape placed over ``target`` (a joint), sized relative to the person."""
    center = target + rng.normal(0, 0.04 * person_height, 2)
    size = rng.uniform(0.12, 0.35) * person_height
    angle = rng.uniform(0, 180)
    kind = rng.integers(4)
    if kind == 0:  # box
        polygon = _rotated_rectangle(center, size, size * rng.uniform(0.4, 1.0), angle)
    elif kind == 1:  # ball, sign, plate
        a = math.radians(angle)
        axis = size / 2 * np.array([math.cos(a), math.sin(a)])
        polygon = _ellipse(center, axis, size / 2 * rng.uniform(0.5, 1.0))
    elif kind == 2:  # irregular object
        polygon = _random_convex_polygon(rng, center, size / 2)
    else:  # pole, railing, rope
        polygon = _rotated_rectangle(
            center,
            rng.uniform(0.6, 1.5) * person_height,
            rng.uniform(0.04, 0.09) * person_height,
            angle,
        )
    stripes = None
    if rng.random() < pattern_probability:
        stripes = (rng.uniform(0, 180), rng.uniform(3, 12))
    return Occluder(polygon=polygon, color=_random_color(rng, (0.0, 0.9)), stripes=stripes)


def _count_inside(points: np.ndarray, height: int, width: int) -> int:
    x, y = points[:, 0], points[:, 1]
    return int(((x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)).sum())


def _place_main(rng: np.random.Generator, figure: Figure, config: SyntheticConfig) -> Figure:
    """Sizes and positions the main person: fully inside the image, or cut by one border."""
    height, width = config.image_height, config.image_width
    geometry = _geometry(figure)
    x0, y0, x1, y1 = geometry.extent()
    margin = 3.0
    truncate = rng.random() < config.truncation_probability
    fit = min((width - 2 * margin) / (x1 - x0), (height - 2 * margin) / (y1 - y0))
    person_height = figure.height_px if truncate else min(figure.height_px, fit)
    low_x = margin - x0 * person_height
    high_x = width - margin - x1 * person_height
    low_y = margin - y0 * person_height
    high_y = height - margin - y1 * person_height
    cx = rng.uniform(min(low_x, high_x), max(low_x, high_x))
    cy = rng.uniform(min(low_y, high_y), max(low_y, high_y))
    if truncate:
        side = rng.choice(4, p=[0.5, 0.2, 0.2, 0.1])  # bottom, left, right, top
        cut = rng.uniform(0.15, 0.45)
        for _ in range(4):  # keep at least half of the joints in the image
            if side == 0:
                y = height + cut * (y1 - y0) * person_height - y1 * person_height
                center = (cx, y)
            elif side == 1:
                center = (-cut * (x1 - x0) * person_height - x0 * person_height, cy)
            elif side == 2:
                center = (width + cut * (x1 - x0) * person_height - x1 * person_height, cy)
            else:
                center = (cx, -cut * (y1 - y0) * person_height - y0 * person_height)
            joints = geometry.joints * person_height + np.asarray(center)
            if _count_inside(joints, height, width) >= SKELETON.num_keypoints // 2:
                break
            cut /= 2
        cx, cy = center
    return dataclasses.replace(figure, height_px=float(person_height), torso_center=(cx, cy))


def sample_scene(seed: int, index: int, config: SyntheticConfig = SyntheticConfig()) -> Scene:  # noqa: B008
    """The scene of example ``index``, determined by ``(seed, index, config)`` alone."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(index, bool) or not isinstance(index, int | np.integer) or index < 0:
        raise ValueError(f"index must be a non-negative integer, got {index!r}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))
    background = _sample_background(rng, config)
    main = _sample_figure(rng, config, rng.uniform(*config.person_height_range), (0.0, 0.0))
    main = _place_main(rng, main, config)
    main_height = main.height_px
    main_center = np.asarray(main.torso_center)

    distractors = []
    if rng.random() < config.distractor_probability:
        for _ in range(2 if rng.random() < 0.5 else 1):
            offset = np.array(
                [
                    rng.choice([-1.0, 1.0]) * rng.uniform(0.45, 0.95),
                    rng.uniform(-0.25, 0.25),
                ]
            )
            center = main_center + offset * main_height
            figure = _sample_figure(
                rng,
                config,
                main_height * rng.uniform(0.75, 1.2),
                (float(center[0]), float(center[1])),
            )
            distractors.append(
                (figure, bool(rng.random() < config.distractor_in_front_probability))
            )

    occluders = []
    if rng.random() < config.occluder_probability:
        keypoints = figure_keypoints(main)
        for _ in range(int(rng.integers(1, config.max_occluders + 1))):
            target = keypoints[rng.integers(len(keypoints))].astype(np.float64)
            occluders.append(
                _sample_occluder(rng, target, main_height, config.clothing_pattern_probability)
            )
    return Scene(
        background=background,
        main=main,
        distractors=tuple(distractors),
        occluders=tuple(occluders),
        noise_seed=int(rng.integers(2**31)),
        image_id=f"synthetic-{seed}-{index:08d}",
        noise_std=config.noise_std,
    )
