"""Issue 12, as a coordinator first meets the chat: a room with no subject is not the group, the group room
says whose each meeting is, and `!meeting suggest` counts members without a zone in the subject's zone.

The clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, COORD, Chat, said
from tests.support.membership import join

FP = "@fp:itu.int"
TOKYO_MEMBER = "@tokyo:example.org"
GROUP = "!iscg:example.org"
LOOSE = "!loose:example.org"  # a room nobody bound to a subject
SECRETARIAT = "@secretariat:itu.int"
MEMBER = "@member:example.org"
CALL = '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich for 60m'
NO_SUBJECT = (
    "This room has no subject yet: the Chair, the management team or the secretariat can bind it with "
)


@pytest.fixture
async def group(chat: Chat) -> Chat:
    """Subject cop (coordinator @coord, ITU-T focal point @fp), a secretariat member, the group room bound."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, f"!role add {FP} focal-point ITU-T", by=ADMIN)
    await said(chat, f"!role add {SECRETARIAT} secretariat", by=ADMIN)
    await said(chat, "!group bind", by=ADMIN, room=GROUP)
    return chat


async def meeting_count(chat: Chat) -> int:
    async with UnitOfWork(chat.database.sessions) as uow:
        return len(await uow.meetings.upcoming_candidates(after_utc=chat.clock.now()))


# ---- a room with no subject is not the group room ------------------------------------------------------


@pytest.mark.parametrize("by", [SECRETARIAT, ADMIN])
async def test_scheduling_in_a_room_with_no_subject_is_refused_with_the_way_out(group, by):
    reply = await said(group, CALL, by=by, room=LOOSE)
    assert reply == (
        NO_SUBJECT + "!subject create <slug> <title…>. Group-wide meetings are scheduled in the group room."
    )
    assert await meeting_count(group) == 0
    assert (await said(group, CALL, by=by, room=GROUP)).startswith("Scheduled M1: Call")


@pytest.mark.parametrize(
    ("command", "what"),
    [
        ("!meeting list", "Group-wide meetings are listed in the group room."),
        ("!meeting suggest 60m", "Group-wide meetings are suggested in the group room."),
        ("!report", "Name a subject or all, e.g. !report 2026 all."),
    ],
)
async def test_every_command_that_fell_back_to_the_group_refuses_in_a_room_with_no_subject(
    group, command, what
):
    assert await said(group, command, by=SECRETARIAT, room=LOOSE) == (
        NO_SUBJECT + "!subject create <slug> <title…>. " + what
    )


async def test_with_no_group_room_bound_yet_the_refusal_says_how_to_bind_one(chat):
    await said(chat, f"!role add {SECRETARIAT} secretariat", by=ADMIN)
    reply = await said(chat, CALL, by=SECRETARIAT, room=LOOSE)
    assert reply.endswith(
        "Group-wide meetings are scheduled in the group room (none yet: the Chair binds it with !group bind)."
    )


async def test_the_group_room_and_subject_rooms_still_work(group):
    assert (await said(group, CALL)).startswith("Scheduled M1")
    assert (await said(group, "!meeting list", room=GROUP)).startswith("Meetings to come:")
    assert (await said(group, "!meeting suggest 60m", by=SECRETARIAT, room=GROUP)).startswith("Best times")
    assert "Calendar feeds" in await said(group, "!calendar", by=MEMBER, room=LOOSE)


# ---- `!meeting list` in the group room names each meeting's subject ------------------------------------


async def test_the_group_room_list_says_whose_each_meeting_is(group):
    await said(group, CALL)
    await said(group, CALL.replace("Call", "Plenary").replace("14:00", "16:00"), by=ADMIN, room=GROUP)
    assert (await said(group, "!meeting list", by=MEMBER, room=GROUP)).splitlines() == [
        "Meetings to come:",
        "• M1 Thu 3 Dec 2026 14:00–15:00 Europe/Zurich (UTC+01:00) · 13:00–14:00 UTC — cop: Call",
        "• M2 Thu 3 Dec 2026 16:00–17:00 Europe/Zurich (UTC+01:00) · 15:00–16:00 UTC — ISCG-wide: Plenary",
    ]
    group.clock.advance(timedelta(days=9))
    past = await said(group, "!meeting list past", by=MEMBER, room=GROUP)
    assert "— cop: Call" in past and "— ISCG-wide: Plenary" in past
    # In the subject's own room, the subject goes without saying.
    assert "— cop:" not in await said(group, "!meeting list all", by=MEMBER)


# ---- `!meeting suggest` counts members with no zone in the subject's zone ------------------------------


async def test_suggest_counts_members_without_a_zone_in_the_subjects_zone(group):
    """One member in Tokyo, the coordinator and focal point with no zone: Zurich's morning is Tokyo's
    afternoon, where all are in working hours — not midnight in Zurich, Tokyo's morning."""
    await join(group, TOKYO_MEMBER)
    await said(group, "!tz Asia/Tokyo", by=TOKYO_MEMBER)
    rows = (await said(group, "!meeting suggest 60m between 2026-12-07 and 2026-12-07")).splitlines()
    assert rows[0] == (
        "Best times for a 60-minute meeting on Mon 7 Dec 2026 "
        "(3 people: 1 with a time zone, 2 counted in the subject's, Europe/Zurich):"
    )
    assert rows[1].startswith("1. Mon 7 Dec 2026 08:00–09:00 Europe/Zurich (UTC+01:00)")
    assert rows[2] == "   Everyone within working hours (08:00–20:00)."


async def test_suggest_uses_the_subjects_own_zone_not_the_group_default(group):
    await said(group, "!subject set timezone America/New_York", by=ADMIN)
    await join(group, TOKYO_MEMBER)
    await said(group, "!tz Asia/Tokyo", by=TOKYO_MEMBER)
    rows = (await said(group, "!meeting suggest 60m between 2026-12-07 and 2026-12-08")).splitlines()
    assert "2 counted in the subject's, America/New_York" in rows[0]
    # New York's 18:00–20:00 is Tokyo's 08:00–10:00 the next day: the only hours both are at work.
    assert rows[1].startswith("1. Mon 7 Dec 2026 18:00–19:00 America/New_York")
    assert rows[2] == "   Everyone within working hours (08:00–20:00)."
