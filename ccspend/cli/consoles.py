"""The consoles of human output, and the ingest's progress bar: rich, imported only
when a command draws something (a JSON report never imports it).

stdout is data (tables), stderr is talk (progress, warnings).
"""

from __future__ import annotations

import os
import sys


def stdout_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def progress_callback():
    """A rich progress bar on stderr, shown only on a terminal and after one second."""
    import time

    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    start = time.monotonic()
    try:
        delay = float(os.environ.get("CCSPEND_PROGRESS_AFTER", "1"))
    except ValueError:
        delay = 1.0
    state: dict = {}

    def update(done: int, total: int, files_done: int, files_total: int) -> None:
        if "bar" not in state:
            if time.monotonic() - start < delay:
                return
            bar = Progress(
                TextColumn("reading logs"),
                BarColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[files]}"),
                console=stderr_console(),
                transient=True,
            )
            bar.start()
            state["bar"] = bar
            state["task"] = bar.add_task("ingest", total=total, files="")
        state["bar"].update(
            state["task"], completed=done, files=f"{files_done}/{files_total} files"
        )

    def close() -> None:
        if "bar" in state:
            state["bar"].stop()

    return update, close


def prose_console():
    """stdout for sentences: a line stays one line however wide the terminal."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)
