"""``ccspend rates update``: LiteLLM's current prices, added to the card from today.

An update reads LiteLLM's price file (a URL or a file), compares each model with the
price the card has in force on the day of the update, and writes what is new or
changed to ``rates-updates.toml`` in the config directory (the same shape as the
user's ``rates.toml``) as price periods that apply from that day. Earlier periods are
never touched, so the past is never repriced: a model the card did not know stays
unpriced before the update (``backdate = false``), a changed price applies from the
update on. ``load_card`` merges the file after the shipped card and before the user's
``rates.toml``, whose prices win.

What an update leaves alone, and says so (``Plan.kept``):

- a model whose price in force is a provider's list price (source ``prices.md``):
  the card takes those over LiteLLM wherever the two disagree;
- a model the user prices in their own ``rates.toml``.

It also keeps the card's long-context tier when LiteLLM lists none (LiteLLM has dropped
tiers that still apply), and Anthropic's 1-hour cache write at 2x input where the card
has that and LiteLLM has another figure (a known error of LiteLLM's on several models).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from ccspend.core.errors import RateCardError
from ccspend.core.files import write_atomic
from ccspend.pricing.card import Price, RateCard, Tier
from ccspend.pricing.litellm import RATE_FIELDS, Entry, Modifier, Rates, entries
from ccspend.pricing.names import normalise_model, strip_iso_date

DEFAULT_URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
TIMEOUT_S = 20.0
MAX_BYTES = 64 * 1024 * 1024  # LiteLLM's file is a few MB; anything far larger is not it
LIST_PRICE_SOURCE = "prices.md"  # the shipped card's provider list prices

HEADER = """\
# Rate card updates, written by `ccspend rates update` (LiteLLM's price file): each
# [[model.price]] applies from its effective_from, the day of the update; earlier
# periods are never changed. Your own prices go in rates.toml beside this file (they
# win over these). Deleting this file undoes every update.
"""


@dataclass(frozen=True)
class Change:
    name: str
    provider: str
    kind: str  # "new", "changed" or "modifier" (only a modifier is new)
    new: Entry
    old: Price | None = None  # the price in force before the update
    modifiers: tuple[Modifier, ...] = ()  # the modifiers to add


@dataclass(frozen=True)
class Kept:
    """A model on which LiteLLM disagrees with the card, left as the card has it."""

    name: str
    why: str
    old: Price
    new: Entry


@dataclass(frozen=True)
class Plan:
    day: date
    source: str  # the URL or file the prices were read from
    changes: list[Change] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    models_read: int = 0

    @property
    def period_source(self) -> str:
        return f"rates update {self.day.isoformat()} from {self.source}"


# -- reading the price file ------------------------------------------------------


def read_source(source: str, timeout: float = TIMEOUT_S, limit: int = MAX_BYTES) -> object:
    """LiteLLM's price file from a URL (http, https) or a file, parsed; a
    ``RateCardError`` with a one-line message when it cannot be read or is not JSON."""
    if source.startswith(("http://", "https://")):
        raw = _download(source, timeout, limit)
    else:
        path = Path(source.removeprefix("file://")).expanduser()
        try:
            with open(path, "rb") as fh:
                raw = fh.read(limit + 1)
        except OSError as exc:
            raise RateCardError(f"cannot read {source}: {exc.strerror or exc}") from None
        if len(raw) > limit:
            raise RateCardError(f"{source} is larger than {limit // 2**20} MB: "
                                "not LiteLLM's price file")  # fmt: skip
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RateCardError(f"{source} is not JSON ({exc})") from None


def _download(url: str, timeout: float, limit: int) -> bytes:
    import urllib.error
    import urllib.request

    from ccspend import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"ccspend/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - http(s) only
            raw = resp.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise RateCardError(f"cannot read {url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = getattr(exc.reason, "strerror", None) or exc.reason
        raise RateCardError(f"cannot read {url}: {reason}",
                            hint="offline? --from takes a file too") from None  # fmt: skip
    except TimeoutError:
        raise RateCardError(f"cannot read {url}: no answer in {timeout:g} s",
                            hint="offline? --from takes a file too") from None  # fmt: skip
    except OSError as exc:  # a connection reset mid-read, and the like
        raise RateCardError(f"cannot read {url}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise RateCardError(f"{url} is larger than {limit // 2**20} MB: not LiteLLM's price file")
    return raw


# -- what changes ----------------------------------------------------------------


def _tier(r: Rates) -> Tier:
    return Tier(*r.as_tuple())


def _same_tier(a: Tier | None, b: Tier | None) -> bool:
    if a is None or b is None:
        return a is b
    return all(getattr(a, f) == getattr(b, f) for f in RATE_FIELDS)


def _as_card(e: Entry, old: Price | None) -> Entry:
    """LiteLLM's entry with what the card keeps over it: its long-context tier when
    LiteLLM lists none, its web-search price when LiteLLM gives none, and Anthropic's
    1-hour write rule (2x input) where the card follows it and LiteLLM does not."""
    if old is None:
        return e
    changes: dict = {}
    if e.long_context is None and old.long_context is not None:
        lc = old.long_context
        changes["long_context_threshold"] = old.long_context_threshold
        changes["long_context"] = Rates(lc.input, lc.output, lc.cache_write_5m,
                                        lc.cache_write_1h, lc.cache_read)  # fmt: skip
    if e.web_search_per_1k is None:
        changes["web_search_per_1k"] = old.web_search_per_1k
    if (e.provider == "anthropic" and e.base.cache_write_1h != 2 * e.base.input
            and old.base.cache_write_1h == 2 * e.base.input):
        b = e.base
        changes["base"] = Rates(b.input, b.output, b.cache_write_5m, 2 * b.input, b.cache_read)
    if not changes:
        return e
    from dataclasses import replace

    return replace(e, **changes)


def same_price(e: Entry, p: Price) -> bool:
    """Whether LiteLLM's entry prices every request as the card's period does."""
    return (
        _same_tier(_tier(e.base), p.base)
        and (e.web_search_per_1k or Decimal(0)) == p.web_search_per_1k
        and e.long_context_threshold == p.long_context_threshold
        and _same_tier(e.long_context and _tier(e.long_context), p.long_context)
    )


def _preferred(name: str, group: list[Entry]) -> Entry:
    """The id that stands for a model: its own name, undated, before a dated snapshot."""
    return max(group, key=lambda e: (e.key.rsplit("/", 1)[-1].lower() == name,
                                     e.name == name, e.key))  # fmt: skip


def _modifiers_in_force(model, day: date) -> set[tuple[str, str, Decimal]]:
    """The modifiers the card applies to ``model`` on ``day`` (if the card has any)."""
    found = set()
    for m in getattr(model, "modifiers", ()) or ():
        start, until = getattr(m, "effective_from", None), getattr(m, "until", None)
        if (start is None or start <= day) and (until is None or day < until):
            found.add((m.field, m.value, Decimal(m.factor)))
    return found


def plan_update(card: RateCard, data: object, day: date, source: str,
                user_models: set[str] = frozenset(),
                written: dict[str, set] | None = None) -> Plan:  # fmt: skip
    """What an update from ``data`` (LiteLLM's price file, parsed) adds to ``card`` on
    ``day``. ``user_models``: the card names the user's rates.toml prices (left alone);
    ``written``: modifiers already in the updates file, by model name."""
    found = entries(data)
    groups: dict[str, list[Entry]] = {}
    for e in found:
        name = card.resolve(e.key) or strip_iso_date(e.name)
        groups.setdefault(name, []).append(e)
    plan = Plan(day=day, source=source, models_read=len(found))
    for name in sorted(groups):
        group = groups[name]
        model = card.models.get(name)
        if model is None:
            e = _preferred(name, group)
            plan.changes.append(Change(name, e.provider, "new", e, None, e.modifiers))
            continue
        old = model.price_at(day)
        # the model's own id speaks for it: LiteLLM keeps dated snapshots at old prices
        pick = _as_card(_preferred(name, group), old)
        have = _modifiers_in_force(model, day) | (written or {}).get(name, set())
        new_mods = tuple(m for m in pick.modifiers if (m.field, m.value, m.factor) not in have)
        if same_price(pick, old):
            if new_mods and name not in user_models:
                plan.changes.append(Change(name, model.provider, "modifier", pick, old, new_mods))
            continue
        if name in user_models:
            plan.kept.append(Kept(name, "your rates.toml prices it", old, pick))
        elif old.source.startswith(LIST_PRICE_SOURCE):
            plan.kept.append(Kept(name, "the card has the provider's list price", old, pick))
        else:
            plan.changes.append(Change(name, model.provider, "changed", pick, old, new_mods))
    return plan


def user_model_names(card: RateCard, overrides: Path | None) -> set[str]:
    """The card names of the models the user's rates.toml lists."""
    if overrides is None or not overrides.is_file():
        return set()
    try:
        doc = tomllib.loads(overrides.read_text("utf-8"))
    except (OSError, ValueError):
        return set()  # load_card has already said what is wrong with it
    names = set()
    for m in doc.get("model", []):
        if isinstance(m, dict) and isinstance(m.get("name"), str):
            names.add(card.resolve(m["name"]) or normalise_model(m["name"]))
    return names


# -- the updates file ------------------------------------------------------------


def read_updates(path: Path) -> dict:
    """The updates file as TOML data ({} when there is none)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise RateCardError(f"{path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RateCardError(f"{path}: not valid TOML ({exc})") from None


def written_modifiers(doc: dict) -> dict[str, set]:
    out: dict[str, set] = {}
    for m in doc.get("model", []):
        for mod in m.get("modifier", []):
            if "until" not in mod:
                out.setdefault(m["name"], set()).add(
                    (mod["field"], mod["value"], Decimal(str(mod["factor"]))))
    return out


def _rates_doc(r: Rates) -> dict:
    return {f: getattr(r, f) for f in RATE_FIELDS}


def merge(doc: dict, plan: Plan) -> dict:
    """``doc`` (the updates file's data) with the plan's periods and modifiers added:
    a period of the same day is replaced (an update run twice on one day), every
    earlier one kept as it is."""
    models = {m["name"]: m for m in doc.get("model", [])}
    for c in plan.changes:
        m = models.get(c.name)
        if m is None:
            m = models[c.name] = {"name": c.name, "provider": c.provider}
            if c.kind == "new":
                m["backdate"] = False  # unpriced before the update: the past is not repriced
                if c.new.context_window:
                    m["context_window"] = c.new.context_window
        if c.kind != "modifier":
            period: dict = {"effective_from": plan.day, **_rates_doc(c.new.base)}
            if c.new.web_search_per_1k:
                period["web_search_per_1k"] = c.new.web_search_per_1k
            if c.new.long_context is not None:
                period["long_context_threshold"] = c.new.long_context_threshold
                period["long_context"] = _rates_doc(c.new.long_context)
            period["source"] = plan.period_source
            period["note"] = f"LiteLLM id {c.new.key}"
            prices = [p for p in m.get("price", []) if p["effective_from"] != plan.day]
            m["price"] = [*prices, period]
        for mod in c.modifiers:
            m.setdefault("modifier", []).append({
                "field": mod.field, "value": mod.value, "factor": mod.factor,
                "effective_from": plan.day, "source": plan.period_source,
            })  # fmt: skip
    return {"model": [models[k] for k in sorted(models)]}


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal | float):
        d = v if isinstance(v, Decimal) else Decimal(str(v))
        s = format(d.normalize() + 0, "f")
        return s if "." in s else s + ".0"
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a TOML basic string
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(v)


def render(doc: dict) -> str:
    out = [HEADER.rstrip("\n")]
    for m in doc["model"]:
        out += ["", "[[model]]"]
        out += [f"{k} = {_value(v)}" for k, v in m.items() if k not in ("price", "modifier")]
        for table in ("price", "modifier"):
            for row in m.get(table, []):
                out += ["", f"  [[model.{table}]]"]
                out += [f"  {k} = {_value(v)}" for k, v in row.items()]
    return "\n".join(out) + "\n"


def apply(plan: Plan, path: Path) -> bool:
    """Write the plan's changes to the updates file; False (nothing written) when
    there are none. The new file is checked as a card before it replaces the old."""
    if not plan.changes:
        return False
    text = render(merge(read_updates(path), plan))
    from ccspend.pricing.card_schema import CardIn

    CardIn.model_validate(tomllib.loads(text))  # a file load_card would refuse is never written
    write_atomic(path, text)
    return True


def update(source: str, card: RateCard, path: Path, day: date,
           overrides: Path | None = None, dry_run: bool = False) -> tuple[Plan, bool]:
    """Read ``source``, plan the update of ``card`` on ``day`` and (unless ``dry_run``)
    write it to the updates file ``path``: the plan, and whether the file was written.
    Any error is raised before anything is written."""
    data = read_source(source)
    plan = plan_update(card, data, day, source, user_model_names(card, overrides),
                       written_modifiers(read_updates(path)))  # fmt: skip
    return plan, (not dry_run and apply(plan, path))
