"""Versioned rate cards: load, merge the user's overrides, map model ids to entries.

The shipped card (``data/rates.toml``) lists each model with one or more price
periods, each with the date from which it applies and its source. A request is
priced by the period in force at its timestamp; a model's first period also
covers requests older than it (its earliest known price is the best estimate).
Prices are applied at query time, so a new card reprices history without
re-reading any log.

The user's ``rates.toml`` in the config directory has the same shape: it adds
models (local ones, with a zero price or an hourly cost and a throughput) and
adds or replaces price periods of shipped ones.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from ccspend.core.errors import RateCardError
from ccspend.core.paths import RATE_UPDATES_NAME
from ccspend.core.records import Factory, Frozen, plain
from ccspend.pricing.index import NEUTRAL, resolve_id
from ccspend.pricing.names import normalise_model

if TYPE_CHECKING:
    from ccspend.pricing.card_schema import CardIn, ModelIn, ModifierIn, PriceIn, TierIn

SHIPPED = "data/rates.toml"
# The shipped card, built: loading it takes a millisecond, against some 120 ms
# of pydantic's import and validation for the TOML. Rebuilt with
# ``python -m ccspend.pricing.card`` whenever rates.toml or the code that builds
# the card changes (a test fails until it is); a stale one (its hash of those
# differs) is never used.
COMPILED = "data/rates.json"


# -- the card in memory (frozen records: ``core.records``) ------------------------


class Tier(Frozen):
    """Prices in USD per million tokens."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal


class Price(Frozen):
    """One price period of one model."""

    effective_from: date
    base: Tier
    web_search_per_1k: Decimal = Decimal(0)
    long_context_threshold: int | None = None
    long_context: Tier | None = None
    source: str = ""
    note: str | None = None
    # a local model priced from a machine: kept so ``ccspend breakeven`` can reason
    # about a machine paid by the hour, not only about the per-token price derived here
    hourly_usd: Decimal | None = None
    tokens_per_second: Decimal | None = None


class Modifier(Frozen):
    """A multiplier of every token rate (cache reads and writes included, web search
    fees not) for requests whose usage ``field`` has ``value``: fast mode
    (``speed = "fast"``), US-only inference (``inference_geo = "us"``). Modifiers
    of one request multiply each other."""

    field: str
    value: str
    factor: Decimal
    effective_from: date
    until: date | None = None  # first day no longer offered; None: still offered
    source: str = ""
    note: str | None = None

    def applies(self, day: date) -> bool:
        return self.effective_from <= day and (self.until is None or day < self.until)




class ModelRates(Frozen):
    name: str
    provider: str
    family: str | None
    aliases: tuple[str, ...]
    context_window: int | None
    token_factor: Decimal | None
    prices: tuple[Price, ...]  # sorted by effective_from
    modifiers: tuple[Modifier, ...] = ()
    date_known: bool = True  # False: the first price's date is a lower bound
    # False: requests before its first price stay unpriced (a model a rate update added,
    # or one whose release date is unknown: not priced before it could have existed)
    backdate: bool = True

    @property
    def available_from(self) -> date:
        """The first day the model is on the card: its release (or, for a model whose
        date is unknown, the earliest day it could have existed)."""
        return self.prices[0].effective_from

    def price_at(self, day: date) -> Price:
        """The period in force on ``day``; the first period also covers earlier days
        (a log that names a model shows it existed; ``in_force`` is stricter)."""
        chosen = self.prices[0]
        for p in self.prices:
            if p.effective_from <= day:
                chosen = p
            else:
                break
        return chosen

    def factor(self, field: str, value: str | None, day: date) -> Decimal | None:
        """The multiplier for a request of ``day`` whose usage ``field`` is ``value``:
        1 for a neutral value (standard speed, no region), the card's factor where it
        has one, None where it has none (priced at the standard rate, and warned of)."""
        if value is None or value in NEUTRAL.get(field, ()):
            return Decimal(1)
        for f, v, start, end, factor in self.modifier_spans():
            if f == field and v == value and start <= day and (end is None or day < end):
                return factor
        return None

    def modifier_spans(self) -> list[tuple[str, str, date, date | None, Decimal]]:
        """The modifiers as spans of days that never overlap: ``(field, value, first day,
        end day (exclusive) or None, factor)``. A later period of the same field and
        value ends an earlier one; past a mode's last ``until`` (Opus 4.6's fast mode
        ended 2026-06-29, its requests then billed at the standard rate) the factor is 1,
        so such a request is priced, not warned of as unknown."""
        spans = []
        keyed: dict[tuple[str, str], list[Modifier]] = {}
        for m in self.modifiers:
            keyed.setdefault((m.field, m.value), []).append(m)
        for (name, value), mods in sorted(keyed.items()):
            mods.sort(key=lambda m: m.effective_from)
            for i, m in enumerate(mods):
                nxt = mods[i + 1].effective_from if i + 1 < len(mods) else None
                end = min((d for d in (m.until, nxt) if d is not None), default=None)
                if end is not None and end <= m.effective_from:
                    continue
                spans.append((name, value, m.effective_from, end, m.factor))
            last = mods[-1]
            if last.until is not None:
                spans.append((name, value, last.until, None, Decimal(1)))
        return spans


