"""Training: outputs, resume after a kill, NaN handling, readable flag errors."""

import dataclasses
import json
import pathlib
import re
import shutil
import signal
import subprocess
import time
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfpose.models  # noqa: F401  (registers the model classes for load_model)
from tests.conftest import (
    PRESET_WIDTH,
    SUBPROCESS_ENV,
    TINY_TRAIN_FLAGS,
    localhost_cluster,
    run_python,
    run_subprocess,
    start_workers,
    tiny_run_config,
    train_command,
)
from tfpose import losses, run_config
from tfpose.data import pipeline
from tfpose.data.conversion import convert
from tfpose.data.records import Manifest
from tfpose.models import build_model
from tfpose.skeletons import MPII, get_skeleton
from tfpose.training import run as run_lib
from tfpose.training.trainer import (
    Stage,
    Trainer,
    TrainerConfig,
    TrainingDivergedError,
    history_rows,
)

REPO = pathlib.Path(__file__).resolve().parents[2]

TINY_FLAGS = [*TINY_TRAIN_FLAGS, "--val_examples=8"]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    convert("synthetic", str(out), num_examples=24, num_eval_examples=8, num_workers=1)
    return str(out)


def _train(records, workdir, steps, **overrides):
    """The shared tiny run (its own stages, 8 validation people) in ``workdir``."""
    options = {"val_examples": 8, "stages": (("joint", steps),), **overrides}
    return run_lib.train(tiny_run_config(workdir, records, **options))


def test_run_writes_every_output(records, tmp_path):
    summary = _train(records, tmp_path, 4)
    for name in ("model.keras", "best.keras", "flags.json", "history.csv", "metrics.json"):
        assert (tmp_path / name).exists(), name
    assert summary["steps"] == 4 and summary["resumed_from_step"] == 0
    flags = json.loads((tmp_path / "flags.json").read_text())
    assert flags["skeleton"] == "mpii" and flags["prediction_output"] == "keypoints_1"
    assert flags["input_size"] == 32 and flags["heatmap_stride"] == 4
    rows = history_rows(str(tmp_path))
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert "val/mean" in rows[-1] and rows[-1]["val/mean"] != ""
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert 0.0 <= metrics["validation"]["mean"] <= 100.0
    model = keras.models.load_model(tmp_path / "model.keras")  # no custom_objects needed
    assert model.prediction_output == "keypoints_1"
    assert list(tf.io.gfile.glob(str(tmp_path / "tensorboard" / "*")))


def test_saved_models_carry_their_run_record(records, tmp_path):
    # The spec that reads a model back (skeleton, input size, stride, normalisation, family,
    # flip test) is inside every .keras the run saves; flags.json beside it is a copy.
    _train(records, tmp_path, 2, val_flip_test=True)
    flags = json.loads((tmp_path / "flags.json").read_text())
    for name in ("model.keras", "best.keras"):
        with zipfile.ZipFile(tmp_path / name) as archive:
            assert json.loads(archive.read(run_config.RUN_ENTRY)) == flags, name
    assert sorted(p.name for p in tmp_path.glob("*.keras")) == ["best.keras", "model.keras"]
    (tmp_path / "flags.json").unlink()
    alone = tmp_path / "elsewhere" / "best.keras"
    alone.parent.mkdir()
    shutil.copy(tmp_path / "best.keras", alone)
    config, saved = run_config.load_saved_run(str(alone))
    assert saved == flags and config.model == "recurrent_tiny" and config.val_flip_test
    pipe, skeleton, _ = run_config.saved_pipeline(str(alone))
    assert (pipe.input_size, pipe.heatmap_stride, skeleton.name) == (32, 4, "mpii")
    # Keras reads the file as before: the entry changes nothing it loads.
    bare = tmp_path / "bare.keras"
    with zipfile.ZipFile(alone) as source, zipfile.ZipFile(bare, "w") as target:
        for info in source.infolist():
            if info.filename != run_config.RUN_ENTRY:
                target.writestr(info, source.read(info))
    images = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    with_record = keras.models.load_model(alone)
    without = keras.models.load_model(bare)
    output = with_record.prediction_output
    np.testing.assert_array_equal(with_record(images)[output], without(images)[output])
    with pytest.raises(FileNotFoundError, match="flags.json"):
        run_config.load_saved_run(str(bare))
    # Writing the record again replaces it (one entry), and the model still loads.
    run_config.write_run_record(str(alone), {**flags, "note": "rewritten"})
    with zipfile.ZipFile(alone) as archive:
        assert archive.namelist().count(run_config.RUN_ENTRY) == 1
    assert run_config.load_saved_run(str(alone))[1]["note"] == "rewritten"
    assert keras.models.load_model(alone).prediction_output == output


