"""Personal calendar feed tokens: secret, random, revocable, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import CalendarToken

TOKEN_BYTES = 24  # 192 bits of randomness


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class CalendarTokens:
    """Who a personal feed token belongs to. The token itself is handed out once and never stored."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def issue(self, matrix_id: str, at: datetime) -> str:
        """A fresh token for the person; the previous one (if any) stops working."""
        await self.revoke(matrix_id, at)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self._session.add(CalendarToken(token_hash=token_hash(token), matrix_id=matrix_id, created_at=at))
        await self._session.flush()
        return token

    async def resolve(self, token: str) -> str | None:
        """The Matrix ID of a live token's owner; None for an unknown or revoked token."""
        if not token or len(token) > 200:
            return None
        query = select(CalendarToken.matrix_id).where(
            CalendarToken.token_hash == token_hash(token), CalendarToken.revoked_at.is_(None)
        )
        return await self._session.scalar(query)

    async def has_live(self, matrix_id: str) -> bool:
        query = select(CalendarToken.token_hash).where(
            CalendarToken.matrix_id == matrix_id, CalendarToken.revoked_at.is_(None)
        )
        return (await self._session.scalar(query.limit(1))) is not None

    async def revoke(self, matrix_id: str, at: datetime) -> bool:
        """Revoke the person's live token; False when they had none."""
        # An UPDATE's result is a CursorResult (it has rowcount); AsyncSession.execute is typed for SELECTs.
        result = cast(
            CursorResult[Any],
            await self._session.execute(
                update(CalendarToken)
                .where(CalendarToken.matrix_id == matrix_id, CalendarToken.revoked_at.is_(None))
                .values(revoked_at=at)
            ),
        )
        return bool(result.rowcount)