class CardVersion(Frozen):
    """A layer of the card: the shipped card, or one day's ``ccspend rates update``."""

    kind: str  # "shipped" or "update"
    version: str  # the shipped card's version, or the day an update applies from
    source: str = ""  # an update: where its prices were read


class RateCard(Frozen):
    version: str
    models: dict[str, ModelRates]
    files: tuple[str, ...] = ()
    versions: tuple[CardVersion, ...] = ()
    _index: dict[str, str] = Factory(dict)
    _hidden = ("_index",)  # the ids, derived from the models: out of == and the repr

    @property
    def ids(self) -> dict[str, str]:
        """Every id the card knows (names, aliases, their normalised forms) -> its model's
        name: what ``resolve`` looks in, and what the price index copies."""
        return self._index

    def resolve(self, model_id: str | None) -> str | None:
        """The card's model name for a log's model id, or None when it is not on the card."""
        return resolve_id(self._index, model_id)  # the one copy of the id rules

    def in_force(self, day: date) -> list[tuple[ModelRates, Price]]:
        """Every model available on ``day`` with the price then in force: the card as of
        that date (a model released later is not on it)."""
        return [(m, m.price_at(day)) for m in sorted(self.models.values(), key=lambda m: m.name)
                if m.available_from <= day]  # fmt: skip


def _tier(t: TierIn | PriceIn, fallback: Tier | None = None) -> Tier:
    inp = t.input
    return Tier(
        input=inp,
        output=t.output,
        cache_write_5m=t.cache_write_5m if t.cache_write_5m is not None else inp,
        cache_write_1h=t.cache_write_1h if t.cache_write_1h is not None else inp,
        cache_read=t.cache_read if t.cache_read is not None else inp,
    )


def _price(p: PriceIn) -> Price:
    return Price(
        effective_from=p.effective_from,
        base=_tier(p),
        web_search_per_1k=p.web_search_per_1k,
        long_context_threshold=p.long_context_threshold,
        long_context=_tier(p.long_context) if p.long_context else None,
        source=p.source,
        note=p.note,
        hourly_usd=p.hourly_usd,
        tokens_per_second=p.tokens_per_second,
    )


def _modifier(m: ModifierIn) -> Modifier:
    return Modifier(field=m.field, value=m.value, factor=m.factor,
                    effective_from=m.effective_from, until=m.until, source=m.source,
                    note=m.note)  # fmt: skip


