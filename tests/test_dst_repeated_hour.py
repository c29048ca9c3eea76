"""A meeting in the repeated hour of a day clocks go back (issue 12, bug 7).

A local time that happens twice is refused unless given in UTC; given in UTC, the meeting must keep the pass
it was given (the second one, usually) everywhere: stored, in the reply, the feed, the pages, the reminders
and the iMIP mail. The feed writes such instants in UTC, because calendar clients disagree on what a local
time in a repeated hour means (RFC 5545 says the first pass, Thunderbird's ical.js reads the second).

The clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from iscg_bot.calendar import mail
from iscg_bot.chat.reminders import ReminderService
from iscg_bot.core.config import MailSettings
from iscg_bot.core.timeshow import span
from iscg_bot.domain.timeparse import iana_zone_names
from iscg_bot.storage import UnitOfWork
from iscg_bot.web.feed_cache import FeedCache
from iscg_bot.web.site import SitePages
from tests.chat import ADMIN, COORD, COP, Chat, said
from tests.feed_checks import check_feed, expand_ical, expand_recurring, renamed, unfold

BASE = "https://iscg.example.org"
HOUR = timedelta(hours=1)
YEAR_2027 = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass(frozen=True)
class FallBack:
    """A zone's backward change: the instant it happens and how far the clocks go back."""

    zone: str
    onset: datetime  # UTC, the first instant of the second pass
    shift: timedelta

    @property
    def second_pass(self) -> datetime:
        """An instant in the middle of the second pass of the repeated wall times."""
        return self.onset + self.shift / 2

    @property
    def first_pass(self) -> datetime:
        """The instant of the same wall time, first time round."""
        return self.second_pass - self.shift


@cache
def fall_backs(year: int = 2027) -> tuple[FallBack, ...]:
    """Every IANA zone (Area/Location) whose clocks go back in `year`, found by scanning zoneinfo: daily
    steps, then bisection to the second. Computed here, not with the code under test."""
    found = []
    for zone in sorted(set(iana_zone_names().values())):
        tz = ZoneInfo(zone)

        def offset(instant: datetime, tz: ZoneInfo = tz) -> timedelta:
            return instant.astimezone(tz).utcoffset() or timedelta()

        day = utc(year, 1, 1)
        while day < utc(year + 1, 1, 1):
            after = day + timedelta(days=1)
            if offset(after) < offset(day):
                lo, hi = day, after
                while hi - lo > timedelta(seconds=1):
                    middle = (lo + (hi - lo) / 2).replace(microsecond=0)
                    lo, hi = (middle, hi) if offset(middle) == offset(day) else (lo, middle)
                found.append(FallBack(zone, hi, offset(lo) - offset(hi)))
            day = after
    return tuple(found)


def feed_instances(body: bytes, zone: str) -> set[tuple[datetime, datetime, str]]:
    """What both independent parsers read in the feed, also when they only have our VTIMEZONE to go by;
    failing when they disagree."""
    check_feed(body)
    found = expand_ical(body, *YEAR_2027)
    for ics in (body, renamed(body, zone)):
        assert expand_ical(ics, *YEAR_2027) == found
        assert expand_recurring(ics, *YEAR_2027) == found
    return found


def vevent_lines(body: bytes, summary_prefix: str) -> list[list[str]]:
    """The content lines of each VEVENT whose SUMMARY starts with `summary_prefix` (e.g. `M1 ·`)."""
    events, current = [], None
    for line in unfold(body):
        if line == "BEGIN:VEVENT":
            current = []
        elif line == "END:VEVENT" and current is not None:
            if any(x.startswith(f"SUMMARY:{summary_prefix}") for x in current):
                events.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return events


async def group_feed(chat: Chat) -> bytes:
    return (await FeedCache(chat.database.sessions, chat.clock, BASE).group()).body


async def subject_in(
    chat: Chat, zone: str, *, slug: str = "cop", room: str = COP, coordinator: str | None = COORD
) -> None:
    await said(chat, f"!subject create {slug} Child Online Protection", by=ADMIN, room=room)
    if coordinator:
        await said(chat, f"!role add {coordinator} coordinator", by=ADMIN, room=room)
    await said(chat, f"!subject set timezone {zone}", by=ADMIN, room=room)


