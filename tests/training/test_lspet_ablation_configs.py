"""configs/ablations/lspet/: every row of the two papers' ablations on LSPET parses as
``python -m tfpose.train`` reads it, builds its model from the ImageNet weights and trains a
step or two on tiny LSPET-like records; and the rows of each table share one budget.

The real runs (1,500 steps each) are benchmarks: ``python benchmarks/reproduce.py
--table=belagiannis_lspet`` / ``--table=bulat_lspet``.
"""

import dataclasses
import json
import pathlib

import numpy as np
import pytest

from tests.conftest import encoded_example, import_cli
from tfpose.data import records
from tfpose.data.example import NOT_ANNOTATED, VISIBLE, PoseExample
from tfpose.models import backbones
from tfpose.skeletons import LSP
from tfpose.training import run as run_lib

REPO = pathlib.Path(__file__).resolve().parents[2]
ABLATIONS = REPO / "configs" / "ablations" / "lspet"
ROWS = sorted(
    str(path.relative_to(REPO)) for path in ABLATIONS.glob("*.flags") if "common" not in path.name
)
# What each row may change; everything else (the budget included) comes from its common file.
ROW_FLAGS = {"model", "stages", "end_to_end", "num_passes", "limbs"}


def _person(index: int, rng: np.random.Generator) -> PoseExample:
    """An LSPET-like person: LSP skeleton, no occlusion labels, one joint not annotated."""
    height, width = 120, 96
    image = rng.integers(0, 255, (height, width, 3), np.uint8)
    keypoints = rng.uniform([20, 15], [76, 105], (LSP.num_keypoints, 2)).astype(np.float32)
    visibility = np.full(LSP.num_keypoints, VISIBLE)
    visibility[index % LSP.num_keypoints] = NOT_ANNOTATED
    keypoints[visibility == NOT_ANNOTATED] = 0.0
    return encoded_example(
        image,
        keypoints,
        visibility,
        image_id=f"im{index:05d}",
        dataset="lspet",
        occlusion_labelled=False,
    )


@pytest.fixture(scope="module")
def lspet_records(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("lspet_like"))
    rng = np.random.default_rng(0)
    splits = {}
    for split, count in (("train", 4), ("val", 2), ("test", 2)):
        splits[split] = records.write_split([_person(i, rng) for i in range(count)], out, split)
    records.write_manifest(
        out,
        {"dataset": "lspet", "skeleton": "lsp", "num_keypoints": 14, "splits": splits},
    )
    return out


def _parse(flagfile: str, *overrides: str) -> run_lib.RunConfig:
    """The RunConfig of ``python -m tfpose.train --flagfile=FLAGFILE OVERRIDES``."""
    from absl import flags

    train = import_cli("tfpose.train")
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["train", f"--flagfile={flagfile}", "--workdir=runs/unused", *overrides])
    config = train.config_from_flags()
    config.validate()
    return config


def test_every_table_has_rows_and_one_budget(monkeypatch):
    monkeypatch.chdir(REPO)  # the flagfiles include their common file by a relative path
    tables = {"recurrent": [], "cascade": []}
    for row in ROWS:
        tables[pathlib.Path(row).name.split("_")[0]].append(row)
    assert len(tables["recurrent"]) == 4 and len(tables["cascade"]) == 5
    for rows in tables.values():
        configs = {row: _parse(row) for row in rows}
        budgets = {
            (sum(length for _, length in c.stages), c.input_size, c.batch_size, c.schedule_unit)
            for c in configs.values()
        }
        assert len(budgets) == 1, budgets  # steps, input size and batch are the table's
        shared = [
            {k: v for k, v in dataclasses.asdict(c).items() if k not in ROW_FLAGS}
            for c in configs.values()
        ]
        assert all(s == shared[0] for s in shared), "rows differ beyond their own flags"
        assert shared[0]["dataset"] == "lspet" and shared[0]["mixed_precision"] == "float32"
    passes = {pathlib.Path(r).stem: _parse(r).num_passes for r in tables["recurrent"]}
    assert passes == {
        "recurrent_T0": 1,
        "recurrent_T1": 2,
        "recurrent_T2": 3,
        "recurrent_T2_limbs": 3,
    }


@pytest.mark.slow
@pytest.mark.parametrize("flagfile", ROWS)
def test_row_builds_and_trains_two_steps(flagfile, lspet_records, tmp_path, monkeypatch):
    try:
        backbones.weights_path("mobilenet_v2")
    except backbones.BackboneWeightsError as error:
        pytest.skip(str(error))
    monkeypatch.chdir(REPO)
    workdir = tmp_path / "run"
    config = _parse(
        flagfile,
        f"--records={lspet_records}",
        f"--workdir={workdir}",
        "--input_size=64",
        "--batch_size=2",
        "--val_examples=2",
        "--eval_every=0",
        "--log_every=1",
        "--warmup_steps=0",
    )
    # The row's own schedule, shrunk: one step per stage, at least two steps in all.
    stages = tuple((name, 1) for name, _ in config.stages)
    if len(stages) == 1:
        stages = ((stages[0][0], 2),)
    config = dataclasses.replace(config, stages=stages, verbose=False)
    summary = run_lib.train(config)

    saved = json.loads((workdir / "flags.json").read_text())
    total = sum(length for _, length in stages)
    assert summary["steps"] == total
    assert saved["input_size"] == 64 and saved["skeleton"] == "lsp"
    expected_stages = [["joint", total]] if config.end_to_end else [list(s) for s in stages]
    assert saved["stage_steps"] == expected_stages
    if config.model.startswith("recurrent"):
        assert saved["prediction_output"] == f"keypoints_{config.num_passes}"
    elif config.model.endswith("detection_only"):
        assert saved["prediction_output"] == "detection"
    else:
        assert saved["prediction_output"] == "regression"
    assert (workdir / "model.keras").exists()
