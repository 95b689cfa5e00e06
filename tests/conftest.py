"""Shared test fixtures.

Real data lives in ``../shared/data`` (relative to the repository root) and is never committed.
Tests that need it use the ``shared_data`` fixture, which skips with a reason when it is absent.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# Environment of the training commands the tests run in subprocesses.
SUBPROCESS_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
# A training run small enough for a test: recurrent_tiny at 32 px, a few Adam steps.
TINY_TRAIN_FLAGS = [
    "--model=recurrent_tiny",
    "--input_size=32",
    "--width_multiplier=0.125",
    "--num_passes=1",
    "--batch_size=4",
    "--schedule_unit=steps",
    "--optimizer=adam",
    "--learning_rates=1e-3",
    "--log_every=1",
]
# The same run as a tfpose.training.run.RunConfig's keyword arguments (add workdir, records).
TINY_RUN = dict(
    model="recurrent_tiny",
    input_size=32,
    width_multiplier=0.125,
    num_passes=1,
    batch_size=4,
    schedule_unit="steps",
    optimizer="adam",
    learning_rates=(1e-3,),
    stages=(("joint", 2),),
    log_every=2,
    checkpoint_every=2,
    verbose=False,
)

# Overrides of TINY_RUN for a model at its preset's own width and number of passes.
PRESET_WIDTH = dict(width_multiplier=None, num_passes=None)


def tiny_run_config(workdir, records, **overrides):
    """The RunConfig of TINY_RUN in ``workdir`` on ``records``, with ``overrides`` applied."""
    from tfpose.training import run as run_lib

    options = {**TINY_RUN, **overrides}
    return run_lib.RunConfig(workdir=str(workdir), records=str(records), **options)


def run_subprocess(command, env=SUBPROCESS_ENV, cwd=REPO_ROOT, timeout=300, **options):
    """Runs ``command`` to its end, from the repository root unless ``cwd`` is given; stdout
    and stderr are captured as text, ``options`` go to :func:`subprocess.run`."""
    return subprocess.run(
        [*map(str, command)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **options,
    )


def run_python(*args, **options):
    """``python ARGS`` (e.g. ``-m tfpose.train --flag=...``) run by :func:`run_subprocess`."""
    return run_subprocess([sys.executable, *args], **options)


def train_command(records, workdir, *flags) -> list[str]:
    """``python -m tfpose.train --records=RECORDS --workdir=WORKDIR FLAGS`` as an argument list
    (element 3 is ``--records``, element 4 ``--workdir``)."""
    return [
        sys.executable,
        "-m",
        "tfpose.train",
        f"--records={records}",
        f"--workdir={workdir}",
        *flags,
    ]


SKELETON_OF_SIZE = {14: "lsp", 16: "mpii", 17: "coco"}


def encoded_example(image, keypoints, visibility, *, image_format="jpeg", **fields):
    """A PoseExample of ``image`` (uint8 RGB [H, W, 3]) encoded as ``image_format`` (``jpeg``
    or ``png``). ``fields`` are its other fields; unless given, the skeleton is the one of K
    joints, the dataset ``"test"``, and the centre and scale those of the annotated joints."""
    import cv2
    import numpy as np

    from tfpose.data.example import PoseExample, center_scale_from_keypoints

    keypoints = np.asarray(keypoints, np.float32)
    if "center" not in fields:
        fields["center"], fields["scale"] = center_scale_from_keypoints(keypoints, visibility)
    fields.setdefault("skeleton", SKELETON_OF_SIZE[len(keypoints)])
    fields.setdefault("dataset", "test")
    extension = {"jpeg": ".jpg", "png": ".png"}[image_format]
    ok, encoded = cv2.imencode(extension, np.ascontiguousarray(image[..., ::-1]))
    assert ok, f"could not encode a {image.shape} image as {image_format}"
    return PoseExample(
        image_bytes=encoded.tobytes(),
        image_format=image_format,
        image_height=image.shape[0],
        image_width=image.shape[1],
        keypoints=keypoints,
        visibility=visibility,
        **fields,
    )


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
    "benchmarks.left_right",
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


def localhost_cluster(num_workers: int = 2) -> dict:
    """A ``TF_CONFIG`` cluster of ``num_workers`` workers on free localhost ports."""
    ports = []
    for _ in range(num_workers):
        with socket.socket() as s:
            s.bind(("localhost", 0))
            ports.append(s.getsockname()[1])
    return {"worker": [f"localhost:{port}" for port in ports]}


def start_workers(command: list[str], cluster: dict) -> list[subprocess.Popen]:
    """Starts ``command`` once per worker of ``cluster`` (each with its ``TF_CONFIG``); their
    stdout and stderr are pipes."""
    processes = []
    for index in range(len(cluster["worker"])):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        processes.append(
            subprocess.Popen(
                command,
                env={**SUBPROCESS_ENV, "TF_CONFIG": json.dumps(tf_config)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return processes
