"""Progress of long steps, on stderr: a tqdm bar on a terminal, plain lines with ETA elsewhere.

Every long step of the commands (training steps, dataset generation and conversion, evaluation,
export's parity check, prediction over folders and videos) reports through :class:`Progress`::

    with Progress("train", total=len(examples), unit="examples") as progress:
        for example in examples:
            ...
            progress.update()

On a terminal it draws a tqdm bar with the rate and the ETA. When stderr is not a terminal (a
log file, CI) it writes one plain line every ``interval`` seconds and a last one at the end::

    train 4200/10000 (132.5 examples/s) eta 43s
    train 10000/10000 (131.9 examples/s) done in 1m15s

so logs stay short and ``tail -f`` shows how far a run is. ``TFPOSE_PROGRESS=bar``, ``lines``
or ``off`` chooses the form regardless of the terminal (``off``: no progress at all).

Results go to stdout; progress and messages go to stderr. While a bar is drawn, other messages
go through :func:`write` (or :meth:`Progress.write`) so that they do not break the bar.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from tqdm import tqdm

# Seconds between two plain lines when stderr is not a terminal.
DEFAULT_INTERVAL = 10.0
MODES = ("bar", "lines", "off")

T = TypeVar("T")


def format_duration(seconds: float) -> str:
    """``4.2s``, ``42s``, ``3m05s``, ``1h02m``, ``2d03h``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    if seconds < 9.95:
        return f"{seconds:.1f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def _format_rate(rate: float | None, unit: str) -> str:
    if rate is None:
        return f"? {unit}/s"
    return f"{rate:.1f} {unit}/s" if rate >= 1 else f"{rate:.2g} {unit}/s"


def progress_mode(stream: TextIO | None = None) -> str:
    """``bar`` when ``stream`` (stderr) is a terminal, else ``lines``; ``TFPOSE_PROGRESS``
    overrides."""
    chosen = os.environ.get("TFPOSE_PROGRESS", "").strip().lower()
    if chosen in MODES:
        return chosen
    stream = stream or sys.stderr
    try:
        return "bar" if stream.isatty() else "lines"
    except (AttributeError, ValueError):
        return "lines"


def write(message: str, stream: TextIO | None = None) -> None:
    """Writes ``message`` and a newline to stderr without breaking a progress bar."""
    tqdm.write(message, file=stream or sys.stderr)
    (stream or sys.stderr).flush()


