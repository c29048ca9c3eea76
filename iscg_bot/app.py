"""The composition root: builds storage, gateway, workers, dispatcher and web server, and runs the bot."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING

from iscg_bot.calendar import imported_calendars
from iscg_bot.calendar.caldav import CalDavPublisher
from iscg_bot.calendar.mail import MailSender
from iscg_bot.chat.dispatcher import Dispatcher
from iscg_bot.chat.languages import Languages
from iscg_bot.chat.outbox import OutboxSender
from iscg_bot.chat.reminders import ReminderService
from iscg_bot.chat.services import Services
from iscg_bot.chat.sync_position import SyncPosition
from iscg_bot.commands import build_router
from iscg_bot.core.clock import Clock, SystemClock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.config import Settings
from iscg_bot.core.health import SyncHealth
from iscg_bot.core.leadership import Leadership
from iscg_bot.core.metrics import Metrics
from iscg_bot.core.workers import Backoff, Stopping, Worker, first_set, running
from iscg_bot.matrix.crypto_store import QuietStore
from iscg_bot.matrix.gateway import MatrixGateway, SyncBatch
from iscg_bot.storage import Database, UnitOfWork
from iscg_bot.web.freshness import DataFreshness
from iscg_bot.web.server import WebServer, site_server
from iscg_bot.web.standby import standby_application

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

DEVICE_ID = "matrix.device_id"
ACCESS_TOKEN = "matrix.access_token"
# + a hash of the user ID (keys are short): the direct room the bot made with them.
DIRECT_ROOM = "matrix.direct_room."


def _direct_room_key(user_id: str) -> str:
    return DIRECT_ROOM + hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:40]


class SetupError(RuntimeError):
    """The installation lacks something this configuration needs (an optional extra)."""


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
    """The bot, assembled: each part built once, complete; the workers started and stopped in one place."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        reminder_tick_seconds: float = 5.0,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.settings, self.clock = settings, clock or SystemClock()
        # Set by `stop()`, or by whoever heard the stop signal first (the CLI listens from before migrating).
        self.stopping = stopping or asyncio.Event()
        self.commits = CommitListeners()  # workers and caches register here to hear every committed change
        self.metrics = Metrics()  # what /metrics shows; its own registry
        self.database = Database(settings.database.url.get_secret_value())
        # Of the processes sharing the database, the one holding the lease syncs, answers and sends.
        cluster = settings.cluster
        self.leadership = Leadership(
            self.database.sessions, self.clock, instance=cluster.instance, lease_seconds=cluster.lease_seconds
        )
        self.metrics.watch_leadership(self.leadership)  # /metrics says which process is active
        self.sync_position = SyncPosition(self.database.sessions, self.clock)
        self.gateway = self._gateway()
        self.outbox = OutboxSender(
            self.database.sessions,
            self.gateway,
            self.clock,
            self.stopping,
            commits=self.commits,
            may_send=self.leadership.holds,  # a leader that froze past its lease sends nothing more
        )
        self.leadership.on_regained = self.outbox.wake  # what waited while the lease was in doubt
        # A batch that failed for want of the database is retried as soon as the lease finds it again.
        self.database_back = asyncio.Event()
        self.leadership.on_database_back = self.database_back.set
        self.imported = imported_calendars(self.settings.calendars, self.clock, self.stopping)
        # Who reads which language (a person's, a room's subject's, the default): the chat's and the
        # reminders' one cache, emptied by every commit.
        self.languages = Languages(settings.bot.default_language, commits=self.commits)
        self.reminders = self._reminders(reminder_tick_seconds)
        # Started in this order, stopped in reverse; the reminders catch up after the first sync, not before.
        imported: list[Worker] = [self.imported] if self.imported is not None else []
        self.workers: list[Worker] = [self.outbox, *self._publishers(), *imported, self.reminders]
        self.services = Services(settings, self.clock, self.database, self.gateway, self.imported)
        self.router = build_router(settings.bot.command_prefix, settings.bot.max_message_length)
        self.dispatcher = self._dispatcher()
        self.health = self._health()
        self.web = self._web()

    # ---- the parts ---------------------------------------------------------------------------------------

    def _gateway(self) -> MatrixGateway:
        store = DatabaseSessionStore(self.database, self.clock)
        gateway = MatrixGateway(
            self.settings.matrix, store, self.stopping, self.clock, crypto_store=self._crypto_store()
        )
        self.metrics.watch_sync(gateway, self.clock)
        return gateway

    def _crypto_store(self) -> type[QuietStore]:
        """nio's encryption store: a file in `matrix.store_path` on SQLite; on PostgreSQL, the bot's
        database, so that a standby on another machine takes over with the device's keys."""
        if self.database.is_sqlite:
            return QuietStore
        try:
            from iscg_bot.matrix.crypto_store_pg import crypto_store_class
        except ImportError as error:
            raise SetupError(
                f"on PostgreSQL the encryption keys live in the database, which needs {error.name}: "
                'install the bot with its PostgreSQL extra (pip install "iscg-bot[postgresql]")'
            ) from error
        url = self.settings.database.url.get_secret_value()
        return crypto_store_class(url, may_write=self.leadership.holds)

    def _publishers(self) -> list[Worker]:
        """What publishes meetings elsewhere, each when enabled: iMIP invitations (queued by the meeting
        commands) and the CalDAV calendar (every meeting PUT to the organisation's collection)."""
        settings, sessions, clock = self.settings, self.database.sessions, self.clock
        workers: list[Worker] = []
        if settings.mail.enabled:
            workers.append(
                MailSender(
                    sessions,
                    settings.mail,
                    clock,
                    self.stopping,
                    commits=self.commits,
                    may_send=self.leadership.holds,
                )
            )
        if settings.caldav.enabled:
            workers.append(
                CalDavPublisher(
                    sessions,
                    clock,
                    settings.caldav,
                    stopping=self.stopping,
                    commits=self.commits,
                    default_language=settings.bot.default_language,
                )
            )
        return workers

    def _reminders(self, tick_seconds: float) -> ReminderService:
        return ReminderService(
            self.database.sessions,
            self.clock,
            self.settings.reminders,
            on_queued=self.outbox.wake,
            commits=self.commits,
            tick_seconds=tick_seconds,
            default_zone=self.settings.bot.default_timezone,
            metrics=self.metrics,
            catch_up_in_background=True,  # a big database's catch-up must not hold up the first command
            catch_up_after=self.gateway.ready,  # nor compete with it for the CPU: it follows the first sync
            languages=self.languages,  # a reminder speaks its room's
        )

    def _dispatcher(self) -> Dispatcher:
        return Dispatcher(
            settings=self.settings,
            router=self.router,
            sessions=self.database.sessions,
            services=self.services,
            clock=self.clock,
            bot_user_id=self.settings.matrix.user_id,
            commits=self.commits,
            metrics=self.metrics,
            hand_off=self.outbox.take,
            languages=self.languages,
        )

    def _health(self) -> SyncHealth:
        """What /healthz answers: a sync attempt may take a long-poll plus the request timeout before it
        fails; each worker's health is shown beside it."""
        matrix = self.settings.matrix
        return SyncHealth(
            self.gateway,
            self.clock,
            matrix.sync_timeout_seconds,
            margin_seconds=matrix.request_timeout_seconds,
            workers=self.workers,
            lease=self.leadership,
        )

    def _web(self) -> WebServer:
        """The web server: the site, the feeds, the minutes and reports, /healthz and /metrics."""
        sessions, clock = self.database.sessions, self.clock
        # Its own commits are heard at once; the data versions catch those of other processes (a
        # `minutes regenerate` run beside it, the commits of a leader before this process took over).
        site = site_server(
            self.settings,
            sessions,
            clock,
            self.commits,
            self.health,
            metrics=self.metrics,
            freshness=DataFreshness(sessions, self.commits, clock),
            imported=self.imported,
        )
        self.feeds = site.feeds  # the tests look into it
        return site.server

    # ---- running -----------------------------------------------------------------------------------------

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
            await self._store_sync_position()
            await self.leadership.release()  # a standby takes over at once, not a lease later
            await self.web.stop()
            await self.gateway.close()
            await self.database.dispose()
            log.info("stopped")

    async def _run_until_stopped(self) -> None:
        await self.database.check_migrated()
        if self.stopping.is_set() or not await self._lead():
            return
        keeping = asyncio.create_task(self.leadership.keep(self.stopping), name="lease")
        try:
            if self.settings.web.enabled:
                await self.web.start()
            # Only now: nio reads the device's keys at login, and a standby's copy would go stale.
            await self.gateway.connect()
            async with running(self.workers, stopping=self.stopping):  # stopped in reverse, however it ends
                await self._sync_loop()
        finally:
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)

    async def _lead(self) -> bool:
        """Hold the lease before doing anything: at once when no other process does; else wait as a
        standby, answering /healthz meanwhile. False if stopped first."""
        acquiring = asyncio.create_task(self.leadership.acquire(self.stopping), name="standby")
        done, _ = await asyncio.wait({acquiring}, timeout=1.0)
        if done or not self.settings.web.enabled:
            return await acquiring
        web = self.settings.web
        metrics = Metrics()  # the lease alone: a standby runs no sync loop whose lag could alert
        metrics.watch_leadership(self.leadership)
        standby = WebServer(standby_application(self.leadership, metrics), web.listen_host, web.listen_port)
        await standby.start()
        try:
            return await acquiring
        finally:
            await standby.stop()

    async def _sync_loop(self) -> None:
        since = await self.sync_position.load()
        log.info("syncing %s", "from the stored token" if since else "for the first time: skipping history")
        async for batch in self.gateway.batches(since):
            if not await self.leadership.confirm(self.stopping):
                return  # the lease is lost (another process handles these events), or stopping
            await self._handle(batch)

    async def _handle(self, batch: SyncBatch) -> None:
        """Handle everything in the batch, then (and only then) store the token after it."""
        backoff = Backoff()
        while True:
            self.database_back.clear()
            try:
                for invite in batch.invites:
                    await self.dispatcher.handle_invite(invite, self.gateway)
                await self.dispatcher.handle_batch(batch.events)
                await self.sync_position.handled(batch.next_batch)
                return
            except Stopping:
                return  # the batch is not done: its token stays unstored, and the next start handles it again
            except Exception:
                # The database may be away: keep the batch and try again (at once when the lease finds the
                # database back, not a long backoff later); the ledger makes reruns harmless.
                delay = backoff.next_delay()
                log.exception("handling a sync batch failed; retrying in %.1f s", delay)
                await first_set(self.stopping, self.database_back, timeout=delay)
                if self.stopping.is_set():
                    return

    async def _store_sync_position(self) -> None:
        """The last handled batch's token, if the throttle held it back; the database may be away."""
        try:
            await self.sync_position.flush()
        except Exception:
            log.exception("could not store the sync token; the next start fetches those events again")