def test_background_ratio_reaches_the_training_loss(records, tmp_path):
    # Same seed, same data, same initial weights: only the background weight differs, so the
    # logged loss of the first steps is larger with a larger background share.
    logged = {}
    for ratio in (1.0, 8.0):
        workdir = tmp_path / f"ratio{ratio}"
        _train(records, workdir, 2, deterministic=True, val_split="", background_ratio=ratio)
        logged[ratio] = float(history_rows(str(workdir))[0]["loss"])
    assert logged[8.0] > logged[1.0], logged
    # The cascades' losses have no foreground weighting to scale.
    config = run_lib.RunConfig(
        workdir=str(tmp_path), records="r", model="cascade_vgg", background_ratio=2.0
    )
    with pytest.raises(ValueError, match="--background_ratio applies to the foreground-weighted"):
        config.validate()


def test_rerun_resumes_instead_of_restarting(records, tmp_path):
    _train(records, tmp_path, 4)
    summary = _train(records, tmp_path, 6)
    assert summary["resumed_from_step"] == 4
    assert [int(r["step"]) for r in history_rows(str(tmp_path))] == [2, 4, 6]
    # A finished run re-run with the same length does no more steps.
    again = _train(records, tmp_path, 6)
    assert again["resumed_from_step"] == 6


def test_progress_lines_in_a_log_file(records, tmp_path, capsys, monkeypatch):
    # stderr is not a terminal here: plain lines that people tail, no bar.
    monkeypatch.delenv("TFPOSE_PROGRESS", raising=False)
    _train(records, tmp_path, 4, verbose=True, val_split="")
    err = capsys.readouterr().err
    assert "compiling the training step ([joint] stage)" in err
    assert re.search(r"^step 2/4 \[joint\] loss \S+ \(\d+\.\d ex/s\) eta \S+$", err, re.M), err
    assert re.search(r"^step 4/4 \[joint\] loss \S+ \(\d+\.\d ex/s\) done in \S+$", err, re.M)
    assert "\r" not in err and "%|" not in err


