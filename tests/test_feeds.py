"""The iCalendar feed: conformance in two independent parsers, stability, injection, VTIMEZONE rules, size.

The clock of the chat driver stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from iscg_bot.calendar.feeds import FeedInfo, feed_etag, last_modified, render_feed
from iscg_bot.calendar.ical_text import escape_text, fold, folded_lines
from iscg_bot.domain.recurrence import occurrences
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, COORD, START, Chat, said
from tests.feed_checks import check_feed, expand_ical, expand_recurring, renamed, unfold

GROUP = "!iscg:example.org"
INFO = FeedInfo(
    name="ISCG — all subjects", description="Meetings of the ISCG", url="https://bot.example/c.ics"
)
WINDOW = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2028, 11, 1, tzinfo=UTC))


# --- plain stand-ins for the models ----------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    text: str


@dataclass(frozen=True)
class Override:
    occurrence_local: datetime
    start_local: datetime | None = None
    duration_minutes: int | None = None
    cancelled: bool = False
    reason: str | None = None
    updated_at: datetime = START


@dataclass(frozen=True)
class Subject:
    slug: str
    title: str


@dataclass(frozen=True)
class FakeMeeting:
    id: int
    title: str
    start_local: datetime
    timezone: str = "Europe/Zurich"
    duration_minutes: int = 60
    rrule: str | None = None
    series_end_utc: datetime | None = None
    subject_id: int | None = 1
    link: str | None = "https://meet.example.org/cop"
    status: str = "scheduled"
    cancel_reason: str | None = None
    sequence: int = 0
    created_at: datetime = START
    updated_at: datetime = START
    agenda: list[Item] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)


SUBJECTS = {1: Subject("cop", "Child Online Protection")}


def feed(meetings, **kwargs) -> bytes:
    return render_feed(meetings, info=INFO, subjects=SUBJECTS, **kwargs)


def assert_parsers_agree(body: bytes) -> set:
    check_feed(body)
    expected = expand_recurring(body, *WINDOW)
    assert expand_ical(body, *WINDOW) == expected
    return expected


# --- through the chat ------------------------------------------------------------------------------------


@pytest.fixture
async def group(chat):
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, "!group bind", by=ADMIN, room=GROUP)
    return chat


async def published(chat: Chat) -> bytes:
    async with UnitOfWork(chat.database.sessions) as uow:
        meetings = await uow.meetings.upcoming_candidates(after_utc=START, include_cancelled=True)
        subjects = {s.id: s for s in [await uow.subjects.by_slug("cop")]}
    return render_feed(meetings, info=INFO, subjects=subjects, minutes_url=lambda m: None)


async def test_a_realistic_feed_is_valid_and_both_parsers_agree(group):
    await said(
        group, '!meeting schedule "Zurich weekly" 2026-12-07 10:00 Europe/Zurich every week until 2027-12-31'
    )
    await said(group, "!meeting move M1 2026-12-15 16:00 occurrence 2026-12-14")
    await said(group, "!meeting cancel M1 occurrence 2026-12-21 holidays")
    await said(group, '!meeting schedule "NY weekly" 2026-12-08 09:00 America/New_York every week times 40')
    await said(group, '!meeting schedule "One-off" 2026-12-03 14:00 Europe/Zurich')
    await said(group, "!meeting cancel M3 no quorum")
    await said(group, '!meeting schedule "ISCG plenary" 2027-01-20 12:00 Europe/Zurich', by=ADMIN, room=GROUP)
    body = await published(group)

    instances = assert_parsers_agree(body)
    starts = {(start, summary) for start, _, summary in instances}
    zurich = ZoneInfo("Europe/Zurich")
    assert (datetime(2026, 12, 15, 16, tzinfo=zurich), "M1 · Zurich weekly") in starts
    assert (datetime(2026, 12, 14, 10, tzinfo=zurich), "M1 · Zurich weekly") not in starts
    assert (datetime(2026, 12, 21, 10, tzinfo=zurich), "M1 · Zurich weekly") not in starts
    assert (
        datetime(2027, 4, 5, 8, tzinfo=UTC),
        "M1 · Zurich weekly",
    ) in starts  # summer time: 10:00 = 08:00Z
    assert (datetime(2027, 3, 16, 13, tzinfo=UTC), "M2 · NY weekly") in starts  # EDT from 14 March
    assert not any(summary == "M3 · One-off" for _, summary in starts)  # cancelled
    assert len([s for _, s in starts if s == "M2 · NY weekly"]) == 40

    # Each is what the bot itself computes.
    async with UnitOfWork(group.database.sessions) as uow:
        series = await uow.meetings.get(1)
    ours = occurrences(
        zone=series.timezone,
        start_local=series.start_local,
        duration=timedelta(minutes=series.duration_minutes),
        rrule=series.rrule,
        overrides=series.overrides,
        window_start=WINDOW[0],
        window_end=WINDOW[1],
        include_cancelled=False,
    )
    assert {(o.start, o.end) for o in ours} == {(a, b) for a, b, s in instances if s.startswith("M1 ")}

    lines = unfold(body)
    assert "STATUS:CANCELLED" in lines
    assert "CATEGORIES:ISCG" in lines and "CATEGORIES:cop,Child Online Protection" in lines
    assert "EXDATE;TZID=Europe/Zurich:20261221T100000" in lines
    assert "RECURRENCE-ID;TZID=Europe/Zurich:20261214T100000" in lines
    assert any(line.startswith("DESCRIPTION:Cancelled: no quorum") for line in lines)
    calendar = icalendar.Calendar.from_ical(body)
    plenary = [e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == "M4 · ISCG plenary"]
    assert str(plenary[0]["UID"]) == "meeting-4@iscg-bot"


async def test_same_data_same_bytes_and_sequence_rises(group):
    await said(group, '!meeting schedule "Series" 2026-12-07 10:00 Europe/Zurich every week')
    first = await published(group)
    assert await published(group) == first
    assert feed_etag(first) == feed_etag(await published(group))

    seen = []  # (UID, SEQUENCE) of every VEVENT after each step: schedule, move one, move all, cancel
    for command in (
        "!meeting move M1 2026-12-15 16:00 occurrence 2026-12-14",
        "!meeting move M1 2026-12-08 11:00",
        "!meeting cancel M1 budget cut",
        None,
    ):
        body = await published(group)
        assert await published(group) == body
        calendar = icalendar.Calendar.from_ical(body)
        seen.append({(str(e["UID"]), int(e["SEQUENCE"])) for e in calendar.walk("VEVENT")})
        check_feed(body)
        if command:
            await said(group, command)
    assert all(len(step) == 1 for step in seen), seen  # overrides share the master's UID and SEQUENCE
    uids = [uid for step in seen for uid, _ in step]
    sequences = [sequence for step in seen for _, sequence in step]
    assert set(uids) == {"meeting-1@iscg-bot"}
    assert all(a < b for a, b in itertools.pairwise(sequences)), sequences
    assert str(_master(body)["STATUS"]) == "CANCELLED"
    assert feed_etag(body) != feed_etag(first)


def _master(body: bytes):
    calendar = icalendar.Calendar.from_ical(body)
    return next(e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e)


async def test_a_multi_line_form_title_and_agenda_survive(group):
    form = "\r\n".join(
        [
            "!meeting schedule",
            "title: A; B, C \\ D",
            "when: 2026-12-03 14:00 Europe/Zurich",
            "agenda:",
            "- BEGIN:VEVENT",
            "- END:VCALENDAR; x, y \\n",
        ]
    )
    await said(group, form)
    body = await published(group)
    assert_parsers_agree(body)
    event = next(iter(icalendar.Calendar.from_ical(body).walk("VEVENT")))
    assert str(event["SUMMARY"]) == "M1 · A; B, C \\ D"
    assert "1. BEGIN:VEVENT\n2. END:VCALENDAR; x, y \\n" in str(event["DESCRIPTION"])


# --- pure ------------------------------------------------------------------------------------------------

NASTY = "line one\r\nline two\rthree\n; , \\ \\n BEGIN:VEVENT\r\nEND:VCALENDAR\nDTSTART:1"


@pytest.mark.parametrize("text", [NASTY, "😀" * 2500, "é" * 100 + "👩‍👩‍👧" * 400, "x" * 74 + "😀"])
def test_hostile_text_round_trips_in_both_parsers(text):
    meeting = FakeMeeting(1, text, datetime(2026, 12, 3, 14), agenda=[Item(text), Item("plain")])
    body = feed([meeting], minutes_url=lambda m: "https://minutes.example/M1")
    assert_parsers_agree(body)
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    event = next(iter(icalendar.Calendar.from_ical(body).walk("VEVENT")))
    assert str(event["SUMMARY"]) == f"M1 · {expected}"
    description = str(event["DESCRIPTION"])
    assert description.startswith(f"Agenda:\n1. {expected}\n2. plain\n\n")
    assert description.endswith("Minutes: https://minutes.example/M1")
    parsed = check_feed(body).events[0]
    assert parsed.summary == f"M1 · {expected}"
    assert parsed.description == description


def test_folding_counts_octets_and_keeps_characters_whole():
    for line in ["a" * 200, "é" * 200, "😀" * 100, "a" + "😀" * 100, "DESCRIPTION:" + "€" * 90]:
        folded = fold(line).encode()
        assert all(len(part) <= 75 for part in folded.split(b"\r\n"))
        assert folded.replace(b"\r\n ", b"").decode() == line
    assert fold("x" * 75) == "x" * 75
    assert escape_text("a\x00b\x1bc\td") == "abc\td"


def test_each_line_is_folded_on_its_own_at_75_octets():
    ascii_lines = ["x" * n for n in (0, 1, 74, 75, 76, 149, 150, 151, 300)]
    wide = ["é" * 37, "é" * 38, "a" + "é" * 37, "😀" * 18 + "abc", "😀" * 19, "€" * 25 + "x", "é" * 200]
    body = folded_lines([*ascii_lines, *wide])
    assert unfold(body) == [*ascii_lines, *wide]  # each line whole again, in order
    assert all(len(part) <= 75 for part in body.split(b"\r\n"))
    assert folded_lines(["x" * 75, "é" * 37]) == b"x" * 75 + b"\r\n" + "é".encode() * 37 + b"\r\n"
    assert folded_lines(["x" * 76]) == b"x" * 75 + b"\r\n x\r\n"
    assert folded_lines([]) == b""


def test_calendar_properties_are_written_exactly():
    body = feed([FakeMeeting(1, "Call", datetime(2026, 12, 3, 14))])
    lines = unfold(body)
    assert lines[:4] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//iscg-bot//ISCG bot//EN",
        "CALSCALE:GREGORIAN",
    ]
    for line in [
        "NAME:ISCG — all subjects",
        "X-WR-CALNAME:ISCG — all subjects",
        "X-WR-CALDESC:Meetings of the ISCG",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        "SOURCE;VALUE=URI:https://bot.example/c.ics",
        "URL:https://meet.example.org/cop",
        "LOCATION:https://meet.example.org/cop",
        "CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=Join:https://meet.example.org/cop",
        "DTSTART;TZID=Europe/Zurich:20261203T140000",
        "DTEND;TZID=Europe/Zurich:20261203T150000",
        "DTSTAMP:20261125T090000Z",
        "LAST-MODIFIED:20261125T090000Z",
        "SUMMARY:M1 · Call",
        "STATUS:CONFIRMED",
    ]:
        assert line in lines, line
    assert last_modified([FakeMeeting(1, "Call", datetime(2026, 12, 3, 14))]) == START
    assert last_modified([]) is None
    assert feed_etag(body).startswith('"') and len(feed_etag(body)) == 66


ZONES = ["Europe/Zurich", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/St_Johns"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("hour", [1, 2, 3, 10, 23])
def test_vtimezone_times_equal_zoneinfo(zone, hour):
    """A daily series at hh:30 for two years: every start the parsers compute equals zoneinfo's, also when the
    zone is renamed so that neither parser can fall back on its own zone database, only on our VTIMEZONE."""
    tz = ZoneInfo(zone)
    start = datetime(2026, 12, 1, hour, 30)
    until = datetime(2028, 12, 1, tzinfo=UTC)
    meeting = FakeMeeting(1, "Daily", start, timezone=zone, rrule="FREQ=DAILY;UNTIL=20281201T000000Z")
    body = feed([meeting])
    check_feed(body)
    expected = []
    wall = start
    while (instant := wall.replace(tzinfo=tz).astimezone(UTC)) <= until:
        expected.append(instant)
        wall += timedelta(days=1)
    window = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))
    for ics in (body, renamed(body, zone)):
        assert sorted(s for s, _, _ in expand_recurring(ics, *window)) == expected
        assert sorted(s for s, _, _ in expand_ical(ics, *window)) == expected


@pytest.mark.parametrize(
    ("zone", "year"),
    [
        ("Europe/Dublin", 2026),  # "negative DST" in the tz database
        ("Africa/Casablanca", 2026),  # Ramadan: no weekday rule, single onsets
        ("Asia/Tehran", 2021),  # DST abolished in 2022
        ("America/Santiago", 2026),
        ("Australia/Lord_Howe", 2026),  # a 30-minute shift
        ("Pacific/Chatham", 2026),  # +12:45 / +13:45
        ("America/New_York", 2005),  # the 2007 rule change
    ],
)
def test_vtimezone_follows_irregular_zones(zone, year):
    tz = ZoneInfo(zone)
    start = datetime(year, 1, 1, 12)
    until = datetime(year + 3, 1, 1, tzinfo=UTC)
    meeting = FakeMeeting(
        1,
        "Daily",
        start,
        timezone=zone,
        rrule=f"FREQ=DAILY;UNTIL={until:%Y%m%dT%H%M%SZ}",
        series_end_utc=until,
    )
    body = feed([meeting])
    check_feed(body)
    expected = [(start + timedelta(days=n)).replace(tzinfo=tz).astimezone(UTC) for n in range(3 * 366)]
    expected = [e for e in expected if e <= until]
    window = (datetime(year - 1, 12, 1, tzinfo=UTC), datetime(year + 3, 2, 1, tzinfo=UTC))
    for ics in (body, renamed(body, zone)):
        assert sorted(s for s, _, _ in expand_recurring(ics, *window)) == expected
        assert sorted(s for s, _, _ in expand_ical(ics, *window)) == expected


def test_wall_times_that_do_not_exist_or_repeat():
    # A weekly 02:30 series meets on the spring-forward Sunday (29 March 2026 in Zurich): at 03:30.
    series = FakeMeeting(
        1,
        "Night",
        datetime(2026, 3, 1, 2, 30),
        rrule="FREQ=WEEKLY;UNTIL=20260430T215959Z",
        series_end_utc=datetime(2026, 4, 30, tzinfo=UTC),
    )
    # A one-off in the gap, and one ending in the repeated hour of the fall-back night (25 October 2026).
    gap = FakeMeeting(2, "Gap", datetime(2026, 3, 29, 2, 15))
    fold = FakeMeeting(3, "Fold", datetime(2026, 10, 25, 2, 30))
    body = feed([series, gap, fold])
    lines = unfold(body)
    assert "RECURRENCE-ID;TZID=Europe/Zurich:20260329T023000" in lines
    assert "DTSTART;TZID=Europe/Zurich:20260329T033000" in lines
    assert "DTSTART;TZID=Europe/Zurich:20260329T031500" in lines
    assert "DTEND:20261025T013000Z" in lines
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    check_feed(body)
    found = expand_recurring(body, *window)
    assert expand_ical(body, *window) == found
    assert (
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 30, tzinfo=UTC),
        "M1 · Night",
    ) in found
    assert (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        "M3 · Fold",
    ) in found


def test_overrides_that_match_no_occurrence_are_left_out_and_odd_links_are_text_only():
    series = FakeMeeting(
        1,
        "Weekly",
        datetime(2026, 12, 7, 10),
        rrule="FREQ=WEEKLY;COUNT=5",
        link="https://meet.example/x y\r\nBEGIN:VEVENT",
        overrides=[
            Override(datetime(2026, 12, 8, 10), start_local=datetime(2026, 12, 9, 10)),  # a Tuesday: none
            Override(datetime(2026, 12, 14, 10), start_local=datetime(2026, 12, 14, 10)),  # not moved at all
            Override(datetime(2026, 12, 21, 10), duration_minutes=30),
            Override(datetime(2026, 12, 28, 10), cancelled=True, reason="holidays; see you, all"),
        ],
    )
    one_off = FakeMeeting(
        2,
        "Once",
        datetime(2026, 12, 8, 15),
        link=None,
        overrides=[Override(datetime(2026, 12, 8, 15), cancelled=True)],
    )
    body = feed([series, one_off])
    instances = assert_parsers_agree(body)
    lines = unfold(body)
    assert [line for line in lines if line.startswith("RECURRENCE-ID")] == [
        "RECURRENCE-ID;TZID=Europe/Zurich:20261221T100000"
    ]
    assert "EXDATE;TZID=Europe/Zurich:20261228T100000" in lines
    assert not any(line.startswith(("URL:https://meet", "CONFERENCE")) for line in lines)
    assert len([i for i in instances if i[2] == "M1 · Weekly"]) == 4
    assert len([i for i in instances if i[2] == "M2 · Once"]) == 1
    master = _master(body)
    assert str(master["LOCATION"]) == "https://meet.example/x y\nBEGIN:VEVENT"
    assert "- Mon 28 Dec 2026: holidays; see you, all" in str(master["DESCRIPTION"])


def test_subject_titles_with_commas_stay_one_category():
    body = render_feed(
        [FakeMeeting(1, "Call", datetime(2026, 12, 3, 14))],
        info=INFO,
        subjects={1: Subject("cop", "Child, Online; Protection")},
    )
    check_feed(body)
    assert "CATEGORIES:cop,Child Online\\; Protection" in unfold(body)
    event = next(iter(icalendar.Calendar.from_ical(body).walk("VEVENT")))
    assert list(event["CATEGORIES"].cats) == ["cop", "Child Online; Protection"]
    assert check_feed(body).events[0].categories == ["cop", "Child Online; Protection"]


def test_a_rule_change_in_the_span_gets_two_runs():
    meeting = FakeMeeting(1, "Old", datetime(2005, 6, 1, 10), timezone="America/New_York")
    later = FakeMeeting(2, "New", datetime(2009, 6, 1, 10), timezone="America/New_York")
    lines = unfold(feed([meeting, later]))
    assert "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;COUNT=3" in lines
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU" in lines
    check_feed(feed([meeting, later]))


def test_ten_thousand_meetings(capsys):
    zones = ["Europe/Zurich", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
    meetings = [
        FakeMeeting(
            n,
            f"Meeting {n}",
            datetime(2027, 1, 1, 9) + timedelta(hours=n),
            timezone=zones[n % 4],
            rrule="FREQ=WEEKLY;COUNT=10" if n % 3 == 0 else None,
            agenda=[Item("Review of the outputs"), Item("AOB")],
        )
        for n in range(1, 10_001)
    ]
    began = time.perf_counter()
    body = feed(meetings)
    took = time.perf_counter() - began
    with capsys.disabled():
        print(f"\n10,000 meetings: {len(body) / 1e6:.1f} MB in {took:.2f} s")
    assert took < 20
    assert body.count(b"BEGIN:VEVENT") == 10_000
