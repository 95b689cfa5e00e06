"""Single-person pose inference: :class:`Predictor` over ``.keras``, SavedModel, ``.tflite`` and
``.onnx`` models (one answer for all: the flip test recorded with the model, the same scores),
overlays and heatmap grids, and the runs of ``python -m tfpose.predict``
(drawn with :mod:`tfpose.drawing`).

=====================  ===================================================================
``predictor``          :class:`Predictor`, :class:`PosePrediction`: crop, run, decode
``backends``           the four model formats behind one call, each with its :class:`ModelSpec`
``preprocess``         person region → crop (the one implementation), crop → image points
``boxes``              the ``--boxes`` JSON file
``media``              image/folder/video reading, mp4 writing
``results``            COCO keypoint results (``predictions.json``) and their check
``runner``             a whole prediction run (``python -m tfpose.predict``)
=====================  ===================================================================

See docs/inference.md.
"""

from tfpose.inference.backends import load_backend
from tfpose.inference.predictor import PosePrediction, Predictor
from tfpose.model_spec import ModelSpec

__all__ = ["ModelSpec", "PosePrediction", "Predictor", "load_backend"]
