"""Scheduling through the chat driver: every meeting command's happy path and its refusals.

The clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from iscg_bot.chat.events import MembershipChange
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, COORD, COP, Chat, said

AI = "!ai:example.org"
GROUP = "!iscg:example.org"
FP = "@fp:itu.int"
MEMBER = "@member:example.org"


@pytest.fixture
async def group(chat):
    """Two subjects: cop (coordinator @coord, ITU-T focal point @fp) and ai (ITU-D focal point @fp)."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, "!subject create ai AI for Good", by=ADMIN, room=AI)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, f"!role add {FP} focal-point ITU-T", by=ADMIN)
    await said(chat, f"!role add {FP} focal-point ITU-D", by=ADMIN, room=AI)
    await said(chat, "!group bind", by=ADMIN, room=GROUP)
    return chat


async def stored(chat: Chat, meeting_id: int):
    async with UnitOfWork(chat.database.sessions) as uow:
        return await uow.meetings.get(meeting_id)


async def test_schedule_one_line(group):
    reply = await said(group, '!meeting schedule "Coordination call" 2026-12-03 14:00 Europe/Zurich for 90m')
    assert reply.splitlines()[:2] == [
        "Scheduled M1: Coordination call",
        "Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC",
    ]
    assert "!rsvp M1 yes|no|maybe" in reply
    meeting = await stored(group, 1)
    assert (meeting.timezone, meeting.duration_minutes, meeting.sequence) == ("Europe/Zurich", 90, 0)


async def test_schedule_as_a_form_with_agenda_and_repetition(group):
    form = "\n".join(
        [
            "!meeting schedule",
            "title: Child Online Protection — coordination call",
            "when: 2026-12-03 14:00 Europe/Zurich",
            "duration: 90m",
            "repeat: every 2 weeks until 2027-06-30",
            "link: https://meet.example.org/cop",
            "agenda:",
            "- Review of the Q3 outputs",
            "- Joint workshop planning",
        ]
    )
    reply = await said(group, form)
    assert reply.splitlines() == [
        "Scheduled M1: Child Online Protection — coordination call",
        "Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC",
        "Repeats every 2 weeks until 2027-06-30",
        "Join: https://meet.example.org/cop",
        "Agenda:",
        "• Review of the Q3 outputs",
        "• Joint workshop planning",
        "Will you come? !rsvp M1 yes|no|maybe",
    ]
    assert (await stored(group, 1)).rrule.startswith("FREQ=WEEKLY;INTERVAL=2")


