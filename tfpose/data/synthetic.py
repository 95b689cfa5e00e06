"""Synthetic people: a seeded generator of annotated pose images that needs no download.

Every example shows one main person (the annotated one) built from a 3D articulated body on the
MPII-16 skeleton, posed within joint-angle limits, seen from the front, the back or in profile,
rotated in the image plane, drawn as shaded body shapes (tapered limbs, a torso, a head with
hair and a face) in random clothing over a textured background, with optional external
occluders and partial distractor people. It is written in the same :class:`PoseExample`
format as the real datasets (``dataset="synthetic"``, ``skeleton="mpii"``, JPEG images, head
boxes so PCKh applies, occlusion labels).

Example ``index`` of seed ``seed`` depends only on ``(seed, index, config)``, so generation can
be split across processes and reproduces exactly::

    example = generate_example(seed=0, index=17)
    for example in generate_examples(10_000, seed=0, num_workers=2): ...

Contact sheet and speed measurement::

    python -m tfpose.data.synthetic --contact_sheet=docs/synthetic_samples.png --seed=0
    python -m tfpose.data.synthetic --benchmark_examples=10000 --num_workers=2

Conventions (see also docs/synthetic.md):
  * Body frame of a figure: ``x`` = the person's own left, ``y`` = up, ``z`` = the direction the
    person faces. A camera yaw of 0 shows the person facing the camera, so ``left_*`` joints
    appear on the observer's right; yaw 180 shows their back (``left_*`` on the observer's left).
  * Keypoints are ``(x, y)`` image pixels in the OpenCV convention (pixel ``(i, j)`` has its
    centre at ``x = j, y = i``); drawing uses 1/16-pixel precision.
  * Visibility: 2 visible, 1 occluded, 0 outside the image (``x`` or ``y`` not in
    ``[0, size - 1]``), like MPII, which does not annotate joints out of frame.
  * Occlusion rule: the scene is rendered with an ownership buffer (which body part, distractor
    or occluder is drawn at each pixel, painter's order far to near). In the 3x3 pixel
    neighbourhood of the rounded joint position, count pixels owned by a body part attached to
    the joint (e.g. the thigh or the shin for the knee) and pixels owned by anything else (an
    occluder, a distractor, or another part of the same person drawn in front); background
    pixels are not counted. The joint is occluded when the second count is larger.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import multiprocessing
import time
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from tfpose import skeletons
from tfpose.data.example import (
    NOT_ANNOTATED,
    OCCLUDED,
    SCALE_UNIT_PX,
    VISIBLE,
    PoseExample,
)

SKELETON = skeletons.MPII
DATASET_NAME = "synthetic"

# Body parts, drawn as convex polygons. "torso_left" is the half of the trunk on the person's
# own left; splitting the trunk lets the near half hide the far shoulder and hip in profile.
PART_NAMES = (
    "torso_left",
    "torso_right",
    "neck",
    "head",
    "left_upper_arm",
    "left_forearm",
    "left_hand",
    "right_upper_arm",
    "right_forearm",
    "right_hand",
    "left_thigh",
    "left_shin",
    "left_foot",
    "right_thigh",
    "right_shin",
    "right_foot",
)
NUM_PARTS = len(PART_NAMES)

# The parts that end at each joint: a joint hidden by one of these is still visible.
ATTACHED_PARTS: dict[str, tuple[str, ...]] = {
    "head_top": ("head",),
    "neck": ("neck", "head"),
    "thorax": ("torso_left", "torso_right", "neck"),
    "pelvis": ("torso_left", "torso_right", "left_thigh", "right_thigh"),
}
for _side in ("left", "right"):
    ATTACHED_PARTS.update(
        {
            f"{_side}_shoulder": (f"torso_{_side}", f"{_side}_upper_arm"),
            f"{_side}_elbow": (f"{_side}_upper_arm", f"{_side}_forearm"),
            f"{_side}_wrist": (f"{_side}_forearm", f"{_side}_hand"),
            f"{_side}_hip": (f"torso_{_side}", f"{_side}_thigh"),
            f"{_side}_knee": (f"{_side}_thigh", f"{_side}_shin"),
            f"{_side}_ankle": (f"{_side}_shin", f"{_side}_foot"),
        }
    )

# Small depth bonus (in body heights) that decides ties in painter's order: limbs lie on the
# surface of the trunk, hands and feet on their limbs, the head above the neck.
_DRAW_PRIORITY = {"torso": 0.0, "neck": 0.002, "limb": 0.006, "end": 0.01, "head": 0.02}

# Owner ids in the ownership buffer: 0 background, 1 + person * NUM_PARTS + part for people
# (person 0 is the main person), 255 - i for external occluder i.
_MAX_PEOPLE = 8
_MAX_OCCLUDERS = 255 - 1 - _MAX_PEOPLE * NUM_PARTS

# RGB palettes (converted to BGR for OpenCV when drawn).
_SKIN_TONES = (
    (255, 224, 196),
    (241, 194, 160),
    (224, 172, 125),
    (198, 134, 90),
    (161, 102, 62),
    (120, 76, 46),
    (87, 55, 36),
)
_HAIR_COLOURS = (
    (20, 17, 15),
    (60, 40, 25),
    (110, 70, 40),
    (180, 140, 80),
    (220, 200, 150),
    (150, 150, 150),
    (140, 50, 30),
)
_TROUSER_COLOURS = ((40, 60, 110), (30, 30, 35), (190, 170, 130), (80, 80, 90), (60, 90, 60))


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the synthetic people generator.

    Attributes:
      image_height: image height in pixels.
      image_width: image width in pixels.
      person_height_range: (min, max) standing height of the main person in pixels. A person
        whose pose does not fit in the image is made smaller unless the example is truncated.
      rotation_range_deg: in-plane rotation, uniform in ``[-r, r]`` degrees.
      view_probabilities: probabilities of seeing the main person from the (front, back, side).
      occluder_probability: chance that an example has external occluders (1 to
        ``max_occluders`` shapes, each placed over a random joint of the main person).
      max_occluders: most external occluders in one example.
      distractor_probability: chance of one partial distractor person (two with half of it).
      distractor_in_front_probability: chance that a distractor is in front of the main person.
      truncation_probability: chance that the main person is cut by an image border.
      textured_background: textured, cluttered backgrounds; plain gradients when False.
      clothing_pattern_probability: chance of striped shirts and occluders.
      noise_std: the largest standard deviation of the additive pixel noise (0-255 scale).
      jpeg_quality: JPEG quality of the stored image.
    """

    image_height: int = 256
    image_width: int = 256
    person_height_range: tuple[float, float] = (110.0, 220.0)
    rotation_range_deg: float = 30.0
    view_probabilities: tuple[float, float, float] = (0.6, 0.2, 0.2)
    occluder_probability: float = 0.3
    max_occluders: int = 2
    distractor_probability: float = 0.3
    distractor_in_front_probability: float = 0.4
    truncation_probability: float = 0.05
    textured_background: bool = True
    clothing_pattern_probability: float = 0.3
    noise_std: float = 4.0
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        if self.image_height < 32 or self.image_width < 32:
            raise ValueError(
                "SyntheticConfig: image_height and image_width must be >= 32, got "
                f"{self.image_height}x{self.image_width}"
            )
        low, high = self.person_height_range
        if not 0 < low <= high:
            raise ValueError(
                "SyntheticConfig.person_height_range must be (min, max) with 0 < min <= max, "
                f"got {self.person_height_range}"
            )
        if not 0 <= self.rotation_range_deg <= 180:
            raise ValueError(
                f"SyntheticConfig.rotation_range_deg must be in [0, 180], "
                f"got {self.rotation_range_deg}"
            )
        views = np.asarray(self.view_probabilities, np.float64)
        if views.shape != (3,) or (views < 0).any() or not math.isclose(views.sum(), 1.0):
            raise ValueError(
                "SyntheticConfig.view_probabilities must be 3 non-negative numbers (front, back, "
                f"side) summing to 1, got {self.view_probabilities}"
            )
        for name in (
            "occluder_probability",
            "distractor_probability",
            "distractor_in_front_probability",
            "truncation_probability",
            "clothing_pattern_probability",
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"SyntheticConfig.{name} must be in [0, 1], got {value}")
        if not 1 <= self.max_occluders <= _MAX_OCCLUDERS:
            raise ValueError(
                f"SyntheticConfig.max_occluders must be in [1, {_MAX_OCCLUDERS}], "
                f"got {self.max_occluders}"
            )
        if self.noise_std < 0:
            raise ValueError(f"SyntheticConfig.noise_std must be >= 0, got {self.noise_std}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(
                f"SyntheticConfig.jpeg_quality must be in [1, 100], got {self.jpeg_quality}"
            )


