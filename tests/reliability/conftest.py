"""Fixtures of the reliability tests: small record sets, good and damaged on purpose."""

import os
import tempfile

import numpy as np
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from tests.conftest import encoded_example
from tfpose.data import records
from tfpose.data.conversion import convert
from tfpose.data.example import PoseExample

# Hypothesis caches constants it mines from the code: keep them out of the repository.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "tfpose-hypothesis"))


def person(index: int, **changes) -> PoseExample:
    """A valid MPII-skeleton example on a random 64 × 48 JPEG; ``changes`` are applied after
    validation, the way a damaged or foreign record would carry them."""
    rng = np.random.default_rng(index)
    image = rng.integers(0, 255, (64, 48, 3), np.uint8)
    example = encoded_example(
        image,
        rng.uniform(4, 44, (16, 2)),
        np.full(16, 2),
        image_id=f"person{index}.jpg",
        center=[24, 32],
        scale=0.3,
        dataset="synthetic",
    )
    for key, value in changes.items():
        setattr(example, key, value)
    return example


def write_records(directory, splits: dict, skeleton="mpii", num_keypoints=16) -> str:
    """Writes ``{split: [PoseExample]}`` (one shard each) and a manifest; returns the folder."""
    manifest = {"dataset": "synthetic", "skeleton": skeleton, "num_keypoints": num_keypoints}
    manifest["splits"] = {
        split: records.write_split(examples, str(directory), split, 1)
        for split, examples in splits.items()
    }
    records.write_manifest(str(directory), manifest)
    return str(directory)


@pytest.fixture(scope="session")
def synthetic_records(tmp_path_factory):
    """24 training and 8 validation/test people of the synthetic set."""
    out = tmp_path_factory.mktemp("synthetic")
    convert("synthetic", str(out), num_examples=24, num_eval_examples=8, num_workers=1)
    return str(out)
