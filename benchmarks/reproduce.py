"""Trains what is missing, evaluates it and regenerates ``docs/results.md`` from run directories.

One command per table (run from the repository root)::

    python benchmarks/reproduce.py --table=lspet               # LSPET, tiny models, test PCK@0.2
    python benchmarks/reproduce.py --table=belagiannis_table1  # occlusion modes, T, limb maps
    python benchmarks/reproduce.py --table=bulat_table5        # detection/regression variants
    python benchmarks/reproduce.py --table=all

Every run lives in ``--runs_dir/<table>/<row>[/seed<N>]``. A run whose directory already holds
its evaluation (``eval/<split>/metrics.json``) is not touched again, so re-running the command
only regenerates the documents. Training is ``python -m tfpose.train`` in a subprocess (a
stopped run resumes from its last checkpoint); evaluation is ``python -m tfpose.evaluate``, run
in this process through the command's own ``main`` so that TensorFlow is imported once.
Per run, ``reproduce.json`` records the commands, the hardware, the seed and the training wall
time that the run itself measured (``metrics.json``). ``docs/results.md`` and the learning-curve
plot are written only from what the run directories hold: no number in them is typed by hand.
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

REPO = Path(__file__).resolve().parents[1]
TABLES = ("lspet", "belagiannis_table1", "bulat_table5")
LSP_COLUMNS = ("Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank")


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
    """

    table: str
    row: str
    label: str
    flagfile: str
    data: str
    seed: int
    model_file: str = "model.keras"
    flip_test: bool = False

    def run_dir(self, runs_dir: Path) -> Path:
        if self.table == "lspet":
            return runs_dir / self.table / self.row
        return runs_dir / self.table / self.row / f"seed{self.seed}"


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
# /work/shared/papers (see the notes written into docs/results.md).
BELAGIANNIS_PAPER = {  # Table I, MPII validation PCKh@0.5 (total column)
    "recurrent_exclude_T0": 80.3,
    "recurrent_ignore_T0": 81.4,
    "recurrent_include_T0": 82.8,
    "recurrent_include_T1": 83.6,
    "recurrent_include_T2": 83.6,
    "recurrent_include_T2_limbs": 84.6,
}


def table_specs(table: str, seeds: Sequence[int]) -> list[RunSpec]:
    """The runs of ``table`` (one of :data:`TABLES`); ablation rows get every seed."""
    if table == "lspet":
        return [
            RunSpec(table, row, label, f"configs/lspet/{row}.flags", "lspet", 0, "best.keras", True)
            for row, label in LSPET_ROWS
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
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
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
    return f"{os.cpu_count()} CPU cores ({model}), GPU: {gpu}"


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


def eval_command(spec: RunSpec, run_dir: Path, records: Path, split: str, flip: bool) -> list[str]:
    name = split + ("_flip" if flip else "")
    command = [
        "python",
        "-m",
        "tfpose.evaluate",
        f"--model={run_dir / spec.model_file}",
        f"--records={records}",
        f"--split={split}",
        f"--protocol={'lsp' if spec.data == 'lspet' else 'mpii'}",
        f"--output_dir={run_dir / 'eval' / name}",
    ]
    if flip:
        command.append("--flip_test")
    return command


def eval_names(spec: RunSpec) -> list[tuple[str, bool]]:
    names = [("test", False)]
    if spec.flip_test:
        names.append(("test", True))
    return names


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
    return all(
        (run_dir / "eval" / (split + ("_flip" if flip else "")) / "metrics.json").exists()
        for split, flip in eval_names(spec)
    )


def run_evaluation(command: list[str]) -> None:
    """Runs ``python -m tfpose.evaluate ARGS`` in this process (TensorFlow imported once)."""
    from absl import flags

    from tfpose import evaluate

    flags.FLAGS.unparse_flags()
    flags.FLAGS(["tfpose.evaluate", *command[3:]])
    evaluate.main(["tfpose.evaluate"])


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
            train_command=shlex.join(train),
            seed=spec.seed,
            hardware=hardware(),
            train_wall_s=metrics.get("wall_s_this_run"),
            resumed_from_step=metrics.get("resumed_from_step"),
            steps=metrics.get("steps"),
            recorded=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        )
    record.setdefault("eval_commands", {})
    for split, flip in eval_names(spec):
        command = eval_command(spec, run_dir, records, split, flip)
        print("$ " + shlex.join(command), flush=True)
        if dry_run:
            continue
        run_evaluation(command)
        record["eval_commands"][split + ("_flip" if flip else "")] = shlex.join(command)
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
        return self.record is None or "test" not in self.evals


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def read_run(spec: RunSpec, runs_dir: Path) -> RunResult:
    run_dir = spec.run_dir(runs_dir)
    evals = {}
    for split, flip in eval_names(spec):
        name = split + ("_flip" if flip else "")
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


