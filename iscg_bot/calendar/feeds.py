"""iCalendar feeds (RFC 5545 + RFC 7986): the bytes served at /calendar/*.ics.

    body = render_feed(meetings, info=FeedInfo(name="ISCG — all subjects", description="…"), subjects=by_id)
    etag, modified = feed_etag(body), last_modified(meetings)

`render_feed` is a pure function of its arguments: no clock is read (DTSTAMP and LAST-MODIFIED come from the
meetings' `updated_at`), so unchanged data renders to identical bytes and a strong ETag.

Choices:
- **Hand-written serializer.** A feed is a few fixed property shapes; writing them directly keeps every byte
  under our control (parameter quoting, VALUE=DURATION, FEATURE lists, CRLF, folding at 75 octets without
  splitting a UTF-8 character) and renders 10,000 meetings in well under a second. The independent parsers in
  the tests (`ical`, `icalendar` + `recurring-ical-events`) check the result.
- **TEXT** is escaped per RFC 5545 §3.3.11. CR LF and lone CR become a line break (`\\n`), the only one
  TEXT can carry; other control characters (not allowed in TEXT) are dropped.
- **Cancelled occurrences** of a series are EXDATEs (every parser drops them); their reasons are listed in the
  master's DESCRIPTION. Moved occurrences are VEVENTs with the master's UID and a RECURRENCE-ID. Overrides
  that match no occurrence of the series are left out, as `recurrence.occurrences` ignores them.
- **VTIMEZONE** components are derived from zoneinfo, see `vtimezone`.
- **Repeated hours.** On the night clocks go back a local time happens twice, and readers disagree on which
  pass a local time there means: RFC 5545 §3.3.5 and most clients say the first, Thunderbird (ical.js) the
  second. So an instant in a repeated hour is never written as a local time: a one-off or moved occurrence
  that starts or ends in one is written in UTC, and so is every occurrence of a series that starts in one
  (an override pinning it, see `_pinned_walls`). Its RECURRENCE-ID and EXDATE stay local: each reader reads
  them the same way as the RRULE's own instances, so they match in every reader whichever pass it picks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from iscg_bot.domain.meetings import meeting_label
from iscg_bot.domain.recurrence import OverrideLike, OverrideSpec, is_repeated, occurrence_on, wall_instant

if TYPE_CHECKING:
    from iscg_bot.storage.models import Meeting, MeetingOverride, Subject

__all__ = [
    "FeedInfo",
    "calendar_bytes",
    "cancelled_occurrence_vevent",
    "escape_text",
    "feed_etag",
    "fold",
    "last_modified",
    "meeting_vevents",
    "prodid",
    "render_feed",
    "vtimezone",
    "vtimezones",
]

CRLF = "\r\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # TEXT allows HTAB and (escaped) line breaks only
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20\x7f\"<>\\^`{|}]+")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_YEARS_AFTER = 50  # a VTIMEZONE never looks further ahead than this past the first event; the last rule holds


@dataclass(frozen=True)
class FeedInfo:
    """What the calendar says about itself: its name, a description, how often to refresh, its own URL."""

    name: str
    description: str = ""
    refresh: timedelta = timedelta(hours=1)
    url: str | None = None


# --- the feed --------------------------------------------------------------------------------------------


def render_feed(
    meetings: Sequence[Meeting],
    *,
    info: FeedInfo,
    subjects: Mapping[int, Subject],
    prodid_domain: str = "iscg-bot",
    minutes_url: Callable[[Meeting], str | None] = lambda m: None,
) -> bytes:
    """The feed as UTF-8 bytes: one VTIMEZONE per zone used, one VEVENT per meeting (plus one per moved
    occurrence), in meeting id order. `subjects` maps subject_id to an object with `slug` and `title`."""
    ordered = sorted(meetings, key=lambda m: m.id)
    refresh = _duration(info.refresh)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        prodid(prodid_domain),
        "CALSCALE:GREGORIAN",
        f"NAME:{escape_text(info.name)}",
        f"X-WR-CALNAME:{escape_text(info.name)}",
    ]
    if info.description:
        lines += [
            f"DESCRIPTION:{escape_text(info.description)}",
            f"X-WR-CALDESC:{escape_text(info.description)}",
        ]
    if info.url and _URI.fullmatch(info.url):
        lines += [f"URL:{info.url}", f"SOURCE;VALUE=URI:{info.url}"]
    lines += [f"REFRESH-INTERVAL;VALUE=DURATION:{refresh}", f"X-PUBLISHED-TTL:{refresh}"]

    lines += vtimezones(ordered)
    for meeting in ordered:
        lines += _vevents(meeting, subjects, prodid_domain, minutes_url)
    lines.append("END:VCALENDAR")
    return calendar_bytes(lines)


# --- pieces shared with iMIP mail (iscg_bot.calendar.mail) -------------------------------------------------


def prodid(domain: str = "iscg-bot") -> str:
    """The PRODID content line."""
    return f"PRODID:-//{_escape_param_free(domain)}//ISCG bot//EN"


def calendar_bytes(lines: Iterable[str]) -> bytes:
    """Unfolded content lines as the bytes of a calendar: each folded, ended by CRLF, UTF-8."""
    return "".join(fold(line) + CRLF for line in lines).encode()


def vtimezones(meetings: Iterable[Meeting]) -> list[str]:
    """One VTIMEZONE per zone the meetings use (by name), covering the years their occurrences fall in."""
    spans: dict[str, tuple[int, int]] = {}
    for meeting in meetings:
        first, last = _years(meeting)
        lo, hi = spans.get(meeting.timezone, (first, last))
        spans[meeting.timezone] = (min(lo, first), max(hi, last))
    lines: list[str] = []
    for zone in sorted(spans):
        lo, hi = spans[zone]
        lines += vtimezone(zone, lo - 1, min(hi, lo + _YEARS_AFTER) + 1)
    return lines


def meeting_vevents(
    meeting: Meeting,
    *,
    subjects: Mapping[int, Subject],
    prodid_domain: str = "iscg-bot",
    minutes_url: Callable[[Meeting], str | None] = lambda m: None,
) -> list[str]:
    """The meeting's VEVENTs exactly as the feed has them (the master, then one per moved occurrence), as
    unfolded content lines."""
    return _vevents(meeting, subjects, prodid_domain, minutes_url)


def cancelled_occurrence_vevent(
    meeting: Meeting,
    occurrence_local: datetime,
    *,
    subjects: Mapping[int, Subject],
    prodid_domain: str = "iscg-bot",
) -> list[str]:
    """One cancelled occurrence of a series (its original wall-clock start `occurrence_local`) as a VEVENT
    with the series' UID and SEQUENCE and a RECURRENCE-ID, for an iTIP CANCEL of that occurrence alone."""
    zone = meeting.timezone
    lines = _vevents(meeting, subjects, prodid_domain, lambda m: None)
    master = lines[: lines.index("END:VEVENT")]
    keep = ("DTSTAMP:", "UID:", "SEQUENCE:", "CREATED:", "LAST-MODIFIED:", "SUMMARY:", "CATEGORIES:")
    event = ["BEGIN:VEVENT", *(line for line in master if line.startswith(keep))]
    event.append(f"RECURRENCE-ID;TZID={zone}:{_local_text(occurrence_local)}")
    duration = timedelta(minutes=meeting.duration_minutes)
    in_series_pass = occurrence_local.replace(fold=meeting.start_local.fold)  # stored without its pass
    event += _span(in_series_pass, duration, zone, ZoneInfo(zone), exact=True)
    event += ["STATUS:CANCELLED", "END:VEVENT"]
    return event


