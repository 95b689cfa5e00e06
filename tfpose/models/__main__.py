r"""Prints a table of the registered models: input, output stride, parameters, GFLOPs.

Example::

    python -m tfpose.models                       # every model in MODELS
    python -m tfpose.models --model=recurrent --model=recurrent_tiny

Each model is built in float32 with random weights (no training). GFLOPs are one forward
pass of one image as counted by TensorFlow (:mod:`tfpose.models.flops`; a multiply-add is
2 FLOPs). Parameters count every weight, including batch-norm moving statistics.

The table goes to stdout, progress to stderr. TensorFlow's start-up messages are hidden; -v 0
shows them.
"""

from __future__ import annotations

import gc

import keras
from absl import app, flags

from tfpose.models import MODELS, build_model
from tfpose.models.flops import count_flops
from tfpose.progress import Progress

flags.declare_key_flag("verbosity")  # listed by --help: -v 0 shows TensorFlow's messages

_MODEL = flags.DEFINE_multi_enum(
    "model", None, list(MODELS), "Models to list (repeatable); default: all of MODELS."
)


def describe(name: str) -> dict:
    """Builds model ``name`` and measures it: a dict of the table's columns."""
    keras.utils.clear_session()
    model = build_model(name)
    row = {
        "name": name,
        "input": f"{model.input_size}x{model.input_size}",
        "outputs": ", ".join(
            f"{key} {tensor.shape[1]}x{tensor.shape[2]}x{tensor.shape[3]}"
            for key, tensor in sorted(model.output.items())
        ),
        "stride": model.output_stride,
        "params": model.count_params(),
        "trainable": sum(int(keras.ops.size(w)) for w in model.trainable_weights),
        "gflops": count_flops(model) / 1e9,
    }
    del model
    gc.collect()
    return row


def format_table(rows: list[dict]) -> str:
    """A Markdown table of :func:`describe` rows."""
    lines = [
        "| model | input | outputs | output stride | parameters | trainable | GFLOPs/image |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['input']} | {row['outputs']} | {row['stride']} "
            f"| {row['params']:,} | {row['trainable']:,} | {row['gflops']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    del argv
    keras.config.set_dtype_policy("float32")
    names = _MODEL.value or list(MODELS)
    rows = []
    with Progress("measuring", len(names), unit="models", interval=0) as progress:
        for name in names:
            progress.set_status(name)
            progress.refresh()
            rows.append(describe(name))
            progress.update()
    print(format_table(rows))


if __name__ == "__main__":
    app.run(main)
