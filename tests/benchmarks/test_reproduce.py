"""benchmarks/reproduce.py (the package benchmarks/reproduction/): the documents come from the
run directories, nothing else.

Fake run directories (the files a finished run and its evaluation write) → ``write_results``;
no training, no TensorFlow.
"""

import json
import sys
import types
from pathlib import Path

from benchmarks import reproduce
from benchmarks.reproduction import (
    cli,
    experiments,
    paths,
    report,
    rundirs,
    runner,
    templates,
    verdicts,
)
from tests.conftest import run_python


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
    spec = experiments.table_specs("lspet", [0])[0]
    per_joint = {column: 10.0 + i for i, column in enumerate(experiments.LSP_COLUMNS)}
    _fake_run(
        spec.run_dir(runs),
        {
            "test": {"mean": 43.21, "per_joint": per_joint},
            "test_flip": {"mean": 45.67, "per_joint": per_joint},
        },
    )
    # Two seeds of one Table I row: 61.0 and 63.0; visibility AP 88.5 / 90.5.
    for seed, (pckh, ap) in enumerate(((61.0, 88.5), (63.0, 90.5))):
        row = experiments.table_specs("belagiannis_table1", [seed])[2]
        assert row.row == "recurrent_include_T0"
        _fake_run(
            row.run_dir(runs),
            {"test": {"mean": pckh, "visibility": {"average_precision": ap}}},
            wall=30.0 + seed,
        )
    # The ignore row, clearly below include for both seeds: the claim is decided.
    for seed, pckh in enumerate((50.0, 51.0)):
        row = experiments.table_specs("belagiannis_table1", [seed])[1]
        assert row.row == "recurrent_ignore_T0"
        _fake_run(row.run_dir(runs), {"test": {"mean": pckh}})

    path = report.write_results(runs, tmp_path / "docs", seeds=[0, 1])
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
    # Paths are relative to the repository root, never the generating machine's absolute ones.
    assert not any(before + str(tmp_path) in text for before in ("`", "=", " "))
    assert f"--workdir={paths.repo_relative(spec.run_dir(runs))}" in text
    assert (tmp_path / "docs" / "results_curves.png").stat().st_size > 0


def test_compare_verdicts():
    assert verdicts.compare([3.0, 4.0], [1.0, 2.0]).startswith("agrees")
    assert verdicts.compare([1.0, 2.0], [3.0, 4.0]).startswith("disagrees")
    assert "undecided" in verdicts.compare([1.0, 3.0], [2.0, 2.5])
    # No overlap, but the gap (1.5) is smaller than a seed range (2.0): undecided.
    assert "undecided" in verdicts.compare([4.0, 6.0], [3.5, 3.5])
    assert verdicts.compare([], [1.0]) == "not run"


def test_finished_training_is_recognised(tmp_path):
    run_dir = tmp_path / "run"
    _fake_run(run_dir, {}, steps=100)
    assert rundirs.training_complete(run_dir)
    (run_dir / "metrics.json").write_text(json.dumps({"steps": 50}))
    assert not rundirs.training_complete(run_dir)
    assert not rundirs.training_complete(tmp_path / "nothing")


def test_compare_at_the_spread_boundary():
    # Both rows' seeds do not overlap; the better row's seed range is 2.0.
    better = [4.0, 6.0]  # mean 5.0, range 2.0
    assert "undecided" in verdicts.compare(better, [3.0, 3.0])  # gap 2.0: exactly the range
    assert verdicts.compare(better, [2.75, 2.75]).startswith("agrees")  # gap 2.25: just above
    assert "undecided" in verdicts.compare(better, [3.25, 3.25])  # gap 1.75: just below
    # The mirror image: the paper's ordering reversed.
    assert "undecided" in verdicts.compare([3.0, 3.0], better)
    assert verdicts.compare([2.75, 2.75], better).startswith("disagrees")
    assert "undecided" in verdicts.compare([3.25, 3.25], better)
    # "does not beat": disagrees only when the first row wins by the same rule.
    assert verdicts.compare_not_greater(better, [2.75, 2.75]).startswith("disagrees")
    assert verdicts.compare_not_greater(better, [3.0, 3.0]).startswith("agrees")
    assert verdicts.compare_not_greater([2.75, 2.75], better).startswith("agrees")
    assert verdicts.compare_not_greater([], better) == "not run"
    # Rows within the spread get a third seed; decided or unrun ones do not.
    assert verdicts.within_spread(better, [3.0, 3.0])
    assert not verdicts.within_spread(better, [2.75, 2.75])
    assert not verdicts.within_spread(better, [])


