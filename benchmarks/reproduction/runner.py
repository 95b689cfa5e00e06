"""Runs the rows of a table: trains (or resumes) each run with its seed in a subprocess,
evaluates it through :func:`tfpose.evaluation.evaluate_model`, records what ran in
``reproduce.json``, and skips every run whose directory already holds its evaluations."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from benchmarks.reproduction.experiments import (
    LSPET_CLAIMS,
    SEEDED_LSPET_TABLES,
    RunSpec,
    eval_flags,
    eval_names,
    table_specs,
)
from benchmarks.reproduction.paths import REPO, relative_command
from benchmarks.reproduction.rundirs import evaluated, read_run, table_runs, training_complete
from benchmarks.reproduction.verdicts import third_seed_runs


def hardware() -> str:
    """``"<nproc> x <CPU model>, GPU: <names or none>"`` of this machine."""
    model = platform.processor() or "unknown CPU"
    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    gpu = "none"
    if shutil.which("nvidia-smi"):
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip():
            gpu = ", ".join(result.stdout.split("\n")).strip(", ")
    isa = "AVX512-BF16" if "avx512_bf16" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{os.cpu_count()} CPU cores ({model}, {isa}), GPU: {gpu}"


def train_command(spec: RunSpec, run_dir: Path, records: Path) -> list[str]:
    return [
        "python",
        "-m",
        "tfpose.train",
        f"--flagfile={spec.flagfile}",
        f"--records={records}",
        f"--workdir={run_dir}",
        f"--seed={spec.seed}",
    ]


def eval_command(spec: RunSpec, run_dir: Path, records: Path, name: str) -> list[str]:
    command = [
        "python",
        "-m",
        "tfpose.evaluate",
        f"--model={run_dir / spec.model_file}",
        f"--records={records}",
        "--split=test",
        f"--protocol={'lsp' if spec.data == 'lspet' else 'mpii'}",
        f"--output_dir={run_dir / 'eval' / name}",
    ]
    return command + list(dict(eval_flags(spec))[name])


def run_evaluation(command: list[str]) -> None:
    """Runs the evaluation that ``python -m tfpose.evaluate ARGS`` runs, in this process
    (TensorFlow imported once), through the same library call
    (:func:`tfpose.evaluation.evaluate_model`), and writes its report."""
    from tfpose.evaluation import evaluate_model, report

    args: dict[str, object] = {}
    for argument in command[3:]:
        name, equals, value = argument.removeprefix("--").partition("=")
        if equals:
            args[name] = value
        elif name.startswith("no"):
            args[name[2:]] = False
        else:
            args[name] = True
    evaluation = evaluate_model(
        str(args["model"]),
        str(args["records"]),
        str(args.get("split", "test")),
        region=str(args.get("region", "crops")),
        refine=int(args.get("refine", 1)),
        flip_test=args.get("flip_test"),
        protocol=args.get("protocol"),
    )
    print(report.format_table(evaluation.result), flush=True)
    evaluation.write_report(str(args["output_dir"]))


def ensure_run(spec: RunSpec, runs_dir: Path, records: Path, dry_run: bool) -> None:
    """Trains (or resumes) and evaluates ``spec`` unless its directory already has results."""
    run_dir = spec.run_dir(runs_dir)
    if evaluated(spec, run_dir):
        return
    record_path = run_dir / "reproduce.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    train = train_command(spec, run_dir, records)
    if not training_complete(run_dir):
        print("$ " + shlex.join(train), flush=True)
        if dry_run:
            return
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        argv = [sys.executable, *train[1:]]
        if shutil.which("nice"):
            argv = ["nice", "-n", "5", *argv]
        subprocess.run(argv, cwd=REPO, env=env, check=True)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if "train_wall_s" not in record:
        record.update(
            train_command=relative_command(shlex.join(train)),
            seed=spec.seed,
            hardware=hardware(),
            train_wall_s=metrics.get("wall_s_this_run"),
            train_cpu_s=metrics.get("cpu_s_this_run"),
            onednn_max_cpu_isa=metrics.get("onednn_max_cpu_isa"),
            resumed_from_step=metrics.get("resumed_from_step"),
            steps=metrics.get("steps"),
            recorded=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        )
    record.setdefault("eval_commands", {})
    for name in eval_names(spec):
        if (run_dir / "eval" / name / "metrics.json").exists():
            continue  # evaluated before this invocation was stopped
        command = eval_command(spec, run_dir, records, name)
        print("$ " + shlex.join(command), flush=True)
        if dry_run:
            continue
        run_evaluation(command)
        record["eval_commands"][name] = relative_command(shlex.join(command))
        record_path.write_text(json.dumps(record, indent=2) + "\n")
    if not dry_run:
        record_path.write_text(json.dumps(record, indent=2) + "\n")


def run_table(
    table: str,
    seeds: Sequence[int],
    runs_dir: Path,
    records: Path,
    *,
    rows: Collection[str] = (),
    third_seed: bool = True,
    dry_run: bool = False,
) -> None:
    """Every run of ``table`` with each of ``seeds`` (only ``rows`` when given), then, for the
    LSPET ablations with ``third_seed``, one more seed of every row whose claim lies within
    the seed spread."""
    for spec in table_specs(table, seeds):
        if rows and spec.row not in rows:
            continue
        ensure_run(spec, runs_dir, records, dry_run)
    if table in SEEDED_LSPET_TABLES and third_seed and not dry_run:
        results = [read_run(s, runs_dir) for s in table_runs(table, seeds, runs_dir)]
        for row, seed, claim in third_seed_runs(results, LSPET_CLAIMS[table]):
            if rows and row not in rows:
                continue
            print(f"third seed of {row} (claim within the seed spread: {claim})")
            spec = next(s for s in table_specs(table, [seed]) if s.row == row)
            ensure_run(spec, runs_dir, records, dry_run)


def make_gallery(model: Path, lspet_dir: Path) -> None:
    """Draws ``model``'s predictions into docs/gallery/real_*.jpg (docs/gallery/make_gallery.sh;
    ``lspet_dir``'s parent holds samples/)."""
    command = ["bash", "docs/gallery/make_gallery.sh", str(model), str(lspet_dir.parent)]
    print("$ " + shlex.join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)
