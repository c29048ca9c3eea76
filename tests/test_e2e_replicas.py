"""Two web replicas beside the bot (issue 15), all real processes on a private PostgreSQL cluster, with a
real Synapse: a meeting scheduled in the chat is in both replicas' feeds within 2 s of the bot's reply;
one replica SIGKILLed leaves the other serving; the database restarted under all of them, the replicas
answer 503 (their /healthz too) while it is down and serve again on their own, and the bot answers every
command exactly once.

The staleness printed (see it with `pytest -s` or `-rP`) is from the moment the member's client sees the
bot's reply to the moment each replica's feed holds the meeting, asking every 20 ms.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fixtures_bot import BotProcess, _toml, migrate, register_bot
from tests.support.conversation import barrier, room_with_bot
from tests.support.deployment import free_port
from tests.support.matrix_user import body_of, is_reply_to, matches
from tests.support.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

STALENESS_LIMIT = 2.0  # seconds: the promise
POLL = 0.02


class ReplicaProcess:
    """`iscg-bot web` as its own process, on its own port, configured with the database alone."""

    def __init__(self, workdir: Path, database_url: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "config.toml"
        self.config.write_text(
            _toml(
                {
                    "database": {"url": database_url},
                    "web": {"listen_port": self.port, "public_base_url": self.base_url},
                    "logging": {"level": "INFO"},
                }
            ),
            encoding="utf-8",
        )
        self.log = workdir / "replica.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ISCG_")}
        with self.log.open("ab") as out:
            command = [sys.executable, "-m", "iscg_bot", "web", "--config", str(self.config)]
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


async def fetch(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
            return response.status, await response.text()
    except aiohttp.ClientError as error:
        return 0, repr(error)


async def serving(http: aiohttp.ClientSession, replica: ReplicaProcess, timeout: float = 30) -> None:
    await eventually(
        lambda: fetch(http, replica.base_url + "/healthz"),
        until=lambda answer: answer[0] == 200,
        what=f"{replica.base_url}/healthz 200\n{replica.output()[-2000:]}",
        timeout=timeout,
    )


async def staleness(http: aiohttp.ClientSession, replica: ReplicaProcess, text: str, since: float) -> float:
    """Seconds from `since` (time.monotonic) until the replica's subject feed holds `text`."""
    while True:
        status, body = await fetch(http, replica.base_url + "/calendar/cop.ics")
        if status == 200 and text in body:
            return time.monotonic() - since
        if time.monotonic() - since > 30:
            raise AssertionError(f"{replica.base_url} never served {text!r}\n{replica.output()[-2000:]}")
        await asyncio.sleep(POLL)


async def test_two_replicas_serve_what_the_bot_commits_and_ride_out_a_database_restart(
    matrix_user_factory,
    synapse,
    tmp_path,
    pg_cluster,
):
    admin = await matrix_user_factory("alice")
    account = await register_bot(synapse, tmp_path / "bot")
    await migrate(pg_cluster.url)
    settings: dict[str, Any] = account.settings(synapse, admins=[admin.user_id])
    settings["database"]["url"] = pg_cluster.url
    config = account.workdir / "config.toml"
    config.write_text(_toml(settings), encoding="utf-8")
    bot = BotProcess(config, account.workdir / "bot")
    replicas = [ReplicaProcess(tmp_path / f"web-{n}", pg_cluster.url) for n in (1, 2)]
    bot.start()
    for replica in replicas:
        replica.start()
    commands: list[str] = []
    async with aiohttp.ClientSession() as http:
        try:
            room = await room_with_bot(admin, account.user_id)
            for replica in replicas:
                await serving(http, replica)

            async def command(body: str) -> str:
                sent = await admin.send_text(room, body)
                commands.append(sent)
                reply = await admin.wait_for(
                    is_reply_to(sent, sender=account.user_id), room_id=room, timeout=30
                )
                return body_of(reply)

            assert "cop" in await command("!subject create cop Child Online Protection")

            async def scheduled(title: str, day: int, serving_replicas: list[ReplicaProcess]) -> list[float]:
                reply = await command(f'!meeting schedule "{title}" 2027-01-{day:02} 14:00 UTC for 60m')
                seen = time.monotonic()  # the member has the bot's reply
                assert title in reply, reply
                return list(
                    await asyncio.gather(*(staleness(http, r, title, seen) for r in serving_replicas))
                )

            first = await scheduled("Budget review", 12, replicas)
            print(
                f"\nreplica staleness after the bot's reply: {', '.join(f'{s * 1000:.0f} ms' for s in first)}"
            )
            assert max(first) < STALENESS_LIMIT, first

            # One replica killed: the other goes on serving, and serving what changes.
            replicas[0].kill()
            second = await scheduled("Liaison call", 13, replicas[1:])
            assert max(second) < STALENESS_LIMIT, second
            replicas[0].start()
            await serving(http, replicas[0])

            # The database restarted under the bot and both replicas.
            await pg_cluster.stop(mode="fast")
            for replica in replicas:
                status, _ = await fetch(http, replica.base_url + "/calendar/cop.ics")
                assert status == 503, f"{replica.base_url} answered {status} with the database down"
                status, health = await fetch(http, replica.base_url + "/healthz")
                assert status == 503 and "unreachable" in health, health
            during = await admin.send_text(room, "!ping")  # sent while the database is down
            commands.append(during)
            await asyncio.sleep(3)
            await pg_cluster.start()
            for replica in replicas:
                await serving(http, replica)
            await admin.wait_for(is_reply_to(during, sender=account.user_id), room_id=room, timeout=60)
            third = await scheduled("After the restart", 14, replicas)
            print(f"after the database restart: {', '.join(f'{s * 1000:.0f} ms' for s in third)}")
            assert max(third) < STALENESS_LIMIT, third

            # Every command answered exactly once, across the restart.
            await barrier(admin, room, account.user_id)
            replies = Counter(
                command
                for event in admin.events(room)
                for command in commands
                if matches(is_reply_to(command, sender=account.user_id), event)
            )
            assert set(replies) == set(commands), f"unanswered: {set(commands) - set(replies)}"
            assert set(replies.values()) == {1}, f"answered more than once: {replies}\n{bot.output()}"
        finally:
            for replica in replicas:
                replica.kill()
            bot.kill()
