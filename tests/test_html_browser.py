"""The HTML page as a person sees it: rendered by headless Chromium, measured in the page.

A script added to a copy of the page (the page itself has none) measures what was
laid out: the bars, the day labels, the text. Skipped, saying why, where Chromium
cannot be had (``.ci/run`` installs Debian's ``chromium`` when it is missing).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import run_cli
from tests.logs import assistant, write

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)  # fmt: skip
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium (apt-get install chromium):"
                                " the HTML page is checked in a real browser")  # fmt: skip

MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "mystery-model-9")
UNPRICED = "mystery-model-9"  # not on the rate card

MEASURE = """<script>
(function () {
  function box(e) { var r = e.getBoundingClientRect();
    return {x: r.left, y: r.top, w: r.width, h: r.height, text: e.textContent}; }
  var svg = document.querySelector('svg');
  var out = {
    rects: Array.from(svg.querySelectorAll('rect')).map(box),
    labels: Array.from(svg.querySelectorAll('text')).map(box)
      .filter(function (b) { return /^\\d\\d-\\d\\d$/.test(b.text); }),
    bars: Array.from(document.querySelectorAll('td div')).map(box),
    rows: Array.from(document.querySelectorAll('tr')).map(function (r) { return r.innerText; }),
    text: document.body.innerText
  };
  var pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def _page(sandbox, projects, days: int) -> str:
    start = datetime(2026, 9, 1, 12, tzinfo=UTC)
    lines = []
    for d in range(days):
        for j, model in enumerate(MODELS):
            ts = (start + timedelta(days=d, minutes=j)).strftime("%Y-%m-%dT%H:%M:%SZ")
            lines.append(assistant(msg=f"m{d}-{j}", req=f"r{d}-{j}", ts=ts, model=model,
                                   inp=100_000 * (1 + d % 5), out=2_000, session=f"s{d % 3}"))
    write(projects / "p" / "s.jsonl", lines)
    out = sandbox / "spend.html"
    r = run_cli("report", "--html", str(out), "-z", "UTC")
    assert r.returncode == 0, r.stderr
    return out.read_text(encoding="utf-8")


def _measure(sandbox, page: str, width: int = 1280) -> dict:
    probe = sandbox / "probe.html"
    probe.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    r = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={sandbox / 'chromium'}",
         f"--window-size={width},1000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    m = re.search(r'<pre id="measured">(.*?)</pre>', r.stdout, re.S)
    if m is None:
        pytest.skip(f"Chromium did not render the page: {r.stderr.strip()[-300:]}")
    return json.loads(html.unescape(m.group(1)))


@pytest.mark.parametrize("width", [1280, 700])
def test_every_bar_is_drawn_and_no_two_day_labels_meet_at_35_days(sandbox, projects, width):
    seen = _measure(sandbox, _page(sandbox, projects, 35), width)
    priced = [r for r in seen["rects"] if UNPRICED not in r["text"]]
    assert len(priced) == 35 * 3
    assert all(r["w"] > 1 and r["h"] > 0.5 for r in priced), priced[:5]  # every bar drawn
    bars = seen["bars"]
    assert bars and sum(b["w"] > 0 for b in bars) >= len(bars) - 1  # the unpriced one: none
    labels = sorted(seen["labels"], key=lambda b: b["x"])
    assert len(labels) >= 5 and labels[0]["text"] == "09-01"
    for a, b in zip(labels, labels[1:], strict=False):
        assert a["x"] + a["w"] < b["x"], f"{a['text']} overlaps {b['text']}"


def test_an_unpriced_model_reads_unpriced_not_zero_dollars(sandbox, projects):
    seen = _measure(sandbox, _page(sandbox, projects, 3))
    row = next(r for r in seen["rows"] if r.startswith(UNPRICED))
    assert "unpriced" in row and "$0.00" not in row, row
    for line in seen["text"].splitlines():  # wherever it is named, it is never $0.00
        assert UNPRICED not in line or "$0.00" not in line, line
