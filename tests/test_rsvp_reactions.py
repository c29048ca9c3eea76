"""Answering a meeting by reacting ✅ ❌ ❔ on its announcement, and withdrawing by removing the reaction.

Through the chat driver: the announcement is the bot's reply to `!meeting schedule`; `Chat.take_outbox`
"sends" it and records the event ID the homeserver would give it, which reactions then point at.
"""

from __future__ import annotations

import itertools

import pytest

from iscg_bot.chat.events import Reaction, Redaction
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, COORD, COP, Chat, said

ANN = "@ann:example.org"
BEN = "@ben:example.org"
CHO = "@cho:example.org"

_ids = itertools.count(1)


@pytest.fixture
async def announced(chat):
    """Subject cop (coordinator @coord) and M1 scheduled, its announcement sent: (chat, announcement ID)."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    scheduled = await said(chat, '!meeting schedule "Coordination call" 2026-12-03 14:00 Europe/Zurich')
    assert scheduled.startswith("Scheduled M1")
    return chat, await chat.sent_event_id("announcement:M1")


async def react(chat: Chat, on: str, key: str, *, by: str = ANN) -> tuple[str, list[dict]]:
    """Deliver a reaction; its event ID and what the bot queued in answer."""
    event_id = f"$reaction{next(_ids)}"
    reaction = Reaction(event_id, COP, by, chat.clock.now(), key=key, relates_to=on)
    return event_id, await chat.deliver(reaction)


async def unreact(chat: Chat, reaction_id: str, *, by: str = ANN) -> list[dict]:
    """Remove a reaction the way Element does: redact it."""
    return await chat.deliver(
        Redaction(f"$redaction{next(_ids)}", COP, by, chat.clock.now(), redacts=reaction_id)
    )


async def answers(chat: Chat, meeting_id: int = 1) -> dict[str, tuple[str, str]]:
    async with UnitOfWork(chat.database.sessions) as uow:
        return {r.matrix_id: (r.answer, r.via) for r in await uow.rsvps.for_meeting(meeting_id)}


@pytest.mark.parametrize(
    ("key", "answer"),
    [("✅", "yes"), ("✅\ufe0f", "yes"), ("❌", "no"), ("❔", "maybe"), ("❓", "maybe")],
)
async def test_a_reaction_on_the_announcement_is_an_answer(announced, key, answer):
    chat, announcement = announced
    _, queued = await react(chat, announcement, key)
    assert queued == []  # the reaction says enough: no acknowledgement
    assert await answers(chat) == {ANN: (answer, "reaction")}


async def test_the_announcement_is_queued_with_its_purpose(chat):
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await chat.dispatcher.handle(
        chat.message('!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich', sender=ADMIN, room=COP)
    )
    [row] = await chat.pending()
    assert row.purpose == "announcement:M1"
    await chat.dispatcher.handle(chat.message("!meeting show M1", room=COP))
    assert [r.purpose for r in await chat.pending()] == ["announcement:M1", None]


async def test_a_change_of_mind_replaces_the_answer(announced):
    chat, announcement = announced
    tick, _ = await react(chat, announcement, "✅")
    await react(chat, announcement, "❌")
    assert await answers(chat) == {ANN: ("no", "reaction")}
    await unreact(chat, tick)  # taking the older reaction away leaves the newer answer
    assert await answers(chat) == {ANN: ("no", "reaction")}
    assert "Regrets: @ann:example.org" in await said(chat, "!meeting show M1")


async def test_removing_the_reaction_withdraws_the_answer(announced):
    chat, announcement = announced
    tick, _ = await react(chat, announcement, "✅")
    assert "Coming: @ann:example.org" in await said(chat, "!meeting show M1")
    assert await unreact(chat, tick) == []
    assert await answers(chat) == {}
    assert "Coming:" not in await said(chat, "!meeting show M1")


async def test_a_command_answer_survives_the_removal_of_an_older_reaction(announced):
    chat, announcement = announced
    tick, _ = await react(chat, announcement, "✅")
    await said(chat, "!rsvp M1 maybe", by=ANN)
    await unreact(chat, tick)
    assert await answers(chat) == {ANN: ("maybe", "command")}


async def test_a_reaction_seen_again_after_its_removal_has_no_effect(announced):
    chat, announcement = announced
    reaction = Reaction("$tick", COP, ANN, chat.clock.now(), key="✅", relates_to=announcement)
    await chat.deliver(reaction)
    await unreact(chat, "$tick")
    await chat.deliver(reaction)  # re-sync or gap fill: the ledger knows it
    assert await answers(chat) == {}


async def test_reactions_on_other_events_are_not_answers(announced):
    chat, announcement = announced
    command = chat.message("!meeting show M1", room=COP)
    await chat.deliver(command)
    shown = await chat.sent_event_id("announcement:M1")  # still the announcement, not the show
    assert shown == announcement
    await react(chat, command.event_id, "✅")  # on someone's command
    await react(chat, "$out1", "✅")  # on another reply of the bot's
    await react(chat, "$somewhere", "❌")  # on an event the bot never sent
    await react(chat, announcement, "👍")  # not an answer
    assert await answers(chat) == {}


async def test_reactions_on_a_cancelled_meetings_announcement_are_ignored(announced):
    chat, announcement = announced
    await said(chat, "!meeting cancel M1")
    await react(chat, announcement, "✅")
    assert await answers(chat) == {}


async def test_show_lists_who_answered_by_reaction(announced):
    chat, announcement = announced
    await react(chat, announcement, "✅", by=ANN)
    await react(chat, announcement, "❔", by=BEN)
    await react(chat, announcement, "❌", by=CHO)
    shown = (await said(chat, "!meeting show M1")).splitlines()
    assert shown[-3:] == [f"Coming: {ANN}", f"Maybe: {BEN}", f"Regrets: {CHO}"]


async def test_each_announcement_answers_its_own_meeting(announced):
    chat, first = announced
    await said(chat, '!meeting schedule "Workshop" 2026-12-10 14:00 Europe/Zurich')
    second = await chat.sent_event_id("announcement:M2")
    await react(chat, first, "✅")
    await react(chat, second, "❌")
    assert (await answers(chat, 1), await answers(chat, 2)) == (
        {ANN: ("yes", "reaction")},
        {ANN: ("no", "reaction")},
    )
