"""The group's web pages (`iscg_bot.web.site`) in-process, on the year of `tests.support.year_story`, seen on
10 Jan 2028 (the expected figures are read off the story, not computed by the code under test)."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from iscg_bot.calendar.imported import ImportedCalendars
from iscg_bot.web.feed_cache import FeedCache
from iscg_bot.web.site import SitePages, minutes_fragment
from tests.chat import ADMIN, COORD, COP, Chat, said
from tests.support.site_text import text_of
from tests.support.web_app import chat_web_application
from tests.support.year_story import AI, BASE, FP_D, FP_T, MEMBER2, NOW, seed

XSS = "<img src=x onerror=alert(1)>"


class Pages:
    def __init__(self, chat: Chat, site: SitePages, client: TestClient) -> None:
        self.chat, self.site, self.client = chat, site, client

    async def get(self, path: str) -> tuple[aiohttp.ClientResponse, str]:
        response = await self.client.get(path)
        return response, await response.text()

    async def html(self, path: str) -> str:
        response, body = await self.get(path)
        assert response.status == 200, body
        assert response.content_type == "text/html"
        return body


@pytest.fixture
async def pages(chat: Chat) -> AsyncIterator[Pages]:
    await seed(chat)
    await said(chat, f"!meeting agenda M6 add {XSS} and **bold**", by=ADMIN, room=AI)
    site = SitePages(chat.database.sessions, chat.clock, BASE, "Europe/Zurich", commits=chat.commits)
    feeds = FeedCache(chat.database.sessions, chat.clock, BASE, commits=chat.commits)
    app = chat_web_application(chat, BASE, feeds=feeds, pages=site)
    async with TestClient(TestServer(app)) as client:
        yield Pages(chat, site, client)


def section(page: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by the heading with that ID."""
    start = page.index(f'<section aria-labelledby="{heading_id}"')
    return page[start : page.index("</section>", start)]


def headings(page: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])\b", page)]


async def test_the_group_page_lists_current_subjects_with_coordinator_and_next_meeting(pages):
    page = await pages.html("/")
    subjects = text_of(section(page, "subjects"))
    assert "Child Online Protection" in subjects and "AI for Good" in subjects and "EMF exposure" in subjects
    assert "Old subject" not in subjects  # archived
    rows = {row.split("</th>")[0]: row for row in section(page, "subjects").split("<tr>")[2:]}
    cop = text_of(next(r for k, r in rows.items() if "/subjects/cop" in k))
    # M3's next occurrence after 10 Jan 2028: 14 Jan, 14:00 in Zurich (13:00 UTC)
    assert COORD in cop and "Monthly coordination" in cop and "Fri 14 Jan 2028 14:00–15:00" in cop
    ai = text_of(next(r for k, r in rows.items() if "/subjects/ai" in k))
    assert "Spring review" in ai and "Wed 1 Mar 2028" in ai
    emf = text_of(next(r for k, r in rows.items() if "/subjects/emf" in k))
    assert "none planned" in emf
    assert 'href="webcal://iscg.example.org/calendar/iscg.ics"' in page
    assert 'href="https://iscg.example.org/calendar/iscg.ics"' in page


async def test_the_chart_counts_the_last_twelve_months_and_is_served_as_svg(pages):
    page = await pages.html("/")
    figures = section(page, "held")
    counts = {}
    for row in figures.split("<tr>")[2:]:
        name = text_of(row.split("</th>")[0]).strip()
        counts[name] = [int(n) for n in re.findall(r"<td>(\d+)</td>", row)]
    # Feb 2027 – Jan 2028 in Zurich: cop met 16 Feb, 14 Mar, 20 May (14 Jan 2027 is before the window);
    # ai on 10 Jun; emf on 15 Sep; the last column is the total.
    assert counts["Child Online Protection"] == [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3]
    assert counts["AI for Good"] == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert counts["EMF exposure"] == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert "Old subject" not in counts
    response, body = await pages.get("/charts/meetings.svg")
    assert response.status == 200 and response.content_type == "image/svg+xml"
    root = ElementTree.fromstring(body)
    assert "February 2027 – January 2028" in "".join(root.itertext())
    assert '<img src="/charts/meetings.svg" alt="A heatmap of 5 meetings' in page


