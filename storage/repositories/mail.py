"""The mail outbox: iMIP messages queued in a meeting change's transaction, sent later by the mail worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from iscg_bot.storage.models import MailMessage, Meeting


class MailOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def queue(
        self,
        *,
        message_id: str,
        method: str,
        meeting_id: int,
        sequence: int,
        sender: str,
        recipients: list[str],
        message: bytes,
        at: datetime,
    ) -> MailMessage | None:
        """Add a message unless one with this Message-ID is already queued (then None)."""
        existing = await self._session.scalar(select(MailMessage).filter_by(message_id=message_id))
        if existing is not None:
            return None
        row = MailMessage(
            message_id=message_id,
            method=method,
            meeting_id=meeting_id,
            sequence=sequence,
            sender=sender,
            recipients=",".join(recipients),
            message=message,
            created_at=at,
            attempts=0,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def pending(self, limit: int = 100) -> list[MailMessage]:
        """Unsent messages, oldest first (a meeting's REQUEST before its CANCEL)."""
        query = select(MailMessage).where(MailMessage.sent_at.is_(None)).order_by(MailMessage.id).limit(limit)
        return list(await self._session.scalars(query))

    async def all(self) -> list[MailMessage]:
        return list(await self._session.scalars(select(MailMessage).order_by(MailMessage.id)))

    async def mark_sent(self, row_id: int, at: datetime) -> None:
        await self._session.execute(
            update(MailMessage)
            .where(MailMessage.id == row_id)
            .values(sent_at=at, attempts=MailMessage.attempts + 1, last_error=None)
        )

    async def mark_failed(self, row_id: int, error: str) -> None:
        await self._session.execute(
            update(MailMessage)
            .where(MailMessage.id == row_id)
            .values(attempts=MailMessage.attempts + 1, last_error=error[:2000])
        )

    async def fresh_meeting(self, meeting_id: int) -> Meeting:
        """The meeting as the transaction now has it, agenda and overrides reloaded (for rendering); it must
        exist (NoResultFound otherwise)."""
        await self._session.flush()
        query = (
            select(Meeting)
            .where(Meeting.id == meeting_id)
            .options(selectinload(Meeting.agenda), selectinload(Meeting.overrides))
            .execution_options(populate_existing=True)
        )
        return (await self._session.scalars(query)).one()
