"""Tables that fit the terminal: every table ccspend prints is laid out here.

Why one function: rich, given a table wider than the terminal, shrinks every
column and cuts or wraps what no longer fits, numbers included (``125,…``,
``$129.…``, a header one letter per line). A wrong number on screen is worse
than a missing column. So the width is decided before rich sees the table:

- each column's real width is measured (``rich.cells.cell_len``: a CJK
  character is two cells), header included;
- a number or a date is never shortened and never wrapped;
- a name (a model list, a session id, a path, a branch, a command) may
  shorten, to its column's ``min_width``, in the way that keeps it readable
  (``shorten_list``, ``shorten_end``, ``shorten_path``, ``shorten_middle``);
- if the table does not fit with every name at its narrowest, the steps of
  the table's ``ladder`` are taken in order: drop a column (the least useful
  first; each table states its order, and docs/reports.md lists them), and, as
  a last resort, ``COMPACT``: numbers switch to their compact forms (``1.2M``),
  which every number column given a ``compact`` list has;
- once it fits, the width left is handed back to the name columns, left to
  right, up to what they need.

``fit`` decides; ``fitted_table`` draws the table with those widths (``FittedTable``),
so that nothing is ever shrunk after the decision. Every width is a parameter: a
caller that wants a narrower layout than its terminal (``--compact``) passes a
smaller one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len, get_character_cell_size

from ccspend.core.text import inert

COMPACT = "<compact>"  # the ladder's step that switches numbers to their compact forms
GAP = 2  # cells between two columns (rich's padding of one on each side)
ELLIPSIS = "…"


@dataclass
class Col:
    """One column: its header, one cell per row, and how it may give way.

    ``cells`` are the row values as text (already formatted; data is made inert
    here). A column with ``shorten`` is a name column and may narrow to
    ``min_width``; one without never changes its cells. ``compact`` holds the
    cells' shorter forms for the ladder's ``COMPACT`` step.
    """

    header: str
    cells: list[str]
    justify: str = "left"
    shorten: Callable[[str, int], str] | None = None
    min_width: int = 0
    compact: list[str] | None = None
    style: str | None = None
    key: str = ""  # the name the ladder calls it by (default: its header)
    shown: list[str] = field(default_factory=list)  # the cells as drawn, set by ``fit``
    width: int = 0  # its width as drawn, set by ``fit``
    dropped: bool = False  # left out for want of room, set by ``fit``

    def __post_init__(self) -> None:
        self.key = self.key or self.header
        self.cells = [inert(c) for c in self.cells]

    def natural(self, compact: bool) -> int:
        """The width it needs to show every cell whole (measured once per form: ``fit``
        asks at every step of its ladder)."""
        cache = self.__dict__.setdefault("_natural", {})
        if compact not in cache:
            cells = self.compact if compact and self.compact is not None else self.cells
            cache[compact] = max([cell_len(self.header), *map(cell_len, cells)])
        return cache[compact]

    def narrowest(self, compact: bool) -> int:
        """The least width it can be drawn at: a name at its minimum, anything else whole."""
        full = self.natural(compact)
        if self.shorten is None:
            return full
        return min(full, max(self.min_width, cell_len(self.header)))


def fit(cols: Sequence[Col], width: int, ladder: Sequence[str] = ()) -> list[Col]:
    """The columns to draw at ``width`` cells, each with its ``width`` and ``shown`` cells.

    Takes the ladder's steps (a column's key: drop it; ``COMPACT``: compact
    numbers) until the narrowest layout fits, then widens the name columns,
    left to right, with what is left. If nothing fits (a terminal narrower
    than the key and the cost), the narrowest layout is drawn anyway.
    """
    dropped: set[str] = set()
    compact = False
    steps = list(ladder)
    while True:
        kept = [c for c in cols if c.key not in dropped]
        need = sum(c.narrowest(compact) for c in kept) + GAP * (len(kept) - 1)
        if need <= width or not steps:
            break
        step = steps.pop(0)
        if step == COMPACT:
            compact = True
        else:
            dropped.add(step)
    for c in cols:
        c.dropped = c.key in dropped
    for c in kept:
        c.width = c.narrowest(compact)
    spare, done = width - need, set()
    while True:
        _share([c for c in kept if id(c) not in done], spare, compact)
        spare = 0
        for c in kept:  # a list shortened by whole items may not use all it was given
            cells = c.compact if compact and c.compact is not None else c.cells
            c.shown = [_shorten(c, s) for s in cells]
            used = max([cell_len(c.header), *(cell_len(s) for s in c.shown)])
            if c.shorten is not None and used < c.width:
                spare += c.width - used
                c.width = used
                done.add(id(c))
        if not spare:
            return kept


def _share(cols: list[Col], spare: int, compact: bool) -> None:
    """Hand ``spare`` cells to the name columns one at a time, in turn, each up to
    what it needs: no name starves because another, left of it, is long."""
    hungry = [c for c in cols if c.shorten is not None and c.width < c.natural(compact)]
    while spare > 0 and hungry:
        for c in list(hungry):
            if spare == 0:
                break
            c.width += 1
            spare -= 1
            if c.width >= c.natural(compact):
                hungry.remove(c)


def _shorten(c: Col, text: str) -> str:
    if c.shorten is None or cell_len(text) <= c.width:
        return text
    out = c.shorten(text, c.width)
    return out if cell_len(out) <= c.width else shorten_end(out, c.width)


def fitted_table(
    cols: Sequence[Col],
    width: int,
    ladder: Sequence[str] = (),
    *,
    title: str | None = None,
    row_styles: Sequence[str | None] | None = None,
) -> FittedTable:
    """The table of ``cols`` laid out by ``fit`` for ``width`` cells, ready to print.

    ``row_styles`` styles whole rows (a total, a breakdown's sub-rows).
    """
    return FittedTable(fit(cols, width, ladder), title, row_styles)


class FittedTable:
    """A table whose widths ``fit`` decided, drawn line by line.

    Why not rich's ``Table``: with the widths known there is nothing left for it to
    decide, and it renders every cell through its whole wrapping machinery: 1,800
    session rows took over a second to draw, more than the report's query. This
    draws the same text rich's box-less, edge-less table does (a centred italic
    title, a bold header, cells padded to their column, two cells between columns),
    in one pass, a few milliseconds for the same rows.
    """

    def __init__(self, kept: list[Col], title: str | None,
                 row_styles: Sequence[str | None] | None) -> None:  # fmt: skip
        self.kept, self.title, self.row_styles = kept, title, row_styles

    def __rich_console__(self, console, options):
        from rich.segment import Segment
        from rich.style import Style

        kept = self.kept
        if not kept:
            return
        total = sum(c.width for c in kept) + GAP * (len(kept) - 1)
        new_line = Segment.line()
        if self.title:
            title = shorten_end(inert(self.title), total)
            excess = total - cell_len(title)
            yield Segment(" " * (excess // 2))
            yield Segment(title, console.get_style("table.title"))
            yield Segment(" " * (excess - excess // 2))
            yield new_line
        styles = [Style.parse(c.style) if c.style else None for c in kept]
        yield from self._line([c.header for c in kept], Style.parse("bold"), styles=None)
        yield new_line
        for i in range(len(kept[0].shown)):
            name = self.row_styles[i] if self.row_styles else None
            yield from self._line([c.shown[i] for c in kept],
                                  Style.parse(name) if name else None, styles)  # fmt: skip
            yield new_line

    def _line(self, texts: list[str], row_style, styles):
        """One row's segments: each cell padded to its column (the row's style over the
        padding too, as rich draws it; a column's own style on its text). Runs of one
        style are joined into one segment: a row is a few segments, not one per cell."""
        from rich.segment import Segment

        runs: list[list] = []  # [style, pieces]
        last = len(self.kept) - 1
        for j, (c, text) in enumerate(zip(self.kept, texts, strict=True)):
            text = shorten_end(text, c.width)
            pad = " " * (c.width - cell_len(text))
            style = row_style
            if styles is not None and styles[j] is not None:
                style = styles[j] if row_style is None else row_style + styles[j]
            pieces = ((pad, row_style), (text, style)) if c.justify == "right" else (
                (text, style), (pad, row_style))
            for piece, st in (*pieces, *(((" " * GAP, row_style),) if j < last else ())):
                if runs and runs[-1][0] == st:
                    runs[-1][1].append(piece)
                else:
                    runs.append([st, [piece]])
        for st, pieces in runs:
            yield Segment("".join(pieces), st)


# -- ways a name gives way ------------------------------------------------------------


def _head(text: str, cells: int) -> str:
    """The longest start of ``text`` that fits in ``cells``."""
    out, used = [], 0
    for ch in text:
        w = get_character_cell_size(ch)
        if used + w > cells:
            break
        out.append(ch)
        used += w
    return "".join(out)


def _tail(text: str, cells: int) -> str:
    """The longest end of ``text`` that fits in ``cells``."""
    return _head(text[::-1], cells)[::-1]


def shorten_end(text: str, width: int) -> str:
    """The start of ``text`` and an ellipsis: for ids, whose first characters tell them
    apart (a session id's first eight are what people quote)."""
    if cell_len(text) <= width:
        return text
    return _head(text, max(0, width - 1)) + ELLIPSIS if width > 0 else ""


def shorten_middle(text: str, width: int) -> str:
    """Both ends of ``text`` around an ellipsis: for names whose end matters as much as
    their start (a branch's ticket and topic, a model's version, a file's extension)."""
    if cell_len(text) <= width:
        return text
    if width < 3:
        return shorten_end(text, width)
    right = (width - 1) // 2
    return _head(text, width - 1 - right) + ELLIPSIS + _tail(text, right)


def shorten_path(text: str, width: int) -> str:
    """An ellipsis and the end of a path: its last folders are the ones that name it.
    Cut at a separator when that loses little, so that the end reads as folders."""
    if cell_len(text) <= width:
        return text
    tail = _tail(text, width - 1)
    whole_folder = text[len(text) - len(tail) - 1] == "/"
    cut = tail.find("/", 1)
    if not whole_folder and 0 < cut <= len(tail) // 3:
        tail = tail[cut:]
    return ELLIPSIS + tail


def shorten_list(text: str, width: int, sep: str = ", ") -> str:
    """The first items of a list and how many more: ``opus-4-7, sonnet-4-5 +2``."""
    if cell_len(text) <= width:
        return text
    items = text.split(sep)
    for k in range(len(items) - 1, 0, -1):
        out = sep.join(items[:k]) + f" +{len(items) - k}"
        if cell_len(out) <= width:
            return out
    more = f" +{len(items) - 1}" if len(items) > 1 else ""
    return shorten_middle(items[0], width - len(more)) + more

