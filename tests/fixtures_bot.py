"""Pytest plugin: the real bot against the real Synapse, in-process or as its own process.

bot_factory   function-scoped: `await start_bot(admins=[alice.user_id])` -> RunningBot (in-process);
              `clock=FrozenClock(…)` runs it on a clock the test moves
bot_process   function-scoped: `proc = bot_process(admins=[…])`, then `await proc.start()` / `proc.kill()`;
              `clock_file=path` runs it with `--test-clock-file path` (write an ISO timestamp there)
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest_asyncio

from iscg_bot.app import BotApp
from iscg_bot.core.clock import Clock
from iscg_bot.core.config import Settings
from iscg_bot.demo.homeserver import LocalSynapse
from iscg_bot.storage import Database


@dataclass
class BotAccount:
    user_id: str
    password: str
    workdir: Path
    registration_token: str = ""  # the token (and device) registration gave; tests may configure it
    access_token: str | None = None  # when set, the bot is configured with it instead of the password

    def settings(self, server: LocalSynapse, **bot: Any) -> dict[str, Any]:
        credentials = (
            {"access_token": self.access_token} if self.access_token else {"password": self.password}
        )
        return {
            "matrix": {
                "homeserver": server.base_url,
                "user_id": self.user_id,
                **credentials,
                "store_path": str(self.workdir / "crypto-store"),
                "sync_timeout_seconds": 5,
                "request_timeout_seconds": 10,
            },
            "bot": bot,
            "database": {"url": f"sqlite+aiosqlite:///{self.workdir / 'bot.db'}"},
            "logging": {"level": "INFO"},
            "web": {"listen_port": 0},  # any free port: several bots may run at once
        }


async def register_bot(server: LocalSynapse, workdir: Path) -> BotAccount:
    name = f"iscg-bot-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    registered = await server.register(name, password, displayname="ISCG bot")
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - test setup, instant
    return BotAccount(registered.user_id, password, workdir, registration_token=registered.access_token)


async def migrate(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.migrate()
    finally:
        await database.dispose()


@dataclass
class RunningBot:
    app: BotApp
    task: asyncio.Task[None]

    @property
    def user_id(self) -> str:
        return self.app.settings.matrix.user_id

    async def stop(self) -> None:
        self.app.stop()
        await asyncio.wait_for(self.task, timeout=30)


@pytest_asyncio.fixture(loop_scope="session")
async def bot_factory(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[Any]:
    running: list[RunningBot] = []

    async def start_bot(
        *,
        server: LocalSynapse | None = None,
        admins: Iterable[str] = (),
        invite_allowlist: Iterable[str] = (),
        account: BotAccount | None = None,
        clock: Clock | None = None,
    ) -> RunningBot:
        server = server or synapse
        account = account or await register_bot(server, tmp_path / f"bot-{len(running)}")
        settings = Settings.model_validate(
            account.settings(server, admins=list(admins), invite_allowlist=list(invite_allowlist))
        )
        await migrate(settings.database.url.get_secret_value())
        app = BotApp(settings, clock=clock)
        bot = RunningBot(app, asyncio.create_task(app.run()))
        running.append(bot)
        ready = asyncio.create_task(app.gateway.ready.wait())
        await asyncio.wait({ready, bot.task}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if bot.task.done():
            bot.task.result()  # raises what stopped it
        assert app.gateway.ready.is_set(), "the bot did not finish its first sync within 60 s"
        return bot

    try:
        yield start_bot
    finally:
        for bot in running:
            if not bot.task.done():
                await bot.stop()


@dataclass
class BotProcess:
    """The bot as its own OS process (`python -m iscg_bot run`), so it can be SIGKILLed for real."""

    config_path: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        log = self.log_path.with_suffix(f".{len(self.logs)}.log")
        self.logs.append(log)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ISCG_")}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "iscg_bot",
                    "run",
                    "--config",
                    str(self.config_path),
                    *self.extra_args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, timeout: float = 20) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


@pytest_asyncio.fixture(loop_scope="session")
async def bot_process(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[Any]:
    processes: list[BotProcess] = []

    async def make(
        *, admins: Iterable[str] = (), clock_file: Path | None = None
    ) -> tuple[BotProcess, BotAccount]:
        account = await register_bot(synapse, tmp_path / f"proc-{len(processes)}")
        settings = account.settings(synapse, admins=list(admins))
        await migrate(settings["database"]["url"])
        config_path = account.workdir / "config.toml"
        config_path.write_text(_toml(settings), encoding="utf-8")
        process = BotProcess(config_path, account.workdir / "bot")
        if clock_file is not None:
            process.extra_args = ["--test-clock-file", str(clock_file)]
        processes.append(process)
        return process, account

    try:
        yield make
    finally:
        for process in processes:
            process.kill()


def _toml(settings: dict[str, dict[str, Any]]) -> str:
    """Just enough TOML for our flat sections (JSON strings and arrays are valid TOML values)."""
    lines = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"
