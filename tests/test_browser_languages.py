"""The group page and a meeting page in Arabic and Chinese in a real browser (Playwright driving Debian's
Chromium, as tests/test_browser.py does) on the year of `tests.support.year_story`, seen on 10 Jan 2028:
the language and direction of the page, the layout mirrored right to left, nothing wider than a phone, the
accessibility checks of the English pages.

Screenshots, wide and at phone width, are saved in test-artifacts/ (ISCG_TEST_ARTIFACTS):
group-page-ar.png, group-page-ar-phone.png, meeting-ar.png, meeting-ar-phone.png, and the same with -zh.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from iscg_bot.web.server import WebServer
from tests.chat import Chat
from tests.support.browser import assert_accessible, async_api, browser, save, visit
from tests.support.web_app import chat_web_application
from tests.support.year_story import seed

__all__ = ["browser"]  # the module-scoped Chromium of tests.support.browser, launched again for this module

PHONE = {"width": 360, "height": 740}
WIDE = {"width": 1280, "height": 900}
PAGES = {"group-page": "/", "meeting": "/meetings/M3"}
LANGUAGES = {"ar": "rtl", "zh": "ltr"}
TAGS = {"ar": "ar", "zh": "zh-Hans"}  # the pages' lang attribute (BCP 47)
# Where two parts of the meeting's time ("14:00", "15:00") are drawn: their x on the screen.
RANGE_POSITIONS = """
([selector, first, second]) => {
  const node = document.querySelector(selector).firstChild;
  const range = document.createRange();
  const x = part => {
    const at = node.textContent.indexOf(part);
    range.setStart(node, at);
    range.setEnd(node, at + part.length);
    return range.getBoundingClientRect().x;
  };
  return [x(first), x(second)];
}
"""
assert async_api  # Playwright is there (tests.support.browser skips the module otherwise)


@pytest.fixture
async def site(chat: Chat) -> AsyncIterator[str]:
    """The web server on a free port over the seeded year (English by default); yields its base URL."""
    await seed(chat)
    server = WebServer(chat_web_application(chat, "http://127.0.0.1"), "127.0.0.1", 0)
    await server.start()
    try:
        yield server.base_url
    finally:
        await server.stop()


async def tab_in(browser: Any, language: str, viewport: dict[str, int]) -> Any:
    """A tab whose browser asks for `language` (Accept-Language), in Tokyo, recording script errors."""
    context = await browser.new_context(locale=language, timezone_id="Asia/Tokyo", viewport=viewport)
    tab = await context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("console", lambda message: message.type == "error" and tab.errors.append(message.text))
    return tab


async def box(tab: Any, selector: str) -> dict[str, float]:
    found = await tab.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_group_and_meeting_pages_in_arabic_and_chinese(site, browser, language):
    direction = LANGUAGES[language]
    tab = await tab_in(browser, language, WIDE)
    try:
        for name, path in PAGES.items():
            await visit(tab, site + path)  # no ?lang=: the browser's own Accept-Language chooses
            html = tab.locator("html")
            assert await html.get_attribute("lang") == TAGS[language], path
            assert await html.get_attribute("dir") == direction, path
            assert await tab.evaluate("getComputedStyle(document.body).direction") == direction, path
            # Mirrored: the title starts at the right edge in Arabic, at the left one in Chinese; the language
            # switcher sits at the other end of the banner.
            width = WIDE["width"]
            title, brand = await box(tab, "main h1"), await box(tab, "header .brand")
            switcher = await box(tab, "header nav.languages")
            if direction == "rtl":
                assert title["x"] + title["width"] > width - 0.2 * width, (path, title)
                assert brand["x"] > switcher["x"], (path, brand, switcher)
            else:
                assert title["x"] < 0.2 * width, (path, title)
                assert brand["x"] < switcher["x"], (path, brand, switcher)
            current = tab.locator("nav.languages a[aria-current]")
            assert await current.get_attribute("lang") == TAGS[language], path
            if language == "zh":  # a CJK font first in the stack (the system's own: none shipped)
                family = await tab.evaluate("getComputedStyle(document.body).fontFamily")
                assert "Noto Sans CJK SC" in family and family.index("CJK") < family.index("sans-serif")
            await save(tab, f"{name}-{language}.png")
        # A time range reads 14:00–15:00 from left to right in both (the bidirectional algorithm alone would
        # show 15:00–14:00 in Arabic).
        start, end = await tab.evaluate(
            RANGE_POSITIONS, ["section[aria-labelledby=when] time", "14:00", "15:00"]
        )
        assert start < end, (language, start, end)
        # The script wrote the viewer's time in the page's language, with digits 0-9 and the 24-hour clock:
        # 13:00 UTC is 22:00 in Tokyo.
        local = await tab.locator("[data-local-for]").inner_text()
        assert "22:00" in local, local
        script = "[\\u0600-\\u06ff]" if language == "ar" else "[\\u4e00-\\u9fff]"
        assert await tab.evaluate(f"/{script}/.test({local!r})"), local
        start, end = await tab.evaluate(RANGE_POSITIONS, ["[data-local-for]", "22:00", "23:00"])
        assert start < end, (language, start, end)
        assert tab.errors == []
    finally:
        await tab.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_they_fit_a_phone_and_keep_their_accessibility(site, browser, language):
    tab = await tab_in(browser, language, PHONE)
    try:
        for name, path in PAGES.items():
            await visit(tab, site + f"{path}?lang={language}")  # the shared link this time
            overflow = await tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} in {language} is {overflow}px wider than a phone"
            # Nothing pushed out on the start side either (in RTL that side cannot be scrolled to); a wide
            # table scrolls inside its own box (.table-wrap), as in English.
            outside = await tab.evaluate(
                """[...document.querySelectorAll('main *, header *')].filter(e => {
                     const r = e.getBoundingClientRect();
                     if (e.closest('.table-wrap, figure.chart') || !e.checkVisibility()) return false;
                     return r.width > 0 && (r.left < -1 || r.right > innerWidth + 1);
                   }).map(e => e.tagName + '.' + e.className).slice(0, 5)"""
            )
            assert outside == [], (path, outside)
            assert await tab.locator("html").get_attribute("lang") == TAGS[language]
            await assert_accessible(tab, path)
            await save(tab, f"{name}-{language}-phone.png")
        assert tab.errors == []
    finally:
        await tab.context.close()
