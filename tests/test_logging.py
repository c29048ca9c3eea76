"""What the bot writes to its log: one line per thing an operator cares about at INFO, libraries' chatter
only from WARNING up, and JSON lines for log shippers when `logging.format = "json"`."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from apscheduler.events import EVENT_JOB_EXECUTED

from iscg_bot import logs
from iscg_bot.app import BotApp
from iscg_bot.chat.reminders import TICK_JOB
from iscg_bot.core.config import Settings
from tests.fixtures_bot import RunningBot, migrate, register_bot
from tests.support.conversation import room_with_bot, say

TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) +(?P<logger>[\w.]+): (?P<msg>.*)$"
)
OURS = ("iscg_bot", "commands", "storage")
TICKS = 20


@pytest.fixture
def log_stream() -> Iterator[Any]:
    """`setup_logging` writes here; afterwards the logging levels and handlers are as they were."""
    names = ["", *logs.OWN_LOGGERS, *logs.THIRD_PARTY_FLOOR]
    levels = {name: logging.getLogger(name).level for name in names}
    stream = io.StringIO()
    try:
        yield stream
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]:
            root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def lines_of(stream: io.StringIO) -> list[re.Match[str]]:
    lines = stream.getvalue().splitlines()
    parsed = [TEXT_LINE.match(line) for line in lines]
    assert all(parsed), [line for line, match in zip(lines, parsed, strict=True) if not match]
    return parsed


@pytest.mark.e2e
async def test_a_running_bot_at_info_writes_no_library_chatter_however_many_ticks(
    synapse, matrix_user_factory, tmp_path, log_stream
):
    logs.setup_logging("INFO", "text", stream=log_stream)
    alice = await matrix_user_factory("alice")
    account = await register_bot(synapse, tmp_path / "bot")
    settings = Settings.model_validate(account.settings(synapse, admins=[alice.user_id]))
    await migrate(settings.database.url.get_secret_value())
    app = BotApp(settings, reminder_tick_seconds=0.25)  # the reminder tick: 5 s in production
    ticks: list[Any] = []
    ticked = asyncio.Event()

    def count(event: Any) -> None:
        if event.job_id == TICK_JOB:
            ticks.append(event)
            if len(ticks) >= TICKS:
                ticked.set()

    app.reminders.scheduler.add_listener(count, EVENT_JOB_EXECUTED)
    bot = RunningBot(app, asyncio.create_task(app.run()))
    try:
        await asyncio.wait_for(app.gateway.ready.wait(), 60)
        room_id = await room_with_bot(alice, account.user_id)
        assert await say(alice, room_id, "!ping", account.user_id) == "pong"
        before = len(lines_of(log_stream))

        await asyncio.wait_for(ticked.wait(), 60)  # the scheduler ran its job many times
        assert await say(alice, room_id, "!ping", account.user_id) == "pong"  # Matrix traffic both ways
        async with aiohttp.ClientSession() as http, http.get(f"{app.web.base_url}/healthz") as response:
            assert response.status == 200  # and a web request
        quiet = [m.group(0) for m in lines_of(log_stream)[before:]]
        assert quiet == [], "ticks, commands and web requests wrote log lines"
    finally:
        await bot.stop()

    written = lines_of(log_stream)
    assert [m.group(0) for m in written if not m["logger"].startswith(OURS)] == []  # no apscheduler, nio …
    messages = [m["msg"] for m in written]
    assert any(m.startswith("web server listening on http://127.0.0.1:") for m in messages), messages
    assert any(m.startswith(f"logged in as {account.user_id}") for m in messages), messages
    assert any(m.startswith("invited to ") for m in messages), messages
    assert messages[-1] == "stopped"
    assert len(written) <= 8, messages  # startup, the invitation, the stop: nothing per tick


def test_json_format_writes_one_object_per_line_even_for_tracebacks_and_line_breaks(log_stream):
    logs.setup_logging("INFO", "json", stream=log_stream)
    log = logging.getLogger("iscg_bot.test")
    log.info("two\nlines «ünïcode»")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")
    logging.getLogger("apscheduler.executors.default").info("Running job …")  # library chatter: dropped
    logging.getLogger("aiohttp.server").error("a library's error")  # kept: WARNING and up
    records = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("INFO", "iscg_bot.test", "two\nlines «ünïcode»"),
        ("ERROR", "iscg_bot.test", "it failed"),
        ("ERROR", "aiohttp.server", "a library's error"),
    ]
    assert records[1]["exception"].startswith("Traceback") and "ValueError: boom" in records[1]["exception"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", r["time"]) for r in records)


@pytest.mark.e2e
async def test_iscg_logging_format_json_makes_the_running_bot_write_json_lines(synapse, tmp_path):
    """The real command (`iscg-bot run`), configured by the environment alone, as in a container."""
    account = await register_bot(synapse, tmp_path / "bot")
    settings = account.settings(synapse)
    await migrate(settings["database"]["url"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISCG_")}
    env |= {
        "ISCG_MATRIX_HOMESERVER": synapse.base_url,
        "ISCG_MATRIX_USER_ID": account.user_id,
        "ISCG_MATRIX_PASSWORD": account.password,
        "ISCG_MATRIX_STORE_PATH": str(tmp_path / "bot" / "crypto-store"),
        "ISCG_DATABASE_URL": settings["database"]["url"],
        "ISCG_WEB_LISTEN_PORT": "0",
        "ISCG_LOGGING_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "iscg_bot", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any('"syncing ' in line for line in lines):
                line = (await process.stderr.readline()).decode()
                assert line, f"the bot ended early:\n{''.join(lines)}"
                lines.append(line)
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 30)
        lines += rest.decode().splitlines(keepends=True)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, "".join(lines)
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
    assert ("INFO", "iscg_bot.web.server") in {(r["level"], r["logger"]) for r in records}
    assert records[-1]["message"] == "stopped"
