"""``cli.layout``: how a table gives way to a narrow terminal, column by column."""

from __future__ import annotations

from rich.cells import cell_len

from ccspend.cli.layout import (
    COMPACT,
    Col,
    fit,
    shorten_end,
    shorten_list,
    shorten_middle,
    shorten_path,
)


def test_names_shorten_in_the_way_that_keeps_them_readable():
    assert shorten_end("3eb13b90-4668-5257-bdd6-40fb06671ad1", 9) == "3eb13b90…"
    assert shorten_middle("feature/JIRA-48213-with-retries", 16) == "feature/…retries"
    assert shorten_path("/home/dev/clients/acme/billing-engine", 20) == "…acme/billing-engine"
    assert shorten_list("haiku-4-5, opus-4-7, sonnet-4-5", 22) == "haiku-4-5, opus-4-7 +1"
    assert shorten_list("haiku-4-5, opus-4-7, sonnet-4-5", 12) == "haiku-4-5 +2"
    # wide characters count two cells, and are never split
    short = shorten_path("/home/dev/プロジェクト/データ分析パイプライン", 12)
    assert cell_len(short) <= 12 and short.startswith("…")
    for f in (shorten_end, shorten_middle, shorten_path, shorten_list):
        assert f("short", 10) == "short"


def columns() -> list[Col]:
    return [
        Col("Key", ["a-rather-long-session-identifier", "Total"], shorten=shorten_end,
            min_width=9, key="key"),
        Col("Models", ["opus-4-7, sonnet-4-5, haiku-4-5", ""], shorten=shorten_list,
            min_width=12),
        Col("Input", ["123,456,789", "123,456,789"], justify="right",
            compact=["123.5M", "123.5M"]),
        Col("Hit", ["81%", "81%"], justify="right"),
        Col("Cost", ["$12,345.67", "$12,345.67"], justify="right"),
    ]  # fmt: skip


LADDER = ("Hit", "Models", COMPACT, "Input")


def test_a_wide_terminal_shows_everything_whole():
    kept = fit(columns(), 200, LADDER)
    assert [c.header for c in kept] == ["Key", "Models", "Input", "Hit", "Cost"]
    assert kept[0].shown[0] == "a-rather-long-session-identifier"


def test_names_shorten_before_any_column_goes_and_numbers_never_shorten():
    for width in range(20, 90):
        kept = fit(columns(), width, LADDER)
        used = sum(c.width for c in kept) + 2 * (len(kept) - 1)
        assert used <= width or [c.header for c in kept] == ["Key", "Cost"]
        headers = [c.header for c in kept]
        dropped = [h for h in ("Hit", "Models", "Input") if h not in headers]
        assert dropped == ["Hit", "Models", "Input"][: len(dropped)], (width, headers)
        cost = next(c for c in kept if c.header == "Cost")
        assert cost.shown == ["$12,345.67", "$12,345.67"]
        if "Hit" not in headers:  # a column went only once the names were at their least
            names = sum(c.narrowest(False) for c in columns() if c.shorten) + 2
            assert width < names + 11 + 3 + 10 + 2 * 4


def test_compact_units_are_the_last_resort():
    kept = fit(columns(), 40, LADDER)
    assert [c.header for c in kept] == ["Key", "Input", "Cost"]
    assert kept[1].shown == ["123,456,789", "123,456,789"]
    kept = fit(columns(), 30, LADDER)
    assert kept[1].shown == ["123.5M", "123.5M"]
