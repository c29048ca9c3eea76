"""A client's malformed HTTP request is the client's problem: it gets its 400, and the log gets one line at
most — no ERROR, no traceback — while a fault in one of our own handlers is still logged as an error.

Raw bytes over a socket to the real server on 127.0.0.1: an HTTP client library would refuse to send them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from iscg_bot.core.health import SyncHealth
from iscg_bot.web.feed_cache import FeedCache
from iscg_bot.web.server import MinutesPages, ReportPages, WebServer, build_application
from tests.chat import Chat

BASE = "https://iscg.example.org"


@pytest.fixture
async def server(chat: Chat) -> AsyncIterator[WebServer]:
    """The bot's real web application, on a free port of 127.0.0.1."""
    feeds = FeedCache(chat.database.sessions, chat.clock, BASE)
    app = build_application(
        feeds,
        SyncHealth(chat.gateway, chat.clock, sync_timeout_seconds=30),
        MinutesPages(chat.database.sessions, BASE, "Europe/Zurich"),
        ReportPages(chat.database.sessions, chat.clock, BASE, "Europe/Zurich"),
    )

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug of ours")

    app.router.add_get("/broken", broken)  # a fault on our side, which must stay an ERROR
    running = WebServer(app, "127.0.0.1", 0)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def exchange(server: WebServer, raw: bytes) -> bytes:
    """Send raw bytes, read the whole answer (the server closes the connection after an error)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(raw)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()


def status(answer: bytes) -> str:
    """The status code in the answer's first line (a request aiohttp could not parse is answered in 1.0)."""
    return answer.split(b"\r\n", 1)[0].decode().split()[1]


LONG_URL = b"GET /" + b"a" * 8192 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
LONG_HEADER = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 16384 + b"\r\n\r\n"
GARBAGE_HEADER = b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"


@pytest.mark.parametrize("raw", [LONG_URL, LONG_HEADER, GARBAGE_HEADER], ids=["8k-url", "16k-header", "bad"])
async def test_a_malformed_request_gets_its_400_and_one_quiet_line(server, caplog, raw):
    caplog.set_level(logging.DEBUG)
    answer = await exchange(server, raw)
    assert status(answer) == "400", answer[:200]
    # the server still answers the next client
    ok = await exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status(ok) in {"200", "503"}

    records = [r for r in caplog.records if r.name.startswith(("aiohttp", "iscg_bot.web.server"))]
    noisy = [r for r in records if r.levelno >= logging.WARNING or r.exc_info or r.exc_text]
    assert noisy == [], [(r.name, r.levelname, r.getMessage()) for r in noisy]
    bad = [r for r in records if "bad request" in r.getMessage()]
    assert len(bad) == 1, [r.getMessage() for r in records]
    line = bad[0].getMessage()
    assert "\n" not in line and len(line) < 300, line
    assert "127.0.0.1" in line and "400" in line


async def test_a_fault_in_our_own_handler_is_still_an_error_with_its_traceback(server, caplog):
    caplog.set_level(logging.INFO)
    answer = await exchange(server, b"GET /broken HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status(answer) == "500"
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.exc_info is not None and "a bug of ours" in str(error.exc_info[1])
