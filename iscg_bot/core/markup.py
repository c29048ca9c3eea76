"""Inline content escaped for Markdown and for HTML: what the minutes and the reports both write with.

A `Piece` is a run of inline content (text, strong, em, a checked link, a time); `pieces_md` and
`pieces_html` write a run of pieces, escaping every text for its format: in HTML it can never become a tag or
an attribute, in Markdown never a heading, list, link, emphasis or raw HTML. Only http(s) URLs become links.

Newlines in Markdown: a newline inside user text becomes a hard line break (two trailing spaces) and the next
line is indented under its block, so a list item stays one item; blank lines inside a text are dropped. In
HTML a newline is a <br>.
"""

from __future__ import annotations

import html
import re
import string
from typing import NamedTuple
from urllib.parse import quote, urlsplit


def one_line(text: str) -> str:
    """Names and headings stay on one line, whatever a display name contains."""
    return " ".join(text.split())


class Piece(NamedTuple):
    """A run of inline content. `text` is always escaped by the writer, whoever wrote it."""

    kind: str  # "text" | "strong" | "em" | "link" (url already checked) | "time" (url holds the ISO instant)
    text: str
    url: str = ""


def pieces_of(template: str, **values: Piece) -> tuple[Piece, ...]:
    """A (translated) `template` as pieces: its own words as text, each `{name}` the piece given (a link, a
    name in bold…): a sentence translated whole, its parts filled in after."""
    out: list[Piece] = []
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        if literal:
            out.append(Piece("text", literal))
        if field is not None:
            out.append(values[field])
    return tuple(out)


def link_piece(url: str, text: str) -> Piece:
    if web_url(url):
        return Piece("link", text or url, url)
    return Piece(
        "text", f"{text} ({url})" if text and text != url else url
    )  # javascript:, data:, … stay text


# Always escaped. `. ) - + = :` only matter at the start of a line, `(` and `!` only next to a `[` or `]`,
# which is always escaped: escaped everywhere they would fill the raw file (which people read as is) with
# backslashes, so only line starts get them.
_MD_ESCAPES = {ord(c): "\\" + c for c in "\\`*_[]#|~{}"} | {ord("<"): "&lt;", ord(">"): "&gt;"}
_MD_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")  # "&lt;" typed by a user must stay "&lt;", not become "<"
_MD_LINE_START = re.compile(r"^(\d+(?=[.)])|(?=[-+=:]))")  # a backslash goes after group 1


def pieces_md(pieces: tuple[Piece, ...], indent: str) -> str:
    out = []
    for piece in pieces:
        if piece.kind == "strong":
            out.append(f"**{md_text(piece.text, indent)}**")
        elif piece.kind == "em":
            out.append(f"*{md_text(piece.text, indent)}*")
        elif piece.kind == "link":
            out.append(f"[{md_text(piece.text, indent)}]({md_url(piece.url)})")
        else:
            out.append(md_text(piece.text, indent))
    return "".join(out)


def md_text(text: str, indent: str) -> str:
    """Escaped text; continuation lines become hard breaks indented to stay inside the current block."""
    first, *rest = clean(text).split("\n")
    rest = [line.lstrip() for line in rest if line.strip()]  # realigned under the item; blank lines dropped
    return ("  \n" + indent).join(md_line(line) for line in [first, *rest])


def md_line(line: str) -> str:
    line = _MD_ENTITY.sub("&amp;", line).translate(_MD_ESCAPES)
    # A leading "1." / "1)" / "-" / "+" / "=" / ":" could start a list, a setext underline or a definition.
    return _MD_LINE_START.sub(r"\1\\", line, count=1)


def md_url(url: str) -> str:
    # Percent-encode whatever could end the destination or be read as Markdown: spaces, ( ) < > \ and quotes.
    return quote(url, safe="/:?#[]@!$&'*+,;=%-._~")


def pieces_html(pieces: tuple[Piece, ...]) -> str:
    out = []
    for piece in pieces:
        text = html_text(piece.text)
        if piece.kind == "strong":
            out.append(f"<strong>{text}</strong>")
        elif piece.kind == "em":
            out.append(f"<em>{text}</em>")
        elif piece.kind == "link":
            out.append(f'<a href="{html.escape(piece.url, quote=True)}" rel="nofollow noopener">{text}</a>')
        elif piece.kind == "time":
            out.append(f'<time datetime="{html.escape(piece.url, quote=True)}">{text}</time>')
        else:
            out.append(text)
    return "".join(out)


def html_text(text: str) -> str:
    return html.escape(clean(text), quote=True).replace("\n", "<br>")


# Control characters, and what XML 1.0 cannot hold at all (lone surrogates, U+FFFE, U+FFFF).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """One kind of line break (splitlines knows them all: CR LF, CR, U+2028, …) and no control characters."""
    return _CONTROL.sub("", "\n".join(text.splitlines()))


def web_url(url: str) -> bool:
    """Only plain http(s) URLs become links; whitespace or controls anywhere could hide another scheme."""
    if not url or any(c <= " " or c == "\x7f" for c in url):
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
