"""End to end through Synapse: a meeting is scheduled, then answered by reaction and by command."""

from __future__ import annotations

import pytest

from tests.support.conversation import ask, invite_in, room_with_bot, say
from tests.support.matrix_user import body_of

pytestmark = pytest.mark.e2e

FORM = "\n".join(
    [
        "!meeting schedule",
        "title: Child Online Protection — coordination call",
        "when: 2027-12-02 14:00 Europe/Zurich",
        "duration: 90m",
        "agenda:",
        "- Review of the Q3 outputs",
        "- Joint workshop planning",
    ]
)


def answers(shown: str) -> dict[str, str]:
    """`Coming: …` / `Maybe: …` / `Regrets: …` lines of `!meeting show`."""
    labels = ("Coming: ", "Maybe: ", "Regrets: ")
    return {
        line.split(": ", 1)[0]: line.split(": ", 1)[1]
        for line in shown.splitlines()
        if line.startswith(labels)
    }


async def test_a_meeting_is_scheduled_and_answered_by_reaction_and_by_command(
    matrix_user_factory, bot_factory
):
    admin = await matrix_user_factory("alice")
    carol = await matrix_user_factory("carol", displayname="Carol Coordinator")
    bob = await matrix_user_factory("bob", displayname="Bob Member")
    bot = await bot_factory(admins=[admin.user_id])
    room_id = await room_with_bot(admin, bot.user_id)
    await invite_in(admin, room_id, carol, bob)
    await say(admin, room_id, "!subject create cop Child Online Protection", bot.user_id)
    await say(admin, room_id, f"!role add {carol.user_id} coordinator", bot.user_id)

    announcement = await ask(carol, room_id, FORM, bot.user_id)
    assert announcement["content"]["msgtype"] == "m.notice"
    assert body_of(announcement).splitlines() == [
        "Scheduled M1: Child Online Protection — coordination call",
        "Thu 2 Dec 2027 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC",
        "Agenda:",
        "• Review of the Q3 outputs",
        "• Joint workshop planning",
        "Will you come? !rsvp M1 yes|no|maybe",
    ]

    # Bob sees the announcement and ticks it; the bot handles the room's events in order, so the
    # reaction is counted before the next command.
    await bob.wait_for(lambda e: e["event_id"] == announcement["event_id"], room_id=room_id)
    tick = await bob.react(room_id, announcement["event_id"], "✅")
    coming = answers(await say(bob, room_id, "!meeting show M1", bot.user_id))
    assert set(coming) == {"Coming"} and bob.user_id in coming["Coming"]

    await bob.redact(room_id, tick)  # how Element removes a reaction
    assert answers(await say(bob, room_id, "!meeting show M1", bot.user_id)) == {}

    assert await say(bob, room_id, "!rsvp M1 no", bot.user_id) == (
        "Noted: your regrets are noted for M1 “Child Online Protection — coordination call”."
    )
    regrets = answers(await say(carol, room_id, "!meeting show M1", bot.user_id))
    assert set(regrets) == {"Regrets"} and bob.user_id in regrets["Regrets"]
