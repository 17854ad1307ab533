"""Human output: rich tables on stdout, laid out for the terminal's width (``cli.layout``).

Only the CLI imports this module; the library never prints.

Every value from a log or an import (a model id, a folder, a branch, a session id)
becomes a cell through ``cell``, which shows it inert (``core.text.inert``: control
characters escaped, never read as markup); the consoles (``cli.consoles``) do the
same for any string they are given, and escape what is left as a last guard.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ccspend.cli.layout import (
    COMPACT,
    Col,
    FittedTable,
    fitted_table,
    shorten_end,
    shorten_list,
    shorten_middle,
    shorten_path,
)
from ccspend.core.text import inert
from ccspend.reports.build import BlocksReport, Report

TITLES = {
    "daily": "Date",
    "weekly": "Week of",
    "monthly": "Month",
    "session": "Session",
    "model": "Model",
    "project": "Project",
    "branch": "Branch",
    "source": "Source",
    "user": "User",
    "machine": "Machine",
}
# The order in which a grouped report's columns give way when the terminal is too
# narrow (docs/reports.md lists it): the least useful first; compact token counts
# (1.2M) only when every optional column is gone; the key and the cost never.
REPORT_LADDER = ("Hit", "Total tokens", "Cache write", "Cache read", "Models", "Exactness",
                 "Project", "Last activity", COMPACT, "Output", "Input")  # fmt: skip
# The mark of a line that holds a whole session's total (Goose, Hermes, Droid), and its
# footnote.
TOTAL_MARK = " *"
TOTAL_NOTE = ("* holds session totals (Goose, Hermes, Droid): a session's tokens on one day, "
              "never split by day")
# A key's narrowest: a session id's first 8 characters and "…", a path's last folders.
_KEY_MIN = {"daily": 10, "weekly": 10, "monthly": 7, "session": 9, "model": 16,
            "project": 16, "branch": 16, "source": 12, "user": 12, "machine": 12}  # fmt: skip
_SUB = "  └ "  # a breakdown's sub-row


def tokens(n: int, compact: bool) -> str:
    if not compact or n < 10_000:
        return f"{n:,}"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


UNPRICED = "unpriced"


def money(x: float) -> str:
    return f"${x:,.2f}"


def cell(value, style: str | None = None) -> Text:
    """A table cell or a piece of a line from data: inert, and never markup."""
    return Text(inert(value), style=style or "")


def short_model(name: str) -> str:
    return name.removeprefix("claude-")


def _key_shortener(name: str):
    """How a report's key gives way: a session id keeps its start, a path its end,
    anything else (a branch, a model, a breakdown's sub-row) both ends; a sub-row keeps
    its mark, and an ``--instances`` sub-row's path its end."""
    whole = {"session": shorten_end, "project": shorten_path}.get(name, shorten_middle)

    def shorten(text: str, width: int) -> str:
        if not text.startswith(_SUB):
            return whole(text, width)
        label = text[len(_SUB):]  # a sub-row: a project's path keeps its end (--instances)
        way = shorten_path if label.startswith(("/", "~")) else shorten_middle
        return _SUB + way(label, max(0, width - len(_SUB)))

    return shorten


def report_table(report: Report, width: int) -> FittedTable:
    """A grouped report's table laid out for ``width`` cells (``layout.fit``): numbers
    whole, names shortened, columns dropped in ``REPORT_LADDER``'s order."""
    data = report.to_json()
    broken_down = any(r.breakdown for r in report.rows)
    show_models = report.name != "model" and not broken_down
    session = report.name == "session"
    lines: list[tuple[str, dict, str, str | None]] = []  # (label, numbers, models, style)
    extra: list[tuple[str, str]] = []  # a session's (project, last activity), per line
    exact: list[str] = []  # the source report's exactness of each agent, per line
    for row in data["rows"]:
        lines.append((row["key"] + _mark(row), row,
                      ", ".join(short_model(m) for m in row["models"]), None))
        extra.append((row.get("project") or "", row.get("last_activity_date") or ""))
        exact.append(row.get("exactness") or "")
        for label, sub, models in sub_rows(row, report.filters.tz):
            lines.append((_SUB + label + _mark(sub), sub,
                          ", ".join(short_model(m) for m in models), "dim"))
            extra.append(("", ""))
            exact.append("")
    lines.append(("Total", data["totals"], "", "bold"))
    # a model the card does not know costs nothing that is known: "unpriced", never $0.00
    unpriced = {m for m, _, _ in report.unpriced} if report.name == "model" else set()
    extra.append(("", ""))
    exact.append("")

    def numbers(header: str, field: str) -> Col:
        values = [n[field] for _, n, _, _ in lines]
        return Col(header, [tokens(v, False) for v in values], justify="right",
                   compact=[tokens(v, True) for v in values])  # fmt: skip

    key_min = max(_KEY_MIN[report.name], 14 if broken_down else 0)
    cols = [Col(TITLES[report.name], [label for label, _, _, _ in lines],
                shorten=_key_shortener(report.name), min_width=key_min, key="key")]  # fmt: skip
    if session:
        cols.append(Col("Project", [p for p, _ in extra], shorten=shorten_path, min_width=12))
    if show_models:
        cols.append(Col("Models", [m for _, _, m, _ in lines], shorten=shorten_list,
                        min_width=12))  # fmt: skip
    cols += [
        numbers("Input", "input_tokens"),
        numbers("Output", "output_tokens"),
        numbers("Cache write", "cache_write_tokens"),
        numbers("Cache read", "cache_read_tokens"),
        numbers("Total tokens", "total_tokens"),
        Col("Hit", [f"{n['cache_hit_rate'] * 100:.0f}%" for _, n, _, _ in lines],
            justify="right"),
        Col("Cost", [UNPRICED if n.get("model") is None and label.strip() in unpriced
                     and not n["cost_usd"] else money(n["cost_usd"])
                     for label, n, _, _ in lines], justify="right", style="bold"),
    ]  # fmt: skip
    if session:
        cols.append(Col("Last activity", [d for _, d in extra]))
    if report.name == "source":  # how exact each agent's logs are (the registry's line)
        cols.insert(1, Col("Exactness", exact, shorten=shorten_end, min_width=16))
    return fitted_table(
        cols, width, REPORT_LADDER, title=f"ccspend {report.name} ({report.filters.tz})",
        row_styles=[style for _, _, _, style in lines],
    )

def sub_rows(jrow: dict, tz: str) -> list[tuple[str, dict, list[str]]]:
    """A row's sub-rows as (label, numbers, models): per model (``--breakdown``), per
    project (``--instances``), per request (``session --id``: its local time and model).
    Every kind is drawn the same way, in the report's own columns, under its row; the
    layout shortens a long label as it does any name."""
    out = [(short_model(s["model"]), s, []) for s in jrow.get("breakdown", [])]
    out += [(s["project"], s, s["models"]) for s in jrow.get("projects", [])]
    out += [(s["agent"] or s["source"], s, s["models"]) for s in jrow.get("agents", [])]
    out += [(f"{_local(s['timestamp'], tz)} {short_model(s['model'])}", s, [])
            for s in jrow.get("entries", [])]  # fmt: skip
    return out


def print_report(report: Report, console: Console, err: Console) -> None:
    """A grouped report's table for the console's width, its cache line, and its
    warnings on ``err``."""
    if not report.rows:
        console.print("No usage in this period.")
    else:
        console.print(report_table(report, console.width))
        data = report.to_json()
        if any(_mark(r) or any(_mark(s) for _, s, _ in sub_rows(r, report.filters.tz))
               for r in data["rows"]):
            console.print(TOTAL_NOTE, highlight=False)
        t = data["totals"]
        console.print(
            f"cache hit rate {t['cache_hit_rate'] * 100:.1f}% · caching saved "
            f"{money(t['cache_savings_usd'])} against uncached input prices"
        )
    print_warnings(report.warnings, err)


def _mark(jrow: dict) -> str:
    """``TOTAL_MARK`` for a line that holds session totals, else nothing."""
    return TOTAL_MARK if jrow.get("granularity") == "session-total" else ""


def _local(iso: str, tz: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(tz)).strftime(
        "%Y-%m-%d %H:%M"
    )


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"


def print_blocks(report: BlocksReport, console: Console, err: Console, active_only: bool) -> None:
    """5-hour blocks as a table; the active one with its burn rate and projection."""
    data = report.to_json()
    if not data["rows"]:
        console.print("No active block." if active_only else "No usage in this period.")
    else:
        console.print(blocks_table(report, console.width))
        for row in data["rows"]:
            for f in row.get("forecasts", []):
                console.print(cell(forecast_line(f, report.filters.tz)), highlight=False)
    print_warnings(report.warnings, err)


# The order in which the blocks table's columns give way (docs/reports.md).
BLOCKS_LADDER = ("Models", "$/hour", "Projected", "Status", COMPACT)


def _block_status(row: dict, now_us: int) -> str:
    """ACTIVE and the time left, or the idle time before a block that follows a gap."""
    if row["active"]:
        left = int(datetime_to_epoch(row["end"])) - now_us // 1_000_000
        return f"ACTIVE {_duration(left)} left"
    if row["gap_before"] and row["gap_before"] >= 5 * 3600:
        return f"after {_duration(row['gap_before'])} idle"
    return ""


def blocks_table(report: BlocksReport, width: int) -> FittedTable:
    """The blocks as a table laid out for ``width`` cells (``layout.fit``)."""
    data = report.to_json()
    tz = report.filters.tz
    rows, t = data["rows"], data["totals"]
    counts = [r["total_tokens"] for r in rows] + [t["total_tokens"]]
    cols = [
        Col("Block start", [_local(r["key"], tz) for r in rows] + ["Total"]),
        Col("Status", [_block_status(r, report.now_us) for r in rows] + [""]),
        Col("Models", [", ".join(short_model(m) for m in r["models"]) for r in rows] + [""],
            shorten=shorten_list, min_width=12),
        Col("Tokens", [tokens(n, False) for n in counts], justify="right",
            compact=[tokens(n, True) for n in counts]),
        Col("Cost", [money(r["cost_usd"]) for r in rows] + [money(t["cost_usd"])],
            justify="right", style="bold"),
        Col("$/hour", [money(r["burn_usd_per_hour"]) for r in rows] + [""], justify="right"),
        Col("Projected", [money(r["projected_cost_usd"]) if r["active"] else "" for r in rows]
            + [""], justify="right"),
    ]  # fmt: skip
    styles = ["green" if r["active"] else None for r in rows] + ["bold"]
    return fitted_table(cols, width, BLOCKS_LADDER, title=f"ccspend blocks ({tz})",
                        row_styles=styles)  # fmt: skip


def print_warnings(warnings: list[str], err: Console) -> None:
    """Warnings as plain text: they quote model ids and values from logs, which are data,
    never markup or terminal control sequences."""
    for w in warnings:
        err.print(Text.assemble(("warning:", "yellow"), " ", inert(w)), highlight=False)


def forecast_line(f: dict, tz: str) -> str:
    """One sentence: where a limit or budget stands, and when it is (or was) reached."""
    unit = f["unit"]
    if unit == "usd":
        used, limit, rate = money(f["used"]), money(f["limit"]), f"{money(f['rate_per_hour'])}/h"
    elif unit == "percent":
        used, limit, rate = f"{f['used']:.0f}%", "100%", f"{f['rate_per_hour']:.1f} pts/h"
    else:
        used, limit = tokens(int(f["used"]), True), tokens(int(f["limit"]), True)
        rate = f"{tokens(int(f['rate_per_hour']), True)}/h"
    budget = "period_start" in f
    kind = "official" if f["official"] else "budget" if budget else "estimated"
    head = f"{f['name']} ({kind}): {used} of {limit}"
    burning = f"burning {rate} over the last 30 min"
    if f["used"] >= f["limit"] and f["reaches_at"] is not None:
        return (f"{head}, exceeded at {_clock(f['reaches_at'], tz)}; {burning}. "
                f"Source: {f['source']}")
    when = (
        ("not before the period ends" if budget else "not before the window resets")
        if f["reaches_at"] is None
        else "reached at " + _local_epoch(f["reaches_at"], tz)
    )
    return f"{head} ({f['percent']:.0f}%), {burning}: {when}. Source: {f['source']}"


def _clock(seconds: float, tz: str) -> str:
    """``HH:MM`` for a moment of today (local), else ``YYYY-MM-DD HH:MM``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    at = datetime.fromtimestamp(seconds, ZoneInfo(tz))
    same_day = at.date() == datetime.now(ZoneInfo(tz)).date()
    return at.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")


def _local_epoch(seconds: float, tz: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(seconds, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def datetime_to_epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def live_view(snap, tz: str, roots):
    """The watch screen: a rich renderable built from a ``live.Snapshot``.

    Drawn for the terminal's width, whatever it is: every sentence wraps at a
    word (none is cut), each bar has a line of its own, and the lines that cannot
    wrap (a title, the sparkline, the folders watched) are shortened instead.
    """
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table as Grid

    from ccspend.live.watch import sparkline

    parts = []
    now_local = _local_epoch(snap.taken_at, tz)
    parts.append(_one_line(f"ccspend watch · {now_local} ({tz}) · Ctrl-C to quit", "bold"))
    b = snap.block
    if b:
        end_s = datetime_to_epoch(b["end"])
        left = max(0, int(end_s - snap.taken_at))
        body = Grid.grid(expand=True)  # one row a line: a bar never shares a line with text
        body.add_column(overflow="fold")
        body.add_row(Text(
            f"block since {_local(b['key'], tz)[11:]}: {money(b['cost_usd'])}, "
            f"{tokens(b['total_tokens'], True)} tokens, {_duration(left)} left"
        ))  # fmt: skip
        body.add_row(Text(
            f"burn {money(b['burn_usd_per_hour'])}/h, "
            f"{tokens(int(b['burn_tokens_per_min']), True)} tokens/min (last 30 min); "
            f"projected {money(b['projected_cost_usd'])} at the block's end"
        ))  # fmt: skip
        for f in b.get("forecasts", []):
            pct = f["percent"]
            style = "red" if pct >= 95 else "yellow" if pct >= 80 else "green"
            body.add_row(_Bar(min(pct, 100.0), style))
            body.add_row(cell(forecast_line(f, tz)))
        parts.append(Panel(body, title="active 5-hour block"))
    else:
        parts.append(Panel(Text("no active block"), title="active 5-hour block"))
    today = f"today: {money(snap.today_cost_usd)}"
    if snap.daily_budget:
        pct = snap.today_cost_usd / snap.daily_budget * 100
        today += f" of a {money(snap.daily_budget)} daily budget ({pct:.0f}%)"
        style = "red" if pct >= 95 else "yellow" if pct >= 80 else None
        parts.append(Text(today, style=style))
    else:
        parts.append(Text(today))
    if snap.sessions:
        # the title on a line of its own: a table's title wraps to the table's width
        parts.append(_one_line("live sessions (active in the last hour)", "italic"))
        table = Table(box=None, pad_edge=False)
        table.add_column("Session", no_wrap=True, min_width=8)
        table.add_column("Project", overflow="ellipsis", no_wrap=True, max_width=40)
        table.add_column("Today", justify="right", no_wrap=True, min_width=7)
        table.add_column("Last", justify="right", no_wrap=True, min_width=5)
        for sid, cwd, cost, last in snap.sessions:
            table.add_row(cell(sid[:8]), cell(cwd or ""), money(cost), _local_epoch(last, tz)[11:])
        parts.append(table)
    parts.append(_Spark("last hour: ", sparkline(snap.minutes)))
    parts.append(_one_line("watching " + ", ".join(str(r) for r in roots), "dim"))
    return Group(*parts)


def _one_line(text: str, style: str = "") -> Text:
    """A line from data or a title that is shortened (…) rather than wrapped."""
    return Text(inert(text), style=style, no_wrap=True, overflow="ellipsis")


class _Bar:
    """A bar of ``percent`` on a line of its own, as wide as the line allows (at most 50)."""

    def __init__(self, percent: float, style: str) -> None:
        self.percent, self.style = percent, style

    def __rich_console__(self, console, options):
        width = max(1, min(50, options.max_width - 5))
        done = round(self.percent / 100 * width)
        line = Text("━" * done, style=self.style)
        line.append("━" * (width - done), style="grey23")
        line.append(f" {self.percent:3.0f}%")
        yield line


class _Spark:
    """A label and the sparkline, the newest minutes kept when the line is narrower."""

    def __init__(self, label: str, spark: str) -> None:
        self.label, self.spark = label, spark

    def __rich_console__(self, console, options):
        room = max(0, options.max_width - len(self.label))
        yield Text(self.label + self.spark[len(self.spark) - min(room, len(self.spark)):],
                   no_wrap=True, overflow="crop")


# One glyph a series, each readable without colour: block shades first, then ASCII.
_SHADES = "█▓▒░▚▞▙▟▛▜▌▐▀▄" + "#%@*+=xo~:"
_OTHERS = "·"  # the models past the last glyph, as one series
_COLOURS = ["cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta"]


def _cells(costs: list[float], top: float, width: int) -> list[int]:
    """How many cells of a bar each cost gets: the bar as long as its total says (of
    ``top`` over ``width`` cells), and at least one for every cost above zero."""
    used = [c > 0 for c in costs]
    total = sum(costs)
    if top <= 0 or total <= 0:
        return [0] * len(costs)
    length = min(width, max(sum(used), round(total / top * width)))
    n = [max(1, round(c / total * length)) if u else 0 for c, u in zip(costs, used, strict=True)]
    while sum(n) != length:  # rounding: take from (or give to) the longest part
        i = max(range(len(n)), key=lambda k: (n[k], -k))
        n[i] += 1 if sum(n) < length else -1
    return n


def chart(report: Report, width: int) -> Table:
    """Cost per period as horizontal bars, stacked by model (needs a breakdown report).

    Each model has its own glyph (and a colour), so the chart reads without colour;
    past the glyphs there are, the cheapest models are drawn as one series. In the
    legend a glyph never leaves its label: its lines are made to fit the chart.
    """
    data = report.to_json()
    totals: dict[str, float] = {}
    for row in data["rows"]:
        for sub in row.get("breakdown", []):
            totals[sub["model"]] = totals.get(sub["model"], 0.0) + sub["cost_usd"]
    models = sorted(totals, key=lambda m: (-totals[m], m))
    if len(models) > len(_SHADES):
        keep = len(_SHADES) - 1
        series = {m: i for i, m in enumerate(models[:keep])}
        series.update(dict.fromkeys(models[keep:], keep))
        names = [short_model(m) for m in models[:keep]] + [f"{len(models) - keep} others"]
        glyphs = _SHADES[:keep] + _OTHERS
    else:
        series = {m: i for i, m in enumerate(models)}
        names = [short_model(m) for m in models]
        glyphs = _SHADES[: len(models)]
    top = max((row["cost_usd"] for row in data["rows"]), default=0.0)
    label_w = max((len(inert(r["key"])) for r in data["rows"]), default=4)
    money_w = max((len(money(r["cost_usd"])) for r in data["rows"]), default=5)
    bar_w = max(10, width - label_w - 14)
    table = Table(title=f"ccspend {report.name}: cost by model ({report.filters.tz})",
                  box=None, pad_edge=False, show_header=False)  # fmt: skip
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for row in data["rows"]:
        cells = [0] * len(glyphs)
        for sub in row.get("breakdown", []):
            cells[series[sub["model"]]] += sub["cost_usd"]
        bar = Text()
        for i, n in enumerate(_cells(cells, top, bar_w)):
            bar.append(glyphs[i] * n, style=_COLOURS[i % len(_COLOURS)])
        table.add_row(cell(row["key"]), bar, money(row["cost_usd"]))
    room = label_w + bar_w + money_w + 4  # the table's width: a longer line would wrap
    legend = Text("  ")
    line = 2
    for i, name in enumerate(names):
        item = f"{glyphs[i]} {inert(name)}"
        if line > 2 and line + len(item) + 2 > room:
            legend.append("\n  ")
            line = 2
        legend.append(item, style=_COLOURS[i % len(_COLOURS)])
        legend.append("  ")
        line += len(item) + 2
    table.caption = legend
    return table
