"""PostgreSQL restarted under the running bots (issue 15, "database outages"): the active bot and a standby
(two processes, each with its own working directory) on a private PostgreSQL cluster; a member streams
`!ping`s over a few rooms, and mid-stream the server is stopped for several seconds, then started again.

What the operator sees: the active bot's /healthz (and the standby's) answers 503 naming the database while
it is down, and 200 again on its own after. What the members see: every command answered exactly once. What
the lease does (iscg_bot/core/leadership.py): the database away is no evidence that the active bot died, so
the same bot stays active; no takeover. The time from the server's return to the first reply is printed
(`pytest -s` or `-rP`).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
import pytest

from iscg_bot.demo.homeserver import LocalSynapse
from tests.fixtures_bot import BotAccount, BotProcess, _toml, migrate, register_bot
from tests.support.conversation import room_with_bot
from tests.support.deployment import free_port
from tests.support.metrics import scraped
from tests.support.pg_cluster import PrivateCluster, private_cluster
from tests.support.polling import eventually
from tests.support.standby_pair import (
    TOOK_THE_LEASE,
    PingStream,
    answered,
    first_reply_after,
    logged,
    standby_line,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ROOMS = 3
COMMANDS = 60  # in all, round-robin over the rooms
PACE_SECONDS = 0.25  # start to start: 15 s, spanning the whole outage and going on after it
OUTAGE_AFTER = 12  # commands before PostgreSQL stops (3 s in)
DOWN_SECONDS = 6.0  # longer than the active bot's deadline (¾ of the lease): it stops acting meanwhile
LEASE_SECONDS = 4.0


@dataclass
class Bot:
    """One `iscg-bot run` process with its web port (/healthz, /metrics) at a known address."""

    process: BotProcess
    web: str

    async def healthz(self) -> tuple[int, dict[str, Any]]:
        """/healthz's status and report; (0, the error) when it does not answer (not listening yet)."""
        timeout = aiohttp.ClientTimeout(total=2)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http, http.get(f"{self.web}/healthz") as got:
                return got.status, await got.json()
        except (aiohttp.ClientError, TimeoutError) as error:
            return 0, {"reason": repr(error)}

    async def gauge(self, name: str, **labels: str) -> float | None:
        """A sample of the process's /metrics, read as Prometheus would; None when absent."""
        return (await scraped(self.web)).get((name, frozenset(labels.items())))