async def stored(chat: Chat, meeting_id: int):
    async with UnitOfWork(chat.database.sessions) as uow:  # a fresh session: what the database kept
        return await uow.meetings.get(meeting_id)


# ---- the case of the issue --------------------------------------------------------------------------------


async def test_sydney_second_pass_given_in_utc_is_published_at_that_instant(chat):
    await subject_in(chat, "Australia/Sydney")
    local = await chat.say('!meeting schedule "Night call" 2027-04-04 02:30', sender=COORD, room=COP)
    assert "happens twice in Australia/Sydney" in local[0] and "give the time in UTC to choose" in local[0]

    reply = await said(chat, '!meeting schedule "Night call" 2027-04-03 16:30Z')
    assert reply.splitlines()[1] == (
        "Sun 4 Apr 2027 02:30–03:30 Australia/Sydney (UTC+10:00) · Sat 3 Apr 16:30–17:30 UTC"
    )
    meeting = await stored(chat, 1)
    assert meeting.start_utc == utc(2027, 4, 3, 16, 30)
    assert (meeting.start_local, meeting.start_local.fold) == (datetime(2027, 4, 4, 2, 30), 1)

    body = await group_feed(chat)
    assert feed_instances(body, "Australia/Sydney") == {
        (utc(2027, 4, 3, 16, 30), utc(2027, 4, 3, 17, 30), "M1 · Night call")
    }
    [event] = vevent_lines(body, "M1 ·")
    assert "DTSTART:20270403T163000Z" in event and "DTEND:20270403T173000Z" in event
    assert "DTSTART;TZID=Australia/Sydney:20270404T023000" not in unfold(body)

    shown = await said(chat, "!meeting show M1")
    assert "Sun 4 Apr 2027 02:30–03:30 Australia/Sydney (UTC+10:00) · Sat 3 Apr 16:30–17:30 UTC" in shown


async def test_the_imip_invitation_agrees_with_the_feed(chat):
    await subject_in(chat, "Australia/Sydney")
    await said(chat, '!meeting schedule "Night call" 2027-04-03 16:30Z')
    meeting = await stored(chat, 1)
    settings = MailSettings(enabled=True)
    _, message = mail.render_message(
        meeting, method="REQUEST", settings=settings, subjects={}, at=chat.clock.now()
    )
    text = message.decode()
    assert "When: Sun 4 Apr 2027 02:30=E2=80=9303:30 Australia/Sydney (UTC+10:00)" in text
    calendar = mail.render_calendar(meeting, method="REQUEST", settings=settings, subjects={})
    [event] = vevent_lines(calendar, "M1 ·")
    assert "DTSTART:20270403T163000Z" in event


# ---- every zone that goes back in 2027 --------------------------------------------------------------------


def test_the_zones_are_computed_not_listed():
    zones = {f.zone for f in fall_backs()}
    assert {"Australia/Sydney", "Pacific/Chatham", "Australia/Lord_Howe", "Pacific/Easter"} <= zones
    assert {"Africa/Casablanca", "Pacific/Norfolk", "America/Santiago", "Europe/Zurich"} <= zones
    assert "Asia/Tokyo" not in zones
    lord_howe = next(f for f in fall_backs() if f.zone == "Australia/Lord_Howe")
    assert lord_howe.shift == timedelta(minutes=30)


