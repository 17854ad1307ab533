"""Time to limit: hand-made timelines with bursts, idle gaps and a rate of zero."""

import pytest

from ccspend.forecast.limits import (
    auto_limit,
    from_official,
    from_spend,
    parse_limit,
    rate_per_hour,
    reaches_at,
)

NOW = 1_800_000_000.0
MIN = 60.0


def test_steady_spend_reaches_the_limit_when_arithmetic_says():
    points = [(NOW - i * MIN, 10.0) for i in range(30)]  # 10 per minute for 30 minutes
    assert rate_per_hour(points, NOW) == pytest.approx(600)
    f = from_spend(700, 1000, "tokens", points, NOW, resets_at=NOW + 5 * 3600, source="given")
    assert f.reaches_at == pytest.approx(NOW + 30 * MIN)
    assert f.remaining == 300 and f.percent == 70 and not f.official


def test_a_burst_long_ago_does_not_count_idle_now_means_never():
    points = [(NOW - 3 * 3600, 5000.0)]
    f = from_spend(5000, 6000, "tokens", points, NOW, resets_at=NOW + 3600, source="given")
    assert f.rate_per_hour == 0 and f.reaches_at is None


def test_a_burst_inside_the_window_counts_fully():
    points = [(NOW - 5 * MIN, 3000.0)]
    assert rate_per_hour(points, NOW) == pytest.approx(6000)


def test_not_before_the_window_resets():
    assert reaches_at(10, 100, rate=1, now=NOW, resets_at=NOW + 3600) is None
    assert reaches_at(10, 100, rate=1, now=NOW, resets_at=None) == pytest.approx(NOW + 90 * 3600)


def test_already_over_the_limit_is_now():
    assert reaches_at(120, 100, rate=0, now=NOW, resets_at=NOW + 10) == NOW


def test_official_readings_give_the_rate_of_the_percentage():
    resets = NOW + 2 * 3600
    readings = [(NOW - 30 * MIN, 40.0, resets), (NOW - 15 * MIN, 45.0, resets), (NOW, 50.0, resets)]
    f = from_official(readings, NOW)
    assert f.official and f.unit == "percent" and f.used == 50
    assert f.rate_per_hour == pytest.approx(20)
    # 50 points left at 20/h is 2.5 h, past the reset in 2 h: not before the window resets
    assert f.reaches_at is None


def test_official_readings_ignore_the_previous_window():
    old, new = NOW - 60, NOW + 5 * 3600
    readings = [(NOW - 20 * MIN, 95.0, old), (NOW - 10 * MIN, 2.0, new), (NOW, 12.0, new)]
    f = from_official(readings, NOW)
    assert f.rate_per_hour == pytest.approx(60) and f.reaches_at == pytest.approx(NOW + 88 * 60)


def test_no_readings_no_forecast():
    assert from_official([], NOW) is None


def test_auto_limit_is_the_90th_percentile_of_real_blocks():
    assert auto_limit([1, 2], floor=0) is None
    blocks = [0.5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert auto_limit(blocks, floor=5) == pytest.approx(91)


@pytest.mark.parametrize("text,kind,value", [
    ("500000", "tokens", 500000), ("500_000", "tokens", 500000), ("$40", "usd", 40),
    ("auto", "auto", None), ("max5", "plan:max5", None),
])
def test_parse_limit(text, kind, value):
    assert parse_limit(text) == (kind, value)


@pytest.mark.parametrize("text", ["lots", "$-3", "0", "nan"])
def test_parse_limit_refuses_nonsense(text):
    with pytest.raises(ValueError):
        parse_limit(text)
