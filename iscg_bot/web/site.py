"""The group's public web pages, server-rendered from the database with Jinja2 (templates in
`templates/`, one stylesheet and one small script in `static/` beside this module):

    /                      the group: its subjects with coordinator and next meeting, the chart of meetings
                           held this year, subscribe buttons for the group feed
    /subjects/<slug>       a subject: description, coordinator and focal points by sector, upcoming and past
                           meetings, open actions, subscribe buttons
    /meetings/M12          a meeting: its time in its zone, UTC and the viewer's own (the script), join link,
                           agenda, RSVPs, occurrences, and its minutes (a draft marked as draft)
    /calendar              every meeting by month (?month=2026-12) or by week (?week=2026-W49), in the group's
                           zone; cancelled ones struck through; the imported calendars' events beside them

Read-only and public: nothing here needs a login, so nothing here shows what only members may see (personal
feed tokens, e-mail addresses). Everything user-written goes through Jinja2's autoescaping; the one piece of
HTML taken as is, the minutes, comes from the minutes renderer, which escapes what people wrote.
"""

from __future__ import annotations

import asyncio
import functools
import re
from calendar import Calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from markupsafe import Markup

from iscg_bot.core import timeshow
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.i18n import SOURCE, _, babel_locale, current, html_language, is_right_to_left, lazy, n_
from iscg_bot.core.kept import Kept
from iscg_bot.core.markup import web_url
from iscg_bot.domain import minutes_document
from iscg_bot.domain.meetings import expand, meeting_label, next_occurrence
from iscg_bot.domain.roles import Sector, shown_body
from iscg_bot.storage import UnitOfWork
from iscg_bot.web.languages import (
    cldr_data,
    left_to_right_ranges,
    list_separator,
    month_abbreviation,
    page_message,
    switcher_links,
    weekday_names,
)

if TYPE_CHECKING:
    from jinja2 import Environment
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from iscg_bot.calendar.imported import ImportedCalendars
    from iscg_bot.core.clock import Clock
    from iscg_bot.domain.recurrence import Occurrence
    from iscg_bot.render.chart import ChartData
    from iscg_bot.storage.models import Meeting

GROUP_NAME = lazy("Inter-Sector Coordination Group (ISCG)")
GROUP_PURPOSE = lazy(
    "Coordinates the work of ITU's three Sectors — Radiocommunication, Standardization and Development — "
    "on subjects of mutual interest, and reports to TSAG, RAG and TDAG."
)
GROUP_WIDE = lazy("Group-wide")  # the chart's row of meetings held for the whole group
PAST_SHOWN = 12  # past meetings on a subject's page
UPCOMING_SHOWN = 12  # upcoming meetings on a subject's page, occurrences on a meeting's
UPCOMING_HORIZON = timedelta(days=400)
MONTH = re.compile(r"(\d{4})-(\d{2})")
WEEK = re.compile(r"(\d{4})-W(\d{2})")
MONTH_NAMES = "January February March April May June July August September October November December".split()


class BadRequest(ValueError):
    """A query the calendar cannot show (a malformed or out-of-range month or week): the message says why."""


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name if self.name and self.name != self.user_id else self.user_id


@dataclass(frozen=True)
class Entry:
    """One occurrence of a meeting, as a page lists it."""

    reference: str  # M12
    title: str
    subject: str | None  # slug; None for a group-wide meeting
    start: datetime  # aware
    end: datetime
    zone: str  # the zone the page shows it in
    cancelled: bool = False
    moved: bool = False
    imported_from: str | None = None  # the host of the imported calendar it comes from (not the bot's own)

    @property
    def when(self) -> str:
        return left_to_right_ranges(timeshow.span(self.start, self.end, self.zone))

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.zone))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(ZoneInfo(self.zone))

    @property
    def href(self) -> str | None:
        return None if self.imported_from else f"/meetings/{self.reference}"


@dataclass
class Day:
    day: date
    in_month: bool
    today: bool
    entries: list[Entry] = field(default_factory=list)