async def test_every_zone_going_back_in_2027_publishes_the_second_pass_where_it_is(chat):
    """A meeting at the second pass of each zone's repeated hour, given in UTC: the reply, the feed, the
    meeting page and the reminder all say that instant (each zone its own subject room)."""
    cases = fall_backs()
    wrong: list[str] = []
    for number, case in enumerate(cases, start=1):
        room = f"!room{number}:example.org"
        await subject_in(chat, case.zone, slug=f"s{number}", room=room, coordinator=None)
        at = case.second_pass
        reply = await said(chat, f'!meeting schedule "Call" {at:%Y-%m-%d %H:%M:%S}Z', by=ADMIN, room=room)
        expected = span(at, at + HOUR, case.zone)
        if reply.splitlines()[1] != expected:
            wrong.append(f"{case.zone}: reply {reply.splitlines()[1]!r}, not {expected!r}")

    body = await group_feed(chat)
    check_feed(body)
    published = expand_ical(body, *YEAR_2027)
    assert expand_recurring(body, *YEAR_2027) == published
    site = SitePages(chat.database.sessions, chat.clock, BASE, "Europe/Zurich")
    for number, case in enumerate(cases, start=1):
        at = case.second_pass
        if (at, at + HOUR, f"M{number} · Call") not in published:
            wrong.append(f"{case.zone}: not at {at:%H:%M:%S}Z in the feed")
        page = await site.meeting(number)
        assert page is not None
        if f'data-local-for="{at.isoformat()}"' not in page or span(at, at + HOUR, case.zone) not in page:
            wrong.append(f"{case.zone}: the page does not say {at:%H:%M:%S}Z")

    service = ReminderService(
        chat.database.sessions, chat.clock, chat.config.reminders, tick_seconds=None, debounce_seconds=0.01
    )
    await service.start(run_jobs=False)
    reminded = []
    try:
        for at in sorted({c.second_pass for c in cases}):
            chat.clock.set(at - timedelta(minutes=15))
            await service.run_due()
            reminded += [c["body"] for c in await chat.take_outbox()]
    finally:
        await service.stop()
    for number, case in enumerate(cases, start=1):
        at = case.second_pass
        expected = f"Reminder: M{number} “Call” starts in 15 minutes — {span(at, at + HOUR, case.zone)}"
        if expected not in reminded:
            wrong.append(f"{case.zone}: no reminder 15 minutes before {at:%H:%M:%S}Z")
    assert wrong == []


# ---- one-off meetings touching a repeated hour: written in UTC for Thunderbird ---------------------------


@pytest.mark.parametrize(
    ("when", "start", "end"),
    [
        # Chatham goes back from 03:45 to 02:45: the end, 03:30, is in the first pass; ical.js reads any
        # local time there as the second, and would show a meeting two hours long.
        ("2027-04-04 02:30 Pacific/Chatham", utc(2027, 4, 3, 12, 45), utc(2027, 4, 3, 13, 45)),
        # Sydney's first pass from start to end, given in UTC: right for RFC 5545 readers, an hour late in
        # Thunderbird.
        ("2027-04-03 15:15Z for 30m", utc(2027, 4, 3, 15, 15), utc(2027, 4, 3, 15, 45)),
        # Ending in the first pass (Thunderbird: two hours long), or in the second.
        ("2027-04-04 01:30 Australia/Sydney", utc(2027, 4, 3, 14, 30), utc(2027, 4, 3, 15, 30)),
        # Starting before the change, ending in the second pass (unambiguous only by the offset).
        ("2027-04-04 01:30 Australia/Sydney for 90m", utc(2027, 4, 3, 14, 30), utc(2027, 4, 3, 16, 0)),
    ],
)
async def test_a_one_off_starting_or_ending_in_a_repeated_hour_is_written_in_utc(chat, when, start, end):
    await subject_in(chat, "Australia/Sydney")
    await said(chat, f'!meeting schedule "Call" {when}')
    body = await group_feed(chat)
    [event] = vevent_lines(body, "M1 ·")
    assert f"DTSTART:{start:%Y%m%dT%H%M%SZ}" in event
    assert f"DTEND:{end:%Y%m%dT%H%M%SZ}" in event
    zone = "Pacific/Chatham" if "Chatham" in when else "Australia/Sydney"
    assert feed_instances(body, zone) == {(start, end, "M1 · Call")}


async def test_a_one_off_away_from_the_change_keeps_its_zone(chat):
    await subject_in(chat, "Australia/Sydney")
    await said(chat, '!meeting schedule "Call" 2027-04-04 04:00')
    [event] = vevent_lines(await group_feed(chat), "M1 ·")
    assert "DTSTART;TZID=Australia/Sydney:20270404T040000" in event


# ---- series ------------------------------------------------------------------------------------------------


