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

Layout of the package (everything below is re-exported here, so ``synthetic.X`` works):
  * ``config``: :class:`SyntheticConfig`, the scene dataclasses and the constants (body parts,
    owner ids).
  * ``body``: 3D body posing, projection, body-part polygons, :func:`figure_keypoints`,
    :func:`figure_head_box`.
  * ``render``: :func:`render_scene` and :func:`joint_visibility`.
  * ``sampling``: :func:`sample_pose`, :func:`sample_shape`, :func:`sample_appearance` (and
    its colour palettes), backgrounds, occluders and :func:`sample_scene`.
  * ``examples``: :func:`scene_to_example`, :func:`generate_example`,
    :func:`generate_examples`, :func:`benchmark`.
  * ``sheet``: :func:`draw_annotation`, :func:`contact_sheet`, :func:`write_contact_sheet`.
  * ``__main__``: the command line above.

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

from tfpose.data.synthetic.body import figure_head_box, figure_keypoints
from tfpose.data.synthetic.config import (
    ATTACHED_PARTS,
    DATASET_NAME,
    NUM_PARTS,
    PART_NAMES,
    SKELETON,
    Appearance,
    BodyPose,
    BodyShape,
    Figure,
    LimbPose,
    Occluder,
    RenderedScene,
    Scene,
    SyntheticConfig,
)
from tfpose.data.synthetic.examples import (
    benchmark,
    generate_example,
    generate_examples,
    scene_to_example,
)
from tfpose.data.synthetic.render import joint_visibility, render_scene
from tfpose.data.synthetic.sampling import (
    sample_appearance,
    sample_pose,
    sample_scene,
    sample_shape,
)
from tfpose.data.synthetic.sheet import contact_sheet, draw_annotation, write_contact_sheet

__all__ = [
    "ATTACHED_PARTS",
    "DATASET_NAME",
    "NUM_PARTS",
    "PART_NAMES",
    "SKELETON",
    "Appearance",
    "BodyPose",
    "BodyShape",
    "Figure",
    "LimbPose",
    "Occluder",
    "RenderedScene",
    "Scene",
    "SyntheticConfig",
    "benchmark",
    "contact_sheet",
    "draw_annotation",
    "figure_head_box",
    "figure_keypoints",
    "generate_example",
    "generate_examples",
    "joint_visibility",
    "render_scene",
    "sample_appearance",
    "sample_pose",
    "sample_scene",
    "sample_shape",
    "scene_to_example",
    "write_contact_sheet",
]
