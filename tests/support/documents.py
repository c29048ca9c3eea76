"""Reading the files the bot hands out as a reader would: the text of a Word document."""

from __future__ import annotations

import io

import docx


def docx_text(data: bytes) -> str:
    """The paragraphs' text, then every table cell's, one per line."""
    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)