async def test_the_chart_is_drawn_again_once_a_meeting_is_held(pages):
    before = (await pages.get("/charts/meetings.svg"))[1]
    assert before == (await pages.get("/charts/meetings.svg"))[1]
    await said(pages.chat, "!startmeeting", by=COORD)
    await pages.chat.say("!endmeeting", sender=COORD, room=COP)
    page = await pages.html("/")
    row = next(r for r in section(page, "held").split("<tr>") if "Child Online Protection" in r)
    assert re.findall(r"<td>(\d+)</td>", row)[-2:] == ["1", "4"]  # January 2028, and the total
    assert (await pages.get("/charts/meetings.svg"))[1] != before


async def test_a_subject_page_shows_people_meetings_and_open_actions(pages):
    page = await pages.html("/subjects/cop")
    assert "Protecting children online." in text_of(page)
    people = text_of(section(page, "people"))
    assert f"Coordinator {COORD}" in people
    assert f"Focal point, ITU-T {FP_T}" in people and f"Focal point, ITU-D {FP_D}" in people
    upcoming = text_of(section(page, "upcoming"))
    assert "Fri 14 Jan 2028 14:00–15:00 Europe/Zurich (UTC+01:00) · 13:00–14:00 UTC" in upcoming
    assert "14 Feb 2028" not in upcoming  # cancelled: not among the coming ones
    past = section(page, "past")
    april = next(item for item in past.split("<li>") if "14 Apr 2027" in item)
    assert "<del>" in april and "cancelled" in april
    may = next(item for item in past.split("<li>") if "20 May 2027" in item)
    assert "minutes" in text_of(may)
    actions = section(page, "actions")
    shown = re.findall(r'<th scope="row">(A\d+)</th>', actions)
    assert shown == ["A3", "A8", "A1"]  # open ones by due date, none last (A6 is ai's)
    a3 = next(r for r in actions.split("<tr") if ">A3<" in r)
    assert "overdue" in a3 and "Draft the guidelines" in a3
    assert 'href="webcal://iscg.example.org/calendar/cop.ics"' in page


async def test_a_meeting_page_gives_times_agenda_rsvps_and_the_minutes_marked_draft(pages):
    page = await pages.html("/meetings/M3")
    when = text_of(section(page, "when"))
    assert "Next: Fri 14 Jan 2028 14:00–15:00 Europe/Zurich (UTC+01:00) · 13:00–14:00 UTC" in when
    assert 'data-local-for="2028-01-14T13:00:00+00:00"' in page  # the script shows it in the viewer's zone
    february = next(item for item in section(page, "when").split("<li>") if "14 Feb 2028" in item)
    assert "<del>" in february and "cancelled" in february
    minutes = section(page, "minutes")
    assert "Draft:" in text_of(minutes)  # M3's latest session (March) is not approved
    assert "Publish the child online safety guidelines in June" in text_of(minutes)
    assert 'href="/minutes/S' in minutes
    levels = headings(page)
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))  # no level skipped going down

    workshop = await pages.html("/meetings/M4")
    assert f"Regrets (1) {MEMBER2}" in text_of(section(workshop, "rsvps"))
    assert "No agenda yet." in text_of(section(workshop, "agenda"))


async def test_approved_minutes_are_marked_approved(pages):
    # M3's January session was approved; the minutes page of that session is served on its own
    page = await pages.html("/meetings/M3")
    earlier = re.findall(r'href="/minutes/S(\d+)"', section(page, "minutes"))
    bodies = [await pages.html(f"/minutes/S{n}") for n in sorted(set(earlier))]
    assert any("approved" in text_of(body).lower() for body in bodies)


async def test_user_text_is_shown_not_run(pages):
    scheduled = await said(pages.chat, f'!meeting schedule "{XSS}" 2028-02-02 10:00 UTC', by=COORD)
    assert scheduled.startswith("Scheduled M7"), scheduled
    await said(pages.chat, f"!subject set description {XSS}", by=ADMIN)
    await said(pages.chat, f"!subject set title {XSS}", by=ADMIN)
    for path in ("/", "/subjects/cop", "/meetings/M6", "/calendar?month=2028-02"):
        page = await pages.html(path)
        assert "<img src=x" not in page, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, path
    agenda = text_of(section(await pages.html("/meetings/M6"), "agenda"))
    assert f"{XSS} and **bold**" in agenda


