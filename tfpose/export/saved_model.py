"""SavedModel for TF Serving: encoded images in, keypoints in original image pixels out.

Signatures (``export/README.md`` is the full contract):

=======================  ============================================  ==========================
signature                inputs                                        outputs
=======================  ============================================  ==========================
``serving_default``      ``images`` string [B] (JPEG/PNG bytes),       ``keypoints`` float32
                         ``boxes`` float32 [B, 4] regions              [B, K, 2] image pixels,
                         (x1, y1, x2, y2; a row of −1 = whole image)   ``confidence`` [B, K],
                                                                       ``visibility`` [B, K]
                                                                       (both [0, 1]),
                                                                       ``peak`` [B, K] (raw)
``whole_image``          ``images`` string [B]                         as ``serving_default``
``heatmaps``             ``image`` float32 [B, S, S, 3] preprocessed   ``heatmaps`` float32
                         crops                                         [B, H, W, K] (raw maps)
=======================  ============================================  ==========================

``confidence`` and ``visibility`` are :class:`tfpose.inference.Predictor`'s scores
(:func:`tfpose.export.decode.decode_to_image`); ``peak`` is the raw maximum of each map. The
flip test recorded in ``tfpose_export.json`` (``flip_test``) is applied inside
``serving_default`` and ``whole_image``, never inside ``heatmaps`` (raw maps of the crops given:
:class:`tfpose.inference.Predictor` applies the recorded flip test itself around it).

Inputs are declared with unknown shape in the SignatureDefs so that every malformed request
reaches the graph's own checks (:mod:`tfpose.export.preprocess`) and fails with
``InvalidArgument`` and a message naming the input, whatever the client; the accepted shapes
are those above. Only core TensorFlow ops are used (no custom ops, no Python objects), so the
model loads in TF Serving or ``tf.saved_model.load`` without tfpose.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfpose.export import decode, preprocess
from tfpose.model_spec import ModelSpec

SERVING_SIGNATURES = ("serving_default", "whole_image", "heatmaps")


def _tensor_entry(dtype: str, shape: list) -> dict:
    return {"dtype": dtype, "shape": shape}


def signature_table(spec: ModelSpec) -> dict:
    """The documented inputs/outputs of every signature (written to ``tfpose_export.json``)."""
    k, s, h = spec.num_keypoints, spec.input_size, spec.heatmap_size
    outputs = {
        "keypoints": _tensor_entry("float32", ["B", k, 2]),
        "confidence": _tensor_entry("float32", ["B", k]),
        "visibility": _tensor_entry("float32", ["B", k]),
        "peak": _tensor_entry("float32", ["B", k]),
    }
    return {
        "serving_default": {
            "inputs": {
                "images": _tensor_entry("string", ["B"]),
                "boxes": _tensor_entry("float32", ["B", 4]),
            },
            "outputs": outputs,
        },
        "whole_image": {"inputs": {"images": _tensor_entry("string", ["B"])}, "outputs": outputs},
        "heatmaps": {
            "inputs": {"image": _tensor_entry("float32", ["B", s, s, 3])},
            "outputs": {"heatmaps": _tensor_entry("float32", ["B", h, h, k])},
        },
    }


def serving_functions(model: keras.Model, spec: ModelSpec) -> dict:
    """The Python functions behind the signatures (also used to check parity in-process)."""
    output = spec.prediction_output

    def raw_heatmaps(crops):
        return tf.cast(model(crops, training=False)[output], tf.float32)

    def predict(images, boxes):
        crops, affines, image_sizes = preprocess.crop_encoded_images(
            images,
            boxes,
            input_size=spec.input_size,
            crop_convention=spec.crop_convention,
            normalization=spec.normalization,
            return_image_sizes=True,
        )
        if spec.flip_test:
            maps = decode.flip_test_heatmaps(raw_heatmaps, crops, spec.flip_permutation)
        else:
            maps = raw_heatmaps(crops)
        return decode.decode_to_image(
            maps,
            affines,
            spec.heatmap_stride,
            spec.visibility_kind,
            spec.amplitude,
            image_size=image_sizes,
        )

    def serving_default(images, boxes):
        return predict(images, boxes)

    def whole_image(images):
        return predict(images, None)

    def heatmaps(image):
        return {"heatmaps": raw_heatmaps(preprocess.validate_crops(image, spec.input_size))}

    return {"serving_default": serving_default, "whole_image": whole_image, "heatmaps": heatmaps}


def export_saved_model(model: keras.Model, spec: ModelSpec, path: str) -> str:
    """Writes the serving SavedModel to ``path`` (``export/NAME/<version>``); returns ``path``."""
    functions = serving_functions(model, spec)
    images = tf.TensorSpec(None, tf.string, name="images")
    boxes = tf.TensorSpec(None, tf.float32, name="boxes")
    image = tf.TensorSpec(None, tf.float32, name="image")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", functions["serving_default"], [images, boxes])
    archive.add_endpoint("whole_image", functions["whole_image"], [images])
    archive.add_endpoint("heatmaps", functions["heatmaps"], [image])
    archive.write_out(path, verbose=False)
    return path
