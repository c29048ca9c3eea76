"""End to end through a real Synapse, as a person's client sees the bot."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import time
from collections import Counter

import pytest

from iscg_bot.chat.events import Outgoing
from iscg_bot.chat.outbox import reaction_content, txn_id
from tests.fixtures_bot import BotAccount, _toml, register_bot
from tests.support.conversation import barrier, room_with_bot
from tests.support.matrix_user import body_of, is_membership, is_message, is_reply_to, matches

pytestmark = pytest.mark.e2e


def replies_from(user, room_id: str, bot_id: str) -> list[dict]:
    return [
        e for e in user.events(room_id) if is_message(sender=bot_id)(e) and "m.relates_to" in e["content"]
    ]


async def test_invited_by_an_admin_the_bot_joins_and_says_hello(matrix_user_factory, bot_factory):
    alice = await matrix_user_factory("alice")
    bot = await bot_factory(admins=[alice.user_id])
    room_id = await room_with_bot(alice, bot.user_id)
    hello = await alice.wait_for(is_message(sender=bot.user_id), room_id=room_id)
    assert hello["content"]["msgtype"] == "m.notice"
    assert "!help" in body_of(hello)
    assert "<code>!help</code>" in hello["content"]["formatted_body"]


async def test_an_invite_from_a_stranger_is_declined(matrix_user_factory, bot_factory):
    alice = await matrix_user_factory("alice")
    stranger = await matrix_user_factory("mallory")
    bot = await bot_factory(admins=[alice.user_id])
    room_id = await stranger.create_room(invite=[bot.user_id])
    await stranger.wait_for(is_membership(bot.user_id, "leave"), room_id=room_id, timeout=30)
    assert not [e for e in stranger.events(room_id) if matches(is_membership(bot.user_id, "join"), e)]


async def test_an_allow_listed_server_may_invite(matrix_user_factory, bot_factory, synapse):
    carol = await matrix_user_factory("carol")
    bot = await bot_factory(admins=["@someone-else:elsewhere.org"], invite_allowlist=[synapse.server_name])
    await room_with_bot(carol, bot.user_id)


async def test_ping_and_help_are_answered_as_notice_replies(matrix_user_factory, bot_factory):
    alice = await matrix_user_factory("alice")
    bot = await bot_factory(admins=[alice.user_id])
    room_id = await room_with_bot(alice, bot.user_id)

    ping = await alice.send_text(room_id, "!ping")
    pong = await alice.wait_for(is_reply_to(ping, sender=bot.user_id), room_id=room_id)
    assert pong["content"]["msgtype"] == "m.notice"
    assert body_of(pong) == "pong"
    assert pong["content"]["format"] == "org.matrix.custom.html"
    assert pong["content"]["m.mentions"] == {"user_ids": [alice.user_id]}

    ask = await alice.send_text(room_id, "!help basics")  # the bare !help is an index (issue 12)
    help_reply = await alice.wait_for(is_reply_to(ask, sender=bot.user_id), room_id=room_id)
    assert "!ping" in body_of(help_reply) and "!tz" in body_of(help_reply)
    assert "<code>" in help_reply["content"]["formatted_body"]


@pytest.mark.parametrize("room_version", [None, "11"], ids=["v12-default", "v11"])
async def test_commands_in_an_encrypted_room_are_answered(matrix_user_factory, bot_factory, room_version):
    alice = await matrix_user_factory("alice", encryption=True)
    bot = await bot_factory(admins=[alice.user_id])
    room_id = await room_with_bot(alice, bot.user_id, encrypted=True, room_version=room_version)
    ping = await alice.send_text(room_id, "!ping")
    pong = await alice.wait_for(is_reply_to(ping, sender=bot.user_id), room_id=room_id, timeout=30)
    assert body_of(pong) == "pong"
    assert pong.get("decrypted", True)  # it arrived encrypted and the client could read it


async def test_tz_round_trip(matrix_user_factory, bot_factory):
    alice = await matrix_user_factory("alice")
    bot = await bot_factory(admins=[alice.user_id])
    room_id = await room_with_bot(alice, bot.user_id)
    set_tz = await alice.send_text(room_id, "!tz Asia/Tokyo")
    await alice.wait_for(is_reply_to(set_tz, sender=bot.user_id), room_id=room_id)
    show = await alice.send_text(room_id, "!tz")
    shown = await alice.wait_for(is_reply_to(show, sender=bot.user_id), room_id=room_id)
    assert "Asia/Tokyo" in body_of(shown)


async def test_several_commands_in_one_message_are_answered_in_order(matrix_user_factory, bot_factory):
    alice = await matrix_user_factory("alice")
    bot = await bot_factory(admins=[alice.user_id])
    room_id = await room_with_bot(alice, bot.user_id)
    both = await alice.send_text(room_id, "!ping\n!tz Europe/Zurich")
    first, second = await alice.wait_for_count(is_reply_to(both, sender=bot.user_id), 2, room_id=room_id)
    assert body_of(first) == "pong"
    assert "Europe/Zurich" in body_of(second)


async def test_a_burst_larger_than_the_timeline_limit_is_answered_once_each(matrix_user_factory, bot_factory):
    alice = await matrix_user_factory("alice")
    bot = await bot_factory(admins=[alice.user_id])
    room_id = await room_with_bot(alice, bot.user_id)
    # Stop the bot so the whole burst waits in one gap, far more than a sync's timeline holds.
    device = bot.app.gateway.client.device_id
    await bot.stop()
    sent = [await alice.send_text(room_id, "!ping") for _ in range(300)]
    restarted = await bot_factory(admins=[alice.user_id], account=_account_of(bot))
    await alice.wait_for_count(
        is_message(sender=bot.user_id, contains="pong"), 300, room_id=room_id, timeout=120
    )
    ping = await barrier(alice, room_id, bot.user_id)  # anything doubled has arrived by its pong
    answered = Counter(
        e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
        for e in replies_from(alice, room_id, bot.user_id)
    )
    assert answered.pop(ping) == 1
    assert set(answered) == set(sent)
    assert max(answered.values()) == 1
    assert restarted.app.gateway.backfilled_events >= 200, "the burst should have come through gap filling"
    assert restarted.app.gateway.client.device_id == device, "a restart reuses the bot's device"


def _account_of(bot) -> BotAccount:
    matrix = bot.app.settings.matrix
    return BotAccount(matrix.user_id, matrix.password.get_secret_value(), matrix.store_path.parent)


async def test_killed_bot_answers_what_it_missed_exactly_once(matrix_user_factory, bot_process):
    alice = await matrix_user_factory("alice", encryption=True)
    process, account = await bot_process(admins=[alice.user_id])
    process.start()
    try:
        room_id = await alice.create_room(invite=[account.user_id], encrypted=True)
        await alice.wait_joined(room_id, account.user_id, timeout=60)
        first = await alice.send_text(room_id, "!ping")
        await alice.wait_for(is_reply_to(first, sender=account.user_id), room_id=room_id, timeout=30)

        process.kill()
        missed = [await alice.send_text(room_id, "!ping") for _ in range(5)]
        process.start()
        for event_id in missed:
            await alice.wait_for(is_reply_to(event_id, sender=account.user_id), room_id=room_id, timeout=60)
        # Kill it again right after it answered, restart, and make sure nothing is answered twice.
        process.kill()
        process.start()
        after = await alice.send_text(room_id, "!ping")
        await alice.wait_for(is_reply_to(after, sender=account.user_id), room_id=room_id, timeout=60)
        await barrier(alice, room_id, account.user_id)  # anything doubled has arrived by its pong
        answered = Counter(
            e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
            for e in replies_from(alice, room_id, account.user_id)
        )
        assert all(answered[event_id] == 1 for event_id in [first, *missed, after]), answered
        # SIGTERM stops it cleanly and at once, without waiting for the long-polling sync to return.
        started = time.monotonic()
        assert process.terminate() == 0, process.output()[-3000:]
        assert time.monotonic() - started < 4
        assert "stopped" in process.output()
    except BaseException:
        print(process.output()[-5000:])
        raise


async def test_rate_limits_are_waited_out(matrix_user_factory, bot_factory, strict_synapse):
    alice = await matrix_user_factory("alice", server=strict_synapse, admin=True)
    # Alice herself is exempt; the bot keeps Synapse's default rc_message (0.2/s, burst 10).
    await strict_synapse.override_ratelimit(alice.access_token, alice.user_id)
    bot = await bot_factory(server=strict_synapse, admins=[alice.user_id])
    room_id = await room_with_bot(alice, bot.user_id)
    sent = [await alice.send_text(room_id, "!ping") for _ in range(14)]
    for event_id in sent:
        await alice.wait_for(is_reply_to(event_id, sender=bot.user_id), room_id=room_id, timeout=90)
    assert bot.app.gateway.rate_limited >= 1, "Synapse's default rc_message should have refused some sends"


async def test_messages_from_before_the_bot_joined_are_history(
    matrix_user_factory, bot_factory, synapse, tmp_path
):
    alice = await matrix_user_factory("alice")
    account = await register_bot(synapse, tmp_path / "newcomer")
    room_id = await alice.create_room(invite=[account.user_id])
    before = await alice.send_text(room_id, "!ping")  # said before the bot ever ran
    bot = await bot_factory(admins=[alice.user_id], account=account)
    await alice.wait_for(is_message(sender=bot.user_id, contains="!help"), room_id=room_id, timeout=30)
    now = await alice.send_text(room_id, "!ping")
    await alice.wait_for(is_reply_to(now, sender=bot.user_id), room_id=room_id)
    assert not [e for e in alice.events(room_id) if matches(is_reply_to(before), e)]


async def test_a_first_start_skips_the_rooms_history(matrix_user_factory, bot_factory, tmp_path):
    alice = await matrix_user_factory("alice")
    bot = await bot_factory(admins=[alice.user_id])
    room_id = await room_with_bot(alice, bot.user_id)
    await bot.stop()
    old = await alice.send_text(room_id, "!ping")
    # Same account, brand-new deployment (empty database): what was said before is history.
    fresh = dataclasses.replace(_account_of(bot), workdir=tmp_path / "fresh-deployment")
    fresh.workdir.mkdir()
    bot = await bot_factory(admins=[alice.user_id], account=fresh)
    new = await alice.send_text(room_id, "!ping")
    await alice.wait_for(is_reply_to(new, sender=bot.user_id), room_id=room_id)
    assert not [e for e in alice.events(room_id) if matches(is_reply_to(old), e)]


async def test_the_bot_refuses_an_unmigrated_database(tmp_path, synapse):
    account = await register_bot(synapse, tmp_path / "unmigrated")
    config = account.workdir / "config.toml"
    config.write_text(_toml(account.settings(synapse)), encoding="utf-8")
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "iscg_bot", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert 'run "iscg-bot migrate"' in result.stderr


async def test_reactions_are_sent_and_a_retried_send_does_not_double(matrix_user_factory, bot_factory):
    alice = await matrix_user_factory("alice")
    bot = await bot_factory(admins=[alice.user_id])
    room_id = await room_with_bot(alice, bot.user_id)
    target = await alice.send_text(room_id, "a line worth acknowledging")
    reaction = Outgoing(room_id, "m.reaction", reaction_content(target, "✅"), txn_id(target, 0))
    first = await bot.app.gateway.send(reaction)
    again = await bot.app.gateway.send(reaction)  # as after a crash between sending and marking it sent
    assert first == again
    seen = await alice.wait_for(lambda e: e["type"] == "m.reaction", room_id=room_id)
    assert seen["content"]["m.relates_to"] == {"rel_type": "m.annotation", "event_id": target, "key": "✅"}
    await barrier(alice, room_id, bot.user_id)  # a second reaction, sent before the pong, is seen by now
    assert len([e for e in alice.events(room_id) if e["type"] == "m.reaction"]) == 1


async def test_the_bot_can_run_on_a_configured_access_token(
    matrix_user_factory, bot_factory, synapse, tmp_path
):
    alice = await matrix_user_factory("alice", encryption=True)
    account = await register_bot(synapse, tmp_path / "token-bot")
    account = dataclasses.replace(account, access_token=account.registration_token)
    bot = await bot_factory(admins=[alice.user_id], account=account)
    room_id = await room_with_bot(alice, bot.user_id, encrypted=True)
    ping = await alice.send_text(room_id, "!ping")
    assert body_of(await alice.wait_for(is_reply_to(ping, sender=bot.user_id), room_id=room_id)) == "pong"


async def test_wrong_credentials_stop_the_bot_with_a_clear_error(tmp_path, synapse):
    account = await register_bot(synapse, tmp_path / "wrong-password")
    account = dataclasses.replace(account, password="not-the-password")
    settings = account.settings(synapse)
    config = account.workdir / "config.toml"
    config.write_text(_toml(settings), encoding="utf-8")
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "iscg_bot", "run", "--migrate", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 4, result.stderr[-2000:]
    assert f"error: cannot log in to {synapse.base_url}: login refused" in result.stderr
