"""VTIMEZONE components (RFC 5545 §3.6.5) derived from zoneinfo, for the feeds and iMIP mail.

    lines = vtimezone("Europe/Zurich", 2026, 2077)   # unfolded content lines, BEGIN:VTIMEZONE … END:VTIMEZONE

A zone's offset transitions are found by scanning zoneinfo year by year (`year_transitions`, which the feeds
also read to find a series' occurrences in a DST gap or a repeated hour); years with the same rules share
yearly observances. See `vtimezone` for the choices and their limits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from iscg_bot.calendar.ical_text import escape_text, local_text

__all__ = ["vtimezone", "year_transitions"]

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def vtimezone(zone: str, first_year: int, last_year: int) -> list[str]:
    """A VTIMEZONE for `zone` that agrees with zoneinfo from `first_year` to `last_year` (and, for a zone
    whose rule stays the same, after it), as unfolded content lines.

    How: the offset transitions of each year are found by scanning zoneinfo (daily steps, then bisection to
    the second). Each transition becomes a rule key — kind (DAYLIGHT when dst() is non-zero after it),
    offsets, abbreviation, month, weekday-in-month (`-1SU` when it is the month's last such weekday, else
    `2SU`…) and the wall time of the onset. Consecutive years with the same keys share one observance per key
    with `RRULE:FREQ=YEARLY;BYMONTH=…;BYDAY=…`, bounded by COUNT (its years) unless it is the last run (left
    open). Not by UNTIL: RFC 5545 wants it in UTC there, and dateutil (under `ical`) refuses a UTC UNTIL next
    to the observance's local DTSTART, failing the whole calendar.
    A year whose keys fit no run of two or more (a one-off change of offset, or rules such as "Sunday on or
    after the 22nd" whose weekday-in-month varies) gets observances with a single onset (`RRULE:FREQ=YEARLY;
    COUNT=1`, no RDATE: vobject, hence Radicale, mis-reads RDATE-style components). A zone without
    transitions in the span is one STANDARD observance.

    Limits: correct within the span only; before it the first observance holds, after it the last rules are
    extrapolated (as zoneinfo itself does from the zone's POSIX rule). Offsets with seconds (LMT, before
    1900) are written with seconds, which some clients ignore."""
    return list(_vtimezone(zone, first_year, last_year))


@lru_cache(maxsize=256)
def _vtimezone(zone: str, first_year: int, last_year: int) -> tuple[str, ...]:
    tz = ZoneInfo(zone)
    keys = {year: year_transitions(tz, year) for year in range(first_year, last_year + 1)}
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone}"]
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    if not keys[first_year]:
        # What holds before the first transition of the span (or throughout it).
        offset, is_dst, name = _state(tz, start)
        lines += _observance(is_dst, offset, offset, name, start.replace(tzinfo=None) + offset, None)
    years = sorted(keys)
    index = 0
    while index < len(years):
        year = years[index]
        run_end = index
        while run_end + 1 < len(years) and _rules(keys[years[run_end + 1]]) == _rules(keys[year]):
            run_end += 1
        transitions = keys[year]
        if run_end > index and transitions:
            open_ended = run_end == len(years) - 1
            for onset, rule in transitions:
                kind, before, after, name, month, byday, _time = rule
                rrule = f"FREQ=YEARLY;BYMONTH={month};BYDAY={byday}"
                if not open_ended:
                    rrule += f";COUNT={run_end - index + 1}"
                lines += _observance(kind, before, after, name, onset.replace(tzinfo=None) + before, rrule)
            index = run_end + 1
            continue
        for onset, _rule in transitions:
            offset, is_dst, name = _state(tz, onset)
            before = _offset_before(tz, onset)
            lines += _observance(is_dst, before, offset, name, onset.replace(tzinfo=None) + before, None)
        index += 1
    lines.append("END:VTIMEZONE")
    return tuple(lines)


def _rules(transitions: list[tuple[datetime, tuple]]) -> list[tuple]:
    return [rule for _, rule in transitions]


def _observance(
    is_dst: bool, before: timedelta, after: timedelta, name: str, wall: datetime, rrule: str | None
) -> list[str]:
    kind = "DAYLIGHT" if is_dst else "STANDARD"
    lines = [
        f"BEGIN:{kind}",
        f"DTSTART:{local_text(wall)}",
        f"TZOFFSETFROM:{_offset(before)}",
        f"TZOFFSETTO:{_offset(after)}",
    ]
    # A single onset is an RRULE with COUNT=1 rather than a bare DTSTART: `ical` ignores an observance that
    # has neither RRULE nor RDATE, and RDATE is what vobject (Radicale) mis-reads.
    lines.append(f"RRULE:{rrule or 'FREQ=YEARLY;COUNT=1'}")
    if name:
        lines.append(f"TZNAME:{escape_text(name)}")
    lines.append(f"END:{kind}")
    return lines


@lru_cache(maxsize=4096)
def year_transitions(tz: ZoneInfo, year: int) -> list[tuple[datetime, tuple]]:
    """The year's transitions (aware UTC instants) with their rule keys, see `vtimezone`."""
    found = []
    day = timedelta(days=1)
    t = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    state = _state(tz, t)
    while t < end:
        nxt = min(t + day, end)
        new = _state(tz, nxt)
        if new != state:
            lo, hi = t, nxt  # state(lo) == old, state(hi) != old
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if _state(tz, mid) == state:
                    lo = mid
                else:
                    hi = mid
            if hi < end:
                found.append((hi, _rule_key(tz, hi, state, _state(tz, hi))))
            state = new
        t = nxt
    return found


def _rule_key(tz: ZoneInfo, onset: datetime, old: tuple, new: tuple) -> tuple:
    before, after, (_, is_dst, name) = old[0], new[0], new
    wall = onset.replace(tzinfo=None) + before
    month_days = ((wall.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
    if wall.day + 7 > month_days:
        byday = f"-1{_DAYS[wall.weekday()]}"
    else:
        byday = f"{(wall.day - 1) // 7 + 1}{_DAYS[wall.weekday()]}"
    return (is_dst, before, after, name, wall.month, byday, wall.time())


def _state(tz: ZoneInfo, instant: datetime) -> tuple[timedelta, bool, str]:
    local = instant.astimezone(tz)
    return local.utcoffset() or timedelta(0), bool(local.dst()), local.tzname() or ""


def _offset_before(tz: ZoneInfo, onset: datetime) -> timedelta:
    return _state(tz, onset - timedelta(seconds=1))[0]


def _offset(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")
