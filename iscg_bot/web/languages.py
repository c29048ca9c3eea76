"""Which language a web page is written in: the reader's `?lang=fr` (a link that can be shared, and the
language switcher's) wins, else the choice it left in a cookie (so that the next page stays in it), else the
first of ITU's six languages the browser's `Accept-Language` asks for (by q-value), else the group's default
(`bot.default_language`).

    page_language("ar", "fr;q=0.8, en", "en")   → "ar"
    page_language(None, "de, es;q=0.5", "en")    → "es"
    page_language(None, None, "fr")              → "fr"

`language_middleware` writes every response inside `speaking(that language)` and marks the pages and the
chart `Vary: Accept-Language, Cookie`, so that a cache between us and the reader keeps one copy per
language.

Below that, what a page writes differently in each language (`web.site` hands them to the templates): the
templates' `_()` (Markup-safe), the page's `lang`, the switcher's links, CLDR's month and day names and list
separator, time ranges kept left to right inside right-to-left text.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Middleware
from markupsafe import Markup, escape

from iscg_bot.core.i18n import (
    LANGUAGES,
    PSEUDO,
    UnknownLanguage,
    _,
    accented,
    babel_locale,
    current,
    html_language,
    is_right_to_left,
    language_code,
    speaking,
)
from iscg_bot.core.timeshow import MONTHS, WEEKDAYS

if TYPE_CHECKING:
    from datetime import date

LANG_PARAMETER = "lang"
LANG_COOKIE = "lang"  # the language last chosen with ?lang=: the pages after it keep it
COOKIE_SECONDS = 365 * 24 * 3600
# What is written in the reader's language and may be cached: the pages and the chart (the feeds, the static
# files and /metrics are the same for everyone).
LOCALIZED_TYPES = frozenset({"text/html", "image/svg+xml"})


def page_language(
    chosen: str | None, accept_language: str | None, default: str, *, remembered: str | None = None
) -> str:
    """The language of a page: `chosen` (the `?lang=` value) if it names one of the six (or the tests'
    pseudo-language), else `remembered` (the cookie) if it does, else the best of `accept_language`, else
    `default`."""
    return (
        chosen_language(chosen)
        or chosen_language(remembered)
        or accepted_language(accept_language or "")
        or default
    )


def chosen_language(value: str | None) -> str | None:
    """The language `value` names, or None (none given, or mistyped: the page is still shown)."""
    if value is None:
        return None
    if value == PSEUDO:
        return PSEUDO
    try:
        return language_code(value)
    except UnknownLanguage:
        return None


def accepted_language(header: str) -> str | None:
    """The language of the six that `header` (an `Accept-Language` value) prefers: highest q-value first,
    the header's own order among equals; "fr-CA" counts as "fr", q=0 means "not this one", "*" is ignored
    (the group's default answers it)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _sep, parameters = item.strip().partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _eq, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # a malformed weight: ignore the tag rather than guess
        try:
            code = language_code(tag) if tag.strip() not in ("", "*") else None
        except UnknownLanguage:
            code = None
        if code is not None and quality > 0:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else None


def language_middleware(default: str) -> Middleware:
    """A middleware writing each response in the request's language (see `page_language`)."""

    @web.middleware
    async def in_the_readers_language(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        chosen = chosen_language(request.query.get(LANG_PARAMETER))
        remembered = request.cookies.get(LANG_COOKIE)
        language = page_language(
            chosen, request.headers.get("Accept-Language"), default, remembered=remembered
        )
        with speaking(language):
            response = await handler(request)
        if response.content_type in LOCALIZED_TYPES:
            response.headers.add("Vary", "Accept-Language, Cookie")
            if chosen is not None and chosen != remembered:
                response.set_cookie(
                    LANG_COOKIE, chosen, max_age=COOKIE_SECONDS, path="/", samesite="Lax", httponly=True
                )
        return response

    return in_the_readers_language


# ---- what a page writes differently in each language ---------------------------------------------------


def month_abbreviation(day: date) -> str:
    """`Dec`; `déc.` in French (a column heading of the figures' table)."""
    locale = babel_locale()
    if locale is None:
        return MONTHS[day.month - 1]
    from babel.dates import get_month_names

    return cldr_data(get_month_names("abbreviated", locale=locale)[day.month])


def weekday_names() -> tuple[str, ...]:
    """`Mon` … `Sun`, as the current language abbreviates them (the calendar's column headings)."""
    locale = babel_locale()
    if locale is None:
        return WEEKDAYS
    from babel.dates import get_day_names

    names = get_day_names("abbreviated", locale=locale)  # 0 is Monday, as date.weekday()
    return tuple(cldr_data(names[n]) for n in range(7))


def cldr_data(value: str) -> str:
    """CLDR's names as they are, accented in the pseudo-language (data localized, not a missed message)."""
    return accented(value) if current() == PSEUDO else value


_TIME_RANGE = re.compile(r"\d{2}:\d{2}(?::\d{2})?–\d{2}:\d{2}(?::\d{2})?")


def left_to_right_ranges(shown: str) -> str:
    """In a right-to-left page, each `14:00–15:00` isolated as left-to-right text (U+2066 … U+2069): the
    bidirectional algorithm would otherwise show it as `15:00–14:00`."""
    if not is_right_to_left():
        return shown
    return _TIME_RANGE.sub(lambda found: f"\u2066{found.group(0)}\u2069", shown)


def list_separator() -> str:
    """What goes between two names of a list: ", "; "، " in Arabic, "、" in Chinese (CLDR's list patterns)."""
    locale = babel_locale()
    if locale is None:
        return ", "
    from babel import Locale

    middle = Locale.parse(locale).list_patterns["standard"]["middle"]  # "{0}, {1}"
    return str(middle).replace("{0}", "").replace("{1}", "")


def page_message(message: str, /, **values: object) -> Markup:
    """A template's `_("…", name=value)`: the message translated and escaped, then filled; a value that is
    markup (a link the template built) stays markup, anything else is escaped."""
    translated = escape(_(message))
    return translated.format(**values) if values else translated


def switcher_links(language: str, query: dict[str, str]) -> list[dict[str, Any]]:
    """The language switcher's links: each of the six named in itself, to this page (its own parameters
    kept) with `?lang=`."""
    return [
        {
            "code": html_language(code),
            "name": name,
            "href": "?" + urlencode({**query, "lang": code}),
            "current": code == language,
        }
        for code, name in LANGUAGES.items()
    ]
