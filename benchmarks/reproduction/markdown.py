"""The Markdown pieces every section of ``docs/results.md`` shares: numbers, the runs table,
the seeds-and-claims tables, per-joint rows."""

from __future__ import annotations

import os
from collections.abc import Sequence

from benchmarks.reproduction import templates as text
from benchmarks.reproduction.experiments import LSP_COLUMNS
from benchmarks.reproduction.paths import relative_command
from benchmarks.reproduction.rundirs import RunResult
from benchmarks.reproduction.verdicts import (
    claim_parts,
    claim_verdict,
    mean_and_spread,
    seed_values,
)


def paragraphs(*blocks: str | Sequence[str]) -> list[str]:
    """The lines of ``blocks`` (each a line or a list of lines), an empty line between two."""
    lines: list[str] = []
    for index, block in enumerate(blocks):
        if index:
            lines.append("")
        lines += [block] if isinstance(block, str) else block
    return lines


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def run_line(result: RunResult) -> str:
    record = result.record or {}
    wall = record.get("train_wall_s")
    resumed = record.get("resumed_from_step")
    wall_text = text.WALL_MINUTES.format(minutes=fmt(wall / 60 if wall is not None else None))
    cpu = record.get("train_cpu_s")
    if cpu is not None:
        cores = os.cpu_count() or 1
        wall_text += text.WALL_CPU.format(
            cpu_minutes=fmt(cpu / 60), idle_minutes=fmt(cpu / 60 / cores), cores=cores
        )
    if record.get("onednn_max_cpu_isa"):
        wall_text += text.WALL_ONEDNN.format(isa=record["onednn_max_cpu_isa"])
    if resumed:
        wall_text += text.WALL_RESUMED.format(step=resumed)
    command = relative_command(record["train_command"]) if "train_command" in record else "—"
    return text.RUN_LINE.format(
        label=result.spec.label,
        seed=result.spec.seed,
        steps=record.get("steps", "—"),
        wall=wall_text,
        command=command,
    )


def runs_table(results: Sequence[RunResult]) -> list[str]:
    lines = list(text.RUNS_HEADER)
    lines += [
        run_line(r)
        if not r.missing
        else text.RUN_MISSING.format(label=r.spec.label, seed=r.spec.seed)
        for r in results
    ]
    evals = [
        text.EVAL_COMMAND.format(command=relative_command(command))
        for r in results
        if r.record
        for command in r.record.get("eval_commands", {}).values()
    ]
    if evals:
        lines += ["", text.EVAL_COMMANDS_OPEN, "", *evals, "", text.EVAL_COMMANDS_CLOSE]
    return lines


def runs_block(results: Sequence[RunResult]) -> list[str]:
    """ "Runs:" and the runs table, ending with a blank line."""
    return [text.RUNS, "", *runs_table(results), ""]


def ablation_table(
    results: Sequence[RunResult],
    rows: Sequence[tuple[str, str]],
    keys: Sequence[tuple[str, str]],
    paper: dict[str, float] | None,
) -> list[str]:
    header = "| row | " + " | ".join(text.SEEDS_COLUMN.format(title=title) for _, title in keys)
    header += " | mean | range |" if len(keys) == 1 else " |"
    if paper is not None:
        header += " paper |"
    lines = [header, "|---|" + "---|" * (header.count("|") - 2)]
    for row, label in rows:
        cells = []
        for key, _ in keys:
            values = seed_values(results, row, key)
            cells.append(", ".join(fmt(v) for v in values) if values else text.MISSING)
        line = f"| {label} | " + " | ".join(cells) + " |"
        if len(keys) == 1:
            mean, spread = mean_and_spread(seed_values(results, row, keys[0][0]))
            line += f" {fmt(mean)} | {fmt(spread)} |"
        if paper is not None:
            line += f" {fmt(paper.get(row))} |"
        lines.append(line)
    return lines


def claim_lines(results: Sequence[RunResult], claims: Sequence[Sequence]) -> list[str]:
    lines = list(text.CLAIMS_HEADER)
    for claim in claims:
        claim_text, key, better, worse, _ = claim_parts(claim)
        mb, sb = mean_and_spread(seed_values(results, better, key))
        mw, sw = mean_and_spread(seed_values(results, worse, key))
        ours = text.CLAIM_OURS.format(
            mean_b=fmt(mb), spread_b=fmt(sb), mean_w=fmt(mw), spread_w=fmt(sw)
        )
        verdict = claim_verdict(results, claim)
        lines.append(text.CLAIM_LINE.format(text=claim_text, key=key, ours=ours, verdict=verdict))
    return lines


def lsp_row(first: str, metrics: dict, last: str) -> str:
    """A per-joint table row: ``first`` cell(s), the LSP columns, the bold mean, ``last``."""
    per_joint = metrics.get("per_joint", {})
    cells = [fmt(per_joint.get(column)) for column in LSP_COLUMNS]
    return f"| {first} | " + " | ".join(cells) + f" | **{fmt(metrics.get('mean'))}** | {last} |"
