"""Today's price index (model or alias -> prices), for the paths that must start fast.

``ccspend run``'s pre-flight and ``ccspend route`` price a few tokens before
anything else happens; loading the rate card takes pydantic and a few hundred
milliseconds. So the index is kept in a small JSON file beside the database,
keyed by the card files (the shipped card, the rate updates, the user's overrides), the code
that makes the index from them (its keys are the card's id index) and the day:
it is right the moment any of them changes.
"""

from __future__ import annotations

import json
from pathlib import Path

from ccspend.core.files import write_cache


def today_prices() -> dict:
    """Today's price index: from the cache file when its key still holds, else from
    the rate card (then cached)."""
    return today_price_index()[1]


def today_price_index() -> tuple[str, dict]:
    """Today's price index and its id (a checksum of its content, the same while the
    prices are: what a cache of costs priced with it is keyed on)."""
    from datetime import UTC, datetime

    from ccspend.core import paths

    here = Path(__file__).parent
    key = [datetime.now(UTC).date().isoformat()]
    for f in (here / "data" / "rates.toml", paths.rate_overrides_path(),
              paths.rate_updates_path(), here / "index.py", here / "card.py",
              here / "names.py"):  # fmt: skip
        try:
            st = f.stat()
            key.append([str(f), st.st_size, st.st_mtime_ns])
        except OSError:
            key.append([str(f), None])
    cache = Path(f"{paths.default_db_path()}.cache") / "prices.json"
    try:
        data = json.loads(cache.read_text())
        if data["key"] == key:
            return data["id"], data["prices"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    import zlib

    from ccspend.pricing import load_card
    from ccspend.pricing.index import price_index

    prices = price_index(load_card(paths.rate_overrides_path()), datetime.now(UTC).date())
    ident = f"{zlib.crc32(json.dumps(prices, sort_keys=True).encode()):08x}"
    write_cache(cache, json.dumps({"key": key, "id": ident, "prices": prices}))
    return ident, prices
