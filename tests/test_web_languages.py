"""The group's pages in ITU's six languages (`iscg_bot.web.languages`): the reader's `?lang=`, else the
browser's Accept-Language, else the group's default; a switcher on every page; every text translated (the
pseudo-language run over every page). In-process, on the year of `tests.support.year_story` (10 Jan 2028)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from iscg_bot.core.i18n import LANGUAGES, PSEUDO, SOURCE
from iscg_bot.web.languages import accepted_language, page_language
from iscg_bot.web.site import SitePages
from tests.chat import Chat
from tests.support.pseudo import untranslated
from tests.support.site_text import text_of
from tests.support.web_app import chat_web_application
from tests.support.year_story import BASE, seed

Client = Callable[..., "AsyncIterator[TestClient]"]
PAGES = (
    "/",
    "/subjects/cop",
    "/subjects/ai",
    "/subjects/emf",
    "/subjects/old",
    *(f"/meetings/M{n}" for n in range(1, 7)),
    "/calendar",
    "/calendar?month=2027-02",
    "/calendar?week=2027-W07",
)


async def serve(chat: Chat, default_language: str = SOURCE) -> TestClient:
    site = SitePages(
        chat.database.sessions, chat.clock, BASE, "Europe/Zurich", default_language=default_language
    )
    client = TestClient(TestServer(chat_web_application(chat, BASE, pages=site)))
    await client.start_server()
    client.site = site  # type: ignore[attr-defined]
    return client


@pytest.fixture
async def client(chat: Chat) -> AsyncIterator[TestClient]:
    await seed(chat)
    client = await serve(chat, default_language="fr")
    try:
        yield client
    finally:
        await client.close()


async def html(client: TestClient, path: str, **headers: str) -> tuple[aiohttp.ClientResponse, str]:
    response = await client.get(path, headers=headers)
    body = await response.text()
    assert response.status == 200, (path, body)
    return response, body


def root(page: str) -> str:
    return re.search(r"<html[^>]*>", page).group(0)  # type: ignore[union-attr]


# ---- which language ------------------------------------------------------------------------------------


def test_the_browsers_preferences_are_read_by_q_value_among_the_six():
    assert accepted_language("fr-CA;q=0.8, ar") == "ar"
    assert accepted_language("de, es;q=0.5, en;q=0.4") == "es"  # German is not one of the six
    assert accepted_language("zh-Hans-CN, zh;q=0.9") == "zh"
    assert accepted_language("ru;q=0, en;q=0.1") == "en"  # q=0: "not Russian"
    assert accepted_language("en;q=0.5, fr;q=0.5") == "en"  # equal weights: the header's order
    assert accepted_language("*, de") is None
    assert accepted_language("fr;q=abc, garbage;;;, ") is None
    assert page_language("ar", "fr", "en", remembered="zh") == "ar"  # the shared link wins
    assert page_language(None, "fr", "en", remembered="zh") == "zh"  # then the last one chosen
    assert page_language("xx", "fr", "en", remembered="xx") == "fr"
    assert page_language("klingon", "es", "en") == "es"  # a mistyped link: the browser's choice
    assert page_language(None, None, "ru") == "ru"


async def test_a_page_follows_accept_language_and_says_so(client):
    response, page = await html(client, "/", **{"Accept-Language": "de-DE, ar;q=0.7, fr;q=0.5"})
    assert root(page) == '<html lang="ar" dir="rtl">'
    assert response.headers["Vary"] == "Accept-Language, Cookie"
    times = " ".join(re.findall(r"<time [^>]*>([^<]*)</time>", page))
    assert re.search("[\u0600-\u06ff]", times), times  # days and months by CLDR, in Arabic
    response, page = await html(client, "/subjects/cop", **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert root(page) == '<html lang="zh-Hans" dir="ltr">'
    assert response.headers["Vary"] == "Accept-Language, Cookie"
    assert "2028年1月14日" in text_of(page)  # M3's next occurrence, as CLDR writes a date in Chinese


async def test_a_lang_link_wins_over_the_browser_and_the_default_answers_the_rest(client):
    _unused, page = await html(client, "/calendar?month=2027-02&lang=es", **{"Accept-Language": "ru"})
    assert root(page) == '<html lang="es" dir="ltr">'
    assert "febrero de 2027" in text_of(page)  # CLDR's month name
    # The choice stays for the pages that follow (a cookie), until another is chosen.
    _unused, page = await html(client, "/subjects/cop", **{"Accept-Language": "ru"})
    assert root(page) == '<html lang="es" dir="ltr">'
    await html(client, "/?lang=ar")
    _unused, page = await html(client, "/calendar", **{"Accept-Language": "ru"})
    assert root(page) == '<html lang="ar" dir="rtl">'
    client.session.cookie_jar.clear()  # another reader, who never chose
    _unused, page = await html(client, "/calendar?month=2027-02", **{"Accept-Language": "de, ja"})
    assert root(page) == '<html lang="fr" dir="ltr">'  # none of the six: the group's default
    assert "février 2027" in text_of(page)
    _unused, page = await html(client, "/meetings/M3", **{"Accept-Language": "en-GB"})
    assert root(page) == '<html lang="en" dir="ltr">'
    assert "Fri 14 Jan 2028 14:00–15:00 Europe/Zurich (UTC+01:00)" in text_of(page)


async def test_dates_on_pages_are_written_by_locale_zone_and_offset_kept(client):
    _unused, page = await html(client, "/meetings/M3?lang=fr")
    assert "ven. 14 janv. 2028 14:00–15:00 Europe/Zurich (UTC+01:00)" in text_of(page)
    _unused, page = await html(client, "/meetings/M3?lang=ru")
    assert "Europe/Zurich (UTC+01:00)" in text_of(page) and "янв" in text_of(page)


async def test_right_to_left_pages_keep_time_ranges_left_to_right(client):
    _unused, page = await html(client, "/meetings/M3?lang=ar")
    assert "\u206614:00–15:00\u2069" in page and "\u206613:00–14:00\u2069 UTC" in page
    _unused, page = await html(client, "/subjects/cop?lang=ar")
    assert '<bdi title="@coord:example.org">' in page  # a name or ID keeps its own direction
    _unused, page = await html(client, "/meetings/M3?lang=zh")
    assert "\u2066" not in page


async def test_every_page_has_a_switcher_naming_each_language_in_itself(client):
    for path in PAGES:
        _unused, page = await html(client, path, **{"Accept-Language": "en"})
        switcher = re.search(r'<nav aria-label="Language" class="languages">(.*?)</nav>', page, re.S)
        assert switcher, path
        links = re.findall(r'<a href="\?([^"]*)" lang="([\w-]+)"[^>]*>([^<]*)</a>', switcher.group(1))
        assert [name for _query, _tag, name in links] == list(LANGUAGES.values()), path
        assert [query.rsplit("lang=", 1)[1] for query, _tag, _name in links] == list(LANGUAGES), path
        assert [tag for _query, tag, _name in links] == ["ar", "zh-Hans", "en", "fr", "ru", "es"], path
        assert 'aria-current="true">English</a>' in switcher.group(1), path
    _unused, page = await html(client, "/calendar?month=2027-02")
    assert '<a href="?month=2027-02&amp;lang=ar" lang="ar" hreflang="ar">العربية</a>' in page  # same month


async def test_kept_drawings_are_one_per_language_and_never_served_to_another(client):
    _unused, english = await html(client, "/charts/meetings.svg?lang=en")
    _unused, french = await html(client, "/charts/meetings.svg?lang=fr")
    assert set(client.site.charts.values) == {("meetings", "en"), ("meetings", "fr")}
    assert (await html(client, "/charts/meetings.svg?lang=en"))[1] == english
    first, second = await html(client, "/?lang=fr"), await html(client, "/?lang=en")
    assert root(first[1]) != root(second[1]) and 'lang="fr"' in root(first[1])
    assert french  # drawn in its own language (its words are the chart renderer's)


async def test_a_bad_calendar_query_is_answered_in_the_readers_language(client):
    response = await client.get("/calendar?month=2027-13&lang=" + PSEUDO)
    assert response.status == 400
    assert untranslated(await response.text(), "2027-13", "YYYY-MM", "2026-12") == []


# ---- every text translated ------------------------------------------------------------------------------


async def story_data(chat: Chat) -> list[str]:
    """What people typed and the pages show as typed: titles, descriptions, agenda items, action texts,
    display names (and the brand "ISCG", a name)."""
    from sqlalchemy import select

    from iscg_bot.storage.models import ActionItem, AgendaItem, Meeting, Person, Subject

    typed = ["ISCG"]
    async with chat.database.sessions() as session:
        for column in (
            Subject.slug,
            Subject.title,
            Subject.description,
            Meeting.title,
            AgendaItem.text,
            ActionItem.text,
            Person.display_name,
        ):
            typed += [value for value in (await session.scalars(select(column))).all() if value]
    return typed


async def test_the_pseudo_language_leaves_no_english_on_any_page(chat):
    await seed(chat)
    client = await serve(chat, default_language=PSEUDO)
    typed = await story_data(chat)
    left: dict[str, list[str]] = {}
    try:
        for path in PAGES:
            _unused, page = await html(client, path)
            assert root(page) == '<html lang="en-XA" dir="ltr">', path
            shown = minutes_removed(page)
            labels = " ".join(re.findall(r'(?:aria-label|alt|title)="([^"]*)"', shown))  # heard, not seen
            words = untranslated(text_of(shown) + " " + labels, *typed)
            if words:
                left[path] = sorted(set(words))
    finally:
        await client.close()
    assert left == {}


def minutes_removed(page: str) -> str:
    """The page without the minutes' own body: the minutes renderer's words, tested with the minutes (the
    meeting page's words around them stay: the status, "Earlier sessions"…)."""
    start = page.find('<div class="minutes">')
    if start == -1:
        return page
    end = page.rfind("</div>", start, page.index("</section>", start))  # nothing after it has a <div>
    return page[:start] + page[end:]
