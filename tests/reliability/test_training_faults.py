"""A training run killed, starved of disk, or losing a worker: nothing but the steps since the
last checkpoint is lost, and the same command carries on.

The single-kill resume, the NaN guard and multi-worker agreement are in
``tests/training/test_train.py``; this file adds repeated kills at random moments compared
against an uninterrupted run, a full disk, a kill mid-write of ``history.csv`` and a dead worker.
"""

import csv
import random
import resource
import signal
import subprocess
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfpose.models  # noqa: F401  (registers the model classes for load_model)
from tests.conftest import SUBPROCESS_ENV as ENV
from tests.conftest import (
    TINY_TRAIN_FLAGS,
    localhost_cluster,
    run_subprocess,
    start_workers,
    tiny_run_config,
    train_command,
)
from tfpose.training import run as run_lib
from tfpose.training.trainer import WorkdirError, history_rows

TINY_FLAGS = [*TINY_TRAIN_FLAGS, "--val_split="]
STEPS = 40
CHECKPOINT_EVERY = 4


def _command(records, workdir, *extra):
    return train_command(records, workdir, *TINY_FLAGS, *extra)


def _logged_steps(workdir) -> list[int]:
    path = workdir / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [int(r[0]) for r in list(csv.reader(f))[1:] if r and r[0].isdigit()]


def _resumed_step(stderr: str) -> int:
    for line in stderr.splitlines():
        if line.startswith("resuming from "):
            return int(line.rsplit(" at step ", 1)[1])
    return 0


