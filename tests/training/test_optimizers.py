"""Learning-rate schedules against hand-computed values."""

import math

import pytest

from tfpose.training import optimizers


def _rate(schedule, step: int) -> float:
    return float(schedule(step))


def test_piecewise_schedule_switches_at_the_boundaries():
    schedule = optimizers.piecewise_schedule([2e-3, 6e-4], [1750])
    assert _rate(schedule, 0) == pytest.approx(2e-3)
    assert _rate(schedule, 1750) == pytest.approx(2e-3)  # Keras: the new rate from step 1751
    assert _rate(schedule, 1751) == pytest.approx(6e-4)


def test_cosine_schedule_warms_up_then_decays_to_the_final_rate():
    peak, final, total, warmup = 2e-3, 1e-4, 1000, 100
    schedule = optimizers.cosine_schedule([peak, final], total, warmup)
    assert _rate(schedule, 0) == pytest.approx(0.0)
    assert _rate(schedule, 50) == pytest.approx(peak / 2)
    assert _rate(schedule, warmup) == pytest.approx(peak)
    # Half way through the decay, the cosine is at its mean.
    assert _rate(schedule, warmup + 450) == pytest.approx((peak + final) / 2, rel=1e-5)
    step = warmup + 300
    expected = final + (peak - final) * 0.5 * (1 + math.cos(math.pi * 300 / 900))
    assert _rate(schedule, step) == pytest.approx(expected, rel=1e-5)
    assert _rate(schedule, total) == pytest.approx(final, rel=1e-5)
    assert _rate(schedule, total + 500) == pytest.approx(final, rel=1e-5)


def test_cosine_schedule_without_warmup_starts_at_the_peak_and_ends_at_zero():
    schedule = optimizers.cosine_schedule([1e-3], 200)
    assert _rate(schedule, 0) == pytest.approx(1e-3)
    assert _rate(schedule, 200) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "rates, warmup, message",
    [
        ([1e-3, 1e-4, 1e-5], 0, "PEAK or PEAK,FINAL"),
        ([1e-3, 2e-3], 0, "final rate must be in [0, peak)"),
        ([1e-3], 200, "--warmup_steps must be in [0, 200)"),
    ],
)
def test_cosine_schedule_errors_name_the_flag(rates, warmup, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)")):
        optimizers.cosine_schedule(rates, 200, warmup)
