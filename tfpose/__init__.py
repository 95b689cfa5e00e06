"""tfpose: human pose estimation in TensorFlow 2 / Keras 3 (see README.md)."""

import os as _os
import sys as _sys

# ``python -m tfpose.<command>``: Python imports this package while it locates the command
# (``sys.argv[0]`` is then "-m"). Commands start with TensorFlow's start-up messages hidden
# (``-v 0`` shows them); a program importing tfpose as a library is left alone. See
# tfpose/console.py. Worker processes a quiet command starts (the synthetic data generator's
# pool) inherit TFPOSE_QUIET_STARTUP and stay quiet too.
if _sys.argv[:1] == ["-m"] or _os.environ.get("TFPOSE_QUIET_STARTUP") == "1":
    from tfpose import console as _console

    _console.quiet_startup()