def seed_values(results: Sequence[RunResult], row: str, key: str) -> list[float]:
    values = []
    for result in results:
        if result.spec.row != row or result.missing:
            continue
        value = pick(result.evals["test"], key)
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
    if resumed:
        wall_text += f" (this invocation, resumed from step {resumed})"
    return (
        f"| {result.spec.label} | {result.spec.seed} | {record.get('steps', '—')} | {wall_text} | "
        f"`{record.get('train_command', '—')}` |"
    )


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
            lines.append(f"| {result.spec.label} | missing: no run in `{result.run_dir}` |")
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
            f"Goals (issue): recurrent ≥ 80, residual cascade ≥ 85 PCK@0.2 on test. Best here: "
            f"{best_result.spec.label}, "
            f"{fmt(best_result.evals.get('test_flip', best_result.evals['test'])['mean'])} "
            "(with flip test). **Not reached** — see *What would close the gap*.",
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
    for text, key, better, worse in claims:
        b, w = seed_values(results, better, key), seed_values(results, worse, key)
        mb, sb = mean_and_spread(b)
        mw, sw = mean_and_spread(w)
        ours = f"{fmt(mb)} ± {fmt(sb)} vs {fmt(mw)} ± {fmt(sw)} (mean ± range)"
        lines.append(f"| {text} | {key} | {ours} | {compare(b, w)} |")
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
        f"- `{command}`"
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


def write_results(runs_dir: Path, docs_dir: Path, seeds: Sequence[int]) -> Path:
    """Writes ``docs_dir/results.md`` (and the curves) from the run directories alone."""
    sections = {
        table: [read_run(s, runs_dir) for s in table_specs(table, seeds)] for table in TABLES
    }
    hardware_seen = sorted(
        {r.record["hardware"] for rs in sections.values() for r in rs if r.record}
    )
    plot_curves(sections["lspet"], docs_dir / "results_curves.png")
    lines = [
        "# Results",
        "",
        "Generated by `python benchmarks/reproduce.py --table=all` from the run directories "
        f"under `{runs_dir}`; do not edit by hand. Each row names its command, seed and the "
        "training wall time the run measured (`metrics.json`, `wall_s_this_run`).",
        "",
        "Hardware of the runs: " + ("; ".join(hardware_seen) or "no runs yet") + ". The 2 cores "
        "were shared with other jobs during these runs, so wall times are upper bounds.",
        "",
        *lspet_section(sections["lspet"]),
        "Runs:",
        "",
        *runs_table(sections["lspet"]),
        "",
        *belagiannis_section(sections["belagiannis_table1"]),
        *bulat_section(sections["bulat_table5"]),
        *GAP_TEXT,
    ]
    docs_dir.mkdir(parents=True, exist_ok=True)
    path = docs_dir / "results.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


GAP_TEXT = [
    "## What would close the gap",
    "",
    "- **Model size**: the tiny presets have 0.27–2.3 M weights at width 0.125; the papers' "
    "networks have 10–144 M (docs/models.md). The paper-size configs exist "
    "(configs/recurrent_lspet.flags, configs/cascade_*.flags) but need a GPU.",
    "- **Schedule**: minutes of CPU (1,000–3,000 steps of batch 16, 2–5 epochs of LSPET) "
    "against the papers' 50–140 epochs. Three times the steps lifted the recurrent model "
    "markedly (table above), and its validation curve was still rising when it stopped.",
    "- **Initialisation and data**: the residual cascade's published LSP result uses an "
    "ImageNet-initialised detector and MPII+LSP training (fine-tuned from MPII); here every "
    "model starts from random weights on LSPET alone.",
    "- **Input resolution**: 128 px crops instead of 248–380 px.",
    "",
    "The ablations inherit the same limits: with 300 steps per row, differences of a point or "
    "two are inside the seed spread, so most orderings are undecided rather than contradicted.",
]


