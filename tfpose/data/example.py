"""The one person-level example format that every dataset is converted to.

A :class:`PoseExample` holds one annotated person in one image. It is written to TFRecord as a
``tf.train.Example`` with the features below and read back with :func:`parse_example`.

Shape legend: K = number of keypoints of the record's skeleton.

| feature                   | type        | meaning                                                |
|--------------------------|-------------|---------------------------------------------------------|
| ``image/encoded``         | bytes       | the original JPEG/PNG file bytes, never re-encoded     |
| ``image/format``          | bytes       | ``jpeg`` or ``png``                                    |
| ``image/height``, ``/width`` | int64    | image size in pixels                                   |
| ``image/id``              | bytes       | image identifier (file name)                           |
| ``person/keypoints``      | float [K*2] | (x, y) in image pixels, row-major [K, 2]               |
| ``person/visibility``     | int64 [K]   | 0 not annotated, 1 annotated but occluded, 2 visible   |
| ``person/center``         | float [2]   | person centre (x, y) in pixels                         |
| ``person/scale``          | float       | person height / 200 px                                 |
| ``person/head_box``       | float [4]   | (x1, y1, x2, y2), zeros when absent                    |
| ``person/has_head_box``   | int64       | 1 when ``head_box`` is meaningful                      |
| ``person/occlusion_labelled`` | int64   | 1 when the dataset distinguishes occluded from visible |
| ``dataset``, ``skeleton`` | bytes       | dataset name and :mod:`tfpose.skeletons` name          |
| ``image/coco_id``         | int64       | optional: COCO's integer image id; -1 when absent      |
| ``person/area``           | float       | optional: COCO's annotation area (px²); 0 when absent  |

The two optional features are written only by the COCO converter: COCO's keypoint AP needs the
image id (results are matched to the annotation file by it) and the area (the OKS scale, and
the medium/large split). Records without them, from other datasets or written before they were
kept, parse with the defaults :data:`NO_COCO_ID` and 0.

Visibility keeps the occluded/visible distinction where a dataset provides it (MPII, COCO,
original LSP, synthetic). LSP Extended has no occlusion labels: all its annotated joints are
stored as 2 with ``occlusion_labelled = 0``, so code that needs occlusion labels can tell.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

NOT_ANNOTATED = 0
OCCLUDED = 1
VISIBLE = 2

# Person height in pixels that corresponds to scale 1 (the MPII convention).
SCALE_UNIT_PX = 200.0

# ``image/coco_id`` of records without a COCO image id (other datasets, older records).
NO_COCO_ID = -1


@dataclasses.dataclass
class PoseExample:
    """One annotated person. Arrays are numpy; see the module docstring for meanings."""

    image_bytes: bytes
    image_format: str
    image_height: int
    image_width: int
    image_id: str
    keypoints: np.ndarray  # [K, 2] float32
    visibility: np.ndarray  # [K] int64, values in {0, 1, 2}
    center: np.ndarray  # [2] float32
    scale: float
    dataset: str
    skeleton: str
    head_box: np.ndarray | None = None  # [4] float32 (x1, y1, x2, y2)
    occlusion_labelled: bool = True
    coco_id: int | None = None  # COCO image id (written as image/coco_id when given)
    area: float | None = None  # COCO annotation area, px² (written as person/area when given)

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, np.float32)
        self.visibility = np.asarray(self.visibility, np.int64)
        self.center = np.asarray(self.center, np.float32)
        if self.head_box is not None:
            self.head_box = np.asarray(self.head_box, np.float32)
        self.validate()

    @property
    def num_keypoints(self) -> int:
        return int(self.keypoints.shape[0])

    def validate(self) -> None:
        """Raises ``ValueError`` naming the image and the problem when the example is malformed."""
        where = f"example {self.image_id!r} ({self.dataset})"
        if self.keypoints.ndim != 2 or self.keypoints.shape[1] != 2:
            raise ValueError(f"{where}: keypoints must be [K, 2], got {self.keypoints.shape}")
        if self.visibility.shape != (self.num_keypoints,):
            raise ValueError(
                f"{where}: visibility must be [{self.num_keypoints}], got {self.visibility.shape}"
            )
        if not np.isin(self.visibility, (NOT_ANNOTATED, OCCLUDED, VISIBLE)).all():
            raise ValueError(f"{where}: visibility values must be 0, 1 or 2")
        annotated = self.visibility > 0
        if not np.isfinite(self.keypoints[annotated]).all():
            raise ValueError(f"{where}: annotated keypoints contain NaN or inf")
        if self.center.shape != (2,) or not np.isfinite(self.center).all():
            raise ValueError(f"{where}: center must be 2 finite numbers, got {self.center}")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"{where}: scale must be a positive number, got {self.scale}")
        if self.head_box is not None and self.head_box.shape != (4,):
            raise ValueError(f"{where}: head_box must be [4], got {self.head_box.shape}")
        if self.coco_id is not None and not (
            isinstance(self.coco_id, int | np.integer) and self.coco_id >= 0
        ):
            raise ValueError(f"{where}: coco_id must be an integer >= 0, got {self.coco_id!r}")
        if self.area is not None and not (np.isfinite(self.area) and self.area >= 0):
            raise ValueError(f"{where}: area must be a finite number >= 0, got {self.area}")
        if self.image_height <= 0 or self.image_width <= 0:
            raise ValueError(
                f"{where}: image size must be positive, got {self.image_width}x{self.image_height}"
            )
        far = annotated & ~_near_image(self.keypoints, self.image_width, self.image_height)
        if far.any():
            k = int(np.argmax(far))
            raise ValueError(
                f"{where}: keypoint {k} at {tuple(self.keypoints[k].tolist())} is more than one "
                f"image size outside the {self.image_width}x{self.image_height} image"
            )

    def to_tf_example(self) -> tf.train.Example:
        def _bytes(values):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))

        def _floats(values):
            return tf.train.Feature(float_list=tf.train.FloatList(value=values))

        def _ints(values):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

        # Unannotated joints are stored as zeros so records never carry NaN.
        keypoints = np.where(self.visibility[:, None] > 0, self.keypoints, 0.0)
        head_box = self.head_box if self.head_box is not None else np.zeros(4, np.float32)
        feature = {
            "image/encoded": _bytes([self.image_bytes]),
            "image/format": _bytes([self.image_format.encode()]),
            "image/height": _ints([self.image_height]),
            "image/width": _ints([self.image_width]),
            "image/id": _bytes([self.image_id.encode()]),
            "person/keypoints": _floats(keypoints.reshape(-1).tolist()),
            "person/visibility": _ints(self.visibility.tolist()),
            "person/center": _floats(self.center.tolist()),
            "person/scale": _floats([float(self.scale)]),
            "person/head_box": _floats(head_box.tolist()),
            "person/has_head_box": _ints([int(self.head_box is not None)]),
            "person/occlusion_labelled": _ints([int(self.occlusion_labelled)]),
            "dataset": _bytes([self.dataset.encode()]),
            "skeleton": _bytes([self.skeleton.encode()]),
        }
        # Optional (COCO only): absent features parse with their defaults (feature_spec).
        if self.coco_id is not None:
            feature["image/coco_id"] = _ints([int(self.coco_id)])
        if self.area is not None:
            feature["person/area"] = _floats([float(self.area)])
        return tf.train.Example(features=tf.train.Features(feature=feature))

    def serialize(self) -> bytes:
        return self.to_tf_example().SerializeToString()


def _near_image(keypoints, width, height):
    """Whether each (x, y) lies within one image size of the image: joints a little outside
    are real (truncated people); farther ones are annotation errors. Works on numpy and TF."""
    x, y = keypoints[..., 0], keypoints[..., 1]
    return (x >= -width) & (x <= 2 * width) & (y >= -height) & (y <= 2 * height)


def feature_spec(num_keypoints: int) -> dict[str, tf.io.FixedLenFeature]:
    """The ``tf.io.parse_single_example`` spec for records of ``num_keypoints`` joints."""
    fixed = tf.io.FixedLenFeature
    return {
        "image/encoded": fixed([], tf.string),
        "image/format": fixed([], tf.string),
        "image/height": fixed([], tf.int64),
        "image/width": fixed([], tf.int64),
        "image/id": fixed([], tf.string),
        "person/keypoints": fixed([num_keypoints * 2], tf.float32),
        "person/visibility": fixed([num_keypoints], tf.int64),
        "person/center": fixed([2], tf.float32),
        "person/scale": fixed([], tf.float32),
        "person/head_box": fixed([4], tf.float32),
        "person/has_head_box": fixed([], tf.int64),
        "person/occlusion_labelled": fixed([], tf.int64),
        "dataset": fixed([], tf.string),
        "skeleton": fixed([], tf.string),
        # Optional: records of other datasets, and those written before they were kept, lack them.
        "image/coco_id": fixed([], tf.int64, default_value=NO_COCO_ID),
        "person/area": fixed([], tf.float32, default_value=0.0),
    }


def parse_example(
    serialized: tf.Tensor, num_keypoints: int, validate: bool = True
) -> dict[str, tf.Tensor]:
    """Parses one serialized record, or a batch of them, into a dict of tensors
    (graph-compatible).

    Args:
      serialized: ``tf.string``, one record (scalar) or a batch [B]. A batch is parsed and
        checked with one op each instead of one per record, which the training pipeline uses.
      num_keypoints: K of the record's skeleton (from the manifest).
      validate: check what :meth:`PoseExample.validate` checks at conversion (finite annotated
        keypoints within one image size of the image, finite centre, positive finite scale,
        positive image size, visibility in {0, 1, 2}), so that records damaged or written by
        other tools fail with ``InvalidArgumentError`` naming the image instead of training on
        NaN or on a crop turned upside down by a negative scale.

    Returns:
      ``image_bytes`` string, ``image_format`` string, ``image_size`` int32 [2] (height, width),
      ``image_id`` string, ``keypoints`` float32 [K, 2], ``visibility`` int32 [K],
      ``center`` float32 [2], ``scale`` float32, ``head_box`` float32 [4],
      ``has_head_box`` bool, ``occlusion_labelled`` bool, ``dataset`` string, ``skeleton`` string,
      ``coco_id`` int64 (:data:`NO_COCO_ID` when absent), ``area`` float32 (0 when absent);
      each with a leading [B] for a batch.
    """
    serialized = tf.convert_to_tensor(serialized, tf.string)
    batched = serialized.shape.rank == 1
    parse = tf.io.parse_example if batched else tf.io.parse_single_example
    try:
        f = parse(serialized, feature_spec(num_keypoints))
    except UnicodeDecodeError:
        # Eager only: TensorFlow quotes the bytes in its parse error, then fails to decode it.
        raise tf.errors.InvalidArgumentError(
            None, None, "record is not a serialized tf.train.Example"
        ) from None
    if validate:
        f = _checked(f, num_keypoints)
    return {
        "image_bytes": f["image/encoded"],
        "image_format": f["image/format"],
        "image_size": tf.cast(tf.stack([f["image/height"], f["image/width"]], -1), tf.int32),
        "image_id": f["image/id"],
        "keypoints": tf.reshape(f["person/keypoints"], [-1, num_keypoints, 2][1 - batched :]),
        "visibility": tf.cast(f["person/visibility"], tf.int32),
        "center": f["person/center"],
        "scale": f["person/scale"],
        "head_box": f["person/head_box"],
        "has_head_box": f["person/has_head_box"] > 0,
        "occlusion_labelled": f["person/occlusion_labelled"] > 0,
        "dataset": f["dataset"],
        "skeleton": f["skeleton"],
        "coco_id": f["image/coco_id"],
        "area": f["person/area"],
    }


def _checked(f: dict[str, tf.Tensor], num_keypoints: int) -> dict[str, tf.Tensor]:
    """``f`` with an assertion that every record (scalar fields, or a batch [B]) is sound."""
    batch_shape = tf.shape(f["person/scale"])
    keypoints = tf.reshape(f["person/keypoints"], tf.concat([batch_shape, [num_keypoints, 2]], 0))
    annotated = f["person/visibility"] > 0
    height = tf.cast(f["image/height"], tf.float32)
    width = tf.cast(f["image/width"], tf.float32)
    scale = f["person/scale"]
    finite = tf.reduce_all(tf.math.is_finite(keypoints), axis=-1)
    near = _near_image(
        tf.where(finite[..., None], keypoints, 0.0), width[..., None], height[..., None]
    )
    checks = {
        "keypoints of annotated joints are NaN or inf": tf.reduce_all(finite | ~annotated, -1),
        "an annotated keypoint is more than one image size outside the image": tf.reduce_all(
            near | ~annotated, -1
        ),
        "center is NaN or inf": tf.reduce_all(tf.math.is_finite(f["person/center"]), -1),
        "scale must be a positive finite number": tf.math.is_finite(scale) & (scale > 0),
        "image size must be positive": (height > 0) & (width > 0),
        "visibility values must be 0, 1 or 2": tf.reduce_all(
            (f["person/visibility"] >= 0) & (f["person/visibility"] <= 2), -1
        ),
        "area must be a finite number >= 0": tf.math.is_finite(f["person/area"])
        & (f["person/area"] >= 0),
    }
    passed = tf.reshape(tf.stack(list(checks.values()), -1), [-1, len(checks)])  # [B, checks]
    valid = tf.reduce_all(passed)

    def message():  # formatted only for a failing record: string ops cost more than the checks
        first_bad = tf.argmin(tf.cast(tf.reduce_all(passed, -1), tf.int32))
        reasons = tf.boolean_mask(tf.constant(list(checks)), ~passed[first_bad])
        return tf.strings.format(
            "record of image {}: {}",
            (
                tf.reshape(f["image/id"], [-1])[first_bad],
                tf.strings.reduce_join(reasons, separator="; "),
            ),
        )

    text = tf.cond(valid, lambda: tf.constant(""), message)
    with tf.control_dependencies([tf.debugging.Assert(valid, [text])]):
        return {key: tf.identity(value) for key, value in f.items()}


def center_scale_from_keypoints(
    keypoints: np.ndarray, visibility: np.ndarray, margin: float = 1.1
) -> tuple[np.ndarray, float]:
    """Person centre and scale derived from the annotated joints (for datasets without boxes).

    The centre is the middle of the joints' bounding box; the scale is the box's larger side
    times ``margin``, divided by :data:`SCALE_UNIT_PX`. Joints span ankle to head top, so the
    default 10% margin (feet, hair) gives the MPII convention: scale ≈ person height / 200 px.
    Crop margins are added later by the pipeline's crop convention, not here.

    Raises:
      ValueError: when no joint is annotated.
    """
    annotated = np.asarray(visibility) > 0
    if not annotated.any():
        raise ValueError("cannot derive a person centre and scale: no joint is annotated")
    points = np.asarray(keypoints, np.float32)[annotated]
    low, high = points.min(axis=0), points.max(axis=0)
    center = (low + high) / 2.0
    extent = float(max(high - low)) * margin
    return center.astype(np.float32), max(extent, 1.0) / SCALE_UNIT_PX
