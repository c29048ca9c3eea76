"""Which of ITU's six languages a text is being written in, and the translations of plain-text messages.

    with speaking("fr"):                        # whatever is written inside is in French
        _("There are no subjects yet.")         # a sentence: str
        _("{slug} is already archived.", slug=subject.slug)
        n_("{count} meeting", "{count} meetings", count)      # plural forms, as the language has them

Rich text (`tr`, `ntr`: markup in the placeholders only) is `iscg_bot.core.i18n`'s, which re-exports all
of this: code imports from there. This module imports nothing of the bot, so the formatting helpers below
it (`core.formatting`, `core.timeshow`) can ask it which language they write in.

The messages are marked in the code with these functions and in the templates with `_`; Babel extracts them
(`make translations`: the catalog `iscg_bot/locale/iscg_bot.pot`, one `.po` per language beside it,
compiled to `.mo`, which is what is read here). English is the source: its text is the message itself.

`PSEUDO` is a language of its own for the tests: every message turned into accented, lengthened text
(`[Ťĥéŕé àŕé ñö šũƀĵéčţš ŷéţ. ~~~~]`), placeholders kept. Run anything under it: a plain English word left in
the output is a text that was never marked for translation.

The language is a context variable: set by whoever knows the reader (the dispatcher: the sender's choice,
else the room's subject's, else the group's default) for the task that writes the text."""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

# Code → the language's own name (what `!lang` lists and the web pages' switcher shows), in ITU's order.
LANGUAGES: Mapping[str, str] = {
    "ar": "العربية",
    "zh": "中文",
    "en": "English",
    "fr": "Français",
    "ru": "Русский",
    "es": "Español",
}
SOURCE = "en"  # the language the messages are written in
ENGLISH_NAMES = {
    "ar": "Arabic",
    "zh": "Chinese",
    "en": "English",
    "fr": "French",
    "ru": "Russian",
    "es": "Spanish",
}
RIGHT_TO_LEFT = frozenset({"ar"})
PSEUDO = "qps"  # the tests' pseudo-language (ISO 639 reserves qaa–qtz for local use)
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "iscg_bot"

_language: ContextVar[str] = ContextVar("iscg_language", default=SOURCE)


class UnknownLanguage(ValueError):
    """Not one of `LANGUAGES`."""


def language_code(value: str) -> str:
    """The language `value` names ("fr", "FR", "fr-CA", "fr_FR" → "fr"); `UnknownLanguage` otherwise."""
    code = value.strip().replace("_", "-").split("-", 1)[0].lower()
    if code not in LANGUAGES:
        raise UnknownLanguage(value)
    return code


def language_name(code: str) -> str:
    """The language's name as the current language writes it in a sentence: "Spanish" in English,
    "espagnol" in French, "español" in Spanish (CLDR's names; `LANGUAGES` has each one's own, for lists)."""
    if code == PSEUDO:
        return pseudo("Pseudo")
    locale = babel_locale()
    if locale is None:
        return ENGLISH_NAMES[code]
    from babel import Locale  # Babel is loaded only when another language is written

    name = Locale.parse(code).get_display_name(locale) or ENGLISH_NAMES[code]  # "zh": not "(Simplified)"
    return accented(name) if current() == PSEUDO else name


def current() -> str:
    """The language being written in."""
    return _language.get()


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Write in `language` (None: as before) inside the block."""
    if language is None:
        yield current()
        return
    token = _language.set(language)
    try:
        yield language
    finally:
        _language.reset(token)


def babel_locale(language: str | None = None) -> str | None:
    """The Babel (CLDR) locale for dates, lists and names in `language` (default: the current one); None for
    English, which the bot writes with its own fixed patterns (the same as CLDR's, tested), so Babel is
    never loaded for it. The pseudo-language uses English data; Chinese is Simplified ("zh_Hans")."""
    code = language or current()
    if code == SOURCE:
        return None
    return {PSEUDO: "en", "zh": "zh_Hans"}.get(code, code)


def html_language(language: str | None = None) -> str:
    """The BCP 47 tag of a page or document written in `language` (default: the current one): Chinese is
    written in Simplified script ("zh-Hans"); the pseudo-language is BCP 47's pseudo-locale ("en-XA")."""
    code = language or current()
    return {"zh": "zh-Hans", PSEUDO: "en-XA"}.get(code, code)


def is_right_to_left(language: str | None = None) -> bool:
    return (language or current()) in RIGHT_TO_LEFT


# ---- messages --------------------------------------------------------------------------------------------


def _(message: str, /, **values: object) -> str:
    """`message` in the current language, its `{placeholders}` filled with `values` (str() of each)."""
    translated = _catalog(current()).gettext(message)
    return translated.format(**values) if values else translated


def n_(singular: str, plural: str, number: int, /, **values: object) -> str:
    """The plural form for `number` in the current language; `{count}` is `number`, with digit grouping."""
    translated = _catalog(current()).ngettext(singular, plural, number)
    return translated.format(count=count_text(number), **values)


def count_text(number: int) -> str:
    """`number` as the current language groups its digits: "12,345", "12 345" (French), "12.345" (Spanish)."""
    locale = babel_locale()
    if locale is None:
        return f"{number:,}"
    from babel.numbers import format_decimal  # Babel is loaded only when another language is written

    return format_decimal(number, locale=locale)


def lazy(message: str) -> str:
    """Marks `message` for extraction where it cannot be translated yet (a module-level table); translate it
    with `_()` where it is shown."""
    return message


# ---- catalogs --------------------------------------------------------------------------------------------


@cache
def _catalog(language: str) -> _gettext.NullTranslations:
    if language == PSEUDO:
        return _PseudoTranslations()
    if language == SOURCE:
        return _gettext.NullTranslations()
    try:
        with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as compiled:
            return _gettext.GNUTranslations(compiled)
    except FileNotFoundError:
        return _gettext.NullTranslations()  # a language not compiled yet (CI's completeness test says so)


_PLACEHOLDER = re.compile(r"(\{[^{}]*\}|\{\{|\}\})")
_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀčđéƒĝĥíĵķĺɱñöþǫŕšţũṽŵẋŷžÀƁČĐÉƑĜĤÍĴĶĹṀÑÖÞǪŔŠŢŨṼŴẊŶŽ",
)


def accented(value: str) -> str:
    """`value`'s ASCII letters accented ("Thu" → "Ţĥũ"): data written in the pseudo-language without being
    a message (CLDR's English day and month names), still told apart from text never localized."""
    return value.translate(_ACCENTED)


def pseudo(message: str) -> str:
    """`message` accented and lengthened by a third, its placeholders kept: "[Ťĥé {slug} ~~~]"."""
    parts = _PLACEHOLDER.split(message)
    accented = "".join(part if _PLACEHOLDER.fullmatch(part) else part.translate(_ACCENTED) for part in parts)
    return f"[{accented} {'~' * max(1, len(message) // 3)}]"


class _PseudoTranslations(_gettext.NullTranslations):
    def gettext(self, message: str) -> str:
        return pseudo(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return pseudo(singular if n == 1 else plural)
