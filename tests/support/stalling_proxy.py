"""Homeservers that hang, for tests that must catch the bot in the middle of a request.

`StallingProxy` forwards every request to a real Synapse, except the ones whose path matches `hold`: those
are held unanswered (as a hung homeserver would) and `held` is set, so a test knows exactly where the bot is
waiting. `SilentServer` accepts connections and never answers anything.
"""

from __future__ import annotations

import asyncio
import re

import aiohttp
from aiohttp import web

# Headers that describe one hop, not the request: aiohttp sets its own.
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


class StallingProxy:
    def __init__(self, upstream: str, hold: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.hold = re.compile(hold)
        self.held = asyncio.Event()  # a request matching `hold` has arrived and hangs
        self.held_request = ""
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    async def start(self) -> str:
        # No timeout: the bot's long-polling syncs pass through.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base_url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if self.hold.search(request.path):
            self.held_request = f"{request.method} {request.path}"
            self.held.set()
            await self._release.wait()
            return web.Response(status=503, text="the test is over")
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self._session.request(
            request.method, self.upstream + request.raw_path, data=await request.read(), headers=headers
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() == "content-type"}
            return web.Response(status=answer.status, body=body, headers=kept)


class SilentServer:
    """Accepts connections, reads what comes, answers nothing: a paused homeserver looks like this."""

    def __init__(self) -> None:
        self.requests: list[str] = []  # the request lines received
        self.received = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._connections: list[asyncio.StreamWriter] = []
        self.base_url = ""

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._hang, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        for writer in self._connections:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _hang(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.append(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
            self.received.set()
            while await reader.read(65536):  # until the client gives up
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
