"""Shared test fixtures.

Real data lives in ``../shared/data`` (relative to the repository root) and is never committed.
Tests that need it use the ``shared_data`` fixture, which skips with a reason when it is absent.
"""

import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED_DATA = pathlib.Path(
    os.environ.get("TFPOSE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """The real-data folder ``../shared/data``; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set TFPOSE_SHARED_DATA to its path)")
    return SHARED_DATA


# Command-line modules define absl flags when imported, and several share names (--model,
# --records, --output_dir). Tests import them through import_cli(), never at module level.
CLI_MODULES = (
    "tfpose.train",
    "tfpose.evaluate",
    "tfpose.predict",
    "tfpose.data.convert",
    "tfpose.data.inspect",
    "tfpose.models.__main__",
    "tfpose.export.__main__",
    # Benchmark scripts define flags too (tests/benchmarks runs their main()).
    "benchmarks.pipeline",
    "benchmarks.training_speed",
    "benchmarks.inference_speed",
    "benchmarks.scaling",
)


def import_cli(name: str):
    """Imports the command-line module ``name`` after unloading every other one and its flags."""
    import importlib
    import sys

    from absl import flags

    for other in CLI_MODULES:
        if other != name and other in sys.modules:
            for flag in list(flags.FLAGS.flags_by_module_dict().get(other, [])):
                if flag.name in flags.FLAGS:
                    delattr(flags.FLAGS, flag.name)
            del sys.modules[other]
    return importlib.import_module(name)
