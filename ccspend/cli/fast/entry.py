"""The console entry point: a cached answer if one is still right, else the full CLI.

Kept to the standard library so that a repeated report never pays for
importing DuckDB, typer or rich (see ``ccspend.reports.answer_cache``); a report that is
not cached still skips typer when its options are plain (``ccspend.cli.fast.reports``).
"""

import os
import sys


def main() -> None:
    from ccspend.core import timing

    timing.mark("start")
    args = sys.argv[1:]
    if args == ["statusline"]:  # every keystroke: never import the heavy CLI
        from ccspend.cli.fast.statusline import run

        sys.exit(run())
    if args == ["statusline", "--refresh"]:  # the status line's background refresh
        from ccspend.cli.fast.statusline import refresh_summary

        _exit(refresh_summary())
    if args == ["cap", "hook"]:  # every tool call of a capped session: stdlib only
        from ccspend.cli.fast.cap_hook import run as hook

        sys.exit(hook())
    # run and route have one parser, this one: their typer commands hand argv to it too,
    # and serve only --help (and completions).
    if args[:1] == ["route"]:  # answers in well under 150 ms
        from ccspend.cli.fast import route

        if not route.asks_help(args[1:]):
            sys.exit(route.main(args[1:]))
    if args[:1] == ["run"]:  # the agent waits for our start
        from ccspend.cli.fast import run

        if not run.asks_help(args[1:]):
            sys.exit(run.main(args[1:]))
    # SIGTERM ends a report or an ingest as Ctrl-C does: cleanup runs (the parse
    # workers, temporary files), one line, exit 143. (``run`` has handlers of its own.)
    import signal  # here, not at the top: the status line and the cap hook never need it

    signal.signal(signal.SIGTERM, _terminated)
    from ccspend.cli.fast import reports as report_run

    # A report the fast path can read is answered from the cache, or runs without
    # typer, whose option parsing alone costs a quarter of a second.
    opts = report_run.parse(args)
    if opts is not None:
        walked: dict = {}  # the cache check's walk of the logs, for the ingest on a miss
        try:
            if report_run.serve_options(opts, walked):
                timing.mark("cached")
                timing.flush()
                return
        except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
            walked = {}
        timing.mark("cache-miss")
        if report_run.supported(opts):
            # A short process that ends in _exit: the cyclic collector's passes over
            # everything the imports, the ingest and DuckDB create cost some 20 ms
            # of a cold run, and would free next to nothing.
            import gc

            gc.disable()
            _exit(report_run.main(opts, walked, exits=True))
    from ccspend.cli import main as cli_main

    cli_main()


def _terminated(signum, frame) -> None:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one line, whatever follows
    os.write(2, b"ccspend: terminated\n")
    from ccspend.core.errors import ExitCode

    raise SystemExit(int(ExitCode.TERMINATED))


def _exit(code: int) -> None:
    """End the process now, without the interpreter's teardown.

    After a cold report, freeing everything the ingest and DuckDB made takes
    some 25 ms, a fortieth of the run. Nothing is pending by then: the database
    is closed, temporary files are gone, the answer is cached. Output is
    flushed first; if that fails (a closed pipe or stream), the ordinary exit
    reports it.
    """
    from ccspend.core import timing

    timing.mark("exit")
    timing.flush()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # closed, or no stream at all (``>&-``)
        sys.exit(code)
    os._exit(code)

