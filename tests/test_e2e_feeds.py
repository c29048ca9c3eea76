"""End to end through Synapse: a meeting scheduled in a room is in the feed at once; `!calendar` sends the
personal link by direct message (an invitation to a direct room from the bot, then the link)."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from tests.support.conversation import invite_in, room_with_bot, say
from tests.support.matrix_user import body_of

pytestmark = pytest.mark.e2e

PERSONAL = re.compile(r"https?://\S+?(/calendar/personal/[A-Za-z0-9_-]+\.ics)")


async def fetch(base_url: str, path: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.get(base_url + path) as response:
        return response.status, await response.read()


async def test_a_scheduled_meeting_is_in_the_feed_and_the_personal_link_comes_privately(
    matrix_user_factory, bot_factory
):
    admin = await matrix_user_factory("alice")
    bob = await matrix_user_factory("bob", displayname="Bob Member")
    bot = await bot_factory(admins=[admin.user_id])
    web = bot.app.web
    assert web.port != 0
    room_id = await room_with_bot(admin, bot.user_id)
    await invite_in(admin, room_id, bob)  # after the bot: it sees bob join, so bob belongs to the subject
    await say(admin, room_id, "!subject create cop Child Online Protection", bot.user_id)
    status, body = await fetch(web.base_url, "/calendar/cop.ics")
    assert status == 200 and b"BEGIN:VEVENT" not in body

    await say(
        admin, room_id, '!meeting schedule "Coordination call" 2027-12-02 14:00 Europe/Zurich', bot.user_id
    )
    # The reply is sent after the commit, which already dropped the cached feed: no polling needed.
    async with asyncio.timeout(1):
        status, body = await fetch(web.base_url, "/calendar/cop.ics")
    assert status == 200 and b"Coordination call" in body
    assert b"Coordination call" in (await fetch(web.base_url, "/calendar/iscg.ics"))[1]

    reply = await say(bob, room_id, "!calendar", bot.user_id)
    assert "/calendar/cop.ics" in reply and "webcal://" in reply
    assert "/calendar/personal/" not in reply

    direct_room = await bob.wait_invited(timeout=30)
    assert direct_room != room_id
    await bob.join(direct_room)
    message = await bob.wait_for(
        lambda e: e.get("sender") == bot.user_id and "/calendar/personal/" in body_of(e),
        room_id=direct_room,
        timeout=30,
    )
    path = PERSONAL.search(body_of(message)).group(1)
    status, body = await fetch(web.base_url, path)
    assert status == 200 and b"Coordination call" in body  # bob is joined to cop's room

    await say(bob, room_id, "!calendar reset", bot.user_id)
    renewed = await bob.wait_for(
        lambda e: e.get("sender") == bot.user_id and "no longer works" in body_of(e),
        room_id=direct_room,  # the same direct room again
        timeout=30,
    )
    assert PERSONAL.search(body_of(renewed)).group(1) != path
    assert (await fetch(web.base_url, path))[0] == 404
