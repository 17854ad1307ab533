"""The price index: model id or alias -> float prices in force on one day.

The paths that must start fast (the status line, the cap hook, ``ccspend run``,
``ccspend route``) cannot load the rate card, so the background refresh and
``pricing.today`` write this index to small JSON files, and every one of those
paths prices through ``lookup`` and ``usd``: one way from a model id to a price.
The reports price exactly, in SQL, from the card; ``tests/test_price_index.py``
holds the two together on random requests.

How a model id finds its model, here and on the card (``RateCard.resolve``, whose
id index the price index copies key for key):

1. the id as written (trimmed, lower case), then ``normalise_model`` of it
   (provider prefix, date, deployment suffix and Claude's version dots gone),
   then that without an ISO date (``gpt-4o-2024-08-06``): the first of these
   that is a name or an alias on the card. An exact name wins over another
   model's alias (the card's index is built that way).
2. Else, a Claude Code alias: a family on the card (``haiku``, ``sonnet``,
   ``opus``; ``sonnet[1m]`` too, normalised) is the newest model of that family
   (highest version, ``version_key``): a model whose ``family`` it is, or one
   without a family whose name has it as a word (a model added in the user's
   rates.toml). The reports never see an alias (logs name the model), so
   ``RateCard.resolve`` stops at 1; ``card_model`` is both, for the card.

Standard library only at import time (the status line and cap hook load this).
"""

from __future__ import annotations

from ccspend.pricing.names import normalise_model, strip_iso_date

TIERS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")


def price_index(card, day) -> dict:
    """Every key of the card's id index (names, aliases, their normalised forms) ->
    its model's prices, in floats: ``{"name", "family"?, "from", "base": [5 rates],
    "ws", "lc_threshold"?, "lc"?, "periods"?, "mods"?}`` (rates per million tokens, web
    search per 1,000). ``base``, ``ws`` and ``lc`` are the price in force on ``day``;
    ``periods`` (``[[first day, base, ws, lc_threshold, lc], ...]``, when the model has
    more than one) and ``mods`` (``[[field, value, first day, end day or None, factor],
    ...]``: fast mode, US-only inference) let ``usd`` price a request of another day
    exactly as the reports do; ``from`` is the first day the model was available."""
    entries = {}
    for m in card.models.values():
        p = m.price_at(day)
        entry: dict = {"name": m.name}
        if m.family:
            entry["family"] = m.family.lower()
        entry["from"] = m.available_from.isoformat()
        entry.update(_period(p))
        if len(m.prices) > 1:
            entry["periods"] = [[q.effective_from.isoformat(), *_period(q).values()]
                                for q in m.prices]  # fmt: skip
            for period in entry["periods"]:
                period += [None] * (5 - len(period))
        spans = m.modifier_spans()
        if spans:
            entry["mods"] = [[f, v, a.isoformat(), b.isoformat() if b else None, float(x)]
                             for f, v, a, b, x in spans]  # fmt: skip
        entries[m.name] = entry
    # the card's own index: the same keys, the same model behind each (RateCard.resolve)
    return {key: entries[name] for key, name in card.ids.items()}


def _period(p) -> dict:
    out: dict = {"base": [float(getattr(p.base, t)) for t in TIERS],
                 "ws": float(p.web_search_per_1k)}  # fmt: skip
    if p.long_context is not None and p.long_context_threshold is not None:
        out["lc_threshold"] = p.long_context_threshold
        out["lc"] = [float(getattr(p.long_context, t)) for t in TIERS]
    return out


# -- one way from a model id to its model ------------------------------------------


def resolve_id(keys: dict, model: str | None):
    """What ``keys`` (an id index: the card's, or a price index) holds for a log's model
    id: the id as written, normalised, then without an ISO date. None when none is there."""
    if not model:
        return None
    raw = model.strip().lower()
    found = keys.get(raw)  # the usual case, without a regular expression
    if found is None:
        norm = normalise_model(raw)
        found = keys.get(norm)
        if found is None:
            found = keys.get(strip_iso_date(norm))
    return found


