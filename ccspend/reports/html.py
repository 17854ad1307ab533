"""A self-contained HTML page of the spend: nothing is fetched when it is viewed.

Inline SVG for the charts and inline CSS; no script, no font, no image from
anywhere. The page shows the daily trend stacked by model, the split by model
and by project, and the most expensive sessions.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape

from ccspend.reports.build import Report

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac"]  # fmt: skip
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2.2rem}
.sub{color:#666}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1.2rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.8rem 1.1rem;min-width:10rem}
.card b{display:block;font-size:1.4rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #eee}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.legend span{display:inline-block;margin-right:1rem}.sw{display:inline-block;width:.8rem;
height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
svg text{font-size:11px;fill:#555}
"""


def _money(x: float) -> str:
    return f"${x:,.2f}"


def _colour(models: list[str], model: str) -> str:
    return PALETTE[models.index(model) % len(PALETTE)] if model in models else "#999"


def _label_step(n_labels: int, slot: float, chars: int = 5) -> int:
    """Label every how many bars so that no two labels meet: a label of ``chars``
    characters at 11 units is about 6.6 units a character wide (the text scales with
    the chart, so this holds at any width of the page), plus a gap."""
    wide = chars * 6.6 + 8
    return max(1, math.ceil(wide / slot)) if n_labels else 1


def _daily_svg(daily: dict, models: list[str], unpriced: set[str]) -> str:
    rows = daily["rows"]
    if not rows:
        return "<p class=sub>No usage in this period.</p>"
    w, h, pad = 1000, 260, 40
    top = max(r["cost_usd"] for r in rows) or 1.0
    bw = (w - pad) / len(rows)
    step = _label_step(len(rows), bw)
    parts = [f'<svg viewBox="0 0 {w} {h + 30}" width="100%" role="img" '
             f'aria-label="Cost per day, stacked by model">']  # fmt: skip
    for i, row in enumerate(rows):
        x = pad + i * bw
        y = h
        for sub in sorted(row.get("breakdown", []), key=lambda b: models.index(b["model"])
                          if b["model"] in models else 99):  # fmt: skip
            if sub["model"] in unpriced and not sub["cost_usd"]:
                continue  # no price, no height: it is named in the legend and the warnings
            bh = sub["cost_usd"] / top * (h - 10)
            y -= bh
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}" '
                f'height="{bh:.1f}" fill="{_colour(models, sub["model"])}">'
                f"<title>{escape(row['key'])} {escape(sub['model'])}: "
                f"{_money(sub['cost_usd'])}</title></rect>"
            )
        if i % step == 0:
            parts.append(f'<text class=day x="{x + bw / 2:.1f}" y="{h + 16}" '
                         f'text-anchor="middle">{escape(row["key"][5:])}</text>')  # fmt: skip
    parts.append(f'<text x="0" y="12">{_money(top)}</text>')
    parts.append(f'<line x1="{pad}" y1="{h}" x2="{w}" y2="{h}" stroke="#ccc"/></svg>')
    return "".join(parts)


def _cost(row: dict, unpriced: set[str]) -> str:
    """A row's cost; "unpriced" where its only models are not on the rate card, and a
    note where some are (their cost is not in the figure)."""
    models = set(row.get("models") or [row.get("key")]) if unpriced else set()
    if models and models <= unpriced and not row["cost_usd"]:
        return "unpriced"
    return _money(row["cost_usd"]) + (" + unpriced" if models & unpriced else "")


def _bars(rows: list[dict], models: list[str] | None = None, top_n: int = 12,
          unpriced: set[str] = frozenset()) -> str:  # fmt: skip
    rows = rows[:top_n]
    if not rows:
        return "<p class=sub>Nothing to show.</p>"
    top = max(r["cost_usd"] for r in rows) or 1.0
    out = ["<table>"]
    for r in rows:
        colour = _colour(models, r["key"]) if models else PALETTE[0]
        width = r["cost_usd"] / top * 100
        out.append(
            f"<tr><td>{escape(r['key'])}</td><td style='width:55%'><div style='background:"
            f"{colour};height:.9rem;width:{width:.1f}%;border-radius:2px'></div></td>"
            f"<td class=n>{_cost(r, unpriced)}</td><td class=n>"
            f"{r['cache_hit_rate'] * 100:.0f}% cached</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def render(daily: Report, by_model: Report, by_project: Report, sessions: Report) -> str:
    """The page, from four reports of the same period."""
    d = daily.to_json()
    m = by_model.to_json()
    p = by_project.to_json()
    s = sessions.to_json()
    models = [r["key"] for r in m["rows"]]
    unpriced = {u["model"] for u in d["unpriced"]} | {u["model"] for u in m["unpriced"]}
    t = d["totals"]
    days = len(d["rows"])
    period = (f"{d['rows'][0]['key']} to {d['rows'][-1]['key']}" if d["rows"] else "no usage")
    top_sessions = sorted(s["rows"], key=lambda r: -r["cost_usd"])[:15]
    legend = "".join(
        f"<span><i class=sw style='background:{_colour(models, x)}'></i>{escape(x)}"
        f"{' (unpriced)' if x in unpriced else ''}</span>"
        for x in models
    )
    session_rows = "".join(
        f"<tr><td><code>{escape(r['key'][:8])}</code></td><td>{escape(r.get('project') or '')}"
        f"</td><td>{escape(', '.join(r['models']))}</td><td class=n>{r['requests']:,}</td>"
        f"<td class=n>{_cost(r, unpriced)}</td></tr>"
        for r in top_sessions
    )
    warnings = "".join(f"<li>{escape(w)}</li>" for w in d["warnings"])
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>ccspend: {escape(period)}</title><style>{CSS}</style></head><body>
<h1>What your coding agents cost</h1>
<div class=sub>{escape(period)} · days in {escape(d['timezone'])} · made by ccspend {made}</div>
<div class=cards>
<div class=card>total<b>{_money(t['cost_usd'])}</b>{
    "<span class=sub>not counting unpriced models</span>" if unpriced else ""}</div>
<div class=card>per active day<b>{_money(t['cost_usd'] / days if days else 0)}</b></div>
<div class=card>requests<b>{t['requests']:,}</b></div>
<div class=card>cache hit rate<b>{t['cache_hit_rate'] * 100:.1f}%</b></div>
<div class=card>caching saved<b>{_money(t['cache_savings_usd'])}</b></div>
</div>
<h2>Cost per day, by model</h2>{_daily_svg(d, models, unpriced)}
<div class=legend>{legend}</div>
<h2>By model</h2>{_bars(m['rows'], models, unpriced=unpriced)}
<h2>By project</h2>{_bars(p['rows'], unpriced=unpriced)}
<h2>Most expensive sessions</h2>
<table><tr><th>Session</th><th>Project</th><th>Models</th><th class=n>Requests</th>
<th class=n>Cost</th></tr>{session_rows}</table>
{f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else ""}
</body></html>
"""
