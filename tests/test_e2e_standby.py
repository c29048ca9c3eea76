"""One active bot and a standby on one PostgreSQL (issue 15): the active one is SIGKILLed, or frozen with
SIGSTOP past its lease and woken with SIGCONT, while a member keeps sending commands to several rooms; the
standby takes over and every command is answered exactly once.

The two processes stand for two machines: each has its own working directory (its own crypto store), and
they share only the database. The takeover time (the kill to the first reply the standby sends) is printed;
see it with `pytest -s` or `-rP`.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import make_url

from iscg_bot.demo.homeserver import LocalSynapse
from tests.fixtures_bot import BotAccount, BotProcess, _toml, migrate, register_bot
from tests.fixtures_storage import POSTGRES_URL
from tests.support.conversation import barrier, room_with_bot
from tests.support.matrix_user import body_of, is_reply_to, matches
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

ROOMS = 4
COMMANDS = 48  # in all, round-robin over the rooms
PACE_SECONDS = 0.25  # between two commands: the stream spans the whole takeover
LEASE_SECONDS = 4.0  # shorter than the default 8 s, so the test is quick; the timing rules are the same


@pytest_asyncio.fixture(loop_scope="session")
async def postgres_database() -> AsyncIterator[str]:
    """A fresh database on the machine's PostgreSQL (its own, so two processes can share it by URL alone)."""
    url = make_url(POSTGRES_URL)
    name = f"iscg_standby_{secrets.token_hex(4)}"
    try:
        admin = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, database=url.database, timeout=2
        )
    except Exception as error:
        pytest.skip(f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)}: {error!r}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Pair:
    """Two `iscg-bot run` processes for one bot account, sharing one database, each with its own disk."""

    def __init__(self, synapse: LocalSynapse, account: BotAccount, database_url: str, admins: list[str]):
        self.processes: dict[str, BotProcess] = {}
        for name in ("bot-a", "bot-b"):
            workdir = account.workdir / name
            workdir.mkdir(parents=True, exist_ok=True)
            settings: dict[str, Any] = account.settings(synapse, admins=admins)
            settings["matrix"]["store_path"] = str(workdir / "crypto-store")
            settings["database"]["url"] = database_url
            settings["cluster"] = {"instance": name, "lease_seconds": LEASE_SECONDS}
            config = workdir / "config.toml"
            config.write_text(_toml(settings), encoding="utf-8")
            self.processes[name] = BotProcess(config, workdir / "bot")

    def __getitem__(self, name: str) -> BotProcess:
        return self.processes[name]

    def kill_all(self) -> None:
        for process in self.processes.values():
            if process.process is not None and process.process.poll() is None:
                process.process.send_signal(signal.SIGCONT)  # a stopped process ignores SIGKILL until then
            process.kill()

    def output(self) -> str:
        return "\n".join(f"--- {name}\n{p.output()[-3000:]}" for name, p in self.processes.items())


async def logged(process: BotProcess, text: str, timeout: float = 60) -> None:
    await eventually(
        process.output, until=lambda out: text in out, what=f"{text!r} in the log", timeout=timeout
    )


async def stream_commands(admin: Any, rooms: list[str], disrupt: Callable[[], None]) -> dict[str, str]:
    """Send COMMANDS numbered `!ping`s over the rooms, `disrupt()` a third of the way in; the commands'
    event IDs, each with its room."""
    sent: dict[str, str] = {}
    for n in range(COMMANDS):
        if n == COMMANDS // 3:
            disrupt()
        room_id = rooms[n % len(rooms)]
        sent[await admin.send_text(room_id, "!ping")] = room_id
        await asyncio.sleep(PACE_SECONDS)
    return sent