def _fake_ablation(runs: Path, table: str, values: dict[str, list[float]]) -> None:
    """Finished LSPET ablation runs: ``values[row][i]`` is seed i's test PCK@0.2 (flip test);
    runs already on disk are left as they are."""
    for row, scores in values.items():
        for seed, score in enumerate(scores):
            spec = next(s for s in experiments.table_specs(table, [seed]) if s.row == row)
            if not spec.run_dir(runs).exists():
                _fake_run(spec.run_dir(runs), {"test_flip": {"mean": score}}, steps=1500)


def test_lspet_ablation_tables_verdicts_third_seed_and_meaning(tmp_path):
    runs, docs = tmp_path / "runs", tmp_path / "docs"
    for table, rows in (
        ("belagiannis_lspet", experiments.BELAGIANNIS_LSPET_ROWS),
        ("bulat_lspet", experiments.BULAT_LSPET_ROWS),
    ):
        specs = experiments.table_specs(table, [0, 1])
        assert len(specs) == 2 * len(rows)
        for spec in specs:
            assert (paths.REPO / spec.flagfile).exists(), spec.flagfile
            command = runner.eval_command(spec, tmp_path / "run", tmp_path / "rec", "test_flip")
            assert "--flip_test" in command and "--protocol=lsp" in command
            assert "--split=test" in command and command[3].endswith("model.keras")
    # A document whose other sections must survive (their runs are not on this machine).
    docs.mkdir()
    kept = "## LSP Extended, kept from the machine that ran it\n\nKEPT 12.3"
    (docs / "results.md").write_text(
        f"# Results\n\n{templates.SECTION_START.format('lspet')}\n{kept}\n"
        f"{templates.SECTION_END.format('lspet')}\n"
    )
    text = report.write_results(runs, docs, [0, 1]).read_text()
    assert kept in text
    assert "nothing yet — the rows have not been run" in text
    assert "`python benchmarks/reproduce.py --table=bulat_lspet`" in text
    assert "192 px input, batch 16, 1,500 Adam steps (24,000 examples), float32" in text
    assert "160 px input, batch 16, 1,500 Adam steps" in text
    # Table I's occlusion rows are marked, with the paper's numbers, not run.
    assert "| Keypoints, exclude occluded, T=0 | not testable on LSPET" in text
    assert "| Keypoints, T=0 | missing | — | — | 82.8 |" in text

    _fake_ablation(
        runs,
        "bulat_lspet",
        {
            "cascade_detection_regression": [70.0, 72.0],
            "cascade_detection_only": [50.0, 51.0],
            "cascade_regression_only": [52.0, 54.0],  # gap 2.5 > range 2.0: decided
            "cascade_regression_regression": [69.0, 71.0],  # within the spread of the method
        },
    )
    results = [rundirs.read_run(s, runs) for s in experiments.table_specs("bulat_lspet", [0, 1])]
    due = verdicts.third_seed_runs(results, experiments.BULAT_LSPET_CLAIMS)
    assert [(row, seed) for row, seed, _ in due] == [
        ("cascade_detection_regression", 2),
        ("cascade_regression_regression", 2),
    ]
    section = report.write_results(runs, docs, [0, 1]).read_text()
    section = section.split(templates.SECTION_START.format("bulat_lspet"))[1]
    assert kept in (docs / "results.md").read_text()
    assert "| Detection + regression (the method), staged | 70.0, 72.0 | 71.0 | 2.0 |" in section
    assert "| Detection + regression, end to end | missing |" in section
    assert "71.0 ± 2.0 vs 50.5 ± 1.0 (mean ± range) | agrees (gap > seed range) |" in section
    assert "same ordering of means, within the seed spread (undecided)" in section
    assert "**Third seed due**" in section and "Regression + regression, staged, seed 2" in section
    meaning = section.split("**What it means:**")[1].split("\n")[0]
    assert meaning.startswith(
        " The method (detection + regression, staged) scores 71.0 PCK@0.2 on LSPET test "
        "(mean of 2 seeds), reaching the 60"
    )
    assert "Holds on LSPET: detection + regression > detection only (71.0 vs 50.5" in meaning
    assert "Undecided at this budget" in meaning and "(71.0 vs 70.0: gap +1.0" in meaning
    assert "Not run yet: staged > end to end" in meaning
    assert "2 of 10 runs are missing" in meaning

    # A third seed on disk is read even though --seeds names two.
    _fake_ablation(runs, "bulat_lspet", {"cascade_detection_regression": [70.0, 72.0, 71.0]})
    _fake_ablation(runs, "bulat_lspet", {"cascade_regression_regression": [69.0, 71.0, 70.0]})
    section = report.write_results(runs, docs, [0, 1]).read_text()
    section = section.split(templates.SECTION_START.format("bulat_lspet"))[1]
    assert "| 70.0, 72.0, 71.0 | 71.0 | 2.0 |" in section
    assert "Rows with 3 seeds: Detection + regression (the method), staged, Regression" in section
    assert "**Third seed due**" not in section


