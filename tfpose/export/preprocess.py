"""Person region → network input, in pure TensorFlow ops (serving graphs, inference, parity).

This module is the one place that turns a person region into a crop at serving time; the
SavedModel's ``serving_default`` signature and :mod:`tfpose.inference` both use it.

Region convention. A region is a box ``[x1, y1, x2, y2]`` in image pixels (pixel centres at
integers, so a W × H image spans ``[-0.5, W - 0.5] × [-0.5, H - 0.5]``). The network sees the
square of side ``max(x2 − x1, y2 − y1)`` centred on the box, resized to S × S; the shorter side
is padded with the crop convention's fill value where it leaves the image. In the terms of
:func:`tfpose.data.transforms.crop_affine`:

* ``center`` = the box centre,
* ``scale`` = ``max(width, height) / 200 / box_scale``,

so that the crop side ``box_scale · 200 · scale`` equals the square's side. A region of all −1
(or no region) means the whole image: :func:`whole_image_box`.

Training crops show a person of height ``200 · scale`` in a square of side
``box_scale · 200 · scale · S / (S + margin)`` (:func:`region_from_affine` gives the exact region of
an evaluation crop), so a tight person box of side ``h`` should be widened to about
``box_scale · h`` before it is sent (``tfpose_export.json`` records ``box_scale``).

Shape legend: B batch, K keypoints, S crop side; points are (x, y) in pixels.
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.data import transforms
from tfpose.data.example import SCALE_UNIT_PX

# A box row equal to this everywhere means "no box: the whole image".
NO_BOX = -1.0
# Magic bytes of the image formats the serving signature accepts (tf.io.decode_image also
# reads GIF and BMP; the serving contract promises JPEG and PNG only).
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Largest image the serving signatures decode, in pixels (height × width). A request is
# decoded and converted to float32 in memory (15 bytes a pixel); a 440 KB PNG can declare
# 12000 × 12000 pixels and cost a server 2 GB and 20 s, so sizes are read from the header
# and checked before decoding. 40 MP is a 7300 × 5500 photo; send larger ones downscaled.
MAX_IMAGE_PIXELS = 40_000_000


def person_from_box(box: tf.Tensor, box_scale: float) -> tuple[tf.Tensor, tf.Tensor]:
    """Centre and scale of the crop that shows the square around ``box``.

    Args:
      box: float [..., 4], (x1, y1, x2, y2) in image pixels.
      box_scale: the crop convention's box side in units of ``200 · scale``
        (``transforms.CROP_CONVENTIONS[name].box_scale``).

    Returns:
      center float32 [..., 2] (image pixels) and scale float32 [...], for
      ``transforms.crop_affine(center, scale, 0, False, S, box_scale)``.
    """
    box = tf.convert_to_tensor(box, tf.float32)
    center = (box[..., :2] + box[..., 2:]) / 2.0
    side = tf.reduce_max(box[..., 2:] - box[..., :2], axis=-1)
    return center, side / (SCALE_UNIT_PX * box_scale)


def whole_image_box(image_size: tf.Tensor) -> tf.Tensor:
    """The region of a whole image: float32 [..., 4] from ``image_size`` int [..., 2] (h, w)."""
    size = tf.cast(image_size, tf.float32)
    height, width = size[..., 0], size[..., 1]
    half = tf.fill(tf.shape(height), -0.5)
    return tf.stack([half, half, width - 0.5, height - 0.5], axis=-1)


def region_from_affine(affine: tf.Tensor, input_size: int) -> tf.Tensor:
    """The region whose crop is the (unrotated, unflipped) crop of ``affine``.

    ``person_from_box(region_from_affine(a, S), box_scale)`` gives back the crop ``a`` of the
    evaluation pipeline (``transforms.center_crop_affine``, margins included), so records can be
    sent to the serving signature with exactly the crop the Keras model was evaluated on.

    Args:
      affine: float [..., 2, 3] image → crop matrices without rotation or flip.
      input_size: S.

    Returns:
      float32 [..., 4] (x1, y1, x2, y2) in image pixels.
    """
    corners = tf.constant([[-0.5, -0.5], [input_size - 0.5, input_size - 0.5]], tf.float32)
    affine = tf.convert_to_tensor(affine, tf.float32)
    corners = tf.broadcast_to(corners, tf.concat([tf.shape(affine)[:-2], [2, 2]], axis=0))
    image_corners = transforms.crop_to_image(corners, affine)  # [..., 2, 2]
    return tf.concat([image_corners[..., 0, :], image_corners[..., 1, :]], axis=-1)


def crop_affine_for_box(box: tf.Tensor, input_size: int, crop_convention: str) -> tf.Tensor:
    """Image → crop matrix [..., 2, 3] of the region ``box`` [..., 4] (see the module doc)."""
    box_scale = transforms.CROP_CONVENTIONS[crop_convention].box_scale
    center, scale = person_from_box(box, box_scale)
    return transforms.crop_affine(center, scale, 0.0, False, input_size, box_scale)


def _image_check(encoded: tf.Tensor, index: tf.Tensor) -> tf.Operation:
    is_png = tf.equal(tf.strings.substr(encoded, 0, len(_PNG_SIGNATURE)), _PNG_SIGNATURE)
    message = tf.strings.format(
        "images[{}] is not a JPEG or PNG image ({} bytes)", (index, tf.strings.length(encoded))
    )
    return tf.debugging.Assert(tf.io.is_jpeg(encoded) | is_png, [message])


def encoded_image_size(encoded: tf.Tensor) -> tf.Tensor:
    """(height, width) int64 [2] from a JPEG or PNG header, without decoding the pixels.

    ``encoded`` must have passed the JPEG/PNG signature check; a malformed JPEG header raises
    ``InvalidArgumentError``, a PNG shorter than its header gives zeros (its decoding then
    fails with its own error).
    """

    def jpeg_size():
        return tf.cast(tf.image.extract_jpeg_shape(encoded)[:2], tf.int64)

    def png_size():
        # IHDR: width then height, 4 big-endian bytes each, at offset 16.
        padded = encoded + tf.constant(b"\0" * 24)
        data = tf.cast(tf.io.decode_raw(tf.strings.substr(padded, 16, 8), tf.uint8), tf.int64)
        weights = tf.constant([2**24, 2**16, 2**8, 1], tf.int64)
        width = tf.reduce_sum(data[:4] * weights)
        height = tf.reduce_sum(data[4:] * weights)
        return tf.stack([height, width])

    return tf.cond(tf.io.is_jpeg(encoded), jpeg_size, png_size)


def _size_check(encoded: tf.Tensor, index: tf.Tensor) -> tf.Operation:
    size = encoded_image_size(encoded)
    message = tf.strings.format(
        "images[{}] is {} x {} pixels (height x width); at most {} pixels are accepted, "
        "send it downscaled",
        (index, size[0], size[1], MAX_IMAGE_PIXELS),
    )
    return tf.debugging.Assert(size[0] * size[1] <= MAX_IMAGE_PIXELS, [message])


def validate_images(images: tf.Tensor) -> tf.Tensor:
    """Checks a batch of encoded images; raises ``InvalidArgumentError`` at run time.

    Args:
      images: string [B], JPEG or PNG bytes (any static shape; checked here).

    Returns:
      ``images`` with static shape [B], after the checks.
    """
    checks = [
        tf.debugging.assert_rank(
            images, 1, message="images must be a 1-D batch [B] of encoded JPEG/PNG strings"
        ),
        tf.debugging.assert_positive(
            tf.size(images), message="images: empty batch (B = 0); send at least one image"
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.ensure_shape(tf.identity(images), [None])


def validate_boxes(boxes: tf.Tensor, batch_size: tf.Tensor) -> tf.Tensor:
    """Checks regions [B, 4]; rows of all −1 are allowed (whole image).

    Raises ``InvalidArgumentError`` at run time when the shape is not [B, 4], a value is not
    finite, or a row other than −1s has ``x2 <= x1`` or ``y2 <= y1``.
    """
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    shape_checks = [
        tf.debugging.assert_rank(boxes, 2, message="boxes must be [B, 4] (x1, y1, x2, y2)"),
    ]
    with tf.control_dependencies(shape_checks):
        shape = tf.shape(boxes)
        value_checks = [
            tf.debugging.assert_equal(
                shape,
                tf.stack([batch_size, 4]),
                message="boxes must be [B, 4] with B = the number of images",
            )
        ]
    with tf.control_dependencies(value_checks):
        boxes = tf.ensure_shape(tf.identity(boxes), [None, 4])
        absent = tf.reduce_all(tf.equal(boxes, NO_BOX), axis=-1)
        proper = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        final_checks = [
            tf.debugging.assert_all_finite(boxes, "boxes must be finite"),
            tf.debugging.Assert(
                tf.reduce_all(absent | proper),
                ["boxes: every row must have x2 > x1 and y2 > y1, or be all -1 (whole image)"],
            ),
        ]
    with tf.control_dependencies(final_checks):
        return tf.identity(boxes)


def crop_encoded_images(
    images: tf.Tensor,
    boxes: tf.Tensor | None,
    *,
    input_size: int,
    crop_convention: str,
    normalization: str,
    return_image_sizes: bool = False,
) -> tuple[tf.Tensor, ...]:
    """Decodes, crops and normalises a batch of encoded images (the serving preprocessing).

    Args:
      images: string [B], JPEG or PNG (validated; bad input raises ``InvalidArgumentError``).
      boxes: float32 [B, 4] regions, rows of −1 = whole image; None = whole images.
      input_size: S.
      crop_convention: a name in ``transforms.CROP_CONVENTIONS`` (box scale and fill).
      normalization: ``"unit"`` or ``"belagiannis"``.
      return_image_sizes: also return each decoded image's (height, width).

    Returns:
      crops float32 [B, S, S, 3] (network input) and affines float32 [B, 2, 3] (image → crop);
      with ``return_image_sizes``, also image sizes float32 [B, 2] (height, width).
    """
    crop = transforms.CROP_CONVENTIONS[crop_convention]
    images = validate_images(images)
    batch_size = tf.shape(images)[0]
    if boxes is None:
        boxes = tf.fill(tf.stack([batch_size, 4]), NO_BOX)
    boxes = validate_boxes(boxes, batch_size)
    indices = tf.range(batch_size)

    def one(args):
        encoded, box, index = args
        with tf.control_dependencies([_image_check(encoded, index)]):
            size_check = _size_check(encoded, index)
        with tf.control_dependencies([size_check]):
            image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        image = tf.ensure_shape(image, [None, None, 3])
        region = tf.where(
            tf.reduce_all(tf.equal(box, NO_BOX)), whole_image_box(tf.shape(image)[:2]), box
        )
        affine = crop_affine_for_box(region, input_size, crop_convention)
        warped = transforms.warp_image(tf.cast(image, tf.float32), affine, input_size, crop.fill)
        size = tf.cast(tf.shape(image)[:2], tf.float32)
        return transforms.normalize_pixels(warped, normalization), affine, size

    crops, affines, sizes = tf.map_fn(
        one,
        (images, boxes, indices),
        fn_output_signature=(
            tf.TensorSpec([input_size, input_size, 3], tf.float32),
            tf.TensorSpec([2, 3], tf.float32),
            tf.TensorSpec([2], tf.float32),
        ),
    )
    if return_image_sizes:
        return crops, affines, sizes
    return crops, affines


def validate_crops(image: tf.Tensor, input_size: int) -> tf.Tensor:
    """Checks a preprocessed batch [B, S, S, 3] (the ``heatmaps`` signature's input)."""
    image = tf.convert_to_tensor(image)
    rank = [
        tf.debugging.assert_rank(
            image,
            4,
            message=f"image must be [B, {input_size}, "
            f"{input_size}, 3] float32 (preprocessed crops)",
        )
    ]
    with tf.control_dependencies(rank):
        checks = [
            tf.debugging.assert_equal(
                tf.shape(image)[1:],
                tf.constant([input_size, input_size, 3]),
                message=f"image must be [B, {input_size}, {input_size}, 3]",
            ),
            tf.debugging.assert_positive(tf.shape(image)[0], message="image: empty batch (B = 0)"),
        ]
    with tf.control_dependencies(checks):
        image = tf.identity(image)
    return tf.ensure_shape(image, [None, input_size, input_size, 3])
