"""`iscg-bot web` (issue 15): a web replica serves the pages and feeds from the database alone, and what the
bot commits is what it serves on the very next request — a new feed with a new ETag, never the old feed
under a fresh one — while the bot's own bookkeeping (a `!ping`) costs it nothing.

The bot here is the chat driver (`tests.chat`: the real dispatcher, commands and storage) on its own
engine; the replica is `WebReplica` on another, as two processes would be, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict
from sqlalchemy import text

from iscg_bot.commands import build_router
from iscg_bot.core.config import load_settings
from iscg_bot.replica import WebReplica
from iscg_bot.storage import Database
from tests.chat import ADMIN, COP, Chat, said, settings
from tests.fixtures_storage import BACKENDS
from tests.support.private_postgres import private_databases


class Replica:
    """A `WebReplica` on a free port, and a client to ask it."""

    def __init__(self, url: str) -> None:
        environ = {"ISCG_DATABASE_URL": url, "ISCG_WEB_LISTEN_PORT": "0"}
        self.app = WebReplica(load_settings(None, environ, matrix_needed=False))
        self.running: asyncio.Task[None] | None = None
        self.http = aiohttp.ClientSession()

    async def start(self) -> None:
        self.running = asyncio.create_task(self.app.run())
        while self.app.web._runner is None:  # started: listening on its port
            assert not self.running.done(), self.running.exception()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.app.stop()
        if self.running is not None:
            await self.running
        await self.http.close()

    async def get(self, path: str, **headers: str) -> tuple[int, CIMultiDict[str], str]:
        async with self.http.get(self.app.web.base_url + path, headers=headers) as response:
            return response.status, response.headers.copy(), await response.text()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        return
    async with private_databases(1) as [url]:
        yield url


@pytest.fixture
async def bot_and_replica(database_url: str) -> AsyncIterator[tuple[Chat, Replica]]:
    """The bot (chat driver) with a subject, `cop`, and a replica serving the same database."""
    database = Database(database_url)
    await database.migrate()
    config = settings()
    chat = Chat(database, build_router(config.bot.command_prefix), config)
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    replica = Replica(database_url)
    await replica.start()
    try:
        yield chat, replica
    finally:
        await replica.stop()
        await chat.close()


async def test_a_meeting_the_bot_schedules_is_in_the_replicas_next_feed_under_a_new_etag(bot_and_replica):
    chat, replica = bot_and_replica
    status, headers, before = await replica.get("/calendar/cop.ics")
    assert status == 200 and "Budget review" not in before
    old_etag = headers["ETag"]
    assert (await replica.get("/calendar/cop.ics", **{"If-None-Match": old_etag}))[0] == 304

    await said(chat, '!meeting schedule "Budget review" 2026-12-10 14:00 UTC for 60m', by=ADMIN)

    # The client that saw the bot's reply asks with the ETag it has: the new feed, not a 304.
    status, headers, after = await replica.get("/calendar/cop.ics", **{"If-None-Match": old_etag})
    assert status == 200 and "SUMMARY:M1 · Budget review" in after
    assert headers["ETag"] != old_etag
    assert "Budget review" in (await replica.get("/calendar/iscg.ics"))[2]
    assert "Budget review" in (await replica.get("/subjects/cop"))[2]
    assert "Budget review" in (await replica.get("/meetings/M1"))[2]


async def test_a_moved_meeting_is_served_moved_and_a_cancelled_one_cancelled(bot_and_replica):
    chat, replica = bot_and_replica
    await said(chat, '!meeting schedule "Budget review" 2026-12-10 14:00 UTC for 60m', by=ADMIN)
    assert "DTSTART;TZID=Europe/Zurich:20261210T150000" in (await replica.get("/calendar/cop.ics"))[2]
    await said(chat, "!meeting move M1 2026-12-11 09:00 UTC", by=ADMIN)
    assert "DTSTART;TZID=Europe/Zurich:20261211T100000" in (await replica.get("/calendar/cop.ics"))[2]
    await said(chat, "!meeting cancel M1", by=ADMIN)
    assert "STATUS:CANCELLED" in (await replica.get("/calendar/cop.ics"))[2]


async def test_the_bots_bookkeeping_leaves_the_replicas_feeds_as_rendered(bot_and_replica):
    """A `!ping` writes only the ledger and the outbox: no data version moves, no feed is rendered again."""
    chat, replica = bot_and_replica
    await said(chat, '!meeting schedule "Budget review" 2026-12-10 14:00 UTC for 60m', by=ADMIN)
    await replica.get("/calendar/cop.ics")
    renders = replica.app.feeds.renders
    for _ in range(3):
        assert await chat.say("!ping") == ["pong"]
        assert (await replica.get("/calendar/cop.ics"))[0] == 200
    assert replica.app.feeds.renders == renders


async def test_a_minutes_line_refreshes_the_replicas_pages_but_not_its_feeds(bot_and_replica):
    """The feeds hear only the tables they are made of; the meeting page shows the minutes' lines."""
    chat, replica = bot_and_replica
    await said(chat, '!meeting schedule "Budget review" 2026-12-10 14:00 UTC for 60m', by=ADMIN)
    await said(chat, "!startmeeting M1", by=ADMIN)
    await replica.get("/calendar/cop.ics")
    assert "The budget is approved" not in (await replica.get("/meetings/M1"))[2]
    renders = replica.app.feeds.renders
    await chat.deliver(chat.message("!info The budget is approved", sender=ADMIN, room=COP))  # a reaction
    assert "The budget is approved" in (await replica.get("/meetings/M1"))[2]  # the live minutes
    assert (await replica.get("/calendar/cop.ics"))[0] == 200
    assert replica.app.feeds.renders == renders
    await chat.say("!endmeeting", sender=ADMIN, room=COP)
    assert "The budget is approved" in (await replica.get("/minutes/S1"))[2]


