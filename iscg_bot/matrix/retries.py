"""How the gateway's requests to the homeserver are retried: the retry machinery of `iscg_bot.matrix.gateway`.

Every request is bounded by a timeout; rate limits are waited out, outages ridden out with backoff (cut short
by a cheap probe once the homeserver answers again), and everything gives way the moment the bot stops
(`Stopping`), even in the middle of a long-polling sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from nio import ErrorResponse

from iscg_bot.core.config import MatrixSettings
from iscg_bot.core.workers import Backoff, Stopping

# The gateway's logger: these warnings are the gateway's, wherever the code lives.
log = logging.getLogger("iscg_bot.matrix.gateway")
T = TypeVar("T")

TRANSIENT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, ConnectionError, OSError)
# While backing off from an outage, ask the homeserver this often whether it is back: the backoff grows to
# 30 s, and without a probe the bot would stay away up to that long after the homeserver returned.
PROBE_EVERY_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 2.0  # a paused homeserver accepts the probe and never answers
PROBE_PATH = "/_matrix/client/versions"  # no auth, no database: the cheapest answer a homeserver gives


class Retrier:
    """Runs requests until they succeed or fail for good, and waits in ways a stop interrupts."""

    def __init__(self, settings: MatrixSettings, stopping: asyncio.Event) -> None:
        self.settings = settings
        self.stopping = stopping
        self.rate_limited = 0  # requests the homeserver refused with M_LIMIT_EXCEEDED

    async def run(
        self,
        request: Callable[[], Awaitable[T]],
        what: str,
        *,
        on_failure: Callable[[str], None] = lambda why: None,
    ) -> T:
        """Run a request until it succeeds or fails for good; wait out rate limits and outages.

        Raises `Stopping` as soon as the bot stops, even in the middle of a long-polling sync. `on_failure`
        hears why each failed attempt (an outage, not a rate limit) failed, e.g. "ClientConnectorError".
        """
        backoff = Backoff()
        # A paused homeserver accepts the connection and never answers: bound every request.
        limit = self.settings.request_timeout_seconds + self.settings.sync_timeout_seconds
        while True:
            if self.stopping.is_set():
                raise Stopping
            try:
                response = await self.unless_stopping(asyncio.wait_for(request(), timeout=limit))
            except TRANSIENT_ERRORS as error:
                on_failure(type(error).__name__)
                await self.wait_out_outage(
                    backoff.next_delay(), f"{what} failed ({error!r})", unreachable=True
                )
                continue
            if isinstance(response, ErrorResponse):
                if response.status_code == "M_LIMIT_EXCEEDED":
                    await self.wait_out_rate_limit(response, f"{what} rate limited")
                    continue
                if is_transient(response):
                    on_failure(f"{response.status_code or 'HTTP error'}: {response.message}")
                    await self.wait_out_outage(
                        backoff.next_delay(), f"{what}: {response.message}", unreachable=False
                    )
                    continue
            return response

    async def wait_out_rate_limit(self, response: ErrorResponse, why: str) -> None:
        """Count an M_LIMIT_EXCEEDED refusal and wait as long as it asks (a second if it does not say)."""
        self.rate_limited += 1
        await self.pause((response.retry_after_ms or 1000) / 1000, why)

    async def pause(self, seconds: float, why: str) -> None:
        log.warning("%s; retrying in %.1f s", why, seconds)
        if await self.wait_stopping(seconds):
            raise Stopping

    async def wait_out_outage(self, seconds: float, why: str, *, unreachable: bool) -> None:
        """Back off `seconds`, but retry as soon as the homeserver, seen unreachable, answers again.

        `unreachable`: the request itself got no answer (refused, timed out). After an answer that was an
        error (a 500), the pause is cut short only once a probe has failed too (a proxy's 502 while the
        homeserver restarts), so a homeserver that answers probes but keeps failing requests still gets the
        full backoff instead of a retry every second.
        """
        log.warning("%s; retrying in %.1f s", why, seconds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (remaining := deadline - loop.time()) > 0:
            if await self.wait_stopping(min(PROBE_EVERY_SECONDS, remaining)):
                raise Stopping
            if loop.time() >= deadline:
                return
            if await self.unless_stopping(self._homeserver_answers()):
                if unreachable:
                    log.info("the homeserver answers again: retrying now")
                    return
                # It answers, so the failure was the request's own: the backoff stands, no more probing.
                if await self.wait_stopping(deadline - loop.time()):
                    raise Stopping
                return
            unreachable = True

    async def unless_stopping(self, work: Awaitable[T]) -> T:
        """`await work`, unless the bot stops first: then `work` is cancelled and `Stopping` raised."""
        attempt = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({attempt, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not attempt.done():
            attempt.cancel()
            raise Stopping
        return attempt.result()

    async def wait_stopping(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early when the bot stops. True when stopping."""
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _homeserver_answers(self) -> bool:
        """One cheap probe: does the homeserver answer `GET /_matrix/client/versions` with a 200?"""
        url = self.settings.homeserver.rstrip("/") + PROBE_PATH
        timeout = aiohttp.ClientTimeout(
            total=min(PROBE_TIMEOUT_SECONDS, self.settings.request_timeout_seconds)
        )
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                return response.status == 200
        except TRANSIENT_ERRORS:
            return False


def is_transient(response: ErrorResponse) -> bool:
    """Server errors and unparsable answers (a proxy's 502 page) are worth retrying; M_* refusals are not."""
    status = getattr(getattr(response, "transport_response", None), "status", None)
    if isinstance(status, int) and status >= 500:
        return True
    return response.status_code is None