@dataclasses.dataclass(frozen=True)
class LimbPose:
    """Angles of one arm or leg, in degrees.

    Attributes:
      elevation_deg: angle between the upper segment (upper arm, thigh) and straight down.
      azimuth_deg: where the upper segment is raised to: 0 outwards to the side, 90 forwards,
        -90 backwards, above 90 across the front of the body.
      twist_deg: rotation about the upper segment, which turns the plane the elbow or knee
        bends in.
      bend_deg: elbow or knee flexion, 0 straight. Elbows bend forwards, knees backwards.
    """

    elevation_deg: float = 0.0
    azimuth_deg: float = 0.0
    twist_deg: float = 0.0
    bend_deg: float = 0.0


@dataclasses.dataclass(frozen=True)
class BodyPose:
    """Joint angles of a whole body, in degrees (the trunk and head relative to the pelvis).

    Attributes:
      left_arm, right_arm, left_leg, right_leg: the limbs, on the person's own sides.
      torso_lean_deg: forward bend of the trunk.
      torso_side_deg: sideways bend towards the person's left.
      torso_twist_deg: rotation of the chest towards the person's left.
      head_pitch_deg: nod forwards.
      head_roll_deg: tilt towards the person's left shoulder.
      head_yaw_deg: face turned towards the person's left.
      foot_deg: ankle extension (toes pointing down).
    """

    left_arm: LimbPose = LimbPose(elevation_deg=20.0, azimuth_deg=0.0, bend_deg=10.0)
    right_arm: LimbPose = LimbPose(elevation_deg=20.0, azimuth_deg=0.0, bend_deg=10.0)
    left_leg: LimbPose = LimbPose(elevation_deg=5.0, azimuth_deg=0.0)
    right_leg: LimbPose = LimbPose(elevation_deg=5.0, azimuth_deg=0.0)
    torso_lean_deg: float = 0.0
    torso_side_deg: float = 0.0
    torso_twist_deg: float = 0.0
    head_pitch_deg: float = 0.0
    head_roll_deg: float = 0.0
    head_yaw_deg: float = 0.0
    foot_deg: float = 10.0


