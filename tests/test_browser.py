"""The group's pages in a real browser: Playwright driving Debian's Chromium (never a downloaded one) against
the web server started here on the year of `tests.support.year_story`, seen on 10 Jan 2028.

Screenshots of / and /calendar (wide and phone-width) are saved in test-artifacts/ (ISCG_TEST_ARTIFACTS).
Without Chromium or Playwright the module is skipped, saying which is missing; `make test` installs both where
it can (the Debian package `chromium`, the PyPI package `playwright`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from iscg_bot.web.feed_cache import FeedCache
from iscg_bot.web.server import WebServer
from iscg_bot.web.site import SitePages
from tests.chat import ADMIN, COORD, Chat, said
from tests.support.browser import assert_accessible, browser, save, visit  # noqa: F401
from tests.support.web_app import chat_web_application
from tests.support.year_story import AI, seed

XSS = "<img src=x onerror=alert(1)>"
PHONE = {"width": 375, "height": 740}


@pytest.fixture
async def site(chat: Chat) -> AsyncIterator[str]:
    """The web server on a free port over the seeded year; yields its base URL."""
    await seed(chat)
    await said(chat, f'!meeting schedule "{XSS}" 2028-01-20 10:00 UTC', by=COORD)  # M7
    await said(chat, f"!meeting agenda M6 add {XSS}", by=ADMIN, room=AI)
    pages = SitePages(chat.database.sessions, chat.clock, "http://127.0.0.1", "Europe/Zurich")
    feeds = FeedCache(chat.database.sessions, chat.clock, "http://127.0.0.1")
    app = chat_web_application(chat, "http://127.0.0.1", feeds=feeds, pages=pages)
    server = WebServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        yield server.base_url
    finally:
        await server.stop()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:  # noqa: F811
    """A tab in Tokyo (the viewer's zone differs from the meetings'), recording dialogs and script errors."""
    context = await browser.new_context(locale="en-GB", timezone_id="Asia/Tokyo")
    tab = await context.new_page()
    tab.dialogs, tab.errors = [], []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("console", lambda message: message.type == "error" and tab.errors.append(message.text))
    try:
        yield tab
    finally:
        await context.close()


async def test_the_group_page_shows_subjects_chart_and_subscribe_button(site, page):
    await visit(page, site + "/")
    assert await page.get_by_role("heading", level=1).inner_text() == "Inter-Sector Coordination Group (ISCG)"
    table = page.get_by_role("table", name="Subjects of mutual interest")
    rows = await table.get_by_role("row").all_inner_texts()
    assert any("Child Online Protection" in r and "Monthly coordination" in r for r in rows)
    assert any("EMF exposure" in r and "none planned" in r for r in rows)
    subscribe = page.get_by_role("link", name="Subscribe to every meeting of the group")
    assert await subscribe.get_attribute("href") == "webcal://127.0.0.1/calendar/iscg.ics"
    chart = page.get_by_role("img", name="A heatmap of 5 meetings")
    assert await chart.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG loaded and drew
    await save(page, "group-page.png")
    assert page.errors == []


async def test_following_links_reaches_the_subject_and_meeting_pages(site, page):
    await visit(page, site + "/")
    await page.get_by_role("link", name="Child Online Protection").click()
    await page.wait_for_url("**/subjects/cop")
    assert "Protecting children online." in await page.inner_text("main")
    actions = await page.get_by_role("table", name="Open action items of cop").inner_text()
    assert "A3" in actions and "overdue" in actions
    await page.get_by_role("region", name="Upcoming meetings").get_by_role("link").first.click()
    await page.wait_for_url("**/meetings/M3")
    when = await page.get_by_role("region", name="When").inner_text()
    assert "Fri 14 Jan 2028 14:00–15:00 Europe/Zurich" in when and "13:00–14:00 UTC" in when
    # The script adds the viewer's own zone: 13:00 UTC is 22:00 in Tokyo.
    assert "In your time zone (Asia/Tokyo)" in when and "22:00" in when
    minutes = await page.get_by_role("region", name="Minutes").inner_text()
    assert "Draft:" in minutes and "Publish the child online safety guidelines in June" in minutes
    assert page.errors == []


async def test_the_calendar_navigates_by_month_and_strikes_cancelled_meetings(site, page):
    await visit(page, site + "/calendar")
    assert await page.get_by_role("heading", level=1).inner_text() == "Calendar: January 2028"
    await save(page, "calendar.png")
    await page.get_by_role("link", name="Next month →").click()
    await page.wait_for_url("**/calendar?month=2028-02")
    assert await page.get_by_role("heading", level=1).inner_text() == "Calendar: February 2028"
    cancelled = page.locator("li.entry.cancelled")
    assert await cancelled.count() == 1  # 14 Feb 2028: M3's occurrence, cancelled (holidays)
    assert await cancelled.locator("del").count() == 1
    assert "line-through" in await cancelled.locator("del").evaluate(
        "d => getComputedStyle(d).textDecorationLine"
    )
    for _ in range(10):  # back to April 2027, one click at a time
        await page.get_by_role("link", name="← Previous month").click()
        await page.wait_for_load_state("load")
    assert await page.get_by_role("heading", level=1).inner_text() == "Calendar: April 2027"
    assert "Monthly coordination" in await page.locator("li.entry.cancelled").inner_text()
    await page.get_by_role("link", name="Week view").click()
    await page.wait_for_url("**/calendar?week=*")
    assert (await page.get_by_role("heading", level=1).inner_text()).startswith("Calendar: week 2028-W02")


async def test_the_report_page_shows_its_chart_and_tables(site, page):
    await page.goto(site + "/")
    await page.get_by_role("link", name="Reports").click()
    await page.wait_for_url("**/reports/2028")
    await visit(page, site + "/reports/2027")
    chart = page.locator("figure.chart svg")
    assert await chart.is_visible() and (await chart.bounding_box())["height"] > 50
    assert await chart.locator("title").text_content() == "Meetings held per subject per month, 2027"
    assert (await chart.locator("desc").text_content()).startswith("A heatmap of 7 meetings")  # 5 + 1 + 1
    held = await page.get_by_role("table", name="Meetings held — Child Online Protection").inner_text()
    assert "M3" in held and "M4" in held
    assert page.errors == []


# Recorded from the first script on: every Content-Security-Policy violation the page causes.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
"""


