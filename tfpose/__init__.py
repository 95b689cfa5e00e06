"""tfpose: human pose estimation in TensorFlow 2 / Keras 3 (see README.md)."""

import sys as _sys

# ``python -m tfpose.<command>``: Python imports this package while it locates the command
# (``sys.argv[0]`` is then "-m"). Commands start with TensorFlow's start-up messages hidden
# (``-v 0`` shows them); a program importing tfpose as a library is left alone. See
# tfpose/console.py.
if _sys.argv[:1] == ["-m"]:
    from tfpose import console as _console

    _console.quiet_startup()
