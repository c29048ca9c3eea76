"""Pages and feeds served from the database alone, by as many processes as wanted, never staler than the
last commit: every request first reads the tables' versions (`DataVersion`, raised by each commit) and
drops what was kept of any table whose version moved since the last read.

    freshness = DataFreshness(database.sessions, commits, clock)   # the caches listen on `commits`
    app = build_application(..., freshness=freshness)               # checked before every page and feed

The caches (feeds, reports, the chart) already hear the commits of their own process (`CommitListeners`);
a web replica (`iscg-bot web`) commits nothing, so what it serves would otherwise stay as it first read it.
The versions are read again for each request — one primary-key scan of a table of a few dozen rows, shared
by the requests that arrive during it — so a change is served as soon as its commit is visible: the client
that saw the bot's reply and then asks a replica gets the new feed, with its new ETag. Only reads that began
after a request arrived answer it; a read begun earlier may predate the commit the client already saw.

When the database cannot be read, nothing kept can be vouched for: pages and feeds answer 503 with a
Retry-After (calendar clients try again) and /healthz says why; the first read after the database is back
drops whatever changed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from iscg_bot.core.clock import Clock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.i18n import _, lazy
from iscg_bot.storage import UnitOfWork
from iscg_bot.storage.repositories.data_versions import UNKNOWN

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE = lazy("The database cannot be reached just now; try again in a few seconds.")
# Served without a look at the data: the service's own routes and the static files.
UNCHECKED_PREFIXES = ("/metrics", "/static/", "/favicon.ico")


class DatabaseUnavailable(Exception):
    """The versions could not be read: what is kept may be stale."""


class DataFreshness:
    """Reads the tables' versions for each request and tells `commits` which tables moved since the last
    read (all of them when a commit's tables were not known)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], commits: CommitListeners, clock: Clock
    ) -> None:
        self.sessions, self.commits, self.clock = sessions, commits, clock
        self.seen: dict[str, int] | None = None  # the versions at the last read; None before the first
        self.last_read_at: datetime | None = None
        self.last_error: str | None = None  # of the latest read, None when it succeeded
        self.reads = 0  # for tests and the bench: how many reads the requests shared
        self._started = 0  # reads begun so far: a request is answered by one begun after it arrived
        self._reading: asyncio.Task[None] | None = None
        self._reading_number = 0

    async def check(self) -> None:
        """Bring the caches up to the versions committed by now; `DatabaseUnavailable` when they cannot be
        read. Requests arriving together share one read."""
        arrived_after = self._started
        while True:
            reading = self._reading
            if reading is not None and self._reading_number > arrived_after:
                await asyncio.shield(reading)  # one request cancelled must not cancel the others' read
                return
            if reading is not None and not reading.done():
                await asyncio.wait({reading})  # begun before this request came: the next one answers it
                continue
            self._started += 1
            self._reading_number = self._started
            self._reading = asyncio.create_task(self._read(), name="data versions")

    async def _read(self) -> None:
        try:
            versions = await self._versions()
        except Exception as error:
            if self.last_error is None:  # once per outage, not at every request
                log.warning(
                    "cannot read the data versions; answering 503 until the database is back: %s", error
                )
            self.last_error = f"the database is unreachable: {type(error).__name__}: {error}"
            raise DatabaseUnavailable(self.last_error) from error
        if self.last_error is not None:
            log.info("the database answers again")
        self.last_error, self.last_read_at = None, self.clock.now()
        previous, self.seen = self.seen, versions
        if previous is None:
            return  # the first read: nothing was kept before it that it could be compared with
        moved = {
            name for name in previous.keys() | versions.keys() if previous.get(name) != versions.get(name)
        }
        if moved:
            self.commits.committed(None if UNKNOWN in moved else moved)

    async def _versions(self) -> dict[str, int]:
        """The versions; one more try on a new connection when the first fails (after a database restart the
        pool's connections are dead, and the pool learns it only by using one)."""
        for attempt in (1, 2):
            try:
                async with UnitOfWork(self.sessions) as uow:
                    return await uow.data_versions.read()
            except Exception:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(ok, the JSON body of /healthz) after the check its request made: ok while the database answers."""
        report: dict[str, Any] = {
            "ok": self.last_error is None and self.last_read_at is not None,
            "role": "replica",
            "data_read_at": self.last_read_at.astimezone(UTC).isoformat() if self.last_read_at else None,
        }
        if self.last_error is not None:
            report["reason"] = self.last_error
        return report["ok"], report


class ReplicaHealth:
    """What a web replica's /healthz answers (whether the database answered the request's own read), and
    what its /metrics shows beside the bots' (`Metrics.watch_leadership`: never the leader, the database
    as its last read found it)."""

    def __init__(self, freshness: DataFreshness, instance: str) -> None:
        self.freshness, self.instance = freshness, instance

    def report(self) -> tuple[bool, dict[str, Any]]:
        ok, report = self.freshness.health()
        return ok, {**report, "instance": self.instance}

    # ---- as `core.health.LeaseHolder`, for the metrics ---------------------------------------------------

    @property
    def database_error(self) -> str | None:
        return self.freshness.last_error

    def health(self) -> dict[str, object]:
        return {"instance": self.instance, "role": "replica", "epoch": None}

    def problem(self) -> str | None:
        return self.freshness.last_error


def fresh_data_middleware(freshness: DataFreshness) -> Middleware:
    """Checks the data versions before every page, feed and /healthz; 503 when the database is away (and
    /healthz reports it itself)."""

    @web.middleware
    async def fresh_data(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith(UNCHECKED_PREFIXES):
            return await handler(request)
        try:
            await freshness.check()
        except DatabaseUnavailable:
            if request.path != "/healthz":
                headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
                text = _(UNAVAILABLE) + "\n"  # in the page's language (`web.languages`' middleware)
                return web.Response(status=503, text=text, content_type="text/plain", headers=headers)
        return await handler(request)

    return fresh_data