def _read(text: str, origin: str) -> CardIn:
    # pydantic and the schema load only when a card file is read, not from the cache
    import tomllib

    from pydantic import ValidationError

    from ccspend.pricing.card_schema import CardIn

    try:
        return CardIn.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise RateCardError(f"{origin}: not valid TOML ({exc})") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise RateCardError(f"{origin}: {where}: {err['msg']}") from None


def _merge(models: dict[str, ModelIn], extra: CardIn) -> None:
    for m in extra.model:
        key = normalise_model(m.name) if m.provider != "local" else m.name.lower()
        old = models.get(key)
        if old is None:
            models[key] = m
            continue
        periods = {p.effective_from: p for p in old.price}
        periods.update({p.effective_from: p for p in m.price})
        mods = {(x.field, x.value, x.effective_from): x for x in old.modifier}
        mods.update({(x.field, x.value, x.effective_from): x for x in m.modifier})
        models[key] = old.model_copy(
            update={
                "aliases": sorted(set(old.aliases) | set(m.aliases)),
                "price": list(periods.values()),
                "modifier": list(mods.values()),
                "date_known": old.date_known if "date_known" not in m.model_fields_set
                else m.date_known,
                "family": m.family or old.family,
                "context_window": m.context_window or old.context_window,
                "token_factor": m.token_factor or old.token_factor,
            }
        )


def load_card(overrides: Path | None = None, shipped_text: str | None = None,
              updates: Path | None = None) -> RateCard:
    """The shipped card merged with the rate updates file, then the user's overrides
    file (each if it exists). ``updates`` defaults to ``rates-updates.toml`` beside
    ``overrides`` (both live in the config directory); with no ``overrides``, none.

    The result is kept in a pickle (``card_cache``) while the card files and this
    code are unchanged: reading and validating the TOML costs ~30 ms, and importing
    pydantic to do it ~150 ms, on every command that prices anything.
    """
    if updates is None and overrides is not None:
        updates = overrides.with_name(RATE_UPDATES_NAME)
    if shipped_text is not None:
        return _build(overrides, shipped_text, updates)
    from ccspend.pricing import card_cache

    shipped = _data(SHIPPED)
    here = Path(__file__).parent  # the code the card is built with is part of its key
    key = card_cache.key([Path(str(shipped)), here / "card.py", here / "card_schema.py",
                          here / "names.py", overrides, updates])
    card = card_cache.get(key)
    if card is None:
        text = shipped.read_text("utf-8")
        if not any(f is not None and f.is_file() for f in (overrides, updates)):
            card = _compiled(text)
        if card is None:
            card = _build(overrides, text, updates)
        card_cache.put(key, card)
    return card


def _data(name: str) -> Path:
    """A data file shipped in this package (a plain path: ``importlib.resources`` costs
    a report some milliseconds of imports, and ccspend is never installed zipped)."""
    return Path(__file__).parent / name


def compile_shipped(shipped_text: str) -> bytes:
    """The content of ``COMPILED`` for the shipped card ``shipped_text``."""
    import msgspec

    doc = {"source_blake2b": _digest(shipped_text), "card": plain(_build(None, shipped_text))}
    return msgspec.json.format(msgspec.json.encode(doc), indent=1) + b"\n"


def _compiled(shipped_text: str) -> RateCard | None:
    """The shipped card from ``COMPILED``, if that was built from ``shipped_text``."""
    import msgspec

    try:
        doc = msgspec.json.decode(_data(COMPILED).read_bytes())
        if doc["source_blake2b"] != _digest(shipped_text):
            return None
        return _card_of(doc["card"])
    except (OSError, msgspec.DecodeError, KeyError, TypeError, ValueError, ArithmeticError):
        return None  # stale or damaged: built from the TOML instead


