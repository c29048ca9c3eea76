"""iCalendar feeds (RFC 5545 + RFC 7986): the bytes served at /calendar/*.ics.

    body = render_feed(meetings, info=FeedInfo(name="ISCG — all subjects", description="…"), subjects=by_id)
    etag, modified = feed_etag(body), last_modified(meetings)

`render_feed` is a pure function of its arguments: no clock is read (DTSTAMP and LAST-MODIFIED come from the
meetings' `updated_at`), so unchanged data renders to identical bytes and a strong ETag. It is the join of
pieces: each meeting's VEVENTs (`meeting_block`) inside the calendar's head and VTIMEZONEs (`feed_bytes`), so
that `iscg_bot.calendar.feed_blocks` can keep a meeting's piece until that meeting changes.

Choices:
- **Hand-written serializer.** A feed is a few fixed property shapes; writing them directly keeps every byte
  under our control (parameter quoting, VALUE=DURATION, FEATURE lists, CRLF, folding at 75 octets without
  splitting a UTF-8 character) and renders 10,000 meetings in some 0.2 s (bench/feed_render.py). Where
  that time goes: each meeting's own values (times, text) and its content lines; what meetings share is
  made once (VTIMEZONEs, a link's LOCATION/URL/CONFERENCE, a subject's CATEGORIES, folded long lines).
  The independent parsers in the tests (`ical`, `icalendar` + `recurring-ical-events`) check the result.
- **TEXT** is escaped per RFC 5545 §3.3.11. CR LF and lone CR become a line break (`\\n`), the only one
  TEXT can carry; other control characters (not allowed in TEXT) are dropped. These value and line helpers
  (escaping, folding, date-times) are in `iscg_bot.calendar.ical_text`.
- **Cancelled occurrences** of a series are EXDATEs (every parser drops them); their reasons are listed in the
  master's DESCRIPTION. Moved occurrences are VEVENTs with the master's UID and a RECURRENCE-ID. Overrides
  that match no occurrence of the series are left out, as `recurrence.occurrences` ignores them (matched by
  arithmetic, see `iscg_bot.calendar.feed_series`).
- **VTIMEZONE** components are derived from zoneinfo, see `iscg_bot.calendar.vtimezone`.
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
from datetime import MAXYEAR, MINYEAR, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from iscg_bot.calendar.feed_series import series_occurrence
from iscg_bot.calendar.ical_text import (
    CRLF,
    category_text,
    duration_text,
    escape_text,
    folded_lines,
    local_text,
    param_free,
    param_value,
    utc,
    utc_text,
)
from iscg_bot.calendar.vtimezone import vtimezone, year_transitions
from iscg_bot.core.language import _, current, lazy, speaking
from iscg_bot.core.timeshow import day_label
from iscg_bot.domain.meetings import meeting_label
from iscg_bot.domain.recurrence import OverrideLike, OverrideSpec, is_repeated, occurrence_on, wall_instant

if TYPE_CHECKING:
    from iscg_bot.storage.models import Meeting
    from iscg_bot.storage.repositories.feed_rows import MeetingRow

    FeedMeeting = Meeting | MeetingRow  # a stored meeting, or the plain row a feed reads (same attributes)

__all__ = [
    "FeedInfo",
    "SubjectNames",
    "calendar_bytes",
    "cancelled_occurrence_vevent",
    "feed_bytes",
    "feed_etag",
    "last_modified",
    "meeting_block",
    "meeting_vevents",
    "meeting_years",
    "prodid",
    "render_feed",
    "vtimezones",
]

JOIN_LABEL = lazy("Join")  # the CONFERENCE's label: what a calendar shows on its button
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20\x7f\"<>\\^`{|}]+")
_DAY = timedelta(days=1)
_YEARS_AFTER = 50  # a VTIMEZONE never looks further ahead than this past the first event; the last rule holds


@dataclass(frozen=True)
class FeedInfo:
    """What the calendar says about itself: its name, a description, how often to refresh, its own URL."""

    name: str
    description: str = ""
    refresh: timedelta = timedelta(hours=1)
    url: str | None = None


class SubjectNames(Protocol):
    """What a feed shows of a subject, in CATEGORIES (a stored `Subject` is one)."""

    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> str: ...


# --- the feed --------------------------------------------------------------------------------------------


def render_feed(
    meetings: Sequence[FeedMeeting],
    *,
    info: FeedInfo,
    subjects: Mapping[int, SubjectNames],
    prodid_domain: str = "iscg-bot",
    minutes_url: Callable[[FeedMeeting], str | None] = lambda m: None,
) -> bytes:
    """The feed as UTF-8 bytes: one VTIMEZONE per zone used, one VEVENT per meeting (plus one per moved
    occurrence), in meeting id order. `subjects` maps subject_id to an object with `slug` and `title`."""
    ordered = sorted(meetings, key=lambda m: m.id)
    return feed_bytes(
        info,
        prodid_domain,
        spans=[(m.timezone, *meeting_years(m)) for m in ordered],
        blocks=[
            meeting_block(m, subjects=subjects, prodid_domain=prodid_domain, minutes_url=minutes_url)
            for m in ordered
        ],
    )


def feed_bytes(
    info: FeedInfo, prodid_domain: str, *, spans: Iterable[tuple[str, int, int]], blocks: Iterable[bytes]
) -> bytes:
    """A whole feed from its pieces: the calendar's own properties, the VTIMEZONEs covering `spans` (zone,
    first and last year of one meeting, see `meeting_years`) and the meetings' `meeting_block`s in order."""
    refresh = duration_text(info.refresh)
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
    zones = _vtimezone_bytes(_zone_spans(spans))
    return b"".join([calendar_bytes(lines), *zones, *blocks, b"END:VCALENDAR" + CRLF.encode()])