def test_main_runs_the_third_seed_of_close_claims(tmp_path, monkeypatch):
    runs, records = tmp_path / "runs", tmp_path / "lspet"
    records.mkdir()
    (records / "manifest.json").write_text("{}")
    scores = {  # row -> score of seeds 0, 1, 2
        "recurrent_T0": [60.0, 62.0, 61.0],
        "recurrent_T1": [70.0, 71.0, 70.5],  # T=1 > T=0 decided: no third seed
        "recurrent_T2": [70.5, 71.5, 71.0],  # within the spread of T=1: third seed
        "recurrent_T2_limbs": [75.0, 76.0, 75.5],  # limbs > none at T=2 decided
    }
    ran = []

    def fake_ensure_run(spec, runs_dir, records_dir, dry_run):
        ran.append((spec.row, spec.seed))
        run_dir = spec.run_dir(runs_dir)
        if not run_dir.exists():
            _fake_run(run_dir, {"test_flip": {"mean": scores[spec.row][spec.seed]}}, steps=1500)

    monkeypatch.setattr(runner, "ensure_run", fake_ensure_run)
    argv = [
        "--table=belagiannis_lspet",
        f"--runs_dir={runs}",
        f"--lspet_records={records}",
        f"--docs_dir={tmp_path / 'docs'}",
    ]
    assert reproduce.main(argv) == 0
    third = sorted(run for run in ran if run[1] == 2)
    assert third == [("recurrent_T1", 2), ("recurrent_T2", 2)]
    assert len(ran) == 8 + 2
    text = (tmp_path / "docs" / "results.md").read_text()
    assert "70.0, 71.0, 70.5" in text and "Rows with 3 seeds" in text
    # --no-third_seed: nothing beyond --seeds.
    ran.clear()
    assert reproduce.main([*argv, f"--runs_dir={tmp_path / 'other'}", "--no-third_seed"]) == 0
    assert all(seed in (0, 1) for _, seed in ran) and len(ran) == 8


def test_both_invocations_run_the_one_parser():
    """``python benchmarks/reproduce.py`` and ``python -m benchmarks.reproduce`` are one command."""
    outputs = []
    for prefix in (["benchmarks/reproduce.py"], ["-m", "benchmarks.reproduce"]):
        result = run_python(*prefix, "--help", cwd=paths.REPO, timeout=120, check=True)
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    words = " ".join(outputs[0].split())  # argparse wraps to the terminal's width
    assert "regenerates ``docs/results.md`` from run directories" in words
    assert "--third_seed" in outputs[0] and "--table" in outputs[0]
    assert reproduce.main is cli.main


def test_evaluation_goes_through_the_library_call(tmp_path, monkeypatch):
    """The evaluate command a run records is run in process by ``evaluate_model``, nothing else
    (a stand-in ``tfpose.evaluation``: no TensorFlow)."""
    calls = []

    class FakeEvaluation:
        result = {"mean": 1.0}

        def write_report(self, output_dir):
            calls.append(("write_report", output_dir))

    def fake_evaluate_model(model, records, split, **kwargs):
        calls.append((model, records, split, kwargs))
        return FakeEvaluation()

    evaluation = types.ModuleType("tfpose.evaluation")
    evaluation.evaluate_model = fake_evaluate_model
    evaluation.report = types.SimpleNamespace(format_table=lambda result: "table")
    monkeypatch.setitem(sys.modules, "tfpose.evaluation", evaluation)
    spec = experiments.table_specs("real_photos", [0])[0]
    command = runner.eval_command(spec, tmp_path / "run", tmp_path / "rec", "whole_refine0_flip")
    runner.run_evaluation(command)
    assert calls == [
        (
            str(tmp_path / "run" / "best.keras"),
            str(tmp_path / "rec"),
            "test",
            {"region": "whole_image", "refine": 0, "flip_test": True, "protocol": "lsp"},
        ),
        ("write_report", str(tmp_path / "run" / "eval" / "whole_refine0_flip")),
    ]
