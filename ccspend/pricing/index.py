"""The price index: model id or alias -> float prices in force on one day.

The paths that must start fast (the status line, the cap hook, ``ccspend run``,
``ccspend route``) cannot load the rate card, so the background refresh and
``pricing.today`` write this index to small JSON files, and every one of those
paths prices through the functions here: one way from a model id to a price.
The reports price exactly, in SQL, from the card; ``tests/test_price_index.py``
holds the two together.
"""

from __future__ import annotations

from ccspend.pricing.names import normalise_model, strip_iso_date


def price_index(card, day) -> dict:
    """Every model name and alias on the card -> its price in force on ``day`` (floats)."""
    index = {}
    for m, p in card.in_force(day):
        b, lc = p.base, p.long_context
        entry = {
            "base": [float(x) for x in (b.input, b.output, b.cache_write_5m, b.cache_write_1h,
                                        b.cache_read)],
            "ws": float(p.web_search_per_1k),
        }  # fmt: skip
        if lc is not None and p.long_context_threshold is not None:
            entry["lc_threshold"] = p.long_context_threshold
            entry["lc"] = [float(x) for x in (lc.input, lc.output, lc.cache_write_5m,
                                              lc.cache_write_1h, lc.cache_read)]  # fmt: skip
        for key in (m.name.lower(), *[a.lower() for a in m.aliases]):
            index.setdefault(key, entry)
    return index


def model_price(prices: dict, model: str) -> dict | None:
    """The price entry of a model id, or of a Claude Code alias (``sonnet``): the newest
    model of that family on the card, so an alias stays right when a model ships."""
    p = prices.get(model.lower()) or prices.get(normalise_model(model.lower()))
    if p is None:
        family = [k for k in prices if model.lower() in k.split("-")]
        if not family:
            return None
        p = prices[max(family, key=version_key)]
    return p


def input_price(prices: dict, model: str) -> float | None:
    """USD per million input tokens of a model id or alias."""
    p = model_price(prices, model)
    return None if p is None else p["base"][0]


def version_key(model_id: str) -> tuple:
    """(4, 6) for claude-sonnet-4-6: version parts only, not dates (20241022)."""
    parts = model_id.replace(".", "-").split("-")
    return tuple(int(x) for x in parts if x.isdigit() and len(x) <= 2)


def price_response(row: list, prices: dict) -> float | None:
    """USD of one response row at the summary's prices (None: the model has no price)."""
    _ts, model, inp, out, c5, c1, cr, ws = row
    raw = (model or "").lower()
    p = prices.get(raw) or prices.get(normalise_model(raw))
    if p is None:
        p = prices.get(strip_iso_date(normalise_model(raw)))
    if p is None:
        return None
    tier = p["base"]
    threshold = p.get("lc_threshold")
    if threshold is not None and inp + c5 + c1 + cr > threshold and p.get("lc"):
        tier = p["lc"]
    return (
        inp * tier[0] + out * tier[1] + c5 * tier[2] + c1 * tier[3] + cr * tier[4]
    ) / 1e6 + ws * p.get("ws", 0.0) / 1000


def price_responses(responses: dict, prices: dict) -> tuple[float, list[str]]:
    """USD of the responses at the summary's prices; and the models it had no price for."""
    total = 0.0
    unknown: list[str] = []
    for row in responses.values():
        usd = price_response(row, prices)
        if usd is None:
            if row[1] not in unknown:
                unknown.append(row[1])
            continue
        total += usd
    return total, unknown