class SitePages:
    """Renders each page from the database on request (the queries are few and indexed; the feeds, which
    calendar programs poll, are the cached part)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        base_url: str,
        default_zone: str,
        prefix: str = "!",
        imported: ImportedCalendars | None = None,
        *,
        commits: CommitListeners | None = None,
        default_language: str = SOURCE,
    ) -> None:
        self.sessions, self.clock = sessions, clock
        # The language of a page whose reader asks for none of the six (`bot.default_language`):
        # `web.languages` reads it for every request.
        self.default_language = default_language
        self.imported = imported  # other bodies' meetings, shown beside ours
        self.base_url, self.default_zone, self.prefix = base_url.rstrip("/"), default_zone, prefix
        self.charts: Kept[str] = Kept()
        if commits is not None:
            commits.on_commit(self.invalidate)

    @functools.cached_property
    def templates(self) -> Environment:
        """The page templates, built at the first page asked for: jinja2 stays out of a bot that serves
        no page (a few MB and a tenth of a second at every start)."""
        from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

        templates = Environment(
            loader=PackageLoader("iscg_bot.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,  # a misspelt name fails the page's test instead of showing nothing
            trim_blocks=True,
            lstrip_blocks=True,
        )
        templates.filters["day"] = timeshow.day_label
        templates.filters["clock"] = timeshow.clock
        templates.filters["iso"] = lambda instant: instant.astimezone(UTC).isoformat()
        templates.filters["month_abbreviation"] = month_abbreviation
        # The templates' texts, marked `_("…", name=value)` / `n_("…", "…", count)` and extracted by Babel
        # (babel.cfg): translated in the language the page is written in (`web.languages`).
        templates.globals["_"] = page_message
        templates.globals["n_"] = n_
        return templates

    def _render(self, template: str, *, query: dict[str, str] | None = None, **context: Any) -> str:  # noqa: ANN401 — the template's variables
        """The page in the current language; `query` is the page's own parameters, kept by the language
        switcher's links."""
        language = current()
        return self.templates.get_template(template).render(
            group_name=_(GROUP_NAME),
            year_now=self.clock.now().year,
            lang=html_language(language),
            dir="rtl" if is_right_to_left(language) else "ltr",
            languages=switcher_links(language, query or {}),
            separator=list_separator(),
            **context,
        )

    def _feeds(self, slug: str) -> dict[str, str]:
        https = f"{self.base_url}/calendar/{slug}.ics"
        return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}

    # ---- / -------------------------------------------------------------------------------------------

    async def index(self) -> str:
        now = self.clock.now()
        async with UnitOfWork(self.sessions) as uow:
            subjects = await uow.subjects.list()
            roles = await uow.roles.active(at=now, role="coordinator")
            names = await _names(uow, {r.matrix_id for r in roles})
            rows = []
            for subject in subjects:
                coordinators = [names[r.matrix_id] for r in roles if r.subject_id == subject.id]
                upcoming = await self._upcoming(uow, subject.id, subject.timezone, now, limit=1)
                rows.append({"subject": subject, "coordinators": coordinators, "next": _first(upcoming)})
            group_next = _first(await self._upcoming(uow, None, self.default_zone, now, limit=1))
            held = await self._chart_data(uow)
        return self._render(
            "index.html",
            purpose=_(GROUP_PURPOSE),
            subjects=rows,
            group_next=group_next,
            feeds=self._feeds("iscg"),
            year=now.year,
            held=held,
        )

    async def chart_svg(self) -> str:
        """The SVG of meetings held per subject per month over the last twelve months (this one included),
        drawn once until the data changes."""

        async def drawn() -> str:
            async with UnitOfWork(self.sessions) as uow:
                data = await self._chart_data(uow)
            from iscg_bot.render.chart import svg  # the chart's module loads with the first chart drawn

            return await asyncio.to_thread(svg, data)  # matplotlib: off the event loop (same language)

        return await self.charts.get(("meetings", current()), drawn)  # one drawing per language

    def invalidate(self) -> None:
        """Called after every committed change (registered in `commits`), as for the feeds."""
        self.charts.invalidate()

    async def _chart_data(self, uow: UnitOfWork) -> ChartData:
        """Sessions held over the last twelve months, by subject (the rule of the reports) and by month in
        the group's zone: a row for every current subject, one for group-wide meetings if there were any."""
        from iscg_bot.render.chart import ChartData

        zone = ZoneInfo(self.default_zone)
        this_month = self.clock.now().astimezone(zone).date().replace(day=1)
        months = [_add_months(this_month, n) for n in range(-11, 1)]
        start = datetime.combine(months[0], datetime.min.time(), zone).astimezone(UTC)
        end = datetime.combine(_add_months(this_month, 1), datetime.min.time(), zone).astimezone(UTC)
        held = await uow.reports.held_by_subject(started_from=start, started_before=end)
        subjects = await uow.subjects.list(include_archived=True)
        active = {subject_id for subject_id, _started in held}
        rows: list[tuple[int | None, str]] = [
            (s.id, s.title) for s in subjects if not s.archived or s.id in active
        ]
        if None in active:
            rows.append((None, _(GROUP_WIDE)))
        counts: dict[int | None, list[int]] = {subject_id: [0] * len(months) for subject_id, _title in rows}
        column = {month: n for n, month in enumerate(months)}
        for subject_id, started in held:
            counts[subject_id][column[started.astimezone(zone).date().replace(day=1)]] += 1
        return ChartData(
            period=f"{_month_title(months[0])} – {_month_title(months[-1])}",
            months=tuple(months),
            subjects=tuple(title for _subject_id, title in rows),
            counts=tuple(tuple(counts[subject_id]) for subject_id, _unused in rows),
            language=current(),  # its title, description and labels in the page's language
        )

    # ---- /subjects/<slug> ----------------------------------------------------------------------------

    async def subject(self, slug: str) -> str | None:
        now = self.clock.now()
        async with UnitOfWork(self.sessions) as uow:
            subject = await uow.subjects.by_slug(slug)
            if subject is None:
                return None
            roles = await uow.roles.active(at=now, subject_id=subject.id)
            actions = await uow.actions.of_place(subject_id=subject.id, room_id=subject.room_id)
            names = await _names(uow, {r.matrix_id for r in roles} | {a.owner for a in actions})
            upcoming = await self._upcoming(uow, subject.id, subject.timezone, now, limit=UPCOMING_SHOWN)
            past = await self._past(uow, subject.id, subject.timezone, now, limit=PAST_SHOWN)
            minuted = await uow.minutes.with_minutes([int(e.reference[1:]) for e in past])
        coordinators = [names[r.matrix_id] for r in roles if r.role == "coordinator"]
        focal_points = {
            sector.value: [
                names[r.matrix_id] for r in roles if r.role == "focal_point" and r.sector == sector
            ]
            for sector in Sector
        }
        return self._render(
            "subject.html",
            subject=subject,
            coordinators=coordinators,
            focal_points={shown_body(sector): people for sector, people in focal_points.items() if people},
            upcoming=upcoming,
            past=[(entry, int(entry.reference[1:]) in minuted) for entry in past],
            actions=[(action, names[action.owner]) for action in actions],
            today=now.date(),
            feeds=self._feeds(subject.slug),
        )

    # ---- /meetings/M12 -------------------------------------------------------------------------------

    async def meeting(self, number: int) -> str | None:
        now = self.clock.now()
        async with UnitOfWork(self.sessions) as uow:
            meeting = await uow.meetings.get(number)
            if meeting is None:
                return None
            subject = await uow.subjects.get(meeting.subject_id) if meeting.subject_id else None
            zone = meeting.timezone
            rsvps = await uow.rsvps.for_meeting(meeting.id)
            sessions = await uow.minutes.sessions_of_meeting(meeting.id)
            names = await _names(uow, {r.matrix_id for r in rsvps})
            minutes = None
            if sessions:
                from iscg_bot.render import minutes_files  # loaded with the first minutes shown

                latest = sessions[0]
                page = await minutes_files.page(
                    uow, latest, zone=zone, base_url=self.base_url, prefix=self.prefix
                )
                minutes = {
                    "session": latest,
                    "status": minutes_document.status_of(latest),
                    "body": Markup(minutes_fragment(page)),  # the minutes renderer escaped the user text
                }
        occurrences = expand(meeting, now - timedelta(days=1), now + UPCOMING_HORIZON)
        shown = [
            _entry(meeting, o, zone, subject.slug if subject else None) for o in occurrences if o.end > now
        ][:UPCOMING_SHOWN]
        upcoming = next_occurrence(meeting, now)
        first = upcoming or _last_occurrence(meeting)
        answers: dict[str, list[Person]] = {"yes": [], "maybe": [], "no": []}
        for rsvp in rsvps:
            answers[rsvp.answer].append(names[rsvp.matrix_id])
        return self._render(
            "meeting.html",
            meeting=meeting,
            reference=meeting_label(meeting.id),
            subject=subject,
            shown=_entry(meeting, first, zone, None) if first else None,
            upcoming=upcoming is not None,
            occurrences=shown if meeting.rrule else [],
            join=meeting.link if meeting.link and web_url(meeting.link) else None,
            answers=answers,
            sessions=sessions,
            minutes=minutes,
            feeds=self._feeds(subject.slug if subject else "iscg"),
        )

    # ---- /calendar -----------------------------------------------------------------------------------

    async def calendar(self, *, month: str | None = None, week: str | None = None) -> str:
        """The month view (`month` "2026-12", default this month) or the week view (`week` "2026-W49")."""
        zone = ZoneInfo(self.default_zone)
        today = self.clock.now().astimezone(zone).date()
        if week is not None:
            first = _parse_week(week)
            days = [first + timedelta(days=n) for n in range(7)]
            shown_month = first.replace(day=1)
        else:
            shown_month = _parse_month(month) if month is not None else today.replace(day=1)
            days = [
                d for row in Calendar().monthdatescalendar(shown_month.year, shown_month.month) for d in row
            ]
        start = datetime.combine(days[0], datetime.min.time(), zone).astimezone(UTC)
        end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
        grid = {d: Day(d, d.month == shown_month.month, d == today) for d in days}
        async with UnitOfWork(self.sessions) as uow:
            subjects = {s.id: s.slug for s in await uow.subjects.list(include_archived=True)}
            meetings = await uow.meetings.overlapping(start_utc=start, end_utc=end, include_cancelled=True)
        for meeting in meetings:
            slug = subjects.get(meeting.subject_id) if meeting.subject_id is not None else None
            for occurrence in expand(meeting, start, end):
                entry = _entry(meeting, occurrence, self.default_zone, slug)
                day = entry.local_start.date()
                if day in grid:
                    grid[day].entries.append(entry)
        for event in self.imported.events_between(start, end) if self.imported is not None else ():
            entry = Entry(
                reference=event.uid,
                title=event.summary,
                subject=None,
                start=event.start,
                end=event.end,
                zone=self.default_zone,
                # The host, never the URL: a calendar's address may carry its owner's secret token.
                imported_from=urlsplit(event.source).hostname or _("imported calendar"),
            )
            for day in _days_touched(entry):
                if day in grid:
                    grid[day].entries.append(entry)
        for cell in grid.values():
            cell.entries.sort(key=lambda e: (e.start, e.reference))
        weeks = [[grid[d] for d in days[n : n + 7]] for n in range(0, len(days), 7)]
        previous, following = _add_months(shown_month, -1), _add_months(shown_month, 1)
        return self._render(
            "calendar.html",
            imported=self.imported is not None,
            view="week" if week is not None else "month",
            month=shown_month,
            weeks=weeks,
            week_label=_week_label(days[0]) if week is not None else None,
            previous=_month_label(previous),
            following=_month_label(following),
            previous_week=_week_label(days[0] - timedelta(days=7)),
            following_week=_week_label(days[0] + timedelta(days=7)),
            this_week=_week_label(today - timedelta(days=today.weekday())),
            this_month=_month_label(today),
            month_name=_month_title(shown_month),
            zone=timeshow.zone_label(self.default_zone),
            week_of=lambda d: _week_label(d),
            feeds=self._feeds("iscg"),
            weekdays=weekday_names(),
            query={"week": week} if week is not None else {"month": _month_label(shown_month)},
        )

    # ---- queries -------------------------------------------------------------------------------------

    async def _upcoming(
        self, uow: UnitOfWork, subject_id: int | None, zone: str, now: datetime, *, limit: int
    ) -> list[Entry]:
        """The next `limit` occurrences not cancelled, still running or to come, of a subject's meetings
        (None: group-wide ones)."""
        found = []
        for meeting in await uow.meetings.for_subject(subject_id):
            for occurrence in expand(meeting, now, now + UPCOMING_HORIZON, include_cancelled=False)[:limit]:
                found.append(_entry(meeting, occurrence, zone, None))
        return sorted(found, key=lambda e: (e.start, e.reference))[:limit]

    async def _past(
        self, uow: UnitOfWork, subject_id: int | None, zone: str, now: datetime, *, limit: int
    ) -> list[Entry]:
        """The last `limit` occurrences that ended before `now` (cancelled ones shown as such)."""
        found = []
        for meeting in await uow.meetings.for_subject(subject_id, include_cancelled=True):
            ended = [o for o in expand(meeting, meeting.start_utc, now) if o.end <= now]
            found += [_entry(meeting, o, zone, None) for o in ended[-limit:]]
        return sorted(found, key=lambda e: (e.start, e.reference), reverse=True)[:limit]


