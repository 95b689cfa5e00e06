"""Pose evaluation: metric maths (:mod:`.metrics`), result files (:mod:`.prediction_files`),
bookkeeping/reporting (:mod:`.report`) and COCO's keypoint AP through pycocotools
(:mod:`.coco_keypoints`)."""