def test_sigkill_then_rerun_resumes_at_saved_step(records, tmp_path):
    command = train_command(
        records, tmp_path, "--stages=joint:400", "--checkpoint_every=3", "--val_split=", *TINY_FLAGS
    )
    process = subprocess.Popen(
        command, env=SUBPROCESS_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    checkpoints = tmp_path / "checkpoints"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if tf.train.latest_checkpoint(str(checkpoints)):
            break
        time.sleep(0.5)
    assert process.poll() is None, process.stderr.read()
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = int(tf.train.latest_checkpoint(str(checkpoints)).rsplit("-", 1)[1])
    assert saved >= 3 and saved % 3 == 0
    # Re-running the same command (shorter, to keep the test fast) resumes from that step.
    result = run_subprocess([*command[:5], f"--stages=joint:{saved + 2}", *command[6:]])
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resuming from {checkpoints}/ckpt-{saved} at step {saved}" in result.stderr
    steps = [int(r["step"]) for r in history_rows(str(tmp_path))]
    assert steps == sorted(steps) and steps[-1] == saved + 2
    assert len(steps) == len(set(steps))  # rows after the checkpoint were dropped, not doubled


def _toy_trainer(workdir, learning_rate, steps):
    """A linear conv model (no ReLU, so a huge step cannot hide behind dead units)."""
    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 3), name="image")
    maps = keras.layers.Conv2D(2, 3, padding="same", name="conv")(image)
    model = keras.Model(image, {"keypoints_0": maps})
    rng = np.random.default_rng(0)
    batch = {
        "image": rng.normal(size=(4, 8, 8, 3)).astype("float32"),
        "heatmaps/keypoints": rng.uniform(size=(4, 8, 8, 2)).astype("float32"),
        "weights/keypoints": np.ones((4, 8, 8, 2), "float32"),
    }
    dataset_fn = lambda start: tf.data.Dataset.from_tensors(batch).repeat()  # noqa: E731
    config = TrainerConfig(
        workdir=str(workdir),
        stages=[Stage("joint", steps)],
        global_batch_size=4,
        checkpoint_every=2,
        log_every=1,
        verbose=False,
    )
    optimizer = keras.optimizers.SGD(learning_rate)
    spec = {"keypoints_0": losses.LossTerm("l2", "keypoints")}
    return Trainer(config, tf.distribute.get_strategy(), model, optimizer, spec, dataset_fn)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    _toy_trainer(tmp_path, 1e-3, 2).train()
    good = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    assert good.endswith("ckpt-2")
    # Re-run with an absurd learning rate: the loss overflows within a few steps.
    with pytest.raises(TrainingDivergedError, match="Last good checkpoint: .*ckpt-2"):
        _toy_trainer(tmp_path, 1e30, 40).train()
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")) == good
    reader = tf.train.load_checkpoint(good)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.isfinite(value).all(), name


def test_tiny_model_loss_decreases_on_a_fixed_batch(records):
    manifest = Manifest.load(records)
    config = pipeline.belagiannis_config(MPII, input_size=32)
    batch = next(
        iter(
            pipeline.build_dataset(
                manifest.files("train"),
                MPII,
                config,
                training=False,
                batch_size=4,
                deterministic=True,
            )
        )
    )
    keras.utils.set_random_seed(0)
    model = build_model("recurrent_tiny", input_size=32, width_multiplier=0.125, num_passes=1)
    spec = losses.recurrent_loss_spec(2, use_limbs=True)
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            total, _ = losses.total_loss(model(batch["image"], training=True), batch, spec)
        grads = tape.gradient(total, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return total

    first = float(step())
    for _ in range(40):
        last = float(step())
    assert last < 0.7 * first, (first, last)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--stages=joint"], "must look like NAME:LENGTH"),
        (["--stages=warmup:3"], "unknown stage 'warmup'"),
        (["--learning_rates=1e-3,1e-4"], "--lr_boundaries needs 1, got 0"),
        (["--model=recurent"], "value should be one of"),
        (
            ["--stages=detector:3"],
            "the recurrent family (--model=recurrent_tiny) has no detector stage",
        ),
        (["--mixed_precision=bf16"], "value should be one of"),
        (["--heatmap_sigma=0"], "--heatmap_sigma must be positive, got 0.0"),
        (["--background_ratio=0"], "--background_ratio must be a finite number > 0, got 0.0"),
        (["--warmup_steps=10"], "--warmup_steps needs --lr_schedule=cosine"),
        (["--lr_schedule=cosine", "--learning_rates=1e-3,1e-4,1e-5"], "PEAK or PEAK,FINAL"),
    ],
)
def test_flag_errors_are_readable(records, tmp_path, flags, message):
    result = run_subprocess(train_command(records, tmp_path, *TINY_FLAGS, *flags), timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "model, units", [("recurrent_tiny", "heatmap"), ("cascade_resnet_tiny", "body")]
)
def test_heatmap_sigma_sets_the_keypoint_gaussians_only(tmp_path, model, units):
    skeleton = get_skeleton("mpii")
    default = run_lib.RunConfig(workdir=str(tmp_path), records="r", model=model)
    config = dataclasses.replace(default, heatmap_sigma=2.5)
    config.validate()
    before = {t.name: t for t in run_lib.pipeline_config(default, skeleton, 128, 4).targets}
    after = {t.name: t for t in run_lib.pipeline_config(config, skeleton, 128, 4).targets}
    assert after.keys() == before.keys()
    assert after["keypoints"].sigma == 2.5 != before["keypoints"].sigma
    assert after["keypoints"].sigma_units == units
    for name in after.keys() - {"keypoints"}:  # limb maps and detection discs keep theirs
        assert after[name] == before[name]