async def test_a_weekly_series_meets_in_the_first_pass_and_every_reader_agrees(chat):
    """A series started outside a repeated hour takes the first pass there (RFC 5545's reading), and the
    feed pins that occurrence in UTC so that Thunderbird, which reads the second, agrees."""
    await subject_in(chat, "Australia/Sydney")
    await said(chat, '!meeting schedule "Night" 2027-03-21 02:30 every week times 4')
    body = await group_feed(chat)
    expected = {
        (utc(2027, 3, 20, 15, 30), utc(2027, 3, 20, 16, 30), "M1 · Night"),
        (utc(2027, 3, 27, 15, 30), utc(2027, 3, 27, 16, 30), "M1 · Night"),
        (utc(2027, 4, 3, 15, 30), utc(2027, 4, 3, 16, 30), "M1 · Night"),  # 02:30 +11:00, first pass
        (utc(2027, 4, 10, 16, 30), utc(2027, 4, 10, 17, 30), "M1 · Night"),
    }
    assert feed_instances(body, "Australia/Sydney") == expected
    pinned = [e for e in vevent_lines(body, "M1 ·") if any(x.startswith("RECURRENCE-ID") for x in e)]
    assert len(pinned) == 1
    assert "RECURRENCE-ID;TZID=Australia/Sydney:20270404T023000" in pinned[0]
    assert "DTSTART:20270403T153000Z" in pinned[0]
    async with UnitOfWork(chat.database.sessions) as uow:
        from iscg_bot.domain.meetings import expand

        found = expand(await uow.meetings.get(1), *YEAR_2027)
    assert {(o.start, o.end, "M1 · Night") for o in found} == expected


async def test_a_series_started_in_the_second_pass_keeps_that_pass(chat):
    """A series whose first meeting is in the second pass meets in the second pass again when a later
    occurrence lands in a repeated hour (52 weeks on: 2 April 2028, Sydney's next change)."""
    await subject_in(chat, "Australia/Sydney")
    reply = await said(chat, '!meeting schedule "Night" 2027-04-03 16:30Z every 52 weeks times 2')
    assert "02:30–03:30 Australia/Sydney (UTC+10:00) · Sat 3 Apr 16:30–17:30 UTC" in reply
    body = await group_feed(chat)
    expected = {
        (utc(2027, 4, 3, 16, 30), utc(2027, 4, 3, 17, 30), "M1 · Night"),
        (utc(2028, 4, 1, 16, 30), utc(2028, 4, 1, 17, 30), "M1 · Night"),
    }
    assert feed_instances(body, "Australia/Sydney") == expected
    meeting = await stored(chat, 1)
    assert meeting.start_utc == utc(2027, 4, 3, 16, 30) and meeting.start_local.fold == 1
    assert meeting.series_end_utc == utc(2028, 4, 1, 17, 30)

    site = SitePages(chat.database.sessions, chat.clock, BASE, "Europe/Zurich")
    page = await site.meeting(1)
    assert 'data-local-for="2027-04-03T16:30:00+00:00"' in page


async def test_an_occurrence_moved_into_the_second_pass_stays_there(chat):
    await subject_in(chat, "Australia/Sydney")
    await said(chat, '!meeting schedule "Night" 2027-03-21 10:00 every week times 3')
    moved = await said(chat, "!meeting move M1 2027-04-03 16:30Z occurrence 2027-03-28")
    assert "moved" in moved
    body = await group_feed(chat)
    instances = feed_instances(body, "Australia/Sydney")
    assert (utc(2027, 4, 3, 16, 30), utc(2027, 4, 3, 17, 30), "M1 · Night") in instances
    assert len(instances) == 3
    [override] = [e for e in vevent_lines(body, "M1 ·") if any(x.startswith("RECURRENCE-ID") for x in e)]
    assert "DTSTART:20270403T163000Z" in override
    meeting = await stored(chat, 1)
    [kept] = meeting.overrides
    assert (kept.start_local, kept.start_local.fold) == (datetime(2027, 4, 4, 2, 30), 1)

    service = ReminderService(
        chat.database.sessions, chat.clock, chat.config.reminders, tick_seconds=None, debounce_seconds=0.01
    )
    await service.start(run_jobs=False)
    try:
        chat.clock.set(utc(2027, 4, 3, 16, 15))
        await service.run_due()
        reminders = [c["body"] for c in await chat.take_outbox()]
    finally:
        await service.stop()
    assert any("starts in 15 minutes" in r and "Sat 3 Apr 16:30–17:30 UTC" in r for r in reminders)


