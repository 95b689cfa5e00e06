"""What a run directory holds: a finished training, its evaluations, its record
(``reproduce.json``), its history. Reading only; the runner writes them."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from benchmarks.reproduction.experiments import (
    SEEDED_LSPET_TABLES,
    RunSpec,
    eval_names,
    table_specs,
)


@dataclasses.dataclass
class RunResult:
    """What the documents show of one run (``None`` fields: missing)."""

    spec: RunSpec
    run_dir: Path
    record: dict | None
    evals: dict[str, dict]  # "test" / "test_flip" -> evaluate's metrics.json
    train_metrics: dict | None

    @property
    def missing(self) -> bool:
        first = eval_names(self.spec)[0]
        return self.record is None or first not in self.evals


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def read_run(spec: RunSpec, runs_dir: Path) -> RunResult:
    run_dir = spec.run_dir(runs_dir)
    evals = {}
    for name in eval_names(spec):
        data = read_json(run_dir / "eval" / name / "metrics.json")
        if data is not None:
            evals[name] = data
    return RunResult(
        spec,
        run_dir,
        read_json(run_dir / "reproduce.json"),
        evals,
        read_json(run_dir / "metrics.json"),
    )


def read_history(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))
    except OSError:
        return []


def training_complete(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a finished training (metrics.json at the configured last step)."""
    try:
        flags = json.loads((run_dir / "flags.json").read_text())
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    total = sum(int(length) for _, length in flags.get("stage_steps", []))
    return total > 0 and int(metrics.get("steps", -1)) >= total


def evaluated(spec: RunSpec, run_dir: Path) -> bool:
    return all((run_dir / "eval" / name / "metrics.json").exists() for name in eval_names(spec))


def table_runs(table: str, seeds: Sequence[int], runs_dir: Path) -> list[RunSpec]:
    """The runs of ``table`` for ``seeds``; for the LSPET ablations also every further seed
    whose run directory exists (a third seed run for a close claim)."""
    specs = table_specs(table, seeds)
    if table not in SEEDED_LSPET_TABLES:
        return specs
    extra = set()
    for path in (runs_dir / table).glob("*/seed*"):
        suffix = path.name[len("seed") :]
        if suffix.isdigit() and int(suffix) not in seeds:
            extra.add(int(suffix))
    more = [s for s in table_specs(table, sorted(extra)) if s.run_dir(runs_dir).is_dir()]
    return sorted([*specs, *more], key=lambda s: ([r.row for r in specs].index(s.row), s.seed))


def best_real_photo_model(runs_dir: Path) -> Path | None:
    """The real-photo run with the best whole-photo test PCK@0.2, or ``None`` before any."""
    results = [
        r for r in (read_run(s, runs_dir) for s in table_specs("real_photos", [0])) if not r.missing
    ]
    if not results:
        return None
    best = max(results, key=lambda r: r.evals["whole_refine1_flip"]["mean"])
    return best.run_dir / best.spec.model_file
