r"""Lists the pretrained models that ship with tfpose, or adds one.

  python -m tfpose.zoo                      # name, size, score, the command that trained it

Adding a model (for maintainers): stores the trained model with float16 weights, then scores
the stored file on the test split's whole photos, so the manifest's score is the shipped
file's own::

  python -m tfpose.zoo --add=lspet_mobilenet_v2 \
    --model=runs/lspet/recurrent_mobilenet_v2/best.keras --records=data/lspet \
    --flip_test --refine=1 --description="..." \
    --command="python -m tfpose.train --flagfile=configs/lspet/recurrent_mobilenet_v2.flags ..."
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from absl import app, flags  # noqa: E402

_ADD = flags.DEFINE_string("add", None, "Name of the model to add (maintainers).")
_MODEL = flags.DEFINE_string("model", None, "--add: the trained .keras file.")
_RECORDS = flags.DEFINE_string("records", None, "--add: records to score it on (LSP skeleton).")
_SPLIT = flags.DEFINE_string("split", "test", "--add: split to score it on.")
_FLIP_TEST = flags.DEFINE_boolean("flip_test", True, "--add: predictor's flip test.")
_REFINE = flags.DEFINE_integer("refine", 1, "--add: predictor's refinement passes.")
_DESCRIPTION = flags.DEFINE_string("description", "", "--add: one line for listings.")
_COMMAND = flags.DEFINE_string("command", "", "--add: the command that trained it.")


def add() -> None:
    from tfpose import zoo
    from tfpose.evaluation import on_images
    from tfpose.inference import Predictor

    if not (_MODEL.value and _RECORDS.value and _COMMAND.value):
        raise ValueError("--add needs --model, --records and --command")
    entry = zoo.add_entry(
        _ADD.value,
        _MODEL.value,
        command=_COMMAND.value,
        score={},
        description=_DESCRIPTION.value,
        flip_test=_FLIP_TEST.value,
        refine=_REFINE.value,
    )
    predictor = Predictor.from_preset(entry.name)
    scores = {}
    for region in ("whole_image", "annotation"):
        print(
            f"scoring {entry.path} on {_RECORDS.value} ({_SPLIT.value}, {region}) ...",
            file=sys.stderr,
            flush=True,
        )
        predictions = on_images.predict_photos(
            predictor,
            _RECORDS.value,
            _SPLIT.value,
            region=region,
            refine=entry.refine if region == "whole_image" else 0,
        )
        all_joints = on_images.score_photos(predictions, predictor.skeleton)
        body = on_images.score_photos(predictions, predictor.skeleton, joints=on_images.BODY_JOINTS)
        scores[f"{_SPLIT.value}_pck@0.2_{region}"] = round(float(all_joints["mean"]), 2)
        scores[f"{_SPLIT.value}_pck@0.2_{region}_12_body_joints"] = round(float(body["mean"]), 2)
    zoo.set_score(entry.name, scores)
    print(zoo.describe())


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from tfpose import zoo

    if _ADD.value:
        try:
            add()
        except (FileNotFoundError, KeyError, ValueError) as error:
            sys.exit(f"tfpose.zoo: {error}")
        return
    print(zoo.describe())


if __name__ == "__main__":
    app.run(main)