async def test_the_report_page_is_clean_under_the_sites_content_security_policy(site, page):
    await page.add_init_script(RECORD_CSP_VIOLATIONS)
    for path in ("/reports/2027", "/reports/2027/cop"):
        response = await page.goto(site + path)
        assert response.status == 200, path
        policy = await response.header_value("Content-Security-Policy")
        assert "style-src 'self'" in policy and "unsafe-inline" not in policy, policy
        await page.wait_for_load_state("load")
        assert await page.evaluate("window.cspViolations") == [], path
        assert await page.locator("style, [style]").count() == 0, path  # no inline style, the chart's too
        # Its stylesheet applied, and the chart's colours (attributes, not styles) too: not all black.
        table = page.get_by_role("table", name="Meetings held — Child Online Protection")
        assert await table.evaluate("t => getComputedStyle(t).borderCollapse") == "collapse", path
        fills = await page.locator("figure.chart svg path").evaluate_all(
            "paths => paths.map(p => getComputedStyle(p).fill)"
        )
        assert "rgb(255, 255, 255)" in fills and "rgb(8, 77, 150)" in fills, (path, set(fills))
    assert page.errors == []


async def test_a_meeting_title_with_markup_is_shown_as_text_and_runs_nothing(site, page):
    for path in ("/meetings/M7", "/calendar?month=2028-01", "/subjects/cop", "/meetings/M6"):
        await visit(page, site + path)
        assert XSS in await page.inner_text("main"), path
        assert await page.locator("main img[src=x]").count() == 0, path
    assert page.dialogs == []  # no alert ran
    assert page.errors == []


async def test_pages_fit_a_phone_and_keep_their_landmarks(site, browser):  # noqa: F811
    context = await browser.new_context(viewport=PHONE, locale="en-GB", timezone_id="Europe/Zurich")
    tab = await context.new_page()
    try:
        for path in ("/", "/subjects/cop", "/meetings/M3", "/calendar"):
            await visit(tab, site + path)
            overflow = await tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
            await assert_accessible(tab, path)
        await visit(tab, site + "/calendar?month=2027-04")
        await save(tab, "calendar-phone.png")
        assert await tab.locator("td:has(li.entry)").first.is_visible()
    finally:
        await context.close()
