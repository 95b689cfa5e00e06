"""tfpose.console: the commands start without TensorFlow's start-up messages; -v brings them
back; importing tfpose as a library changes nothing."""

import os

import pytest

from tests.conftest import run_python
from tfpose import console

# What TensorFlow 2.21 prints at start-up on a machine without a GPU (see tfpose/console.py).
NOISE = ("I0000", "oneDNN", "cuda", "absl::InitializeLog", "cpu_feature_guard")


def _env() -> dict:
    # The default console: no TF_CPP_MIN_LOG_LEVEL from the test environment.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CPP_MIN_LOG_LEVEL", "TFPOSE_QUIET_STARTUP")
    }
    env.pop("TFPOSE_PROGRESS", None)
    return env


def test_a_command_starts_without_tensorflow_noise():
    result = run_python("-m", "tfpose.models", "--model=recurrent_tiny", env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| recurrent_tiny | 128x128 |" in result.stdout
    for noise in NOISE:
        assert noise.lower() not in result.stderr.lower(), result.stderr
    # What remains is the progress (not a terminal: plain lines).
    assert result.stderr.splitlines()[-1].startswith("measuring 1/1 recurrent_tiny (")


def test_library_import_leaves_tensorflow_alone():
    code = (
        "import sys, tfpose, tfpose.console as c; "
        "print(c._started, any(type(f).__name__ == '_QuietTensorFlowFinder' "
        "for f in sys.meta_path))"
    )
    result = run_python("-c", code, env=_env(), timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_worker_processes_of_a_quiet_command_stay_quiet():
    # A command sets TFPOSE_QUIET_STARTUP; the processes it spawns (the synthetic data
    # generator's pool) inherit it and import TensorFlow without its start-up lines.
    env = {**_env(), "TFPOSE_QUIET_STARTUP": "1"}
    result = run_python("-c", "import tfpose, tensorflow", env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    for noise in NOISE:
        assert noise.lower() not in result.stderr.lower(), result.stderr


@pytest.mark.parametrize(
    "args, level, hook", [([], "3", "True"), (["-v", "0"], "0", "False"), (["-v=-2"], "2", "False")]
)
def test_verbosity_flag_brings_tensorflow_messages_back(args, level, hook):
    # What `python -m tfpose.<command> ARGS` does before TensorFlow loads (sys.argv[0] is "-m"
    # while Python locates the command).
    code = (
        f"import os, sys; sys.argv = ['-m', *{args!r}]; import tfpose; "
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], any(type(f).__name__ == "
        "'_QuietTensorFlowFinder' for f in sys.meta_path))"
    )
    result = run_python("-c", code, env=_env(), timeout=60)
    assert result.stdout.split() == [level, hook], result.stderr


@pytest.mark.parametrize(
    "argv, expected",
    [
        ([], None),
        (["--model=x"], None),
        (["-v", "0"], 0),
        (["-v=1"], 1),
        (["--verbosity=-1"], -1),
        (["--verbosity", "2", "--model=x"], 2),
        (["--v=0"], 0),
        (["--", "-v", "1"], None),
        (["--vv=1", "--verbose"], None),
    ],
)
def test_verbosity_from_argv(argv, expected):
    assert console.verbosity_from_argv(argv) == expected


def test_tensorflow_log_level_follows_verbosity():
    assert [console._tf_min_log_level(v) for v in (2, 0, -1, -2, -3, -5)] == [
        "0",
        "0",
        "1",
        "2",
        "3",
        "3",
    ]


def test_only_start_up_lines_are_filtered():
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796390613.569353    5296 port.cc:153] oneDNN custom operations are on.\n"
        "I0000 00:00:1796390613.569807    5296 cudart_stub.cc:31] Could not find cuda drivers\n"
        "W0000 00:00:1796390613.651545    5296 cpu_feature_guard.cc:227] This TensorFlow binary\n"
        "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild.\n"
        "E0000 00:00:1796390620.689017    5296 some_library.cc:52] a real error\n"
        "a Python warning\n"
    )
    assert console.filter_startup_lines(text) == (
        "E0000 00:00:1796390620.689017    5296 some_library.cc:52] a real error\na Python warning\n"
    )
