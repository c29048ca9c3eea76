"""Imported calendars: ICS feeds of other bodies (the advisory groups' meetings) read for conflict checks.

    calendars = ImportedCalendars(settings.calendars.imported, clock=clock, every=timedelta(minutes=30))
    await calendars.refresh()                      # fetch every feed once; never raises
    calendars.events_between(start, end)           # occurrences overlapping [start, end), aware UTC
    await calendars.start()                        # refresh now and every `every`, until `calendars.stop()`

Each feed is fetched with `If-None-Match` / `If-Modified-Since`; a 304 keeps the last parse. A feed that fails
(unreachable, an error status, a body too big or not iCalendar) keeps its last good events and is logged.
Occurrences are expanded from now − 1 day to now + 400 days at every refresh, so they move with the clock.

How events are read (the common cases calendar programs write):
- A TZID is resolved by icalendar: the feed's VTIMEZONE if it has one, else the IANA zone of that name.
  A series keeps its wall-clock time in that zone across daylight-saving changes.
- Floating times (no zone) are read as UTC; all-day events cover whole days in UTC.
- RRULE (dateutil), RDATE and EXDATE; a VEVENT with RECURRENCE-ID replaces that occurrence of its series
  (or cancels it with STATUS:CANCELLED); a cancelled series is left out.
- Sub-hourly rules (SECONDLY, MINUTELY) are ignored: no meeting calendar needs them and they are the cheap way
  to make an expansion run forever. Sizes are capped: bytes, events, occurrences, rule steps and seconds.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import logging
import re
import ssl
import time as timer
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp
from dateutil import rrule as du

from iscg_bot.core.clock import Clock
from iscg_bot.core.workers import LoopWorker

if TYPE_CHECKING:
    import icalendar

log = logging.getLogger(__name__)

MAX_BYTES = 5_000_000  # a feed larger than this is refused (the ISCG-sized ones are a few hundred kB)
MAX_EVENTS = 5_000  # VEVENT components read per feed
MAX_OCCURRENCES = 20_000  # occurrences kept per feed in the window
MAX_STEPS = 200_000  # rule steps (occurrences before and in the window) per feed and expansion
MAX_SECONDS = 10.0  # of expansion per feed; what is left after that is cut (and logged)
MAX_SUMMARY = 200
WINDOW_BEFORE = timedelta(days=1)
WINDOW_AFTER = timedelta(days=400)
HTTP_TIMEOUT = timedelta(seconds=30)
REFRESH_EVERY = timedelta(minutes=30)  # the default of calendars.refresh_minutes
_TOO_FREQUENT = {"SECONDLY", "MINUTELY"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class FeedError(Exception):
    """A feed that could not be read; the message says why in one sentence."""


@dataclass(frozen=True)
class ImportedEvent:
    """One occurrence of an event of an imported calendar, in UTC."""

    source: str  # the URL as configured
    uid: str
    summary: str
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """How the event is named in chat: `TSAG meeting (imported calendar)`."""
        return f"{self.summary} (imported calendar)"

    # Duck-typed like a meeting where conflicts are listed next to meetings.
    @property
    def title(self) -> str:
        return self.summary

    @property
    def timezone(self) -> str:
        return "UTC"


# ---- reading a feed --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    """A VEVENT as read: its first start, length, rules and the occurrences replaced by overrides."""

    uid: str
    summary: str
    start: datetime  # aware (floating and all-day already placed in UTC)
    length: timedelta
    all_day: bool
    rules: tuple[str, ...] = ()
    rdates: tuple[datetime, ...] = ()
    exdates: frozenset[datetime] = frozenset()  # UTC instants left out


@dataclass(frozen=True)
class _Override:
    uid: str
    recurrence_id: datetime  # UTC instant of the occurrence it replaces
    replacement: _Series | None  # None: that occurrence is cancelled


@dataclass(frozen=True)
class ParsedFeed:
    """What a feed holds, before expansion into a window."""

    series: tuple[_Series, ...] = ()
    overrides: tuple[_Override, ...] = ()


def parse_feed(body: bytes) -> ParsedFeed:
    """Read an ICS body; raises FeedError when it is not iCalendar. Broken events are skipped, not fatal."""
    import icalendar  # here, not at the top: ~3 MB and 0.2 s at every start for a feature few groups use

    try:
        calendar = icalendar.Calendar.from_ical(body)
    except Exception as error:  # icalendar raises ValueError, KeyError, … on malformed input
        raise FeedError(f"not iCalendar ({type(error).__name__})") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise FeedError("not a VCALENDAR")
    series: list[_Series] = []
    overrides: list[_Override] = []
    for component in itertools.islice(calendar.walk("VEVENT"), MAX_EVENTS):
        if not isinstance(component, icalendar.Event):  # never: walk("VEVENT") finds Events only
            continue
        try:
            read = _read_event(component)
        except Exception as error:  # one bad event must not cost the others
            log.debug("skipping an unreadable event: %s", error)
            continue
        if isinstance(read, _Override):
            overrides.append(read)
        elif read is not None:
            series.append(read)
    return ParsedFeed(tuple(series), tuple(overrides))


def _read_event(event: icalendar.Event) -> _Series | _Override | None:
    uid = str(event.get("UID", "")).strip()[:500]
    cancelled = str(event.get("STATUS", "")).upper() == "CANCELLED"
    raw_start = event.start
    all_day = not isinstance(raw_start, datetime)
    zone = _zone_of(raw_start)
    start = _instant(raw_start, zone)
    end = _instant(event.end, zone) if event.get("DTEND") or event.get("DURATION") or all_day else start
    length = max(end.astimezone(UTC) - start.astimezone(UTC), timedelta(0))
    if all_day:
        length = max(length, timedelta(days=1))
    recurrence_id = event.get("RECURRENCE-ID")
    summary = _CONTROL.sub(" ", str(event.get("SUMMARY", "") or "")).strip()[:MAX_SUMMARY] or "Busy"
    if recurrence_id is not None:
        original = _instant(recurrence_id.dt, zone).astimezone(UTC)
        replacement = None if cancelled else _Series(uid, summary, start, length, all_day)
        return _Override(uid, original, replacement)
    if cancelled:
        return None
    rules = tuple(_rule_texts(event.get("RRULE")))
    return _Series(
        uid=uid,
        summary=summary,
        start=start,
        length=length,
        all_day=all_day,
        rules=rules,
        rdates=tuple(_dates(event.get("RDATE"), zone)),
        exdates=frozenset(d.astimezone(UTC) for d in _dates(event.get("EXDATE"), zone)),
    )


def _zone_of(value: date | datetime) -> tzinfo:
    """The zone a value's series lives in: its own TZID, else UTC (floating times and all-day dates)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.tzinfo
    return UTC


