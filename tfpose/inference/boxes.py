"""The ``--boxes`` file of ``python -m tfpose.predict``: person regions per input file.

Schema (JSON), either form:

* an object mapping a file name to one box or a list of boxes::

      {"im1.jpg": [x1, y1, x2, y2], "im2.jpg": [[x1, y1, x2, y2], [x1, y1, x2, y2]]}

* a list of entries, any number per file::

      [{"image": "im1.jpg", "box": [x1, y1, x2, y2]}, ...]

Boxes are (x1, y1, x2, y2) in image pixels with x2 > x1 and y2 > y1. A file name is matched
against the input's path relative to ``--input`` (for a folder) and then its base name. Each box
is one person, predicted on its own; a file without boxes is one person filling the whole image.
For a video, the boxes of its name apply to every frame.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from tfpose.inference.predictor import validate_box

BoxTable = dict[str, list[np.ndarray]]


def _boxes_of(value: Any, where: str) -> list[np.ndarray]:
    if isinstance(value, list) and value and isinstance(value[0], (list, tuple)):
        return [validate_box(box, f"{where}[{j}]") for j, box in enumerate(value)]
    return [validate_box(value, where)]


def parse_boxes(content: Any, source: str = "boxes") -> BoxTable:
    """A box table from the parsed JSON ``content``.

    Raises:
      ValueError: naming ``source`` and the bad entry.
    """
    table: BoxTable = {}
    if isinstance(content, dict):
        for name, value in content.items():
            table[str(name)] = _boxes_of(value, f"{source}: entry {name!r}")
    elif isinstance(content, list):
        for i, entry in enumerate(content):
            if not isinstance(entry, dict) or "image" not in entry or "box" not in entry:
                raise ValueError(
                    f'{source}: entry {i} must be an object {{"image": NAME, "box": [x1, y1, '
                    f"x2, y2]}}, got {entry!r}"
                )
            name = str(entry["image"])
            box = validate_box(entry["box"], f"{source}: entry {i} ({name!r})")
            table.setdefault(name, []).append(box)
    else:
        raise ValueError(
            f"{source}: expected an object {{name: box or boxes}} or a list of "
            f'{{"image", "box"}} entries, got {type(content).__name__}'
        )
    return table


def load_boxes(path: str) -> BoxTable:
    """Reads and validates a boxes file (the schema in the module docstring).

    Raises:
      FileNotFoundError: ``path`` does not exist.
      ValueError: the file is not JSON or an entry is invalid (named in the message).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--boxes={path} does not exist")
    with open(path) as f:
        try:
            content = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"--boxes={path}: not valid JSON ({e})") from None
    return parse_boxes(content, f"--boxes={path}")


def boxes_for(table: BoxTable, path: str, input_root: str) -> list[np.ndarray] | None:
    """The boxes of input file ``path`` (relative name first, then base name), or None."""
    names = []
    if os.path.isdir(input_root):
        names.append(os.path.relpath(path, input_root))
    names.append(os.path.basename(path))
    for name in names:
        if name in table:
            return table[name]
    return None


def unused_names(table: BoxTable, paths: list[str], input_root: str) -> list[str]:
    """Names in the table that match none of the input files (likely typos)."""
    used = set()
    for path in paths:
        if os.path.isdir(input_root):
            used.add(os.path.relpath(path, input_root))
        used.add(os.path.basename(path))
    return sorted(name for name in table if name not in used)
