"""End to end through Synapse: setting up a subject, its people, who may do what, and a room upgrade."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.conversation import invite_in, room_with_bot, say

pytestmark = pytest.mark.e2e


async def test_a_subject_is_set_up_from_the_chat(matrix_user_factory, bot_factory):
    admin = await matrix_user_factory("alice")
    carol = await matrix_user_factory("carol", displayname="Carol Coordinator")
    member = await matrix_user_factory("mallory")
    bot = await bot_factory(admins=[admin.user_id])
    room_id = await room_with_bot(admin, bot.user_id)
    await invite_in(admin, room_id, carol, member)

    created = await say(admin, room_id, "!subject create cop Child Online Protection", bot.user_id)
    assert created.startswith("Created the subject Child Online Protection (cop)")
    assert await say(admin, room_id, f"!role add {carol.user_id} coordinator", bot.user_id) == (
        f"Carol Coordinator ({carol.user_id}) is now the coordinator of cop."
    )
    # Alice was in the room before the bot: the bot knows her name from the room's state.
    assert await say(admin, room_id, f"!role add {admin.user_id} focal-point GS", bot.user_id) == (
        f"Alice ({admin.user_id}) is now a GS focal point for cop."
    )
    await say(admin, room_id, f"!role remove {admin.user_id} focal-point GS", bot.user_id)
    await say(admin, room_id, "!role add @amina:itu.int focal-point ITU-D", bot.user_id)
    await say(admin, room_id, "!role add @lena:itu.int focal-point ITU-R", bot.user_id)

    shown = await say(member, room_id, "!subject", bot.user_id)
    assert shown.splitlines()[:5] == [
        "Child Online Protection (cop)",
        f"Coordinator: Carol Coordinator ({carol.user_id})",
        "Focal points:",
        "• ITU-R: @lena:itu.int",
        "• ITU-D: @amina:itu.int",
    ]
    refused = await say(member, room_id, f"!role add {member.user_id} coordinator", bot.user_id)
    assert refused == "Only the Chair, the management team or the secretariat may run !role add."
    changed = await say(carol, room_id, "!subject set description Protecting children online.", bot.user_id)
    assert changed == "The description of cop is now: Protecting children online."
    assert "Asia/Tokyo" in await say(member, room_id, "!tz Asia/Tokyo", bot.user_id)
    assert "Asia/Tokyo" in await say(member, room_id, "!tz", bot.user_id)


async def test_a_subject_follows_its_room_when_the_room_is_upgraded(
    matrix_user_factory, bot_factory, synapse
):
    admin = await matrix_user_factory("alice")
    bot = await bot_factory(admins=[admin.user_id])
    room_id = await room_with_bot(admin, bot.user_id, room_version="11")
    await say(admin, room_id, "!subject create cop Child Online Protection", bot.user_id)

    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{synapse.base_url}/_matrix/client/v3/rooms/{room_id}/upgrade",
            json={"new_version": "12"},
            headers={"Authorization": f"Bearer {admin.access_token}"},
        ) as response:
            assert response.status == 200, await response.text()
            new_room = (await response.json())["replacement_room"]
    await admin.wait_joined(new_room, admin.user_id)
    await admin.invite(new_room, bot.user_id)  # as Element offers to do after an upgrade
    await admin.wait_joined(new_room, bot.user_id, timeout=30)
    shown = await say(admin, new_room, "!subject", bot.user_id)
    assert shown.startswith("Child Online Protection (cop)")
