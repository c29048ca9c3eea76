"""A stop signal ends the bot quietly, with exit status 0, in whatever phase it comes (issue 12, bug 1).

`docker stop` sends SIGTERM, Ctrl-C sends SIGINT, and neither waits for the bot to finish starting. The bot
runs as its own process (`python -m iscg_bot run`), and the test catches it *in* each phase before signalling:
a homeserver that refuses connections or never answers (login retried), a real Synapse behind a proxy that
holds exactly one request unanswered (login, key upload, first sync, joining an invitation, greeting the
room, querying keys), and a migration waiting on a database the test keeps locked. No fixed sleeps: each
wait is for a log line or for the held request.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from iscg_bot.app import BotApp
from iscg_bot.core.config import Settings
from iscg_bot.storage import Database
from tests.fixtures_bot import BotAccount, _toml, migrate, register_bot
from tests.support.polling import eventually
from tests.support.stalling_proxy import SilentServer, StallingProxy

pytestmark = pytest.mark.e2e

SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]
QUICKLY = 5.0  # seconds from the signal to the exit; docker stop waits 10 before SIGKILL


@dataclass
class BotRun:
    """`python -m iscg_bot run` with its stderr (where it logs) in a file the test reads."""

    process: subprocess.Popen[bytes]
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    async def wait_for_log(self, text: str, timeout: float = 60) -> None:
        def log() -> str:
            logged = self.stderr()
            running = text in logged or self.process.poll() is None
            assert running, f"the bot exited before logging {text!r}:\n{logged}"
            return logged

        await eventually(
            log, until=lambda logged: text in logged, what=f"{text!r} in the bot's log", timeout=timeout
        )

    async def stop_with(self, signum: int) -> tuple[int, float]:
        """Send `signum`; the exit status and how long the bot took to exit."""
        started = time.monotonic()
        self.process.send_signal(signum)
        try:
            status = await asyncio.to_thread(self.process.wait, 30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"still running 30 s after {signum!r}:\n{self.stderr()}") from None
        return status, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def start(config: dict[str, Any], workdir: Path, *args: str) -> BotRun:
    config_path = workdir / "config.toml"
    config_path.write_text(_toml(config), encoding="utf-8")
    stderr_path = workdir / "stderr.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISCG_")}
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "iscg_bot", "run", "--config", str(config_path), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    return BotRun(process, stderr_path)


async def assert_stops_quietly(bot: BotRun, signum: int) -> None:
    status, took = await bot.stop_with(signum)
    log = bot.stderr()
    assert "Traceback" not in log, log
    assert status == 0, f"exit status {status}:\n{log}"
    assert took < QUICKLY, f"took {took:.1f} s to stop:\n{log}"


def offline_config(workdir: Path, homeserver: str) -> dict[str, Any]:
    """A bot whose homeserver is `homeserver`, with a migrated database of its own."""
    workdir.mkdir(parents=True, exist_ok=True)
    account = BotAccount("@iscg-bot:localhost", "a-password", workdir)
    config = account.settings(_Address(homeserver))
    config["matrix"] |= {"sync_timeout_seconds": 5, "request_timeout_seconds": 30}
    return config


@dataclass
class _Address:
    base_url: str


def free_port() -> int:
    """A port nobody listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("signum", SIGNALS)
async def test_stopping_while_the_homeserver_refuses_connections(tmp_path, signum):
    # The port stays bound (not listening) for the whole test: connections to it are refused, and nothing
    # else — the bot's own web server on an ephemeral port — can be given it meanwhile.
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        config = offline_config(tmp_path, f"http://127.0.0.1:{refusing.getsockname()[1]}")
        await migrate(config["database"]["url"])
        bot = start(config, tmp_path)
        try:
            await bot.wait_for_log("login failed")  # refused, and now waiting to try again
            await assert_stops_quietly(bot, signum)
        finally:
            bot.kill()


