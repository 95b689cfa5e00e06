"""Export for serving: SavedModel (TF Serving), TFLite (fp32, fp16, int8, GPU), ONNX, parity.

Modules, one concept each:

* :mod:`~tfpose.export.preprocess` — person region → crop in TF ops (``person_from_box``, the one
  implementation shared with :mod:`tfpose.inference`), request validation.
* :mod:`~tfpose.export.decode` — maps → keypoints in image pixels, confidence, visibility.
* the serving contract written as ``tfpose_export.json`` is :class:`tfpose.model_spec.ModelSpec`
  (shared with :mod:`tfpose.inference`).
* :mod:`~tfpose.export.saved_model`, :mod:`~tfpose.export.tflite`, :mod:`~tfpose.export.onnx` —
  the artifacts; :mod:`~tfpose.export.tflite_runner` — the one way a ``.tflite`` file is run
  (through its signature; the inference backend and the parity report).
* :mod:`~tfpose.export.examples`, :mod:`~tfpose.export.parity` — real crops for calibration and
  the parity report.
* :mod:`~tfpose.export.run` — ``export(ExportConfig(...))``, what ``python -m tfpose.export`` runs.
"""
