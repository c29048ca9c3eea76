"""The composition root: builds configuration, storage, gateway, router and outbox, and runs the bot."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from iscg_bot.calendar.caldav import CalDavPublisher
from iscg_bot.calendar.imported import ImportedCalendars
from iscg_bot.calendar.mail import MailSender
from iscg_bot.chat.dispatcher import Dispatcher
from iscg_bot.chat.outbox import OutboxSender
from iscg_bot.chat.reminders import ReminderService
from iscg_bot.commands import build_router
from iscg_bot.core.clock import Clock, SystemClock
from iscg_bot.core.config import Settings
from iscg_bot.core.health import SyncHealth
from iscg_bot.core.metrics import Metrics
from iscg_bot.core.workers import Backoff, Stopping
from iscg_bot.matrix.gateway import MatrixGateway, SyncBatch
from iscg_bot.storage import Database, UnitOfWork
from iscg_bot.web.server import FeedCache, MinutesPages, ReportPages, WebServer, build_application
from iscg_bot.web.site import SitePages

log = logging.getLogger(__name__)

SYNC_TOKEN = "matrix.sync_token"
DEVICE_ID = "matrix.device_id"
ACCESS_TOKEN = "matrix.access_token"
# + a hash of the user ID (keys are short): the direct room the bot made with them.
DIRECT_ROOM = "matrix.direct_room."


@dataclass
class Services:
    """What commands may reach through `ctx.services`."""

    config: Settings
    clock: Clock
    database: Database
    gateway: Any = None
    imported: Any = None  # iscg_bot.calendar.imported.ImportedCalendars when calendars.imported lists feeds
    caldav: Any = None  # iscg_bot.calendar.caldav.CalDavPublisher when caldav.enabled

    @property
    def web_base_url(self) -> str:
        """Where people reach the web server: feed links are built from it."""
        return self.config.web.public_base_url


def _direct_room_key(user_id: str) -> str:
    return DIRECT_ROOM + hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:40]


class DatabaseSessionStore:
    """Keeps the bot's device ID and access token in the database, so a restart reuses the device, and the
    direct rooms it made, so a person's private messages all go to one room."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database, self.clock = database, clock

    async def load(self) -> tuple[str, str] | None:
        async with UnitOfWork(self.database.sessions) as uow:
            device_id = await uow.state.get(DEVICE_ID)
            token = await uow.state.get(ACCESS_TOKEN)
        return (device_id, token) if device_id and token else None

    async def save(self, device_id: str, access_token: str) -> None:
        async with UnitOfWork(self.database.sessions) as uow:
            await uow.state.set(DEVICE_ID, device_id, self.clock.now())
            await uow.state.set(ACCESS_TOKEN, access_token, self.clock.now())
            await uow.commit()

    async def direct_room(self, user_id: str) -> str | None:
        async with UnitOfWork(self.database.sessions) as uow:
            return await uow.state.get(_direct_room_key(user_id))

    async def remember_direct_room(self, user_id: str, room_id: str) -> None:
        async with UnitOfWork(self.database.sessions) as uow:
            await uow.state.set(_direct_room_key(user_id), room_id, self.clock.now())
            await uow.commit()


