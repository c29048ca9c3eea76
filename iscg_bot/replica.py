"""`iscg-bot web`: the group's pages, calendar feeds, minutes, reports, /healthz and /metrics, served from the
database alone — no Matrix login, no sync, nothing sent — by as many processes as wanted behind any load
balancer, beside the one active bot (README "Deployment").

It is the bot's web server without the bot: the same composition (`web.server.site_server`), the
same caches, kept fresh by reading the data versions before each request (`web.freshness`), since the
commits it must hear are made by another process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from iscg_bot.calendar import imported_calendars
from iscg_bot.core.clock import Clock, SystemClock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.config import Settings
from iscg_bot.core.metrics import Metrics
from iscg_bot.core.workers import Worker, running
from iscg_bot.storage import Database
from iscg_bot.web.freshness import DataFreshness, ReplicaHealth
from iscg_bot.web.server import WebServer, site_server

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class WebReplica:
    """The web server on the database: each part built once; `run()` until `stop()`."""

    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, stopping: asyncio.Event | None = None
    ) -> None:
        self.settings, self.clock = settings, clock or SystemClock()
        self.stopping = stopping or asyncio.Event()
        self.commits = CommitListeners()  # heard from `freshness`: what other processes committed
        self.metrics = Metrics()
        self.database = Database(settings.database.url.get_secret_value())
        self.freshness = DataFreshness(self.database.sessions, self.commits, self.clock)
        self.imported = imported_calendars(self.settings.calendars, self.clock, self.stopping)
        self.workers: list[Worker] = [self.imported] if self.imported is not None else []
        self.web = self._web()

    def _web(self) -> WebServer:
        health = ReplicaHealth(self.freshness, self.settings.cluster.instance)
        self.metrics.watch_leadership(health)  # iscg_leader 0 and whether the database answers
        site = site_server(
            self.settings,
            self.database.sessions,
            self.clock,
            self.commits,
            health,
            metrics=self.metrics,
            freshness=self.freshness,
            imported=self.imported,
        )
        self.feeds = site.feeds
        return site.server

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        """Serve until `stop()`; refuses a database that is not migrated (`NotMigratedError`)."""
        try:
            await self.database.check_migrated()
            await self.web.start()
            log.info("web replica serving %s from the database", self.settings.web.public_base_url)
            async with running(self.workers, stopping=self.stopping):
                await self.stopping.wait()
        finally:
            await self.web.stop()
            await self.database.dispose()
            log.info("stopped")