# ---- storage ---------------------------------------------------------------------------------------------


async def test_the_pass_is_kept_by_the_database_and_migrates_both_ways(unmigrated_database):
    """0009 adds the pass beside the wall-clock starts: older rows are the first pass; a second-pass start
    and a moved occurrence's start read back with fold=1, from SQLite and PostgreSQL alike."""
    database = unmigrated_database
    await database.migrate("0008_minutes_record")
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO meetings (room_id, title, timezone, start_local, start_utc, "
                "duration_minutes, created_by, created_at, updated_at) VALUES ('!r:example.org', 'Old', "
                "'Australia/Sydney', '2027-04-04 02:30:00', :first, 60, :by, :at, :at)"
            ),
            {"first": utc(2027, 4, 3, 15, 30), "by": ADMIN, "at": utc(2026, 11, 25, 9)},
        )
    await database.migrate()
    async with UnitOfWork(database.sessions) as uow:
        old = await uow.meetings.get(1)
        assert (old.start_local, old.start_local.fold) == (datetime(2027, 4, 4, 2, 30), 0)
        second = datetime(2027, 4, 4, 2, 30, fold=1)
        new = await uow.meetings.create(
            subject_id=None, room_id="!r:example.org", title="New", timezone="Australia/Sydney",
            start_local=second, start_utc=utc(2027, 4, 3, 16, 30), duration_minutes=60,
            rrule="FREQ=WEEKLY;COUNT=3", series_end_utc=utc(2027, 4, 17, 17, 30), link=None,
            created_by=ADMIN, at=utc(2026, 11, 25, 9),
        )  # fmt: skip
        await uow.meetings.set_override(
            new, datetime(2027, 4, 11, 2, 30), start_local=second, at=new.created_at
        )
        await uow.meetings.update(old, start_local=second, at=new.created_at)
        await uow.commit()
    async with UnitOfWork(database.sessions) as uow:
        for meeting_id in (old.id, new.id):
            assert (await uow.meetings.get(meeting_id)).start_local.fold == 1
        [moved] = (await uow.meetings.get(new.id)).overrides
        assert (moved.start_local, moved.start_local.fold) == (second, 1)
        assert moved.occurrence_local.fold == 0
    await database.downgrade("0008_minutes_record")
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM meetings"))).scalar_one() == 2
    await database.migrate()


async def test_cancelling_a_second_pass_occurrence_mails_its_real_time(chat):
    """The iMIP CANCEL of one occurrence of a second-pass series (2 April 2028, 02:30 the second time)."""
    await subject_in(chat, "Australia/Sydney")
    await said(chat, '!meeting schedule "Night" 2027-04-03 16:30Z every 52 weeks times 2')
    await said(chat, "!meeting cancel M1 occurrence 2028-04-02")
    async with UnitOfWork(chat.database.sessions) as uow:
        meeting = await uow.meetings.get(1)
        queued = await mail.queue_invitation(
            uow,
            MailSettings(enabled=True),
            meeting,
            method="CANCEL",
            at=chat.clock.now(),
            occurrence=datetime(2028, 4, 2).date(),
        )
    assert queued is not None
    text = queued.message.decode()
    assert "Sat 1 Apr 16:30=E2=80=9317:30 UTC" in text.replace("=\r\n", "")
    calendar = mail.render_calendar(
        meeting,
        method="CANCEL",
        settings=MailSettings(enabled=True),
        subjects={},
        occurrence_local=datetime(2028, 4, 2, 2, 30),
    )
    [event] = vevent_lines(calendar, "M1 ·")
    assert "RECURRENCE-ID;TZID=Australia/Sydney:20280402T023000" in event
    assert "DTSTART:20280401T163000Z" in event
