"""CalDAV against a real Radicale on 127.0.0.1: the server (started and stopped as a process), a fresh
calendar collection on it, reading a resource back, and the bot's settings and chat publishing to it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from iscg_bot.commands import build_router
from iscg_bot.core.config import Settings
from iscg_bot.storage import Database
from tests.chat import ADMIN, BOT, Chat

USER, PASSWORD = "iscg", "secret"
AUTH = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}


# ---- a Radicale server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Radicale:
    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder, self.port = folder, port or _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "radicale",
                f"--server-hosts=127.0.0.1:{self.port}",
                f"--storage-filesystem-folder={self.folder}",
                "--auth-type=none",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("radicale exited at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("radicale did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


async def make_collection(base: str) -> str:
    """A new calendar collection under the user's principal (Radicale makes the principal on first use)."""
    url = f"{base}/{USER}/{uuid.uuid4().hex[:12]}/"
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.request("PROPFIND", f"{base}/{USER}/", headers={"Depth": "0"}) as response:
            assert response.status == 207, response.status
        async with http.request("MKCALENDAR", url) as response:
            assert response.status == 201, response.status
    return url


async def fetch(url: str) -> tuple[int, bytes, str | None]:
    async with aiohttp.ClientSession(headers=AUTH) as http, http.get(url) as response:
        return response.status, await response.read(), response.headers.get("ETag")


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """A Radicale server for the test module."""
    server = Radicale(tmp_path_factory.mktemp("radicale") / "storage")
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ---- the bot side --------------------------------------------------------------------------------------


def caldav_settings(collection_url: str, **caldav: Any) -> Settings:
    return Settings.model_validate(
        {
            "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "x"},
            "bot": {"admins": [ADMIN]},
            "caldav": {
                "enabled": True,
                "collection_url": collection_url,
                "username": USER,
                "password": PASSWORD,
                **caldav,
            },
        }
    )


async def open_chat(tmp_path: Path, config: Settings) -> Chat:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'caldav.db'}")
    await database.migrate()
    return Chat(database, build_router(config.bot.command_prefix), config)
