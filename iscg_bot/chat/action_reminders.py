"""The due-day reminders of action items: claimed once per action and day, queued in the outbox."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from iscg_bot.chat.outbox import notice_content, txn_id
from iscg_bot.core.i18n import SOURCE, speaking
from iscg_bot.core.metrics import Metrics
from iscg_bot.domain.actions import (
    DEFAULT_ZONE,
    REMINDER_TIME,
    reminder_key,
    reminder_message,
    today_in,
    zone_of,
)
from iscg_bot.storage import UnitOfWork

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)


async def run_due_actions(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    default_zone: str = DEFAULT_ZONE,
    default_language: str = SOURCE,
    metrics: Metrics | None = None,
) -> int:
    """Remind the owners of the open actions due today whose reminder has not gone out; how many were queued.

    An action is reminded once per due day, from REMINDER_TIME in its subject's zone: on time, or late (the
    bot was down) until that day ends. Found only after the day ended, or given that due day after
    REMINDER_TIME on the day itself (whoever did so knows), it is skipped: recorded as reminded, never sent.
    Each claim and its message are one transaction, the message's Matrix transaction ID derived from the
    action and day (`reminder_key`), so neither a second run nor a retried send posts it twice.
    Each claim is counted in `metrics` when given. The message is in the room's language: its subject's,
    else `default_language` (the group's).
    """
    latest = (now.astimezone(UTC) + timedelta(days=1)).date()  # no zone is a day or more ahead of UTC
    async with UnitOfWork(sessions) as uow:
        candidates = await uow.actions.reminder_candidates(due_by=latest)
        zones = {
            subject_id: await zone_of(uow, subject_id, default_zone)
            for subject_id in {item.subject_id for item in candidates}
        }
    queued = 0
    for item in candidates:
        zone = zones[item.subject_id]
        due = item.due
        assert due is not None  # reminder_candidates are the items with a due date
        today = today_in(zone, now)
        remind_at = datetime.combine(due, REMINDER_TIME, tzinfo=ZoneInfo(zone))
        if due > today or now < remind_at:
            continue
        skipped = due < today or item.updated_at > remind_at
        claimed = await _claim(
            sessions,
            item.id,
            due,
            now=now,
            skipped=skipped,
            default_language=default_language,
            metrics=metrics,
        )
        if claimed:
            queued += 1
    return queued


async def _claim(
    sessions: async_sessionmaker[AsyncSession],
    action_id: int,
    due: date,
    *,
    now: datetime,
    skipped: bool,
    default_language: str = SOURCE,
    metrics: Metrics | None = None,
) -> bool:
    """Claim the action's reminder for `due` and (unless skipped) queue it, in one transaction."""
    key = reminder_key(action_id, due)
    async with UnitOfWork(sessions) as uow:
        claimed = await uow.actions.claim_due_reminder(action_id, due)
        if claimed and not skipped:
            item = await uow.actions.get(action_id)
            assert item is not None  # its reminder was just claimed
            subject = await uow.subjects.get(item.subject_id) if item.subject_id is not None else None
            with speaking((subject.language if subject is not None else None) or default_language):
                message = reminder_message(item)  # said to the room, in its language
            await uow.outbox.add(
                txn_id=txn_id(key, 0),
                room_id=subject.room_id if subject is not None else item.room_id,  # a moved room too
                event_type="m.room.message",
                content=notice_content(message),
                at=now,
                purpose=key,
            )
        await uow.commit()
    if claimed:
        if metrics is not None:
            metrics.reminder_claimed("action", "skipped" if skipped else "sent")
        if skipped:
            log.warning("skipping the reminder %s: its day is over, or it was set after the time", key)
        else:
            log.info("action reminder %s queued", key)
    return claimed and not skipped
