"""Limits and time to limit: pure functions on hand-made timelines.

A limit is, in order of trust: the subscription's official window reading
(Claude Code's ``rate_limits``: a used percentage and a reset time), a plan
(an estimate: no provider publishes token ceilings), a number the user gives,
or ``auto``, the 90th percentile of the user's own completed blocks. Every
forecast says which it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WINDOW_S = 30 * 60  # the burn rate is measured over the last 30 minutes

# Per 5-hour window. Claude-Code-Usage-Monitor's estimates (its own, not Anthropic's):
# no provider publishes these ceilings, so a plan's limit is always shown as estimated.
PLANS = {
    "pro": {"tokens": 19_000, "usd": 18.0},
    "max5": {"tokens": 88_000, "usd": 35.0},
    "max20": {"tokens": 220_000, "usd": 140.0},
}
PLANS_SOURCE = "Claude-Code-Usage-Monitor's plan estimates (not published by Anthropic)"


@dataclass(frozen=True)
class Forecast:
    """Where a limit stands and when, at the current rate, it is reached."""

    unit: str  # "tokens", "usd" or "percent"
    used: float
    limit: float
    rate_per_hour: float
    reaches_at: float | None  # epoch seconds; None: not before the window resets
    resets_at: float | None
    official: bool
    source: str

    @property
    def remaining(self) -> float:
        return max(self.limit - self.used, 0.0)

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.limit if self.limit > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "unit": self.unit,
            "used": self.used,
            "limit": self.limit,
            "remaining": self.remaining,
            "percent": self.percent,
            "rate_per_hour": self.rate_per_hour,
            "reaches_at": self.reaches_at,
            "resets_at": self.resets_at,
            "official": self.official,
            "source": self.source,
        }


def rate_per_hour(
    points: list[tuple[float, float]], now: float, window_s: float = WINDOW_S
) -> float:
    """How fast a running total rose over the last ``window_s`` (per hour).

    ``points`` are (epoch seconds, amount spent at that moment), in any order;
    a burst inside the window counts fully, an idle window gives zero.
    """
    since = now - window_s
    spent = sum(amount for t, amount in points if since <= t <= now)
    return spent / (window_s / 3600.0)


def reaches_at(used: float, limit: float, rate: float, now: float, resets_at: float | None):
    """When ``used`` reaches ``limit`` at ``rate`` per hour; None if not before the reset."""
    if used >= limit:
        return now
    if rate <= 0 or math.isnan(rate):
        return None
    when = now + (limit - used) / rate * 3600.0
    if resets_at is not None and when >= resets_at:
        return None
    return when


def crossed_at(points: list[tuple[float, float]], limit: float) -> float | None:
    """When the running total of ``points`` (epoch seconds, amount; any order) first
    reached ``limit``; None if it never did."""
    total = 0.0
    for t, amount in sorted(points):
        total += amount
        if total >= limit:
            return t
    return None


def from_spend(
    used: float,
    limit: float,
    unit: str,
    points: list[tuple[float, float]],
    now: float,
    resets_at: float | None,
    source: str,
) -> Forecast:
    """A forecast against an estimated or given limit, from the spend timeline.

    A limit already passed was reached when the running total crossed it, not now.
    """
    rate = rate_per_hour(points, now)
    when = reaches_at(used, limit, rate, now, resets_at)
    if used >= limit:
        crossed = crossed_at(points, limit)
        when = now if crossed is None else min(crossed, now)
    return Forecast(unit, used, limit, rate, when, resets_at, False, source)


def from_official(readings: list[tuple[float, float, float | None]], now: float,
                  window_s: float = WINDOW_S) -> Forecast | None:  # fmt: skip
    """A forecast from the subscription's own readings: (epoch s, used %, resets_at).

    The rate is how fast the used percentage rose over the last ``window_s``
    (readings of the current window only: a reset starts the count again).
    """
    if not readings:
        return None
    readings = sorted(readings)
    t_last, used, resets = readings[-1]
    current = [r for r in readings if r[2] == resets] if resets is not None else readings
    recent = [r for r in current if r[0] >= now - window_s]
    rate = 0.0
    when = None
    if used >= 100.0:  # the first reading of this window at 100%, not now
        when = next((t for t, pct, _ in current if pct >= 100.0), now)
    if len(recent) >= 2 and recent[-1][0] > recent[0][0]:
        rise = recent[-1][1] - recent[0][1]
        rate = max(rise, 0.0) / ((recent[-1][0] - recent[0][0]) / 3600.0)
    if when is None:
        when = reaches_at(used, 100.0, rate, now, resets)
    return Forecast("percent", used, 100.0, rate, when, resets, True,
                    "Claude Code rate_limits (official)")


def auto_limit(block_totals: list[float], floor: float) -> float | None:
    """The 90th percentile of completed blocks' totals, ignoring blocks below ``floor``."""
    values = sorted(v for v in block_totals if v >= floor)
    if len(values) < 3:
        return None  # too little history to say anything
    k = 0.9 * (len(values) - 1)
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def parse_limit(text: str) -> tuple[str, float | None]:
    """``500000`` (tokens), ``$40`` (USD), a plan name, or ``auto``: (kind, value)."""
    t = text.strip().lower()
    if t == "auto":
        return "auto", None
    if t in PLANS:
        return "plan:" + t, None
    try:
        if t.startswith("$"):
            value = float(t[1:])
            kind = "usd"
        else:
            value = float(t.replace(",", "").replace("_", ""))
            kind = "tokens"
    except ValueError:
        raise ValueError(f"{text!r} is not a limit: give tokens, $USD, a plan or auto") from None
    if value <= 0 or math.isnan(value) or math.isinf(value):
        raise ValueError(f"{text!r}: a limit must be a positive number")
    return kind, value