def feed_etag(body: bytes) -> str:
    """A strong ETag for the feed's bytes: `"<sha256 hex>"`."""
    return f'"{hashlib.sha256(body).hexdigest()}"'


def last_modified(meetings: Iterable[Meeting]) -> datetime | None:
    """The latest change of any meeting or override (aware UTC), None for no meetings: for Last-Modified."""
    stamps = [m.updated_at for m in meetings]
    stamps += [o.updated_at for m in meetings for o in m.overrides]
    return max((_utc(s) for s in stamps), default=None)


def _vevents(
    meeting: Meeting,
    subjects: Mapping[int, Subject],
    domain: str,
    minutes_url: Callable[[Meeting], str | None],
) -> list[str]:
    zone = meeting.timezone
    tz = ZoneInfo(zone)
    duration = timedelta(minutes=meeting.duration_minutes)
    uid = f"UID:meeting-{meeting.id}@{_escape_param_free(domain)}"
    summary = f"SUMMARY:{escape_text(f'{meeting_label(meeting.id)} · {meeting.title}')}"
    stamp = _utc_text(meeting.updated_at)
    common = [
        f"DTSTAMP:{stamp}",
        uid,
        f"SEQUENCE:{int(meeting.sequence)}",
        f"CREATED:{_utc_text(meeting.created_at)}",
    ]
    subject = subjects.get(meeting.subject_id) if meeting.subject_id is not None else None
    if meeting.subject_id is None:
        category = ["CATEGORIES:ISCG"]
    elif subject is not None:
        category = [f"CATEGORIES:{_category(subject.slug)},{_category(subject.title)}"]
    else:  # a subject the caller did not pass: no category rather than a wrong one
        category = []
    link = meeting.link or None
    place = []
    if link:
        place.append(f"LOCATION:{escape_text(link)}")
        if _URI.fullmatch(link):
            place += [f"URL:{link}", f"CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=Join:{link}"]
    status = "CANCELLED" if meeting.status == "cancelled" else "CONFIRMED"

    cancelled, moved = _overrides(meeting, duration)
    description = _description(meeting, minutes_url(meeting), cancelled)
    master = ["BEGIN:VEVENT", *common, f"LAST-MODIFIED:{stamp}"]
    master += _span(meeting.start_local, duration, zone, tz, exact=not meeting.rrule)
    if meeting.rrule:
        master.append(f"RRULE:{meeting.rrule.removeprefix('RRULE:')}")
        if cancelled:
            master.append(
                f"EXDATE;TZID={zone}:" + ",".join(_local_text(o.occurrence_local) for o in cancelled)
            )
    master += [summary, f"STATUS:{status}", *category]
    if description:
        master.append(f"DESCRIPTION:{escape_text(description)}")
    master += [*place, "END:VEVENT"]

    stamp_at = meeting.updated_at
    for override, start_local in moved:
        span = timedelta(minutes=override.duration_minutes) if override.duration_minutes else duration
        event = [
            "BEGIN:VEVENT",
            *common,
            f"LAST-MODIFIED:{_utc_text(max(getattr(override, 'updated_at', stamp_at), stamp_at, key=_utc))}",
        ]
        event.append(f"RECURRENCE-ID;TZID={zone}:{_local_text(override.occurrence_local)}")
        event += _span(start_local, span, zone, tz, exact=True)
        event += [summary, f"STATUS:{status}", *category]
        if description:
            event.append(f"DESCRIPTION:{escape_text(description)}")
        event += [*place, "END:VEVENT"]
        master += event
    return master


