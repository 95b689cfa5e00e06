"""Command line of the synthetic people generator: a contact sheet and a speed benchmark.

Usage::

    python -m tfpose.data.synthetic --contact_sheet=docs/synthetic_samples.png --seed=0
    python -m tfpose.data.synthetic --benchmark_examples=10000 --num_workers=2
"""

from __future__ import annotations

from collections.abc import Sequence

from tfpose.data.synthetic.examples import benchmark
from tfpose.data.synthetic.sheet import write_contact_sheet


def _main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not _CONTACT_SHEET.value and not _BENCHMARK_EXAMPLES.value:
        raise app.UsageError("give --contact_sheet=PATH and/or --benchmark_examples=N")
    if _CONTACT_SHEET.value:
        print("wrote", write_contact_sheet(_CONTACT_SHEET.value, seed=_SEED.value))
    if _BENCHMARK_EXAMPLES.value:
        result = benchmark(_BENCHMARK_EXAMPLES.value, _SEED.value, _NUM_WORKERS.value)
        print(
            f"{int(result['examples'])} examples in {result['seconds']:.1f} s with "
            f"{_NUM_WORKERS.value} worker(s): {result['examples_per_second']:.1f} examples/s; "
            f"joints visible {result['visible_fraction']:.1%}, occluded "
            f"{result['occluded_fraction']:.1%}, outside the image {result['outside_fraction']:.1%}"
        )


if __name__ == "__main__":
    from absl import app, flags

    # Defined here, not at import time, so that importing this module never clashes with the
    # flags of a command-line module that uses it.
    _CONTACT_SHEET = flags.DEFINE_string("contact_sheet", None, "Write a 4x4 PNG sheet here.")
    _SEED = flags.DEFINE_integer("seed", 0, "Dataset seed.", lower_bound=0)
    _BENCHMARK_EXAMPLES = flags.DEFINE_integer(
        "benchmark_examples", 0, "Generate this many examples and report the speed.", lower_bound=0
    )
    _NUM_WORKERS = flags.DEFINE_integer(
        "num_workers", 1, "Processes used by --benchmark_examples.", lower_bound=1
    )
    app.run(_main)