def test_missing_records_name_files_and_the_convert_command(tmp_path):
    result = run_python(
        "-m",
        "tfpose.train",
        "--flagfile=configs/recurrent.flags",
        f"--workdir={tmp_path}",
        f"--records={tmp_path / 'mpii'}",
        timeout=120,
    )
    assert result.returncode == 1
    assert f"{tmp_path / 'mpii' / 'manifest.json'} does not exist" in result.stderr
    assert "python -m tfpose.data.convert --dataset=mpii" in result.stderr
    assert "Traceback" not in result.stderr
    # One line: what is missing, every flag the converter needs, where the data is downloaded.
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    for text in ("--validation_file=", "--annotations=", "http://human-pose.mpi-inf.mpg.de"):
        assert text in line


def test_evaluate_model_mode_on_a_trained_model(records, tmp_path):
    # --val_flip_test: the training run's validation is the flip test of tfpose.evaluate.
    _train(records, tmp_path, 2, deterministic=True, val_flip_test=True)
    out = tmp_path / "eval"
    result = run_python(
        "-m",
        "tfpose.evaluate",
        f"--model={tmp_path / 'model.keras'}",
        f"--records={records}",
        "--split=val",
        "--flip_test",
        f"--output_dir={out}",
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "PCKh@0.5" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"] == "mpii" and metrics["num_persons"] == 8
    assert metrics["flip_test"] is True
    validation = json.loads((tmp_path / "metrics.json").read_text())["validation"]
    assert validation["mean"] == pytest.approx(metrics["mean"], abs=1e-6)
    assert validation["auc"] == pytest.approx(metrics["auc"], abs=1e-6)
    # The same run validated without the flip test scores differently, so the comparison
    # above can tell the two apart.
    _train(records, tmp_path / "plain", 2, deterministic=True)
    plain = json.loads((tmp_path / "plain" / "metrics.json").read_text())["validation"]
    assert plain["auc"] != pytest.approx(validation["auc"], abs=1e-6)
    # Synthetic records carry exact occlusion labels, so the visibility AP is computed.
    assert (out / "keypoint_results.json").exists() and (out / "pck_curves.png").exists()


def _train_cascade(records, workdir, model, stages, **overrides):
    """A tiny cascade at 64 px (its preset's width) through ``stages``."""
    options = dict(model=model, stages=stages, input_size=64, **PRESET_WIDTH, **overrides)
    return _train(records, workdir, 0, **options)


def test_cascade_staged_schedule_in_one_command(records, tmp_path):
    stages = (("detector", 2), ("regressor", 2), ("joint", 2))
    summary = _train_cascade(records, tmp_path, "cascade_resnet_tiny", stages)
    assert summary["steps"] == 6
    rows = history_rows(str(tmp_path))
    assert [(r["stage"], int(r["step"])) for r in rows] == [
        ("detector", 2),
        ("regressor", 4),
        ("joint", 6),
    ]
    # Each stage trains only its own losses: the detector's sigmoid cross-entropy first, then
    # the regressor's L2, then both.
    assert rows[0]["loss/detection"] and not rows[0]["loss/regression"]
    assert rows[1]["loss/regression"] and not rows[1]["loss/detection"]
    assert rows[2]["loss/regression"] and rows[2]["loss/detection"]
    flags = json.loads((tmp_path / "flags.json").read_text())
    assert flags["stage_steps"] == [["detector", 2], ["regressor", 2], ["joint", 2]]
    assert flags["heatmap_stride"] == 1  # the regressor predicts at input resolution


def test_end_to_end_flag_collapses_stages(records, tmp_path):
    stages = (("detector", 1), ("regressor", 1), ("joint", 1))
    summary = _train_cascade(records, tmp_path, "cascade_vgg_tiny", stages, end_to_end=True)
    rows = history_rows(str(tmp_path))
    assert summary["steps"] == 3 and {r["stage"] for r in rows} == {"joint"}


def test_multi_worker_on_localhost_agrees_on_weights(records, tmp_path):
    command = train_command(
        records,
        tmp_path,
        "--strategy=multi_worker",
        "--stages=joint:3",
        "--checkpoint_every=3",
        "--val_split=",
        *TINY_FLAGS,
    )
    processes = start_workers(command, localhost_cluster())
    for p in processes:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    chief = keras.models.load_model(tmp_path / "model.keras")
    worker = keras.models.load_model(tmp_path / "worker-1" / "model.keras")
    # Trained weights are all-reduced every step, so both workers hold the same values. Batch
    # norm moving statistics are not trained: each worker averages its own batches (tf.distribute
    # does not synchronise them), and the chief's are the ones in model.keras.
    assert len(chief.trainable_weights) == len(worker.trainable_weights) > 0
    for a, b in zip(chief.trainable_weights, worker.trainable_weights, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    moving = [w for w in chief.non_trainable_weights if "moving" in w.path]
    assert len(moving) == len(chief.non_trainable_weights)
    # The weights moved: 3 synchronous steps on both workers' data.
    fresh = build_model("recurrent_tiny", input_size=32, width_multiplier=0.125, num_passes=1)
    assert any(
        a.shape == b.shape and not np.allclose(np.asarray(a), np.asarray(b))
        for a, b in zip(chief.weights, fresh.weights, strict=True)
    )
    assert [int(r["step"]) for r in history_rows(str(tmp_path))][-1] == 3


CONFIGS = sorted(str(p.relative_to(REPO)) for p in (REPO / "configs").rglob("*.flags"))

# Parses every flagfile exactly as `python -m tfpose.train` would, in a child process (the CLI's
# flags are process-global and share names with other CLIs imported by the test session).
_PARSE_CONFIGS = """
import json, sys
from absl import flags
from tfpose import train
out = {}
for flagfile in sys.argv[1:]:
    flags.FLAGS.unparse_flags()
    try:
        flags.FLAGS(["train", "--flagfile=" + flagfile, "--workdir=runs/unused"])
        config = train.config_from_flags()
        config.validate()
        out[flagfile] = {"ok": True, "model": config.model}
    except Exception as e:
        out[flagfile] = {"ok": False, "error": repr(e)}
print(json.dumps(out))
"""


def test_every_config_parses_and_validates():
    done = run_python("-c", _PARSE_CONFIGS, *CONFIGS, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(parsed) == set(CONFIGS) and len(CONFIGS) >= 12
    for flagfile, result in parsed.items():
        assert result["ok"], (flagfile, result)
        assert result["model"] in run_lib.MODELS
        header = (REPO / flagfile).read_text().splitlines()[:6]
        assert any("python -m tfpose.train" in line for line in header), flagfile


@pytest.mark.parametrize(
    "flags_line, expected",
    [
        ("fpu sse2 avx2 avx512f avx512_bf16 fma", "mixed_bfloat16"),
        ("fpu sse2 avx2 amx_bf16 amx_tile", "mixed_bfloat16"),
        ("fpu sse2 avx2 avx512f fma", "float32"),
    ],
)
def test_auto_precision_follows_native_bfloat16(tmp_path, flags_line, expected):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU decides instead of the CPU flags")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags_line}\n")
    policy, why = run_lib.resolve_precision("auto", cpuinfo=str(cpuinfo))
    assert policy == expected, why
    assert run_lib.resolve_precision("auto", cpuinfo=str(tmp_path / "missing"))[0] == "float32"
    assert run_lib.resolve_precision("mixed_float16", cpuinfo=str(cpuinfo))[0] == "mixed_float16"