def _overrides(
    meeting: Meeting, duration: timedelta
) -> tuple[list[MeetingOverride], list[tuple[OverrideLike, datetime]]]:
    """(cancelled, moved) overrides of a series that match one of its occurrences, by occurrence; each
    moved one with the wall start (its pass in `fold`) to write."""
    if not meeting.rrule:
        return [], []
    latest = {
        o.occurrence_local: o for o in meeting.overrides
    }  # of several for one occurrence, the last wins
    cancelled: list[MeetingOverride] = []
    moved: list[tuple[OverrideLike, datetime]] = []  # stored overrides, and pinned ones (OverrideSpec)
    for wall in sorted(latest):
        override = latest[wall]
        found = occurrence_on(
            zone=meeting.timezone,
            start_local=meeting.start_local,
            duration=duration,
            rrule=meeting.rrule,
            day=wall.date(),
        )
        if found is None or found.original_local != wall:
            continue
        original = found.original_local  # with the series' pass, which the stored key lacks
        start = override.start_local or original
        if override.cancelled:
            cancelled.append(override)
        elif wall_instant(start, meeting.timezone) != wall_instant(original, meeting.timezone) or (
            override.duration_minutes not in (None, meeting.duration_minutes)
        ):
            moved.append((override, start))
    changed = {o.occurrence_local for o in cancelled} | {o.occurrence_local for o, _ in moved}
    for wall in _pinned_walls(meeting, duration):
        if wall not in changed:
            moved.append((OverrideSpec(occurrence_local=wall, start_local=wall), wall))
    moved.sort(key=lambda pair: pair[0].occurrence_local)
    return cancelled, moved