@dataclasses.dataclass(frozen=True)
class BodyShape:
    """Body proportions as fractions of the standing height (lengths, half-widths, radii)."""

    head: float = 0.125  # upper neck to head top
    neck: float = 0.055  # thorax to upper neck
    torso: float = 0.28  # pelvis to thorax
    shoulder_half: float = 0.105
    hip_half: float = 0.06
    upper_arm: float = 0.175
    forearm: float = 0.15
    hand: float = 0.085
    thigh: float = 0.235
    shin: float = 0.235
    foot: float = 0.1
    build: float = 1.0  # multiplies every radius and the trunk's girth


@dataclasses.dataclass(frozen=True)
class Appearance:
    """Colours (BGR) and clothing of one figure."""

    skin: tuple[int, int, int] = (160, 194, 241)
    hair: tuple[int, int, int] = (25, 40, 60)
    shirt: tuple[int, int, int] = (160, 60, 40)
    trousers: tuple[int, int, int] = (110, 60, 40)
    shoes: tuple[int, int, int] = (30, 30, 30)
    long_sleeves: bool = False
    sleeveless: bool = False
    shorts: bool = False
    shirt_stripes: tuple[float, float] | None = None  # (angle in degrees, period in pixels)


@dataclasses.dataclass(frozen=True)
class Figure:
    """One person placed in an image.

    Attributes:
      pose, shape, appearance: the body.
      height_px: standing height in pixels.
      yaw_deg: camera azimuth around the person: 0 front, 180 back, 90 the person's right side.
      pitch_deg: camera elevation (a small tilt of the body towards or away from the camera).
      roll_deg: in-plane rotation, clockwise on screen.
      torso_center: (x, y) image position of the middle of the thorax and the pelvis.
    """

    pose: BodyPose
    shape: BodyShape
    appearance: Appearance
    height_px: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    torso_center: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class Occluder:
    """An external object drawn in front of everyone.

    Attributes:
      polygon: convex polygon [N, 2] in image pixels.
      color: BGR fill colour.
      stripes: optional (angle in degrees, period in pixels) of a striped texture.
    """

    polygon: np.ndarray
    color: tuple[int, int, int]
    stripes: tuple[float, float] | None = None


@dataclasses.dataclass(frozen=True)
class Scene:
    """Everything needed to render one example deterministically.

    Attributes:
      background: [H, W, 3] uint8 BGR image.
      main: the annotated person.
      distractors: (figure, in_front_of_main) pairs.
      occluders: external occluders, drawn last.
      noise_seed: seed of the pixel noise, lighting and blur of the finished image.
      image_id: identifier stored in the example.
      noise_std: the largest standard deviation of the additive pixel noise.
    """

    background: np.ndarray
    main: Figure
    distractors: tuple[tuple[Figure, bool], ...] = ()
    occluders: tuple[Occluder, ...] = ()
    noise_seed: int = 0
    image_id: str = "synthetic"
    noise_std: float = 0.0


@dataclasses.dataclass(frozen=True)
class RenderedScene:
    """A rendered scene and its main person's annotation.

    Attributes:
      image: [H, W, 3] uint8 BGR.
      owner: [H, W] uint8 ownership buffer (see the module docstring for the ids).
      keypoints: [K, 2] float32 (x, y) pixels of the main person, also outside the image.
      visibility: [K] int64 in {0, 1, 2}.
      head_box: [4] float32 (x1, y1, x2, y2).
    """

    image: np.ndarray
    owner: np.ndarray
    keypoints: np.ndarray
    visibility: np.ndarray
    head_box: np.ndarray


