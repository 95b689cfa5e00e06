"""benchmarks/reproduce.py: the documents come from the run directories, nothing else.

Fake run directories (the files a finished run and its evaluation write) → ``write_results``;
no training, no TensorFlow.
"""

import json
from pathlib import Path

from benchmarks import reproduce


def _fake_run(run_dir: Path, evals: dict[str, dict], steps: int = 100, wall: float = 90.0):
    run_dir.mkdir(parents=True)
    (run_dir / "flags.json").write_text(json.dumps({"stage_steps": [["joint", steps]]}))
    (run_dir / "metrics.json").write_text(
        json.dumps({"steps": steps, "wall_s_this_run": wall, "best_score": 12.5})
    )
    (run_dir / "history.csv").write_text(
        "step,stage,loss,wall_s,val/mean\n50,joint,2.0,10,\n100,joint,1.5,20,12.5\n"
    )
    (run_dir / "reproduce.json").write_text(
        json.dumps(
            {
                "train_command": f"python -m tfpose.train --workdir={run_dir}",
                "seed": 0,
                "hardware": "2 CPU cores (fake), GPU: none",
                "train_wall_s": wall,
                "resumed_from_step": 0,
                "steps": steps,
            }
        )
    )
    for name, metrics in evals.items():
        (run_dir / "eval" / name).mkdir(parents=True)
        (run_dir / "eval" / name / "metrics.json").write_text(json.dumps(metrics))


def test_results_come_from_run_directories(tmp_path):
    runs = tmp_path / "runs"
    spec = reproduce.table_specs("lspet", [0])[0]
    per_joint = {column: 10.0 + i for i, column in enumerate(reproduce.LSP_COLUMNS)}
    _fake_run(
        spec.run_dir(runs),
        {
            "test": {"mean": 43.21, "per_joint": per_joint},
            "test_flip": {"mean": 45.67, "per_joint": per_joint},
        },
    )
    # Two seeds of one Table I row: 61.0 and 63.0; visibility AP 88.5 / 90.5.
    for seed, (pckh, ap) in enumerate(((61.0, 88.5), (63.0, 90.5))):
        row = reproduce.table_specs("belagiannis_table1", [seed])[2]
        assert row.row == "recurrent_include_T0"
        _fake_run(
            row.run_dir(runs),
            {"test": {"mean": pckh, "visibility": {"average_precision": ap}}},
            wall=30.0 + seed,
        )
    # The ignore row, clearly below include for both seeds: the claim is decided.
    for seed, pckh in enumerate((50.0, 51.0)):
        row = reproduce.table_specs("belagiannis_table1", [seed])[1]
        assert row.row == "recurrent_ignore_T0"
        _fake_run(row.run_dir(runs), {"test": {"mean": pckh}})

    path = reproduce.write_results(runs, tmp_path / "docs", seeds=[0, 1])
    text = path.read_text()

    assert "**43.2**" in text and "**45.7**" in text  # LSPET means, without and with flip
    assert "| 16.0 |" in text  # Ank (7th column) of the fake per-joint table
    assert "61.0, 63.0 | 62.0 | 2.0 | 82.8 |" in text  # seeds, mean, range, the paper's number
    assert "88.5, 90.5" in text  # visibility AP of the include row
    assert "include > ignore (Table I) | mean | 62.0 ± 2.0 vs 50.5 ± 1.0" in text
    assert "agrees (gap > seed range)" in text
    # Rows with no run directory are reported as missing, not silently dropped.
    assert "missing: no run in" in text  # cascade_resnet_tiny / cascade_vgg_tiny on LSPET
    bulat_table = text.split("## Bulat")[1]
    assert "| Detection only | missing |" in bulat_table
    assert "python -m tfpose.train --workdir=" in text  # every row names its command
    assert "1.5 min" in text  # training wall time from the run's record
    assert (tmp_path / "docs" / "results_curves.png").stat().st_size > 0


def test_compare_verdicts():
    assert reproduce.compare([3.0, 4.0], [1.0, 2.0]).startswith("agrees")
    assert reproduce.compare([1.0, 2.0], [3.0, 4.0]).startswith("disagrees")
    assert "undecided" in reproduce.compare([1.0, 3.0], [2.0, 2.5])
    # No overlap, but the gap (1.5) is smaller than a seed range (2.0): undecided.
    assert "undecided" in reproduce.compare([4.0, 6.0], [3.5, 3.5])
    assert reproduce.compare([], [1.0]) == "not run"


def test_finished_training_is_recognised(tmp_path):
    run_dir = tmp_path / "run"
    _fake_run(run_dir, {}, steps=100)
    assert reproduce.training_complete(run_dir)
    (run_dir / "metrics.json").write_text(json.dumps({"steps": 50}))
    assert not reproduce.training_complete(run_dir)
    assert not reproduce.training_complete(tmp_path / "nothing")
