"""The consoles of human output, and the ingest's progress bar: rich, imported only
when a command draws something (a JSON report never imports it).

stdout is data (tables), stderr is talk (progress, warnings).

Every console here is an ``InertConsole``: what it prints quotes logs (model ids,
folders, branches), which are data, never markup or terminal control sequences.
It reads no rich markup or emoji codes from a string, shows a string's control
characters escaped (``core.text.inert``) before it is measured, and, as a last
guard, escapes any left in the text it writes (a ``Text`` built from raw data);
only rich's own styling and cursor controls reach the terminal.
"""

from __future__ import annotations

import os
import sys

_CLASS: list = []


def inert_console(**kwargs):
    """A rich ``Console`` that prints data inert (see the module's docstring)."""
    if not _CLASS:
        _CLASS.append(_make_class())
    kwargs.setdefault("markup", False)
    kwargs.setdefault("emoji", False)
    kwargs.setdefault("highlight", False)
    return _CLASS[0](**kwargs)


def _make_class():
    from rich.console import Console
    from rich.segment import Segment

    from ccspend.core.text import inert_lines

    class InertConsole(Console):
        def render_str(self, text: str, **kwargs):
            return super().render_str(inert_lines(text), **kwargs)

        def render(self, renderable, options=None):
            for seg in super().render(renderable, options):
                if seg.control or not seg.text:
                    yield seg
                else:
                    text = inert_lines(seg.text)
                    yield seg if text is seg.text else Segment(text, seg.style, seg.control)

    return InertConsole


COMPACT_WIDTH = 80  # ``--compact``: ccusage's "better for screenshots"


def colour_options(colour: bool | None = None) -> dict:
    """rich's options for ``--color`` (True: styled even when piped, NO_COLOR or not),
    ``--no-color`` (False) or neither (None: a terminal gets colour); with False or
    NO_COLOR set, no escape code at all, bold and dim included (rich's own NO_COLOR
    handling keeps those)."""
    if colour:
        return {"force_terminal": True, "no_color": False}
    if colour is False or os.environ.get("NO_COLOR"):
        return {"color_system": None}
    return {}


def stdout_console():
    """stdout for what is not a fitted table (a live view, a route's answer); tables and
    charts take ``table_console``, whose width and ``--compact`` are the layout's."""
    return inert_console(soft_wrap=False, **colour_options())


def stderr_console(colour: bool | None = None):
    return inert_console(stderr=True, soft_wrap=True, **colour_options(colour))


def terminal_width() -> int:
    """The width tables are laid out for: ``COLUMNS`` when set (as rich reads it), else
    the terminal's of stdout, stderr or stdin (``ccspend session | less`` is drawn for the
    terminal), else 80.

    One function, so that the answer cache keys on the width the table was drawn for
    (``cli.fast.reports.terminal``), whatever decided it. Standard library only: the
    cache's warm path calls it.
    """
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    for fd in (1, 2, 0):
        try:
            width = os.get_terminal_size(fd).columns
        except (OSError, ValueError):
            continue
        if width > 0:
            return width
    return 80


def table_console(width: int | None = None, colour: bool | None = None,
                  compact: bool = False):
    """stdout for tables, of ``width`` cells (default: ``terminal_width()``), whatever the
    terminal (rich alone takes a dumb terminal for 80 columns); ``compact``: at most 80
    (``--compact``); ``colour`` as ``colour_options`` takes it."""
    width = width or terminal_width()
    if compact:
        width = min(width, COMPACT_WIDTH)
    return inert_console(soft_wrap=False, width=width, height=25, **colour_options(colour))


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
    return inert_console(soft_wrap=True)
