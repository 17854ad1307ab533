"""Today's price index (model or alias -> prices), for the paths that must start fast.

``ccspend run``'s pre-flight and ``ccspend route`` price a few tokens before
anything else happens; loading the rate card takes pydantic and a few hundred
milliseconds. So the index is kept in a small JSON file beside the database,
keyed by the card files (the shipped card, the rate updates, the user's overrides), the code
that makes the index from them (its keys are the card's id index) and the day:
it is right the moment any of them changes.
"""

from __future__ import annotations

import os

from ccspend.core.fastjson import loads
from ccspend.core.files import write_cache


def today_prices() -> dict:
    """Today's price index: from the cache file when its key still holds, else from
    the rate card (then cached)."""
    return today_price_index()[1]


def today_price_index() -> tuple[str, dict]:
    """Today's price index and its id (a checksum of its content, the same while the
    prices are: what a cache of costs priced with it is keyed on).

    The status line asks on every call: paths are strings and the day comes from
    ``time`` (pathlib and datetime cost it milliseconds to import), the cache is read
    without ``json`` (``core.fastjson``); json, datetime and the card only when the
    cache no longer holds."""
    import time

    from ccspend.core import paths

    here = os.path.dirname(os.path.abspath(__file__))
    key = [time.strftime("%Y-%m-%d", time.gmtime())]  # today, UTC
    for f in (os.path.join(here, "data", "rates.toml"), paths.rate_overrides_str(),
              paths.rate_updates_str(), os.path.join(here, "index.py"),
              os.path.join(here, "card.py"), os.path.join(here, "names.py")):  # fmt: skip
        try:
            st = os.stat(f)
            key.append([f, st.st_size, st.st_mtime_ns])
        except OSError:
            key.append([f, None])
    cache = os.path.join(f"{paths.default_db_str()}.cache", "prices.json")
    try:
        with open(cache, encoding="utf-8") as fh:
            data = loads(fh.read())
        if data["key"] == key:
            return data["id"], data["prices"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    import json  # the cache is made again: read above without it (core.fastjson)
    import zlib
    from datetime import UTC, datetime

    from ccspend.pricing import load_card
    from ccspend.pricing.index import price_index

    prices = price_index(load_card(paths.rate_overrides_path()), datetime.now(UTC).date())
    ident = f"{zlib.crc32(json.dumps(prices, sort_keys=True).encode()):08x}"
    write_cache(cache, json.dumps({"key": key, "id": ident, "prices": prices}))
    return ident, prices
