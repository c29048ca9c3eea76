"""The leader lease's row: read it, claim it, renew it, give it back (see iscg_bot/core/leadership.py).

Every change is one compare-and-set UPDATE (or the first INSERT): of two processes racing for the lease,
the database lets exactly one win, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, Update, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import LeaderLease

RELEASED = ""  # the holder of a lease given back on a clean stop


class Lease(NamedTuple):
    holder: str
    epoch: int
    beat: int


class Leases:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def observe(self, name: str) -> Lease | None:
        query = select(LeaderLease.holder, LeaderLease.epoch, LeaderLease.beat).where(
            LeaderLease.name == name
        )
        row = (await self._session.execute(query)).first()
        return Lease(*row) if row is not None else None

    async def claim(self, name: str, holder: str, at: datetime, *, seen: Lease | None) -> int | None:
        """Take the lease as it was `seen` (None: nobody ever held it); the new epoch, or None if it changed
        meanwhile (another process renewed or claimed it first)."""
        if seen is None:
            values = {"name": name, "holder": holder, "epoch": 1, "beat": 0, "renewed_at": at}
            try:
                async with self._session.begin_nested():
                    await self._session.execute(insert(LeaderLease).values(values))
            except IntegrityError:
                return None
            return 1
        statement = (
            update(LeaderLease)
            .where(LeaderLease.name == name, LeaderLease.epoch == seen.epoch, LeaderLease.beat == seen.beat)
            .values(holder=holder, epoch=seen.epoch + 1, beat=0, renewed_at=at)
        )
        return seen.epoch + 1 if await self._changed(statement) else None

    async def renew(self, name: str, holder: str, epoch: int, at: datetime) -> bool:
        """One more beat of a lease still held; False if another process took it over."""
        statement = _held(name, holder, epoch).values(beat=LeaderLease.beat + 1, renewed_at=at)
        return await self._changed(statement)

    async def release(self, name: str, holder: str, epoch: int, at: datetime) -> bool:
        """Give the lease back (a clean stop): a waiting standby may take it at once."""
        statement = _held(name, holder, epoch).values(
            holder=RELEASED, beat=LeaderLease.beat + 1, renewed_at=at
        )
        return await self._changed(statement)

    async def _changed(self, statement: Update) -> bool:
        # An UPDATE's result is a CursorResult (it has rowcount); AsyncSession.execute is typed for SELECTs.
        result = cast(CursorResult[Any], await self._session.execute(statement))
        return result.rowcount == 1


def _held(name: str, holder: str, epoch: int) -> Update:
    """An UPDATE of the lease as `holder` holds it in `epoch`: it changes nothing once another took over."""
    return update(LeaderLease).where(
        LeaderLease.name == name, LeaderLease.holder == holder, LeaderLease.epoch == epoch
    )
