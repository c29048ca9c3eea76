"""The reminder service driven by hand on the chat driver's database: a service that runs only when told,
the frozen clock moved and what is due run, and the call most reminder stories schedule."""

from __future__ import annotations

from datetime import UTC, datetime

from iscg_bot.chat.reminders import ReminderService
from tests.chat import Chat

# Thu 3 Dec 2026 13:00–14:30 UTC in subject cop's room: reminders due 2 Dec 13:00, 3 Dec 12:45 and 13:00 UTC.
CALL = '!meeting schedule "Coordination call" 2026-12-03 14:00 Europe/Zurich for 90m link https://meet.example.org/cop'


def utc(text: str) -> datetime:
    """`"2026-12-03T12:45"` read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def new_service(chat: Chat) -> ReminderService:
    """A reminder service on the chat's database and clock, without a timer: tests call `run_due()`."""
    return ReminderService(
        chat.database.sessions, chat.clock, chat.config.reminders, tick_seconds=None, debounce_seconds=0.01
    )


async def sent_at(chat: Chat, at: str, service: ReminderService | None = None) -> list[dict]:
    """Move the clock to `at` (UTC), run what is due, return the reminders queued (`service` defaults to
    the one a fixture left in `chat.reminders`)."""
    chat.clock.set(utc(at))
    await (service or chat.reminders).run_due()
    return await chat.take_outbox()
