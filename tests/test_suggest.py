"""Slot suggestion: the pure ranking (iscg_bot.domain.suggest) and `!meeting suggest` through the chat driver.

The chat clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

import itertools
import time as timer
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscg_bot.calendar.imported import ImportedEvent
from iscg_bot.commands import BUILTIN_MODULES, build_router
from iscg_bot.domain.suggest import Attendee, candidate_starts, rank_slots
from tests.chat import ADMIN, COORD, Chat, said
from tests.support.membership import join

GENEVA = Attendee("@geneva:x", "Europe/Zurich")
TOKYO = Attendee("@tokyo:x", "Asia/Tokyo")
NEW_YORK = Attendee("@ny:x", "America/New_York")
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)
HOUR = timedelta(hours=1)


def best(attendees, *, busy=(), start=MONDAY, end=MONDAY + timedelta(days=1), duration=HOUR, count=3):
    return rank_slots(
        attendees=attendees, busy=busy, window_start=start, window_end=end, duration=duration, count=count
    )


# ---- the ranking -----------------------------------------------------------------------------------------


def test_candidates_are_on_the_hour_and_half_hour_and_end_inside_the_window():
    starts = candidate_starts(MONDAY + timedelta(minutes=10), MONDAY + timedelta(hours=3), HOUR)
    assert [s.strftime("%H:%M") for s in starts] == ["00:30", "01:00", "01:30", "02:00"]


def test_geneva_and_new_york_meet_in_the_overlap_of_their_days():
    slots = best([GENEVA, NEW_YORK])
    # Geneva works 07:00–19:00 UTC in December, New York 13:00–01:00 UTC: 13:00–18:00 UTC suits both.
    assert [s.start.strftime("%H:%M") for s in slots] == ["13:00", "14:00", "15:00"]
    assert all(s.out_of_hours == () for s in slots)


def test_geneva_tokyo_and_new_york_cannot_all_be_in_hours_so_one_is_left_out():
    slots = best([GENEVA, TOKYO, NEW_YORK], end=MONDAY + timedelta(days=2))
    assert all(len(s.out_of_hours) == 1 for s in slots)
    # In UTC: Tokyo works 23:00–11:00, New York 13:00–01:00, Geneva 07:00–19:00. At 00:00 only Geneva sleeps.
    assert slots[0].start == MONDAY
    assert slots[0].out_of_hours == (GENEVA,)
    # Then 07:00 UTC: Geneva 08:00, Tokyo 16:00, New York 02:00.
    assert slots[1].start == MONDAY + timedelta(hours=7) and slots[1].out_of_hours == (NEW_YORK,)


def test_a_busy_interval_is_avoided():
    busy = [(MONDAY + timedelta(hours=13), MONDAY + timedelta(hours=14, minutes=30))]
    slots = best([GENEVA, NEW_YORK], busy=busy)
    for slot in slots:
        assert slot.end <= busy[0][0] or slot.start >= busy[0][1]
    assert slots[0].start == MONDAY + timedelta(hours=14, minutes=30)  # touching the busy one is fine


def test_the_window_is_honoured_and_the_meeting_ends_inside_it():
    start, end = MONDAY + timedelta(hours=15), MONDAY + timedelta(hours=17)
    slots = best([GENEVA], start=start, end=end, duration=timedelta(minutes=90))
    assert [(s.start.strftime("%H:%M"), s.end.strftime("%H:%M")) for s in slots] == [("15:00", "16:30")]
    assert best([GENEVA], start=start, end=end, duration=timedelta(hours=3)) == []


def test_the_duration_counts_against_the_end_of_the_working_day():
    # Geneva's day ends 19:00 UTC: a 2-hour meeting at 17:30 UTC would run over, at 17:00 it does not.
    slots = best(
        [GENEVA], start=MONDAY + timedelta(hours=17), end=MONDAY + timedelta(hours=20), duration=2 * HOUR
    )
    assert slots[0].start == MONDAY + timedelta(hours=17) and slots[0].out_of_hours == ()
    late = best([GENEVA], start=MONDAY + timedelta(hours=17, minutes=30), duration=2 * HOUR, count=1)
    assert late[0].start.strftime("%H:%M") == "17:30" and late[0].out_of_hours == (GENEVA,)


def test_weekends_in_the_given_zone_come_last():
    friday = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # 19:00 in Zurich; the weekend starts at 23:00 UTC
    slots = rank_slots(
        attendees=[GENEVA],
        busy=[],
        window_start=friday,
        window_end=friday + timedelta(days=4),
        duration=HOUR,
        weekend_zone="Europe/Zurich",
    )
    assert [s.start for s in slots] == [
        friday,  # Friday 19:00–20:00 Zurich, still a weekday and in hours
        datetime(2026, 12, 7, 7, 0, tzinfo=UTC),  # then Monday 08:00 Zurich, not Saturday
        datetime(2026, 12, 7, 8, 0, tzinfo=UTC),
    ]


def test_ties_go_to_the_earliest_and_proposals_do_not_overlap():
    slots = best([], count=3)  # nobody to please: every slot ties
    assert [s.start.strftime("%H:%M") for s in slots] == ["00:00", "01:00", "02:00"]


def test_working_hours_follow_each_zones_daylight_saving():
    # New York leaves daylight saving on 1 Nov 2026: 08:00 local is 12:00 UTC on 30 Oct, 13:00 UTC on 2 Nov.
    for day, hour in ((datetime(2026, 10, 30, tzinfo=UTC), 12), (datetime(2026, 11, 2, tzinfo=UTC), 13)):
        slots = best([NEW_YORK], start=day + timedelta(hours=10), end=day + timedelta(days=1), count=1)
        assert slots[0].start == day + timedelta(hours=hour)


def test_two_months_for_many_people_is_fast():
    zones = ["Europe/Zurich", "Asia/Tokyo", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
    people = [Attendee(f"@p{i}:x", zones[i % len(zones)]) for i in range(200)]
    busy = [(MONDAY + timedelta(hours=5 * i), MONDAY + timedelta(hours=5 * i + 1)) for i in range(300)]
    began = timer.perf_counter()
    slots = best(people, busy=busy, end=MONDAY + timedelta(days=60))
    assert len(slots) == 3
    assert timer.perf_counter() - began < 1.0


ZONES = ["Europe/Zurich", "Asia/Tokyo", "America/New_York", "Asia/Kolkata", "Australia/Adelaide", "UTC"]
HALF_HOURS = st.integers(min_value=0, max_value=24 * 2 * 3)


def in_hours(attendee: Attendee, start: datetime, end: datetime) -> bool:
    """The plain definition: the meeting lies between 08:00 and 20:00 of the local day it starts on."""
    tz = ZoneInfo(attendee.zone)
    day = start.astimezone(tz).date()
    return datetime.combine(day, time(8), tzinfo=tz) <= start and end <= datetime.combine(
        day, time(20), tzinfo=tz
    )


@settings(max_examples=150, deadline=None)
@given(
    zones=st.lists(st.sampled_from(ZONES), max_size=5),
    busy=st.lists(st.tuples(HALF_HOURS, st.integers(min_value=1, max_value=12)), max_size=8),
    offset=st.integers(min_value=0, max_value=59),
    days=st.integers(min_value=1, max_value=3),
    minutes=st.integers(min_value=1, max_value=16).map(lambda n: 15 * n),
    season=st.sampled_from([datetime(2026, 12, 7, tzinfo=UTC), datetime(2027, 3, 26, tzinfo=UTC)]),
)
def test_the_ranking_agrees_with_a_brute_force_search(zones, busy, offset, days, minutes, season):
    attendees = [Attendee(f"@p{i}:x", zone) for i, zone in enumerate(zones)]
    intervals = [
        (season + k * timedelta(minutes=30), season + (k + n) * timedelta(minutes=30)) for k, n in busy
    ]
    start, end, duration = (
        season + timedelta(minutes=offset),
        season + timedelta(days=days),
        timedelta(minutes=minutes),
    )
    slots = best(attendees, busy=intervals, start=start, end=end, duration=duration)
    candidates = [
        s
        for s in candidate_starts(start, end, duration)
        if not any(b < s + duration and s < e for b, e in intervals)
    ]

    def out(s):
        return tuple(a for a in attendees if not in_hours(a, s, s + duration))

    if not candidates:
        assert slots == []
        return
    first = min(candidates, key=lambda s: (len(out(s)), s))
    assert (slots[0].start, slots[0].out_of_hours) == (first, out(first))
    for slot in slots:
        assert slot.start in candidates and slot.out_of_hours == out(slot.start)
        assert start <= slot.start and slot.end <= end and slot.start.minute in (0, 30)
    for a, b in itertools.pairwise(slots):
        assert (len(a.out_of_hours), a.start) <= (len(b.out_of_hours), b.start)
        assert a.end <= b.start or b.end <= a.start


# ---- the command -----------------------------------------------------------------------------------------

FP = "@fp:itu.int"
TOKYO_MEMBER = "@tokyo:example.org"
MEMBER = "@member:example.org"
USAGE = "Usage: !meeting suggest <duration> [between <first>] [and <last>]"


@pytest.fixture
async def room(tmp_path):
    """Subject cop (Europe/Zurich) with coordinator @coord and ITU-T focal point @fp; no zones set yet."""
    extra = () if "iscg_bot.commands.suggest" in BUILTIN_MODULES else ("iscg_bot.commands.suggest",)
    chat = await Chat.open(tmp_path, router=build_router(extra_modules=extra))
    try:
        await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
        await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
        await said(chat, f"!role add {FP} focal-point ITU-T", by=ADMIN)
        yield chat
    finally:
        await chat.close()


async def test_suggest_for_a_room_in_three_zones(room):
    await said(room, "!tz America/New_York")
    await said(room, "!tz Europe/Zurich", by=FP)
    await join(room, TOKYO_MEMBER)
    await said(room, "!tz Asia/Tokyo", by=TOKYO_MEMBER)
    reply = await said(room, "!meeting suggest 90m between 2026-12-07 and 2026-12-08")
    rows = reply.splitlines()
    assert rows[0] == (
        "Best times for a 90-minute meeting between Mon 7 Dec and Tue 8 Dec 2026 (3 people with a time zone):"
    )
    assert rows[1] == (
        "1. Mon 7 Dec 2026 08:00–09:30 Europe/Zurich (UTC+01:00) · 07:00–08:30 UTC · "
        "02:00–03:30 America/New_York · 16:00–17:30 Asia/Tokyo"
    )
    assert rows[2] == "   1 out of hours: @coord:example.org (02:00 America/New_York)"
    assert rows[3] == '   !meeting schedule "…" 2026-12-07 08:00 Europe/Zurich for 90m'
    assert len([r for r in rows if r[:2] in ("1.", "2.", "3.")]) == 3


async def test_suggest_avoids_the_subjects_meetings_and_pastes_into_schedule(room):
    await said(room, "!tz Europe/Zurich")
    await said(room, '!meeting schedule "Call" 2026-11-26 08:00 Europe/Zurich for 2h')
    reply = await said(room, "!meeting suggest 1h")  # from tomorrow, Thu 26 Nov, for 14 days
    rows = reply.splitlines()
    assert rows[0].startswith("Best times for a 60-minute meeting between Thu 26 Nov and Wed 9 Dec 2026")
    assert rows[1].startswith("1. Thu 26 Nov 2026 10:00–11:00 Europe/Zurich")
    assert rows[2] == "   Everyone within working hours (08:00–20:00)."
    hint = rows[3].strip()
    assert hint == '!meeting schedule "…" 2026-11-26 10:00 Europe/Zurich for 60m'
    scheduled = await said(room, hint.replace("…", "Follow-up"))
    assert scheduled.startswith("Scheduled M2: Follow-up")


async def test_suggest_without_anyone_s_zone_uses_the_subjects_working_hours(room):
    reply = await said(room, "!meeting suggest 60m between 2026-12-07 and 2026-12-07")
    rows = reply.splitlines()
    assert rows[0] == "Best times for a 60-minute meeting on Mon 7 Dec 2026."
    assert rows[1] == "Nobody here has set a time zone (!tz), so I used the working hours of Europe/Zurich."
    assert rows[2].startswith("1. Mon 7 Dec 2026 08:00–09:00 Europe/Zurich")
    assert rows[3] == "   Within working hours (08:00–20:00) in Europe/Zurich."


async def test_suggest_leaves_weekends_for_when_no_weekday_is_free(room):
    await said(room, "!tz Europe/Zurich")
    reply = await said(room, "!meeting suggest 60m between 2026-12-05 and 2026-12-07")  # Saturday to Monday
    assert reply.splitlines()[0] == (
        "Best times for a 60-minute meeting between Sat 5 Dec and Mon 7 Dec 2026 "
        "(2 people: 1 with a time zone, 1 counted in the subject's, Europe/Zurich):"
    )
    days = [row.split(" 2026")[0] for row in reply.splitlines() if row[:2] in ("1.", "2.", "3.")]
    assert days == ["1. Mon 7 Dec", "2. Mon 7 Dec", "3. Mon 7 Dec"]


async def test_suggest_avoids_the_imported_calendars(room):
    class Feeds:  # stands in for iscg_bot.calendar.imported.ImportedCalendars on the app's services
        def events_between(self, start, end):
            tsag = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
            return [ImportedEvent("https://x/tsag.ics", "t", "TSAG", tsag, tsag + timedelta(hours=4))]

    room.services.imported = Feeds()
    await said(room, "!tz Europe/Zurich")
    reply = await said(room, "!meeting suggest 60m between 2026-12-07 and 2026-12-07")
    assert reply.splitlines()[1].startswith("1. Mon 7 Dec 2026 12:00–13:00 Europe/Zurich")  # TSAG until 12:00


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        (
            "90m between 2026-12-10 and 2026-12-01",
            "The window ends (2026-12-01) before it starts (2026-12-10).",
        ),
        ("90m between 2026-12-01 and 2027-03-01", "A window holds at most 60 days; that one has 91."),
        ("90m between 2026-12-01", "Give both ends of the window: between <date> and <date>."),
        ("13h", "A suggested meeting lasts at most 12 hours."),
    ],
)
async def test_suggest_refuses_a_bad_window(room, arguments, sentence):
    reply = await said(room, f"!meeting suggest {arguments}")
    assert reply.splitlines() == [sentence, USAGE]


async def test_suggest_refuses_a_window_in_the_past(room):
    reply = await said(room, "!meeting suggest 1h between 2026-11-01 and 2026-11-20")
    assert reply == "That window is over; give dates to come."


async def test_suggest_is_for_those_who_may_schedule(room):
    await join(room, MEMBER)
    reply = await said(room, "!meeting suggest 1h", by=MEMBER)
    assert reply == (
        "Only this subject's coordinator, the secretariat, the Chair or the management team may run "
        "!meeting suggest."
    )
