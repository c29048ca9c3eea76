"""Calendar publishing: iCalendar feeds, CalDAV, iMIP mail, and the imported calendars read for conflicts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iscg_bot.calendar.imported import ImportedCalendars
    from iscg_bot.core.clock import Clock
    from iscg_bot.core.config import CalendarsSettings


def imported_calendars(
    settings: CalendarsSettings, clock: Clock, stopping: asyncio.Event
) -> ImportedCalendars | None:
    """Other bodies' calendars, read for conflicts and shown on the calendar page, when
    `calendars.imported` lists feeds (the bot and a web replica build them alike)."""
    if not settings.imported:
        return None
    from iscg_bot.calendar.imported import ImportedCalendars  # only when configured: 0.5 MB

    every = timedelta(minutes=settings.refresh_minutes)
    return ImportedCalendars(settings.imported, clock=clock, every=every, stopping=stopping)
