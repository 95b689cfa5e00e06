"""Fixtures of the inference tests."""

import pytest

from tests.conftest import tiny_run_config


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A tiny recurrent model trained for 2 steps on synthetic records: its ``best.keras``
    (trained once per session, kept in the session's temporary folder)."""
    from tfpose.data.conversion import convert
    from tfpose.training import run as run_lib

    root = tmp_path_factory.getbasetemp() / "inference_tiny_model"
    model = root / "run" / "best.keras"
    if not model.exists():
        records = root / "records"
        convert("synthetic", str(records), num_examples=16, num_eval_examples=4, num_workers=1)
        run_lib.train(tiny_run_config(root / "run", records, val_split=""))
    return model
