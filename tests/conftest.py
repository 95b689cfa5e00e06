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