def _instant(value: date | datetime, zone: tzinfo) -> datetime:
    """An aware datetime: a date is its midnight, a floating time is read in `zone`."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=zone)
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _rule_texts(value: icalendar.vRecur | list[icalendar.vRecur] | None) -> Iterator[str]:
    for rule in value if isinstance(value, list) else [value] if value is not None else []:
        yield rule.to_ical().decode("ascii", "replace")


def _dates(value: icalendar.vDDDLists | list[icalendar.vDDDLists] | None, zone: tzinfo) -> Iterator[datetime]:
    for group in value if isinstance(value, list) else [value] if value is not None else []:
        for item in getattr(group, "dts", ()):
            moment = item.dt
            if isinstance(moment, tuple):  # a PERIOD: its start
                moment = moment[0]
            if isinstance(moment, date):
                yield _instant(moment, zone)


# ---- expanding -------------------------------------------------------------------------------------------


def expand_feed(feed: ParsedFeed, source: str, start: datetime, end: datetime) -> list[ImportedEvent]:
    """The feed's occurrences overlapping [start, end), overrides applied, by start (capped)."""
    replaced = {(o.uid, o.recurrence_id): o for o in feed.overrides}
    found: list[ImportedEvent] = []
    budget = [MAX_STEPS]
    deadline = timer.monotonic() + MAX_SECONDS
    for series in feed.series:
        if timer.monotonic() > deadline or budget[0] <= 0:
            log.warning("imported calendar %s: too costly to expand, cut", _safe(source))
            break
        for first in _starts(series, start, end, budget):
            key = (series.uid, first.astimezone(UTC))
            if key in replaced:
                continue  # the override stands in for it (or cancels it)
            _add(found, source, series, first, start, end)
            if len(found) >= MAX_OCCURRENCES:
                log.warning(
                    "imported calendar %s: more than %d occurrences, cut", _safe(source), MAX_OCCURRENCES
                )
                return sorted(found, key=_order)
    for override in feed.overrides:  # a moved occurrence stands even when its series is gone
        if override.replacement is not None:
            _add(found, source, override.replacement, override.replacement.start, start, end)
    return sorted(found, key=_order)[:MAX_OCCURRENCES]


def _order(event: ImportedEvent) -> tuple[datetime, str, str]:
    return (event.start, event.uid, event.source)


