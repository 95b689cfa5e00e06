"""3D body posing, projection, body-part polygons and a placed figure's keypoints and head box."""

from __future__ import annotations

import dataclasses
import functools
import math

import cv2
import numpy as np

from tfpose.data.synthetic.config import (
    _DRAW_PRIORITY,
    PART_NAMES,
    SKELETON,
    BodyPose,
    BodyShape,
    Figure,
    LimbPose,
)

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


_ARM_JOINTS = ("shoulder", "elbow", "wrist")
_LEG_JOINTS = ("hip", "knee", "ankle")


@dataclasses.dataclass(frozen=True)
class _Limb:
    """A posed arm or leg: its joints (root, middle, end), the unit directions of its upper and
    lower segments, and ``across``: the unit direction perpendicular to the lower segment in the
    bending plane, on the side away from the bend (where a foot points)."""

    joints: tuple[np.ndarray, np.ndarray, np.ndarray]
    upper: np.ndarray
    lower: np.ndarray
    across: np.ndarray


def _pose_limb(
    limb: LimbPose,
    side: float,
    parent: np.ndarray,
    root: np.ndarray,
    lengths: tuple[float, float],
    bends_forwards: bool,
) -> _Limb:
    """Places a limb from its ``root`` joint; elbows bend forwards, knees backwards."""
    frame = _limb_frame(limb, side, parent)
    upper = -frame[:, 1]
    bend = frame[:, 2] if bends_forwards else -frame[:, 2]
    b = math.radians(limb.bend_deg)
    lower = math.cos(b) * upper + math.sin(b) * bend
    middle = root + lengths[0] * upper
    across = math.sin(b) * upper - math.cos(b) * bend
    return _Limb((root, middle, middle + lengths[1] * lower), upper, lower, across)


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
        arm = _pose_limb(
            pose.left_arm if side > 0 else pose.right_arm,
            side,
            chest_frame,
            thorax + chest_frame @ np.array([side * shape.shoulder_half, -0.015, 0.0]),
            (shape.upper_arm, shape.forearm),
            bends_forwards=True,
        )
        hand_tips[side_name] = arm.joints[2] + shape.hand * arm.lower

        leg = _pose_limb(
            pose.left_leg if side > 0 else pose.right_leg,
            side,
            pelvis_frame,
            pelvis + pelvis_frame @ np.array([side * shape.hip_half, 0.0, 0.0]),
            (shape.thigh, shape.shin),
            bends_forwards=False,
        )
        # The foot is perpendicular to the shin in the knee's bending plane, pointing forwards,
        # then extended at the ankle towards the shin's direction.
        f = math.radians(pose.foot_deg)
        foot = math.cos(f) * leg.across + math.sin(f) * leg.lower
        toe_tips[side_name] = leg.joints[2] + shape.foot * foot - 0.03 * leg.lower

        for limb, names in ((arm, _ARM_JOINTS), (leg, _LEG_JOINTS)):
            for name, point in zip(names, limb.joints, strict=True):
                put(f"{side_name}_{name}", point)
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
        # Hands and feet: from the wrist or ankle to the tip, radii at both ends.
        for part, end, tips, r0, r1, color_key in (
            ("hand", "wrist", body.hand_tips, 0.021, 0.024, "skin"),
            ("foot", "ankle", body.toe_tips, 0.026, 0.022, "shoes"),
        ):
            end_i, tip = SKELETON.index(f"{s}_{end}"), project(tips[s])[0]
            add(
                f"{s}_{part}",
                _capsule(joints2d[end_i], tip[:2], r0 * g, r1 * g),
                0.5 * (depth[end_i] + tip[2]),
                "end",
                color_key,
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