def _pinned_walls(meeting: Meeting, duration: timedelta) -> list[datetime]:
    """The occurrences of a series whose wall time does not exist (in a spring-forward gap) or happens twice
    (in the repeated hour of a fall-back), with their pass in `fold`: each gets an override written at its
    real time, which makes every reader agree.

    A gap: RFC 5545 §3.3.5 reads such a time with the offset before the gap (02:30 → 03:30), as zoneinfo and
    the bot do; but `ical` and icalendar, when they have only our VTIMEZONE to go by (an unknown TZID), read
    it with the offset after (02:30 → 01:30). A repeated hour: RFC 5545 readers take the first pass, ical.js
    the second, and the series may be in either (see iscg_bot.domain.recurrence): the override is in UTC."""
    tz = ZoneInfo(meeting.timezone)
    first, last = _years(meeting)
    time_of_day = meeting.start_local.time()
    walls = []
    for year in range(first, min(last, first + _YEARS_AFTER) + 1):
        for onset, rule in _year_keys(tz, year):
            before, after = rule[1], rule[2]
            if after == before:
                continue
            # The wall times skipped (clocks forward) or gone through twice (clocks back).
            lo = onset.replace(tzinfo=None) + min(before, after)
            hi = onset.replace(tzinfo=None) + max(before, after)
            if lo.date() == hi.date() and not lo.time() <= time_of_day < hi.time():
                continue
            for day in sorted({lo.date(), hi.date()}):
                found = occurrence_on(
                    zone=meeting.timezone,
                    start_local=meeting.start_local,
                    duration=duration,
                    rrule=meeting.rrule,
                    day=day,
                )
                if found is not None and lo <= found.original_local < hi:
                    walls.append(found.original_local)
    return walls


def _description(meeting: Meeting, minutes: str | None, cancelled: list[MeetingOverride]) -> str:
    parts = []
    if meeting.status == "cancelled":
        parts.append(f"Cancelled: {meeting.cancel_reason}" if meeting.cancel_reason else "Cancelled.")
    items = [item.text for item in meeting.agenda]
    if items:
        parts.append("Agenda:\n" + "\n".join(f"{n}. {text}" for n, text in enumerate(items, 1)))
    if cancelled:
        parts.append(
            "Cancelled occurrences:\n"
            + "\n".join(
                f"- {o.occurrence_local:%a} {o.occurrence_local.day} {o.occurrence_local:%b %Y}"
                + (f": {o.reason}" if o.reason else "")
                for o in cancelled
            )
        )
    if meeting.link:
        parts.append(f"Join: {meeting.link}")
    if minutes:
        parts.append(f"Minutes: {minutes}")
    return "\n\n".join(parts)