class BotApp:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        reminder_tick_seconds: float = 5.0,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        # Set by `stop()`, or by whoever heard the stop signal first (the CLI listens from before migrating).
        self.stopping = stopping or asyncio.Event()
        self.database = Database(settings.database.url.get_secret_value())
        self.router = build_router(settings.bot.command_prefix, settings.bot.max_message_length)
        self.gateway = MatrixGateway(
            settings.matrix, DatabaseSessionStore(self.database, self.clock), self.stopping, self.clock
        )
        self.metrics = Metrics()  # what /metrics shows; its own registry
        self.metrics.watch_sync(self.gateway, self.clock)
        # What /healthz answers: a sync attempt may take a long-poll plus the request timeout before it fails.
        self.health = SyncHealth(
            self.gateway,
            self.clock,
            settings.matrix.sync_timeout_seconds,
            margin_seconds=settings.matrix.request_timeout_seconds,
        )
        self.imported = (
            ImportedCalendars(settings.calendars.imported, clock=self.clock)
            if settings.calendars.imported
            else None
        )
        self.services = Services(
            config=settings,
            clock=self.clock,
            database=self.database,
            gateway=self.gateway,
            imported=self.imported,
        )
        self.outbox = OutboxSender(self.database.sessions, self.gateway, self.clock, self.stopping)
        # iMIP invitations: queued by the meeting commands, sent in the background when mail is enabled.
        self.mail = (
            MailSender(self.database.sessions, settings.mail, self.clock, self.stopping)
            if settings.mail.enabled
            else None
        )
        # CalDAV: every meeting PUT to the organisation's calendar in the background when enabled.
        self.caldav = (
            CalDavPublisher(self.database.sessions, self.clock, settings.caldav, http_timeout=30.0)
            if settings.caldav.enabled
            else None
        )
        self.services.caldav = self.caldav
        self.reminders = ReminderService(
            self.database.sessions,
            self.clock,
            settings.reminders,
            on_queued=self.outbox.wake,
            tick_seconds=reminder_tick_seconds,
            default_zone=settings.bot.default_timezone,
            metrics=self.metrics,
        )
        self.feeds = FeedCache(self.database.sessions, self.clock, settings.web.public_base_url)
        self.report_pages = ReportPages(
            self.database.sessions, self.clock, settings.web.public_base_url, settings.bot.default_timezone
        )
        self.site = SitePages(
            self.database.sessions,
            self.clock,
            settings.web.public_base_url,
            settings.bot.default_timezone,
            settings.bot.command_prefix,
            imported=self.imported,
        )
        self.web = WebServer(
            build_application(
                self.feeds,
                self.health,
                MinutesPages(
                    self.database.sessions,
                    settings.web.public_base_url,
                    settings.bot.default_timezone,
                    settings.bot.command_prefix,
                ),
                self.report_pages,
                self.site,
                metrics=self.metrics,
            ),
            settings.web.listen_host,
            settings.web.listen_port,
        )
        self.dispatcher = Dispatcher(
            settings=settings,
            router=self.router,
            sessions=self.database.sessions,
            services=self.services,
            clock=self.clock,
            bot_user_id=settings.matrix.user_id,
            on_committed=self._committed,
            metrics=self.metrics,
        )

    def _committed(self) -> None:
        self.outbox.wake()
        if self.mail is not None:
            self.mail.wake()
        if self.caldav is not None:
            self.caldav.wake()
        self.reminders.changed()
        self.feeds.invalidate()
        self.report_pages.invalidate()
        self.site.invalidate()

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        """Run until `stop()`; refuses to start on a database that is not migrated.

        A stop may come in any phase (`docker stop` does not wait for the login to succeed): every phase
        returns as soon as it hears it, and `run()` then returns quietly too."""
        try:
            await self._run_until_stopped()
        except Stopping:
            pass  # heard in the middle of a request (logging in, uploading keys): nothing more to undo
        finally:
            await self.web.stop()
            await self.gateway.close()
            await self.database.dispose()
            log.info("stopped")

    async def _run_until_stopped(self) -> None:
        await self.database.check_migrated()
        if self.stopping.is_set():
            return
        if self.settings.web.enabled:
            await self.web.start()
        await self.gateway.connect()
        outbox_task = asyncio.create_task(self.outbox.run(), name="outbox")
        mail_task = asyncio.create_task(self.mail.run(), name="mail") if self.mail is not None else None
        caldav_task = (
            asyncio.create_task(self.caldav.run(self.stopping), name="caldav")
            if self.caldav is not None
            else None
        )
        imported_task = None
        if self.imported is not None:
            every = timedelta(minutes=self.settings.calendars.refresh_minutes)
            imported_task = asyncio.create_task(
                self.imported.run(self.stopping, every), name="imported-calendars"
            )
        try:
            # Before the first sync: reminders missed while the bot was down go out (late) or are skipped.
            await self.reminders.start()
            await self._sync_loop()
        finally:
            self.stopping.set()
            await self.reminders.stop()
            await outbox_task
            if mail_task is not None:
                await mail_task  # returns as soon as `stopping` is set
            if caldav_task is not None:
                await caldav_task  # returns as soon as `stopping` is set (after its HTTP call, if any)
            if imported_task is not None:
                await imported_task  # returns as soon as `stopping` is set

    async def _sync_loop(self) -> None:
        since = await self._stored_token()
        log.info("syncing %s", "from the stored token" if since else "for the first time: skipping history")
        async for batch in self.gateway.batches(since):
            await self._handle(batch)

    async def _handle(self, batch: SyncBatch) -> None:
        """Handle everything in the batch, then (and only then) store the token after it."""
        backoff = Backoff()
        while True:
            try:
                for invite in batch.invites:
                    await self.dispatcher.handle_invite(invite, self.gateway)
                await self.dispatcher.handle_batch(batch.events)
                async with UnitOfWork(self.database.sessions) as uow:
                    await uow.state.set(SYNC_TOKEN, batch.next_batch, self.clock.now())
                    await uow.commit()
                return
            except Stopping:
                return  # the batch is not done: its token stays unstored, and the next start handles it again
            except Exception:
                # The database may be away: keep the batch and try again; the ledger makes reruns harmless.
                delay = backoff.next_delay()
                log.exception("handling a sync batch failed; retrying in %.1f s", delay)
                if await self.gateway.wait_stopping(delay):
                    return

    async def _stored_token(self) -> str | None:
        async with UnitOfWork(self.database.sessions) as uow:
            return await uow.state.get(SYNC_TOKEN)
