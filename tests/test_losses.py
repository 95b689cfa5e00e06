"""Tests for tfpose.losses: hand-computed values on tiny maps, gradients, serialization, fit."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose import losses

LN3 = math.log(3.0)


def _maps(*rows_per_channel) -> np.ndarray:
    """[1, H, W, C] float32 from C hand-written H x W maps."""
    return np.stack([np.asarray(rows, np.float32) for rows in rows_per_channel], axis=-1)[None]


# ---------------------------------------------------------------- sigmoid cross-entropy


def test_sigmoid_cross_entropy_hand_computed():
    # sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4.
    target = _maps([[1, 1], [0, 0]])
    logits = _maps([[0.0, LN3], [LN3, -LN3]])
    weight = _maps([[1, 1], [1, 0]])
    # -ln(1/2) - ln(3/4) - ln(1 - 3/4) + 0 (weight 0) = ln 2 + ln 4/3 + ln 4 = ln(32/3).
    expected_sum = 2.367123614
    loss_sum = losses.sigmoid_cross_entropy(target, logits, weight, normalize="sum")
    np.testing.assert_allclose(loss_sum.numpy(), [expected_sum], rtol=1e-6)
    loss_mean = losses.sigmoid_cross_entropy(target, logits, weight)
    np.testing.assert_allclose(loss_mean.numpy(), [expected_sum / 4], rtol=1e-6)


def test_sigmoid_cross_entropy_is_stable_for_large_logits():
    target = _maps([[1, 0]])
    logits = _maps([[-200.0, 200.0]])
    loss = losses.sigmoid_cross_entropy(target, logits, np.ones_like(target), normalize="sum")
    np.testing.assert_allclose(loss.numpy(), [400.0], rtol=1e-6)


# ---------------------------------------------------------------- masked L2


def test_masked_l2_hand_computed_with_missing_channel():
    # Channel 0 annotated; channel 1 is a joint the dataset lacks (weight 0, garbage prediction).
    target = _maps([[0, 1], [2, 0]], [[5, 5], [5, 5]])
    prediction = _maps([[1, 1], [0, 0]], [[-7, 3], [100, 0]])
    per_channel_mask = np.array([1, 0], np.float32).reshape(1, 1, 1, 2)
    # (1-0)^2 + 0 + (0-2)^2 + 0 = 5 over 2 x 2 x 2 = 8 elements.
    loss = losses.masked_l2(target, prediction, per_channel_mask)
    np.testing.assert_allclose(loss.numpy(), [0.625], rtol=1e-6)
    loss = losses.masked_l2(target, prediction, per_channel_mask, normalize="sum")
    np.testing.assert_allclose(loss.numpy(), [5.0], rtol=1e-6)


def test_masked_l2_is_per_example():
    target = np.zeros([2, 2, 2, 1], np.float32)
    prediction = np.zeros([2, 2, 2, 1], np.float32)
    prediction[1, 0, 0, 0] = 2.0
    loss = losses.masked_l2(target, prediction, np.ones_like(target), normalize="sum")
    np.testing.assert_allclose(loss.numpy(), [0.0, 4.0])


# ---------------------------------------------------------------- foreground-weighted MSE

# One foreground pixel out of 9: f = 1/9, foreground weighs 8/9, background 1/9.
PEAK_TARGET = _maps([[0, 0, 0], [0, 12, 0], [0, 0, 0]])


def test_foreground_weighted_mse_hand_computed():
    prediction = _maps([[3, 0, 0], [0, 9, 0], [0, 0, 0]])
    # centre: 8/9 * (12 - 9)^2 = 8; corner: 1/9 * 3^2 = 1; total 9 over 9 pixels.
    loss = losses.foreground_weighted_mse(PEAK_TARGET, prediction, np.ones_like(PEAK_TARGET))
    np.testing.assert_allclose(loss.numpy(), [1.0], rtol=1e-6)
    loss = losses.foreground_weighted_mse(
        PEAK_TARGET, prediction, np.ones_like(PEAK_TARGET), normalize="sum"
    )
    np.testing.assert_allclose(loss.numpy(), [9.0], rtol=1e-6)


def test_foreground_balance_weights_hand_computed():
    weights = losses.foreground_balance_weights(PEAK_TARGET, np.ones_like(PEAK_TARGET))
    expected = _maps([[1 / 9, 1 / 9, 1 / 9], [1 / 9, 8 / 9, 1 / 9], [1 / 9, 1 / 9, 1 / 9]])
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)


def test_foreground_and_background_contribute_equally():
    # A 5 x 5 map with a 2 x 2 foreground blob: f = 4/25. A uniform error of 1 everywhere must
    # cost the same on the 4 foreground pixels as on the 21 background ones.
    target = np.zeros([1, 5, 5, 1], np.float32)
    target[0, 1:3, 2:4, 0] = [[3.0, 1.0], [0.5, 12.0]]
    prediction = target + 1.0
    weights = losses.foreground_balance_weights(target, np.ones_like(target)).numpy()
    foreground = target > 0
    np.testing.assert_allclose(weights[foreground], 21 / 25, rtol=1e-6)
    np.testing.assert_allclose(weights[~foreground], 4 / 25, rtol=1e-6)
    # 4 foreground pixels * 21/25 * 1^2 = 21 background pixels * 4/25 * 1^2 = 3.36.
    error = (prediction - target) ** 2
    np.testing.assert_allclose((weights * error)[foreground].sum(), 3.36, rtol=1e-6)
    np.testing.assert_allclose((weights * error)[~foreground].sum(), 3.36, rtol=1e-6)
    total = losses.foreground_weighted_mse(target, prediction, np.ones_like(target), "sum")
    np.testing.assert_allclose(total.numpy(), [6.72], rtol=1e-6)


def test_background_ratio_scales_the_background_weight():
    # f = 1/9: foreground weighs 8/9 whatever the ratio; background min(r/9, 1).
    for ratio, background in ((4.0, 4 / 9), (8.0, 8 / 9), (20.0, 1.0)):
        weights = losses.foreground_balance_weights(
            PEAK_TARGET, np.ones_like(PEAK_TARGET), background_ratio=ratio
        ).numpy()[0, ..., 0]
        expected = np.full([3, 3], background, np.float32)
        expected[1, 1] = 8 / 9
        np.testing.assert_allclose(weights, expected, rtol=1e-6)
    # A false peak of 6 on the background and a centre at 9: 8/9 * 3^2 + 4/9 * 6^2 = 24 (r = 4)
    # against 8 + 4 = 12 with the paper's r = 1.
    prediction = _maps([[6, 0, 0], [0, 9, 0], [0, 0, 0]])
    ones = np.ones_like(PEAK_TARGET)
    paper = losses.foreground_weighted_mse(PEAK_TARGET, prediction, ones, "sum")
    np.testing.assert_allclose(paper.numpy(), [12.0], rtol=1e-6)
    boosted = losses.foreground_weighted_mse(
        PEAK_TARGET, prediction, ones, "sum", background_ratio=4.0
    )
    np.testing.assert_allclose(boosted.numpy(), [24.0], rtol=1e-6)
    keras_loss = losses.ForegroundWeightedMSE(normalize="sum", background_ratio=4.0)
    y_true = losses.pack_target(PEAK_TARGET, ones)
    np.testing.assert_allclose(float(keras_loss(y_true, prediction)), 24.0, rtol=1e-6)


def test_background_ratio_scales_empty_maps_and_rejects_bad_values():
    # Channel 0: f = 1/4, background 2 * 1/4 = 1/2 with r = 2; channel 1 empty: the mean
    # background weight, 1/2. An example without foreground: 2 * 0.0125.
    target = _maps([[2, 0], [0, 0]], [[0, 0], [0, 0]])
    balance = losses.foreground_balance_weights(
        target, np.ones_like(target), background_ratio=2.0
    ).numpy()[0]
    np.testing.assert_allclose(balance[..., 0], [[0.75, 0.5], [0.5, 0.5]], rtol=1e-6)
    np.testing.assert_allclose(balance[..., 1], np.full([2, 2], 0.5), rtol=1e-6)
    empty = np.zeros([1, 2, 2, 1], np.float32)
    balance = losses.foreground_balance_weights(empty, np.ones_like(empty), background_ratio=2.0)
    np.testing.assert_allclose(balance.numpy(), np.full([1, 2, 2, 1], 0.025), rtol=1e-6)
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="background_ratio"):
            losses.ForegroundWeightedMSE(background_ratio=bad)
        with pytest.raises(ValueError, match="background_ratio"):
            losses.foreground_weighted_mse(target, target, target, background_ratio=bad)


def test_no_reweighting_when_foreground_outnumbers_background():
    # 3 of 4 pixels foreground: every pixel weighs 1; error 1 + 1 + 1 + 2^2 = 7.
    target = _maps([[1, 1], [1, 0]])
    prediction = _maps([[0, 0], [0, 2]])
    loss = losses.foreground_weighted_mse(target, prediction, np.ones_like(target), "sum")
    np.testing.assert_allclose(loss.numpy(), [7.0], rtol=1e-6)
    # Exactly half: still balanced (0.5 and 0.5), as in the released code's strict test.
    target = _maps([[2, 2], [0, 0]])
    prediction = np.zeros_like(target)
    loss = losses.foreground_weighted_mse(target, prediction, np.ones_like(target), "sum")
    np.testing.assert_allclose(loss.numpy(), [0.5 * 4 + 0.5 * 4], rtol=1e-6)


def test_exclude_mode_all_zero_target_still_penalises_a_response():
    # Channel 0: a visible joint (PEAK_TARGET, f = 1/9). Channel 1: an occluded joint in
    # "exclude" mode, all-zero target with weight 1, on which the network responds with 12 at
    # one pixel. Its pixels weigh the background weight of channel 0, 1/9: 144/9 = 16.
    target = np.concatenate([PEAK_TARGET, np.zeros_like(PEAK_TARGET)], axis=-1)
    response = np.concatenate([PEAK_TARGET, _maps([[12, 0, 0], [0, 0, 0], [0, 0, 0]])], -1)
    loss = losses.foreground_weighted_mse(target, response, np.ones_like(target), "sum")
    np.testing.assert_allclose(loss.numpy(), [16.0], rtol=1e-6)
    np.testing.assert_allclose(
        losses.foreground_weighted_mse(target, response, np.ones_like(target)).numpy(),
        [16.0 / 18],
        rtol=1e-6,
    )
    # "ignore" mode for the same joint: zero weight, nothing learned.
    ignore = np.ones_like(target)
    ignore[..., 1] = 0.0
    ignored = losses.foreground_weighted_mse(target, response, ignore, "sum")
    np.testing.assert_array_equal(ignored.numpy(), [0.0])
    # The gradient pushes the response down: d/dx (1/9 * x^2) at 12.
    response = tf.constant(response)
    with tf.GradientTape() as tape:
        tape.watch(response)
        loss = losses.foreground_weighted_mse(target, response, np.ones_like(target), "sum")
    gradient = tape.gradient(loss, response).numpy()
    np.testing.assert_allclose(gradient[0, 0, 0, 1], 2 / 9 * 12, rtol=1e-6)


def test_empty_map_weight_when_the_example_has_no_foreground():
    # No channel has foreground: FALLBACK_EMPTY_MAP_WEIGHT = 0.0125; 0.0125 * 144 = 1.8.
    target = np.zeros([1, 2, 2, 1], np.float32)
    response = _maps([[12, 0], [0, 0]])
    loss = losses.foreground_weighted_mse(target, response, np.ones_like(target), "sum")
    np.testing.assert_allclose(loss.numpy(), [1.8], rtol=1e-6)


def test_empty_map_weight_is_the_mean_background_weight_of_the_example():
    # Channel 0: f = 1/4, background weight 1/4. Channel 1: f = 3/4 > 1/2, background weight 1.
    # Channel 2: empty, weighs (1/4 + 1) / 2 = 5/8. Channel 3: missing (weight 0), ignored.
    target = _maps([[2, 0], [0, 0]], [[1, 1], [1, 0]], [[0, 0], [0, 0]], [[0, 0], [0, 0]])
    weight = np.ones_like(target)
    weight[..., 3] = 0.0
    balance = losses.foreground_balance_weights(target, weight).numpy()[0]
    np.testing.assert_allclose(balance[..., 0], [[0.75, 0.25], [0.25, 0.25]], rtol=1e-6)
    np.testing.assert_allclose(balance[..., 1], np.ones([2, 2]), rtol=1e-6)
    np.testing.assert_allclose(balance[..., 2], np.full([2, 2], 0.625), rtol=1e-6)
    np.testing.assert_array_equal(balance[..., 3], np.zeros([2, 2]))
    # Per example: a second example without foreground gets the fallback, not 5/8.
    batch = np.concatenate([target, np.zeros_like(target)])
    balance = losses.foreground_balance_weights(batch, np.ones_like(batch)).numpy()
    np.testing.assert_allclose(balance[0, ..., 2], np.full([2, 2], 0.625), rtol=1e-6)
    np.testing.assert_allclose(balance[1], np.full([2, 2, 4], 0.0125), rtol=1e-6)


def test_empty_map_weight_is_configurable():
    target = np.zeros([1, 2, 2, 1], np.float32)
    response = _maps([[12, 0], [0, 0]])
    loss = losses.foreground_weighted_mse(
        target, response, np.ones_like(target), "sum", empty_map_weight=0.5
    )
    np.testing.assert_allclose(loss.numpy(), [72.0], rtol=1e-6)
    with pytest.raises(ValueError, match="empty_map_weight"):
        losses.foreground_weighted_mse(target, response, target, empty_map_weight=-1.0)
    with pytest.raises(ValueError, match="empty_map_weight"):
        losses.ForegroundWeightedMSE(empty_map_weight=float("nan"))


def test_foreground_fraction_counts_only_weighted_pixels():
    # "ignore"-style partial weight: the right column weighs 0 (it holds an ignored peak, e.g.
    # another person), leaving 6 pixels of which one is foreground: f = 1/6, foreground weighs
    # 5/6, background 1/6.
    target = _maps([[4, 0, 0], [0, 0, 0], [0, 0, 12]])
    weight = _maps([[1, 1, 0], [1, 1, 0], [1, 1, 0]])
    prediction = _maps([[0, 0, 0], [0, 3, 0], [0, 0, 100]])
    # 5/6 * 4^2 + 1/6 * 3^2 + 0 * 100^2 = 89/6.
    loss = losses.foreground_weighted_mse(target, prediction, weight, "sum")
    np.testing.assert_allclose(loss.numpy(), [89 / 6], rtol=1e-6)


def test_foreground_threshold():
    # With threshold 1 only the 12 is foreground: f = 1/4, so 0.5 counts as background.
    target = _maps([[12, 0.5], [0, 0]])
    prediction = np.zeros_like(target)
    loss = losses.foreground_weighted_mse(
        target, prediction, np.ones_like(target), "sum", foreground_threshold=1.0
    )
    # 3/4 * 144 + 1/4 * 0.25 = 108.0625.
    np.testing.assert_allclose(loss.numpy(), [108.0625], rtol=1e-6)


def test_balance_is_per_map():
    # Channel 0: 1 foreground pixel of 4 (f = 1/4); channel 1: 2 of 4 (f = 1/2).
    target = _maps([[2, 0], [0, 0]], [[0, 5], [0, 5]])
    weights = losses.foreground_balance_weights(target, np.ones_like(target)).numpy()
    np.testing.assert_allclose(weights[0, :, :, 0], [[0.75, 0.25], [0.25, 0.25]], rtol=1e-6)
    np.testing.assert_allclose(weights[0, :, :, 1], np.full([2, 2], 0.5), rtol=1e-6)


# ---------------------------------------------------------------- gradients of weight-0 pixels


@pytest.mark.parametrize(
    "loss_fn", [losses.sigmoid_cross_entropy, losses.masked_l2, losses.foreground_weighted_mse]
)
def test_zero_weight_pixels_get_exactly_zero_gradient(loss_fn):
    rng = np.random.default_rng(0)
    target = (rng.uniform(size=[2, 3, 3, 2]) > 0.6).astype(np.float32) * 12.0
    target = np.minimum(target, 1.0) if loss_fn is losses.sigmoid_cross_entropy else target
    weight = (rng.uniform(size=target.shape) > 0.4).astype(np.float32)
    weight[1, :, :, 1] = 0.0  # a missing joint
    prediction = tf.constant(rng.normal(size=target.shape).astype(np.float32) * 5.0)
    with tf.GradientTape() as tape:
        tape.watch(prediction)
        loss = tf.reduce_sum(loss_fn(target, prediction, weight))
    gradient = tape.gradient(loss, prediction).numpy()
    assert np.all(gradient[weight == 0] == 0.0)
    assert np.all(gradient[weight > 0] != 0.0)


# ---------------------------------------------------------------- Keras losses


def _packed_example():
    target = np.concatenate([PEAK_TARGET, np.zeros_like(PEAK_TARGET)], axis=-1)
    weight = np.ones_like(target)
    prediction = np.concatenate([_maps([[3, 0, 0], [0, 9, 0], [0, 0, 0]]), PEAK_TARGET], -1)
    return target, weight, prediction


def test_keras_loss_matches_function_on_packed_targets():
    target, weight, prediction = _packed_example()
    y_true = losses.pack_target(target, weight)
    assert y_true.shape == (1, 3, 3, 4)
    # Channel 0: 9 (see above); channel 1, empty map weighing 1/9: 144 / 9 = 16; mean over 18.
    loss = losses.ForegroundWeightedMSE()(y_true, prediction)
    np.testing.assert_allclose(float(loss), (9 + 16) / 18, rtol=1e-6)
    loss = losses.ForegroundWeightedMSE(normalize="sum")(y_true, prediction)
    np.testing.assert_allclose(float(loss), 25.0, rtol=1e-6)


def test_keras_loss_rejects_unpacked_targets():
    target, _, prediction = _packed_example()
    with pytest.raises(ValueError, match="pack_target"):
        losses.MaskedL2()(target, prediction)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="normalize"):
        losses.MaskedL2(normalize="average")
    with pytest.raises(ValueError, match="rank 4"):
        losses.masked_l2(np.zeros([3, 3]), np.zeros([3, 3]), np.ones([3, 3]))
    with pytest.raises(ValueError, match="same shape"):
        losses.masked_l2(np.zeros([1, 3, 3, 1]), np.zeros([1, 3, 3, 2]), np.ones([1, 3, 3, 1]))
    with pytest.raises(ValueError, match="weight"):
        losses.masked_l2(np.zeros([1, 3, 3, 2]), np.zeros([1, 3, 3, 2]), np.ones([1, 3, 3, 3]))


@pytest.mark.parametrize(
    "loss",
    [
        losses.SigmoidCrossEntropy(normalize="sum", name="det"),
        losses.MaskedL2(reduction="sum"),
        losses.ForegroundWeightedMSE(foreground_threshold=0.5, empty_map_weight=0.25),
        losses.ForegroundWeightedMSE(background_ratio=4.0),
    ],
)
def test_serialization_round_trip(loss):
    target, weight, prediction = _packed_example()
    target = np.clip(target, 0.0, 1.0)
    y_true = losses.pack_target(target, weight)
    config = loss.get_config()
    from_config = type(loss).from_config(config)
    assert from_config.get_config() == config
    serialized = keras.saving.serialize_keras_object(loss)
    assert serialized["registered_name"] == f"tfpose>{type(loss).__name__}"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(loss)
    assert restored.get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert restored.get_config() == config
    np.testing.assert_allclose(float(restored(y_true, prediction)), float(loss(y_true, prediction)))


def _toy_model():
    inputs = keras.Input([4, 4, 3], name="image")
    outputs = {
        "detection": keras.layers.Conv2D(2, 1, name="detection")(inputs),
        "regression": keras.layers.Conv2D(2, 1, name="regression")(inputs),
    }
    return keras.Model(inputs, outputs)


def test_compile_fit_save_load_with_packed_targets(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = rng.normal(size=[8, 4, 4, 3]).astype(np.float32)
    batch = {
        "heatmaps/detection": (rng.uniform(size=[8, 4, 4, 2]) > 0.7).astype(np.float32),
        "weights/detection": np.ones([8, 4, 4, 2], np.float32),
        "heatmaps/keypoints": rng.uniform(size=[8, 4, 4, 2]).astype(np.float32),
        "weights/keypoints": np.ones([8, 4, 4, 2], np.float32),
    }
    batch["weights/keypoints"][:, :, :, 1] = 0.0  # a joint this dataset lacks
    spec = losses.cascade_loss_spec("detection_regression", regression_weight=2.0)
    loss, loss_weights = losses.keras_losses(spec)
    assert loss_weights == {"detection": 1.0, "regression": 2.0}
    y = losses.packed_targets(batch, spec)
    model = _toy_model()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss, loss_weights=loss_weights)
    history = model.fit(images, y, batch_size=4, epochs=3, verbose=0)
    values = history.history["loss"]
    assert all(np.isfinite(values)) and values[-1] < values[0]

    path = tmp_path / "toy.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.loss["detection"], losses.SigmoidCrossEntropy)
    np.testing.assert_allclose(
        reloaded.evaluate(images, y, verbose=0), model.evaluate(images, y, verbose=0), rtol=1e-6
    )


def test_missing_channel_weights_never_change():
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    images = rng.normal(size=[4, 4, 4, 3]).astype(np.float32)
    target = rng.uniform(size=[4, 4, 4, 2]).astype(np.float32)
    weight = np.ones_like(target)
    weight[..., 1] = 0.0
    inputs = keras.Input([4, 4, 3])
    model = keras.Model(inputs, {"regression": keras.layers.Conv2D(2, 1)(inputs)})
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss={"regression": losses.MaskedL2()})
    before = [w.copy() for w in model.get_weights()]
    model.fit(images, {"regression": losses.pack_target(target, weight)}, epochs=2, verbose=0)
    after = model.get_weights()
    # kernel [1, 1, 3, 2] and bias [2]: output channel 1 is untouched, channel 0 has learned.
    np.testing.assert_array_equal(after[0][..., 1], before[0][..., 1])
    np.testing.assert_array_equal(after[1][1], before[1][1])
    assert not np.allclose(after[0][..., 0], before[0][..., 0])


# ---------------------------------------------------------------- specs and total loss


def test_recurrent_loss_spec():
    spec = losses.recurrent_loss_spec(num_passes=3, use_limbs=True, pass_weights=[0.5, 1, 2])
    assert spec == {
        "keypoints_0": ("fg_mse", "keypoints", 0.5),
        "limbs_0": ("fg_mse", "limbs", 0.5),
        "keypoints_1": ("fg_mse", "keypoints", 1.0),
        "limbs_1": ("fg_mse", "limbs", 1.0),
        "keypoints_2": ("fg_mse", "keypoints", 2.0),
        "limbs_2": ("fg_mse", "limbs", 2.0),
    }
    assert list(losses.recurrent_loss_spec(1, use_limbs=False)) == ["keypoints_0"]
    with pytest.raises(ValueError, match="pass_weights"):
        losses.recurrent_loss_spec(2, True, pass_weights=[1.0])
    with pytest.raises(ValueError, match="num_passes"):
        losses.recurrent_loss_spec(0, True)


def test_cascade_loss_spec():
    spec = losses.cascade_loss_spec("detection_regression", 0.0, 3.0)
    assert spec == {
        "detection": ("sigmoid_xent", "detection", 0.0),
        "regression": ("l2", "keypoints", 3.0),
    }
    spec = losses.cascade_loss_spec("regression_regression")
    assert spec == {
        "regression_0": ("l2", "keypoints", 1.0),
        "regression": ("l2", "keypoints", 1.0),
    }
    assert list(losses.cascade_loss_spec("detection_only")) == ["detection"]
    assert list(losses.cascade_loss_spec("regression_only")) == ["regression"]
    with pytest.raises(ValueError, match="variant"):
        losses.cascade_loss_spec("detection+regression")


def _recurrent_fixture():
    # Two examples; the first has errors, the second is predicted perfectly.
    target = np.concatenate([PEAK_TARGET, PEAK_TARGET])
    batch = {
        "heatmaps/keypoints": target,
        "weights/keypoints": np.ones_like(target),
        "heatmaps/limbs": target,
        "weights/limbs": np.ones_like(target),
    }
    off = np.concatenate([_maps([[3, 0, 0], [0, 9, 0], [0, 0, 0]]), PEAK_TARGET])  # loss [1, 0]
    flat = np.concatenate([np.zeros_like(PEAK_TARGET), PEAK_TARGET])  # 8/9*144/9 = 128/9 and 0
    outputs = {"keypoints_0": off, "limbs_0": target, "keypoints_1": off, "limbs_1": flat}
    return outputs, batch


def test_total_loss_recurrent_spec():
    outputs, batch = _recurrent_fixture()
    spec = losses.recurrent_loss_spec(2, use_limbs=True, pass_weights=[0.5, 1.0])
    total, per_output = losses.total_loss(outputs, batch, spec)
    # Batch means: keypoints_t (1 + 0) / 2 = 0.5, limbs_0 0, limbs_1 (128/9 + 0) / 2 = 64/9.
    np.testing.assert_allclose(float(per_output["keypoints_0"]), 0.5, rtol=1e-6)
    np.testing.assert_allclose(float(per_output["limbs_0"]), 0.0, atol=1e-7)
    np.testing.assert_allclose(float(per_output["keypoints_1"]), 0.5, rtol=1e-6)
    np.testing.assert_allclose(float(per_output["limbs_1"]), 64 / 9, rtol=1e-6)
    # 0.5 * (0.5 + 0) + 1 * (0.5 + 64/9) = 7.861111.
    np.testing.assert_allclose(float(total), 7.8611111, rtol=1e-6)
    # Two replicas of 2 examples each: each replica returns half its local mean.
    total, _ = losses.total_loss(outputs, batch, spec, global_batch_size=4)
    np.testing.assert_allclose(float(total), 7.8611111 / 2, rtol=1e-6)


def test_total_loss_in_tf_function_matches_eager():
    outputs, batch = _recurrent_fixture()
    spec = losses.recurrent_loss_spec(2, use_limbs=True)
    eager, _ = losses.total_loss(outputs, batch, spec)
    graph, _ = tf.function(lambda o, b: losses.total_loss(o, b, spec))(outputs, batch)
    np.testing.assert_allclose(float(graph), float(eager), rtol=1e-6)


def test_total_loss_names_what_is_missing():
    outputs, batch = _recurrent_fixture()
    spec = losses.recurrent_loss_spec(3, use_limbs=True)
    with pytest.raises(KeyError, match="keypoints_2"):
        losses.total_loss(outputs, batch, spec)
    del batch["weights/limbs"]
    with pytest.raises(KeyError, match="weights/limbs"):
        losses.total_loss(outputs, batch, losses.recurrent_loss_spec(2, use_limbs=True))
    with pytest.raises(ValueError, match="unknown loss kind"):
        losses.total_loss(outputs, batch, {"keypoints_0": ("mse", "keypoints", 1.0)})


def test_packed_targets_eager_and_in_tf_data():
    _, batch = _recurrent_fixture()
    spec = losses.recurrent_loss_spec(1, use_limbs=True)
    eager = losses.packed_targets(batch, spec)
    dataset = tf.data.Dataset.from_tensor_slices(batch).map(
        lambda example: losses.packed_targets(example, spec)
    )
    from_data = next(iter(dataset.batch(2)))
    assert sorted(from_data) == ["keypoints_0", "limbs_0"]
    for name in eager:
        assert eager[name].shape == (2, 3, 3, 2)
        np.testing.assert_array_equal(from_data[name].numpy(), eager[name].numpy())
