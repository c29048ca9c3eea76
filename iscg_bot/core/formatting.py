"""Messages built once, rendered twice: a plain `body` and an HTML `formatted_body`.

Everything user-written goes through `text()` and is escaped in the HTML form, so no input can inject markup.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from iscg_bot.core.language import PSEUDO, accented, babel_locale, current


@dataclass(frozen=True)
class Rich:
    plain: str
    html: str
    mentions: tuple[str, ...] = ()

    def __add__(self, other: Rich | str) -> Rich:
        other = as_rich(other)
        return Rich(self.plain + other.plain, self.html + other.html, _merge(self.mentions, other.mentions))

    def __radd__(self, other: str) -> Rich:
        return as_rich(other) + self


def _merge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a + b))


def as_rich(value: Rich | str) -> Rich:
    return value if isinstance(value, Rich) else text(value)


def text(value: str) -> Rich:
    """Plain user or bot text; newlines become <br> in HTML."""
    return Rich(value, _html.escape(value).replace("\n", "<br>"))


def bold(value: Rich | str) -> Rich:
    inner = as_rich(value)
    return Rich(inner.plain, f"<strong>{inner.html}</strong>", inner.mentions)


def italic(value: Rich | str) -> Rich:
    inner = as_rich(value)
    return Rich(inner.plain, f"<em>{inner.html}</em>", inner.mentions)


def code(value: str) -> Rich:
    return Rich(value, f"<code>{_html.escape(value)}</code>")


def link(url: str, label: str | None = None) -> Rich:
    shown = label or url
    plain = url if label is None else f"{label} ({url})"
    return Rich(plain, f'<a href="{_html.escape(url, quote=True)}">{_html.escape(shown)}</a>')


def mention(user_id: str, display_name: str | None = None) -> Rich:
    """A Matrix mention: a pill in HTML and the user in `m.mentions`."""
    name = display_name or user_id
    href = _html.escape(f"https://matrix.to/#/{user_id}", quote=True)
    return Rich(name, f'<a href="{href}">{_html.escape(name)}</a>', (user_id,))


def person(user_id: str, display_name: str | None = None) -> Rich:
    """Someone named in a listing: a link to them, but no mention, so showing a roster pings nobody."""
    name = display_name or user_id
    href = _html.escape(f"https://matrix.to/#/{user_id}", quote=True)
    plain = name if name == user_id else f"{name} ({user_id})"
    return Rich(plain, f'<a href="{href}">{_html.escape(name)}</a>')


def join(parts: Iterable[Rich | str], separator: Rich | str = "") -> Rich:
    result = Rich("", "")
    sep = as_rich(separator)
    for i, part in enumerate(parts):
        result = result + (sep if i else Rich("", "")) + as_rich(part)
    return result


def lines(parts: Iterable[Rich | str]) -> Rich:
    return join(parts, Rich("\n", "<br>"))


def bullets(parts: Iterable[Rich | str]) -> Rich:
    items = [as_rich(i) for i in parts]
    if not items:
        return Rich("", "")
    plain = "\n".join(f"• {i.plain}" for i in items)
    html_items = "".join(f"<li>{i.html}</li>" for i in items)
    mentions: tuple[str, ...] = ()
    for i in items:
        mentions = _merge(mentions, i.mentions)
    return Rich(plain, f"<ul>{html_items}</ul>", mentions)


def single_line(
    value: str,
    *,
    limit: int,
    empty: Callable[[], str],
    too_long: Callable[[int], str],
    error: type[Exception] = ValueError,
) -> str:
    """User text that must be one line: spaces and newlines collapsed, not empty, at most `limit` long.

    `empty()` and `too_long(limit)` are the refusals, each a whole message naming the text ("The meeting
    title cannot be empty."): a language agrees its words with the text's noun, which a "{what}" placeholder
    filled with the noun cannot do."""
    line = " ".join(value.split())
    if not line:
        raise error(empty())
    if len(line) > limit:
        raise error(too_long(limit))
    return line


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`1 meeting`, `3 meetings`, `2 key issues`: a count with its noun in the right number.

    English only: a translated text says `n_("{count} meeting", "{count} meetings", number)` instead."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


# Each language's quotation marks (iscg_bot/locale/GLOSSARY.md, "Style per language"); French puts a
# no-break space inside its guillemets. English (and the pseudo-language) keeps the straight quotes.
_QUOTES = {
    "fr": ("«\u00a0", "\u00a0»"),
    "ru": ("«", "»"),
    "ar": ("«", "»"),
    "es": ("\u201c", "\u201d"),
    "zh": ("\u201c", "\u201d"),
}


def quote(value: str, limit: int = 40) -> str:
    """User input shown inside a sentence: in the reader's quotation marks, one line, and short."""
    flat = "".join(c if c.isprintable() else " " for c in value)
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    opening, closing = _QUOTES.get(current(), ('"', '"'))
    return f"{opening}{flat}{closing}"


def or_list(items: Sequence[str]) -> str:
    """`a`, `a or b`, `a, b or c` — in the language being written (CLDR's "or" list beyond English)."""
    return listed(items, style="or").plain


def and_list(items: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c` — in the language being written (`a、b和c` in Chinese)."""
    return listed(items, style="and").plain


def enumeration(parts: Iterable[Rich | str]) -> Rich:
    """Items one after another with the language's separator and no "and" (`Coming: a, b, c`): `a、b、c` in
    Chinese, `a، b، c` in Arabic, `a, b, c` elsewhere. Rich items (mentions, links) keep their markup."""
    return listed(list(parts), style="enumeration")


# The comma of each script (GLOSSARY.md: the Arabic comma ، and the Chinese enumeration comma 、).
_ENUMERATION_SEPARATORS = {"ar": "، ", "zh": "、"}
_ENGLISH_LAST = {"or": " or ", "and": " and ", "enumeration": ", "}


def listed(parts: Sequence[Rich | str], *, style: str = "and") -> Rich:
    """`parts` as a list in a sentence in the language being written (CLDR's list patterns through Babel;
    English as it always read, no comma before "or"/"and"); `style` is "and", "or" or "enumeration" (the
    separator between middle items only). Markup and mentions in the parts are kept."""
    items = [as_rich(part) for part in parts]
    if len(items) <= 1:
        return items[0] if items else Rich("", "")
    locale = babel_locale(current())
    if locale is None:
        return join(items[:-1], ", ") + _ENGLISH_LAST[style] + items[-1]
    from babel.lists import format_list  # Babel is loaded only when another language is written

    if style == "enumeration":
        return join(items, _ENUMERATION_SEPARATORS.get(current(), ", "))
    # The items replaced by marks, so CLDR's words (accented in the pseudo-language) wrap Rich items.
    marks = [f"\x00{n}\x01" for n in range(len(items))]
    written = format_list(marks, style="or" if style == "or" else "standard", locale=locale)
    if current() == PSEUDO:
        written = accented(written)
    result = Rich("", "")
    for piece in re.split("(\x00\\d+\x01)", written):
        if piece.startswith("\x00"):
            result = result + items[int(piece[1:-1])]
        elif piece:
            result = result + piece
    return result
