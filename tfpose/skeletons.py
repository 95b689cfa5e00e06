"""Skeleton definitions: joint names, flip partners, limbs and PCK references.

This module is data only. Every other module asks a :class:`Skeleton` for joint indices
(``skeleton.index("left_shoulder")``) instead of hard-coding numbers.

Conventions used everywhere in tfpose:
  * Keypoints are ``(x, y)`` in pixels, ``x`` to the right, ``y`` down.
  * Left/right are **person-centric**: ``left_wrist`` is the person's own left wrist, which
    appears on the observer's right for a person facing the camera (MPII, LSP and COCO all
    label this way).
  * Joint indices are 0-based.
"""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class PckReference:
    """How the per-person reference length of a PCK metric is measured.

    Attributes:
      kind: ``"head_box"`` (MPII PCKh: ``factor`` × the head-box diagonal) or ``"joints"``
        (``factor`` × the distance between two joints, e.g. the LSP torso).
      joints: for ``kind="joints"``, the two joint names.
      factor: multiplier applied to the raw length (0.6 for MPII PCKh).
    """

    kind: Literal["head_box", "joints"]
    joints: tuple[str, str] | None = None
    factor: float = 1.0


@dataclasses.dataclass(frozen=True)
class Skeleton:
    """A keypoint layout.

    Attributes:
      name: short identifier stored in every record (``"mpii"``, ``"lsp"``, ``"coco"``).
      joint_names: K names in index order.
      flip_pairs: index pairs swapped by a horizontal flip.
      limbs: index pairs; a limb map is drawn between the two joints.
      pck_reference: the reference length of this dataset's PCK protocol.
    """

    name: str
    joint_names: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    limbs: tuple[tuple[int, int], ...]
    pck_reference: PckReference

    @property
    def num_keypoints(self) -> int:
        return len(self.joint_names)

    @property
    def num_limbs(self) -> int:
        return len(self.limbs)

    def index(self, joint_name: str) -> int:
        try:
            return self.joint_names.index(joint_name)
        except ValueError:
            raise KeyError(
                f"skeleton {self.name!r} has no joint {joint_name!r}; "
                f"its joints are {', '.join(self.joint_names)}"
            ) from None

    @property
    def flip_permutation(self) -> tuple[int, ...]:
        """``perm[k]`` is the joint that joint ``k`` becomes after a horizontal flip."""
        perm = list(range(self.num_keypoints))
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return tuple(perm)

    @property
    def limb_flip_permutation(self) -> tuple[int, ...]:
        """``perm[l]`` is the limb that limb ``l`` becomes after a horizontal flip."""
        joint_perm = self.flip_permutation
        unordered = [frozenset(limb) for limb in self.limbs]
        perm = []
        for a, b in self.limbs:
            flipped = frozenset((joint_perm[a], joint_perm[b]))
            if flipped not in unordered:
                raise ValueError(f"skeleton {self.name!r}: limb {(a, b)} has no mirror limb")
            perm.append(unordered.index(flipped))
        return tuple(perm)


# MPII and LSP list the legs, and the arms, in the same order: from the right ankle (wrist) up
# the right limb, then down the left one.
_LEGS = ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle")
_ARMS = (
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)

# MPII Human Pose, 16 joints, in the order of the official release and of
# ../shared/reference/methods.md. The official name of joint 8 is "upper neck"; it is called
# "neck" here so that it corresponds by name to LSP's neck.
MPII = Skeleton(
    name="mpii",
    joint_names=_LEGS + ("pelvis", "thorax", "neck", "head_top") + _ARMS,
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    # The 15 "body part" maps of the recurrent network (Belagiannis & Zisserman), from the
    # released MatConvNet code (1-based there): (1,2) (2,3) (3,7) (4,5) (5,6) (7,4) (8,10)
    # (9,10) (11,12) (12,13) (13,8) (14,8) (14,15) (15,16) (7,8).
    limbs=(
        (0, 1),
        (1, 2),
        (2, 6),
        (3, 4),
        (4, 5),
        (6, 3),
        (7, 9),
        (8, 9),
        (10, 11),
        (11, 12),
        (12, 7),
        (13, 7),
        (13, 14),
        (14, 15),
        (6, 7),
    ),
    # PCKh: 0.6 × head-box diagonal (the MPII evaluation code's "SC_BIAS").
    pck_reference=PckReference(kind="head_box", factor=0.6),
)

# Leeds Sports Pose (LSP and LSP Extended), 14 joints, order of the datasets' README.
LSP = Skeleton(
    name="lsp",
    joint_names=_LEGS + _ARMS + ("neck", "head_top"),
    flip_pairs=((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9)),
    # LSP has no pelvis or thorax, so the MPII limbs through them become the limbs the
    # same body parts span here: hip-to-hip for the pelvis, hip-to-shoulder for each side
    # of the trunk, shoulder-to-neck for the collar bones. 14 limbs, closed under flipping.
    limbs=(
        (0, 1),
        (1, 2),
        (5, 4),
        (4, 3),
        (2, 3),
        (2, 8),
        (3, 9),
        (12, 13),
        (6, 7),
        (7, 8),
        (11, 10),
        (10, 9),
        (8, 12),
        (9, 12),
    ),
    # LSP PCK: the torso, ‖left shoulder − right hip‖.
    pck_reference=PckReference(kind="joints", joints=("left_shoulder", "right_hip")),
)

# COCO person keypoints, 17 joints, order of the official annotation files.
COCO = Skeleton(
    name="coco",
    joint_names=(
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    # The "skeleton" field of COCO's person category, converted to 0-based indices.
    limbs=(
        (15, 13),
        (13, 11),
        (16, 14),
        (14, 12),
        (11, 12),
        (5, 11),
        (6, 12),
        (5, 6),
        (5, 7),
        (6, 8),
        (7, 9),
        (8, 10),
        (1, 2),
        (0, 1),
        (0, 2),
        (1, 3),
        (2, 4),
        (3, 5),
        (4, 6),
    ),
    # COCO has no PCK protocol of its own; the LSP torso is the usual stand-in.
    pck_reference=PckReference(kind="joints", joints=("left_shoulder", "right_hip")),
)

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (MPII, LSP, COCO)}


def get_skeleton(name: str) -> Skeleton:
    """Returns the skeleton called ``name``, with a readable error for unknown names."""
    try:
        return SKELETONS[name]
    except KeyError:
        raise KeyError(
            f"unknown skeleton {name!r}; known: {', '.join(sorted(SKELETONS))}"
        ) from None


def joint_correspondence(source: Skeleton, target: Skeleton) -> tuple[tuple[int, int], ...]:
    """Index pairs ``(source_index, target_index)`` of the joints both skeletons share.

    Joints correspond by name: MPII↔LSP share 14 joints, COCO→LSP 12 (shoulders, elbows,
    wrists, hips, knees, ankles).
    """
    return tuple(
        (i, target.joint_names.index(name))
        for i, name in enumerate(source.joint_names)
        if name in target.joint_names
    )