def _span(start_local: datetime, duration: timedelta, zone: str, tz: ZoneInfo, *, exact: bool) -> list[str]:
    """DTSTART and DTEND in the zone. `exact` (one-offs and overrides, not a series' DTSTART, whose wall time
    the rule repeats): a start in a DST gap is written at the wall time it really has.

    A start or end in the repeated hour of a fall-back night is read as the first pass by some readers and
    as the second by others (see the module's doc): then an exact event is written in UTC, and a series
    gets DURATION (added to the start by every reader, and right on every other day of the series; its
    occurrences in a repeated hour are pinned in UTC by overrides). So does a series starting in a gap."""
    start = wall_instant(start_local, zone)  # `fold` chooses the pass in a repeated hour
    if exact:
        start_local = start.astimezone(tz).replace(tzinfo=None)
    end = start + duration
    end_wall = end.astimezone(tz).replace(tzinfo=None)
    if exact and (is_repeated(start_local, tz) or is_repeated(end_wall, tz)):
        return [f"DTSTART:{_utc_text(start)}", f"DTEND:{_utc_text(end)}"]
    if exact or not (_ambiguous(start_local, tz) or _ambiguous(end_wall, tz)):
        return [
            f"DTSTART;TZID={zone}:{_local_text(start_local)}",
            f"DTEND;TZID={zone}:{_local_text(end_wall)}",
        ]
    return [
        f"DTSTART;TZID={zone}:{_local_text(start_local)}",
        f"DURATION:PT{int(duration.total_seconds()) // 60}M",
    ]


def _ambiguous(wall: datetime, tz: ZoneInfo) -> bool:
    """A wall time that does not exist (a gap) or happens twice: readers may take it either way."""
    return wall.replace(tzinfo=tz, fold=0).utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset()


def _years(meeting: Meeting) -> tuple[int, int]:
    """The local years the meeting's occurrences (moved ones included) can fall in."""
    first = last = meeting.start_local.year
    if meeting.rrule:
        end = meeting.series_end_utc
        last = _utc(end).year + 1 if end is not None else first + 10
    for o in meeting.overrides:
        for wall in (o.occurrence_local, o.start_local):
            if wall is not None:
                first, last = min(first, wall.year), max(last, wall.year)
    return first, last


# --- VTIMEZONE -------------------------------------------------------------------------------------------


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
    keys = {year: _year_keys(tz, year) for year in range(first_year, last_year + 1)}
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
        f"DTSTART:{_local_text(wall)}",
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
def _year_keys(tz: ZoneInfo, year: int) -> list[tuple[datetime, tuple]]:
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


# --- values and lines ------------------------------------------------------------------------------------


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks escaped; CR LF and CR read
    as line breaks; other control characters dropped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character."""
    data = line.encode()
    if len(data) <= 75:
        return line
    pieces = []
    start, limit = 0, 75
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: step back to the character's first byte
            cut -= 1
        pieces.append(data[start:cut])
        start, limit = cut, 74  # continuation lines begin with a space
    pieces.append(data[start:])
    return "\r\n ".join(piece.decode() for piece in pieces)


def _category(value: str) -> str:
    """One CATEGORIES value. A comma in it becomes a space: escaped as RFC 5545 says (`\\,`), it is still read
    as a separator by both `ical` and icalendar."""
    return escape_text(re.sub(r"\s*,\s*", " ", value))


def _escape_param_free(value: str) -> str:
    """For the UID and PRODID domain: drop anything that could end the value or the line."""
    return re.sub(r"[\x00-\x20\x7f;:,\"\\]", "", value)


def _duration(value: timedelta) -> str:
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


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_text(value: datetime) -> str:
    return f"{_utc(value):%Y%m%dT%H%M%SZ}"


def _local_text(value: datetime) -> str:
    return f"{value:%Y%m%dT%H%M%S}"
