"""Benchmarks (measurements, not tests)."""

import sys as _sys

# ``python -m benchmarks.<script>``: the same quiet start-up as the tfpose commands (see
# tfpose/console.py); importing benchmarks as a library changes nothing.
if _sys.argv[:1] == ["-m"]:
    from tfpose import console as _console

    _console.quiet_startup()
