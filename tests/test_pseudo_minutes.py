"""Issue 16: the minutes, action items, reports' chat replies, roles, subjects and the group room say nothing
in plain English once the bot writes in the pseudo-language — replies, refusals, usage errors, empty states,
what is said to the room (meeting started/ended) and the action items' due-day reminders.

Each exchange's messages (text and HTML) are checked with `untranslated`; what may stay is the data the test
typed (titles, action texts) and command names written in a sentence (`!endmeeting`).
The clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

from typing import Any

import pytest

from iscg_bot.chat.action_reminders import run_due_actions
from iscg_bot.core.i18n import PSEUDO
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, AI, COORD, COP, Chat, said, two_subjects_with_a_meeting_each
from tests.support.pseudo import pseudo_chat, untranslated
from tests.support.reminders import utc

FREE = "!free:example.org"  # a room bound to no subject
GROUP = "!group:example.org"
MEMBER = "@member:example.org"
BOB = "@bob:example.org"
CAROL = "@carol:example.org"
CHAIR = "@chair:example.org"
# The data the tests type, and the command names the bot writes inside a sentence: they stay as typed.
DATA = (
    "Child Online Protection",
    "AI for Good",
    "Coordination call",
    "AI call",
    "Draft the agenda",
    "Book the room",
    "Jane Doe",
    "Slides are online",
    "Funding is open",
    "Meet in March",
    "Use a wiki",
    "Guidelines",
    "New title",
    "About children",
    "!endmeeting",
    "!startmeeting",
    "!minutes reopen",
    "!subject restore",
    "!subject create <slug> <title>",
    "!report 2026 all",
    "!action done",
    "!report",
    "cop",
    "TSAG, RAG, TDAG",
    "ITU-R, ITU-T, ITU-D, GS",
    "ITU-D",
    "TSAG",
    "GS",
    "TSAG, RAG or TDAG",
    "Europe/Zurich",
)


def shown(contents: list[dict[str, Any]]) -> list[str]:
    """What each message shows (its HTML when it has some), files and reactions aside (their names and keys
    are data)."""
    return [
        content.get("formatted_body", content["body"])
        for content in contents
        if "body" in content and content.get("msgtype") != "m.file"
    ]


async def check(chat: Chat, body: str, *allowed: str, by: str = COORD, room: str = COP) -> list[str]:
    """Say `body`; every message the bot answers with is free of plain English (but `allowed` and DATA)."""
    messages = shown(await chat.deliver(chat.message(body, sender=by, room=room)))
    for message in messages:
        assert untranslated(message, *DATA, *allowed) == [], (body, message)
    return messages


@pytest.fixture
async def cop(chat: Chat) -> Chat:
    """In the pseudo-language: subjects cop (coordinator @coord) and ai, M1 in cop at 09:15 UTC, M2 in ai."""
    pseudo_chat(chat)
    return await two_subjects_with_a_meeting_each(chat)


# ---- minutes -----------------------------------------------------------------------------------------------


async def test_a_whole_meeting_and_its_minutes_in_the_pseudo_language(cop: Chat):
    await check(cop, "!minutes")  # nothing minuted yet
    await check(cop, "!endmeeting")  # none running
    await check(cop, "!action @bob:example.org Draft the agenda due 2026-12-15")
    [started] = await check(cop, "!startmeeting", by=MEMBER)
    assert "M1" in started and "A1" in started  # bound to M1; the open action listed
    await check(cop, "!startmeeting")  # already running
    await check(cop, "!startmeeting M2", room=FREE, by=ADMIN)  # not this room's
    assert await check(cop, "!topic Budget", by=BOB) != []  # only the chairs
    for tag in (
        "!topic Budget",
        "!info Slides are online",
        "!agreed Meet in March",
        "!rejected Use a wiki",
        "!keyissue Funding is open",
        "!link https://www.itu.int/cop Guidelines",
        "!action @carol:example.org Book the room",
        "!present",
        f"!regrets {BOB}",
    ):
        assert await check(cop, tag, by=COORD) == []  # acknowledged by a reaction
    await check(cop, "!present bob", "bob")  # not a Matrix ID (and the usage follows)
    await check(cop, "!undo", by=BOB)  # someone else's tagged line
    await check(cop, "!minutes approve")  # still running
    summary, *rest = await check(cop, "!endmeeting")
    assert "M1" in summary and rest == []
    await check(cop, "!minutes")
    await check(cop, "!minutes M1")
    await check(cop, "!minutes M2", by=ADMIN)  # no minutes yet
    await check(cop, "!minutes S99")
    await check(cop, "!minutes X1", "X1")
    await check(cop, "!minutes approve", room=AI, by=COORD)  # S1 is approved in its own room
    await check(cop, "!minutes approve S1", room=AI, by=COORD)
    await check(cop, "!minutes approve")
    await check(cop, "!minutes approve")  # already
    await check(cop, "!minutes reopen", by=BOB)  # not a chair
    await check(cop, "!minutes reopen")
    await check(cop, "!minutes reopen")  # a draft already
    await check(cop, "!undo")  # nothing running


async def test_an_unscheduled_meeting_and_the_chairs_rules(cop: Chat):
    [started] = await check(cop, "!startmeeting", by=MEMBER, room=FREE)
    assert "Unscheduled" not in started
    await check(cop, f"!chair {BOB}", by=BOB, room=FREE)
    assert await check(cop, f"!chair {BOB}", by=MEMBER, room=FREE) == []
    await check(cop, "!undo", by=MEMBER, room=FREE)  # no tagged line
    await check(cop, f"!unchair {BOB}", by=BOB, room=FREE)
    await check(cop, f"!unchair {MEMBER}", by=MEMBER, room=FREE)
    await check(cop, "!unchair @nobody:example.org", by=MEMBER, room=FREE)
    [summary] = await check(cop, "!endmeeting", by=MEMBER, room=FREE)
    assert "Unscheduled" not in summary


# ---- action items ------------------------------------------------------------------------------------------


async def test_action_items_in_the_pseudo_language(cop: Chat):
    await check(cop, "!actions")  # none yet
    await check(cop, "!actions mine")
    await check(cop, "!actions all")
    await check(cop, "!actions overdue")
    await check(cop, f"!actions {BOB}")
    await check(cop, "!actions sometimes", "sometimes")
    await check(cop, "!action @bob:example.org Draft the agenda due 2026-12-15")
    await check(cop, '!action "Jane Doe" Book the room', "Jane Doe")
    await check(cop, "!action @bob:example.org Draft the agenda due 2020-01-01")  # in the past
    for listing in ("!actions", "!actions all", f"!actions {BOB}", "!actions overdue"):
        await check(cop, listing, "Jane Doe")
    await check(cop, "!actions mine", by=BOB)
    await check(cop, "!action done A1", by=MEMBER)  # neither owner, coordinator nor officer
    await check(cop, "!action done A1", by=BOB)
    await check(cop, "!action done A1", by=BOB)  # already
    await check(cop, "!actions all")
    await check(cop, "!action reopen A1")
    await check(cop, "!action drop A1")
    await check(cop, "!action reopen A1")
    await check(cop, f"!action assign A1 {CAROL}")
    await check(cop, f"!action assign A1 {CAROL}")  # already hers
    await check(cop, "!action due A1 2026-12-20")
    await check(cop, "!action due A1 none")
    await check(cop, "!action due A1 2020-01-01")
    await check(cop, "!action done A99")
    await check(cop, "!action done X9", "X9")


async def test_the_due_day_reminder_is_written_in_the_rooms_language(cop: Chat):
    await said(cop, f"!action {BOB} Draft the agenda due 2026-12-01")
    await said(cop, '!action "Jane Doe" Book the room due 2026-12-01')
    assert await run_due_actions(cop.database.sessions, utc("2026-12-01T08:00"), default_language=PSEUDO) == 2
    reminders = shown(await cop.take_outbox())
    assert len(reminders) == 2
    for reminder in reminders:
        assert untranslated(reminder, *DATA, "Jane Doe") == [], reminder


# ---- reports' chat replies ---------------------------------------------------------------------------------


async def test_summary_and_report_replies_in_the_pseudo_language(cop: Chat):
    for said_in_the_meeting in ("!startmeeting", "!agreed Meet in March", "!keyissue Funding is open"):
        await cop.deliver(cop.message(said_in_the_meeting, sender=COORD, room=COP))
    await cop.deliver(cop.message("!endmeeting", sender=COORD, room=COP))
    await said(cop, "!action @bob:example.org Draft the agenda")
    await said(cop, f"!role add {CHAIR} chair", by=ADMIN)
    [digest] = await check(cop, "!summary", by=CHAIR)
    assert "M1" in digest
    await check(cop, "!summary 0", by=CHAIR)
    await check(cop, "!summary", by=MEMBER)  # the officers only
    await check(cop, "!report 2026 cop md", by=MEMBER)  # not theirs to report on
    await check(cop, "!report 2026 cop md extra", "extra", by=CHAIR)
    await check(cop, "!report 2026 nosuch md", "nosuch", by=CHAIR)
    [refused] = await check(cop, "!report", by=CHAIR, room=FREE)  # no subject here: name one
    assert "!report 2026 all" in refused


# ---- roles ------------------------------------------------------------------------------------------------


async def test_appointments_in_the_pseudo_language(cop: Chat):
    await check(cop, "!roles", room=FREE)  # nobody yet
    await check(cop, f"!role add {BOB} chair until 2020-01-01", by=ADMIN)  # a term in the past
    await check(cop, f"!role add {CHAIR} chair", by=ADMIN)
    await check(cop, f"!role add {BOB} chair", f"!role remove {CHAIR} chair", by=ADMIN)  # one Chair
    await check(cop, f"!role add {CHAIR} chair", by=ADMIN)  # already
    await check(cop, f"!role add {BOB} management", by=CHAIR)
    await check(cop, f"!role add {BOB} management XAG", "XAG", by=CHAIR)
    await check(cop, f"!role add {BOB} management TSAG", by=COORD)  # the Chair's to appoint
    await check(cop, f"!role add {BOB} management TSAG", by=CHAIR)
    await check(cop, f"!role add {CAROL} management TSAG", by=CHAIR)
    await check(cop, f"!role add {MEMBER} management TSAG", by=CHAIR)  # two seats
    await check(cop, f"!role add {CAROL} secretariat extra", "extra", by=CHAIR)
    await check(cop, f"!role add {CAROL} secretariat", by=CHAIR)
    await check(cop, f"!role add {CAROL} secretariat until 2030-01-01", by=CHAIR)
    await check(cop, f"!role add {MEMBER} coordinator", by=CHAIR)  # one per subject
    await check(cop, f"!role add {MEMBER} coordinator", by=CHAIR, room=FREE)  # no subject here
    await check(cop, f"!role add {MEMBER} focal-point", by=CHAIR)
    await check(cop, f"!role add {MEMBER} focal-point ITU-D", by=CHAIR)
    await check(cop, f"!role add {BOB} focal-point GS", by=CHAIR)
    await check(cop, "!roles")
    await check(cop, "!roles", room=FREE)
    await check(cop, f"!role remove {MEMBER} focal-point ITU-D", by=CHAIR)
    await check(cop, f"!role remove {MEMBER} focal-point ITU-D", by=CHAIR)  # no longer one
    await check(cop, f"!role remove {CHAIR} chair", by=CHAIR)


# ---- subjects and the group room -------------------------------------------------------------------------


async def test_subjects_and_the_group_room_in_the_pseudo_language(chat: Chat):
    pseudo_chat(chat)
    await check(chat, "!subject list", by=ADMIN)  # none yet
    await check(chat, "!subject", by=ADMIN)  # no subject in this room
    await check(chat, "!subject create Bad!Slug Child Online Protection", "bad!slug", by=ADMIN)
    await check(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await check(chat, "!subject create cop2 Child Online Protection", by=ADMIN)  # the room is bound
    await check(chat, "!subject create cop AI for Good", by=ADMIN, room=AI)  # the slug is taken
    await check(chat, "!subject create ai AI for Good", by=ADMIN, room=AI)
    await check(chat, "!group bind", by=ADMIN)  # a subject's room
    await check(chat, "!group bind", by=ADMIN, room=GROUP)
    await check(chat, "!subject create grp AI for Good", by=ADMIN, room=GROUP)  # the group's room
    await check(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await check(chat, "!role add @amina:itu.int focal-point ITU-D", by=ADMIN)
    await check(chat, "!subject")
    await check(chat, "!subject set title New title")
    await check(chat, "!subject set description About children")
    await check(chat, "!subject set description " + "x" * 2001)
    await check(chat, "!subject set timezone Europe/Zurich")
    await check(chat, "!subject set title " + "y" * 201)
    await check(chat, "!subject archive", by=ADMIN)
    await check(chat, "!subject archive", by=ADMIN)  # already
    await check(chat, "!subject", by=ADMIN)
    await check(chat, "!subject list all", by=ADMIN)
    await check(chat, "!subject restore", by=ADMIN)
    await check(chat, "!subject restore", by=ADMIN)  # not archived
    await check(chat, "!subject list", by=ADMIN, room=AI)
    async with UnitOfWork(chat.database.sessions) as uow:
        subject = await uow.subjects.by_slug("cop")
        await uow.subjects.set_room_active(subject.room_id, False, chat.clock.now())
        await uow.commit()
    await check(chat, "!subject")  # the bot was removed from the room


# ---- what is said to the room is in the room's language, a reply in the sender's ---------------------------


async def test_meeting_started_and_ended_are_in_the_rooms_language_the_replies_in_the_senders(chat: Chat):
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    async with UnitOfWork(chat.database.sessions) as uow:  # no one may choose it: the tests' language
        subject = await uow.subjects.by_slug("cop")
        await uow.subjects.update(subject, at=chat.clock.now(), language=PSEUDO)
        await uow.commit()
    await said(chat, "!lang en")  # the coordinator reads English
    started = await said(chat, "!startmeeting")
    assert untranslated(started, *DATA) == [] and "Meeting" not in started  # to the room
    [summary] = shown(await chat.deliver(chat.message("!endmeeting", sender=COORD, room=COP)))
    assert untranslated(summary, *DATA) == [] and "Meeting ended" not in summary
    [reply, _file] = await chat.say("!minutes", sender=COORD, room=COP)
    assert reply.startswith("Minutes of Unscheduled meeting")  # to the coordinator, in English