async def test_requests_arriving_together_share_one_read_of_the_versions(bot_and_replica):
    _, replica = bot_and_replica
    await replica.get("/calendar/cop.ics")
    reads = replica.app.freshness.reads
    answers = await asyncio.gather(*(replica.get("/calendar/cop.ics") for _ in range(40)))
    assert {status for status, _, _ in answers} == {200}
    assert replica.app.freshness.reads - reads < 40


async def test_the_replica_says_it_is_a_replica_and_serves_no_matrix(bot_and_replica):
    _, replica = bot_and_replica
    status, _, body = await replica.get("/healthz")
    assert status == 200
    assert '"role": "replica"' in body and '"ok": true' in body
    instance = replica.app.settings.cluster.instance
    assert f'"instance": "{instance}"' in body
    status, _, metrics = await replica.get("/metrics")
    assert status == 200
    assert f'iscg_leader{{bot_instance="{instance}"}} 0.0' in metrics  # never the active bot
    assert f'iscg_database_reachable{{bot_instance="{instance}"}} 1.0' in metrics


@pytest.mark.postgres
async def test_the_replica_answers_503_while_the_database_is_away_and_recovers_on_its_own(tmp_path):
    """The database refuses connections (its sessions cut, new ones refused), then comes back."""
    async with private_databases(1) as [url]:
        database = Database(url)
        await database.migrate()
        config = settings()
        chat = Chat(database, build_router(config.bot.command_prefix), config)
        await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
        replica = Replica(url)
        await replica.start()
        name = url.rsplit("/", 1)[1]
        admin = Database(url.rsplit("/", 1)[0] + "/postgres")
        try:
            assert (await replica.get("/calendar/cop.ics"))[0] == 200
            await _connections(admin, name, allowed=False)
            status, headers, body = await replica.get("/calendar/cop.ics")
            assert status == 503 and headers["Retry-After"] == "5", body
            assert "try again" in body
            french = (await replica.get("/calendar/cop.ics", **{"Accept-Language": "fr"}))[2]
            assert "base de données" in french  # in the reader's language, as every page
            status, _, health = await replica.get("/healthz")
            assert status == 503 and "the database is unreachable" in health
            await _connections(admin, name, allowed=True)
            await database.engine.dispose()  # the bot's cut connections (the bot itself retries its batch)
            await said(chat, '!meeting schedule "After the outage" 2026-12-10 14:00 UTC', by=ADMIN)
            status, _, feed = await replica.get("/calendar/cop.ics")
            assert status == 200 and "After the outage" in feed
            assert (await replica.get("/healthz"))[0] == 200
        finally:
            await _connections(admin, name, allowed=True)
            await admin.dispose()
            await replica.stop()
            await chat.close()


async def _connections(admin: Database, name: str, *, allowed: bool) -> None:
    """Let the database be connected to, or cut its sessions and refuse new ones (as a restart does)."""
    async with admin.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
        if not allowed:
            terminate = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
            await conn.execute(text(terminate), {"name": name})
            # A terminated backend goes a moment later: until then a pooled connection could still answer.
            left = "SELECT count(*) FROM pg_stat_activity WHERE datname = :name"
            for _ in range(100):
                if not (await conn.execute(text(left), {"name": name})).scalar():
                    break
                await asyncio.sleep(0.02)


def test_iscg_bot_web_needs_no_matrix_account_but_a_migrated_database(tmp_path):
    """A replica's configuration is the database and the web section; on a database not migrated it says
    so and exits 3, as `iscg-bot run` does (compose restarts it until the bot has migrated)."""
    config = tmp_path / "web.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "new.db"}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISCG_")}
    command = [sys.executable, "-m", "iscg_bot", "web", "--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "not migrated" in done.stderr or "migrate" in done.stderr, done.stderr
    assert "matrix" not in done.stderr.lower()
