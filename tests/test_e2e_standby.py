"""One active bot and a standby on one PostgreSQL (issue 15): a member streams 300 `!ping`s over 20 rooms;
at a random point the active bot is SIGKILLed, or frozen with SIGSTOP and woken with SIGCONT once the
standby has taken over; the standby takes over and every command is answered exactly once.

The two processes stand for two machines: each has its own working directory (its own crypto store), and
they share only the database. The disruption's point is drawn from a seeded generator: the seed is fixed
per test, ISCG_STANDBY_SEED=<n> replays another. The seed, the point and the takeover time (the disruption
to the standby's first reply) are printed: see them with `pytest -s` or `-rP`.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.support.private_postgres import private_databases
from tests.support.standby_pair import (
    TOOK_THE_LEASE,
    Pair,
    PingStream,
    Tally,
    answered,
    logged,
    start_pair,
    takeover_seconds,
)

pytestmark = pytest.mark.e2e

ROOMS = 20
COMMANDS = 300  # in all, round-robin over the rooms
# Start to start: the stream lasts 15 s, and a disruption in its first half leaves at least 7.5 s of
# commands after it, so commands keep coming through the takeover (4-5 s measured).
PACE_SECONDS = 0.05
LEASE_SECONDS = 4.0  # shorter than the default 8 s, so the test is quick; the timing rules are the same
SEEDS = {"kill-plain": 1501, "kill-encrypted": 1502, "freeze-plain": 1503, "freeze-encrypted": 1504}


@pytest_asyncio.fixture(loop_scope="session")
async def postgres_database() -> AsyncIterator[str]:
    """A fresh database on the machine's PostgreSQL (its own, so two processes can share it by URL alone)."""
    async with private_databases(1) as [url]:
        yield url


def disruption_point(case: str) -> int:
    """The command before which the active bot is disrupted, drawn from the case's seed (or the replay's)."""
    seed = int(os.environ.get("ISCG_STANDBY_SEED") or SEEDS[case])
    point = random.Random(seed).randrange(COMMANDS // 10, COMMANDS // 2)
    print(f"\n{case}: seed {seed} (replay with ISCG_STANDBY_SEED={seed}), disruption before command {point}")
    return point


def assert_each_answered_once(result: Tally, pair: Pair) -> None:
    assert not result.unanswered, f"{result}; unanswered: {result.unanswered[:5]}…\n{pair.output()}"
    assert not result.doubled, f"answered more than once: {result.doubled}\n{pair.output()}"
    assert not result.unreadable, f"not a readable pong: {result.unreadable}\n{pair.output()}"


def report_takeover(what: str, disrupted_at: float, stream: PingStream, bot_id: str, pair: Pair) -> None:
    takeover = takeover_seconds(stream.member, stream.rooms, bot_id, disrupted_at, LEASE_SECONDS)
    meanwhile = stream.sent_between(disrupted_at, disrupted_at + takeover)
    after = stream.sent_between(disrupted_at + takeover, float("inf"))
    print(
        f"standby takeover after {what}: {takeover:.1f} s (lease {LEASE_SECONDS:.0f} s);"
        f" {meanwhile} commands sent meanwhile, {after} after it"
    )
    assert takeover < 15, f"the standby took {takeover:.1f} s to answer (NaN: never)\n{pair.output()}"


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_a_sigkilled_active_bot_is_replaced_by_the_standby_and_every_command_is_answered_once(
    matrix_user_factory: Any, synapse: Any, tmp_path: Any, postgres_database: str, encrypted: bool
) -> None:
    """Encrypted: the standby, on its own disk, reads the commands and its replies are read (decrypted) by
    the member: the device's keys came to it through PostgreSQL."""
    kind = "encrypted" if encrypted else "plain"
    point = disruption_point(f"kill-{kind}")
    member = await matrix_user_factory("alice", encryption=encrypted)
    pair, bot_id, rooms = await start_pair(
        synapse, tmp_path / "bot", postgres_database, member, rooms=ROOMS,
        lease_seconds=LEASE_SECONDS, encrypted=encrypted,
    )  # fmt: skip
    try:
        killed_at = 0.0

        def kill_at_the_point(n: int) -> None:
            nonlocal killed_at
            if n == point:
                killed_at = time.time()
                pair["bot-a"].kill()

        stream = PingStream(member, rooms, PACE_SECONDS)
        await stream.send(COMMANDS, before=kill_at_the_point)
        assert_each_answered_once(await answered(member, stream.sent, bot_id), pair)
        assert f"{TOOK_THE_LEASE} (epoch 2, from bot-a)" in pair["bot-b"].output()
        report_takeover(f"SIGKILL, {kind} rooms", killed_at, stream, bot_id, pair)
    finally:
        pair.kill_all()


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_a_frozen_leader_woken_after_the_takeover_stops_without_doing_anything_twice(
    matrix_user_factory: Any, synapse: Any, tmp_path: Any, postgres_database: str, encrypted: bool
) -> None:
    kind = "encrypted" if encrypted else "plain"
    point = disruption_point(f"freeze-{kind}")
    member = await matrix_user_factory("alice", encryption=encrypted)
    pair, bot_id, rooms = await start_pair(
        synapse, tmp_path / "bot", postgres_database, member, rooms=ROOMS,
        lease_seconds=LEASE_SECONDS, encrypted=encrypted,
    )  # fmt: skip
    frozen = pair["bot-a"].process
    assert frozen is not None
    frozen_at = 0.0
    woken: list[asyncio.Task[None]] = []

    async def wake_after_the_takeover() -> None:
        await logged(pair["bot-b"], TOOK_THE_LEASE, timeout=30)
        frozen.send_signal(signal.SIGCONT)  # it wakes up believing it leads, while commands keep coming

    def freeze_at_the_point(n: int) -> None:
        nonlocal frozen_at
        if n == point:
            frozen_at = time.time()
            frozen.send_signal(signal.SIGSTOP)
            woken.append(asyncio.create_task(wake_after_the_takeover()))

    try:
        stream = PingStream(member, rooms, PACE_SECONDS)
        await stream.send(COMMANDS, before=freeze_at_the_point)
        await woken[0]
        await stream.send(len(rooms))  # one more in each room, surely after the wake-up
        returned = await asyncio.to_thread(frozen.wait, 30)
        assert returned == 5, "a leader that lost its lease exits 5, for its supervisor to see"
        assert "no longer the active bot" in pair["bot-a"].output()
        assert_each_answered_once(await answered(member, stream.sent, bot_id), pair)
        report_takeover(f"SIGSTOP, {kind} rooms", frozen_at, stream, bot_id, pair)
    finally:
        for task in woken:
            task.cancel()
        pair.kill_all()