@pytest.mark.parametrize("signum", SIGNALS)
async def test_stopping_while_the_homeserver_never_answers(tmp_path, signum):
    server = SilentServer()
    config = offline_config(tmp_path, await server.start())
    await migrate(config["database"]["url"])
    bot = start(config, tmp_path)
    try:
        await asyncio.wait_for(server.received.wait(), timeout=60)
        assert "/login" in server.requests[0], server.requests  # the login request hangs
        await assert_stops_quietly(bot, signum)
    finally:
        bot.kill()
        await server.stop()


PHASES = {
    # phase: the request held unanswered while the bot is in it
    "login": r"/login$",
    "key upload": r"/keys/upload",
    "first sync": r"/sync$",
    "joining an invitation": r"/join/",
    "sending its greeting": r"/send/m\.room\.message/",  # into the room it was invited to
    "querying the room members' keys": r"/keys/query",  # after the first sync, for an encrypted room
}
INVITED = {"joining an invitation", "sending its greeting", "querying the room members' keys"}


@pytest.mark.parametrize("signum", SIGNALS)
@pytest.mark.parametrize("phase", list(PHASES))
async def test_stopping_while_a_request_hangs_in_each_phase(
    matrix_user_factory, synapse, tmp_path, phase, signum
):
    account = await register_bot(synapse, tmp_path / "bot")
    if phase in INVITED:
        alice = await matrix_user_factory("alice")
        # The first sync brings the invitation.
        await alice.create_room(invite=[account.user_id], encrypted="keys" in phase)
        config = account.settings(synapse, admins=[alice.user_id])
    else:
        config = account.settings(synapse)
    proxy = StallingProxy(synapse.base_url, PHASES[phase])
    config["matrix"]["homeserver"] = await proxy.start()
    await migrate(config["database"]["url"])
    bot = start(config, account.workdir)
    try:
        await asyncio.wait_for(proxy.held.wait(), timeout=60)
        await assert_stops_quietly(bot, signum)
    finally:
        bot.kill()
        await proxy.stop()


@pytest.mark.parametrize("signum", SIGNALS)
async def test_stopping_during_the_migration_leaves_the_database_as_it_was(tmp_path, signum):
    config = offline_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    database_file = tmp_path / "bot.db"
    # Another writer holds the database: the migration waits for it, and the stop comes while it waits.
    lock = sqlite3.connect(database_file, isolation_level=None)
    lock.execute("PRAGMA journal_mode=WAL")
    lock.execute("BEGIN IMMEDIATE")
    bot = start(config, tmp_path, "--migrate")
    try:
        await bot.wait_for_log("migrating the database")
        bot.process.send_signal(signum)
        started = time.monotonic()
        lock.execute("ROLLBACK")  # the other writer is done; the migration could go on now
        status = await asyncio.to_thread(bot.process.wait, 30)
        log = bot.stderr()
        assert "Traceback" not in log, log
        assert status == 0, f"exit status {status}:\n{log}"
        assert time.monotonic() - started < QUICKLY, log
        assert "login failed" not in log, log  # it did not go on starting
        database = Database(config["database"]["url"])
        try:
            assert await database.current_revision() is None  # not half-migrated: untouched
        finally:
            await database.dispose()
    finally:
        lock.close()
        bot.kill()


async def test_a_stop_before_the_start_starts_nothing(tmp_path, synapse):
    """A stop heard before the web server starts (nothing there can be held: the signal only sets the event
    `run()` checks between phases): nothing more starts, `run()` returns without an error, and the homeserver
    never sees a login."""
    account = await register_bot(synapse, tmp_path / "bot")
    proxy = StallingProxy(synapse.base_url, r"/login$")
    config = account.settings(synapse)
    config["matrix"]["homeserver"] = await proxy.start()
    settings = Settings.model_validate(config)
    await migrate(settings.database.url.get_secret_value())
    app = BotApp(settings)
    try:
        app.stop()
        await asyncio.wait_for(app.run(), timeout=QUICKLY)
        assert not proxy.held.is_set()
    finally:
        await proxy.stop()
