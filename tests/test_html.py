"""The HTML page: self-contained (nothing fetched when viewed) and carrying the numbers."""

import json
import re
from html.parser import HTMLParser

from tests.conftest import cli, run_cli


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.refs.append(v)
        if tag == "script":
            self.refs.append("<script>")


def test_html_report_is_self_contained_and_has_the_totals(sandbox):
    out = sandbox / "spend.html"
    r = run_cli("report", "--html", str(out), "--demo", "-z", "UTC")
    assert r.returncode == 0, r.stderr
    page = out.read_text()
    parser = _Refs()
    parser.feed(page)
    assert parser.refs == []
    assert not re.search(r"https?://", page)
    total = json.loads(cli("daily", "--demo", "-z", "UTC", "--json").stdout)["totals"]
    assert f"${total['cost_usd']:,.2f}" in page
    for part in ("Cost per day, by model", "By model", "By project", "Most expensive sessions",
                 "<svg"):
        assert part in page
