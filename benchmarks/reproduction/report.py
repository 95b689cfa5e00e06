"""Writes ``docs/results.md`` and its learning-curve plots from the run directories alone: the
numbers come from the runs (:mod:`.rundirs`), each table's section from :mod:`.sections`, the
prose from :mod:`.templates`. A table whose runs are not on this machine keeps its section."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmarks.reproduction import templates as text
from benchmarks.reproduction.experiments import TABLES
from benchmarks.reproduction.markdown import runs_block
from benchmarks.reproduction.rundirs import RunResult, read_history, read_run, table_runs
from benchmarks.reproduction.sections import (
    belagiannis_lspet_section,
    belagiannis_section,
    bulat_lspet_section,
    bulat_section,
    lspet_section,
    real_photos_section,
)


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


def previous_sections(path: Path) -> dict[str, list[str]]:
    """The table sections of an existing ``results.md``, by table (between their markers)."""
    sections: dict[str, list[str]] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return sections
    current = None
    for line in lines:
        if current is not None and line == text.SECTION_END.format(current):
            current = None
        elif current is not None:
            sections[current].append(line)
        else:
            for table in TABLES:
                if line == text.SECTION_START.format(table):
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
        "lspet": lambda rs: [*lspet_section(rs), *runs_block(rs)],
        "belagiannis_table1": belagiannis_section,
        "belagiannis_lspet": belagiannis_lspet_section,
        "bulat_table5": bulat_section,
        "bulat_lspet": bulat_lspet_section,
    }
    lines = [text.TITLE, "", text.INTRO, ""]
    for table in TABLES:
        body = writers[table](sections[table]) if table in fresh else kept[table]
        if table in fresh:
            hardware_seen = sorted({r.record["hardware"] for r in sections[table] if r.record})
            if hardware_seen:
                hardware = text.HARDWARE.format(hardware="; ".join(hardware_seen))
                body = [*body[:1], "", hardware, *body[1:]]
        lines += [text.SECTION_START.format(table), *body, text.SECTION_END.format(table), ""]
    lines += text.GAP_TEXT
    docs_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
