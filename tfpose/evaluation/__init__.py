"""Pose evaluation: metric maths (:mod:`.metrics`), result files (:mod:`.prediction_files`),
bookkeeping/reporting (:mod:`.report`) and COCO's keypoint AP through pycocotools
(:mod:`.coco_keypoints`); :func:`evaluate_model` runs a model over converted records and scores
it (the path behind ``python -m tfpose.evaluate``)."""

from tfpose.evaluation.model_evaluation import Evaluation, evaluate_model

__all__ = ["Evaluation", "evaluate_model"]
