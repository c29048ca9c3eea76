"""End to end through Synapse: a restarted bot resumes with an incremental sync (not every room's full state)
and still speaks in every room as before — encrypted for everyone in it, into the direct room it made, into a
room it was invited to while it was down."""

from __future__ import annotations

import secrets

import pytest

from iscg_bot.chat.events import Outgoing
from tests.fixtures_bot import BotAccount
from tests.support.conversation import room_with_bot, say
from tests.support.matrix_user import body_of, is_message

pytestmark = pytest.mark.e2e


def _account_of(bot) -> BotAccount:
    matrix = bot.app.settings.matrix
    return BotAccount(matrix.user_id, matrix.password.get_secret_value(), matrix.store_path.parent)


def notice(room_id: str, body: str) -> Outgoing:
    """What the outbox sends for a reminder: a notice into a room, nothing asked of the bot first."""
    return Outgoing(room_id, "m.room.message", {"msgtype": "m.notice", "body": body}, secrets.token_hex(8))


async def test_after_a_restart_the_bot_encrypts_for_everyone_in_a_quiet_room(
    matrix_user_factory, bot_factory
):
    alice = await matrix_user_factory("alice", encryption=True)
    bob = await matrix_user_factory("bob", encryption=True)
    bot = await bot_factory(admins=[alice.user_id])
    quiet = await room_with_bot(alice, bot.user_id, encrypted=True)
    joined_while_down = await room_with_bot(alice, bot.user_id, encrypted=True)
    assert await say(alice, quiet, "!ping", bot.user_id) == "pong"
    await bot.stop()

    await alice.invite(joined_while_down, bob.user_id)
    await bob.join(joined_while_down)
    restarted = await bot_factory(admins=[alice.user_id], account=_account_of(bot))
    # Nothing has happened in `quiet` since the restart: its first sync did not mention it.
    await restarted.app.gateway.send(notice(quiet, "Reminder: coordination call in 15 minutes"))
    await restarted.app.gateway.send(notice(joined_while_down, "Reminder: drafting call in 15 minutes"))

    reminder = await alice.wait_for(is_message(sender=bot.user_id, contains="coordination"), room_id=quiet)
    assert body_of(reminder) == "Reminder: coordination call in 15 minutes"  # decrypted: alice had the key
    for person in (alice, bob):
        drafting = await person.wait_for(
            is_message(sender=bot.user_id, contains="drafting"), room_id=joined_while_down
        )
        assert body_of(drafting) == "Reminder: drafting call in 15 minutes"


async def test_after_a_restart_direct_messages_go_to_the_same_direct_room(matrix_user_factory, bot_factory):
    bob = await matrix_user_factory("bob")
    bot = await bot_factory()
    await bot.app.gateway.direct_message(bob.user_id, {"msgtype": "m.notice", "body": "first"}, txn_id="d1")
    direct = await bob.wait_invited(timeout=30)
    await bob.join(direct)
    await bob.wait_for(is_message(sender=bot.user_id, contains="first"), room_id=direct, timeout=30)
    await bot.stop()

    restarted = await bot_factory(account=_account_of(bot))
    await restarted.app.gateway.direct_message(
        bob.user_id, {"msgtype": "m.notice", "body": "second"}, txn_id="d2"
    )
    await bob.wait_for(is_message(sender=bot.user_id, contains="second"), room_id=direct, timeout=30)
    assert bob.invitations() == {}, "no second direct room"


async def test_an_invitation_to_an_encrypted_room_while_the_bot_was_down_is_taken_up_on_restart(
    matrix_user_factory, bot_factory
):
    alice = await matrix_user_factory("alice", encryption=True)
    bot = await bot_factory(admins=[alice.user_id])
    await bot.stop()
    room_id = await alice.create_room(invite=[bot.user_id], encrypted=True)

    await bot_factory(admins=[alice.user_id], account=_account_of(bot))
    hello = await alice.wait_for(
        is_message(sender=bot.user_id, contains="Hello"), room_id=room_id, timeout=30
    )
    assert "!help" in body_of(hello)
    assert await say(alice, room_id, "!ping", bot.user_id) == "pong"
