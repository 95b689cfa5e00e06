"""Trains what is missing, evaluates it and regenerates ``docs/results.md`` from run directories.

The entry point only: ``python benchmarks/reproduce.py --table=...`` (or ``python -m
benchmarks.reproduce ...``) hands its arguments to :func:`benchmarks.reproduction.cli.main`;
the tables, the runner and the report are the package :mod:`benchmarks.reproduction`.
"""

import sys
from pathlib import Path

# Run as a script (``python benchmarks/reproduce.py``): import this checkout's tfpose and
# benchmarks, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reproduction.cli import main  # noqa: E402

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