async def test_the_month_view_strikes_cancelled_meetings_and_navigates(pages):
    page = await pages.html("/calendar?month=2027-04")
    assert "Calendar: April 2027" in text_of(page)
    cell = page[page.index("Wed 14 Apr 2027") :]
    cell = cell[: cell.index("</td>")]
    assert "<del>" in cell and "Monthly coordination" in cell and "(cancelled)" in text_of(cell)
    assert 'href="/calendar?month=2027-03"' in page and 'href="/calendar?month=2027-05"' in page
    february = await pages.html("/calendar?month=2027-02")
    moved = february[february.index("Tue 16 Feb 2027") :]
    assert "10:00" in moved[: moved.index("</td>")]  # moved from Sunday 14 Feb to Tuesday 16 Feb, 10:00
    sunday = february[february.index("Sun 14 Feb 2027") :]
    assert "Monthly" not in sunday[: sunday.index("</td>")]
    default = await pages.html("/calendar")
    assert "Calendar: January 2028" in text_of(default) and 'aria-current="date"' in default


async def test_the_week_view_shows_seven_days(pages):
    page = await pages.html("/calendar?week=2027-W07")
    assert "Calendar: week 2027-W07" in text_of(page)
    assert len(re.findall(r'<span class="date">', page)) == 7
    assert "Monthly coordination" in page  # Tue 16 Feb 2027
    assert 'href="/calendar?week=2027-W06"' in page and 'href="/calendar?week=2027-W08"' in page


@pytest.mark.parametrize("query", ["month=2027-13", "month=27-01", "week=2027-W60", "month=%3Cb%3E"])
async def test_a_bad_calendar_query_is_a_clear_400(pages, query):
    response, body = await pages.get(f"/calendar?{query}")
    assert response.status == 400
    assert body.startswith(("Not a month", "Not a week", "No such week")) and "e.g." in body
    assert "<b>" not in response.headers.get("Content-Type", "") and response.content_type == "text/plain"


async def test_pages_carry_a_strict_policy_and_their_assets(pages):
    response, _ = await pages.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    css, body = await pages.get("/static/site.css")
    assert css.status == 200 and css.content_type == "text/css" and "@media" in body
    js, body = await pages.get("/static/local-time.js")
    assert js.status == 200 and js.content_type == "text/javascript" and "textContent" in body
    for missing in ("/static/nope.css", "/static/..%2fsite.py", "/subjects/nope", "/meetings/M999"):
        assert (await pages.get(missing))[0].status == 404, missing


def test_minutes_headings_go_one_level_down_inside_a_meeting_page():
    page = "<html><main>\n<h1>Title</h1><h2>Topic</h2><p>&lt;h1&gt;</p>\n</main></html>"
    assert minutes_fragment(page) == "\n<h2>Title</h2><h3>Topic</h3><p>&lt;h1&gt;</p>\n"


async def test_the_calendar_shows_imported_events_with_their_source_not_their_address(chat):
    """An advisory group's feed on a real server on 127.0.0.1: its events show on the calendar, unlinked,
    named by host (the configured URL, which may carry a token, never appears)."""
    feed = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//ITU//TSAG//EN\r\n"
        "BEGIN:VEVENT\r\nUID:tsag@itu.int\r\nDTSTAMP:20270101T000000Z\r\nSUMMARY:TSAG <b>meeting</b>\r\n"
        "DTSTART:20280117T080000Z\r\nDTEND:20280117T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=feed.encode(), content_type="text/calendar")

    app = web.Application()
    app.router.add_get("/tsag.ics", serve)
    async with TestServer(app, host="127.0.0.1") as server:
        chat.clock.set(NOW)
        url = str(server.make_url("/tsag.ics?token=secret"))
        calendars = ImportedCalendars([url], clock=chat.clock)
        await calendars.refresh()
    site = SitePages(chat.database.sessions, chat.clock, BASE, "Europe/Zurich", imported=calendars)
    page = await site.calendar(month="2028-01")
    cell = page[page.index("Mon 17 Jan 2028") :]
    cell = cell[: cell.index("</td>")]
    assert '<li class="entry imported">' in cell and "09:00" in cell  # 08:00 UTC in Zurich
    assert "TSAG &lt;b&gt;meeting&lt;/b&gt; <span" in cell and "(127.0.0.1)" in cell
    assert "<a " not in cell and "secret" not in page and "tsag.ics" not in page
