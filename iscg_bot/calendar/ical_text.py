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
    "utc",
    "utc_text",
]

CRLF = "\r\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # TEXT allows HTAB and (escaped) line breaks only
_LONG_LINE = re.compile(rb"(?m)^[^\r\n]{76,}")  # a line of more than 75 octets, to fold
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

    The lines are joined and encoded at once and only the long ones folded, found by a search in C: a feed
    has hundreds of thousands of lines, mostly short."""
    lines = lines if isinstance(lines, list) else list(lines)
    if not lines:
        return b""
    data = (CRLF.join(lines) + CRLF).encode()
    return _LONG_LINE.sub(lambda long: fold_octets(long.group()), data)


@lru_cache(maxsize=1024)  # a feed writes the same few subjects' categories thousands of times
def category_text(value: str) -> str:
    """One CATEGORIES value. A comma in it becomes a space: escaped as RFC 5545 says (`\\,`), it is still read
    as a separator by both `ical` and icalendar."""
    return escape_text(re.sub(r"\s*,\s*", " ", value))


@lru_cache(maxsize=64)  # the same domain in every UID of a feed
def param_free(value: str) -> str:
    """For the UID and PRODID domain: drop anything that could end the value or the line."""
    return re.sub(r"[\x00-\x20\x7f;:,\"\\]", "", value)


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
    return local_text(utc(value)) + "Z"


def local_text(value: datetime) -> str:
    """A local (floating or TZID=) DATE-TIME value: `20261203T140000`."""
    # From isoformat (2026-12-03T14:00:00, and any offset cut off): strftime takes three times as long, and
    # a feed writes tens of thousands of these.
    return value.isoformat(timespec="seconds")[:19].replace("-", "").replace(":", "")
