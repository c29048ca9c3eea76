"""Finding text never marked for translation: run the bot in the pseudo-language (`core.i18n.PSEUDO`), where
every translated word is accented (`Ţĥéŕé àŕé…`), and look for plain ASCII words left in what it says.

    chat = await Chat.open(tmp_path)
    pseudo_chat(chat)                                  # every reply and room message in the pseudo-language
    [reply] = await chat.say("!subject list")
    assert untranslated(chat.last_html(), "cop") == []   # what is left: the data the test itself typed

What may stay in plain ASCII, besides the `allowed` strings a test passes (the titles and names it typed):
code (commands, slugs, usage: `<code>` in the HTML), links' URLs, Matrix IDs, IANA zone names, `UTC` and
its offsets, numbers, the languages' own names (`English` in `!lang`'s list reads the same in every
language). Anything else made of two or more ASCII letters is English the bot still writes.
"""

from __future__ import annotations

import html
import re
from typing import Any

from iscg_bot.core.i18n import LANGUAGES, PSEUDO

_CODE = re.compile(r"<code>.*?</code>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_URL = re.compile(r"(?:https?|webcal|mailto)://\S+|\bmailto:\S+")
_MATRIX_ID = re.compile(r"[@!#$+][^\s:]+:[A-Za-z0-9.\-]+(?::\d+)?")
_ZONE = re.compile(r"\b[A-Z][A-Za-z_+\-]+(?:/[A-Za-z0-9_+\-]+)+")
_UTC = re.compile(r"\bUTC(?:[+\-−]\d{1,2}(?::\d{2})?)?")
_ASCII_WORD = re.compile(r"(?<![^\W\d_])[A-Za-z]{2,}(?![^\W\d_])")  # a whole word of ASCII letters only


def pseudo_chat(chat: Any) -> None:
    """Make the chat driver's bot write everything in the pseudo-language (no one chose another)."""
    chat.dispatcher.languages.default = PSEUDO
    chat.dispatcher.languages.forget()


def untranslated(formatted: str, *allowed: str) -> list[str]:
    """The plain ASCII words in `formatted` (a message's HTML, or plain text) outside what may stay."""
    remaining = _CODE.sub(" ", formatted)
    remaining = html.unescape(_TAG.sub(" ", remaining))
    # URLs first: an allowed word inside a random token (a feed link's) must not split it into words.
    remaining = _URL.sub(" ", remaining)
    for value in sorted([*allowed, *LANGUAGES.values()], key=len, reverse=True):
        remaining = remaining.replace(value, " ")
    for pattern in (_MATRIX_ID, _ZONE, _UTC):
        remaining = pattern.sub(" ", remaining)
    return _ASCII_WORD.findall(remaining)
