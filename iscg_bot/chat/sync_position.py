"""Where the sync resumes after a restart: the token after the last handled batch, kept in our database.

The token is only a resume point: every event that has an effect is in the ledger (`processed_events`), so an
event fetched again after a restart from an older token is recognised and skipped. Writing the token after
every batch cost a transaction per batch, two per `!ping` (the command's batch, then the batch that brings
back our own reply). So it is written at most every `every_seconds`, and always the first time (a bot that
has never stored one skips history on start) and when the bot stops. A crash loses at most those seconds of
resume point, never an event: the token stored is always one whose batches were all handled.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from iscg_bot.core.clock import Clock
from iscg_bot.storage import UnitOfWork

SYNC_TOKEN = "matrix.sync_token"


class SyncPosition:
    """The stored sync token: `load()` at start, `handled(token)` after each batch, `flush()` at stop."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        every_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,  # a throttle, not a time anyone sees
    ) -> None:
        self.sessions, self.clock = sessions, clock
        self.every_seconds, self.monotonic = every_seconds, monotonic
        self._stored: str | None = None
        self._pending: str | None = None
        self._stored_at = float("-inf")

    async def load(self) -> str | None:
        async with UnitOfWork(self.sessions) as uow:
            self._stored = await uow.state.get(SYNC_TOKEN)
        return self._stored

    async def handled(self, token: str) -> None:
        """Every event before `token` is handled: store it now if it is time to, else with a later batch."""
        self._pending = token
        if self._stored is None or self.monotonic() - self._stored_at >= self.every_seconds:
            await self.flush()

    async def flush(self) -> None:
        """Store the latest handled token, if it is not stored yet."""
        token = self._pending
        if token is None or token == self._stored:
            return
        async with UnitOfWork(self.sessions) as uow:
            await uow.state.set(SYNC_TOKEN, token, self.clock.now())
            await uow.commit()
        self._stored, self._stored_at = token, self.monotonic()
        if self._pending == token:
            self._pending = None
