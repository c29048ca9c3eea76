"""iCalendar values and content lines (RFC 5545): TEXT escaping, folding, date-time and duration values.

    f"SUMMARY:{escape_text(title)}"      fold(line) + CRLF      f"DTSTAMP:{utc_text(updated_at)}"

Shared by the feeds (`iscg_bot.calendar.feeds`) and the VTIMEZONEs (`iscg_bot.calendar.vtimezone`); each
function turns one value into the text a content line carries, nothing here knows about meetings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

__all__ = [
    "CRLF",
    "category_text",
    "duration_text",
    "escape_text",
    "fold",
    "fold_octets",
    "folded_lines",
    "local_text",
    "param_free",
    "param_value",
    "utc",
    "utc_text",
]

CRLF = "\r\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # TEXT allows HTAB and (escaped) line breaks only
_TO_ESCAPE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\\;,]")  # what escape_text changes or drops


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks escaped; CR LF and CR read
    as line breaks; other control characters dropped."""
    if _TO_ESCAPE.search(value) is None:  # most values: nothing to do, and feeds escape tens of thousands
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character."""
    if len(line) <= 75 and line.isascii():  # most lines: no need to encode them to count their octets
        return line
    return fold_octets(line.encode()).decode()


def fold_octets(line: bytes) -> bytes:
    """`fold` for a line already encoded as UTF-8."""
    if len(line) <= 75:
        return line
    pieces = []
    start, limit = 0, 75
    while len(line) - start > limit:
        cut = start + limit
        while line[cut] & 0xC0 == 0x80:  # a continuation byte: step back to the character's first byte
            cut -= 1
        pieces.append(line[start:cut])
        start, limit = cut, 74  # continuation lines begin with a space
    pieces.append(line[start:])
    return b"\r\n ".join(pieces)


def folded_lines(lines: Iterable[str]) -> bytes:
    """Unfolded content lines (none holding a line break) as bytes: UTF-8, each folded and ended by CRLF.

    Most lines of a feed (hundreds of thousands) are short and ASCII, which costs one check each (both
    are O(1) on a str); only the others are encoded to count their octets."""
    return "".join(
        [line + CRLF if len(line) <= 75 and line.isascii() else _fold_long(line) + CRLF for line in lines]
    ).encode()


def _fold_long(line: str) -> str:
    """`fold` for a line that is long or not ASCII (as every SUMMARY, with its `·`)."""
    return _fold_kept(line) if len(line) > 75 else fold_octets(line.encode()).decode()


@lru_cache(maxsize=1024)  # long lines repeat: every meeting with the same link has the same CONFERENCE
def _fold_kept(line: str) -> str:
    return fold_octets(line.encode()).decode()


@lru_cache(maxsize=1024)  # a feed writes the same few subjects' categories thousands of times
def category_text(value: str) -> str:
    """One CATEGORIES value. A comma in it becomes a space: escaped as RFC 5545 says (`\\,`), it is still read
    as a separator by both `ical` and icalendar."""
    return escape_text(re.sub(r"\s*,\s*", " ", value))


@lru_cache(maxsize=64)  # the same domain in every UID of a feed
def param_free(value: str) -> str:
    """For the UID and PRODID domain: drop anything that could end the value or the line."""
    return re.sub(r"[\x00-\x20\x7f;:,\"\\]", "", value)


_PARAM_SAFE = re.compile(r"[^\x00-\x1f\x7f\";:,]*")  # RFC 5545 §3.1 paramtext: no quoting needed


@lru_cache(maxsize=64)  # a few labels, one per language
def param_value(value: str) -> str:
    """A parameter value (`LABEL=Join`): as it is when it may stand bare, else in double quotes; a double
    quote or control character, which no parameter value can hold, is dropped."""
    value = re.sub(r"[\x00-\x1f\x7f\"]", "", value)
    return value if _PARAM_SAFE.fullmatch(value) else f'"{value}"'


def duration_text(value: timedelta) -> str:
    """A positive DURATION value (`P1D`, `PT1H30M`); ValueError for zero or less."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        raise ValueError("a refresh interval must be positive")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"P{days}D" if days else "P"
    if hours or minutes or secs:
        text += (
            "T"
            + (f"{hours}H" if hours else "")
            + (f"{minutes}M" if minutes else "")
            + (f"{secs}S" if secs else "")
        )
    return text


def utc(value: datetime) -> datetime:
    """Aware UTC; a naive value (as SQLite may return) is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_text(value: datetime) -> str:
    """A UTC DATE-TIME value: `20261203T130000Z`."""
    return local_text(value if value.tzinfo is None else value.astimezone(UTC)) + "Z"  # naive: UTC already


def local_text(value: datetime) -> str:
    """A local (floating or TZID=) DATE-TIME value: `20261203T140000`."""
    # printf-style: strftime takes five times as long, isoformat and slicing twice, and a feed writes tens
    # of thousands of these.
    return _DATE_TIME % (value.year, value.month, value.day, value.hour, value.minute, value.second)


_DATE_TIME = "%04d%02d%02dT%02d%02d%02d"
