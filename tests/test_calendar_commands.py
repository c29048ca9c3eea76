"""`!calendar` and `!calendar reset` via the chat driver: links in the room, the personal one privately."""

from __future__ import annotations

import re

import pytest

from iscg_bot.chat.outbox import direct_target
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, ALICE, Chat

COP = "!cop:example.org"
GROUP = "!iscg:example.org"
BASE = "http://localhost:8080"  # the default web.public_base_url
TOKEN_URL = re.compile(re.escape(BASE) + r"/calendar/personal/([A-Za-z0-9_-]+)\.ics")


@pytest.fixture
async def cop(chat: Chat) -> Chat:
    assert len(await chat.say("!subject create cop Child Online Protection", sender=ADMIN, room=COP)) == 1
    return chat


def personal_token(message: str) -> str:
    found = TOKEN_URL.findall(message)
    assert found, message
    return found[0]


async def owner(chat: Chat, token: str) -> str | None:
    async with UnitOfWork(chat.database.sessions) as uow:
        return await uow.calendar_tokens.resolve(token)


async def test_calendar_posts_subject_and_group_links_and_sends_the_personal_one_privately(cop):
    [reply] = await cop.say("!calendar", room=COP)
    assert reply.splitlines() == [
        "Calendar feeds",
        f"• This subject (cop): {BASE}/calendar/cop.ics · subscribe (webcal://localhost:8080/calendar/cop.ics)",
        f"• All ISCG meetings: {BASE}/calendar/iscg.ics · subscribe (webcal://localhost:8080/calendar/iscg.ics)",
        "Your personal feed link is on its way to you in a direct message.",
    ]
    assert "/personal/" not in reply

    [dm] = cop.dms(ALICE)
    token = personal_token(dm)
    assert token not in reply
    assert len(token) >= 32  # 24 random bytes, URL-safe base64
    assert f"webcal://localhost:8080/calendar/personal/{token}.ics" in dm
    assert await owner(cop, token) == ALICE


async def test_the_personal_link_is_queued_for_the_person_not_the_room(cop):
    await cop.dispatcher.handle(cop.message("!calendar", room=COP))
    rows = await cop.pending()
    assert [row.room_id for row in rows] == [COP, direct_target(ALICE)]
    assert rows[1].content["msgtype"] == "m.notice"


async def test_the_outbox_sends_private_messages_through_the_gateway(cop):
    await cop.dispatcher.handle(cop.message("!calendar", room=COP))
    sender = cop.outbox_sender()
    rows = await cop.pending()
    for row in rows:
        await sender._send_room([row])
    assert [o.room_id for o in cop.gateway.sent] == [COP]
    [(user, content)] = cop.gateway.direct
    assert user == ALICE and "/calendar/personal/" in content["body"]
    assert await cop.pending() == []


async def test_outside_a_subject_room_only_the_group_link(chat):
    [reply] = await chat.say("!calendar", room=GROUP)
    assert "/calendar/iscg.ics" in reply and "This subject" not in reply
    assert len(chat.dms(ALICE)) == 1


async def test_asking_again_keeps_the_link_working(cop):
    await cop.say("!calendar", room=COP)
    token = personal_token(cop.dms(ALICE)[0])
    [reply] = await cop.say("!calendar", room=COP)
    assert "sent to you in a direct message earlier" in reply and "!calendar reset" in reply
    assert len(cop.dms(ALICE)) == 1  # no second link: the first one still works
    assert await owner(cop, token) == ALICE


async def test_reset_revokes_the_old_link_and_sends_a_new_one(cop):
    await cop.say("!calendar", room=COP)
    old = personal_token(cop.dms(ALICE)[0])

    [reply] = await cop.say("!calendar reset", room=COP)
    assert reply == (
        "Your previous personal feed link no longer works; the new one is on its way in a direct message."
    )
    new = personal_token(cop.dms(ALICE)[1])
    assert new != old and new not in reply
    assert "the previous link no longer works" in cop.dms(ALICE)[1]
    assert await owner(cop, old) is None
    assert await owner(cop, new) == ALICE


async def test_each_person_gets_their_own_link(cop):
    await cop.say("!calendar", room=COP)
    await cop.say("!calendar", room=COP, sender=ADMIN)
    mine, theirs = personal_token(cop.dms(ALICE)[0]), personal_token(cop.dms(ADMIN)[0])
    assert mine != theirs
    assert (await owner(cop, mine), await owner(cop, theirs)) == (ALICE, ADMIN)


async def test_help_lists_the_calendar_commands(chat):
    [help_text] = await chat.say("!help calendar")
    assert "!calendar" in help_text and "!calendar reset" in help_text
