"""A new user's mistakes: each command answers in one line with a non-zero exit status.

A missing model, flagfile or predictions file gives ``error: <what, where, the next command>``
on stderr — not absl's ~55 lines of flag usage (what ``app.UsageError`` prints under
``app.run``) and not a traceback. Each case starts the command as a user would (about 5 s each,
TensorFlow's import), so they are few.
"""

import re

import pytest

from tests.conftest import run_python

# Lines TensorFlow's C++ runtime may print at import whatever the command does.
_RUNTIME_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog|[IWEF]\d{4} |To enable the following)"
)


def run_command(args: list[str]) -> tuple[int, list[str], str]:
    """``python -m ARGS`` from the repository root: (exit status, stderr lines, stdout)."""
    result = run_python("-m", *args)
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not _RUNTIME_NOISE.match(line)
    ]
    return result.returncode, lines, result.stdout


def assert_one_line_error(args: list[str], *expected: str) -> str:
    status, lines, stdout = run_command(args)
    assert status == 1, (status, lines)
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines  # the last line, said once
    everything = lines + stdout.splitlines()
    assert "flags:" not in [line.strip() for line in everything], lines  # no absl usage text
    assert not any("Traceback" in line for line in everything), lines
    assert len(lines) <= 3, lines  # at most a progress line or two before it
    for part in expected:
        assert part in errors[0], (part, errors[0])
    return errors[0]


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["tfpose.evaluate", "--model=nowhere/best.keras", "--records=data/synthetic"],
            ["model 'nowhere/best.keras' does not exist"],
        ),
        (
            ["tfpose.export", "--model=nowhere/best.keras", "--output_dir=OUT"],
            ["--model=nowhere/best.keras: no such file", "python -m tfpose.train --flagfile="],
        ),
        (
            ["tfpose.predict", "--model=nowhere/best.keras", "--input=x.jpg", "--output_dir=OUT"],
            ["model 'nowhere/best.keras' does not exist"],
        ),
        (
            ["tfpose.train", "--flagfile=configs/nowhere.flags", "--workdir=OUT"],
            [
                "--flagfile=configs/nowhere.flags: no such file",
                "--flagfile=configs/quickstart.flags",
            ],
        ),
        (
            ["tfpose.evaluate", "--predictions=nowhere.mat", "--ground_truth=nowhere_gt.mat"],
            ["nowhere_gt.mat: no such file"],
        ),
    ],
    ids=["evaluate-model", "export-model", "predict-model", "train-flagfile", "evaluate-files"],
)
def test_a_missing_input_is_one_line_and_a_non_zero_exit(args, expected, tmp_path):
    args = [arg.replace("OUT", str(tmp_path / "out")) for arg in args]
    assert_one_line_error(args, *expected)


def test_a_damaged_model_is_called_unreadable_not_missing(tmp_path):
    # Keras reports a damaged .keras file as "File not found"; the commands say what it is.
    from tfpose.export.run import ExportConfig
    from tfpose.inference.backends import load_backend

    damaged = tmp_path / "best.keras"
    damaged.write_bytes(b"half a zip")
    with pytest.raises(ValueError, match=r"best\.keras' cannot be read: not a \.keras archive"):
        load_backend(str(damaged))
    with pytest.raises(ValueError, match=r"best\.keras cannot be read: not a \.keras archive"):
        ExportConfig(model=str(damaged), output_dir=str(tmp_path / "out")).validate()
