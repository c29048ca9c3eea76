"""What every background worker shares: one lifecycle, its health, the signal that the bot is stopping, how it
waits out a failure.

    class Sender(LoopWorker):                 # a worker is one loop in a task of its own…
        name = "sender"
        async def loop(self) -> None:
            while not self.stopping.is_set():
                self.woken.clear()
                ...; self.succeeded()         # or self.failed(error): what `health()` reports
                await self.pause(60)          # until stop(), wake() or a minute has passed

    async with running([outbox, mail, caldav, imported, reminders], stopping=app.stopping):
        ...                                   # started in this order, stopped in reverse

Every worker (`Worker`) has a `name`, `start()` (returns once it runs; a worker that must catch up first, such
as the reminders, does so before returning), `stop()` (returns quickly, also when never started), `wake()`
(something changed: work soon) and `health()` (running, last success, last error).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from iscg_bot.core.clock import Clock

log = logging.getLogger(__name__)


class Stopping(Exception):
    """Raised out of a wait or a request when the bot is shutting down."""


class Backoff:
    """Exponential backoff with jitter, reset after a success."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap, self.failures = first, cap, 0

    def next_delay(self) -> float:
        self.failures += 1
        delay = min(self.cap, self.first * 2 ** (self.failures - 1))
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.failures = 0


@dataclass(frozen=True)
class WorkerHealth:
    """How a worker is doing: running, when its work last succeeded, its latest error (cleared by a success)
    and how many times in a row it failed."""

    name: str
    running: bool
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "failures": self.failures,
        }


class HealthRecord:
    """What a worker writes down as it goes; `snapshot()` is what its `health()` returns."""

    def __init__(self) -> None:
        self.last_success: datetime | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.failures = 0

    def succeeded(self, at: datetime) -> None:
        self.last_success, self.last_error, self.failures = at, None, 0

    def failed(self, at: datetime, error: BaseException | str) -> None:
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        self.last_error, self.last_error_at = error[:500], at
        self.failures += 1

    def snapshot(self, name: str, running: bool) -> WorkerHealth:
        return WorkerHealth(
            name, running, self.last_success, self.last_error, self.last_error_at, self.failures
        )


class Worker(Protocol):
    """A background worker: started and stopped by the composition root, in one place (see `running`)."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def wake(self) -> None: ...

    def health(self) -> WorkerHealth: ...


class LoopWorker:
    """A worker whose work is one loop, `loop()`, run in a task of its own from `start()` to `stop()`.

    `stopping` is the signal the loop watches (`stop()` sets it). The composition root hands every worker the
    bot's own, so one stop signal reaches them all at once; a worker built alone gets its own."""

    name = "worker"

    def __init__(self, clock: Clock, stopping: asyncio.Event | None = None) -> None:
        self.clock = clock
        self.stopping = stopping if stopping is not None else asyncio.Event()
        self.woken = asyncio.Event()  # set by wake(); the loop clears it before each round
        self.record = HealthRecord()
        self._task: asyncio.Task[None] | None = None

    async def loop(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Ask the loop to stop and wait until it has (it returns as soon as it hears it)."""
        self.stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def wake(self) -> None:
        """Something may have changed: work soon."""
        self.woken.set()

    def health(self) -> WorkerHealth:
        return self.record.snapshot(self.name, self._task is not None and not self._task.done())

    def succeeded(self) -> None:
        self.record.succeeded(self.clock.now())

    def failed(self, error: BaseException | str) -> None:
        self.record.failed(self.clock.now(), error)

    async def pause(self, seconds: float, *, wakeable: bool = True) -> None:
        """Wait `seconds`, or less: until the bot stops (or, when `wakeable`, until `wake()`)."""
        await first_set(self.stopping, *([self.woken] if wakeable else []), timeout=seconds)

    async def _run(self) -> None:
        try:
            await self.loop()
        except Stopping:
            pass  # heard in the middle of a request
        except Exception as error:  # the loops catch their own; this is the last line of defence
            log.exception("the %s worker stopped on an error", self.name)
            self.failed(error)


async def first_set(*events: asyncio.Event, timeout: float | None = None) -> None:
    """Wait until one of `events` is set, or `timeout` seconds have passed (None: no limit)."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


@asynccontextmanager
async def running(workers: Sequence[Worker], *, stopping: asyncio.Event | None = None) -> AsyncIterator[None]:
    """Start `workers` in order; on leaving, set `stopping` (every worker hears it at once), then stop them in
    reverse order, each one that was asked to start (also when its start failed)."""
    started: list[Worker] = []
    try:
        for worker in workers:
            started.append(worker)
            await worker.start()
        yield
    finally:
        if stopping is not None:
            stopping.set()
        for worker in reversed(started):
            try:
                await worker.stop()
            except Exception:
                log.exception("stopping the %s worker failed", worker.name)