def meeting_block(
    meeting: FeedMeeting,
    *,
    subjects: Mapping[int, SubjectNames],
    prodid_domain: str = "iscg-bot",
    minutes_url: Callable[[FeedMeeting], str | None] = lambda m: None,
) -> bytes:
    """The meeting's VEVENTs as they stand in a feed (folded, CRLF, UTF-8): a piece for `feed_bytes`."""
    return calendar_bytes(_vevents(meeting, subjects, prodid_domain, minutes_url))


# --- pieces shared with iMIP mail (iscg_bot.calendar.mail) -------------------------------------------------


def prodid(domain: str = "iscg-bot") -> str:
    """The PRODID content line."""
    return f"PRODID:-//{param_free(domain)}//ISCG bot//EN"


def calendar_bytes(lines: Iterable[str]) -> bytes:
    """Unfolded content lines as the bytes of a calendar: each folded, ended by CRLF, UTF-8."""
    return folded_lines(lines)


def vtimezones(meetings: Iterable[FeedMeeting]) -> list[str]:
    """One VTIMEZONE per zone the meetings use (by name), covering the years their occurrences fall in."""
    lines: list[str] = []
    for zone, lo, hi in _zone_spans((m.timezone, *meeting_years(m)) for m in meetings):
        lines += vtimezone(zone, lo, hi)
    return lines


