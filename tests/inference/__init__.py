"""Shared pieces of the inference tests."""

from tests.conftest import run_python
from tfpose.model_spec import ModelSpec


def fake_spec(skeleton, pass_outputs=("keypoints_1",)) -> ModelSpec:
    """The spec of a fake "network": 64 px Belagiannis crops, maps at stride 4 with peaks of
    12, its prediction output ``keypoints_1``."""
    return ModelSpec.create(
        skeleton,
        input_size=64,
        heatmap_stride=4,
        crop_convention="belagiannis",
        normalization="belagiannis",
        amplitude=12.0,
        prediction_output="keypoints_1",
        pass_outputs=pass_outputs,
        source="fake",
        format="fake",
    )


def run_predict(model, images, output_dir, *flags):
    """``python -m tfpose.predict --model=MODEL --input=IMAGES --output_dir=OUTPUT_DIR FLAGS``."""
    return run_python(
        "-m",
        "tfpose.predict",
        f"--model={model}",
        f"--input={images}",
        f"--output_dir={output_dir}",
        *flags,
    )
