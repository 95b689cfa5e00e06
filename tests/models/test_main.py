"""Tests for the ``python -m tfpose.models`` table."""

from tests.conftest import import_cli


def test_describe_and_format_table():
    cli = import_cli("tfpose.models.__main__")
    describe, format_table = cli.describe, cli.format_table
    row = describe("recurrent_tiny")
    assert row["input"] == "128x128"
    assert row["stride"] == 4
    assert "keypoints_2 32x32x16" in row["outputs"]
    assert row["params"] >= row["trainable"] > 0
    assert row["gflops"] > 0
    table = format_table([row])
    assert table.splitlines()[0].startswith("| model | input |")
    assert "| recurrent_tiny | 128x128 |" in table
    assert f"{row['params']:,}" in table
