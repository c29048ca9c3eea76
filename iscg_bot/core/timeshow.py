"""How the bot shows a time: in the meeting's zone with its UTC offset, then in UTC, then in readers' zones.

    span(start, end, "Europe/Zurich", extra_zones=["Asia/Tokyo"])
    → "Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC · 22:00–23:30 Asia/Tokyo"

Names of days and months are in the language being written (`iscg_bot.core.i18n.speaking`), never the
machine's locale: English with a fixed pattern (CLDR's English names, tested), any other language in CLDR's
own order and names through Babel (loaded only then). Times are on the 24-hour clock in every language.
Every datetime given here must be timezone-aware: a naive one is refused with ValueError, as it would be
shown in a zone nobody chose.
A fixed-offset zone (`UTC`, `Etc/GMT-3`) is shown as its offset (`UTC`, `UTC+03:00`): the POSIX sign of
`Etc/GMT-3` reads backwards to people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from iscg_bot.core.language import PSEUDO, _, accented, babel_locale, current, lazy

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SEPARATOR = " · "
# The whole weekday names a sentence shows ("every Tuesday", "is a Tuesday"): catalog messages.
_WEEKDAY_NAMES = (
    lazy("Monday"),
    lazy("Tuesday"),
    lazy("Wednesday"),
    lazy("Thursday"),
    lazy("Friday"),
    lazy("Saturday"),
    lazy("Sunday"),
)

# Names of UTC itself; shown as "UTC".
UTC_NAMES = frozenset(
    (
        *("UTC", "UCT", "Universal", "Zulu", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich"),
        *("Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0"),
        "Etc/Greenwich",
    )
)
_ETC_OFFSET = re.compile(r"Etc/GMT([+-])([0-9]{1,2})")


def format_offset(offset: timedelta) -> str:
    """`UTC+01:00`, `UTC-03:30`, `UTC+00:00` (seconds only for the historical offsets that have them)."""
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def offset_label(instant: datetime, zone: str) -> str:
    """The zone's offset at that instant: `UTC+01:00`."""
    return format_offset(_in_zone(instant, zone).utcoffset() or timedelta())


def zone_label(zone: str) -> str:
    """How a zone is named to people: its IANA name, `UTC`, or the offset of an `Etc/GMT±N` zone."""
    if zone in UTC_NAMES:
        return "UTC"
    etc = _ETC_OFFSET.fullmatch(zone)
    if etc:  # POSIX signs: Etc/GMT-3 is three hours ahead of UTC
        hours = int(etc.group(2))
        return format_offset(timedelta(hours=-hours if etc.group(1) == "+" else hours))
    return zone


ENGLISH_DAY = "EEE d MMM y"  # what `day_label` writes in English, as a CLDR pattern (the tests compare them)
SKELETON_DAY = (
    "MMMEd",
    "yMMMEd",
)  # the other languages: CLDR's own pattern for a short day, without/with year


def weekday_name(weekday: int) -> str:
    """The day `weekday` (Monday 0) as a sentence in the language being written names it ("mardi")."""
    return _(_WEEKDAY_NAMES[weekday])


def day_label(day: date, *, year: bool = True) -> str:
    """`Thu 3 Dec 2026`, or `Thu 3 Dec` without the year; `jeu. 3 déc. 2026` in French."""
    locale = babel_locale(current())
    if locale is None:
        text = f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
        return f"{text} {day.year}" if year else text
    from babel.dates import format_skeleton  # Babel is loaded only when another language is written

    shown = format_skeleton(SKELETON_DAY[year], day, locale=locale)
    return accented(shown) if current() == PSEUDO else shown


def date_label(day: date) -> str:
    """`3 Dec 2026`: the date without its weekday (`3 déc. 2026` in French)."""
    locale = babel_locale(current())
    if locale is None:
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    from babel.dates import format_skeleton  # Babel is loaded only when another language is written

    shown = format_skeleton("yMMMd", day, locale=locale)
    return accented(shown) if current() == PSEUDO else shown


def clock(wall: datetime) -> str:
    """`14:00`; the seconds only when there are some."""
    return f"{wall:%H:%M}" + (f":{wall.second:02d}" if wall.second else "")


def moment(instant: datetime, zone: str) -> str:
    """`Thu 3 Dec 2026 14:00 Europe/Zurich (UTC+01:00)`; `Thu 3 Dec 2026 13:00 UTC`."""
    local = _in_zone(instant, zone)
    return f"{day_label(local.date())} {clock(local)} {zone_label(zone)}{_offsets(zone, local, local)}"


def span(start: datetime, end: datetime, zone: str, *, extra_zones: Iterable[str] = ()) -> str:
    """A meeting's time: in its zone with the offset, then in UTC, then in each other zone by UTC offset.

    Another zone shows the date when it is not the meeting zone's date; an end on another day shows its day.
    """
    local_start, local_end = _in_zone(start, zone), _in_zone(end, zone)
    if end < start:
        raise ValueError(f"a span must not end before it starts: {start.isoformat()} > {end.isoformat()}")
    main_day = local_start.date()
    parts = [
        f"{day_label(main_day)} {_range(local_start, local_end)} {zone_label(zone)}"
        + _offsets(zone, local_start, local_end)
    ]
    others = [] if zone in UTC_NAMES else ["UTC"]
    extras = {z for z in extra_zones if z != zone and z not in UTC_NAMES}
    others += sorted(extras, key=lambda z: (_in_zone(start, z).utcoffset() or timedelta(), z))
    for other in others:
        other_start, other_end = _in_zone(start, other), _in_zone(end, other)
        shown_day = ""
        if other_start.date() != main_day:
            shown_day = day_label(other_start.date(), year=other_start.year != main_day.year) + " "
        parts.append(f"{shown_day}{_range(other_start, other_end)} {zone_label(other)}")
    return SEPARATOR.join(parts)


def _range(start: datetime, end: datetime) -> str:
    if end.date() == start.date():
        return f"{clock(start)}–{clock(end)}"
    return f"{clock(start)}–{day_label(end.date(), year=end.year != start.year)} {clock(end)}"


def _offsets(zone: str, local_start: datetime, local_end: datetime) -> str:
    """` (UTC+01:00)` after a named zone; both offsets when a daylight-saving change falls inside."""
    if zone in UTC_NAMES or _ETC_OFFSET.fullmatch(zone):  # the label already is the offset
        return ""
    first = format_offset(local_start.utcoffset() or timedelta())
    last = format_offset(local_end.utcoffset() or timedelta())
    return f" ({first})" if first == last else f" ({first} → {last})"


def _in_zone(instant: datetime, zone: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"a naive datetime has no place in time: {instant.isoformat()}; give it a time zone")
    return instant.astimezone(ZoneInfo(zone))
