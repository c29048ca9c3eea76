"""The web server in-process (aiohttp's test client) on a database seeded through the chat driver."""

from __future__ import annotations

import email.utils
import functools
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from iscg_bot.app import BotApp
from iscg_bot.chat.events import MembershipChange
from iscg_bot.core.config import Settings
from iscg_bot.core.health import SyncHealth
from iscg_bot.storage import UnitOfWork
from iscg_bot.web.feed_cache import FeedCache, webcal
from iscg_bot.web.server import MinutesPages, ReportPages, WebServer, build_application
from tests.chat import ADMIN, COORD, COP, Chat, settings
from tests.chat import said as said_by

AI = "!ai:example.org"
GROUP = "!iscg:example.org"
FP = "@fp:itu.int"
MEMBER = "@member:example.org"
BASE = "https://iscg.example.org"


said = functools.partial(said_by, by=ADMIN)  # here the admin speaks unless told


class Site:
    def __init__(self, chat: Chat, feeds: FeedCache, client: TestClient) -> None:
        self.chat, self.feeds, self.client = chat, feeds, client

    async def get(self, path: str, **headers: str) -> aiohttp.ClientResponse:
        response = await self.client.get(path, headers=headers)
        await response.read()
        return response

    async def token_for(self, matrix_id: str) -> str:
        async with UnitOfWork(self.chat.database.sessions) as uow:
            token = await uow.calendar_tokens.issue(matrix_id, self.chat.clock.now())
            await uow.commit()
        return token


@pytest.fixture
async def site(chat: Chat) -> AsyncIterator[Site]:
    """cop (coordinator @coord, @member joined its room) and ai (focal point @fp), one meeting each and one
    group-wide; the web application on top, its cache invalidated after every committed change."""
    await said(chat, "!subject create cop Child Online Protection")
    await said(chat, "!subject create ai AI for Good", room=AI)
    await said(chat, f"!role add {COORD} coordinator")
    await said(chat, f"!role add {FP} focal-point ITU-T", room=AI)
    await said(chat, "!group bind", room=GROUP)
    await said(chat, '!meeting schedule "COP call" 2026-12-03 14:00 Europe/Zurich', by=COORD)
    await said(chat, '!meeting schedule "AI call" 2026-12-04 10:00 Europe/Zurich', room=AI)
    await said(chat, '!meeting schedule "Plenary" 2026-12-07 12:00 Europe/Zurich', room=GROUP)
    joined = MembershipChange(
        event_id="$member-joins",
        room_id=COP,
        sender=MEMBER,
        server_time=chat.clock.now(),
        user_id=MEMBER,
        membership="join",
        previous=None,
    )
    await chat.deliver(joined)
    feeds = FeedCache(chat.database.sessions, chat.clock, BASE, commits=chat.commits)
    reports = ReportPages(chat.database.sessions, chat.clock, BASE, "Europe/Zurich", commits=chat.commits)
    chat.gateway.last_sync_at = chat.clock.now()
    minutes = MinutesPages(chat.database.sessions, BASE, "Europe/Zurich")
    health = SyncHealth(chat.gateway, chat.clock, sync_timeout_seconds=30)
    app = build_application(feeds, health, minutes, reports)
    async with TestClient(TestServer(app)) as client:
        yield Site(chat, feeds, client)


def summaries(body: bytes) -> list[str]:
    """The meetings' titles in a feed (SUMMARY without the `M<n> · ` prefix), sorted."""
    lines = body.decode("utf-8").replace("\r\n ", "").split("\r\n")
    return sorted(
        re.sub(r"^M\d+ · ", "", line.removeprefix("SUMMARY:"))
        for line in lines
        if line.startswith("SUMMARY:")
    )