def _card_of(d: dict) -> RateCard:
    """A ``RateCard`` from its ``plain`` form (JSON: decimals and dates as text)."""

    def dec(v):
        return None if v is None else Decimal(v)

    def day(v):
        return None if v is None else date.fromisoformat(v)

    def tier(t):
        return None if t is None else Tier(*(Decimal(t[f]) for f in Tier._fields))

    def price(p):
        return Price(day(p["effective_from"]), tier(p["base"]), dec(p["web_search_per_1k"]),
                     p["long_context_threshold"], tier(p["long_context"]), p["source"],
                     p["note"], dec(p["hourly_usd"]), dec(p["tokens_per_second"]))  # fmt: skip

    def modifier(m):
        return Modifier(m["field"], m["value"], Decimal(m["factor"]), day(m["effective_from"]),
                        day(m["until"]), m["source"], m["note"])  # fmt: skip

    models = {
        key: ModelRates(m["name"], m["provider"], m["family"], tuple(m["aliases"]),
                        m["context_window"], dec(m["token_factor"]),
                        tuple(price(p) for p in m["prices"]),
                        tuple(modifier(x) for x in m["modifiers"]), m["date_known"],
                        m["backdate"])  # fmt: skip
        for key, m in d["models"].items()
    }
    return RateCard(d["version"], models, tuple(d["files"]),
                    tuple(CardVersion(**v) for v in d["versions"]), dict(d["_index"]))


def _digest(text: str) -> str:
    """What a compiled card was made from: the TOML, and the code that builds the
    card and its id index from it (a change to either makes the compiled card stale)."""
    from ccspend.core.digest import blake2b

    h = blake2b(text.encode(), digest_size=16)
    here = Path(__file__).parent
    for name in ("card.py", "card_schema.py", "names.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()


def _build(overrides: Path | None, shipped_text: str, updates: Path | None = None) -> RateCard:
    base = _read(shipped_text, "shipped rate card")
    models: dict[str, ModelIn] = {}
    _merge(models, base)
    files = ["(shipped) " + base.version]
    versions = [CardVersion("shipped", base.version)]
    for extra in (updates, overrides):  # the user's overrides last: they win
        if extra is None or not extra.is_file():
            continue
        try:
            text = extra.read_text("utf-8")
        except OSError as exc:
            raise RateCardError(f"{extra}: {exc.strerror}") from None
        layer = _read(text, str(extra))
        _merge(models, layer)
        files.append(str(extra))
        if extra is updates:
            versions += _update_versions(layer)
    out: dict[str, ModelRates] = {}
    index: dict[str, str] = {}
    for key, m in models.items():
        if not m.price:
            raise RateCardError(f"rate card: model {m.name} has no price")
        name = m.name if m.provider == "local" else normalise_model(m.name)
        prices = tuple(sorted((_price(p) for p in m.price), key=lambda p: p.effective_from))
        out[name] = ModelRates(
            name=name,
            provider=m.provider,
            family=m.family,
            aliases=tuple(m.aliases),
            context_window=m.context_window,
            token_factor=m.token_factor,
            prices=prices,
            modifiers=tuple(sorted((_modifier(x) for x in m.modifier),
                                   key=lambda x: (x.field, x.value, x.effective_from))),
            date_known=m.date_known,
            backdate=m.backdate and m.date_known,
        )
        index[name.lower()] = name
        index[key] = name
        for alias in m.aliases:
            a = alias.strip().lower()
            index.setdefault(a, name)
            index.setdefault(normalise_model(a), name)
    # exact names win over aliases of other models
    for name in out:
        index[name.lower()] = name
    return RateCard(version=base.version, models=out, files=tuple(files),
                    versions=tuple(versions), _index=index)


def _update_versions(layer: CardIn) -> list[CardVersion]:
    """Each day's update in the updates file: its day and where its prices came from."""
    seen = {(p.effective_from, p.source) for m in layer.model for p in [*m.price, *m.modifier]}
    return [CardVersion("update", day.isoformat(), source) for day, source in sorted(seen)]


if __name__ == "__main__":  # python -m ccspend.pricing.card: rebuild COMPILED
    _shipped = _data(SHIPPED)
    _data(COMPILED).write_bytes(
        compile_shipped(_shipped.read_text("utf-8"))
    )