def test_killed_three_times_then_rerun_matches_an_uninterrupted_run(synthetic_records, tmp_path):
    """SIGKILL at seeded random moments, three times, then the same command to the end.

    Criteria: every step 1..N appears once in history.csv; each restart resumes from a
    checkpoint at most ``--checkpoint_every`` steps behind the last step it had logged; and with
    ``--deterministic`` the loss of every step and the final weights equal those of an
    uninterrupted run (so the loss curve has no jump at a resume).
    """
    command = _command(
        synthetic_records,
        tmp_path / "killed",
        f"--stages=joint:{STEPS}",
        f"--checkpoint_every={CHECKPOINT_EVERY}",
        "--deterministic",
    )
    reference_dir = tmp_path / "reference"
    reference = subprocess.Popen(
        [*command[:4], f"--workdir={reference_dir}", *command[5:]],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    rng = random.Random(10)
    workdir = tmp_path / "killed"
    kills, stderr_of_runs = [], []
    for kill in range(3):
        # Kill once the run has logged a seeded-random step of its third of the schedule, after
        # a further random delay: mid-step, mid-checkpoint or mid-write, wherever it lands.
        target = 8 * (kill + 1) + rng.randint(0, 3)
        delay = rng.uniform(0.0, 0.5)
        process = subprocess.Popen(
            command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        deadline = time.time() + 240
        while time.time() < deadline and process.poll() is None:
            steps = _logged_steps(workdir)
            if steps and steps[-1] >= target:
                break
            time.sleep(0.05)
        time.sleep(delay)
        assert process.poll() is None, process.stderr.read()[-3000:]
        process.send_signal(signal.SIGKILL)
        process.wait()
        stderr_of_runs.append(process.stderr.read())
        kills.append(max(_logged_steps(workdir)))
    final = run_subprocess(command)
    assert final.returncode == 0, final.stderr[-3000:]
    stderr_of_runs.append(final.stderr)
    resumed = [_resumed_step(err) for err in stderr_of_runs[1:]]
    lost = [logged - start for logged, start in zip(kills, resumed, strict=True)]
    print(f"\nkilled after logged steps {kills}; resumed at {resumed}; steps lost {lost}")
    for logged, start in zip(kills, resumed, strict=True):
        assert start % CHECKPOINT_EVERY == 0
        assert 0 <= logged - start <= CHECKPOINT_EVERY
    rows = history_rows(str(workdir))
    assert [int(r["step"]) for r in rows] == list(range(1, STEPS + 1))

    _, reference_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_err[-3000:]
    expected = history_rows(str(reference_dir))
    losses = np.array([float(r["loss"]) for r in rows])
    expected_losses = np.array([float(r["loss"]) for r in expected])
    np.testing.assert_array_equal(losses, expected_losses)
    killed_model = keras.models.load_model(workdir / "model.keras")
    reference_model = keras.models.load_model(reference_dir / "model.keras")
    diffs = [
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(killed_model.weights, reference_model.weights, strict=True)
    ]
    print(f"max |weight difference| against the uninterrupted run: {max(diffs):.3g}")
    assert max(diffs) == 0.0
    # The loss went down over the run: the comparison is not between two untrained models.
    assert expected_losses[-5:].mean() < 0.8 * expected_losses[:5].mean()


def _tiny_config(records, workdir, steps, **overrides):
    return tiny_run_config(workdir, records, stages=(("joint", steps),), val_split="", **overrides)


def _limit_file_size():
    # 300 KB: flags.json and history.csv fit, a checkpoint (about 1 MB) does not. Python
    # ignores SIGXFSZ, so the write fails with EFBIG, as it would with ENOSPC on a full disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


def test_disk_full_at_a_checkpoint_keeps_the_previous_one(synthetic_records, tmp_path):
    run_lib.train(_tiny_config(synthetic_records, tmp_path, 4))
    good = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    assert good.endswith("ckpt-4")
    result = run_subprocess(
        _command(synthetic_records, tmp_path, "--stages=joint:8", "--checkpoint_every=2"),
        preexec_fn=_limit_file_size,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert f"error: could not write a checkpoint to {tmp_path / 'checkpoints'}" in result.stderr
    assert f"Earlier checkpoints are intact: {good}" in result.stderr
    assert "Traceback" not in result.stderr
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")) == good
    assert not list((tmp_path / "checkpoints").glob("*tmp*"))  # no half-written files
    # The same command with space again resumes from the intact checkpoint.
    summary = run_lib.train(_tiny_config(synthetic_records, tmp_path, 8))
    assert summary["resumed_from_step"] == 4
    assert [int(r["step"]) for r in history_rows(str(tmp_path))] == [2, 4, 6, 8]


def test_unwritable_workdir_fails_before_any_work(synthetic_records, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(WorkdirError, match=f"workdir {blocker}/run is not writable"):
        run_lib.train(_tiny_config(synthetic_records, blocker / "run", 2))
    assert isinstance(WorkdirError("x"), run_lib.USER_ERRORS)


def test_a_row_cut_by_a_kill_is_dropped_on_resume(synthetic_records, tmp_path):
    run_lib.train(_tiny_config(synthetic_records, tmp_path, 4))
    with open(tmp_path / "history.csv", "a") as f:
        f.write("6,joi")  # the kill landed in the middle of a row after the last checkpoint
    run_lib.train(_tiny_config(synthetic_records, tmp_path, 6))
    assert [int(r["step"]) for r in history_rows(str(tmp_path))] == [2, 4, 6]


def _workers(records, workdir, steps, cluster):
    return start_workers(
        _command(
            records,
            workdir,
            "--strategy=multi_worker",
            f"--stages=joint:{steps}",
            f"--checkpoint_every={CHECKPOINT_EVERY}",
        ),
        cluster,
    )


def test_multi_worker_peer_killed_then_all_restarted(synthetic_records, tmp_path):
    """One of two workers is SIGKILLed mid-run: the survivor stops with a clear error (no hang,
    no traceback), and restarting both commands resumes from the chief's last checkpoint."""
    cluster = localhost_cluster()
    chief, worker = _workers(synthetic_records, tmp_path, 400, cluster)
    deadline = time.time() + 240
    while time.time() < deadline and chief.poll() is None:
        if tf.train.latest_checkpoint(str(tmp_path / "checkpoints")):
            break
        time.sleep(0.1)
    time.sleep(random.Random(3).uniform(0.0, 1.0))
    assert chief.poll() is None and worker.poll() is None
    worker.send_signal(signal.SIGKILL)
    killed_at = time.time()
    _, err = chief.communicate(timeout=120)
    worker.wait()
    print(f"\nthe survivor stopped {time.time() - killed_at:.1f} s after the kill")
    assert chief.returncode == 1, err[-3000:]
    assert "error: another worker failed or is unreachable" in err
    assert "Stop every worker and start each again with its same command" in err
    assert "Traceback" not in err
    saved = int(tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).rsplit("-", 1)[1])
    # Restart both with the same commands (a shorter schedule, to keep the test fast).
    processes = _workers(synthetic_records, tmp_path, saved + 3, cluster)
    errors = [p.communicate(timeout=300)[1] for p in processes]
    for p, err in zip(processes, errors, strict=True):
        assert p.returncode == 0, err[-3000:]
    assert _resumed_step(errors[0]) == saved
    steps = [int(r["step"]) for r in history_rows(str(tmp_path))]
    assert steps[-1] == saved + 3 and len(steps) == len(set(steps))
    chief_model = keras.models.load_model(tmp_path / "model.keras")
    worker_model = keras.models.load_model(tmp_path / "worker-1" / "model.keras")
    for a, b in zip(chief_model.trainable_weights, worker_model.trainable_weights, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
