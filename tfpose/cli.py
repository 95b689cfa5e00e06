"""What the ``python -m tfpose.*`` commands share: errors reported in one line.

absl's ``app.run`` prints the module docstring and every flag (~55 lines) before the message of
an ``app.UsageError``, and a traceback for any other exception. :func:`run` starts a command's
``main`` so that a usage error, a flag that does not parse (a missing ``--flagfile``, a bad
value) or one of the command's ``user_errors`` (a missing or unreadable model, records, image)
prints ``error: <what, where, the next command>`` on stderr and exits with status 1.
``--help`` / ``--helpshort`` still print the full usage.

A command keeps its flag holders in a dict under the flags' names (:func:`by_name`), each flag
named as the argument it gives (a config's field, a function's parameter), and passes them on
with :func:`flag_values` / :func:`fields_of` rather than one ``name=_NAME.value`` per flag.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from absl import app, flags

# The command that makes a model to pass as --model (messages of evaluate, export, predict).
TRAIN_HINT = (
    "train one with `python -m tfpose.train --flagfile=configs/quickstart.flags "
    "--workdir=runs/quickstart`, then pass --model=runs/quickstart/best.keras"
)


def by_name(*holders: flags.FlagHolder) -> dict[str, flags.FlagHolder]:
    """The flag holders under their flags' names (``holders["model"].value``)."""
    return {holder.name: holder for holder in holders}


def flag_values(holders: Mapping[str, flags.FlagHolder]) -> dict[str, Any]:
    """The command line's values: ``{name: holder.value}``."""
    return {name: holder.value for name, holder in holders.items()}


def fields_of(config_class: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` named as fields of the dataclass ``config_class``: keyword
    arguments for it (its other fields keep their defaults)."""
    names = [field.name for field in dataclasses.fields(config_class)]
    return {name: values[name] for name in names if name in values}


def fail(message: str, exitcode: int = 1) -> None:
    """Prints ``error: message`` on stderr (one line) and exits with ``exitcode``."""
    sys.stdout.flush()
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(exitcode)


def message_of(error: BaseException) -> str:
    """The text of an exception (``KeyError`` quotes its argument; this does not)."""
    if error.args and isinstance(error.args[0], str):
        return error.args[0]
    return str(error) or type(error).__name__


def _flagfile_message(message: str, argv: list[str]) -> str | None:
    """A missing ``--flagfile``: which file, and where the recipes are."""
    if "flagfile" not in message.lower():
        return None
    names = [arg.split("=", 1)[1] for arg in argv[1:] if arg.startswith("--flagfile=")]
    missing = [name for name in names if not os.path.isfile(name)]
    if not missing:
        return None
    return (
        f"--flagfile={missing[0]}: no such file; the recipes are in configs/ (e.g. "
        "--flagfile=configs/quickstart.flags, run from the repository root)"
    )


def parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, with a parse error reported in one line."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        message = str(error).strip()
        fail(
            _flagfile_message(message, argv)
            or f"{' '.join(message.split())} (--helpshort lists the flags)"
        )
        raise  # not reached


def run(main: Callable[[list[str]], None], user_errors: Sequence[type[BaseException]] = ()) -> None:
    """``app.run(main)``, with usage errors, flag errors and ``user_errors`` in one line."""
    caught = (app.UsageError, *user_errors)

    def main_with_one_line_errors(argv: list[str]) -> None:
        try:
            main(argv)
        except caught as error:
            fail(message_of(error), getattr(error, "exitcode", 1) or 1)

    app.run(main_with_one_line_errors, flags_parser=parse_flags)