# ----------------------------------------------------------------------------- gallery

GALLERY_IMAGES = (9501, 9650, 9800)  # fixed LSPET test images (not chosen by result)


def make_gallery(model: Path, lspet_dir: Path, docs_dir: Path, work_dir: Path) -> list[Path]:
    """Overlays of ``model``'s predictions on LSPET test images → ``docs_dir/gallery/lspet_*.jpg``.

    LSPET gives no person box; as in training and evaluation, each box is the tight box of the
    image's annotated joints (``python -m tfpose.predict --box_mode=person`` enlarges it by the
    model's crop convention). Only the predictions are drawn.
    """
    import numpy as np
    from scipy import io

    joints = io.loadmat(str(lspet_dir / "joints.mat"))["joints"]  # [14, 3, N]: x, y, annotated
    inputs = work_dir / "gallery_inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    boxes = {}
    for number in GALLERY_IMAGES:
        name = f"im{number:05d}.jpg"
        target = inputs / name
        if not target.exists():
            target.symlink_to(lspet_dir / "images" / name)
        points = joints[:, :2, number - 1]
        points = points[joints[:, 2, number - 1] > 0]
        (x1, y1), (x2, y2) = np.min(points, axis=0), np.max(points, axis=0)
        boxes[name] = [[float(x1), float(y1), float(x2), float(y2)]]
    (work_dir / "gallery_boxes.json").write_text(json.dumps(boxes, indent=1))
    command = [
        sys.executable,
        "-m",
        "tfpose.predict",
        f"--model={model}",
        f"--input={inputs}",
        f"--boxes={work_dir / 'gallery_boxes.json'}",
        "--box_mode=person",
        "--flip_test",
        "--overlay_max_side=360",
        f"--output_dir={work_dir / 'gallery_out'}",
    ]
    print("$ python " + shlex.join(command[1:]), flush=True)
    subprocess.run(command, cwd=REPO, check=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    written = []
    (docs_dir / "gallery").mkdir(parents=True, exist_ok=True)
    for overlay in sorted((work_dir / "gallery_out" / "overlays").glob("*.jpg")):
        target = docs_dir / "gallery" / f"lspet_{overlay.name}"
        shutil.copyfile(overlay, target)
        written.append(target)
    (docs_dir / "gallery" / "lspet_model.txt").write_text(
        f"model: {model}\ncommand: python -m {shlex.join(command[2:])}\n"
    )
    return written


def best_lspet_model(runs_dir: Path) -> Path | None:
    """The LSPET run with the best test PCK@0.2 (flip test), or ``None`` before any run."""
    results = [
        r for r in (read_run(s, runs_dir) for s in table_specs("lspet", [0])) if not r.missing
    ]
    if not results:
        return None
    best = max(results, key=lambda r: r.evals.get("test_flip", r.evals["test"])["mean"])
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
        "--gallery",
        action="store_true",
        help="Also draw the best LSPET model's predictions into docs/gallery/lspet_*.jpg.",
    )
    parser.add_argument(
        "--lspet_dir",
        type=Path,
        default=REPO.parent / "shared" / "data" / "lspet",
        help="Raw LSPET folder (images/, joints.mat), for --gallery.",
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
        for table in tables:
            records = args.lspet_records if table == "lspet" else args.synthetic_records
            if table == "lspet" and not (records / "manifest.json").exists():
                parser.error(
                    f"--lspet_records={records} has no manifest.json; make it with "
                    "python -m tfpose.data.convert --dataset=lspet "
                    f"--data_dir=../shared/data/lspet --output_dir={records}"
                )
            for spec in table_specs(table, seeds):
                ensure_run(spec, args.runs_dir.resolve(), records.resolve(), args.dry_run)
    if args.gallery and not args.dry_run:
        model = best_lspet_model(args.runs_dir.resolve())
        if model is None:
            parser.error("--gallery needs a finished LSPET run")
        make_gallery(model, args.lspet_dir, args.docs_dir, args.runs_dir.resolve() / "gallery")
    if not args.dry_run:
        print(f"wrote {write_results(args.runs_dir.resolve(), args.docs_dir, seeds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