async def answered_once(admin: Any, sent: dict[str, str], bot_id: str, pair: Pair) -> None:
    """Wait until every command has its reply, "pong" (read, so decrypted in an encrypted room: not "I could
    not decrypt that"); assert none has two."""
    rooms = set(sent.values())
    for room_id in rooms:  # after the barrier, anything doubled would be in the room already
        await barrier(admin, room_id, bot_id)

    def replies() -> Counter[str]:
        counts: Counter[str] = Counter()
        for room_id in rooms:
            for event in admin.events(room_id):
                for command in sent:
                    if matches(is_reply_to(command, sender=bot_id), event):
                        assert body_of(event) == "pong", f"{body_of(event)!r} to {command}\n{pair.output()}"
                        counts[command] += 1
        return counts

    counts = await eventually(
        replies, until=lambda c: len(c) == len(sent), what="a reply to every command", timeout=60
    )
    doubled = {command: n for command, n in counts.items() if n != 1}
    assert not doubled, f"answered more than once: {doubled}\n{pair.output()}"


def first_reply_after(admin: Any, rooms: list[str], bot_id: str, after_wall: float) -> float | None:
    """The earliest server timestamp (s) of a bot reply sent after `after_wall` (s since the epoch)."""
    times = [
        event["origin_server_ts"] / 1000
        for room_id in rooms
        for event in admin.events(room_id)
        if event.get("sender") == bot_id and event["origin_server_ts"] / 1000 > after_wall
    ]
    return min(times) if times else None


async def start_pair(
    synapse: LocalSynapse, tmp_path: Path, database_url: str, admin: Any, *, encrypted: bool = False
) -> tuple[Pair, str, list[str]]:
    account = await register_bot(synapse, tmp_path / "bot")
    await migrate(database_url)
    pair = Pair(synapse, account, database_url, [admin.user_id])
    pair["bot-a"].start()
    await logged(pair["bot-a"], "active: took the lease")
    rooms = [await room_with_bot(admin, account.user_id, encrypted=encrypted) for _ in range(ROOMS)]
    pair["bot-b"].start()
    await logged(pair["bot-b"], "standby: bot-a is active")
    return pair, account.user_id, rooms


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_a_sigkilled_active_bot_is_replaced_by_the_standby_and_every_command_is_answered_once(
    matrix_user_factory, synapse, tmp_path, postgres_database, encrypted
):
    """Encrypted: the standby, on its own disk, reads the commands and its replies are read (decrypted) by
    the member: the device's keys came to it through PostgreSQL."""
    admin = await matrix_user_factory("alice", encryption=encrypted)
    pair, bot_id, rooms = await start_pair(synapse, tmp_path, postgres_database, admin, encrypted=encrypted)
    try:
        killed_at = 0.0

        def kill() -> None:
            nonlocal killed_at
            killed_at = time.time()
            pair["bot-a"].kill()

        sent = await stream_commands(admin, rooms, kill)
        await answered_once(admin, sent, bot_id, pair)
        assert "active: took the lease (epoch 2, from bot-a)" in pair["bot-b"].output()
        first = first_reply_after(admin, rooms, bot_id, killed_at)
        assert first is not None
        takeover = first - killed_at
        kind = "an encrypted" if encrypted else "a plain"
        print(
            f"\nstandby takeover after SIGKILL, {kind} room: {takeover:.1f} s (lease {LEASE_SECONDS:.0f} s)"
        )
        assert takeover < 15, f"the standby took {takeover:.1f} s to answer\n{pair.output()}"
    finally:
        pair.kill_all()


async def test_a_frozen_leader_woken_after_the_takeover_stops_without_doing_anything_twice(
    matrix_user_factory, synapse, tmp_path, postgres_database
):
    admin = await matrix_user_factory("alice")
    pair, bot_id, rooms = await start_pair(synapse, tmp_path, postgres_database, admin)
    frozen = pair["bot-a"].process
    assert frozen is not None
    try:
        sent = await stream_commands(admin, rooms, lambda: frozen.send_signal(signal.SIGSTOP))
        await logged(pair["bot-b"], "active: took the lease", timeout=30)
        frozen.send_signal(signal.SIGCONT)  # it wakes up believing it leads…
        more: dict[str, str] = {}
        for room_id in rooms:  # …while commands keep coming
            more[await admin.send_text(room_id, "!ping")] = room_id
        returned = await asyncio.to_thread(frozen.wait, 30)
        assert returned != 0, "a leader that lost its lease exits with a failure, for its supervisor to see"
        assert "no longer the active bot" in pair["bot-a"].output()
        await answered_once(admin, sent | more, bot_id, pair)
    finally:
        pair.kill_all()
