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
    the price of its model in force on ``day``, in floats: ``{"name", "family"?,
    "base": [5 rates], "ws", "lc_threshold"?, "lc"?}`` (rates per million tokens,
    web search per 1,000)."""
    entries = {}
    for m, p in card.in_force(day):
        entry: dict = {"name": m.name}
        if m.family:
            entry["family"] = m.family.lower()
        entry["base"] = [float(getattr(p.base, t)) for t in TIERS]
        entry["ws"] = float(p.web_search_per_1k)
        if p.long_context is not None and p.long_context_threshold is not None:
            entry["lc_threshold"] = p.long_context_threshold
            entry["lc"] = [float(getattr(p.long_context, t)) for t in TIERS]
        entries[m.name] = entry
    # the card's own index: the same keys, the same model behind each (RateCard.resolve)
    return {key: entries[name] for key, name in card.ids.items()}


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


def newest_of_family(models, alias: str | None) -> str | None:
    """The name that a Claude Code alias (``sonnet``) stands for among ``models``
    ((name, family) pairs): the newest model of that family, or None when the alias
    is no family of theirs."""
    if not alias:
        return None
    word = normalise_model(alias)
    models = list(models)
    if not any(family == word for _name, family in models):
        return None
    members = [name for name, family in models
               if family == word or (not family and word in name.lower().split("-"))]  # fmt: skip
    return max(members, key=lambda n: (version_key(n), n))


def version_key(model_id: str) -> tuple:
    """(4, 6) for claude-sonnet-4-6: version parts only, not dates (20241022)."""
    parts = model_id.replace(".", "-").split("-")
    return tuple(int(x) for x in parts if x.isdigit() and len(x) <= 2)


def lookup(prices: dict, model: str | None) -> dict | None:
    """The price entry of a model id or Claude Code alias in a price index; None when the
    card has no price for it (the rules: this module's docstring)."""
    p = resolve_id(prices, model)
    if p is None and model:
        name = newest_of_family(
            {(e["name"], e.get("family")) for e in prices.values() if "name" in e}, model
        )
        p = None if name is None else prices.get(name.lower())
    return p


def card_model(card, model: str | None) -> str | None:
    """The card's name for a model id or Claude Code alias: ``lookup``'s rules, on the card."""
    name = resolve_id(card.ids, model)
    if name is None:
        name = newest_of_family(((m.name, m.family and m.family.lower())
                                 for m in card.models.values()), model)  # fmt: skip
    return name


# -- the price of a request -----------------------------------------------------------


def usd(p: dict, inp: int = 0, out: int = 0, c5: int = 0, c1: int = 0, cr: int = 0,
        ws: int = 0) -> float:  # fmt: skip
    """USD of one request at a price entry: past the long-context threshold (input and
    cache tokens), the whole request at the long-context rates; as ``cost.request_cost``."""
    tier = p["base"]
    threshold = p.get("lc_threshold")
    if threshold is not None and p.get("lc") and inp + c5 + c1 + cr > threshold:
        tier = p["lc"]
    return (
        inp * tier[0] + out * tier[1] + c5 * tier[2] + c1 * tier[3] + cr * tier[4]
    ) / 1e6 + ws * p.get("ws", 0.0) / 1000


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


def price_response(row: list, prices: dict) -> float | None:
    """USD of one response row ``[ts, model, in, out, c5, c1, cr, ws]`` at the index's
    prices (None: the model has no price)."""
    _ts, model, inp, out, c5, c1, cr, ws = row
    return model_usd(prices, model, inp, out, c5, c1, cr, ws)


def price_responses(responses: dict, prices: dict) -> tuple[float, list[str]]:
    """USD of the responses at the index's prices; and the models it had no price for.

    Each distinct model is looked up once: a session has thousands of responses
    and a handful of models, and a model that is not on the card costs a scan
    of the index to find that out."""
    total = 0.0
    unknown: list[str] = []
    entries: dict = {}
    for row in responses.values():
        _ts, model, inp, out, c5, c1, cr, ws = row
        if model not in entries:
            entries[model] = lookup(prices, model)
        entry = entries[model]
        if entry is None:
            if model not in unknown:
                unknown.append(model)
            continue
        total += usd(entry, inp, out, c5, c1, cr, ws)
    return total, unknown
