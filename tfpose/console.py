"""A quiet console for the command lines: TensorFlow's start-up messages off unless ``-v``.

Every ``python -m tfpose.<command>`` (and ``python -m benchmarks.<script>``) calls
:func:`quiet_startup` before TensorFlow is imported. It is called from ``tfpose/__init__.py``
only while Python is locating the module that ``-m`` runs (``sys.argv[0] == "-m"``), so a
program or notebook that imports ``tfpose`` as a library keeps TensorFlow's usual output and
its own logging settings.

Unless the command line has absl's ``-v``/``--verbosity`` flag:

* ``TF_CPP_MIN_LOG_LEVEL=3`` (when the environment does not set it): TensorFlow's C++ INFO,
  WARNING and ERROR log lines are off (``cpu_feature_guard``, device creation, the ``cuInit``
  failure of a machine without a GPU, ...). Failures still raise Python exceptions.
* While ``tensorflow`` is imported, file descriptor 2 goes to a temporary file; the lines its
  shared libraries log while they load (absl's ``WARNING: All log messages before
  absl::InitializeLog() is called are written to STDERR``, ``port.cc] oneDNN custom
  operations are on``, ``cudart_stub.cc] Could not find cuda drivers``) are dropped and every
  other line is written back to stderr. ``TF_CPP_MIN_LOG_LEVEL`` cannot hide those: TensorFlow
  2.21 logs them from static initializers, before it applies its log level.
* absl's Python logging stays at WARNING after the flags are parsed (absl raises it to INFO),
  which hides TensorFlow's Python INFO lines such as ``functional_saver.py] Sharding callback
  duration``.
* On a terminal, ``loading TensorFlow...`` is shown when the import takes more than a few
  seconds, so a command never starts with a long silence.

``-v 0`` (``--verbosity=0``, or higher for absl debug logging) hides nothing:
``TF_CPP_MIN_LOG_LEVEL=0`` and absl logs at the requested level; ``-v -1``/``-2``/``-3``
show TensorFlow's C++ warnings/errors/fatal messages and up (``TF_CPP_MIN_LOG_LEVEL=1``/``2``/
``3``). Only the command line is read for ``-v``: a ``--flagfile`` setting it shows absl's
level but not the start-up lines.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
import threading

# What a line logged by TensorFlow's libraries while they load looks like: absl's notice, an
# INFO/WARNING line (``I0000 00:00:1796390613.569353    5296 port.cc:153] ...``), and the
# second line of cpu_feature_guard's message. ERROR and FATAL lines are kept.
_STARTUP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-]+:\d+\] .*"
    r"|To enable the following instructions: .*"
)
# What the TFLite converter and interpreter print from C++ while they work (no log level
# hides them): the quantiser's settings and the XNNPACK delegate's creation notice.
_NATIVE_NOISE = re.compile(
    r"fully_quantize: \d+, inference_type: \d+, input_inference_type: \w+, "
    r"output_inference_type: \w+"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
)
# Show "loading TensorFlow..." on a terminal when the import takes longer than this (s).
_LOADING_NOTICE_AFTER = 2.0

VERBOSITY_HELP = (
    "Logging verbosity: -1 warnings, 0 info, 1 debug. TensorFlow's C++ and start-up messages "
    "are hidden unless this flag is given: -v 0 shows them all."
)

_started = False


def verbosity_from_argv(argv: list[str]) -> int | None:
    """The value of ``-v``/``--verbosity`` on a command line (absl's spellings); None when
    absent (0 when its value is not a number: absl will report it)."""
    value = None
    args = iter(argv)
    for arg in args:
        if arg == "--":
            break
        match = re.fullmatch(r"--?(v|verbosity)(=(.*))?", arg)
        if not match:
            continue
        text = match.group(3) if match.group(2) else next(args, "0")
        try:
            value = int(text)
        except ValueError:
            value = 0
    return value


def is_noise(line: str) -> bool:
    """Whether ``line`` is one of the lines TensorFlow's libraries log while they load."""
    return _STARTUP_NOISE.fullmatch(line.rstrip("\r\n")) is not None


def filter_startup_lines(text: str) -> str:
    """``text`` without the lines of :func:`is_noise`."""
    return "".join(line for line in text.splitlines(keepends=True) if not is_noise(line))


class _QuietLoader:
    """Wraps the loader of ``tensorflow``: its module runs with fd 2 captured and filtered."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        _exec_with_captured_stderr(lambda: self._loader.exec_module(module))


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` the usual way, then wraps its loader (once)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


@contextlib.contextmanager
def _filtered_descriptors(fds: tuple[int, ...], noise: re.Pattern, notice_after=None):
    """Within the block, file descriptors ``fds`` (1: stdout, 2: stderr) write to temporary
    files; when it ends, what they received is written back without the lines matching
    ``noise`` (all of it when the block raised). ``notice_after``: on a terminal, print
    "loading TensorFlow..." to the last descriptor when the block takes longer (s)."""
    streams = [(fd, sys.stdout if fd == 1 else sys.stderr) for fd in fds]
    try:
        for _, stream in streams:
            stream.flush()
        saved = [os.dup(fd) for fd in fds]
    except (OSError, ValueError, AttributeError):  # no usable descriptors: nothing to capture
        yield
        return
    notice = None
    if notice_after is not None and os.isatty(saved[-1]):
        notice = threading.Timer(
            notice_after, lambda: os.write(saved[-1], b"loading TensorFlow...\n")
        )
        notice.daemon = True
    captures = [tempfile.TemporaryFile() for _ in fds]
    failed = True
    try:
        for fd, capture in zip(fds, captures, strict=True):
            os.dup2(capture.fileno(), fd)
        if notice is not None:
            notice.start()
        yield
        failed = False
    finally:
        if notice is not None:
            notice.cancel()
            if notice.is_alive():
                notice.join()
        for (fd, stream), capture, copy in zip(streams, captures, saved, strict=True):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
            os.dup2(copy, fd)
            os.close(copy)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            capture.close()
            if not failed:
                text = "".join(
                    line
                    for line in text.splitlines(keepends=True)
                    if not noise.fullmatch(line.rstrip("\r\n"))
                )
            if text:
                stream.write(text)
                stream.flush()


def _exec_with_captured_stderr(run) -> None:
    """Runs ``run()`` with file descriptor 2 captured, then writes back what it received without
    the start-up noise (unless ``run`` raised)."""
    with _filtered_descriptors((2,), _STARTUP_NOISE, _LOADING_NOTICE_AFTER):
        run()


@contextlib.contextmanager
def native_output_filtered():
    """Within the block, the lines that TensorFlow Lite's C++ code prints on file descriptors 1
    and 2 (:data:`_NATIVE_NOISE`) are dropped; everything else is written back when the block
    ends. Active only in a quiet command line (:func:`quiet_startup` ran without ``-v``)."""
    if not (_started and os.environ.get("TFPOSE_QUIET_STARTUP") == "1"):
        yield
        return
    with _filtered_descriptors((1, 2), _NATIVE_NOISE):
        yield


def _tf_min_log_level(verbosity: int) -> str:
    """``TF_CPP_MIN_LOG_LEVEL`` for an absl verbosity (0 and up → all messages)."""
    return str(min(3, max(0, -verbosity)))


def quiet_startup(argv: list[str] | None = None) -> None:
    """Sets up a command line's console before TensorFlow is imported (see the module doc).

    Args:
      argv: the command line (default ``sys.argv``), read for ``-v``/``--verbosity``.
    """
    global _started
    if _started:
        return
    _started = True
    from absl import app, flags
    from absl import logging as absl_logging

    if "verbosity" in flags.FLAGS:
        flags.FLAGS["verbosity"].help = VERBOSITY_HELP
    verbosity = verbosity_from_argv(list(sys.argv[1:] if argv is None else argv[1:]))
    if verbosity is not None:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = _tf_min_log_level(verbosity)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["TFPOSE_QUIET_STARTUP"] = "1"  # inherited by worker processes (tfpose/__init__)
    if "tensorflow" not in sys.modules and not any(
        isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())

    def keep_warning_level() -> None:
        if "verbosity" in flags.FLAGS and not flags.FLAGS["verbosity"].present:
            absl_logging.set_verbosity(absl_logging.WARNING)

    app.call_after_init(keep_warning_level)
