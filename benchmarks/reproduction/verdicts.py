"""Seed statistics and the verdicts on the papers' claims (which rows need a third seed)."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.reproduction.experiments import MAX_SEEDS, eval_names
from benchmarks.reproduction.rundirs import RunResult


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
