"""Model families as data: a family added from inside this file trains, evaluates and exports
without any other module knowing about it."""

import keras
import numpy as np
import pytest

from tests.conftest import PRESET_WIDTH, tiny_run_config
from tfpose import losses
from tfpose.data import pipeline, targets
from tfpose.data.conversion import convert
from tfpose.evaluation import on_records
from tfpose.export.run import ExportConfig, export
from tfpose.inference import Predictor
from tfpose.model_spec import ModelSpec
from tfpose.models import MODEL_PRESETS, MODELS, families
from tfpose.training import run as run_lib


@keras.saving.register_keras_serializable(package="tfpose_tests")
class ToyPoseNet(keras.Model):
    """Two strided convolutions and a 1×1 scoring conv: maps at stride 4."""

    def __init__(self, num_keypoints=16, input_size=32, channels=8, **kwargs):
        image = keras.Input((input_size, input_size, 3), name="image")
        x = keras.layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu")(image)
        x = keras.layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu")(x)
        maps = keras.layers.Conv2D(num_keypoints, 1, name="maps")(x)
        super().__init__(image, {"maps": maps}, **kwargs)
        self.num_keypoints, self.input_size, self.channels = num_keypoints, input_size, channels

    prediction_output = "maps"
    output_stride = 4

    @property
    def output_strides(self):
        return {"maps": 4}

    def get_config(self):
        return {
            "name": self.name,
            "num_keypoints": self.num_keypoints,
            "input_size": self.input_size,
            "channels": self.channels,
        }


def _toy_codec(config, skeleton, input_size, stride, augmentation):
    del config, skeleton
    return pipeline.PipelineConfig(
        input_size=input_size,
        heatmap_stride=stride,
        crop_convention="wide",
        targets=(
            targets.GaussianTarget(
                name="keypoints", sigma=1.0, sigma_units="heatmap", amplitude=1.0
            ),
        ),
        augmentation=augmentation,
        normalization="unit",
    )


TOY = families.Family(
    name="toy",
    model_classes=(ToyPoseNet,),
    codec=_toy_codec,
    losses=lambda config, model: {"maps": losses.LossTerm("l2", "keypoints", 1.0)},
    stages=("joint",),
    constructor=lambda config, skeleton: {
        "num_keypoints": skeleton.num_keypoints,
        "input_size": config.input_size or 32,
    },
)


@pytest.fixture
def toy_family(monkeypatch):
    monkeypatch.setitem(families.FAMILIES, "toy", TOY)
    monkeypatch.setitem(MODEL_PRESETS, "toy_net", (ToyPoseNet, {}))
    monkeypatch.setitem(MODELS, "toy_net", ToyPoseNet)


def test_every_preset_has_one_family():
    for name in MODEL_PRESETS:
        family = families.family_of(name)
        assert name.split("_")[0] in ("recurrent", "cascade")
        assert family.name == name.split("_")[0]
    assert families.cascade_variant("cascade_vgg_regression_only") == "regression_only"
    assert families.cascade_variant("cascade_mobilenet_v2") == "detection_regression"


def test_unknown_class_names_the_table(monkeypatch):
    monkeypatch.setitem(MODEL_PRESETS, "stray", (ToyPoseNet, {}))
    with pytest.raises(ValueError, match="belongs to no family.*recurrent, cascade"):
        families.family_of("stray")


def test_toy_family_trains_evaluates_and_exports(toy_family, tmp_path):
    records = tmp_path / "records"
    convert("synthetic", str(records), num_examples=8, num_eval_examples=4, num_workers=1)
    options = dict(stages=(("joint", 3),), log_every=1, checkpoint_every=10, val_examples=4)
    config = tiny_run_config(tmp_path / "run", records, model="toy_net", **PRESET_WIDTH, **options)
    with pytest.raises(ValueError, match="toy family.*no detector stage"):
        run_lib.RunConfig(**{**config.__dict__, "stages": (("detector", 1),)}).validate()
    run_lib.train(config)
    model_path = str(tmp_path / "run" / "model.keras")

    predictor = Predictor.from_path(model_path)
    assert predictor.spec.heatmap_stride == 4 and predictor.spec.amplitude == 1.0
    image = np.zeros((40, 50, 3), np.uint8)
    assert predictor.predict(image).keypoints.shape == (1, 16, 2)

    dataset = pipeline.build_dataset(
        pipeline.resolve_records(str(records), "test")[0],
        predictor.skeleton,
        run_lib.saved_pipeline(model_path)[0],
        training=False,
        batch_size=4,
    )
    predictions = on_records.predict_batches(
        lambda x: predictor.backend(np.asarray(x))["maps"], dataset, 4
    )
    result = on_records.score_predictions(predictions, predictor.skeleton)
    assert 0.0 <= result["mean"] <= 100.0

    out = tmp_path / "export"
    report = export(
        ExportConfig(
            model=model_path,
            output_dir=str(out),
            formats=("saved_model",),
            max_validation_examples=4,
        ),
        log=lambda *_: None,
    )
    assert report["artifacts"]["saved_model"]["passed"]
    spec = ModelSpec.load(str(out))
    assert (spec.prediction_output, spec.heatmap_stride, spec.normalization) == ("maps", 4, "unit")