async def test_a_subject_feed_with_its_headers(site):
    response = await site.get("/calendar/cop.ics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["ETag"].startswith('"') and response.headers["ETag"].endswith('"')
    modified = email.utils.parsedate_to_datetime(response.headers["Last-Modified"])
    assert modified == site.chat.clock.now()  # the meetings were scheduled at the frozen START
    assert response.headers["Cache-Control"] == "max-age=300"
    body = await response.read()
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert summaries(body) == ["COP call"]


async def test_the_group_feed_has_every_meeting(site):
    response = await site.get("/calendar/iscg.ics")
    assert summaries(await response.read()) == ["AI call", "COP call", "Plenary"]


async def test_an_unchanged_feed_is_not_rendered_again(site):
    first = await site.get("/calendar/cop.ics")
    renders = site.feeds.renders
    second = await site.get("/calendar/cop.ics")
    assert site.feeds.renders == renders
    assert await first.read() == await second.read()
    assert first.headers["ETag"] == second.headers["ETag"]


async def test_304_when_the_etag_matches(site):
    first = await site.get("/calendar/cop.ics")
    again = await site.get("/calendar/cop.ics", **{"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]
    other = await site.get("/calendar/cop.ics", **{"If-None-Match": '"something-else"'})
    assert other.status == 200
    listed = f'"older", W/{first.headers["ETag"]}'  # a list, and weak comparison (RFC 9110 §13.1.2)
    assert (await site.get("/calendar/cop.ics", **{"If-None-Match": listed})).status == 304


async def test_304_by_date_unless_an_etag_is_given(site):
    first = await site.get("/calendar/cop.ics")
    modified = first.headers["Last-Modified"]
    assert (await site.get("/calendar/cop.ics", **{"If-Modified-Since": modified})).status == 304
    later = email.utils.format_datetime(
        email.utils.parsedate_to_datetime(modified) + timedelta(days=1), usegmt=True
    )
    assert (await site.get("/calendar/cop.ics", **{"If-Modified-Since": later})).status == 304
    earlier = email.utils.format_datetime(
        email.utils.parsedate_to_datetime(modified) - timedelta(seconds=1), usegmt=True
    )
    assert (await site.get("/calendar/cop.ics", **{"If-Modified-Since": earlier})).status == 200
    # If-None-Match wins over the date (RFC 9110 §13.1.3)
    both = {"If-Modified-Since": modified, "If-None-Match": '"stale"'}
    assert (await site.get("/calendar/cop.ics", **both)).status == 200


@pytest.mark.parametrize("garbage", ["yesterday", "Thu, 99 Foo 2026 25:00:00 GMT", "", "2026-12-01"])
async def test_a_malformed_date_is_ignored(site, garbage):
    response = await site.get("/calendar/cop.ics", **{"If-Modified-Since": garbage})
    assert response.status == 200
    assert summaries(await response.read()) == ["COP call"]


async def test_a_change_invalidates_the_cache_and_changes_the_etag(site):
    before = await site.get("/calendar/cop.ics")
    group_before = await site.get("/calendar/iscg.ics")
    site.chat.clock.advance(timedelta(hours=1))
    await said(site.chat, "!meeting move M1 2026-12-03 15:00 Europe/Zurich", by=COORD)

    after = await site.get("/calendar/cop.ics", **{"If-None-Match": before.headers["ETag"]})
    assert after.status == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert email.utils.parsedate_to_datetime(after.headers["Last-Modified"]) == site.chat.clock.now()
    assert b"SEQUENCE:1" in await after.read()
    group_after = await site.get("/calendar/iscg.ics")
    assert group_after.headers["ETag"] != group_before.headers["ETag"]


async def test_cancelled_meetings_stay_in_the_feed(site):
    await said(site.chat, "!meeting cancel M1", by=COORD)
    body = await (await site.get("/calendar/cop.ics")).read()
    assert summaries(body) == ["COP call"]
    assert b"STATUS:CANCELLED" in body


@pytest.mark.parametrize(
    "path", ["/calendar/nope.ics", "/calendar/cop", "/calendar/cop.ics/x", "/nothing", "/calendar/personal/"]
)
async def test_unknown_feeds_are_404(site, path):
    response = await site.get(path)
    assert response.status == 404
    assert await response.text() == "Not found.\n"


async def test_a_personal_feed_has_exactly_the_persons_subjects(site):
    member = await site.get(f"/calendar/personal/{await site.token_for(MEMBER)}.ics")
    assert member.status == 200
    assert member.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert summaries(await member.read()) == ["COP call", "Plenary"]  # joined cop's room
    coordinator = await site.get(f"/calendar/personal/{await site.token_for(COORD)}.ics")
    assert summaries(await coordinator.read()) == ["COP call", "Plenary"]  # by role, not in the room
    focal_point = await site.get(f"/calendar/personal/{await site.token_for(FP)}.ics")
    assert summaries(await focal_point.read()) == ["AI call", "Plenary"]
    stranger = await site.get(f"/calendar/personal/{await site.token_for('@x:example.org')}.ics")
    assert summaries(await stranger.read()) == ["Plenary"]


async def test_a_revoked_token_looks_like_any_unknown_page(site):
    token = await site.token_for(MEMBER)
    assert (await site.get(f"/calendar/personal/{token}.ics")).status == 200
    async with UnitOfWork(site.chat.database.sessions) as uow:
        assert await uow.calendar_tokens.revoke(MEMBER, site.chat.clock.now())
        await uow.commit()
    revoked = await site.get(f"/calendar/personal/{token}.ics")
    unknown = await site.get("/calendar/personal/not-a-token.ics")
    assert revoked.status == unknown.status == 404
    assert await revoked.read() == await unknown.read()
    assert revoked.headers["Content-Type"] == unknown.headers["Content-Type"]


async def test_calendar_reset_turns_the_old_link_off(site):
    await said(site.chat, "!calendar", by=MEMBER)
    await said(site.chat, "!calendar reset", by=MEMBER)
    old, new = (m.split("/calendar/personal/")[1].split(".ics")[0] for m in site.chat.dms(MEMBER))
    assert (await site.get(f"/calendar/personal/{old}.ics")).status == 404
    assert (await site.get(f"/calendar/personal/{new}.ics")).status == 200


async def test_healthz_follows_the_sync_loop(site):
    healthy = await site.get("/healthz")
    assert healthy.status == 200
    report = await healthy.json()
    assert report["ok"] is True and report["lag_seconds"] == 0
    site.chat.clock.advance(timedelta(seconds=89))  # 2 × 30 s sync timeout + 30 s
    assert (await site.get("/healthz")).status == 200
    site.chat.clock.advance(timedelta(seconds=2))
    stale = await site.get("/healthz")
    assert stale.status == 503
    assert (await stale.json())["ok"] is False
    site.chat.gateway.last_sync_at = site.chat.clock.now()
    assert (await site.get("/healthz")).status == 200


async def test_healthz_before_the_first_sync(site):
    site.chat.gateway.last_sync_at = None
    response = await site.get("/healthz")
    assert response.status == 503 and (await response.json())["reason"] == "no sync yet"


async def test_a_real_server_on_a_free_port(chat):
    await said(chat, "!subject create cop Child Online Protection")
    feeds = FeedCache(chat.database.sessions, chat.clock, BASE)
    server = WebServer(build_application(feeds, SyncHealth(chat.gateway, chat.clock, 30)), "127.0.0.1", 0)
    await server.start()
    try:
        assert server.port != 0
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.base_url + "/calendar/cop.ics") as response,
        ):
            assert response.status == 200
            assert (await response.read()).startswith(b"BEGIN:VCALENDAR")
    finally:
        await server.stop()


def test_webcal_links():
    assert webcal("https://iscg.example.org/calendar/cop.ics") == "webcal://iscg.example.org/calendar/cop.ics"
    assert webcal("http://localhost:8080/calendar/iscg.ics") == "webcal://localhost:8080/calendar/iscg.ics"


def test_the_app_drops_its_feeds_after_every_committed_change(tmp_path):
    config = settings().model_dump()
    config["database"] = {"url": f"sqlite+aiosqlite:///{tmp_path}/bot.db"}
    config["matrix"] = {**config["matrix"], "password": "x", "store_path": str(tmp_path / "store")}
    app = BotApp(Settings.model_validate(config))
    app.feeds.kept.values["iscg"] = object()  # type: ignore[assignment]
    app.commits.committed()  # what the dispatcher tells after every commit
    assert app.feeds.kept.values == {}
    assert app.services.web_base_url == "http://localhost:8080"


async def minuted_meeting(site: Site) -> None:
    """M1 held (early, bound by its ID), with a line that tries to run a script."""
    await said(site.chat, "!startmeeting M1", by=COORD)
    await site.chat.say("<script>alert(1)</script> & more", sender=MEMBER, room=COP)
    await site.chat.say("!endmeeting", sender=COORD, room=COP)


async def test_the_minutes_page_escapes_what_people_wrote(site):
    assert (await site.get("/meetings/M1")).status == 404  # no minutes yet
    await minuted_meeting(site)
    for path in ("/meetings/M1", "/minutes/S1"):
        response = await site.get(path)
        assert response.status == 200
        assert response.content_type == "text/html"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        page = await response.text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
        assert "<script" not in page
        assert "COP call" in page and "Draft" in page


@pytest.mark.parametrize(
    "path", ["/meetings/M9", "/minutes/S9", "/meetings/S1", "/minutes/M1", "/meetings/x"]
)
async def test_unknown_minutes_are_404(site, path):
    await minuted_meeting(site)
    assert (await site.get(path)).status == 404


async def test_the_feed_links_the_minutes_once_they_exist(site):
    def description(body: bytes) -> str:
        unfolded = body.decode("utf-8").replace("\r\n ", "")
        [cop] = [e for e in unfolded.split("BEGIN:VEVENT")[1:] if "SUMMARY:M1 " in e]
        found = re.search(r"^DESCRIPTION:(.*)$", cop, re.M)
        return found.group(1) if found else ""

    assert "Minutes:" not in description(await (await site.get("/calendar/cop.ics")).read())
    await minuted_meeting(site)
    assert f"Minutes: {BASE}/meetings/M1" in description(await (await site.get("/calendar/cop.ics")).read())


async def test_the_reports_web_copies(site):
    await minuted_meeting(site)
    page = await (await site.get("/reports/2026")).text()
    assert "ISCG report to TSAG, RAG and TDAG — 2026" in page
    assert "Child Online Protection" in page and "AI for Good" in page
    one = await site.get("/reports/2026/cop")
    assert one.status == 200 and "default-src 'none'" in one.headers["Content-Security-Policy"]
    text = await one.text()
    assert "Child Online Protection" in text and "AI for Good" not in text
    assert (await site.get("/reports/2026/TSAG")).status == 200
    for missing in ("/reports/2026/nosuch", "/reports/20x6", "/reports/2026/cop/more"):
        assert (await site.get(missing)).status == 404, missing


async def test_a_report_page_follows_the_data(site):
    before = await (await site.get("/reports/2026")).text()
    assert "Environment" not in before
    await said(site.chat, "!subject create env Environment", room="!env:example.org")
    assert "Environment" in await (await site.get("/reports/2026")).text()
