"""Whether a wall time is an occurrence of a series, by arithmetic: the feeds ask it of every override.

    series_occurrence(zone="Europe/Zurich", start_local=start, rrule="FREQ=WEEKLY;COUNT=10", wall=wall)
    # the occurrence's wall time (with the series' pass in `fold`), or None when the series has none there

`iscg_bot.domain.recurrence` expands a series with dateutil, which costs about as much as the rest of a
meeting's VEVENTs; a feed asks this of every moved or cancelled occurrence. The rules the bot stores are
few (see `recurrence.to_rrule`: DAILY, WEEKLY on the start's weekday, MONTHLY on the start's day; INTERVAL;
UNTIL a local day, or COUNT), and for them the answer is arithmetic on the days since the first start. A
MONTHLY series on the 29th–31st (whose months without that day are skipped) and a start with microseconds
are left to `recurrence.occurrence_on`; tests/test_feed_series.py checks the two agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from iscg_bot.domain.recurrence import Repeat, first_start, from_rrule, occurrence_on

__all__ = ["series_occurrence"]


def series_occurrence(*, zone: str, start_local: datetime, rrule: str, wall: datetime) -> datetime | None:
    """The occurrence of the series (`rrule` from `start_local` in `zone`) that starts at the naive `wall`
    time, as its wall time with the series' pass in `fold`; None when none starts there. RecurrenceError for
    a rule the bot does not write, as `recurrence` raises."""
    repeat = _repeat(rrule, zone)
    anchor = first_start(repeat, start_local)
    if anchor.microsecond or (repeat.freq == "MONTHLY" and anchor.day > 28):
        return _by_expansion(zone, start_local, rrule, wall)
    if wall.time() != anchor.time() or wall.microsecond:
        return None
    days = (wall.date() - anchor.date()).days
    if days < 0 or (repeat.until is not None and wall.date() > repeat.until):
        return None
    index = _index(repeat, anchor, wall, days)
    if index is None or (repeat.count is not None and index >= repeat.count):
        return None
    return wall.replace(fold=anchor.fold)


def _index(repeat: Repeat, anchor: datetime, wall: datetime, days: int) -> int | None:
    """Which occurrence (0 the first) falls on the wall's day, None if none does."""
    if repeat.freq == "MONTHLY":
        months = (wall.year - anchor.year) * 12 + wall.month - anchor.month
        if wall.day != anchor.day or months % repeat.interval:
            return None
        return months // repeat.interval  # every month has days 1–28: none skipped
    step = repeat.interval * (7 if repeat.freq == "WEEKLY" else 1)  # WEEKLY: on the anchor's weekday
    return None if days % step else days // step


@lru_cache(maxsize=1024)
def _repeat(rrule: str, zone: str) -> Repeat:
    return from_rrule(rrule, zone=zone)


def _by_expansion(zone: str, start_local: datetime, rrule: str, wall: datetime) -> datetime | None:
    found = occurrence_on(
        zone=zone, start_local=start_local, duration=timedelta(minutes=1), rrule=rrule, day=wall.date()
    )
    return found.original_local if found is not None and found.original_local == wall else None
