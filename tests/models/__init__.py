"""Shared checks for the model tests (tiny configurations, CPU, seconds)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def random_images(model: keras.Model, batch_size: int = 2, seed: int = 0) -> np.ndarray:
    """[B, S, S, 3] float32 images in [-1, 1] sized for ``model``."""
    size = model.input_shape[1]
    return np.random.default_rng(seed).uniform(-1, 1, (batch_size, size, size, 3)).astype("float32")


def randomize_weights(model: keras.Model, seed: int = 0) -> None:
    """Gives every variable a random non-degenerate value.

    Several layers start at exactly zero (scoring convs, biases), where outputs are constant
    and gradients vanish; random values make output comparisons and gradient checks bite.
    Batch-norm variances stay positive.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        if variable.path.endswith(("moving_variance", "gamma")):
            value = rng.uniform(0.5, 1.5, shape)
        elif variable.path.endswith(("bias", "beta", "moving_mean")):
            value = rng.uniform(0.0, 0.1, shape)
        else:
            fan_in = max(1, int(np.prod(shape[:-1])))
            value = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        variable.assign(value.astype(variable.dtype))


def assert_save_load_round_trip(
    model: keras.Model, tmp_path, images=None, rtol=1e-5
) -> keras.Model:
    """``.keras`` save → ``keras.models.load_model`` (no custom objects) → same class, config,
    output names and outputs; returns the loaded model. Without ``images``, on random images
    with random weights; with them, on those with the model's own weights."""
    if images is None:
        randomize_weights(model)
        images = random_images(model)
    expected = model(images, training=False)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    actual = loaded(images, training=False)
    assert sorted(actual) == sorted(expected)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=rtol, atol=1e-5)
    return loaded


def assert_gradients_reach_every_weight(model: keras.Model) -> None:
    """A loss on every output has a non-zero gradient for every trainable variable."""
    randomize_weights(model, seed=1)
    images = tf.constant(random_images(model, seed=1))
    with tf.GradientTape() as tape:
        outputs = model(images, training=True)
        loss = tf.add_n([tf.reduce_mean(tf.square(out - 1.0)) for out in outputs.values()])
    gradients = tape.gradient(loss, model.trainable_variables)
    dead = [
        variable.path
        for variable, gradient in zip(model.trainable_variables, gradients, strict=True)
        if gradient is None or not np.any(np.asarray(gradient))
    ]
    assert not dead, f"no gradient reaches {dead}"


def assert_output_shapes(model: keras.Model, expected: dict[str, tuple[int, ...]]) -> None:
    """Static and eager output shapes (without the batch axis) and float32 outputs."""
    assert {name: tuple(t.shape[1:]) for name, t in model.output.items()} == expected
    outputs = model(random_images(model), training=False)
    assert {name: tuple(t.shape[1:]) for name, t in outputs.items()} == expected
    assert all(t.dtype == "float32" for t in outputs.values())


def assert_same_layer_weights(model: keras.Model, source: keras.Model, names) -> None:
    """The layers ``names`` of ``model`` hold exactly the weights of ``source``'s namesakes."""
    for name in names:
        for ours, theirs in zip(
            model.get_layer(name).weights, source.get_layer(name).weights, strict=True
        ):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