# ---------------------------------------------------------------------------------------------
# 3D body.


def _rotation(axis: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotation matrix about the unit ``axis`` (right-handed), Rodrigues' formula."""
    x, y, z = axis
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    t = 1.0 - c
    return np.array(
        [
            [c + x * x * t, x * y * t - z * s, x * z * t + y * s],
            [y * x * t + z * s, c + y * y * t, y * z * t - x * s],
            [z * x * t - y * s, z * y * t + x * s, c + z * z * t],
        ]
    )


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit vector ``a`` to unit vector ``b``."""
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    if c < -0.999999:
        perpendicular = np.cross(a, _X if abs(a[0]) < 0.9 else _Y)
        return _rotation(perpendicular / np.linalg.norm(perpendicular), 180.0)
    vx = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])


def _limb_frame(limb: LimbPose, side: float, parent: np.ndarray) -> np.ndarray:
    """Frame of an upper limb segment: its ``-y`` column is the segment's direction."""
    e, a = math.radians(limb.elevation_deg), math.radians(limb.azimuth_deg)
    local = -math.cos(e) * _Y + math.sin(e) * (math.cos(a) * side * _X + math.sin(a) * _Z)
    direction = parent @ local
    base = _rotation_between(-parent[:, 1], direction) @ parent
    # A mirrored twist keeps the two sides mirror images of each other.
    return _rotation(direction, side * limb.twist_deg) @ base


@dataclasses.dataclass(frozen=True)
class _Body3d:
    """Joint positions [K, 3] in the body frame (unit height), with the frames needed to draw."""

    joints: np.ndarray
    chest_frame: np.ndarray
    head_frame: np.ndarray
    hand_tips: dict[str, np.ndarray]
    toe_tips: dict[str, np.ndarray]


def _pose_body(pose: BodyPose, shape: BodyShape) -> _Body3d:
    """Forward kinematics: joint positions with the pelvis at the origin, height 1."""
    joints = np.zeros((SKELETON.num_keypoints, 3))

    def put(name: str, point: np.ndarray) -> None:
        joints[SKELETON.index(name)] = point

    pelvis_frame = np.eye(3)
    # Positive angles: twist turns the chest to the left, side bends to the left (+x), lean
    # bends forwards (+y towards +z).
    chest_frame = (
        _rotation(_Y, pose.torso_twist_deg)
        @ _rotation(_Z, -pose.torso_side_deg)
        @ _rotation(_X, pose.torso_lean_deg)
    )
    pelvis = np.zeros(3)
    thorax = pelvis + chest_frame @ (shape.torso * _Y)
    neck_frame = chest_frame @ _rotation(_X, 0.5 * pose.head_pitch_deg)
    neck = thorax + neck_frame @ (shape.neck * _Y)
    head_frame = (
        chest_frame
        @ _rotation(_Y, pose.head_yaw_deg)
        @ _rotation(_Z, -pose.head_roll_deg)
        @ _rotation(_X, pose.head_pitch_deg)
    )
    put("pelvis", pelvis)
    put("thorax", thorax)
    put("neck", neck)
    put("head_top", neck + head_frame @ (shape.head * _Y))

    hand_tips, toe_tips = {}, {}
    for side_name, side in (("left", 1.0), ("right", -1.0)):
        arm = pose.left_arm if side > 0 else pose.right_arm
        leg = pose.left_leg if side > 0 else pose.right_leg

        shoulder = thorax + chest_frame @ np.array([side * shape.shoulder_half, -0.015, 0.0])
        frame = _limb_frame(arm, side, chest_frame)
        upper, forward = -frame[:, 1], frame[:, 2]
        b = math.radians(arm.bend_deg)
        lower = math.cos(b) * upper + math.sin(b) * forward
        elbow = shoulder + shape.upper_arm * upper
        wrist = elbow + shape.forearm * lower
        put(f"{side_name}_shoulder", shoulder)
        put(f"{side_name}_elbow", elbow)
        put(f"{side_name}_wrist", wrist)
        hand_tips[side_name] = wrist + shape.hand * lower

        hip = pelvis + pelvis_frame @ np.array([side * shape.hip_half, 0.0, 0.0])
        frame = _limb_frame(leg, side, pelvis_frame)
        upper, backward = -frame[:, 1], -frame[:, 2]
        b = math.radians(leg.bend_deg)
        lower = math.cos(b) * upper + math.sin(b) * backward
        # The foot is perpendicular to the shin in the knee's bending plane, pointing forwards,
        # then extended at the ankle towards the shin's direction.
        foot = math.sin(b) * upper - math.cos(b) * backward
        f = math.radians(pose.foot_deg)
        foot = math.cos(f) * foot + math.sin(f) * lower
        knee = hip + shape.thigh * upper
        ankle = knee + shape.shin * lower
        put(f"{side_name}_hip", hip)
        put(f"{side_name}_knee", knee)
        put(f"{side_name}_ankle", ankle)
        toe_tips[side_name] = ankle + shape.foot * foot - 0.03 * lower
    return _Body3d(joints, chest_frame, head_frame, hand_tips, toe_tips)


# ---------------------------------------------------------------------------------------------
# Projection and body-part polygons (unit height, relative to the torso centre).


def _camera_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Maps body coordinates to (image x, image y, depth towards the camera), unit height."""
    camera = _rotation(_X, pitch_deg) @ _rotation(_Y, yaw_deg)
    r = math.radians(roll_deg)
    c, s = math.cos(r), math.sin(r)
    in_plane = np.array([[c, -s], [s, c]]) @ np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    return np.concatenate([in_plane @ camera, camera[2:3]], axis=0)


_CIRCLE = np.stack(
    [
        np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False)),
        np.sin(np.linspace(0, 2 * np.pi, 12, endpoint=False)),
    ],
    axis=1,
)
_ELLIPSE = np.stack(
    [
        np.cos(np.linspace(0, 2 * np.pi, 28, endpoint=False)),
        np.sin(np.linspace(0, 2 * np.pi, 28, endpoint=False)),
    ],
    axis=1,
)


def _hull(points: np.ndarray) -> np.ndarray:
    return cv2.convexHull(points.astype(np.float32))[:, 0, :].astype(np.float64)


def _capsule(p0: np.ndarray, p1: np.ndarray, r0: float, r1: float) -> np.ndarray:
    """Convex polygon of a tapered limb: the hull of two discs."""
    return _hull(np.concatenate([p0 + r0 * _CIRCLE, p1 + r1 * _CIRCLE]))


def _ellipse(center: np.ndarray, axis: np.ndarray, minor: float) -> np.ndarray:
    """Polygon of an ellipse with semi-major vector ``axis`` and semi-minor length ``minor``."""
    length = float(np.linalg.norm(axis))
    u = axis / length if length > 1e-9 else np.array([0.0, -1.0])
    v = np.array([-u[1], u[0]])
    return center + _ELLIPSE[:, :1] * (length * u) + _ELLIPSE[:, 1:] * (minor * v)


def _clip_to_ellipse(
    points: np.ndarray, center: np.ndarray, axis: np.ndarray, minor: float
) -> np.ndarray:
    """Pulls the points outside an ellipse radially onto its boundary."""
    length = float(np.linalg.norm(axis))
    u = axis / length
    v = np.array([-u[1], u[0]])
    offsets = points - center
    radius = np.hypot(offsets @ u / length, offsets @ v / minor)
    return center + offsets * np.minimum(1.0, 1.0 / np.maximum(radius, 1e-9))[:, None]


@dataclasses.dataclass(frozen=True)
class _Drawable:
    """A convex polygon in unit-height figure coordinates, owned by one body part."""

    part: int
    polygon: np.ndarray
    depth: float
    color_key: str
    decorations: tuple[tuple[np.ndarray, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class _FigureGeometry:
    """A projected figure at unit height with the torso centre at the origin."""

    joints: np.ndarray  # [K, 2]
    drawables: tuple[_Drawable, ...]  # in painter's order, far to near
    head_length: float
    head_axis: np.ndarray  # [2] projected neck-to-head-top direction

    def extent(self) -> tuple[float, float, float, float]:
        points = np.concatenate([d.polygon for d in self.drawables] + [self.joints])
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


def _figure_geometry(
    pose: BodyPose, shape: BodyShape, yaw_deg: float, pitch_deg: float, roll_deg: float
) -> _FigureGeometry:
    body = _pose_body(pose, shape)
    camera = _camera_matrix(yaw_deg, pitch_deg, roll_deg)
    j3 = body.joints
    thorax_i, pelvis_i = SKELETON.index("thorax"), SKELETON.index("pelvis")
    origin = 0.5 * (j3[thorax_i] + j3[pelvis_i])

    def project(points: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(points) - origin) @ camera.T

    projected = project(j3)
    joints2d, depth = projected[:, :2], projected[:, 2]
    toward_camera = camera[2]  # the body-frame direction that points at the camera

    def joint(name: str) -> np.ndarray:
        return joints2d[SKELETON.index(name)]

    def joint_depth(*names: str) -> float:
        return float(np.mean([depth[SKELETON.index(n)] for n in names]))

    g = shape.build
    part_index = {name: i for i, name in enumerate(PART_NAMES)}
    drawables: list[tuple[float, _Drawable]] = []

    def add(part: str, polygon: np.ndarray, z: float, kind: str, color_key: str, deco=()) -> None:
        drawable = _Drawable(part_index[part], polygon, z, color_key, tuple(deco))
        drawables.append((z + _DRAW_PRIORITY[kind], drawable))

    # Trunk halves: hull of elliptical cross-sections at six heights.
    chest, pelvis_frame = body.chest_frame, np.eye(3)
    thorax3, pelvis3 = j3[thorax_i], j3[pelvis_i]
    chest_half_depth, hip_half_depth = 0.065 * g, 0.06 * g
    levels = (
        (thorax3 + chest @ np.array([0.0, 0.012, 0.0]), chest, 0.05 * g, 0.04 * g),
        (
            thorax3 + chest @ np.array([0.0, -0.02, 0.0]),
            chest,
            shape.shoulder_half + 0.03 * g,
            chest_half_depth,
        ),
        (
            thorax3 + 0.3 * (pelvis3 - thorax3),
            chest,
            0.85 * shape.shoulder_half + 0.02 * g,
            chest_half_depth,
        ),
        (thorax3 + 0.65 * (pelvis3 - thorax3), chest, 0.072 * g, 0.9 * chest_half_depth),
        (pelvis3, pelvis_frame, shape.hip_half + 0.05 * g, hip_half_depth),
        (pelvis3 - 0.05 * _Y, pelvis_frame, shape.hip_half + 0.03 * g, 0.8 * hip_half_depth),
    )
    angles = np.radians([-90.0, -45.0, 0.0, 45.0, 90.0])
    for side_name, side in (("left", 1.0), ("right", -1.0)):
        points = []
        for center, frame, half_width, half_depth in levels:
            local = np.stack(
                [side * half_width * np.cos(angles), np.zeros(5), half_depth * np.sin(angles)], 1
            )
            points.append(center + local @ frame.T)
        polygon = _hull(project(np.concatenate(points))[:, :2])
        z = joint_depth(f"{side_name}_shoulder", f"{side_name}_hip", "thorax", "pelvis")
        add(f"torso_{side_name}", polygon, z, "torso", "shirt")

    # Neck and head, with the face drawn on the side the head faces.
    add(
        "neck",
        _capsule(joint("thorax"), joint("neck"), 0.03 * g, 0.028 * g),
        joint_depth("thorax", "neck"),
        "neck",
        "skin",
    )
    head_length = shape.head
    head_up = body.head_frame[:, 1]
    head_center3 = 0.5 * (j3[SKELETON.index("neck")] + j3[SKELETON.index("head_top")])
    head_center = project(head_center3)[0, :2]
    head_axis = camera[:2] @ head_up
    head_minor = 0.4 * head_length
    major = 0.55 * head_length * head_axis
    if np.linalg.norm(major) < head_minor:
        major = major / max(np.linalg.norm(major), 1e-9) * head_minor
    head_polygon = _ellipse(head_center, major, head_minor)
    decorations = []
    face_dir = body.head_frame[:, 2]
    facing = float(face_dir @ toward_camera)
    face_width = float(np.clip((facing + 0.2) / 0.5, 0.0, 1.0))
    if face_width > 0:
        face_center = project(
            head_center3 + body.head_frame @ np.array([0.0, -0.08, 0.2]) * head_length
        )[0, :2]
        face = _ellipse(face_center, 0.4 * head_length * head_axis, 0.3 * head_length * face_width)
        decorations.append((_clip_to_ellipse(face, head_center, major, head_minor), "skin"))
    for eye_side in (1.0, -1.0):
        normal = body.head_frame @ np.array([0.35 * eye_side, 0.0, 0.94])
        if float(normal @ toward_camera) > 0.3:
            eye = project(
                head_center3
                + body.head_frame @ np.array([0.14 * eye_side, 0.02, 0.36]) * head_length
            )[0, :2]
            decorations.append((eye + 0.05 * head_length * _CIRCLE, "eye"))
    if facing > 0.35:
        mouth = project(
            head_center3 + body.head_frame @ np.array([0.0, -0.22, 0.34]) * head_length
        )[0, :2]
        mouth_axis = camera[:2] @ body.head_frame[:, 0]
        decorations.append(
            (_ellipse(mouth, 0.08 * head_length * mouth_axis, 0.025 * head_length), "mouth")
        )
    add(
        "head",
        head_polygon,
        float(project(head_center3)[0, 2]),
        "head",
        "hair",
        decorations,
    )

    # Limbs.
    for side_name in ("left", "right"):
        s = side_name
        hand_tip = project(body.hand_tips[s])[0]
        toe_tip = project(body.toe_tips[s])[0]
        segments = (
            (f"{s}_upper_arm", f"{s}_shoulder", f"{s}_elbow", 0.036, 0.028, "limb", "sleeve"),
            (f"{s}_forearm", f"{s}_elbow", f"{s}_wrist", 0.027, 0.021, "limb", "forearm"),
            (f"{s}_thigh", f"{s}_hip", f"{s}_knee", 0.058, 0.04, "limb", "trousers"),
            (f"{s}_shin", f"{s}_knee", f"{s}_ankle", 0.038, 0.026, "limb", "shin"),
        )
        for part, a, b, r0, r1, kind, color_key in segments:
            add(
                part,
                _capsule(joint(a), joint(b), r0 * g, r1 * g),
                joint_depth(a, b),
                kind,
                color_key,
            )
        wrist_i, ankle_i = SKELETON.index(f"{s}_wrist"), SKELETON.index(f"{s}_ankle")
        add(
            f"{s}_hand",
            _capsule(joints2d[wrist_i], hand_tip[:2], 0.021 * g, 0.024 * g),
            0.5 * (depth[wrist_i] + hand_tip[2]),
            "end",
            "skin",
        )
        add(
            f"{s}_foot",
            _capsule(joints2d[ankle_i], toe_tip[:2], 0.026 * g, 0.022 * g),
            0.5 * (depth[ankle_i] + toe_tip[2]),
            "end",
            "shoes",
        )

    drawables.sort(key=lambda item: item[0])
    return _FigureGeometry(
        joints=joints2d,
        drawables=tuple(d for _, d in drawables),
        head_length=head_length,
        head_axis=head_axis,
    )


@functools.lru_cache(maxsize=16)
def _cached_geometry(
    pose: BodyPose, shape: BodyShape, yaw_deg: float, pitch_deg: float, roll_deg: float
) -> _FigureGeometry:
    return _figure_geometry(pose, shape, yaw_deg, pitch_deg, roll_deg)


def _geometry(figure: Figure) -> _FigureGeometry:
    return _cached_geometry(
        figure.pose, figure.shape, figure.yaw_deg, figure.pitch_deg, figure.roll_deg
    )


def figure_keypoints(figure: Figure) -> np.ndarray:
    """Image positions [K, 2] of a figure's joints (MPII order), inside the image or not."""
    geometry = _geometry(figure)
    return (geometry.joints * figure.height_px + np.asarray(figure.torso_center)).astype(np.float32)


def figure_head_box(figure: Figure) -> np.ndarray:
    """The MPII-style head box (x1, y1, x2, y2) of a figure.

    The box is the axis-aligned bounding box of an ellipse centred between the upper neck and
    the head top, ``head`` long along the projected head axis and ``0.75 * head`` wide, where
    ``head`` is the neck-to-head-top length in 3D. Its diagonal is ~1.25 ``head`` whatever the
    head's orientation, the ratio measured on the MPII validation annotations, so the PCKh
    threshold keeps the same meaning as on MPII.
    """
    geometry = _geometry(figure)
    keypoints = figure_keypoints(figure)
    center = 0.5 * (
        keypoints[SKELETON.index("neck")] + keypoints[SKELETON.index("head_top")]
    ).astype(np.float64)
    length = geometry.head_length * figure.height_px
    axis = geometry.head_axis
    angle = math.atan2(axis[1], axis[0]) if np.linalg.norm(axis) > 1e-6 else math.pi / 2
    a, b = 0.5 * length, 0.375 * length
    half_x = math.hypot(a * math.cos(angle), b * math.sin(angle))
    half_y = math.hypot(a * math.sin(angle), b * math.cos(angle))
    return np.array(
        [center[0] - half_x, center[1] - half_y, center[0] + half_x, center[1] + half_y],
        np.float32,
    )


# ---------------------------------------------------------------------------------------------
# Rendering.


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


# ---------------------------------------------------------------------------------------------
# Sampling.


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


def sample_scene(seed: int, index: int, config: SyntheticConfig = SyntheticConfig()) -> Scene:
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


# ---------------------------------------------------------------------------------------------
# Examples.


def scene_to_example(scene: Scene, jpeg_quality: int = 90) -> PoseExample:
    """Renders ``scene`` and packs its main person into a :class:`PoseExample`."""
    rendered = render_scene(scene)
    ok, encoded = cv2.imencode(".jpg", rendered.image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {scene.image_id}")
    height, width = rendered.image.shape[:2]
    return PoseExample(
        image_bytes=encoded.tobytes(),
        image_format="jpeg",
        image_height=height,
        image_width=width,
        image_id=scene.image_id,
        keypoints=rendered.keypoints,
        visibility=rendered.visibility,
        center=np.asarray(scene.main.torso_center, np.float32),
        scale=scene.main.height_px / SCALE_UNIT_PX,
        dataset=DATASET_NAME,
        skeleton=SKELETON.name,
        head_box=rendered.head_box,
        occlusion_labelled=True,
    )


def generate_example(
    seed: int, index: int, config: SyntheticConfig = SyntheticConfig()
) -> PoseExample:
    """Example ``index`` of the synthetic dataset ``seed``.

    Args:
      seed: non-negative dataset seed.
      index: non-negative example index; each index is independent of every other.
      config: generator knobs.

    Returns:
      A :class:`PoseExample` (MPII skeleton, JPEG image of ``config`` size, head box,
      occlusion labels; ``center`` is the middle of the thorax and the pelvis and ``scale`` the
      standing height / 200 px).
    """
    return scene_to_example(sample_scene(seed, index, config), config.jpeg_quality)


def _init_worker() -> None:
    # One process per core already; OpenCV's own threads would only compete with it.
    cv2.setNumThreads(1)


def generate_examples(
    num_examples: int,
    seed: int,
    config: SyntheticConfig = SyntheticConfig(),
    start: int = 0,
    num_workers: int = 1,
) -> Iterator[PoseExample]:
    """Yields examples ``start, ..., start + num_examples - 1`` in index order.

    With ``num_workers > 1`` the examples are made by a pool of processes; the order and
    content are identical to ``num_workers=1``.
    """
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    indices = range(start, start + num_examples)
    if num_workers == 1 or num_examples <= 1:
        for index in indices:
            yield generate_example(seed, index, config)
        return
    # Fresh ("spawn") workers: a forked child that touches OpenCV's thread pool, inherited from
    # a parent that already used it, can deadlock (seen in pthread_cond_destroy).
    context = multiprocessing.get_context("spawn")
    chunksize = max(1, min(64, num_examples // (8 * num_workers)))
    work = functools.partial(generate_example, seed, config=config)
    with context.Pool(num_workers, initializer=_init_worker) as pool:
        yield from pool.imap(work, indices, chunksize=chunksize)


# ---------------------------------------------------------------------------------------------
# Contact sheet.

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
    config: SyntheticConfig = SyntheticConfig(),
    num_examples: int = 16,
    columns: int = 4,
) -> str:
    """Writes a PNG grid of the first ``num_examples`` examples of ``seed`` to ``path``."""
    sheet = contact_sheet(list(generate_examples(num_examples, seed, config)), columns)
    if not cv2.imwrite(path, sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"could not write the contact sheet to {path!r}")
    return path


def benchmark(num_examples: int, seed: int = 0, num_workers: int = 1) -> dict[str, float]:
    """Times the generation of ``num_examples`` examples and summarises their labels."""
    start = time.perf_counter()
    counts = np.zeros(3, np.int64)
    for example in generate_examples(num_examples, seed, num_workers=num_workers):
        counts += np.bincount(example.visibility, minlength=3)
    seconds = time.perf_counter() - start
    total = max(int(counts.sum()), 1)
    return {
        "examples": float(num_examples),
        "seconds": seconds,
        "examples_per_second": num_examples / max(seconds, 1e-9),
        "visible_fraction": counts[VISIBLE] / total,
        "occluded_fraction": counts[OCCLUDED] / total,
        "outside_fraction": counts[NOT_ANNOTATED] / total,
    }


def _main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not _CONTACT_SHEET.value and not _BENCHMARK_EXAMPLES.value:
        raise app.UsageError("give --contact_sheet=PATH and/or --benchmark_examples=N")
    if _CONTACT_SHEET.value:
        print("wrote", write_contact_sheet(_CONTACT_SHEET.value, seed=_SEED.value))
    if _BENCHMARK_EXAMPLES.value:
        result = benchmark(_BENCHMARK_EXAMPLES.value, _SEED.value, _NUM_WORKERS.value)
        print(
            f"{int(result['examples'])} examples in {result['seconds']:.1f} s with "
            f"{_NUM_WORKERS.value} worker(s): {result['examples_per_second']:.1f} examples/s; "
            f"joints visible {result['visible_fraction']:.1%}, occluded "
            f"{result['occluded_fraction']:.1%}, outside the image {result['outside_fraction']:.1%}"
        )


if __name__ == "__main__":
    from absl import app, flags

    # Defined here, not at import time, so that importing this module never clashes with the
    # flags of a command-line module that uses it.
    _CONTACT_SHEET = flags.DEFINE_string("contact_sheet", None, "Write a 4x4 PNG sheet here.")
    _SEED = flags.DEFINE_integer("seed", 0, "Dataset seed.", lower_bound=0)
    _BENCHMARK_EXAMPLES = flags.DEFINE_integer(
        "benchmark_examples", 0, "Generate this many examples and report the speed.", lower_bound=0
    )
    _NUM_WORKERS = flags.DEFINE_integer(
        "num_workers", 1, "Processes used by --benchmark_examples.", lower_bound=1
    )
    app.run(_main)
