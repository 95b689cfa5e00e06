"""Fixtures of the evaluation tests."""

import pytest
from absl import flags
from absl.testing import flagsaver

from tests.conftest import import_cli


@pytest.fixture
def run_cli(capsys):
    """``python -m tfpose.evaluate`` in process: ``run_cli(**flags)`` returns what it printed
    (stdout); ``run_cli.err`` holds its stderr (warnings)."""
    evaluate = import_cli("tfpose.evaluate")
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()

    def run(**overrides) -> str:
        with flagsaver.flagsaver(**overrides):
            evaluate.main(["evaluate"])
        captured = capsys.readouterr()
        run.err = captured.err  # warnings
        return captured.out

    return run
