"""No committed text file names an absolute path of the machine it was written on.

Documents, configs and code give paths relative to the repository root (``runs/...``,
``data/...``, ``../shared/data/...``); generated documents are written that way too
(``benchmarks/reproduce.py``). This test reads every git-tracked text file.
"""

import pathlib
import re
import subprocess

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# Machine-specific roots; a path starting with one of them is absolute and local to one machine.
# (Built from parts so that this file does not match itself.)
ROOTS = ("work", "root", "home", "tmp")
PATTERN = re.compile(r"(?<![\w.~-])/(?:" + "|".join(ROOTS) + r")/")
# Clearly generic mentions that must stay, as (file, text of the line); none so far.
EXCEPTIONS: set[tuple[str, str]] = set()


def _tracked_files() -> list[str]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"not a git checkout ({error})")
    return [name for name in listed.decode().split("\0") if name]


def absolute_paths(text: str, name: str) -> list[str]:
    """``file:line: text`` for every line of ``text`` naming an absolute machine path."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if PATTERN.search(line) and (name, line.strip()) not in EXCEPTIONS:
            found.append(f"{name}:{number}: {line.strip()[:160]}")
    return found


def test_the_pattern_finds_machine_paths_only():
    assert absolute_paths("--output_dir=/" + "tmp/x and /" + "work/main/data", "f")
    assert absolute_paths("cd /" + "home/user", "f")
    assert not absolute_paths("runs/tmp/x ../runs/work/ data/home/ https://h.org/home/x", "f")


def test_no_tracked_text_file_names_an_absolute_machine_path():
    found = []
    for name in _tracked_files():
        path = REPO_ROOT / name
        if not path.is_file():  # deleted in the working tree, or a submodule
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        found += absolute_paths(data.decode("utf-8", errors="replace"), name)
    assert not found, "absolute paths (write them relative to the repository root):\n" + "\n".join(
        found
    )