def newest_of_family(models, alias: str | None, day=None) -> str | None:
    """The name that a Claude Code alias (``sonnet``) stands for among ``models``
    ((name, family, first day) triples): the newest model of that family on ``day``
    (None: of all), or None when the alias is no family of theirs."""
    timeline = family_timeline(models, alias)
    if not timeline:
        return None
    if day is None:
        return timeline[-1][1]
    name = timeline[0][1]  # the first model also stands for the days before it
    for first, member in timeline:
        if first <= day:
            name = member
        else:
            break
    return name


def family_timeline(models, alias: str | None) -> list:
    """What a Claude Code alias named over time among ``models`` ((name, family, first
    day) triples, days as dates or ISO strings): ``[(first day, name), ...]``, a new
    entry each time a newer model of the family (higher version, ``version_key``)
    became available; [] when the alias is no family of theirs."""
    if not alias:
        return []
    word = normalise_model(alias)
    models = list(models)
    if not any(family == word for _name, family, _first in models):
        return []
    members = sorted(
        ((first, name) for name, family, first in models
         if family == word or (not family and word in name.lower().split("-"))),
        key=lambda x: (x[0], version_key(x[1]), x[1]))  # fmt: skip
    timeline: list = []
    best = None
    for first, name in members:
        if best is None or (version_key(name), name) > (version_key(best), best):
            best = name
            if timeline and timeline[-1][0] == first:
                timeline[-1] = (first, name)
            else:
                timeline.append((first, name))
    return timeline


def alias_timeline(card, model: str | None) -> list:
    """``family_timeline`` on the card: what the alias ``model`` named, from which day."""
    return family_timeline(((m.name, m.family and m.family.lower(), m.available_from)
                            for m in card.models.values()), model)  # fmt: skip


def version_key(model_id: str) -> tuple:
    """(4, 6) for claude-sonnet-4-6: version parts only, not dates (20241022)."""
    parts = model_id.replace(".", "-").split("-")
    return tuple(int(x) for x in parts if x.isdigit() and len(x) <= 2)


def lookup(prices: dict, model: str | None, day: str | None = None) -> dict | None:
    """The price entry of a model id or Claude Code alias in a price index; None when the
    card has no price for it (the rules: this module's docstring). ``day`` (ISO): an
    alias names the newest model of its family then (None: today's)."""
    p = resolve_id(prices, model)
    if p is None and model:
        name = newest_of_family(
            {(e["name"], e.get("family"), e.get("from", "")) for e in prices.values()
             if "name" in e}, model, day)  # fmt: skip
        p = None if name is None else prices.get(name.lower())
    return p


def card_model(card, model: str | None, day=None) -> str | None:
    """The card's name for a model id or Claude Code alias: ``lookup``'s rules, on the card
    (``day``: a date; an alias names the newest model of its family then)."""
    name = resolve_id(card.ids, model)
    if name is None:
        name = newest_of_family(((m.name, m.family and m.family.lower(), m.available_from)
                                 for m in card.models.values()), model, day)  # fmt: skip
    return name


# -- the price of a request -----------------------------------------------------------


# Values of the usage fields that cost nothing extra (the standard rate): here, on the
# card (``ModelRates.factor``) and in the reports' SQL (``store.queries.PRICED``).
NEUTRAL = {"speed": ("", "standard"), "inference_geo": ("", "not_available", "global")}


def usd(p: dict, inp: int = 0, out: int = 0, c5: int = 0, c1: int = 0, cr: int = 0,
        ws: int = 0, day: str | None = None, speed: str | None = None,
        geo: str | None = None, k: list | None = None) -> float:  # fmt: skip
    """USD of one request at a price entry, as ``cost.request_cost`` and the reports
    price it: the price period in force on ``day`` (ISO; None: the entry's own day);
    past the long-context threshold (input and cache tokens), the whole request at the
    long-context rates; every token rate times the modifiers of its ``speed`` and
    ``geo`` (fast mode, US-only inference; one the card lacks counts as 1); ``k``, the
    compaction steps' ``[input, output, cache5m, cache1h, cache_read]``, priced as a
    step of its own."""
    base, wsr, threshold, lc = p["base"], p.get("ws", 0.0), p.get("lc_threshold"), p.get("lc")
    periods = p.get("periods")
    if day is not None and periods:
        chosen = periods[0]
        for q in periods:
            if q[0] <= day:
                chosen = q
            else:
                break
        _first, base, wsr, threshold, lc = chosen
    cost = _step(base, threshold, lc, inp, out, c5, c1, cr)
    if k:
        cost += _step(base, threshold, lc, *k)
    if (speed and speed not in NEUTRAL["speed"]) or (geo and geo not in NEUTRAL["inference_geo"]):
        cost *= (factor_of(p, "speed", speed, day) or 1.0) * (
            factor_of(p, "inference_geo", geo, day) or 1.0)
    return cost / 1e6 + ws * wsr / 1000