@dataclass
class HealthLog:
    """/healthz as polled every 0.2 s: (wall time, status, reason), 0 when it did not answer."""

    bot: Bot
    answers: list[tuple[float, int, str]] = field(default_factory=list)

    async def poll(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            status, report = await self.bot.healthz()
            self.answers.append((time.time(), status, str(report.get("reason", ""))))
            await asyncio.sleep(0.2)

    def between(self, start: float, end: float) -> list[tuple[int, str]]:
        return [(status, reason) for at, status, reason in self.answers if start <= at <= end]

    def first(self, status: int, *, after: float) -> float:
        """When /healthz first answered `status` after `after` (wall clock; NaN: never)."""
        return min((at for at, seen, _ in self.answers if seen == status and at > after), default=math.nan)


def configure(synapse: LocalSynapse, account: BotAccount, name: str, database_url: str, admin: str) -> Bot:
    workdir = account.workdir / name  # its own disk: two machines
    workdir.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = account.settings(synapse, admins=[admin])
    settings["matrix"]["store_path"] = str(workdir / "crypto-store")
    settings["database"]["url"] = database_url
    settings["cluster"] = {"instance": name, "lease_seconds": LEASE_SECONDS}
    web = f"http://127.0.0.1:{free_port()}"
    settings["web"] = {"listen_port": int(web.rsplit(":", 1)[1]), "public_base_url": web}
    config = workdir / "config.toml"
    config.write_text(_toml(settings), encoding="utf-8")
    return Bot(BotProcess(config, workdir / "bot"), web)


@dataclass
class Outage:
    """PostgreSQL stopped (`mode`) for DOWN_SECONDS, then started; when, by the wall clock."""

    server: PrivateCluster
    mode: Literal["fast", "immediate"]
    down_at: float = 0.0
    back_at: float = 0.0

    async def run(self) -> None:
        self.down_at = time.time()
        await self.server.stop(self.mode)
        await asyncio.sleep(DOWN_SECONDS)
        await self.server.start()
        self.back_at = time.time()


class Bots:
    def __init__(self, active: Bot, standby: Bot) -> None:
        self.active, self.standby = active, standby

    def output(self) -> str:
        return "\n".join(
            f"--- {name}\n{bot.process.output()[-4000:]}"
            for name, bot in (("bot-a", self.active), ("bot-b", self.standby))
        )

    def kill_all(self) -> None:
        self.active.process.kill()
        self.standby.process.kill()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgresql_restarted_under_the_bots_every_command_is_answered_once_by_the_same_bot(
    matrix_user_factory, synapse, tmp_path: Path, mode: Literal["fast", "immediate"]
):
    admin = await matrix_user_factory("alice")
    async with private_cluster() as server:
        await migrate(server.url)
        account = await register_bot(synapse, tmp_path / "bot")
        bots = Bots(
            configure(synapse, account, "bot-a", server.url, admin.user_id),
            configure(synapse, account, "bot-b", server.url, admin.user_id),
        )
        polling = asyncio.Event()
        watches = [HealthLog(bots.active), HealthLog(bots.standby)]
        pollers: list[asyncio.Task[None]] = []
        try:
            bots.active.process.start()
            await logged(bots.active.process, TOOK_THE_LEASE)
            rooms = [await room_with_bot(admin, account.user_id) for _ in range(ROOMS)]
            bots.standby.process.start()
            await logged(bots.standby.process, standby_line("bot-a"))
            await eventually(bots.standby.healthz, until=lambda a: a[0] == 200, what="the standby's /healthz")
            pollers = [asyncio.create_task(watch.poll(polling)) for watch in watches]

            outage = Outage(server, mode)
            restarting: list[asyncio.Task[None]] = []

            def restart_midstream(n: int) -> None:
                if n == OUTAGE_AFTER:
                    restarting.append(asyncio.create_task(outage.run()))

            stream = PingStream(admin, rooms, pace=PACE_SECONDS)
            sent = await stream.send(COMMANDS, before=restart_midstream)
            await asyncio.gather(*restarting)
            assert outage.back_at > 0, "the stream should outlast the outage"

            result = await answered(admin, sent, account.user_id)
            assert not result.unanswered, f"unanswered: {result.unanswered[:5]}…\n{bots.output()}"
            assert not result.doubled, f"answered more than once: {result.doubled}\n{bots.output()}"
            assert not result.unreadable, f"not a pong: {result.unreadable}\n{bots.output()}"
            first = first_reply_after(admin, rooms, account.user_id, outage.back_at)
            assert first is not None

            # /healthz: 503 naming the database while it was down, 200 again on its own after.
            for watch in watches:
                during = watch.between(outage.down_at + 0.5, outage.back_at)
                named = [reason for status, reason in during if status == 503 and "database" in reason]
                assert named, f"{watch.bot.web}: no 503 naming the database while it was down: {during}"
                await eventually(watch.bot.healthz, until=lambda a: a[0] == 200, what="/healthz 200 again")
            active = watches[0]
            unhealthy = active.first(503, after=outage.down_at) - outage.down_at
            healthy = active.first(200, after=outage.back_at) - outage.back_at
            down, replied = outage.back_at - outage.down_at, first - outage.back_at
            print(
                f"\nPostgreSQL stopped ({mode}) for {down:.1f} s (lease {LEASE_SECONDS:.0f} s): the active "
                f"bot's /healthz 503 {unhealthy:.1f} s after the stop, 200 {healthy:.1f} s after the start; "
                f"the first reply {replied:.1f} s after the start"
            )

            # No takeover: the database away was no evidence that bot-a had died.
            assert TOOK_THE_LEASE not in bots.standby.process.output(), bots.output()
            assert "no longer the active bot" not in bots.active.process.output(), bots.output()
            _, report = await bots.active.healthz()
            assert report["cluster"] == {"instance": "bot-a", "role": "active", "active": "bot-a", "epoch": 1}
            _, report = await bots.standby.healthz()
            assert report == {
                "ok": True,
                "instance": "bot-b",
                "role": "standby",
                "active": "bot-a",
                "epoch": 1,
            }
            # What an operator's Prometheus scrapes from each process's port.
            assert await bots.active.gauge("iscg_leader", bot_instance="bot-a") == 1
            assert await bots.standby.gauge("iscg_leader", bot_instance="bot-b") == 0
            assert await bots.standby.gauge("iscg_lease_epoch", bot_instance="bot-b") == 1
        finally:
            polling.set()
            await asyncio.gather(*pollers, return_exceptions=True)
            bots.kill_all()