def _add(
    found: list[ImportedEvent], source: str, series: _Series, first: datetime, start: datetime, end: datetime
) -> None:
    begin = first.astimezone(UTC)
    finish = begin + series.length
    if begin < end and (start < finish or (series.length == timedelta(0) and start <= begin)):
        found.append(ImportedEvent(source, series.uid, series.summary, begin, finish))


def _starts(series: _Series, start: datetime, end: datetime, budget: list[int]) -> Iterator[datetime]:
    """The series' occurrence starts (aware, in its zone) that may overlap [start, end), EXDATEs left out.

    `budget` holds the rule steps the feed may still take; a feed that spends it all is cut (and logged).
    """
    earliest = start - series.length
    starts: set[datetime] = set()
    if earliest <= series.start < end:  # DTSTART is always the first occurrence (RFC 5545 §3.8.5.3)
        starts.add(series.start)
    for text in series.rules:
        rule = _rule(text, series.start, end)
        if rule is None:
            continue
        for moment in rule:
            budget[0] -= 1
            if moment >= end:
                break
            if moment >= earliest:
                starts.add(moment)
            if budget[0] <= 0:
                break
    starts.update(d for d in series.rdates if earliest <= d < end)
    for moment in sorted(starts, key=lambda m: m.astimezone(UTC)):
        if moment.astimezone(UTC) not in series.exdates:
            yield moment


def _rule(text: str, first: datetime, horizon: datetime) -> du.rrule | None:
    """A dateutil rule from an RRULE value, its UNTIL made comparable to the aware first start.

    Without COUNT the rule also ends at `horizon`. (A rule that never matches, BYMONTH=2;BYMONTHDAY=31, is
    still searched by dateutil up to the year 9999: `expand_feed`'s time limit is what bounds those.)
    """
    parts = dict(p.split("=", 1) for p in text.upper().split(";") if "=" in p)
    if parts.get("FREQ") in _TOO_FREQUENT:
        return None
    until_text = parts.pop("UNTIL", None)
    try:
        rule = du.rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=first)
        assert isinstance(rule, du.rrule)  # one RRULE value, without RDATE or EXDATE: never a set
        if "COUNT" not in parts:
            until = horizon if until_text is None else min(_until(until_text, first.tzinfo or UTC), horizon)
            rule = rule.replace(until=until)
    except (ValueError, TypeError, OverflowError) as error:
        log.debug("skipping an unreadable RRULE %r: %s", text[:100], error)
        return None
    return rule


def _until(text: str, zone: tzinfo) -> datetime:
    """UNTIL as an aware instant: a UTC time as is, a floating one in the series' zone, a date inclusive."""
    if re.fullmatch(r"[0-9]{8}", text):
        day = datetime.strptime(text, "%Y%m%d").date()
        return datetime.combine(day, time(23, 59, 59), tzinfo=zone)
    moment = datetime.strptime(text.rstrip("Z"), "%Y%m%dT%H%M%S")
    return moment.replace(tzinfo=UTC if text.endswith("Z") else zone)


# ---- fetching --------------------------------------------------------------------------------------------


def fetch_url(url: str) -> str:
    """The URL to fetch: `webcal://` is https."""
    return "https://" + url[len("webcal://") :] if url.lower().startswith("webcal://") else url


