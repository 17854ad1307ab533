"""``ccspend cap``: spend caps for interactive Claude Code sessions, as hooks."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ccspend.cli.common import Db, Json, app
from ccspend.core import paths
from ccspend.core.errors import UsageError
from ccspend.core.text import inert

cap_app = typer.Typer(
    help="Caps for interactive Claude Code sessions (hooks that stop tool calls at a cap).",
    no_args_is_help=False,
)
app.add_typer(cap_app, name="cap")


@cap_app.callback(invoke_without_command=True)
def cap_status(ctx: typer.Context, json_out: Json = False, db: Db = None) -> None:
    """The caps in force, whether the hooks are installed, and their recent decisions."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from ccspend.live import claude_settings
    from ccspend.live.caps import load_caps
    from ccspend.live.sessions import state_dir
    from ccspend.live.summary import take_cap_decisions
    from ccspend.store import Store, add_cap_decisions, recent_cap_decisions

    caps = load_caps(paths.config_dir() / "config.toml")
    settings = claude_settings.settings_path()
    installed = claude_settings.hooks_installed(settings)
    # does the hook Claude Code will call run? (a removed venv, a ccspend not on its PATH)
    runs, problem, command = None, None, None
    commands = claude_settings.installed_hook_commands(settings)
    if commands:
        command = commands[0]
        runs, said = claude_settings.probe(command)
        problem = None if runs else said
    db_path = db or paths.default_db_path()
    store = Store(db_path)
    with store.connect(write=True) as con:
        add_cap_decisions(con, take_cap_decisions(state_dir(db_path)))
        decisions = recent_cap_decisions(con, 20)
    if json_out:
        sys.stdout.write(json.dumps({"session_usd": caps.session_usd, "daily_usd": caps.daily_usd,
                                     "alert_at": list(caps.alert_at), "hooks_installed": installed,
                                     "settings": str(settings), "hook_command": command,
                                     "hook_runs": runs, "hook_problem": problem,
                                     "decisions": decisions},
                                    indent=2) + "\n")  # fmt: skip
        return
    cap_line = ", ".join(x for x in (
        f"session ${caps.session_usd:.2f}" if caps.session_usd else "",
        f"daily ${caps.daily_usd:.2f}" if caps.daily_usd else "") if x) or "none set"  # fmt: skip
    sys.stdout.write(f"caps: {cap_line} (soft alerts at {', '.join(map(str, caps.alert_at))}%)\n")
    sys.stdout.write(f"hooks: {'installed' if installed else 'not installed'} in {settings}\n")
    if runs:
        sys.stdout.write(f"hook: runs ({inert(command)})\n")
    elif command:
        sys.stdout.write(f"hook: does not run, so no cap holds: {inert(command)}: "
                         f"{inert(problem or '')}; run `ccspend cap install` again\n")
    for d in decisions:
        sys.stdout.write(f"{inert(d['at'])}  {inert(d['hook']):<16} {inert(d['decision']):<8} "
                         f"{inert(d['reason'])}\n")  # fmt: skip


@cap_app.command("install")
def cap_install(
    session_cap: Annotated[
        float | None, typer.Option("--session-cap", help="USD per session.")
    ] = None,
    daily_cap: Annotated[float | None, typer.Option("--daily-cap", help="USD per day.")] = None,
) -> None:
    """Add the cap hooks to Claude Code's settings (with a backup) and set the caps."""
    from ccspend.core import config
    from ccspend.live import claude_settings
    from ccspend.live.caps import load_caps

    settings = claude_settings.settings_path()
    claude_settings.check_readable(settings)  # before the caps are written: all or nothing
    if session_cap is None and daily_cap is None:
        caps = load_caps(config.config_path())
        if not (caps.session_usd or caps.daily_usd):
            raise UsageError("give --session-cap and/or --daily-cap (dollars)")
    else:
        path = config.set_cap(session_cap, daily_cap)
        sys.stdout.write(f"caps written to {path}\n")
    sys.stdout.write(inert(claude_settings.install_hooks(settings)) + "\n")
    warn_unless_runs(claude_settings.installed_hook_commands(settings)[:1], "the cap hook")


def warn_unless_runs(commands: list[str], what: str) -> None:
    """Run an installed command as Claude Code will; warn (exit 0) if ccspend does not answer."""
    from ccspend.live import claude_settings

    for command in commands:
        runs, said = claude_settings.probe(command)
        if not runs:
            sys.stderr.write(f"warning: {what} does not run: {inert(command)}: "
                             f"{inert(said)}\n")


@cap_app.command("uninstall")
def cap_uninstall() -> None:
    """Remove the cap hooks from Claude Code's settings (the caps stay in the config)."""
    from ccspend.live import claude_settings

    sys.stdout.write(inert(claude_settings.uninstall_hooks(claude_settings.settings_path()))
                     + "\n")  # fmt: skip


@cap_app.command("override")
def cap_override(
    session: Annotated[
        str | None, typer.Option("--session", help="Lift the caps for this session id only.")
    ] = None,
) -> None:
    """Lift the interactive caps for the rest of today (or one session); recorded."""
    import json
    import time

    from ccspend.core.files import private_folder, write_atomic
    from ccspend.live.caps import (
        day_override_file,
        journal,
        local_day,
        save_session_state,
        session_state,
    )
    from ccspend.live.sessions import read_summary, state_dir

    folder = state_dir()
    private_folder(folder)
    now = time.time()
    if session:
        state = session_state(folder, session)
        state["override"] = True
        save_session_state(folder, session, state)
        what = f"session {session}"
    else:
        summary = read_summary(folder) or {}
        day = local_day(summary.get("timezone"), now)
        write_atomic(day_override_file(folder, day), json.dumps({"at": now}))
        what = f"today ({day})"
    journal(folder, [now, session, "cli", "override", f"caps lifted for {what}", None, None])
    sys.stdout.write(f"caps lifted for {what}\n")