def minutes_fragment(page: str) -> str:
    """The body of a minutes page (what is inside <main>), its headings one level down so that they sit
    under the meeting page's own title. The page comes from `minutes_render.render_html`, where user text
    is escaped: a "<h1" can only be the renderer's own."""
    start, end = page.find("<main>"), page.rfind("</main>")
    body = page[start + len("<main>") : end] if start != -1 and end != -1 else ""
    return re.sub(r"<(/?)h([1-5])\b", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", body)


async def _names(uow: UnitOfWork, user_ids: set[str]) -> dict[str, Person]:
    known = await uow.people.many(user_ids)
    return {
        user_id: Person(user_id, known[user_id].display_name if user_id in known else None)
        for user_id in user_ids
    }


def _entry(meeting: Meeting, occurrence: Occurrence, zone: str, subject: str | None) -> Entry:
    return Entry(
        reference=meeting_label(meeting.id),
        title=meeting.title,
        subject=subject,
        start=occurrence.start,
        end=occurrence.end,
        zone=zone,
        cancelled=occurrence.cancelled or meeting.status == "cancelled",
        moved=occurrence.moved,
    )


def _days_touched(entry: Entry) -> list[date]:
    """The local days an entry covers: an imported all-day or multi-day event shows on each of them."""
    first, last = entry.local_start.date(), (entry.local_end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range(max(0, (last - first).days) + 1)][:62]


def _first(entries: list[Entry]) -> Entry | None:
    return entries[0] if entries else None


def _last_occurrence(meeting: Meeting) -> Occurrence | None:
    """The last occurrence of a meeting with none to come (shown as past)."""
    end = meeting.series_end_utc or meeting.start_utc + timedelta(minutes=meeting.duration_minutes)
    found = expand(meeting, meeting.start_utc, end + timedelta(seconds=1))
    return found[-1] if found else None


def _parse_month(text: str) -> date:
    found = MONTH.fullmatch(text)
    if not found or not 1 <= int(found.group(2)) <= 12 or not 1900 <= int(found.group(1)) <= 2999:
        raise BadRequest(_("Not a month: {text}. Give it as YYYY-MM, e.g. 2026-12.", text=repr(text)))
    return date(int(found.group(1)), int(found.group(2)), 1)


def _parse_week(text: str) -> date:
    found = WEEK.fullmatch(text)
    if not found or not 1900 <= int(found.group(1)) <= 2999:
        raise BadRequest(
            _("Not a week: {text}. Give it as YYYY-Www (ISO week), e.g. 2026-W49.", text=repr(text))
        )
    try:
        return date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
    except ValueError:
        message = _(
            "No such week: {text}. ISO weeks run from W01 to W52 or W53, e.g. 2026-W49.", text=repr(text)
        )
        raise BadRequest(message) from None


def _month_title(day: date) -> str:
    """`December 2026`; `décembre 2026` in French, `2026年12月` in Chinese (CLDR's own pattern)."""
    locale = babel_locale()
    if locale is None:
        return f"{MONTH_NAMES[day.month - 1]} {day.year}"
    from babel.dates import format_skeleton  # Babel is loaded only when another language is written

    return cldr_data(format_skeleton("yMMMM", day, locale=locale))


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _week_label(monday: date) -> str:
    year, week, _weekday = monday.isocalendar()
    return f"{year:04d}-W{week:02d}"
