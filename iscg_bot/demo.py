"""`iscg-bot demo`: the newcomer's first look.

Starts a throwaway Synapse on 127.0.0.1, registers the bot and a demo Chair, creates the group room and
two subject rooms with the bot in them, runs the bot on SQLite, and prints how to log in. Ctrl-C stops
everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from iscg_bot.config import Settings

log = logging.getLogger(__name__)

DEMO_USER = "chair"
DEMO_PASSWORD = "iscg-demo"
ROOMS = (
    ("ISCG — group room", "The Inter-Sector Coordination Group's own room", False),
    ("ISCG · Child Online Protection", "Subject of common interest: child online protection", False),
    ("ISCG · AI for Good", "Subject of common interest: AI for Good (end-to-end encrypted)", True),
)


def run_demo(workdir: Path | None, port: int | None) -> int:
    from iscg_bot.cli import setup_logging

    setup_logging("INFO")
    try:
        asyncio.run(_demo(workdir, port))
    except KeyboardInterrupt:
        pass
    return 0


async def _demo(workdir: Path | None, port: int | None) -> None:
    from iscg_bot.app import BotApp
    from iscg_bot.homeserver import LocalSynapse

    temporary = workdir is None
    root = Path(tempfile.mkdtemp(prefix="iscg-demo-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True)
    synapse = LocalSynapse(root / "synapse", port=port, log_level="WARNING")
    app: BotApp | None = None
    bot_task: asyncio.Task[None] | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print("Starting a local Synapse homeserver…", flush=True)
        await synapse.start()
        bot_password = secrets.token_urlsafe(16)
        bot = await synapse.register("iscg-bot", bot_password, displayname="ISCG bot")
        chair = await synapse.register(DEMO_USER, DEMO_PASSWORD, admin=True, displayname="Demo Chair")
        settings = demo_settings(
            synapse.base_url, bot.user_id, bot_password, chair.user_id, root, _free_port()
        )
        app = BotApp(settings)
        await app.database.migrate()
        bot_task = asyncio.create_task(app.run(), name="bot")
        rooms = [await _create_room(synapse.base_url, chair.access_token, bot.user_id, *r) for r in ROOMS]
        _print_welcome(synapse.base_url, chair.user_id, rooms, root, settings.web.public_base_url)
        stop_wait = asyncio.create_task(stop.wait())
        await asyncio.wait({stop_wait, bot_task}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        print("\nStopping…", flush=True)
    finally:
        if app is not None:
            app.stop()
        if bot_task is not None:
            with contextlib.suppress(Exception):
                await bot_task
        await synapse.stop()
        if temporary:
            shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_settings(
    homeserver: str, bot_id: str, bot_password: str, admin: str, root: Path, web_port: int
) -> Settings:
    return Settings.model_validate(
        {
            "web": {"listen_port": web_port, "public_base_url": f"http://127.0.0.1:{web_port}"},
            "matrix": {
                "homeserver": homeserver,
                "user_id": bot_id,
                "password": bot_password,
                "store_path": str(root / "crypto-store"),
                "sync_timeout_seconds": 10,
            },
            "bot": {"admins": [admin]},
            "database": {"url": f"sqlite+aiosqlite:///{root / 'iscg-bot.db'}"},
        }
    )


async def _create_room(base_url: str, token: str, bot_id: str, name: str, topic: str, encrypted: bool) -> str:
    body: dict[str, Any] = {"name": name, "topic": topic, "preset": "private_chat", "invite": [bot_id]}
    if encrypted:
        body["initial_state"] = [
            {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
        ]
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base_url}/_matrix/client/v3/createRoom", json=body, headers=headers
        ) as response:
            response.raise_for_status()
            return str((await response.json())["room_id"])


def _print_welcome(base_url: str, user_id: str, rooms: list[str], root: Path, web: str) -> None:
    lines = [
        "",
        "The ISCG bot demo is running.",
        f"  Homeserver:  {base_url}",
        f"  Log in as:   {user_id}   password: {DEMO_PASSWORD}",
        "  Rooms (you are in them, with the bot):",
        *(f"    {name}  ({room_id})" for (name, _, _), room_id in zip(ROOMS, rooms, strict=True)),
        f"  Web pages:   {web}/   (calendar {web}/calendar, metrics {web}/metrics)",
        f"  Calendar:    {web}/calendar/iscg.ics   (health: {web}/healthz)",
        f"  Files:       {root}",
        "",
        "Connect with any Matrix client (Element: 'Sign in' → 'Edit' homeserver → the URL above),",
        "then say !help in a room. Press Ctrl-C to stop everything.",
        "",
    ]
    print("\n".join(lines), file=sys.stdout, flush=True)
