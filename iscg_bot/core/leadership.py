"""One active bot among processes sharing a database: a lease row, renewed by the active one, taken over
by a standby when it stops being renewed.

Why a lease row and not a PostgreSQL advisory lock: an advisory lock lives as long as its connection, and a
frozen process (SIGSTOP, a VM paused, a long GC) keeps its connection and so its lock forever: no standby
would ever take over. A lease expires whatever the holder's state, works the same on SQLite, and carries an
epoch that fences the old holder out.

Timing, by each process's own monotonic clock (no two machines' wall clocks are compared):
- the active process renews every `lease / 4` seconds and acts only until `renewal start + lease − lease / 4`
  (its `deadline`); a renewal that fails because the epoch moved on means another process took over;
- a standby polls the row every `lease / 8` seconds and takes over once it has seen the same epoch and beat
  for a whole `lease`; a lease given back on a clean stop is taken at once.
So the active process has stopped acting (by `deadline`) before any standby can take over, and a frozen one
that wakes up finds its deadline passed before it does anything (`holds()` is checked before every send).

The database away (restarted, unreachable) is no evidence that the active process died: during the outage
the active one cannot renew and the standbys cannot observe. A standby counts its "unchanged for a whole
lease" only over observations that succeeded one after the other: a failed one starts the count again. So
once the database is back, the active process (which retries every `lease / 8` past its deadline) renews
well before any standby has watched a whole lease go by, and resumes: a successful renewal proves nobody
took over, however long the outage lasted. A takeover after an outage needs the standby to see the beat
stand still for a whole lease *with the database answering*: the active process is gone, or cannot reach
the database while the standby can (a network cut on its side); that one then finds the epoch moved at its
next renewal, and stops. The price: a leader that died during the outage is replaced a lease after the
database returns, not at once.

The last round trip's outcome (a renewal, an observation) is also this process's view of the database:
`problem()` says why it cannot work now, for /healthz, without a query of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from iscg_bot.core.clock import Clock
from iscg_bot.core.workers import first_set
from iscg_bot.storage import UnitOfWork
from iscg_bot.storage.repositories.leases import RELEASED, Lease

log = logging.getLogger(__name__)

LEASE_NAME = "bot"  # one row: the bot that syncs, answers and sends
DEFAULT_LEASE_SECONDS = 8.0


class Role(StrEnum):
    STARTING = "starting"
    STANDBY = "standby"
    ACTIVE = "active"
    LOST = "lost"  # was active, no longer is: the process stops
    STOPPED = "stopped"


class Leadership:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        instance: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not instance:
            raise ValueError("the instance name must not be empty")
        self._sessions, self._clock, self._monotonic = sessions, clock, monotonic
        self.instance = instance
        self.lease_seconds = lease_seconds
        self.renew_every = lease_seconds / 4
        self.poll_every = lease_seconds / 8
        self.role = Role.STARTING
        self.epoch: int | None = None
        self.lost = asyncio.Event()
        self._deadline = float("-inf")
        self._seen: Lease | None = None  # the lease as last read by a standby
        # The database as the last lease round trip found it: its error, and since when it fails (monotonic).
        self.database_error: str | None = None
        self._failing_since = 0.0
        # Called when a renewal succeeds after the deadline had passed: what waited may go on (the outbox).
        self.on_regained: Callable[[], None] = lambda: None
        # Called when a lease round trip succeeds after some failed: what retries may retry now.
        self.on_database_back: Callable[[], None] = lambda: None

    def holds(self) -> bool:
        """Whether this process may act now: it holds the lease and its deadline has not passed."""
        return self.role is Role.ACTIVE and self._monotonic() < self._deadline

    def problem(self) -> str | None:
        """Why this process cannot do its job now (for /healthz), or None: the database did not answer its
        last lease round trip, or the active process is past its deadline (a renewal hangs or came late)."""
        if self.database_error is not None:
            failing_for = self._monotonic() - self._failing_since
            return f"the database does not answer (for {failing_for:.0f} s): {self.database_error}"
        if self.role is Role.ACTIVE and not self.holds():
            return "the lease was not renewed in time: doing nothing until a renewal succeeds"
        if self.role is Role.LOST:
            return "another process took the lease over"
        return None

    def _reached(self) -> None:
        if self.database_error is not None:
            log.info("the database answers again")
            self.database_error = None
            self.on_database_back()

    def _missed(self, error: BaseException) -> bool:
        """Note a failed round trip; whether it is the first of an outage (to warn once, not at every try)."""
        first = self.database_error is None
        if first:
            self._failing_since = self._monotonic()
        # SQLAlchemy's message runs over several lines and ends with a link: its first line says it.
        described = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        self.database_error = f"{type(error).__name__}: {described}" if described else type(error).__name__
        return first

    # ---- standby -----------------------------------------------------------------------------------------

    async def acquire(self, stopping: asyncio.Event) -> bool:
        """Wait as a standby until the lease is ours; False if `stopping` came first."""
        watched: tuple[int, int] | None = None  # the (epoch, beat) seen standing still…
        watched_since = 0.0  # …since then
        announced = False
        while not stopping.is_set():
            started = self._monotonic()
            try:
                lease = self._seen = await self._observe()
                if self._may_take(lease, watched, started - watched_since) and await self._claim(
                    lease, started
                ):
                    return True
                self._reached()
            except Exception as error:  # the database is away: nothing to decide, keep watching
                if self._missed(error):
                    log.warning(
                        "standby: cannot read the lease (%s); asking again every %.1f s",
                        self.database_error,
                        self.poll_every,
                    )
                # No evidence either way meanwhile: the beat must be seen standing still for a whole lease
                # again, from the next observation that succeeds (see the module's docstring).
                lease, watched = None, None
            if lease is not None and (lease.epoch, lease.beat) != watched:
                watched, watched_since = (lease.epoch, lease.beat), started
            if not announced and lease is not None:
                self.role, announced = Role.STANDBY, True
                log.info("standby: %s is active; taking over if it stops renewing", lease.holder)
            await first_set(stopping, timeout=self.poll_every)
        return False

    def _may_take(self, lease: Lease | None, watched: tuple[int, int] | None, still_for: float) -> bool:
        if lease is None or lease.holder in (RELEASED, self.instance):
            return True  # never held, given back, or held by this instance before a restart
        return watched == (lease.epoch, lease.beat) and still_for >= self.lease_seconds

    async def _observe(self) -> Lease | None:
        async with UnitOfWork(self._sessions) as uow:
            return await uow.leases.observe(LEASE_NAME)

    async def _claim(self, seen: Lease | None, started: float) -> bool:
        async with UnitOfWork(self._sessions) as uow:
            epoch = await uow.leases.claim(LEASE_NAME, self.instance, self._clock.now(), seen=seen)
            await uow.commit()
        if epoch is None:
            return False
        self.epoch, self.role = epoch, Role.ACTIVE
        self._deadline = started + self.lease_seconds - self.renew_every
        self._reached()
        previous = f"from {seen.holder}" if seen is not None and seen.holder != RELEASED else "free"
        log.info("active: took the lease (epoch %d, %s)", epoch, previous)
        return True

    # ---- active ------------------------------------------------------------------------------------------

    async def keep(self, stopping: asyncio.Event) -> None:
        """Renew the lease until `stopping`; on losing it, set `lost` and `stopping` and return.

        A renewal that fails (the database away) or comes too late (the process frozen, or its loop held up
        by long work) is retried: past the deadline this process does nothing, and it acts again only once a
        renewal succeeds, which proves no standby took over meanwhile (a takeover moves the epoch on)."""
        while not stopping.is_set():
            await first_set(stopping, timeout=self.renew_every if self.holds() else self.poll_every)
            if stopping.is_set():
                return
            if not await self._renewed(stopping):
                return

    async def confirm(self, stopping: asyncio.Event) -> bool:
        """Whether this process still leads: at once within its deadline; past it, only once a renewal
        succeeds (waiting for it, and losing the lease if another process took it). False once stopping."""
        while not self.holds():
            if self.role is not Role.ACTIVE or stopping.is_set() or not await self._renewed(stopping):
                return False
            if not self.holds():
                await first_set(stopping, timeout=self.poll_every)
        return True

    async def _renewed(self, stopping: asyncio.Event) -> bool:
        """One renewal attempt; False only when the lease is lost (then `lost` and `stopping` are set)."""
        started, lapsed = self._monotonic(), not self.holds()
        try:
            renewed = await asyncio.wait_for(self._renew(), timeout=self.lease_seconds)
        except Exception as error:
            if self._missed(error):
                acting = "acting until its deadline" if self.holds() else "doing nothing until it is renewed"
                log.warning("could not renew the lease (%s); %s", self.database_error, acting)
            return True
        self._reached()
        if not renewed:
            self._lose("another process took the lease over", stopping)
            return False
        self._deadline = started + self.lease_seconds - self.renew_every
        if lapsed:
            log.warning("renewed the lease after its deadline had passed: acting again")
            self.on_regained()
        return True

    async def _renew(self) -> bool:
        assert self.epoch is not None
        async with UnitOfWork(self._sessions) as uow:
            renewed = await uow.leases.renew(LEASE_NAME, self.instance, self.epoch, self._clock.now())
            await uow.commit()
        return renewed

    def _lose(self, why: str, stopping: asyncio.Event) -> None:
        log.error("no longer the active bot: %s; stopping", why)
        self.role, self._deadline = Role.LOST, float("-inf")
        self.lost.set()
        stopping.set()

    async def release(self) -> None:
        """On a clean stop: give the lease back so a standby takes over at once (best effort)."""
        if self.role is not Role.ACTIVE or self.epoch is None:
            return
        self.role, self._deadline = Role.STOPPED, float("-inf")
        try:
            async with UnitOfWork(self._sessions) as uow:
                await uow.leases.release(LEASE_NAME, self.instance, self.epoch, self._clock.now())
                await uow.commit()
        except Exception as error:
            log.warning("could not give the lease back (%s); a standby takes over when it expires", error)

    def health(self) -> dict[str, object]:
        """What /healthz and /metrics show: this process's instance name and role, the active process's
        name (as a standby last read it) and the lease's epoch (held, or as last read)."""
        active, epoch = None, self.epoch  # lost or stopped: nobody known
        if self.role is Role.ACTIVE:
            active = self.instance
        elif self.role in (Role.STARTING, Role.STANDBY) and self._seen is not None:
            active, epoch = self._seen.holder or None, self._seen.epoch  # None: given back
        return {"instance": self.instance, "role": self.role.value, "active": active, "epoch": epoch}