class Progress:
    """A long step's progress: a tqdm bar on a terminal, periodic plain lines elsewhere.

    Args:
      desc: what is counted, the start of every line (``train``, ``step``, ``evaluating``).
      total: expected count; None when unknown (then no ETA, the elapsed time instead).
      unit: the counted things, plural (``examples``, ``crops``, ``step``).
      initial: count already done (a resumed run); the rate counts only what this run does.
      stream: where to write (default stderr).
      mode: ``bar``, ``lines`` or ``off``; default :func:`progress_mode`.
      interval: seconds between plain lines; None writes lines only on :meth:`emit`.
      rate_unit, rate_scale: the rate of the plain lines in other units, e.g. ``ex`` and the
        batch size for a count of steps.
      bar_desc: the bar's label, when it should differ from ``desc``.
      enabled: False makes every call but :meth:`write` a no-op.
    """

    def __init__(
        self,
        desc: str,
        total: int | None = None,
        *,
        unit: str = "it",
        initial: int = 0,
        stream: TextIO | None = None,
        mode: str | None = None,
        interval: float | None = DEFAULT_INTERVAL,
        rate_unit: str | None = None,
        rate_scale: float = 1.0,
        bar_desc: str | None = None,
        enabled: bool = True,
    ):
        self.stream = stream or sys.stderr
        self.mode = (mode or progress_mode(self.stream)) if enabled else "off"
        if self.mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
        self.desc = desc
        self.total = total if total is None or total > 0 else None
        self.unit = unit
        self.n = initial
        self.interval = interval
        self.rate_unit = rate_unit or unit
        self.rate_scale = rate_scale
        self.status = ""
        self._clock = time.monotonic
        self._start = self._clock()
        self._initial = initial
        self._first: tuple[float, int] | None = None  # time and count of the first update
        self._last_line = self._start
        self._emitted_n: int | None = None
        self._closed = False
        self._bar = None
        if self.mode == "bar":
            self._bar = tqdm(
                total=self.total,
                initial=initial,
                desc=bar_desc or desc,
                unit=unit,
                file=self.stream,
                dynamic_ncols=True,
                mininterval=0.25,
                smoothing=0.1,
            )

    # ------------------------------------------------------------------ state

    @property
    def bar(self) -> bool:
        """Whether a bar is drawn (a terminal)."""
        return self._bar is not None

    @property
    def lines(self) -> bool:
        """Whether plain lines are written (not a terminal)."""
        return self.mode == "lines"

    def elapsed(self) -> float:
        return self._clock() - self._start

    def rate(self) -> float | None:
        """Counted things per second since the first update (so a slow first item, e.g. a
        compilation, weighs little once later ones come), in ``rate_scale`` units."""
        now = self._clock()
        if self._first is not None and self.n > self._first[1] and now > self._first[0]:
            rate = (self.n - self._first[1]) / (now - self._first[0])
        elif self.n > self._initial and now > self._start:
            rate = (self.n - self._initial) / (now - self._start)
        else:
            return None
        return rate * self.rate_scale

    def eta(self) -> float | None:
        """Seconds left at the current rate; None when unknown."""
        rate = self.rate()
        if self.total is None or not rate:
            return None
        return max(0, self.total - self.n) / (rate / self.rate_scale)

    def line(self, status: str | None = None, rate: str | None = None, done: bool = False) -> str:
        """The plain line: ``DESC N/TOTAL [STATUS] (RATE) eta T`` (``done in T`` at the end)."""
        parts = [f"{self.desc} {self.n}/{self.total}" if self.total else f"{self.desc} {self.n}"]
        status = self.status if status is None else status
        if status:
            parts.append(status)
        parts.append(f"({rate or _format_rate(self.rate(), self.rate_unit)})")
        if done or (self.total and self.n >= self.total):
            parts.append(f"done in {format_duration(self.elapsed())}")
        elif self.total:
            parts.append(f"eta {format_duration(self.eta())}")
        else:
            parts.append(f"elapsed {format_duration(self.elapsed())}")
        return " ".join(parts)

    # ------------------------------------------------------------------ updates

    def update(self, n: int = 1) -> None:
        """Counts ``n`` more; in ``lines`` mode writes a line when ``interval`` has passed."""
        if self.mode == "off" or self._closed:
            return
        self.n += n
        if self._first is None:
            self._first = (self._clock(), self.n)
        if self._bar is not None:
            self._bar.update(n)
        elif self.interval is not None and self._clock() - self._last_line >= self.interval:
            self.emit()

    def set_status(self, text: str) -> None:
        """Text shown after the count: in the bar's postfix and in the plain lines."""
        self.status = text
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def refresh(self) -> None:
        """Redraws the bar now (after :meth:`set_status` before a long silent call)."""
        if self._bar is not None:
            self._bar.refresh()

    def emit(self, status: str | None = None, rate: str | None = None) -> None:
        """Writes a plain line now (``lines`` mode only), e.g. at a training log step;
        ``status``/``rate`` replace the current status and the computed rate in this line."""
        if self.mode != "lines" or self._closed:
            return
        self._write(self.line(status, rate))
        self._last_line = self._clock()
        self._emitted_n = self.n

    def write(self, message: str) -> None:
        """Writes a message line (above the bar on a terminal)."""
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
            self.stream.flush()
        else:
            self._write(message)

    def _write(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """Ends the bar, or writes the last plain line (``done in``) unless the last line
        written already showed the final count."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.mode == "lines" and self._emitted_n != self.n and self.n > self._initial:
            self._write(self.line(done=True))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track(items: Iterable[T], desc: str, total: int | None = None, **options) -> Iterator[T]:
    """Yields ``items``, counting each in a :class:`Progress` (``options`` are its keyword
    arguments); ``total`` defaults to ``len(items)`` when it has one."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(desc, total, **options) as progress:
        for item in items:
            yield item
            progress.update()
