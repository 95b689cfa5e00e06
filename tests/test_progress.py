"""tfpose.progress: plain lines with ETA off a terminal, a tqdm bar on one, the modes."""

import io
import re

import pytest

from tfpose import progress as progress_lib
from tfpose.progress import Progress, format_duration, track


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _lines_progress(stream, clock, **options):
    progress = Progress("train", stream=stream, mode="lines", **options)
    progress._clock = clock
    progress._start = progress._last_line = clock.now
    return progress


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0.42, "0.4s"),
        (9.94, "9.9s"),
        (42, "42s"),
        (185, "3m05s"),
        (3720, "1h02m"),
        (2 * 86400 + 3 * 3600, "2d03h"),
        (None, "?"),
        (float("inf"), "?"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_lines_every_interval_with_rate_and_eta():
    stream, clock = io.StringIO(), FakeClock()
    progress = _lines_progress(stream, clock, total=100, unit="examples", interval=10)
    for _ in range(50):  # 2 s per example: a line every 5 examples (10 s)
        clock.now += 2
        progress.update()
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0] == "train 5/100 (0.5 examples/s) eta 3m10s"
    assert lines[-1] == "train 50/100 (0.5 examples/s) eta 1m40s"
    # The last line was already written at count 50: close() adds nothing.
    stream2, clock2 = io.StringIO(), FakeClock()
    progress = _lines_progress(stream2, clock2, total=3, unit="examples", interval=10)
    for _ in range(3):
        clock2.now += 1
        progress.update()
    assert stream2.getvalue() == ""  # no interval passed yet
    progress.close()
    assert stream2.getvalue() == "train 3/3 (1.0 examples/s) done in 3.0s\n"


def test_rate_leaves_out_a_slow_first_item():
    # A first training step that compiles (60 s), then 1 s per step: the ETA uses 1 step/s.
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(
        "step",
        1000,
        unit="step",
        stream=stream,
        mode="lines",
        interval=None,
        rate_unit="ex",
        rate_scale=8,
        initial=100,
    )
    progress._clock = clock
    progress._start = clock.now
    clock.now += 60
    progress.update()
    for _ in range(99):
        clock.now += 1
        progress.update()
    assert progress.n == 200 and progress.rate() == pytest.approx(8.0)
    assert progress.eta() == pytest.approx(800)
    assert stream.getvalue() == ""  # interval=None: lines only on emit()
    progress.set_status("[joint]")
    progress.emit()
    progress.emit("[joint] loss 0.91", "11.3 ex/s")
    assert stream.getvalue().splitlines() == [
        "step 200/1000 [joint] (8.0 ex/s) eta 13m20s",
        "step 200/1000 [joint] loss 0.91 (11.3 ex/s) eta 13m20s",
    ]


def test_unknown_total_shows_elapsed_time():
    stream, clock = io.StringIO(), FakeClock()
    progress = _lines_progress(stream, clock, unit="frames", interval=5)
    for _ in range(6):
        clock.now += 1
        progress.update()
    assert stream.getvalue() == "train 5 (1.0 frames/s) elapsed 5.0s\n"


def test_bar_on_a_terminal_and_messages_above_it():
    stream = io.StringIO()
    with Progress("train", 4, unit="examples", stream=stream, mode="bar") as progress:
        assert progress.bar and not progress.lines
        progress.set_status("loss 0.5")
        for _ in range(4):
            progress.update()
        progress.write("a message")
    text = stream.getvalue()
    assert "a message\n" in text
    assert re.search(r"train: 100%.*4/4.*loss 0\.5", text)


def test_mode_from_the_terminal_and_the_environment(monkeypatch):
    monkeypatch.delenv("TFPOSE_PROGRESS", raising=False)
    assert progress_lib.progress_mode(io.StringIO()) == "lines"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert progress_lib.progress_mode(Terminal()) == "bar"
    monkeypatch.setenv("TFPOSE_PROGRESS", "off")
    stream = io.StringIO()
    assert list(track(range(3), "x", stream=stream, interval=0)) == [0, 1, 2]
    assert stream.getvalue() == ""
    monkeypatch.setenv("TFPOSE_PROGRESS", "lines")
    assert progress_lib.progress_mode(Terminal()) == "lines"
    disabled = Progress("x", 3, stream=stream, enabled=False)
    disabled.update()
    disabled.close()
    assert stream.getvalue() == ""


def test_track_counts_and_closes():
    stream = io.StringIO()
    assert list(track([1, 2, 3], "items", stream=stream, mode="lines", interval=0)) == [1, 2, 3]
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("items 1/3 (") and " eta " in lines[0]
    assert lines[-1].startswith("items 3/3 (") and " done in " in lines[-1]
