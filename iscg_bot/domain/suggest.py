"""Finding meeting slots: the times that keep the most people inside their working hours, free of conflicts.

Pure functions over plain data (no clock, no storage), so `!meeting suggest` is a thin command over them:

    slots = rank_slots(
        attendees=[Attendee("@a:x", "Europe/Zurich"), Attendee("@b:x", "Asia/Tokyo")],
        busy=[(meeting_start, meeting_end), …],        # aware datetimes; any order, may overlap
        window_start=monday, window_end=monday + timedelta(days=14),
        duration=timedelta(minutes=90),
    )
    slots[0].start, slots[0].out_of_hours          # the best slot and who would be outside 08:00–20:00

Candidates start every 30 minutes on the hour and half-hour UTC, inside the window and ending by its end.
A candidate that overlaps a busy interval is never proposed. The others are ranked by the number of
attendees outside their working hours (08:00–20:00 in their own zone, the whole meeting on one local day),
ties broken by the earliest start; the proposals do not overlap one another (three consecutive half-hours
would be one choice, not three). Given a `weekend_zone`, weekend slots come last.

It is fast because the work is per *zone*, not per person: each zone's working hours in the window become a
short list of UTC intervals, walked once alongside the sorted candidates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

STEP = timedelta(minutes=30)
DAY_START = time(8, 0)
DAY_END = time(20, 0)


@dataclass(frozen=True)
class Attendee:
    """Someone whose working hours count; `who` is a Matrix ID (or a label), `zone` an IANA zone name."""

    who: str
    zone: str


@dataclass(frozen=True)
class Slot:
    """A proposal: when, and the attendees it puts outside their working hours (in the order given)."""

    start: datetime
    end: datetime
    out_of_hours: tuple[Attendee, ...]


def candidate_starts(window_start: datetime, window_end: datetime, duration: timedelta) -> list[datetime]:
    """Every :00 and :30 UTC start at or after `window_start` whose meeting ends by `window_end`."""
    _aware(window_start, window_end)
    first = window_start.astimezone(UTC)
    rounded = first.replace(minute=0, second=0, microsecond=0)
    while rounded < first:
        rounded += STEP
    starts = []
    moment = rounded
    while moment + duration <= window_end:
        starts.append(moment)
        moment += STEP
    return starts


def working_hours(
    zone: str,
    window_start: datetime,
    window_end: datetime,
    *,
    day_start: time = DAY_START,
    day_end: time = DAY_END,
) -> list[tuple[datetime, datetime]]:
    """The zone's working hours as UTC intervals, one per local day touching the window, in order."""
    tz = ZoneInfo(zone)
    first = window_start.astimezone(tz).date() - timedelta(days=1)
    last = window_end.astimezone(tz).date() + timedelta(days=1)
    hours = []
    day = first
    while day <= last:
        begin = datetime.combine(day, day_start, tzinfo=tz).astimezone(UTC)
        end = datetime.combine(day, day_end, tzinfo=tz).astimezone(UTC)
        hours.append((begin, end))
        day += timedelta(days=1)
    return hours


def _inside(
    starts: Sequence[datetime], duration: timedelta, intervals: Sequence[tuple[datetime, datetime]]
) -> list[bool]:
    """For each sorted start, whether [start, start + duration) lies inside one of the sorted intervals."""
    result = []
    i = 0
    for start in starts:
        while i < len(intervals) and intervals[i][1] < start + duration and intervals[i][0] <= start:
            i += 1  # this day's hours end too soon for this start, or any later one
        result.append(i < len(intervals) and intervals[i][0] <= start and start + duration <= intervals[i][1])
    return result


def _free(
    starts: Sequence[datetime], duration: timedelta, busy: Iterable[tuple[datetime, datetime]]
) -> list[bool]:
    """For each sorted start, whether [start, start + duration) overlaps no busy interval (may touch one)."""
    merged: list[list[datetime]] = []
    for begin, end in sorted((b.astimezone(UTC), e.astimezone(UTC)) for b, e in busy if e > b):
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    result = []
    i = 0
    for start in starts:
        finish = start + duration
        while i < len(merged) and merged[i][1] <= start:
            i += 1  # busy intervals over before this start are over for every later one
        result.append(i == len(merged) or merged[i][0] >= finish)
    return result


def rank_slots(
    *,
    attendees: Sequence[Attendee],
    busy: Iterable[tuple[datetime, datetime]],
    window_start: datetime,
    window_end: datetime,
    duration: timedelta,
    count: int = 3,
    day_start: time = DAY_START,
    day_end: time = DAY_END,
    weekend_zone: str | None = None,
) -> list[Slot]:
    """The best `count` non-overlapping free slots: fewest attendees out of hours, then earliest.

    With `weekend_zone`, a slot starting on a Saturday or Sunday in that zone comes after every weekday one.
    """
    _aware(window_start, window_end)
    if duration <= timedelta(0):
        raise ValueError("a meeting needs a positive duration")
    starts = candidate_starts(window_start, window_end, duration)
    if not starts:
        return []
    free = _free(starts, duration, busy)
    zones = Counter(a.zone for a in attendees)
    inside_by_zone = {
        zone: _inside(
            starts,
            duration,
            working_hours(zone, window_start, window_end, day_start=day_start, day_end=day_end),
        )
        for zone in zones
    }
    weekend_tz = ZoneInfo(weekend_zone) if weekend_zone else None

    def weekend(k: int) -> bool:
        return weekend_tz is not None and starts[k].astimezone(weekend_tz).weekday() >= 5

    scored = sorted(
        (weekend(k), sum(n for zone, n in zones.items() if not inside_by_zone[zone][k]), k)
        for k in range(len(starts))
        if free[k]
    )
    chosen: list[int] = []
    for *_, k in scored:
        if all(abs(starts[k] - starts[j]) >= duration for j in chosen):
            chosen.append(k)
            if len(chosen) == count:
                break
    return [
        Slot(
            starts[k],
            starts[k] + duration,
            tuple(a for a in attendees if not inside_by_zone[a.zone][k]),
        )
        for k in chosen
    ]


def _aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"a naive datetime has no place in time: {moment.isoformat()}")