def _zone_spans(spans: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Each zone (by name) with the years its VTIMEZONE covers: a year either side of its meetings' years,
    at most _YEARS_AFTER past the first."""
    years: dict[str, tuple[int, int]] = {}
    for zone, first, last in spans:  # a span per meeting: most widen nothing
        known = years.get(zone)
        if known is None:
            years[zone] = (first, last)
        elif first < known[0] or last > known[1]:
            years[zone] = (min(known[0], first), max(known[1], last))
    return [(zone, lo - 1, min(hi, lo + _YEARS_AFTER) + 1) for zone, (lo, hi) in sorted(years.items())]


def _vtimezone_bytes(spans: list[tuple[str, int, int]]) -> list[bytes]:
    return [_one_vtimezone_bytes(*span) for span in spans]


@lru_cache(maxsize=256)
def _one_vtimezone_bytes(zone: str, first_year: int, last_year: int) -> bytes:
    return calendar_bytes(vtimezone(zone, first_year, last_year))


def meeting_vevents(
    meeting: FeedMeeting,
    *,
    subjects: Mapping[int, SubjectNames],
    prodid_domain: str = "iscg-bot",
    minutes_url: Callable[[FeedMeeting], str | None] = lambda m: None,
) -> list[str]:
    """The meeting's VEVENTs exactly as the feed has them (the master, then one per moved occurrence), as
    unfolded content lines."""
    return _vevents(meeting, subjects, prodid_domain, minutes_url)


def cancelled_occurrence_vevent(
    meeting: FeedMeeting,
    occurrence_local: datetime,
    *,
    subjects: Mapping[int, SubjectNames],
    prodid_domain: str = "iscg-bot",
) -> list[str]:
    """One cancelled occurrence of a series (its original wall-clock start `occurrence_local`) as a VEVENT
    with the series' UID and SEQUENCE and a RECURRENCE-ID, for an iTIP CANCEL of that occurrence alone."""
    zone = meeting.timezone
    lines = _vevents(meeting, subjects, prodid_domain, lambda m: None)
    master = lines[: lines.index("END:VEVENT")]
    keep = ("DTSTAMP:", "UID:", "SEQUENCE:", "CREATED:", "LAST-MODIFIED:", "SUMMARY:", "CATEGORIES:")
    event = ["BEGIN:VEVENT", *(line for line in master if line.startswith(keep))]
    event.append(f"RECURRENCE-ID;TZID={zone}:{local_text(occurrence_local)}")
    duration = timedelta(minutes=meeting.duration_minutes)
    in_series_pass = occurrence_local.replace(fold=meeting.start_local.fold)  # stored without its pass
    event += _span(in_series_pass, duration, zone, ZoneInfo(zone), exact=True)
    event += ["STATUS:CANCELLED", "END:VEVENT"]
    return event


def feed_etag(body: bytes) -> str:
    """A strong ETag for the feed's bytes: `"<sha256 hex>"`."""
    return f'"{hashlib.sha256(body).hexdigest()}"'


def last_modified(meetings: Iterable[FeedMeeting]) -> datetime | None:
    """The latest change of any meeting or override (aware UTC), None for no meetings: for Last-Modified."""
    stamps = [m.updated_at for m in meetings]
    stamps += [o.updated_at for m in meetings for o in m.overrides]
    try:
        latest = max(stamps, default=None)  # one database's stamps: all naive (UTC) or all aware
    except TypeError:  # naive and aware mixed
        latest = max(stamps, key=utc)
    return None if latest is None else utc(latest)


def _vevents(
    meeting: FeedMeeting,
    subjects: Mapping[int, SubjectNames],
    domain: str,
    minutes_url: Callable[[FeedMeeting], str | None],
) -> list[str]:
    """The meeting's master VEVENT, then one per moved occurrence, as unfolded content lines."""
    zone = meeting.timezone
    tz = ZoneInfo(zone)
    duration = timedelta(minutes=meeting.duration_minutes)
    stamp = utc_text(meeting.updated_at)
    common = [
        f"DTSTAMP:{stamp}",
        f"UID:meeting-{meeting.id}@{param_free(domain)}",
        f"SEQUENCE:{int(meeting.sequence)}",
        f"CREATED:{utc_text(meeting.created_at)}",
    ]
    rrule = meeting.rrule
    cancelled, moved = _overrides(meeting, duration)
    texts = _texts(current())
    about = _about(meeting, subjects, _description(meeting, minutes_url(meeting), cancelled, texts), texts)

    master = ["BEGIN:VEVENT", *common, f"LAST-MODIFIED:{stamp}"]
    master += _span(meeting.start_local, duration, zone, tz, exact=not rrule)
    if rrule:
        master.append(f"RRULE:{rrule.removeprefix('RRULE:')}")
        if cancelled:
            master.append(
                f"EXDATE;TZID={zone}:" + ",".join(local_text(o.occurrence_local) for o in cancelled)
            )
    master += about
    master.append("END:VEVENT")

    stamp_at = meeting.updated_at
    for override, start_local in moved:
        span = timedelta(minutes=override.duration_minutes) if override.duration_minutes else duration
        changed = max(getattr(override, "updated_at", stamp_at), stamp_at, key=utc)
        master += [
            "BEGIN:VEVENT",
            *common,
            f"LAST-MODIFIED:{utc_text(changed)}",
            f"RECURRENCE-ID;TZID={zone}:{local_text(override.occurrence_local)}",
            *_span(start_local, span, zone, tz, exact=True),
            *about,
            "END:VEVENT",
        ]
    return master


def _about(
    meeting: FeedMeeting, subjects: Mapping[int, SubjectNames], description: str, texts: _Texts
) -> list[str]:
    """What each of the meeting's VEVENTs says after its times: SUMMARY, STATUS, CATEGORIES, DESCRIPTION and
    where to join (LOCATION, and URL and CONFERENCE when the link is a URI)."""
    lines = [
        f"SUMMARY:{escape_text(f'{meeting_label(meeting.id)} · {meeting.title}')}",
        "STATUS:CANCELLED" if meeting.status == "cancelled" else "STATUS:CONFIRMED",
    ]
    subject_id = meeting.subject_id
    if subject_id is None:
        lines.append("CATEGORIES:ISCG")
    elif (subject := subjects.get(subject_id)) is not None:
        lines.append(_categories(subject.slug, subject.title))
    # else a subject the caller did not pass: no category rather than a wrong one
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    if meeting.link:
        lines += _where(meeting.link, texts.join_label)
    return lines


@lru_cache(maxsize=1024)  # a feed has a few subjects, and tens of thousands of meetings
def _categories(slug: str, title: str) -> str:
    return f"CATEGORIES:{category_text(slug)},{category_text(title)}"


@lru_cache(maxsize=1024)  # meetings of a subject mostly share their link
def _where(link: str, label: str) -> tuple[str, ...]:
    """Where to join: LOCATION, and URL and CONFERENCE (its LABEL in the reader's language) when the link is
    a URI."""
    if _URI.fullmatch(link):
        return (
            f"LOCATION:{escape_text(link)}",
            f"URL:{link}",
            f"CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL={param_value(label)}:{link}",
        )
    return (f"LOCATION:{escape_text(link)}",)


def _overrides(
    meeting: FeedMeeting, duration: timedelta
) -> tuple[list[OverrideLike], list[tuple[OverrideLike, datetime]]]:
    """(cancelled, moved) overrides of a series that match one of its occurrences, by occurrence; each
    moved one with the wall start (its pass in `fold`) to write."""
    if not meeting.rrule:
        return [], []
    latest = {
        o.occurrence_local: o for o in meeting.overrides
    }  # of several for one occurrence, the last wins
    cancelled: list[OverrideLike] = []
    moved: list[tuple[OverrideLike, datetime]] = []  # stored overrides, and pinned ones (OverrideSpec)
    for wall in sorted(latest):
        override = latest[wall]
        original = series_occurrence(
            zone=meeting.timezone, start_local=meeting.start_local, rrule=meeting.rrule, wall=wall
        )  # with the series' pass, which the stored key lacks
        if original is None:
            continue
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


def _pinned_walls(meeting: FeedMeeting, duration: timedelta) -> list[datetime]:
    """The occurrences of a series whose wall time does not exist (in a spring-forward gap) or happens twice
    (in the repeated hour of a fall-back), with their pass in `fold`: each gets an override written at its
    real time, which makes every reader agree.

    A gap: RFC 5545 §3.3.5 reads such a time with the offset before the gap (02:30 → 03:30), as zoneinfo and
    the bot do; but `ical` and icalendar, when they have only our VTIMEZONE to go by (an unknown TZID), read
    it with the offset after (02:30 → 01:30). A repeated hour: RFC 5545 readers take the first pass, ical.js
    the second, and the series may be in either (see iscg_bot.domain.recurrence): the override is in UTC."""
    first, last = meeting_years(meeting)
    walls = []
    for day, lo, hi in _changed_walls(meeting.timezone, meeting.start_local.time(), first, last):
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


@lru_cache(maxsize=4096)  # meetings share zones, times of day and years: most feeds ask a few dozen of these
def _changed_walls(
    zone: str, time_of_day: time, first: int, last: int
) -> tuple[tuple[date, datetime, datetime], ...]:
    """The days from `first` to `last` (at most _YEARS_AFTER years) on which a series starting at
    `time_of_day` may start in a gap or a repeated hour, each with the wall times [lo, hi) concerned."""
    tz = ZoneInfo(zone)
    found = []
    for year in range(first, min(last, first + _YEARS_AFTER) + 1):
        for onset, rule in year_transitions(tz, year):
            before, after = rule[1], rule[2]
            if after == before:
                continue
            # The wall times skipped (clocks forward) or gone through twice (clocks back).
            lo = onset.replace(tzinfo=None) + min(before, after)
            hi = onset.replace(tzinfo=None) + max(before, after)
            if lo.date() == hi.date() and not lo.time() <= time_of_day < hi.time():
                continue
            found += [(day, lo, hi) for day in sorted({lo.date(), hi.date()})]
    return tuple(found)


class _Texts(NamedTuple):
    """The feed's own words in one language, as templates: read from the catalog once per language, not
    once per meeting (a feed writes tens of thousands of descriptions)."""

    cancelled_because: str
    cancelled: str
    agenda: str
    cancelled_occurrences: str
    day_because: str
    join: str
    minutes: str
    join_label: str


@lru_cache(maxsize=16)  # a few languages; the catalogs do not change while the bot runs
def _texts(language: str) -> _Texts:
    with speaking(language):
        return _Texts(
            cancelled_because=_("Cancelled: {reason}"),
            cancelled=_("Cancelled."),
            agenda=_("Agenda:"),
            cancelled_occurrences=_("Cancelled occurrences:"),
            day_because=_("{day}: {reason}"),
            join=_("Join: {link}"),
            minutes=_("Minutes: {url}"),
            join_label=_(JOIN_LABEL),
        )


def _description(
    meeting: FeedMeeting, minutes: str | None, cancelled: list[OverrideLike], texts: _Texts
) -> str:
    """The DESCRIPTION in the language being written (`core.language.speaking`): each heading and line its
    own message, the user's text (reasons, agenda items) and the links as placeholders."""
    parts = []
    if meeting.status == "cancelled":
        reason = meeting.cancel_reason
        parts.append(texts.cancelled_because.format(reason=reason) if reason else texts.cancelled)
    items = [item.text for item in meeting.agenda]
    if items:
        parts.append(texts.agenda + "\n" + "\n".join([f"{n}. {text}" for n, text in enumerate(items, 1)]))
    if cancelled:
        days = [
            texts.day_because.format(day=day_label(o.occurrence_local.date()), reason=o.reason)
            if o.reason
            else day_label(o.occurrence_local.date())
            for o in cancelled
        ]
        parts.append(texts.cancelled_occurrences + "\n" + "\n".join(f"- {day}" for day in days))
    if meeting.link:
        parts.append(texts.join.format(link=meeting.link))
    if minutes:
        parts.append(texts.minutes.format(url=minutes))
    return "\n\n".join(parts)


def _span(start_local: datetime, duration: timedelta, zone: str, tz: ZoneInfo, *, exact: bool) -> list[str]:
    """DTSTART and DTEND in the zone. `exact` (one-offs and overrides, not a series' DTSTART, whose wall time
    the rule repeats): a start in a DST gap is written at the wall time it really has.

    A start or end in the repeated hour of a fall-back night is read as the first pass by some readers and
    as the second by others (see the module's doc): then an exact event is written in UTC, and a series
    gets DURATION (added to the start by every reader, and right on every other day of the series; its
    occurrences in a repeated hour are pinned in UTC by overrides). So does a series starting in a gap."""
    end_local = start_local + duration
    if duration <= _DAY and not _near_change(start_local, tz) and not _near_change(end_local, tz):
        # Far from any change of offset (most meetings): the wall times are as given, and unambiguous.
        return [
            f"DTSTART;TZID={zone}:{local_text(start_local)}",
            f"DTEND;TZID={zone}:{local_text(end_local)}",
        ]
    start = wall_instant(start_local, zone)  # `fold` chooses the pass in a repeated hour
    if exact:
        start_local = start.astimezone(tz).replace(tzinfo=None)
    end = start + duration
    end_wall = end.astimezone(tz).replace(tzinfo=None)
    if exact and (is_repeated(start_local, tz) or is_repeated(end_wall, tz)):
        return [f"DTSTART:{utc_text(start)}", f"DTEND:{utc_text(end)}"]
    if exact or not (_ambiguous(start_local, tz) or _ambiguous(end_wall, tz)):
        return [
            f"DTSTART;TZID={zone}:{local_text(start_local)}",
            f"DTEND;TZID={zone}:{local_text(end_wall)}",
        ]
    return [
        f"DTSTART;TZID={zone}:{local_text(start_local)}",
        f"DURATION:PT{int(duration.total_seconds()) // 60}M",
    ]


def _near_change(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether the zone's offset changes within two days of the wall time's date (most dates: no)."""
    return wall.toordinal() in _change_days(tz, wall.year)


@lru_cache(maxsize=1024)
def _change_days(tz: ZoneInfo, year: int) -> frozenset[int]:
    """The dates (ordinals) of `year` within two days of a change of the zone's offset (an onset's UTC date
    is at most a day from its local date)."""
    years = [y for y in (year - 1, year, year + 1) if MINYEAR <= y < MAXYEAR]
    onsets = [onset for y in years for onset, _rule in year_transitions(tz, y)]
    return frozenset(onset.toordinal() + k for onset in onsets for k in range(-2, 3))


def _ambiguous(wall: datetime, tz: ZoneInfo) -> bool:
    """A wall time that does not exist (a gap) or happens twice: readers may take it either way."""
    return wall.replace(tzinfo=tz, fold=0).utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset()


def meeting_years(meeting: FeedMeeting) -> tuple[int, int]:
    """The local years the meeting's occurrences (moved ones included) can fall in."""
    first = last = meeting.start_local.year
    if meeting.rrule:
        end = meeting.series_end_utc
        last = utc(end).year + 1 if end is not None else first + 10
    for o in meeting.overrides:
        for wall in (o.occurrence_local, o.start_local):
            if wall is not None:
                first, last = min(first, wall.year), max(last, wall.year)
    return first, last
