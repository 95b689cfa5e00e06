"""A one-line progress bar on stderr for folder and video runs (no extra dependency)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    """Rewrites one stderr line: ``label  12/40 [#####.....]  3.1/s``.

    Args:
      label: what is counted (e.g. the folder or video name).
      total: expected count; 0 when unknown (then no bar is drawn).
      stream: where to write (stderr).
      enabled: False makes every call a no-op.
      width: bar width in characters.
    """

    def __init__(
        self,
        label: str,
        total: int,
        stream: TextIO | None = None,
        enabled: bool = True,
        width: int = 30,
    ):
        self.label = label
        self.total = max(0, int(total))
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.count = 0
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = -1

    def line(self) -> str:
        """The current text of the line."""
        rate = self.count / max(time.monotonic() - self._start, 1e-9)
        if self.total:
            done = min(self.width, self.width * self.count // self.total)
            bar = "#" * done + "." * (self.width - done)
            return f"{self.label} {self.count}/{self.total} [{bar}] {rate:.1f}/s"
        return f"{self.label} {self.count} {rate:.1f}/s"

    def update(self, increment: int = 1) -> None:
        self.count += increment
        now = time.monotonic()
        # Redraw at most 10 times a second, and always on the last item.
        if self.enabled and (now - self._last_draw > 0.1 or self.count == self.total):
            self._last_draw = now
            self._drawn = self.count
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def close(self) -> None:
        """Ends the line (redrawn first when the last count was not shown)."""
        if self.enabled:
            if self._drawn != self.count:
                self.stream.write("\r" + self.line())
            self.stream.write("\n")
            self.stream.flush()
