"""``ccspend rates update``: LiteLLM's prices added from today, the past never repriced.

The price file is served from a local HTTP server (127.0.0.1, a free port): no test
reaches the internet. The command runs as a real subprocess, in the sandbox.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ccspend.pricing.litellm import entries, entry_of, per_mtok
from ccspend.pricing.update import plan_update
from tests import logs
from tests.conftest import REPO, run_cli

SUBSET = REPO.parent / "shared" / "reference" / "examples" / "litellm-prices-subset.json"


def anthropic(inp: float, out: float, **extra) -> dict:
    """A LiteLLM entry shaped like the real ones (USD per token)."""
    return {
        "litellm_provider": "anthropic", "mode": "chat", "max_input_tokens": 200000,
        "input_cost_per_token": inp, "output_cost_per_token": out,
        "cache_creation_input_token_cost": inp * 1.25,
        "cache_creation_input_token_cost_above_1hr": inp * 2,
        "cache_read_input_token_cost": inp / 10,
        "search_context_cost_per_query": {"search_context_size_medium": 0.01},
        **extra,
    }  # fmt: skip


PRICES = {
    "sample_spec": {"input_cost_per_token": 0.0, "mode": "one of chat, embedding"},
    # on the card at 1 / 5: the same price, nothing to add
    "claude-haiku-4-5": anthropic(1e-06, 5e-06),
    "claude-haiku-4-5-20251001": anthropic(1e-06, 5e-06),
    # not on the card
    "claude-zephyr-9": anthropic(7e-06, 3.5e-05, provider_specific_entry={"us": 1.1, "fast": 2.0}),
    "claude-zephyr-9-20261101": anthropic(7e-06, 3.5e-05),
    # another provider, and not a chat model: left out
    "bedrock/claude-zephyr-9": {**anthropic(1e-06, 1e-06), "litellm_provider": "bedrock"},
    "text-embedding-9": {"litellm_provider": "openai", "mode": "embedding",
                         "input_cost_per_token": 1e-07, "output_cost_per_token": 0.0},
}  # fmt: skip


# -- the conversion ----------------------------------------------------------------


@pytest.mark.parametrize(("per_token", "per_mtok_"), [
    (3e-06, "3"), (1.5e-05, "15"), (3.75e-06, "3.75"), (3e-07, "0.3"), (1.25e-07, "0.125"),
    (2.5e-08, "0.025"), (6e-06, "6"), (0.0, "0"), (7.5e-05, "75"), (1.1e-06, "1.1"),
    (3.0000000000000004e-06, "3"), (0, "0"),
])  # fmt: skip
def test_per_token_floats_become_exact_per_mtok_decimals(per_token, per_mtok_):
    got = per_mtok({"x": per_token}, "x")
    assert got == Decimal(per_mtok_) and str(got) == per_mtok_


@pytest.mark.parametrize("bad", [None, "3e-06", True, -1e-06, float("nan"), float("inf")])
def test_what_is_not_a_price_is_none(bad):
    assert per_mtok({"x": bad}, "x") is None


def test_an_anthropic_entry_gets_anthropic_rules():
    e = entry_of("anthropic/claude-zephyr-9-20261101", {
        "litellm_provider": "anthropic", "mode": "chat", "max_input_tokens": 1000000,
        "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
        "input_cost_per_token_above_200k_tokens": 6e-06,
        "output_cost_per_token_above_200k_tokens": 2.25e-05,
        "input_cost_per_token_batches": 1.5e-06,
        "provider_specific_entry": {"us": 1.1, "fast": 2.0, "other": 3},
    })  # fmt: skip
    assert e.name == "claude-zephyr-9" and e.provider == "anthropic"
    # the cache prices LiteLLM leaves out, by Anthropic's rules: 1.25x, 2x, 0.1x input
    assert [str(x) for x in e.base.as_tuple()] == ["3", "15", "3.75", "6", "0.3"]
    assert e.long_context_threshold == 200_000
    assert [str(x) for x in e.long_context.as_tuple()] == ["6", "22.5", "7.5", "12", "0.6"]
    assert e.web_search_per_1k == 10 and e.context_window == 1_000_000
    assert [(m.field, m.value, str(m.factor)) for m in e.modifiers] == [
        ("speed", "fast", "2"), ("inference_geo", "us", "1.1")]


def test_openai_and_google_have_no_cache_write_surcharge():
    e = entry_of("gemini/gemini-9-pro", {
        "litellm_provider": "gemini", "mode": "chat", "input_cost_per_token": 1.25e-06,
        "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-07,
        "input_cost_per_token_above_200k_tokens": 2.5e-06,
        "output_cost_per_token_above_200k_tokens": 1.5e-05,
        "search_context_cost_per_query": {"search_context_size_medium": 0.035},
    })  # fmt: skip
    assert e.provider == "google" and e.name == "gemini-9-pro"
    assert [str(x) for x in e.base.as_tuple()] == ["1.25", "10", "1.25", "1.25", "0.125"]
    # the cached-input price scales like the input price
    assert [str(x) for x in e.long_context.as_tuple()] == ["2.5", "15", "2.5", "2.5", "0.25"]
    assert e.web_search_per_1k == 35


def test_only_chat_models_of_known_providers():
    assert [e.key for e in entries(PRICES)] == [
        "claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-zephyr-9",
        "claude-zephyr-9-20261101"]  # fmt: skip


@pytest.mark.parametrize("data", [[], {}, {"a": 1}, {"x": {"mode": "chat"}}])
def test_a_file_of_another_shape_is_an_error(data):
    from ccspend.core.errors import RateCardError

    with pytest.raises(RateCardError, match="not LiteLLM's price file"):
        entries(data)


@pytest.mark.skipif(not SUBSET.is_file(), reason="the shared reference is not at hand")
def test_the_file_the_card_was_built_from_changes_no_price(card):
    """The update's rules are the build script's: an update from the very file the
    shipped card was made of finds no new model and no changed price. Where the card
    departs from LiteLLM on purpose (a provider's list price), the update says so."""
    plan = plan_update(card, json.loads(SUBSET.read_text()), date(2026, 11, 23), "subset")
    assert plan.models_read > 100
    assert [c.name for c in plan.changes if c.kind != "modifier"] == []
    assert {k.name for k in plan.kept} <= {
        "claude-3-5-haiku", "gemini-2.5-flash", "gemini-2.5-pro", "claude-sonnet-4-5"}


# -- the command -------------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over a folder; yields (folder, base URL)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = partial(_Quiet, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on the test's stderr
        pass


def serve(server, prices: dict, name: str = "prices.json") -> str:
    folder, base = server
    (folder / name).write_text(json.dumps(prices))
    return f"{base}/{name}"


def updates_file(sandbox: Path) -> Path:
    return sandbox / "config" / "rates-updates.toml"


def two_days_of(projects: Path, model: str) -> None:
    """One request of ``model`` yesterday and one today (UTC: the sandbox's zone):
    1,000,000 input tokens each, so the cost is the input price."""
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    logs.write(projects / "app" / "s.jsonl", [
        logs.assistant(ts=f"{yesterday}T12:00:00.000Z", msg="m1", req="r1", model=model,
                       inp=1_000_000, out=0),
        logs.assistant(ts=f"{today}T00:00:01.000Z", msg="m2", req="r2", model=model,
                       inp=1_000_000, out=0),
    ])  # fmt: skip


def daily() -> dict:
    r = run_cli("daily", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    return {row["key"]: row["cost_usd"] for row in data["rows"]} | {
        "unpriced": [u["model"] if isinstance(u, dict) else u[0] for u in data["unpriced"]]}


def test_a_new_model_is_priced_from_today_and_history_is_unchanged(server, sandbox, projects):
    two_days_of(projects, "claude-zephyr-9")
    today = datetime.now(UTC).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    before = daily()
    assert before[yesterday] == 0 and before[today.isoformat()] == 0
    assert before["unpriced"] == ["claude-zephyr-9"]

    url = serve(server, PRICES)
    r = run_cli("rates", "update", "--from", url)
    assert r.returncode == 0, r.stderr
    assert "new      claude-zephyr-9 (anthropic): input 7, output 35" in r.stdout
    assert f"priced from {today}" in r.stdout
    assert "claude-haiku-4-5" not in r.stdout  # unchanged: not mentioned
    text = updates_file(sandbox).read_text()
    assert f"effective_from = {today}" in text and "backdate = false" in text
    assert 'field = "inference_geo"' in text and "factor = 1.1" in text

    after = daily()
    assert after[yesterday] == 0  # yesterday's request is still unpriced: history unchanged
    assert after[today.isoformat()] == pytest.approx(7.0)  # today's at the new price
    assert after["unpriced"] == ["claude-zephyr-9"]  # the one from yesterday

    # rates shows both versions; --json lists them
    listing = run_cli("rates", "--json")
    data = json.loads(listing.stdout)
    assert [v["kind"] for v in data["versions"]] == ["shipped", "update"]
    assert data["versions"][1]["version"] == today.isoformat()
    assert url in data["versions"][1]["source"]
    assert {"card_version", "at", "files", "models"} <= set(data)
    assert "claude-zephyr-9" in {m["model"] for m in data["models"]}
    old = json.loads(run_cli("rates", "--json", "--at", yesterday).stdout)
    # the card as it stood yesterday: the new model was not on it
    assert "claude-zephyr-9" not in {m["model"] for m in old["models"]}
    table = run_cli("rates", "--at", yesterday)
    assert "Versions: shipped" in table.stdout and f"update from {today}" in table.stdout

    # the same data again the same day: nothing to add, the file untouched
    again = run_cli("rates", "update", "--from", url)
    assert again.returncode == 0, again.stderr
    assert "Already current" in again.stdout
    assert updates_file(sandbox).read_text() == text


def test_a_changed_price_applies_from_today_only(server, sandbox, projects):
    two_days_of(projects, "claude-fable-5")  # on the card at 10 / 50, from LiteLLM
    today = datetime.now(UTC).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    assert daily()[yesterday] == pytest.approx(10.0)
    cut = dict(PRICES, **{"claude-fable-5": anthropic(8e-06, 4e-05),
                          # a provider's list price (prices.md) wins over LiteLLM's
                          "claude-haiku-4-5": anthropic(8e-07, 4e-06)})  # fmt: skip
    r = run_cli("rates", "update", "--from", serve(server, cut), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["written"] and out["effective_from"] == today.isoformat()
    assert [(c["model"], c["old_input"], c["input"], c["old_output"], c["output"])
            for c in out["changed"]] == [("claude-fable-5", 10.0, 8.0, 50.0, 40.0)]
    assert [(k["model"], k["input"], k["litellm_input"]) for k in out["kept"]] == [
        ("claude-haiku-4-5", 1.0, 0.8)]
    after = daily()
    assert after[yesterday] == pytest.approx(10.0)  # the old price
    assert after[today.isoformat()] == pytest.approx(8.0)  # the new one
    import tomllib

    models = {m["name"]: m for m in tomllib.loads(updates_file(sandbox).read_text())["model"]}
    assert "backdate" not in models["claude-fable-5"]  # a model the card had keeps its history
    assert models["claude-zephyr-9"]["backdate"] is False


def test_dry_run_writes_nothing(server, sandbox):
    r = run_cli("rates", "update", "--from", serve(server, PRICES), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "claude-zephyr-9" in r.stdout and "Dry run" in r.stdout
    assert not updates_file(sandbox).exists()


def test_the_users_own_price_wins(server, sandbox):
    (sandbox / "config").mkdir()
    (sandbox / "config" / "rates.toml").write_text(
        '[[model]]\nname = "claude-haiku-4-5"\n  [[model.price]]\n'
        '  effective_from = 2025-01-01\n  input = 2.0\n  output = 9.0\n')
    cut = dict(PRICES, **{"claude-haiku-4-5": anthropic(8e-07, 4e-06)})
    r = run_cli("rates", "update", "--from", serve(server, cut), "--json")
    out = json.loads(r.stdout)
    assert out["changed"] == []
    assert [k["model"] for k in out["kept"]] == ["claude-haiku-4-5"]
    assert "rates.toml" in out["kept"][0]["why"]


def test_a_file_works_too(sandbox, tmp_path):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps(PRICES))
    r = run_cli("rates", "update", "--from", str(f))
    assert r.returncode == 0, r.stderr
    assert "claude-zephyr-9" in updates_file(sandbox).read_text()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the block ends: nothing listens there


@pytest.mark.parametrize("make", ["unreachable", "404", "garbage", "shape", "missing"])
def test_a_source_that_cannot_be_read_is_one_line_and_changes_nothing(
        make, server, sandbox, tmp_path):  # fmt: skip
    if make == "unreachable":
        source = f"http://127.0.0.1:{closed_port()}/prices.json"
    elif make == "404":
        source = f"{server[1]}/nothing.json"
    elif make == "garbage":
        source = serve(server, {}, "g.json")
        (server[0] / "g.json").write_text("<html>not json")
    elif make == "shape":
        source = serve(server, {"gpt-x": {"mode": "embedding"}})
    else:
        source = str(tmp_path / "nope.json")
    r = run_cli("rates", "update", "--from", source)
    assert r.returncode == 1
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("ccspend: error: ")
    assert "Traceback" not in r.stderr
    assert not updates_file(sandbox).exists()
    expected = {"unreachable": "cannot read", "404": "HTTP 404", "garbage": "not JSON",
                "shape": "not LiteLLM's price file", "missing": "cannot read"}[make]
    assert expected in r.stderr


def test_a_failed_update_leaves_an_earlier_one_as_it_was(server, sandbox):
    assert run_cli("rates", "update", "--from", serve(server, PRICES)).returncode == 0
    before = updates_file(sandbox).read_bytes()
    r = run_cli("rates", "update", "--from", f"http://127.0.0.1:{closed_port()}/x.json")
    assert r.returncode == 1
    assert updates_file(sandbox).read_bytes() == before
