r"""Trains a pose model: ``python -m tfpose.train --flagfile=configs/NAME.flags --workdir=DIR``.

Examples::

  # The quickstart: a small recurrent network on the built-in synthetic people (generated on
  # first use), about 10 minutes on 2 CPU cores.
  python -m tfpose.train --flagfile=configs/quickstart.flags --workdir=runs/quickstart

  # The recurrent network's MPII recipe (needs MPII records, see the message if absent).
  python -m tfpose.train --flagfile=configs/recurrent.flags --workdir=runs/recurrent

Re-running the same command resumes from the last checkpoint in ``--workdir``. The run writes
``model.keras``, ``best.keras``, ``flags.json``, ``history.csv``, ``metrics.json``, checkpoints
and TensorBoard logs there (see :mod:`tfpose.training.trainer`).

Progress goes to stderr: a bar with the loss and examples/s on a terminal; in a log file a line
every --log_every steps (``step 500/4500 [joint] loss 0.91 (11.3 ex/s) eta 1h02m``) and every
10 s between. TensorFlow's start-up messages are hidden; -v 0 shows them.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

# TensorFlow's start-up messages are hidden by tfpose/console.py (python -m runs it first).
from absl import app, flags  # noqa: E402

from tfpose import cli  # noqa: E402
from tfpose.progress import write  # noqa: E402
from tfpose.run_config import field_kinds  # noqa: E402
from tfpose.training import run as run_lib  # noqa: E402

flags.declare_key_flag("verbosity")  # listed by --help: -v 0 shows TensorFlow's messages


def _entry(value: Any) -> str:
    """One item of a comma-list flag's default: ``50.0`` -> ``"50"``, ``("joint", 50.0)`` ->
    ``"joint:50"``."""
    if isinstance(value, tuple):
        return ":".join(_entry(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_DEFINE = {
    str: flags.DEFINE_string,
    int: flags.DEFINE_integer,
    float: flags.DEFINE_float,
    bool: flags.DEFINE_bool,
}


def define_flags() -> dict[str, flags.FlagHolder]:
    """One flag per :class:`RunConfig` field with a help text, with the field's name, default
    and help: an enum where it has ``choices``, a comma list for a tuple (of numbers, or read
    by its ``parse``), else a string, integer, float or bool flag as its type."""
    kinds = field_kinds()
    holders = {}
    for field in dataclasses.fields(run_lib.RunConfig):
        if "help" not in field.metadata:
            continue
        name, text, kind = field.name, field.metadata["help"], kinds[field.name]
        default = None if field.default is dataclasses.MISSING else field.default
        choices = field.metadata.get("choices")
        if choices is not None:
            values = [str(c) for c in (choices() if callable(choices) else choices)]
            default = None if default is None else str(default)
            holders[name] = flags.DEFINE_enum(name, default, values, text)
        elif kind is tuple:
            default = None if default is None else [_entry(v) for v in default]
            holders[name] = flags.DEFINE_list(name, default, text)
        else:
            define = _DEFINE.get(kind)
            if define is None:
                raise TypeError(f"RunConfig.{name}: no flag kind for {field.type}")
            holders[name] = define(name, default, text)
    return holders


# Every flag is a field of RunConfig (tfpose/run_config.py), with its default and help text
# written there: a new setting is one field, and its flag follows.
_FLAGS = define_flags()


def _floats(values: list[str], flag: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in values)
    except ValueError:
        raise app.UsageError(f"--{flag} must be a comma list of numbers, got {values}") from None


def config_from_flags() -> run_lib.RunConfig:
    """The :class:`RunConfig` that the command line describes."""
    kinds = field_kinds()
    values = {}
    for field in dataclasses.fields(run_lib.RunConfig):
        if field.name not in _FLAGS:
            continue
        value, kind = _FLAGS[field.name].value, kinds[field.name]
        parse = field.metadata.get("parse")
        if value is None:
            pass
        elif parse is not None:
            try:
                value = parse(value)
            except ValueError as e:
                raise app.UsageError(str(e)) from None
        elif kind is tuple:
            value = _floats(value, field.name)
        elif kind in (int, float):  # enums of numbers are strings until here
            value = kind(value)
        values[field.name] = value
    values["records"] = values["records"] or os.path.join("data", values["dataset"])
    return run_lib.RunConfig(**values)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not _FLAGS["workdir"].value:
        raise app.UsageError("--workdir is required")
    config = config_from_flags()
    write(f"training {config.model} in {config.workdir}: reading the records, building the model")
    try:
        summary = run_lib.train(config)
    except run_lib.USER_ERRORS as e:
        cli.fail(cli.message_of(e))
    validation = summary.get("validation") or {}
    score = validation.get(summary["select_metric"])
    line = f"done: {summary['steps']} steps; model at {os.path.join(config.workdir, 'model.keras')}"
    if score is not None:
        line += f"; validation {summary['select_metric']} {score:.2f}"
    print(line)


if __name__ == "__main__":
    cli.run(main)  # errors in one line, without absl's usage text