def _safe(url: str) -> str:
    """A URL for the logs: no query or credentials (a calendar URL may carry a secret token)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


@dataclass(frozen=True)
class _Fetched:
    body: bytes
    etag: str | None
    last_modified: str | None


@dataclass
class _Feed:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    parsed: ParsedFeed | None = None
    events: list[ImportedEvent] = field(default_factory=list)  # by start
    starts: list[datetime] = field(default_factory=list)  # the events' starts, for bisecting
    longest: timedelta = timedelta(0)
    failures: int = 0

    def keep(self, events: list[ImportedEvent]) -> None:
        self.events = events
        self.starts = [e.start for e in events]
        self.longest = max((e.end - e.start for e in events), default=timedelta(0))

    def between(self, start: datetime, end: datetime) -> Iterator[ImportedEvent]:
        first = bisect.bisect_left(self.starts, start - self.longest)
        last = bisect.bisect_left(self.starts, end)
        return (e for e in self.events[first:last] if start < e.end)


class ImportedCalendars(LoopWorker):
    """The configured ICS feeds, refreshed on demand or periodically, read by conflict checks. As a worker,
    refreshes at start and then `every`; `wake()` refreshes now."""

    name = "imported-calendars"

    def __init__(
        self,
        urls: Sequence[str],
        *,
        clock: Clock,
        every: timedelta = REFRESH_EVERY,
        stopping: asyncio.Event | None = None,
        http_timeout: timedelta = HTTP_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(clock, stopping)
        self.every = every
        self.http_timeout = http_timeout
        self.ssl_context = ssl_context  # None: the system's trust store
        self._feeds = [_Feed(url) for url in dict.fromkeys(urls)]
        self._refreshing = asyncio.Lock()  # the loop and a manual refresh never fetch side by side

    @property
    def urls(self) -> list[str]:
        return [feed.url for feed in self._feeds]

    async def refresh(self) -> None:
        """Fetch every feed (conditionally) and expand it around now. Never raises (but on cancellation)."""
        if not self._feeds:
            return
        timeout = aiohttp.ClientTimeout(total=self.http_timeout.total_seconds())
        try:
            async with self._refreshing, aiohttp.ClientSession(timeout=timeout) as session:
                await asyncio.gather(*(self._refresh_one(session, feed) for feed in self._feeds))
        except asyncio.CancelledError:
            raise
        except Exception:  # a session that cannot even start; the feeds keep what they had
            log.exception("refreshing the imported calendars failed")

    async def _refresh_one(self, session: aiohttp.ClientSession, feed: _Feed) -> None:
        now = self.clock.now()
        try:
            fetched = await self._fetch(session, feed)
            parsed = feed.parsed
            if fetched is not None:
                parsed = await asyncio.to_thread(parse_feed, fetched.body)
            if parsed is None:
                return
            window = (now - WINDOW_BEFORE, now + WINDOW_AFTER)
            events = await asyncio.to_thread(expand_feed, parsed, feed.url, *window)
            # All or nothing: a validator kept for a body we could not read would earn a 304 and stick.
            if fetched is not None:
                feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
            feed.parsed = parsed
            feed.keep(events)
            feed.failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as error:
            feed.failures += 1
            reason = str(error) if isinstance(error, FeedError) else f"{type(error).__name__}: {error}"
            log.warning(
                "imported calendar %s not refreshed (%s); keeping its %d events",
                _safe(feed.url),
                reason[:200],
                len(feed.events),
            )

    async def _fetch(self, session: aiohttp.ClientSession, feed: _Feed) -> _Fetched | None:
        """The new body and its validators, or None when the server says it has not changed (304)."""
        headers = {"Accept": "text/calendar, */*;q=0.5"}
        if feed.parsed is not None:  # only a feed we hold may be answered with 304
            if feed.etag:
                headers["If-None-Match"] = feed.etag
            if feed.last_modified:
                headers["If-Modified-Since"] = feed.last_modified
        verify = self.ssl_context if self.ssl_context is not None else True
        async with session.get(fetch_url(feed.url), headers=headers, ssl=verify) as response:
            if response.status == 304 and feed.parsed is not None:
                return None
            if response.status != 200:
                raise FeedError(f"HTTP {response.status}")
            if (response.content_length or 0) > MAX_BYTES:
                raise FeedError(f"larger than {MAX_BYTES:,} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(65536):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FeedError(f"larger than {MAX_BYTES:,} bytes")
                chunks.append(chunk)
            etag = response.headers.get("ETag")
            last_modified = response.headers.get("Last-Modified")
        body = b"".join(chunks)
        if not body.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper().startswith(b"BEGIN:VCALENDAR"):
            raise FeedError("not iCalendar (no BEGIN:VCALENDAR)")
        return _Fetched(body, etag, last_modified)

    def events_between(self, start: datetime, end: datetime) -> list[ImportedEvent]:
        """Every feed's occurrences overlapping [start, end) (touching is not overlapping), by start."""
        return sorted((e for feed in self._feeds for e in feed.between(start, end)), key=_order)

    async def loop(self) -> None:
        """Refresh now and then every `every` (or on `wake()`) until stopped (which interrupts a fetch)."""
        stopped = asyncio.create_task(self.stopping.wait())
        try:
            while not self.stopping.is_set():
                self.woken.clear()
                refreshing = asyncio.create_task(self.refresh())
                await asyncio.wait({refreshing, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not refreshing.done():  # stopping in the middle of a fetch: don't wait for it
                    refreshing.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await refreshing
                    return
                failing = sum(1 for feed in self._feeds if feed.failures)
                if failing:
                    self.failed(f"{failing} of {len(self._feeds)} feeds not refreshed")
                else:
                    self.succeeded()
                await self.pause(self.every.total_seconds())
        finally:
            stopped.cancel()
