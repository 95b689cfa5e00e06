"""The files of a run's workdir: the writability check, atomic writes and ``history.csv``.

Every file a run rewrites goes through a temporary file and a rename, so that a kill or a full
disk leaves either the old or the new content. ``history.csv`` has one row per log interval
(and per validation); a resume drops the rows written after the checkpoint it restores.
"""

from __future__ import annotations

import csv
import errno
import os
import tempfile
from collections.abc import Callable
from typing import Any


class WorkdirError(RuntimeError):
    """The workdir cannot be written (permissions, disk full)."""


# OSError numbers that mean "this run cannot write its files here".
WRITE_ERRNOS = (
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
)


def check_writable(directory: str) -> None:
    """Raises :class:`WorkdirError` unless a file can be created in ``directory``."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise WorkdirError(f"workdir {directory} is not writable: {e.strerror or e}") from None


def write_atomically(path: str, write: Callable[[Any], None]) -> None:
    """Writes ``path`` through a temporary file and a rename, so that a kill or a full disk
    leaves either the old or the new content, never a half-written file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", newline="") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def append_history(path: str, row: dict[str, Any]) -> None:
    """Appends a row to the history CSV at ``path``; a row with new columns (the first
    validation) rewrites the file once with the wider header."""
    rows: list[dict[str, str]] = []
    fields: list[str] = []
    if os.path.exists(path):
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            fields = list(reader.fieldnames or [])
            if any(key not in fields for key in row):
                rows = list(reader)
    new_fields = [key for key in row if key not in fields]
    if new_fields or not fields:
        wider = fields + new_fields

        def rewrite(f):
            writer = csv.DictWriter(f, wider)
            writer.writeheader()
            writer.writerows(rows)

        write_atomically(path, rewrite)
        fields = wider
    with open(path, "a", newline="") as f:
        csv.DictWriter(f, fields).writerow(row)


def truncate_history(path: str, step: int) -> None:
    """Drops the rows of the history CSV at ``path`` after ``step`` (written after the
    checkpoint a resume restores)."""
    if not os.path.exists(path):
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    # A row cut short by a kill mid-write has fewer fields (or a cut step number): dropped.
    kept = [r for r in body if len(r) == len(header) and r[0].isdigit() and int(r[0]) <= step]
    if len(kept) != len(body):
        write_atomically(path, lambda f: csv.writer(f).writerows([header, *kept]))


def history_rows(workdir: str) -> list[dict[str, str]]:
    """The rows of ``WORKDIR/history.csv``."""
    with open(os.path.join(workdir, "history.csv"), newline="") as f:
        return list(csv.DictReader(f))