async def test_times_are_shown_in_the_zones_of_the_rooms_members(group):
    await group.deliver(
        MembershipChange(
            event_id="$tokyo",
            room_id=COP,
            sender=MEMBER,
            server_time=group.clock.now(),
            user_id=MEMBER,
            membership="join",
            previous=None,
            display_name="Member",
        )
    )
    await said(group, "!tz Asia/Tokyo", by=MEMBER)
    reply = await said(group, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich')
    assert reply.splitlines()[1] == (
        "Thu 3 Dec 2026 14:00–15:00 Europe/Zurich (UTC+01:00) · 13:00–14:00 UTC · 22:00–23:00 Asia/Tokyo"
    )


async def test_a_time_without_zone_is_read_in_the_senders_zone(group):
    await said(group, "!tz America/New_York")
    reply = await said(group, '!meeting schedule "Call" 2026-12-03 08:00')
    assert "14:00–15:00 Europe/Zurich" in reply.splitlines()[1]  # the subject's zone; 08:00 New York


@pytest.mark.parametrize(
    ("when", "starts"),
    [
        ("2026-11-24 10:00 Europe/Zurich", "That is in the past"),
        ("2026-12-03 14:00 CST", '"CST" names several time zones'),
        ("2027-03-28 02:30 Europe/Zurich", "2027-03-28 02:30 does not exist in Europe/Zurich"),
        ("blorp", '"blorp" is not a time I can read'),
    ],
)
async def test_bad_times_are_refused_with_the_usage(group, when, starts):
    reply = await said(group, f'!meeting schedule "Call" {when}')
    sentence, usage = reply.split("\n")
    assert sentence.startswith(starts), sentence
    assert usage.startswith("Usage: !meeting schedule <title> <when>")


async def test_only_those_who_run_the_subject_may_schedule(group):
    assert await said(group, '!meeting schedule "Call" tomorrow 14:00', by=MEMBER) == (
        "Only this subject's coordinator, the secretariat, the Chair or the management team may run "
        "!meeting schedule."
    )
    assert (await said(group, '!meeting schedule "Call" tomorrow 14:00', by=FP)).startswith("Only")


async def test_an_overlap_with_the_same_subject_is_refused_unless_forced(group):
    await said(group, '!meeting schedule "First" 2026-12-03 14:00 Europe/Zurich for 90m')
    refused = await said(group, '!meeting schedule "Second" 2026-12-03 15:00 Europe/Zurich')
    assert refused.splitlines() == [
        "Scheduling not done: it overlaps",
        "• M1 “First” Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC"
        " — another meeting of this subject",
        "Add force to do it anyway.",
    ]
    adjacent = await said(group, '!meeting schedule "Right after" 2026-12-03 15:30 Europe/Zurich')
    assert adjacent.startswith("Scheduled M2")
    forced = await said(group, '!meeting schedule "Second" 2026-12-03 15:00 Europe/Zurich force')
    assert forced.startswith("Scheduled M3") and "Scheduled despite overlapping:" in forced


async def test_a_meeting_sharing_a_focal_point_conflicts(group):
    await said(group, '!meeting schedule "AI call" 2026-12-03 14:00 Europe/Zurich', by=ADMIN, room=AI)
    refused = await said(group, '!meeting schedule "COP call" 2026-12-03 14:30 Europe/Zurich')
    assert f"a meeting of ai, which {FP} also attends" in refused


async def test_group_wide_meetings_conflict_with_everyone(group):
    await said(group, '!meeting schedule "ISCG plenary" 2026-12-03 14:00 Europe/Zurich', by=ADMIN, room=GROUP)
    refused = await said(group, '!meeting schedule "COP call" 2026-12-03 14:30 Europe/Zurich')
    assert "a group-wide meeting" in refused


async def test_a_series_conflicts_with_a_later_occurrence(group):
    await said(group, '!meeting schedule "Weekly" 2026-12-03 14:00 Europe/Zurich every week')
    refused = await said(group, '!meeting schedule "One-off" 2027-01-14 14:30 Europe/Zurich')
    assert "Thu 14 Jan 2027 14:00–15:00 Europe/Zurich" in refused


async def test_list_show_and_past(group):
    await said(group, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich for 90m')
    await said(group, '!meeting schedule "Series" 2026-12-01 10:00 Europe/Zurich every week times 3')
    listing = await said(group, "!meeting list", by=MEMBER)
    assert listing.splitlines() == [
        "Meetings to come:",
        "• M2 Tue 1 Dec 2026 10:00–11:00 Europe/Zurich (UTC+01:00) · 09:00–10:00 UTC — Series (series)",
        "• M1 Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC — Call",
    ]
    group.clock.advance(timedelta(days=9))  # Fri 4 Dec: M1 held, M2 held once
    past = await said(group, "!meeting list past", by=MEMBER)
    assert "M1 Thu 3 Dec 2026" in past and "M2 Tue 1 Dec 2026" in past
    shown = await said(group, "!meeting show M2", by=MEMBER)
    assert shown.splitlines()[1].startswith("Tue 8 Dec 2026 10:00–11:00")
    assert "Repeats every week, 3 times" in shown


async def test_move_a_meeting_and_one_occurrence(group):
    await said(group, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich')
    moved = await said(group, "!meeting move M1 2026-12-04 09:00 Europe/Zurich for 30m")
    assert moved.splitlines()[:2] == [
        "M1 moved: Call",
        "Fri 4 Dec 2026 09:00–09:30 Europe/Zurich (UTC+01:00) · 08:00–08:30 UTC",
    ]
    await said(group, '!meeting schedule "Series" 2026-12-07 10:00 Europe/Zurich every week')
    one = await said(group, "!meeting move M2 2026-12-15 16:00 occurrence 2026-12-14")
    assert one.startswith("The 2026-12-14 meeting of M2 moved: Series")
    shown = await said(group, "!meeting show M2")
    assert "Mon 14 Dec: moved to Tue 15 Dec 2026 16:00–17:00" in shown
    assert (await stored(group, 1)).sequence == 1 and (await stored(group, 2)).sequence == 1
    assert (await said(group, "!meeting move M2 2026-12-20 10:00 occurrence 2026-12-16")).startswith(
        "M2 has no meeting on 2026-12-16."
    )


async def test_cancel_one_occurrence_then_the_whole_meeting(group):
    await said(group, '!meeting schedule "Series" 2026-12-07 10:00 Europe/Zurich every week')
    assert await said(group, "!meeting cancel M1 occurrence 2026-12-21 holidays") == (
        "The 2026-12-21 meeting of M1 “Series” is cancelled: holidays"
    )
    assert "Mon 21 Dec: cancelled (holidays)" in await said(group, "!meeting show M1")
    assert await said(group, "!meeting cancel M1 budget cut") == "M1 “Series” is cancelled: budget cut"
    assert await said(group, "!meeting cancel M1") == "M1 was cancelled."
    assert "M1" not in await said(group, "!meeting list")
    assert "(cancelled)" in await said(group, "!meeting list all")
    assert (await stored(group, 1)).sequence == 2


async def test_agenda_items_are_added(group):
    await said(group, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich')
    assert await said(group, "!meeting agenda M1 add Review of the Q3 outputs") == (
        "Agenda of M1:\n• Review of the Q3 outputs"
    )
    reply = await said(group, "!meeting agenda M1 add Joint workshop planning")
    assert reply.endswith("• Joint workshop planning")


async def test_rsvp_and_regrets(group):
    await said(group, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich')
    assert await said(group, "!rsvp M1 yes", by=MEMBER) == "Noted: you are coming to M1 “Call”."
    assert await said(group, "!rsvp m1 NO", by=FP) == "Noted: your regrets are noted for M1 “Call”."
    shown = await said(group, "!meeting show M1")
    assert f"Coming: {MEMBER}" in shown and f"Regrets: {FP}" in shown
    assert (await said(group, "!rsvp M1 perhaps")).startswith('"perhaps" is not one of yes, no or maybe.')


async def test_meetings_are_changed_from_their_own_room(group):
    await said(group, '!meeting schedule "AI call" 2026-12-03 14:00 Europe/Zurich', by=ADMIN, room=AI)
    assert (
        await said(group, "!meeting cancel M1") == "M1 is not this room's meeting; change it in its own room."
    )
    assert (await said(group, "!meeting cancel M1", by=ADMIN)).startswith("M1 “AI call” is cancelled")


async def test_unknown_meetings(group):
    assert await said(group, "!meeting show M99") == "There is no meeting M99."
    assert (await said(group, "!meeting show 12")).startswith('"12" is not a meeting ID like M12.')


@pytest.mark.parametrize("when", ["2026-12-07T12:00Z", "2026-12-07 12:00 UTC", "2026-12-07 13:00"])
async def test_a_group_wide_meeting_in_utc_lives_in_the_deployment_zone(group, when):
    reply = await said(group, f'!meeting schedule "Plenary" {when}', by=ADMIN, room=GROUP)
    assert reply.splitlines()[1] == "Mon 7 Dec 2026 13:00–14:00 Europe/Zurich (UTC+01:00) · 12:00–13:00 UTC"
