"""One writer per table of ``docs/results.md``: a section's lines from its runs' results, the
prose from :mod:`.templates` (the LSPET ablations also read their budget from the rows'
flagfiles and say what the verdicts mean)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmarks.reproduction import templates as text
from benchmarks.reproduction.experiments import (
    BELAGIANNIS_CLAIMS,
    BELAGIANNIS_LSPET_CLAIMS,
    BELAGIANNIS_LSPET_PAPER,
    BELAGIANNIS_LSPET_ROWS,
    BELAGIANNIS_LSPET_UNTESTABLE,
    BELAGIANNIS_PAPER,
    BELAGIANNIS_ROWS,
    BULAT_CLAIMS,
    BULAT_LSPET_CLAIMS,
    BULAT_LSPET_ROWS,
    BULAT_ROWS,
    LSP_COLUMNS,
    LSPET_ABLATION_LEVEL,
    LSPET_METHODS,
    MAX_SEEDS,
    REAL_PHOTO_EVAL_LABELS,
    RunSpec,
    eval_names,
)
from benchmarks.reproduction.markdown import (
    ablation_table,
    claim_lines,
    fmt,
    lsp_row,
    paragraphs,
    runs_block,
)
from benchmarks.reproduction.paths import REPO, repo_relative
from benchmarks.reproduction.rundirs import RunResult
from benchmarks.reproduction.verdicts import (
    claim_parts,
    claim_verdict,
    mean_and_spread,
    seed_values,
    third_seed_runs,
)

# ----------------------------------------------------------------------------- LSPET tables


def real_photos_section(results: Sequence[RunResult], curves: str | None) -> list[str]:
    lines = [text.REAL_PHOTOS_HEADING, "", text.REAL_PHOTOS_INTRO, ""]
    for result in results:
        label = result.spec.label
        if result.missing:
            where = repo_relative(result.run_dir)
            lines += [text.REAL_PHOTOS_MISSING.format(label=label, where=where), ""]
            continue
        best = (result.train_metrics or {}).get("best_score")
        lines += [
            text.REAL_PHOTOS_MODEL.format(label=label, row=result.spec.row, best=fmt(best)),
            "",
            "| input | " + " | ".join(LSP_COLUMNS) + " | Mean (14) | 12 body |",
            "|---|" + "---:|" * (len(LSP_COLUMNS) + 2),
        ]
        for name in eval_names(result.spec):
            metrics = result.evals.get(name)
            if metrics is not None:
                first = REAL_PHOTO_EVAL_LABELS.get(name, name)
                lines.append(lsp_row(first, metrics, fmt(metrics.get("body_joints_mean"))))
        whole = [result.evals.get(f"whole_refine{n}_flip") for n in range(3)]
        if all(whole) and len({round(m["mean"], 6) for m in whole}) == 1:
            lines += ["", text.REAL_PHOTOS_EQUAL_PASSES]
        lines.append("")
    if curves:
        lines += [text.CURVES_IMAGE.format(path=curves), ""]
    return [*lines, *runs_block(results)]


def lspet_section(results: Sequence[RunResult]) -> list[str]:
    lines = [
        text.LSPET_HEADING,
        "",
        text.LSPET_INTRO,
        "",
        "| model | flip test | " + " | ".join(LSP_COLUMNS) + " | Mean | val (best) |",
        "|---|---|" + "---:|" * (len(LSP_COLUMNS) + 2),
    ]
    for result in results:
        if result.missing:
            where = repo_relative(result.run_dir)
            lines.append(text.LSPET_MISSING.format(label=result.spec.label, where=where))
            continue
        best = (result.train_metrics or {}).get("best_score")
        for name in ("test", "test_flip"):
            metrics = result.evals.get(name)
            if metrics is not None:
                flip = text.YES if name.endswith("flip") else text.NO
                lines.append(lsp_row(f"{result.spec.label} | {flip}", metrics, fmt(best)))
    done = [result for result in results if not result.missing]
    if done:
        best_result = max(done, key=lambda r: r.evals.get("test_flip", r.evals["test"])["mean"])
        mean = best_result.evals.get("test_flip", best_result.evals["test"])["mean"]
        lines += ["", text.LSPET_BEST.format(label=best_result.spec.label, mean=fmt(mean))]
    for result in done:
        value = result.evals["test"]["mean"]
        if value < 5.0:
            did_not_learn = text.LSPET_DID_NOT_LEARN.format(
                label=result.spec.label, mean=fmt(value)
            )
            lines += ["", did_not_learn]
    return [*lines, "", text.LSPET_CURVES, "", text.LSPET_CURVES_IMAGE, ""]


# ----------------------------------------------------------------------------- synthetic ablations


def belagiannis_section(results: Sequence[RunResult]) -> list[str]:
    return paragraphs(
        text.BELAGIANNIS_HEADING,
        text.BELAGIANNIS_INTRO,
        ablation_table(results, BELAGIANNIS_ROWS, [("mean", "PCKh@0.5")], BELAGIANNIS_PAPER),
        text.BELAGIANNIS_VISIBILITY,
        ablation_table(results, BELAGIANNIS_ROWS[:3], [("visibility_ap", "AP")], None),
        text.BELAGIANNIS_CLAIMS,
        claim_lines(results, BELAGIANNIS_CLAIMS),
        runs_block(results),
    )


def bulat_section(results: Sequence[RunResult]) -> list[str]:
    return paragraphs(
        text.BULAT_HEADING,
        text.BULAT_INTRO,
        ablation_table(results, BULAT_ROWS, [("mean", "PCKh@0.5")], None),
        text.CLAIMS,
        claim_lines(results, BULAT_CLAIMS),
        runs_block(results),
    )


# ----------------------------------------------------------------------------- LSPET ablations


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


def budget_line(specs: Sequence[RunSpec]) -> str:
    """The table's training budget, read from its rows' flagfiles (one value per setting when
    every row agrees, as they should)."""
    rows = {spec.row: flagfile_values(spec.flagfile) for spec in specs}
    if not rows or not all(rows.values()):
        return text.BUDGET_MISSING

    def one(name: str) -> str:
        return " / ".join(sorted({values.get(name, "?") for values in rows.values()}))

    steps = sorted({flagfile_steps(values) for values in rows.values()})
    batch, optimizer = one("batch_size"), one("optimizer")
    examples = ""
    if len(steps) == 1 and batch.isdigit():
        examples = text.BUDGET_EXAMPLES.format(examples=steps[0] * int(batch))
    included = sorted(
        {
            line.strip().split("=", 1)[1]
            for spec in specs
            for line in (REPO / spec.flagfile).read_text().splitlines()
            if line.strip().startswith("--flagfile=")
        }
    )
    return text.BUDGET.format(
        source=f" ({', '.join(included)})" if included else "",
        input_size=one("input_size"),
        batch=batch,
        steps=" / ".join(f"{n:,}" for n in steps),
        optimizer=text.OPTIMIZER_NAMES.get(optimizer, optimizer),
        examples=examples,
        precision=one("mixed_precision"),
    )


def claim_summary(results: Sequence[RunResult], claim: Sequence) -> str:
    claim_text, key, better, worse, _ = claim_parts(claim)
    b, w = seed_values(results, better, key), seed_values(results, worse, key)
    mb, sb = mean_and_spread(b)
    mw, sw = mean_and_spread(w)
    short = claim_text.split(" (")[0]
    if mb is None or mw is None:
        return short
    return text.CLAIM_SUMMARY.format(
        claim=short,
        mean_b=fmt(mb),
        mean_w=fmt(mw),
        gap=mb - mw,
        spread_b=fmt(sb),
        spread_w=fmt(sw),
        seeds_b=len(b),
        seeds_w=len(w),
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
    command = text.COMMAND.format(table=table)
    done = [r for r in results if not r.missing]
    if not done:
        rows = len({r.spec.row for r in results})
        seeds = len(results) // max(rows, 1)
        return [text.MEANING_NOTHING_YET.format(command=command, rows=rows, seeds=seeds)]
    sentences = []
    method = seed_values(results, method_row, "mean")
    if method:
        mean = sum(method) / len(method)
        reached = text.MEANING_REACHING if mean >= LSPET_ABLATION_LEVEL else text.MEANING_BELOW
        sentences.append(
            text.MEANING_LEVEL.format(
                method=method_name,
                mean=fmt(mean),
                seeds=len(method),
                reached=reached,
                level=fmt(LSPET_ABLATION_LEVEL, 0),
            )
        )
    else:
        sentences.append(text.MEANING_METHOD_NOT_RUN.format(method=method_name))
    groups: dict[str, list[str]] = {"agrees": [], "disagrees": [], "undecided": [], "not": []}
    for claim in claims:
        verdict = claim_verdict(results, claim)
        bucket = next((g for g in groups if verdict.startswith(g)), "undecided")
        groups[bucket].append(claim_summary(results, claim))
    for bucket, template in (
        ("agrees", text.MEANING_HOLDS),
        ("disagrees", text.MEANING_CONTRADICTED),
        ("undecided", text.MEANING_UNDECIDED),
        ("not", text.MEANING_NOT_RUN),
    ):
        if groups[bucket]:
            sentences.append(template.format(claims="; ".join(groups[bucket])))
    missing = len(results) - len(done)
    if missing:
        sentences.append(
            text.MEANING_MISSING.format(missing=missing, total=len(results), command=command)
        )
    return [text.MEANING.format(sentences=" ".join(sentences))]


def third_seed_lines(
    table: str, results: Sequence[RunResult], claims: Sequence[Sequence]
) -> list[str]:
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
        runs = "; ".join(
            text.THIRD_SEED_RUN.format(label=labels[row], seed=seed, claim=claim.split(" (")[0])
            for row, seed, claim in todo
        )
        lines.append(
            text.THIRD_SEED_DUE.format(runs=runs, command=text.COMMAND.format(table=table))
        )
    third = [labels[row] for row, count in seeds.items() if count >= MAX_SEEDS]
    if third:
        lines.append(text.ROWS_WITH_SEEDS.format(seeds=MAX_SEEDS, rows=", ".join(third)))
    if not todo and seeds and not third:
        lines.append(text.NO_THIRD_SEED)
    return [line for entry in lines for line in (entry, "")]


def lspet_ablation_tail(table: str, results: Sequence[RunResult], claims) -> list[str]:
    """Claims table, third seeds, "What it means" and the runs of an LSPET ablation table."""
    method_row, method_name = LSPET_METHODS[table]
    return paragraphs(
        claim_lines(results, claims),
        # third_seed_lines ends each of its paragraphs with an empty line.
        third_seed_lines(table, results, claims)
        + meaning_lines(table, results, claims, method_row, method_name),
        runs_block(results),
    )


def belagiannis_lspet_section(results: Sequence[RunResult]) -> list[str]:
    paper = {row: fmt(value) for row, value in BELAGIANNIS_LSPET_PAPER.items()}
    claims = [(claim.format(**paper), *rest) for claim, *rest in BELAGIANNIS_LSPET_CLAIMS]
    untestable = [
        text.BELAGIANNIS_LSPET_UNTESTABLE.format(label=label, paper=fmt(value))
        for label, value in BELAGIANNIS_LSPET_UNTESTABLE
    ]
    table = ablation_table(
        results, BELAGIANNIS_LSPET_ROWS, [("mean", "PCK@0.2")], BELAGIANNIS_LSPET_PAPER
    )
    return paragraphs(
        text.BELAGIANNIS_LSPET_HEADING,
        text.BELAGIANNIS_LSPET_INTRO,
        budget_line([r.spec for r in results]),
        table + untestable,
        text.BELAGIANNIS_LSPET_LABELS,
        text.BELAGIANNIS_LSPET_CLAIMS,
        lspet_ablation_tail("belagiannis_lspet", results, claims),
    )


def bulat_lspet_section(results: Sequence[RunResult]) -> list[str]:
    return paragraphs(
        text.BULAT_LSPET_HEADING,
        text.BULAT_LSPET_INTRO,
        budget_line([r.spec for r in results]),
        ablation_table(results, BULAT_LSPET_ROWS, [("mean", "PCK@0.2")], None),
        text.BULAT_LSPET_CLAIMS,
        lspet_ablation_tail("bulat_lspet", results, list(BULAT_LSPET_CLAIMS)),
    )
