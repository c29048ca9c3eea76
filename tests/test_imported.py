"""Imported calendars against a real aiohttp server on 127.0.0.1: conditional fetches, expansion, failures.

The clock stands at 1 Feb 2027, so the expansion window runs from 31 Jan 2027 to early March 2028.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from iscg_bot.calendar import imported
from iscg_bot.calendar.imported import ImportedCalendars, expand_feed, fetch_url, parse_feed
from iscg_bot.core.clock import FrozenClock
from iscg_bot.domain.meetings import imported_conflicts
from tests.support.polling import eventually

NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 25 Jan 2027 10:00:00 GMT"


def ics(*events: str, timezones: str = "") -> bytes:
    body = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//ITU//TSAG test//EN",
        timezones,
        *events,
        "END:VCALENDAR",
    ]
    return ("\r\n".join(line for line in body if line) + "\r\n").encode()


def vevent(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", "DTSTAMP:20270101T000000Z", *lines, "END:VEVENT"])


TSAG = vevent(
    "UID:tsag-1@itu.int", "SUMMARY:TSAG meeting", "DTSTART:20270301T080000Z", "DTEND:20270301T100000Z"
)
RAG = vevent("UID:rag-1@itu.int", "SUMMARY:RAG meeting", "DTSTART:20270302T080000Z", "DURATION:PT3H")

# A weekly 10:00 New York series (TZID by IANA name, no VTIMEZONE) across the 14 March 2027 change to EDT:
# the 16 March meeting is left out (EXDATE), the 23 March one moved to 24 March 11:00 (RECURRENCE-ID).
NEW_YORK_SERIES = [
    vevent(
        "UID:series@itu.int",
        "SUMMARY:TDAG working group",
        "DTSTART;TZID=America/New_York:20270302T100000",
        "DTEND;TZID=America/New_York:20270302T110000",
        "RRULE:FREQ=WEEKLY;COUNT=5",
        "EXDATE;TZID=America/New_York:20270316T100000",
    ),
    vevent(
        "UID:series@itu.int",
        "SUMMARY:TDAG working group (moved)",
        "RECURRENCE-ID;TZID=America/New_York:20270323T100000",
        "DTSTART;TZID=America/New_York:20270324T110000",
        "DTEND;TZID=America/New_York:20270324T120000",
    ),
]

# The same idea with the feed's own VTIMEZONE under a name that is no IANA zone (Europe changes on 28 March).
CUSTOM_ZONE = "\r\n".join(
    [
        "BEGIN:VTIMEZONE",
        "TZID:Geneva Time",
        "BEGIN:STANDARD",
        "DTSTART:19701025T030000",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:19700329T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
    ]
)
GENEVA_SERIES = vevent(
    "UID:geneva@itu.int",
    "SUMMARY:ISCG sync",
    "DTSTART;TZID=Geneva Time:20270322T140000",
    "DURATION:PT1H",
    "RRULE:FREQ=WEEKLY;UNTIL=20270405T120000Z",
)


@dataclass
class Server:
    """A calendar server: serves `body` with a strong ETag and Last-Modified, answers 304 when unchanged."""

    body: bytes = b""
    etag: str = ETAG
    status: int = 200
    seen: list[dict[str, str]] = field(default_factory=list)
    runner: Any = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsag.ics?token=secret"

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.headers))
        if self.status != 200:
            return web.Response(status=self.status, text="oops")
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304, headers={"ETag": self.etag})
        headers = {"ETag": self.etag, "Last-Modified": LAST_MODIFIED}
        return web.Response(body=self.body, headers=headers, content_type="text/calendar", charset="utf-8")

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> None:
        app = web.Application()
        app.router.add_get("/tsag.ics", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, ssl_context=ssl_context)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        await self.runner.cleanup()


@pytest.fixture
async def server():
    server = Server(body=ics(TSAG))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def calendars(*urls: str, **options: Any) -> ImportedCalendars:
    return ImportedCalendars(list(urls), clock=FrozenClock(NOW), http_timeout=timedelta(seconds=5), **options)


def shown(events: list[imported.ImportedEvent]) -> list[tuple[str, str, str]]:
    return [(e.summary, f"{e.start:%Y-%m-%d %H:%M}", f"{e.end:%Y-%m-%d %H:%M}") for e in events]


EVERYTHING = (NOW - timedelta(days=1), NOW + timedelta(days=400))


# ---- fetching --------------------------------------------------------------------------------------------


async def test_a_second_fetch_is_conditional_and_keeps_the_events_on_304(server):
    feeds = calendars(server.url)
    await feeds.refresh()
    assert shown(feeds.events_between(*EVERYTHING)) == [
        ("TSAG meeting", "2027-03-01 08:00", "2027-03-01 10:00")
    ]
    assert "If-None-Match" not in server.seen[0]
    await feeds.refresh()
    assert server.seen[1]["If-None-Match"] == ETAG
    assert server.seen[1]["If-Modified-Since"] == LAST_MODIFIED
    assert feeds.events_between(*EVERYTHING)[0].label == "TSAG meeting (imported calendar)"
    assert len(feeds.events_between(*EVERYTHING)) == 1


async def test_a_changed_feed_replaces_its_events(server):
    feeds = calendars(server.url)
    await feeds.refresh()
    server.body, server.etag = ics(RAG), '"v2"'
    await feeds.refresh()
    assert server.seen[1]["If-None-Match"] == ETAG  # asked, and got the new version
    assert shown(feeds.events_between(*EVERYTHING)) == [
        ("RAG meeting", "2027-03-02 08:00", "2027-03-02 11:00")
    ]


@pytest.mark.parametrize("failure", ["status", "garbage", "truncated", "too big", "down"])
async def test_a_failing_feed_keeps_its_last_good_events(server, failure, caplog, monkeypatch):
    feeds = calendars(server.url)
    await feeds.refresh()
    server.etag = '"v2"'  # no 304 from here on
    if failure == "status":
        server.status = 500
    elif failure == "garbage":
        server.body = b"<html>Service temporarily unavailable</html>"
    elif failure == "truncated":
        server.body = ics(RAG)[:60]
    elif failure == "too big":
        monkeypatch.setattr(imported, "MAX_BYTES", 100)
        server.body = ics(RAG)
    else:
        await server.stop()
    with caplog.at_level(logging.WARNING, logger="iscg_bot.calendar.imported"):
        await feeds.refresh()  # does not raise
    assert shown(feeds.events_between(*EVERYTHING)) == [
        ("TSAG meeting", "2027-03-01 08:00", "2027-03-01 10:00")
    ]
    assert "not refreshed" in caplog.text and "keeping its 1 events" in caplog.text
    assert "secret" not in caplog.text  # the query (a feed's token) stays out of the logs
    if failure == "down":
        server.runner = None
        await server.start()  # on the same port
    monkeypatch.undo()
    server.status, server.body = 200, ics(RAG)  # the feed mends, same ETag: no 304 for what we never read
    await feeds.refresh()
    assert shown(feeds.events_between(*EVERYTHING))[0][0] == "RAG meeting"


async def test_a_bad_first_fetch_is_no_error():
    feeds = calendars("http://127.0.0.1:9/nothing.ics")  # the discard port: nobody listens
    await feeds.refresh()
    assert feeds.events_between(*EVERYTHING) == []


async def test_events_between_is_an_overlap_not_a_touch(server):
    feeds = calendars(server.url)
    await feeds.refresh()
    start = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    assert feeds.events_between(start - timedelta(hours=1), start) == []
    assert len(feeds.events_between(start - timedelta(hours=1), start + timedelta(minutes=1))) == 1
    assert feeds.events_between(start + timedelta(hours=2), start + timedelta(hours=3)) == []


async def test_run_refreshes_until_stopped_and_wakes_at_once(server):
    feeds = calendars(server.url, every=timedelta(hours=1))
    await feeds.start()
    try:
        await eventually(lambda: server.seen, what="the first refresh", timeout=2, interval=0.01)
    finally:
        await asyncio.wait_for(feeds.stop(), timeout=2)
    assert len(server.seen) == 1 and len(feeds.events_between(*EVERYTHING)) == 1


async def test_stopping_does_not_wait_for_a_hanging_server():
    released, connected = asyncio.Event(), asyncio.Event()

    async def hang(reader, writer):  # accepts, never answers: what an outage looks like
        connected.set()
        await released.wait()
        writer.close()

    hung = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = hung.sockets[0].getsockname()[1]
    try:
        feeds = calendars(f"http://127.0.0.1:{port}/tsag.ics", every=timedelta(hours=1))
        await feeds.start()
        await asyncio.wait_for(connected.wait(), timeout=5)  # the fetch is under way, and hangs
        await asyncio.wait_for(feeds.stop(), timeout=1)
    finally:
        released.set()
        hung.close()
        await hung.wait_closed()


def test_webcal_is_fetched_over_https():
    assert fetch_url("webcal://calendars.itu.int/tsag.ics") == "https://calendars.itu.int/tsag.ics"
    assert fetch_url("WEBCAL://calendars.itu.int/a") == "https://calendars.itu.int/a"
    assert fetch_url("https://calendars.itu.int/a") == "https://calendars.itu.int/a"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
async def test_a_webcal_url_is_read_from_the_https_server(tmp_path: Path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    command += ["-keyout", str(key), "-out", str(cert)]
    await asyncio.to_thread(subprocess.run, command, check=True, capture_output=True)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    server = Server(body=ics(TSAG))
    await server.start(served)
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        feeds = calendars(f"webcal://127.0.0.1:{server.port}/tsag.ics", ssl_context=trusted)
        await feeds.refresh()
        assert len(server.seen) == 1
        assert shown(feeds.events_between(*EVERYTHING))[0][0] == "TSAG meeting"
        assert feeds.events_between(*EVERYTHING)[0].source.startswith("webcal://")
    finally:
        await server.stop()


# ---- reading and expanding -------------------------------------------------------------------------------


async def test_a_series_with_exdate_and_override_across_dst_in_its_iana_zone(server):
    server.body = ics(*NEW_YORK_SERIES)
    feeds = calendars(server.url)
    await feeds.refresh()
    assert shown(feeds.events_between(*EVERYTHING)) == [
        ("TDAG working group", "2027-03-02 15:00", "2027-03-02 16:00"),  # EST, UTC-5
        ("TDAG working group", "2027-03-09 15:00", "2027-03-09 16:00"),
        ("TDAG working group (moved)", "2027-03-24 15:00", "2027-03-24 16:00"),  # 11:00 EDT
        ("TDAG working group", "2027-03-30 14:00", "2027-03-30 15:00"),  # 10:00 EDT, UTC-4
    ]


def test_a_series_in_the_feeds_own_vtimezone_keeps_its_wall_time():
    events = expand_feed(parse_feed(ics(GENEVA_SERIES, timezones=CUSTOM_ZONE)), "u", *EVERYTHING)
    assert [f"{e.start:%m-%d %H:%M}" for e in events] == ["03-22 13:00", "03-29 12:00", "04-05 12:00"]


def test_an_override_can_cancel_one_occurrence():
    cancelled = vevent(
        "UID:series@itu.int",
        "RECURRENCE-ID;TZID=America/New_York:20270309T100000",
        "DTSTART;TZID=America/New_York:20270309T100000",
        "STATUS:CANCELLED",
    )
    events = expand_feed(parse_feed(ics(NEW_YORK_SERIES[0], cancelled)), "u", *EVERYTHING)
    assert [f"{e.start:%m-%d}" for e in events] == ["03-02", "03-23", "03-30"]


def test_all_day_events_are_whole_days_in_utc_and_floating_times_are_utc():
    feed = ics(
        vevent("UID:a", "SUMMARY:Holiday", "DTSTART;VALUE=DATE:20270301", "DTEND;VALUE=DATE:20270303"),
        vevent("UID:b", "SUMMARY:One day", "DTSTART;VALUE=DATE:20270310"),
        vevent("UID:c", "SUMMARY:Floating", "DTSTART:20270311T100000", "DTEND:20270311T113000"),
        vevent(
            "UID:d", "SUMMARY:Monthly", "DTSTART;VALUE=DATE:20270401", "RRULE:FREQ=MONTHLY;UNTIL=20270601"
        ),
    )
    assert shown(expand_feed(parse_feed(feed), "u", *EVERYTHING)) == [
        ("Holiday", "2027-03-01 00:00", "2027-03-03 00:00"),
        ("One day", "2027-03-10 00:00", "2027-03-11 00:00"),
        ("Floating", "2027-03-11 10:00", "2027-03-11 11:30"),
        ("Monthly", "2027-04-01 00:00", "2027-04-02 00:00"),
        ("Monthly", "2027-05-01 00:00", "2027-05-02 00:00"),
        ("Monthly", "2027-06-01 00:00", "2027-06-02 00:00"),
    ]


def test_an_endless_series_is_cut_at_the_window_and_silly_rules_are_ignored():
    feed = ics(
        vevent("UID:daily", "DTSTART:20200101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY"),
        vevent("UID:secs", "DTSTART:20270201T090000Z", "DURATION:PT1S", "RRULE:FREQ=SECONDLY"),
        vevent("UID:bad", "DTSTART:20270201T090000Z", "RRULE:FREQ=SOMETIMES"),
        vevent("UID:nostart", "SUMMARY:No start"),
        vevent("UID:cancelled", "DTSTART:20270201T090000Z", "STATUS:CANCELLED"),
    )
    events = expand_feed(parse_feed(feed), "u", *EVERYTHING)
    # 31 Jan 2027 09:00 … 5 Mar 2028 09:00, each day once; the rules not followed still have their DTSTART.
    assert Counter(e.uid for e in events) == {"daily": 401, "secs": 1, "bad": 1}


def test_a_feed_of_many_busy_rules_is_cut_not_hung(monkeypatch):
    monkeypatch.setattr(imported, "MAX_STEPS", 5_000)
    hourly = [vevent(f"UID:h{i}", "DTSTART:19900101T000000Z", "RRULE:FREQ=HOURLY") for i in range(50)]
    events = expand_feed(parse_feed(ics(*hourly)), "u", *EVERYTHING)
    assert events == []  # 1990 is far from 2027: the budget is spent before the window


def test_a_feed_too_costly_to_expand_is_cut_in_time(monkeypatch):
    # dateutil searches a rule that never matches up to the year 9999 (~0.15 s yearly, ~3 s daily).
    monkeypatch.setattr(imported, "MAX_SECONDS", 0.2)
    rule = "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31"
    never = [vevent(f"UID:never{i}", "DTSTART:20260201T090000Z", rule) for i in range(30)]
    began = time.perf_counter()
    assert expand_feed(parse_feed(ics(*never)), "u", *EVERYTHING) == []
    assert time.perf_counter() - began < 1.5


def test_summaries_are_one_short_line():
    feed = ics(vevent("UID:x", "SUMMARY:Line one\\nline two" + "x" * 500, "DTSTART:20270301T080000Z"))
    (event,) = expand_feed(parse_feed(feed), "u", *EVERYTHING)
    assert "\n" not in event.summary and len(event.summary) == 200


async def test_conflicts_name_the_imported_event_once(server):
    server.body = ics(*NEW_YORK_SERIES)
    feeds = calendars(server.url)
    await feeds.refresh()
    weekly = [
        (datetime(2027, 3, d, 15, 30, tzinfo=UTC), datetime(2027, 3, d, 16, 30, tzinfo=UTC)) for d in (2, 9)
    ]
    (conflict,) = imported_conflicts(feeds, weekly)
    assert (conflict.meeting.label, conflict.start.day, conflict.why) == (
        "TDAG working group (imported calendar)",
        2,
        "an event of an imported calendar",
    )
    assert imported_conflicts(None, weekly) == []


# ---- in the conflict check -----------------------------------------------------------------------------


async def test_scheduling_over_an_imported_event_is_refused_unless_forced(server, chat):
    from tests.chat import ADMIN

    feeds = ImportedCalendars([server.url], clock=chat.clock, http_timeout=timedelta(seconds=5))
    server.body = ics(vevent("UID:t", "SUMMARY:TSAG meeting", "DTSTART:20261203T120000Z", "DURATION:PT3H"))
    await feeds.refresh()
    chat.services.imported = feeds
    await chat.say("!subject create cop Child Online Protection", sender=ADMIN)
    (refused,) = await chat.say('!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich', sender=ADMIN)
    assert refused.splitlines() == [
        "Scheduling not done: it overlaps",
        "• “TSAG meeting” Thu 3 Dec 2026 12:00–15:00 UTC — an event of an imported calendar",
        "Add force to do it anyway.",
    ]
    (done,) = await chat.say('!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich force', sender=ADMIN)
    assert done.startswith("Scheduled M1: Call")
    assert "“TSAG meeting”" in done
