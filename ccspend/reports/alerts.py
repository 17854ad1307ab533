"""Alerts: once per level, to the terminal, the desktop, a webhook and a user command.

An alert is due when something watched (a budget in its period, a run against
its cap) reaches one of its levels. Whether it has already fired is the
database's to say (``store.claim_alert``: the row for that level is inserted by
exactly one caller), so a cron job that checks every minute sends it once. Claims
are made in a short write; sending happens after it, outside the database.
Sending never raises: an unreachable webhook is a warning, not a failed run, and
the alert is sent to it again at the next check (``deliver``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ccspend.core.config import Alerts

CAP_LEVEL = 100  # the hard cap itself is the last level


def level_reached(pct: float, levels: tuple[int, ...]) -> int | None:
    """The highest level (soft percentages, then 100 for the cap) that ``pct`` has reached."""
    reached = [lv for lv in (*levels, CAP_LEVEL) if pct >= lv]
    return max(reached) if reached else None


def crossed(pct: float, levels: tuple[int, ...]) -> list[int]:
    """Every level ``pct`` has reached, lowest first (each is claimed once)."""
    return [lv for lv in sorted({*levels, CAP_LEVEL}) if pct >= lv]


@dataclass(frozen=True)
class Alert:
    key: str  # what is watched, in this period: 'budget:daily:2026-11-23', 'run:<id>'
    level: int
    message: str  # one line for a person
    data: dict = field(default_factory=dict)  # the machine-readable details

    def payload(self) -> dict:
        """The webhook body: Slack's ``text``, plus the details for anything else."""
        return {"text": f"ccspend: {self.message}", "ccspend": {"key": self.key,
                "level": self.level, **self.data}}  # fmt: skip


def mask_url(url: str) -> str:
    """A webhook URL as it may be shown: its scheme and host only (the path is the secret)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(webhook)"
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def _desktop(alert: Alert) -> bool:
    if sys.platform == "darwin" and shutil.which("osascript"):
        script = f"display notification {json.dumps(alert.message)} with title \"ccspend\""
        cmd = ["osascript", "-e", script]
    elif shutil.which("notify-send") and (os.environ.get("DISPLAY") or
                                          os.environ.get("WAYLAND_DISPLAY")):  # fmt: skip
        cmd = ["notify-send", "--app-name=ccspend", "ccspend", alert.message]
    else:
        return False
    try:
        return subprocess.run(cmd, capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _webhook(alert: Alert, url: str) -> str | None:
    """POST the alert; None on success, else why not (with the URL masked)."""
    body = json.dumps(alert.payload()).encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 (the user's own URL)
            if 200 <= resp.status < 300:
                return None
            return f"{mask_url(url)} answered {resp.status}"
    except Exception as exc:  # noqa: BLE001 (any failure is a warning, never a crash)
        reason = getattr(exc, "reason", None) or getattr(exc, "code", None) or type(exc).__name__
        return f"{mask_url(url)}: {reason}"


def _command(alert: Alert, argv: tuple[str, ...]) -> str | None:
    env = {**os.environ, "CCSPEND_ALERT_KEY": alert.key, "CCSPEND_ALERT_LEVEL": str(alert.level),
           "CCSPEND_ALERT_MESSAGE": alert.message}  # fmt: skip
    try:
        done = subprocess.run(list(argv), input=json.dumps(alert.payload()).encode(), env=env,
                              capture_output=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{argv[0]}: {exc.__class__.__name__}"
    return None if done.returncode == 0 else f"{argv[0]} exited {done.returncode}"


def send(alert: Alert, settings: Alerts, terminal) -> list[str]:
    """Send to every configured channel; the channels it reached.

    ``terminal`` is the stream of the front end's talk (its stderr): the alert
    itself when the terminal is a channel, and a failed channel's warning."""
    reached = []
    if settings.terminal:
        terminal.write(f"ccspend: alert: {alert.message}\n")
        reached.append("terminal")
    if settings.desktop and _desktop(alert):
        reached.append("desktop")
    if settings.webhook_url:
        problem = _webhook(alert, settings.webhook_url)
        if problem is None:
            reached.append("webhook")
        else:
            terminal.write(f"ccspend: warning: the alert webhook failed ({problem})\n")
    if settings.command:
        problem = _command(alert, settings.command)
        if problem is None:
            reached.append("command")
        else:
            terminal.write(f"ccspend: warning: the alert command failed ({problem})\n")
    return reached


def claim(con, key: str, pct: float, levels: tuple[int, ...], message,
          data: dict | None = None) -> Alert | None:  # fmt: skip
    """Claim every level ``pct`` has crossed under ``key``; the alert for the highest
    newly claimed (a jump from 0 to 90% is one alert, not two), or None.

    Database only: the caller sends it (``deliver``) after closing its write
    connection, so a slow webhook never holds the database.
    """
    from ccspend.store import claim_alert

    new = [lv for lv in crossed(pct, levels) if claim_alert(con, key, lv, message(lv), "")]
    return Alert(key, new[-1], message(new[-1]), data or {}) if new else None


PENDING = "webhook:pending"  # in an alert's channels: its webhook failed, to be sent again
RETRY_DAYS = 7  # a webhook still failing after this long is given up


def deliver(alerts: list[Alert], settings: Alerts, write, terminal) -> None:
    """Send claimed alerts, then record where each went (``write(fn)`` runs ``fn(con)``
    in one short write transaction); ``terminal`` as ``send``'s.

    A webhook that failed is recorded as ``webhook:pending``, not as sent, and is
    tried again at each later delivery (a cron job's next ``budget check``) until
    it answers, for ``RETRY_DAYS``: a webhook down for a minute still hears of it.
    """
    from ccspend.store import pending_webhooks, set_alert_channels

    sent = []
    for a in alerts:
        reached = send(a, settings, terminal)
        if settings.webhook_url and "webhook" not in reached:
            reached.append(PENDING)
        sent.append((a.key, a.level, ",".join(reached)))
    if settings.webhook_url:
        due: list = []
        write(lambda con: due.extend(pending_webhooks(con, PENDING, RETRY_DAYS)))
        claimed = {(a.key, a.level) for a in alerts}
        for key, level, message, channels in due:
            if (key, level) in claimed:
                continue  # just tried
            problem = _webhook(Alert(key, level, message), settings.webhook_url)
            if problem is None:
                kept = [c for c in channels.split(",") if c and c != PENDING]
                sent.append((key, level, ",".join([*kept, "webhook"])))
            else:
                terminal.write(f"ccspend: warning: the alert webhook failed again ({problem})\n")
    if sent:
        write(lambda con: set_alert_channels(con, sent))


def budget_alerts(con, rows: list[dict]) -> list[Alert]:
    """Claim the alerts of budget rows (from ``reports.budget_status``) at a new level."""
    due = []
    for row in rows:
        if not row["limit"]:
            continue
        pct = row["used"] / row["limit"] * 100
        key = f"budget:{row['name']}:{row['period_start']}"

        def message(level: int, row=row) -> str:
            what = "reached" if level >= CAP_LEVEL else f"at {level}% of"
            return (f"{row['name']} budget {what} its ${row['limit']:.2f} cap "
                    f"(${row['used']:.2f} spent, period from {row['period_start']})")  # fmt: skip

        alert = claim(con, key, pct, tuple(row["alert_at"]), message,
                      {"budget": row["name"], "used_usd": round(row["used"], 6),
                       "cap_usd": row["limit"]})  # fmt: skip
        if alert:
            due.append(alert)
    return due
