"""Reading a web page as its reader does: its text, tags dropped, whitespace collapsed."""

from __future__ import annotations

import re
from html.parser import HTMLParser


def text_of(page: str) -> str:
    """What a reader sees: the page's text, tags dropped, whitespace collapsed."""

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.feed(page)
    return re.sub(r"\s+", " ", " ".join(parser.parts))
