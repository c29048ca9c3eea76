"""On SQLite, this process's transactions take turns in asyncio instead of in SQLite's busy handler.

Every transaction on SQLite starts with BEGIN IMMEDIATE (see `db._tune_sqlite`): one writer at a time. When
two of the bot's tasks both want to write — a burst of commands in twenty rooms — the second one's BEGIN
waited in SQLite's busy handler, which sleeps and retries (1, 2, 5, 10… ms) on aiosqlite's thread: replies
came late in bursts while the CPU idled. Here each unit of work first waits for its turn on an asyncio lock
(one per engine and event loop), so the next transaction starts the moment the previous one ends.

Nothing else changes. Other processes (the CLI, a second bot) still meet SQLite's own lock and its busy
timeout. A unit of work opened inside another in the same task (or in a task started from within it) does
not wait for a turn — it would wait on itself; it meets SQLite's lock as before. Waiting for a turn gives up
after SQLite's busy timeout, with the same "database is locked" error SQLite would have raised.
"""

from __future__ import annotations

import asyncio
import contextvars
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

_locks: WeakKeyDictionary[Engine, dict[asyncio.AbstractEventLoop, asyncio.Lock]] = WeakKeyDictionary()
_holding: contextvars.ContextVar[bool] = contextvars.ContextVar("iscg_sqlite_turn", default=False)


class WriterTurn:
    """`await turn.take()` before the transaction, `turn.give_back()` after it (also when it failed)."""

    def __init__(self, engine: Engine, timeout_seconds: float) -> None:
        self.engine, self.timeout_seconds = engine, timeout_seconds
        self._lock: asyncio.Lock | None = None
        self._token: contextvars.Token[bool] | None = None

    async def take(self) -> None:
        if _holding.get():
            return  # inside another unit of work of this task: it holds the turn
        loop = asyncio.get_running_loop()
        lock = _locks.setdefault(self.engine, {}).setdefault(loop, asyncio.Lock())
        try:
            await asyncio.wait_for(lock.acquire(), self.timeout_seconds)
        except TimeoutError:
            raise OperationalError("BEGIN IMMEDIATE", None, Exception("database is locked")) from None
        self._lock, self._token = lock, _holding.set(True)

    def give_back(self) -> None:
        if self._lock is None:
            return
        lock, token = self._lock, self._token
        self._lock = self._token = None
        if token is not None:
            _holding.reset(token)
        lock.release()
