"""Pose evaluation: metric maths (:mod:`.metrics`), result files (:mod:`.prediction_files`)
and bookkeeping/reporting (:mod:`.report`)."""
