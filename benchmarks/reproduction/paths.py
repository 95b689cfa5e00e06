"""The repository root, and paths and commands written relative to it: the documents name no
absolute path of the machine they were generated on."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def repo_relative(path: str | Path) -> str:
    """``path`` relative to the repository root (``../runs/...`` outside it): the documents name
    no absolute path of the machine they were generated on."""
    if not os.path.isabs(path):
        return str(path)
    return os.path.relpath(path, REPO)


def relative_command(command: str) -> str:
    """A recorded command with its absolute paths (``--flag=/...`` or ``/...``) made relative to
    the repository root, where the commands run."""
    parts = []
    for part in shlex.split(command):
        name, equals, value = part.partition("=")
        if equals and name.startswith("-") and os.path.isabs(value):
            part = f"{name}={repo_relative(value)}"
        elif os.path.isabs(part) and part != sys.executable:
            part = repo_relative(part)
        parts.append(part)
    return shlex.join(parts)
