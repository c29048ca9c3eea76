"""/healthz and /metrics end to end: the bot on a Synapse of its own, which the test stops and starts again.

The session's shared Synapse is never stopped; this test runs its own, on a fixed port so the bot finds it
again after the restart. With a 1 s long-poll and a 2 s request timeout the loop is declared dead
2 × 1 + 2 = 4 s after its last sync.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from iscg_bot.app import BotApp
from iscg_bot.core.config import Settings
from iscg_bot.demo.homeserver import LocalSynapse
from tests.fixtures_bot import RunningBot, migrate, register_bot
from tests.support.conversation import room_with_bot, say
from tests.support.metrics import scraped
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

SYNC_TIMEOUT = 1
REQUEST_TIMEOUT = 2
ALLOWED_LAG = 2 * SYNC_TIMEOUT + REQUEST_TIMEOUT


async def gauge(app: BotApp, name: str, **labels: str) -> float:
    """One sample of the bot's /metrics page, read with Prometheus's text parser."""
    found = (await scraped(app.web.base_url)).get((name, frozenset(labels.items())))
    if found is None:
        raise AssertionError(f"{name}{labels} is not in the exposition")
    return found


async def healthz(base_url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(f"{base_url}/healthz") as response:
        return response.status, await response.json()


async def wait_for_status(base_url: str, status: int, timeout: float) -> tuple[dict[str, Any], float]:
    """Poll /healthz until it answers `status`; its report and how long that took."""
    started = time.monotonic()
    _, report = await eventually(
        lambda: healthz(base_url),
        until=lambda answer: answer[0] == status,
        what=f"/healthz to answer {status}",
        timeout=timeout,
        interval=0.2,
    )
    return report, time.monotonic() - started


async def test_healthz_turns_unhealthy_when_the_homeserver_stops_and_recovers(matrix_user_factory, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = LocalSynapse(tmp_path / "synapse", port=port)
    await server.start()
    bot = None
    try:
        alice = await matrix_user_factory("alice", server=server)
        bot = await start_bot(server, tmp_path / "bot", admins=[alice.user_id])
        app = bot.app
        room_id = await room_with_bot(alice, app.settings.matrix.user_id)
        assert await say(alice, room_id, "!ping", app.settings.matrix.user_id) == "pong"
        assert await gauge(app, "iscg_commands_total", command="ping", outcome="ok") == 1

        status, report = await healthz(app.web.base_url)
        assert status == 200 and report["ok"] is True
        assert report["lag_seconds"] <= SYNC_TIMEOUT + 1
        assert report["allowed_lag_seconds"] == ALLOWED_LAG

        await server.stop()  # connections refused from now on: no sync can succeed
        report, took = await wait_for_status(app.web.base_url, 503, timeout=ALLOWED_LAG + 10)
        assert report["ok"] is False
        assert report["reason"].startswith("no sync for ")
        assert report["reason"].endswith(f"; the last attempt failed: {report['last_error']}")  # refused
        assert took <= ALLOWED_LAG + 2
        lag, syncs = await gauge(app, "iscg_sync_lag_seconds"), await gauge(app, "iscg_syncs_total")
        assert lag > ALLOWED_LAG
        await asyncio.sleep(1)
        assert await gauge(app, "iscg_sync_lag_seconds") >= lag + 1  # growing: failed syncs do not count
        assert await gauge(app, "iscg_syncs_total") == syncs
        assert await gauge(app, "iscg_sync_failures_total") >= 1
        assert not bot.task.done(), "the bot gave up during the outage"

        await server.start()
        report, _ = await wait_for_status(app.web.base_url, 200, timeout=20)
        assert report["ok"] is True and "last_error" not in report
        assert await gauge(app, "iscg_sync_lag_seconds") <= ALLOWED_LAG
    finally:
        if bot is not None:
            await bot.stop()
        await server.stop()


async def start_bot(server: LocalSynapse, workdir: Path, admins: list[str]) -> RunningBot:
    """The bot on `server` with a short long-poll and request timeout, its first sync done."""
    account = await register_bot(server, workdir)
    config = account.settings(server, admins=admins)
    config["matrix"] |= {"sync_timeout_seconds": SYNC_TIMEOUT, "request_timeout_seconds": REQUEST_TIMEOUT}
    settings = Settings.model_validate(config)
    await migrate(settings.database.url.get_secret_value())
    app = BotApp(settings)
    bot = RunningBot(app, asyncio.create_task(app.run()))
    ready = asyncio.create_task(app.gateway.ready.wait())
    await asyncio.wait({ready, bot.task}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if bot.task.done():
        bot.task.result()  # raises what stopped it
    assert app.gateway.ready.is_set(), "the bot did not finish its first sync within 60 s"
    return bot