def _step(base: list, threshold, lc, inp: int, out: int, c5: int, c1: int, cr: int) -> float:
    tier = lc if threshold is not None and lc and inp + c5 + c1 + cr > threshold else base
    return inp * tier[0] + out * tier[1] + c5 * tier[2] + c1 * tier[3] + cr * tier[4]


def factor_of(p: dict, field: str, value: str | None, day: str | None = None) -> float | None:
    """The multiplier of a request whose usage ``field`` is ``value`` on ``day`` (ISO;
    None: today): 1.0 for a neutral value, the card's factor, or None where the card has
    none (priced at the standard rate; ``RateCard``'s ``ModelRates.factor``)."""
    if not value or value in NEUTRAL.get(field, ()):
        return 1.0
    if day is None:
        import time

        day = time.strftime("%Y-%m-%d", time.gmtime())
    for f, v, first, end, factor in p.get("mods", ()):
        if f == field and v == value and first <= day and (end is None or day < end):
            return factor
    return None


def model_usd(prices: dict, model: str | None, inp: int = 0, out: int = 0, c5: int = 0,
              c1: int = 0, cr: int = 0, ws: int = 0) -> float | None:  # fmt: skip
    """USD of one request of ``model`` at ``prices``; None when the model has no price."""
    p = lookup(prices, model)
    return None if p is None else usd(p, inp, out, c5, c1, cr, ws)


def dearest_input(p: dict) -> float:
    """The dearest USD per million input tokens of a price entry (its long-context rate
    when it has one): a bound on what any prompt's tokens cost."""
    lc = p.get("lc")
    return max(p["base"][0], lc[0]) if lc else p["base"][0]


_DAYS: dict[int, str] = {}
DAY_US = 86_400_000_000


def day_of(ts_us: int) -> str:
    """The UTC date (ISO) of a time in microseconds since the epoch: the day a price is
    chosen by, as the reports choose it."""
    n = ts_us // DAY_US
    day = _DAYS.get(n)
    if day is None:
        import time

        day = _DAYS[n] = time.strftime("%Y-%m-%d", time.gmtime(n * 86_400))
    return day


def price_response(row: list, prices: dict) -> float | None:
    """USD of one response row ``[ts, model, in, out, c5, c1, cr, ws, speed, geo, k]``
    (the last three may be absent: a row of an older state file) at the index's prices,
    on the response's own day (None: the model has no price)."""
    ts, model = row[0], row[1]
    day = day_of(ts) if isinstance(ts, int) else None
    p = lookup(prices, model, day)
    if p is None:
        return None
    return _row_usd(p, row, day)


def row_tokens(row: list) -> int:
    """Every billed token of a response row: its top-level counts and its compaction steps."""
    k = row[10] if len(row) > 10 else None
    return sum(row[2:7]) + (sum(k) if k else 0)


def _row_usd(p: dict, row: list, day: str | None) -> float:
    extra = row[8:11]
    speed, geo, k = (list(extra) + [None, None, None])[:3]
    return usd(p, row[2], row[3], row[4], row[5], row[6], row[7], day, speed, geo, k)


def price_responses(responses: dict, prices: dict) -> tuple[float, list[str]]:
    """USD of the responses at the index's prices; and the models it had no price for.

    Each distinct model (and day, for an alias) is looked up once: a session has
    thousands of responses and a handful of models, and a model that is not on the
    card costs a scan of the index to find that out."""
    total = 0.0
    unknown: list[str] = []
    entries: dict = {}
    for row in responses.values():
        ts, model = row[0], row[1]
        day = day_of(ts) if isinstance(ts, int) else None
        key = (model, day)
        if key not in entries:
            entries[key] = lookup(prices, model, day)
        entry = entries[key]
        if entry is None:
            if model not in unknown:
                unknown.append(model)
            continue
        total += _row_usd(entry, row, day)
    return total, unknown
