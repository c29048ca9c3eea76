"""Conformance checks for iCalendar feeds, shared by the feed tests (and the web server's tests if they like).

check_feed(body)                       # our own rules, then both parsers, strictly
assert expand_ical(body, a, b) == expand_recurring(body, a, b)
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import icalendar
import recurring_ical_events
from ical.calendar import Calendar as IcalCalendar
from ical.calendar_stream import IcsCalendarStream

Instance = tuple[datetime, datetime, str]


def unfold(body: bytes) -> list[str]:
    """The content lines of a feed, unfolded (CRLF followed by a space or tab joins two lines)."""
    return re.sub(rb"\r\n[ \t]", b"", body).decode().split("\r\n")[:-1]


def check_feed(body: bytes) -> IcalCalendar:
    """Assert what no parser checks for us; return the feed as parsed by `ical`, strictly."""
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b""), "a bare LF"
    assert b"\r" not in body.replace(b"\r\n", b""), "a bare CR"
    for raw in body.split(b"\r\n")[:-1]:
        assert len(raw) <= 75, raw
        raw.decode()  # folding never splits a UTF-8 character
    lines = unfold(body)
    names = [line.split(":", 1)[0].split(";", 1)[0] for line in lines]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "METHOD" not in names and "ATTENDEE" not in names
    assert names.count("VERSION") == 1 and "VERSION:2.0" in lines
    assert "PRODID" in names and "CALSCALE:GREGORIAN" in lines
    assert "NAME" in names and "X-WR-CALNAME" in names
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines

    defined = {line[5:] for line in lines if line.startswith("TZID:")}
    used = set(re.findall(r";TZID=([^;:]+)", "\n".join(lines)))
    assert used <= defined, f"TZIDs without a VTIMEZONE: {used - defined}"
    assert len(defined) == sum(line == "BEGIN:VTIMEZONE" for line in lines)
    for line in lines:
        if line.startswith("RRULE:"):
            parts = dict(part.split("=", 1) for part in line[6:].split(";"))
            assert not ("UNTIL" in parts and "COUNT" in parts), line
            if "UNTIL" in parts:
                assert re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", parts["UNTIL"]), line
        if line.startswith("CONFERENCE"):
            assert line.startswith("CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=Join:"), line
        if line.startswith(("DTSTAMP", "LAST-MODIFIED", "CREATED")):
            assert re.fullmatch(r"[A-Z-]+:[0-9]{8}T[0-9]{6}Z", line), line
    return IcsCalendarStream.calendar_from_ics(body.decode())


def expand_recurring(body: bytes, start: datetime, end: datetime) -> set[Instance]:
    """(start, end, summary) of every instance in [start, end) by icalendar + recurring-ical-events."""
    calendar = icalendar.Calendar.from_ical(body)
    return {
        (_utc(e["DTSTART"].dt), _utc(e["DTEND"].dt), str(e["SUMMARY"]))
        for e in recurring_ical_events.of(calendar).between(start, end)
        if str(e.get("STATUS", "CONFIRMED")) != "CANCELLED"
    }


def expand_ical(body: bytes, start: datetime, end: datetime) -> set[Instance]:
    """The same by the `ical` library's timeline."""
    calendar = IcsCalendarStream.calendar_from_ics(body.decode())
    return {
        (_utc(e.start), _utc(e.end), e.summary or "")
        for e in calendar.timeline_tz(UTC).overlapping(start, end)
        if e.status is None or e.status.value != "CANCELLED"
    }


def renamed(body: bytes, zone: str) -> bytes:
    """The feed with `zone` renamed to a TZID no zone database knows, so that parsers must use its VTIMEZONE.
    The name is unique per feed: icalendar keeps the zones it built from a VTIMEZONE by TZID, process-wide,
    and would reuse another feed's definition."""
    alias = f"X-ISCG-{zone.replace('/', '-')}-{hashlib.sha256(body).hexdigest()[:8]}"
    return body.replace(zone.encode(), alias.encode())


def _utc(value: datetime) -> datetime:
    assert isinstance(value, datetime) and value.tzinfo is not None, value
    return value.astimezone(UTC)
