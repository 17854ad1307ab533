"""A few counted requests priced here, exactly as the store's pricing query prices them.

Why: after one new log line the refresh prices one or two requests, and DuckDB
spends some 30 ms planning and setting up ``store.queries.PRICE_COUNTED``
(four range joins and two dozen decimal expressions) whatever the number of
rows. These functions apply the same rule (``cost.request_cost``'s, in
micro-USD, on the card's tables as the store loaded them, so every rate is the
``DECIMAL(18,6)`` the query reads) to the rows of the common case: no cost
stated by the log and no multiplier (fast mode, US-only inference) in play.
``prices`` answers None for any other row, and the caller runs the query; the
tests compare both on random rows.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from ccspend.pricing.index import NEUTRAL

# The agents whose logged cost is not a bill (queries: ``stated_usd``): their rows
# never carry a stated cost, whatever the log wrote.
_UNSTATED = ("local", "codex")
_MICRO_PER_SEARCH_FEE = Decimal(1000)  # ws is USD per 1,000 searches: micro-USD per search
_MOST_TOKENS = 10**15  # beyond this the query's decimals may overflow: it decides


def common(source: str, logged_cost: float | None, speed: str | None, geo: str | None,
           tokens: tuple[int, ...]) -> bool:  # fmt: skip
    """Whether a row is priced by ``price`` exactly as the query prices it."""
    return ((source in _UNSTATED or logged_cost is None)
            and (speed or "") in NEUTRAL["speed"] and (geo or "") in NEUTRAL["inference_geo"]
            and all(0 <= t < _MOST_TOKENS for t in tokens))  # fmt: skip


def price(model: str | None, ts_us: int, tokens: tuple[int, ...], spans: dict, periods: dict
          ) -> tuple[str | None, bool, Decimal | None, Decimal | None]:  # fmt: skip
    """(model_name, priced, cost_micro, savings_micro) of a common-case row.

    ``tokens``: input, output, cache writes 5m and 1h, cache reads, web searches,
    then the compaction steps' input, output, writes 5m and 1h, reads. ``spans``:
    ``{raw model: [(name, from_us, to_us)]}`` (the store's ``model_map``);
    ``periods``: ``{name: [(from_us, to_us, i, o, w5, w1, r, lc_threshold, li, lo, lw5,
    lw1, lr, ws)]}`` (``card_prices``).
    """
    name = next((n for n, lo, hi in spans.get(model, ()) if lo <= ts_us < hi), None)
    rates = next((p[2:] for p in periods.get(name, ()) if p[0] <= ts_us < p[1]), None)
    if rates is None:
        return name, False, None, None
    i, o, w5, w1, r, threshold, li, lo, lw5, lw1, lr, ws = rates
    inp, out, c5, c1, cr, web, k_in, k_out, k5, k1, kr = tokens

    def tier(prompt: int) -> tuple:
        if threshold is not None and prompt > threshold:
            return li, lo, lw5, lw1, lr
        return i, o, w5, w1, r

    t, k = tier(inp + c5 + c1 + cr), tier(k_in + k5 + k1 + kr)
    with localcontext() as exact:  # the query's DECIMAL(38, ...) never rounds these
        exact.prec = 80
        cost = (inp * t[0] + out * t[1] + c5 * t[2] + c1 * t[3] + cr * t[4]
                + k_in * k[0] + k_out * k[1] + k5 * k[2] + k1 * k[3] + kr * k[4]
                + web * ws * _MICRO_PER_SEARCH_FEE)  # fmt: skip
        savings = ((c5 + c1 + cr) * t[0] - c5 * t[2] - c1 * t[3] - cr * t[4]
                   + (k5 + k1 + kr) * k[0] - k5 * k[2] - k1 * k[3] - kr * k[4])  # fmt: skip
    return name, True, cost, savings
