"""Minutes through the chat driver: sessions, tags acknowledged by reactions, the passive log.

The clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from iscg_bot.events import Message, Redaction, Undecryptable
from storage import MeetingSession, MinuteLine, UnitOfWork
from tests.chat import ADMIN, BOT, COORD, COP, Chat, said

AI = "!ai:example.org"
MEMBER = "@member:example.org"
OTHER = "@other:example.org"


async def acked(chat: Chat, body: str, *, by: str = MEMBER, room: str = COP) -> None:
    """The bot answers with one ✅ reaction on the message, and no message."""
    event = chat.message(body, sender=by, room=room)
    [content] = await chat.deliver(event)
    assert content == {"m.relates_to": {"rel_type": "m.annotation", "event_id": event.event_id, "key": "✅"}}


async def minute_lines(chat: Chat, room: str = COP) -> list[MinuteLine]:
    """Every line stored for the room's sessions, in the order heard."""
    async with UnitOfWork(chat.database.sessions) as uow:
        sessions = list(await uow.session.scalars(select(MeetingSession.id).filter_by(room_id=room)))
        found: list[MinuteLine] = []
        for session_id in sessions:
            found += await uow.minutes.lines(session_id)
        return found


@pytest.fixture
async def cop(chat):
    """Subject cop (coordinator @coord) and subject ai; M1 in cop at 09:15 UTC, M2 in ai at 09:10 UTC."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, "!subject create ai AI for Good", by=ADMIN, room=AI)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, '!meeting schedule "Coordination call" 2026-11-25 09:15 UTC for 60m')
    await said(chat, '!meeting schedule "AI call" 2026-11-25 09:10 UTC for 60m', by=ADMIN, room=AI)
    return chat


async def test_start_binds_to_the_meeting_starting_within_30_minutes(cop):
    reply = await said(cop, "!startmeeting", by=MEMBER)
    assert reply.startswith("Meeting started: Coordination call (M1).")
    async with UnitOfWork(cop.database.sessions) as uow:
        session = await uow.minutes.running(COP)
        assert (session.meeting_id, session.occurrence_utc.hour, session.occurrence_utc.minute) == (1, 9, 15)
        assert await uow.minutes.chairs(session.id) == [COORD, MEMBER]  # starter and coordinator


async def test_start_far_from_any_meeting_is_unscheduled(cop):
    cop.clock.advance(timedelta(hours=2))
    assert (await said(cop, "!startmeeting", by=MEMBER)).startswith("Meeting started: Unscheduled meeting.")


async def test_explicit_meeting_must_be_this_rooms(cop):
    assert await said(cop, "!startmeeting M2") == "M2 is not this room's meeting; start it in its own room."
    assert (await said(cop, "!startmeeting M1")).startswith("Meeting started: Coordination call (M1).")


async def test_one_running_session_per_room(cop):
    await said(cop, "!startmeeting")
    assert (await said(cop, "!startmeeting", by=MEMBER)).startswith("A meeting is already running here")
    assert (await said(cop, "!startmeeting", room=AI, by=ADMIN)).startswith("Meeting started: AI call (M2).")


async def test_tags_need_a_running_session(cop):
    assert await said(cop, "!info hello", by=MEMBER) == (
        "No meeting is running in this room; start one with !startmeeting."
    )


async def test_every_tag_is_recorded_and_acknowledged_by_a_reaction(cop):
    await said(cop, "!startmeeting")
    await acked(cop, "!topic Q3 outputs", by=COORD)
    await acked(cop, "!info The report is due in January")
    await acked(cop, "!idea A joint workshop")
    await acked(cop, "!agreed Workshop in March")
    await acked(cop, "!decision Call moves to Thursdays")
    await acked(cop, "!rejected Fridays")
    await acked(cop, f"!action {MEMBER} Draft the agenda")
    await acked(cop, "!link https://www.itu.int/cop Guidelines")
    await acked(cop, "!keyissue Funding for 2027")
    await acked(cop, f"!present {OTHER}")
    await acked(cop, "!regrets @absent:example.org")
    await acked(cop, "!idea Withdrawn idea")
    await acked(cop, "!undo")
    assert await cop.say("plain talk", sender=OTHER, room=COP) == []
    tags = [(line.tag, line.undone) for line in await minute_lines(cop)]
    assert tags == [
        (None, False),  # !startmeeting
        ("topic", False),
        ("info", False),
        ("idea", False),
        ("agreed", False),
        ("agreed", False),
        ("rejected", False),
        ("action", False),
        ("link", False),
        ("keyissue", False),
        ("present", False),
        ("regrets", False),
        ("idea", True),
        (None, False),  # !undo
        (None, False),  # plain talk
    ]
    cop.clock.advance(timedelta(minutes=50))
    assert (await said(cop, "!endmeeting")).splitlines() == [
        "Meeting ended: Coordination call",
        "Wed 25 Nov 2026 10:00–10:50 Europe/Zurich (UTC+01:00) · 09:00–09:50 UTC",
        "16 lines minuted.",
        f"Attendance: {COORD}, {MEMBER}, {OTHER}",
        "Regrets: @absent:example.org",
        "Decisions:",
        "• Workshop in March",
        "• Call moves to Thursdays",
        "Actions:",
        f"• {MEMBER}: Draft the agenda",
        "Key issues:",
        "• Funding for 2027",
    ]


async def test_only_chairs_end_the_meeting_or_change_the_topic(cop):
    await said(cop, "!startmeeting")
    assert await said(cop, "!topic Mine", by=OTHER) == "Only the meeting's chairs may change the topic."
    assert await said(cop, "!endmeeting", by=OTHER) == "Only the meeting's chairs may end the meeting."
    await acked(cop, f"!chair {OTHER}", by=COORD)
    await acked(cop, "!topic Mine", by=OTHER)
    assert (await said(cop, "!endmeeting", by=OTHER)).startswith("Meeting ended:")


async def test_edits_and_redactions_are_honoured(cop):
    await said(cop, "!startmeeting")
    agreed = cop.message("!agreed Workshop in March", sender=MEMBER, room=COP)
    await cop.deliver(agreed)
    chatter = cop.message("first words", sender=OTHER, room=COP)
    await cop.deliver(chatter)
    edit = cop.message("better words", sender=OTHER, room=COP, replaces=chatter.event_id)
    assert await cop.deliver(edit) == []
    await cop.deliver(
        Redaction(f"$r{agreed.event_id}", COP, MEMBER, cop.clock.now(), redacts=agreed.event_id)
    )
    lines = {line.event_id: line for line in await minute_lines(cop)}
    assert lines[chatter.event_id].text == "better words"
    assert lines[chatter.event_id].edited_at is not None
    assert lines[agreed.event_id].redacted
    async with UnitOfWork(cop.database.sessions) as uow:
        [old] = await uow.minutes.edits(lines[chatter.event_id].id)
        assert old.text == "first words"
    summary = await said(cop, "!endmeeting")
    assert "Decisions:" not in summary
    assert f"Attendance: {COORD}, {OTHER}" in summary  # the redacted line no longer counts


async def test_a_session_across_midnight_utc_stays_one(cop):
    cop.clock.set(cop.clock.now().replace(hour=23, minute=40))
    await said(cop, "!startmeeting")
    await cop.say("before midnight", sender=MEMBER, room=COP)
    cop.clock.advance(timedelta(minutes=40))
    await cop.say("after midnight", sender=MEMBER, room=COP)
    summary = (await said(cop, "!endmeeting")).splitlines()
    assert summary[1] == (
        "Thu 26 Nov 2026 00:40–01:20 Europe/Zurich (UTC+01:00) · Wed 25 Nov 23:40–Thu 26 Nov 00:20 UTC"
    )
    assert summary[2] == "4 lines minuted."
    assert len({line.session_id for line in await minute_lines(cop)}) == 1


async def test_nothing_is_logged_outside_a_session(cop):
    await cop.say("before", sender=MEMBER, room=COP)
    await said(cop, "!startmeeting")
    await cop.say("during", sender=MEMBER, room=COP)
    await said(cop, "!endmeeting")
    await cop.say("after", sender=MEMBER, room=COP)
    assert [line.text for line in await minute_lines(cop)] == ["!startmeeting", "during", "!endmeeting"]


async def test_an_event_delivered_twice_is_one_line(cop):
    await said(cop, "!startmeeting")
    plain = cop.message("once", sender=MEMBER, room=COP)
    tag = cop.message("!info once too", sender=MEMBER, room=COP)
    for event in (plain, plain, tag, tag):
        await cop.deliver(event)
    texts = [line.text for line in await minute_lines(cop)]
    assert texts == ["!startmeeting", "once", "!info once too"]


async def test_notices_and_emotes_are_logged(cop):
    await said(cop, "!startmeeting")
    await cop.deliver(Message("$n", COP, OTHER, cop.clock.now(), "a notice", msgtype="m.notice"))
    await cop.deliver(Message("$e", COP, OTHER, cop.clock.now(), "waves", msgtype="m.emote"))
    assert [line.msgtype for line in await minute_lines(cop)][1:] == ["m.notice", "m.emote"]


async def test_the_bots_own_messages_are_not_logged(cop):
    await said(cop, "!startmeeting")
    assert await cop.say("I am the bot", sender=BOT, room=COP) == []
    assert [line.text for line in await minute_lines(cop)] == ["!startmeeting"]


async def test_a_message_the_bot_could_not_decrypt_is_recorded_as_such(cop):
    await said(cop, "!startmeeting")
    secret = Undecryptable(event_id="$secret", room_id=COP, sender=OTHER, server_time=cop.clock.now())
    [sorry] = await cop.deliver(secret)
    assert "could not decrypt" in sorry["body"]
    assert [line.text for line in await minute_lines(cop)][1:] == ["(a message the bot could not decrypt)"]
