"""Counting the floating-point operations of a model, as TensorFlow counts them.

The model is traced once (inference mode, batch 1 by default) into a TensorFlow graph, and
TensorFlow's own per-op statistics (``tf.compat.v1.profiler`` "float_ops", the numbers
registered next to each op's kernel) are summed over every op in it. Shared layers are
counted once per call (a recurrent module run T times costs T times).

Convention: one multiply-add is 2 FLOPs (a k×k convolution producing H×W×C_out values from
C_in channels costs 2·H·W·C_out·k²·C_in; a transposed convolution 2·H_in·W_in·C_in·k²·C_out).
Bias adds and additions count one FLOP per output element, inference batch norm two (a
multiply and an add), max-pooling one per window element; ReLU, sigmoid, concatenation,
padding and resizing have no registered statistics and count 0. Everything but the
convolutions is well under 1% of every model here.
"""

from __future__ import annotations

import collections
import logging

import keras
import tensorflow as tf


def trace_graph(model: keras.Model, batch_size: int = 1) -> tf.Graph:
    """The graph of ``model(image, training=False)`` for a float32 [batch_size, S, S, 3] input."""
    spec = tf.TensorSpec([batch_size, *model.input_shape[1:]], tf.float32)
    call = tf.function(lambda image: model(image, training=False), autograph=False)
    return call.get_concrete_function(spec).graph


def count_flops_by_op_type(model: keras.Model, batch_size: int = 1) -> dict[str, int]:
    """FLOPs of one forward pass of ``batch_size`` images, summed by TensorFlow op type.

    Returns:
      ``{op type: FLOPs}``, e.g. ``{"Conv2D": ..., "Conv2DBackpropInput": ..., "BiasAdd": ...}``
      (``Conv2DBackpropInput`` is how TensorFlow runs a transposed convolution).
    """
    graph = trace_graph(model, batch_size)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # the profiler warns about its own v1 helpers
    try:
        profile = tf.compat.v1.profiler.profile(graph, options=options)
    finally:
        tf_logger.setLevel(level)
    op_types = {op.name: op.type for op in graph.get_operations()}
    totals = collections.Counter()
    for node in profile.children:
        totals[op_types.get(node.name, "other")] += node.total_float_ops
    return dict(totals)


def count_flops(model: keras.Model, batch_size: int = 1) -> int:
    """Total FLOPs of one forward pass of ``batch_size`` images (see the module docstring)."""
    return sum(count_flops_by_op_type(model, batch_size).values())
