"""A homeserver outage is ridden out, and the bot is back within seconds of the homeserver's return, not when
its backoff runs out (issue 12).

The sync backoff doubles up to 30 s; without a probe, a bot whose homeserver came back early in a long pause
stayed away for the rest of it. The test stops its own Synapse (on a fixed port) until the bot's backoff has
reached 16 s, starts it again, and times a `!ping` from the moment Synapse answers to the pong.
"""

from __future__ import annotations

import socket
import time

import pytest

from iscg_bot.demo.homeserver import LocalSynapse
from tests.support.conversation import room_with_bot, say
from tests.support.matrix_user import body_of, is_reply_to
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

# Failed sync attempts after which the backoff is 16 s (0.5, 1, 2, 4, 8, then 16, each ±20 %).
FAILURES_FOR_A_LONG_PAUSE = 6
BACK_WITHIN = 8.0  # seconds; the pause left to wait out would be 10 s or more


async def test_the_bot_answers_within_seconds_of_the_homeservers_return(
    matrix_user_factory, bot_factory, tmp_path
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = LocalSynapse(tmp_path / "synapse", port=port)
    await server.start()
    try:
        alice = await matrix_user_factory("alice", server=server)
        bot = await bot_factory(server=server, admins=[alice.user_id])
        gateway = bot.app.gateway
        room_id = await room_with_bot(alice, bot.user_id)
        assert await say(alice, room_id, "!ping", bot.user_id) == "pong"

        await alice.pause_sync()  # her own client backs off too: only the bot's return is measured
        failures_before = gateway.sync_failures
        await server.stop()  # connections refused until it starts again

        def failures() -> int:
            assert not bot.task.done(), "the bot gave up during the outage"
            return gateway.sync_failures - failures_before

        await eventually(
            failures,
            until=lambda count: count >= FAILURES_FOR_A_LONG_PAUSE,
            what=f"{FAILURES_FOR_A_LONG_PAUSE} failed syncs",
            timeout=90,
            interval=0.1,
        )

        await server.start()  # returns once Synapse answers
        back = time.monotonic()
        await alice.resume_sync()
        ping = await alice.send_text(room_id, "!ping")
        pong = await alice.wait_for(is_reply_to(ping, sender=bot.user_id), room_id=room_id, timeout=60)
        took = time.monotonic() - back
        assert body_of(pong) == "pong"
        print(f"the bot answered {took:.2f} s after the homeserver's return")
        assert took < BACK_WITHIN, f"the bot answered {took:.1f} s after the homeserver's return"
    finally:
        await server.stop()
