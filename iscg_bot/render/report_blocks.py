"""The blocks a report is written from (`iscg_bot.render.report_render.blocks`), and every writer reads.

Their own module so the Word writer (`iscg_bot.render.report_render_docx`) reads them without importing the
module that loads it on demand (`report_render.render_docx`).
"""

from __future__ import annotations

from typing import NamedTuple

from iscg_bot.core.markup import Piece
from iscg_bot.render.chart import ChartData

Cell = tuple[Piece, ...]


class Block(NamedTuple):
    """One block of the report, in the order shown. Pieces hold raw user text: each writer escapes it."""

    kind: str  # "h" | "p" | "ul" | "table" | "chart"
    pieces: Cell = ()  # for "h" and "p"
    items: tuple[Cell, ...] = ()  # for "ul"
    level: int = 0  # for "h": 1 the report's title, 2 a subject or a section, 3 a part of a subject
    header: tuple[str, ...] = ()  # for "table": the column names (fixed words)
    rows: tuple[tuple[Cell, ...], ...] = ()  # for "table": the first cell names the row
    caption: str = ""  # for "table" and "chart"
    css: str = ""  # a class for the HTML element
    front: bool = False  # on the Word title page
    chart: ChartData | None = None  # for "chart": what iscg_bot.render.chart draws
