"""Configuration, constants (body parts, owner ids) and the scene dataclasses."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from tfpose import skeletons

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
      owner: [H, W] uint8 ownership buffer (ids: see "Owner ids" above, the occlusion rule in the
        package docstring).
      keypoints: [K, 2] float32 (x, y) pixels of the main person, also outside the image.
      visibility: [K] int64 in {0, 1, 2}.
      head_box: [4] float32 (x1, y1, x2, y2).
    """

    image: np.ndarray
    owner: np.ndarray
    keypoints: np.ndarray
    visibility: np.ndarray
    head_box: np.ndarray
