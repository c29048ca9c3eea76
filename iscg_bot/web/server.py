"""The embedded web server: the group's pages (`iscg_bot.web.site`), calendar feeds, /healthz and /metrics.

    GET /                                 the group: subjects, next meetings, chart, subscribe buttons
    GET /subjects/<slug>                  a subject's page
    GET /calendar[?month=2026-12|?week=2026-W49]   every meeting by month or week
    GET /charts/meetings.svg              meetings held per subject per month, last twelve (the chart on /)
    GET /static/site.css, /static/local-time.js
    GET /healthz                          200 while the sync loop is alive, 503 otherwise (JSON either way)
    GET /metrics                          Prometheus: commands, reply latency, reminders, feed requests, sync
    GET /calendar/iscg.ics                every meeting: all subjects and the group-wide ones
    GET /calendar/<slug>.ics              one subject's meetings
    GET /calendar/personal/<token>.ics    the meetings of the subjects the token's owner belongs to
    GET /meetings/M12                     meeting 12: time, join link, agenda, RSVPs, its latest minutes
    GET /minutes/S7                       the minutes of session 7 (of a meeting, or an unscheduled one)
    GET /reports/2026[/cop|/TSAG]         the report on a year: every subject, one, or an advisory group's

Feeds are rendered once per feed and kept until the data changes (`FeedCache.invalidate`, registered to
hear every committed change); requests answer from the cache, with a strong ETag and Last-Modified, and 304
when the client already has the current version.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib.resources
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from iscg_bot.calendar import feeds as ical
from iscg_bot.core.clock import Clock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.health import SyncHealth
from iscg_bot.core.kept import Kept
from iscg_bot.core.metrics import Metrics, metrics_route
from iscg_bot.domain import reports
from iscg_bot.domain.roles import AdvisoryGroup
from iscg_bot.render import minutes_files, report_render
from iscg_bot.storage import UnitOfWork
from iscg_bot.web.site import BadRequest, SitePages

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from iscg_bot.storage.models import Meeting, Subject

log = logging.getLogger(__name__)

CALENDAR_TYPE = "text/calendar; charset=utf-8"
# Pages carry user-written text: no script, no plugin, nothing from elsewhere. The minutes' stand-alone page
# (also saved as a file) carries its stylesheet inline and runs no script at all; the site's pages and the
# reports' web copies take their stylesheet, their one script and the chart from this server only, nothing
# inline.
_PAGE_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    **_PAGE_COMMON,
}
SITE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    **_PAGE_COMMON,
}
STATIC = importlib.resources.files("iscg_bot.web") / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
CACHE_CONTROL = "max-age=300"  # calendar clients poll; five minutes keeps proxies from hiding a change long
FEED_REFRESH = timedelta(hours=1)
GROUP_FEED = "iscg"
PERSONAL_ROLES = frozenset({"coordinator", "focal_point"})
# The same for every 404: an unknown token looks like any missing page.
NOT_FOUND = "Not found.\n"
EMPTY_FEED_DATE = datetime(2026, 1, 1, tzinfo=UTC)  # Last-Modified of a feed with no meetings


def subject_feed_path(slug: str) -> str:
    return f"/calendar/{slug}.ics"


def group_feed_path() -> str:
    return f"/calendar/{GROUP_FEED}.ics"


def personal_feed_path(token: str) -> str:
    return f"/calendar/personal/{token}.ics"


def minutes_path(meeting_id: int) -> str:
    return f"/meetings/M{meeting_id}"


def webcal(url: str) -> str:
    """The webcal:// form of an http(s) feed URL, which calendar apps open as a subscription."""
    return "webcal://" + url.split("://", 1)[1]


@dataclass(frozen=True)
class RenderedFeed:
    body: bytes
    etag: str
    last_modified: datetime  # whole seconds, UTC

    @property
    def http_date(self) -> str:
        return email.utils.format_datetime(self.last_modified, usegmt=True)


class FeedCache:
    """Rendered feeds by key ("iscg", "subject:cop", "personal:@ann:example.org"), dropped on any change.

    Personal feeds are cached per person, not per token, and the token is looked up on every request, so a
    revoked link stops working at once.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        base_url: str,
        *,
        prodid_domain: str = "iscg-bot",
        commits: CommitListeners | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.base_url = base_url
        self.prodid_domain = prodid_domain
        self.kept: Kept[RenderedFeed] = Kept()
        self.renders = 0  # for tests and /metrics: how many times a feed was actually rendered
        if commits is not None:
            commits.on_commit(self.invalidate)

    def invalidate(self) -> None:
        self.kept.invalidate()

    async def group(self) -> RenderedFeed:
        return await self._cached(GROUP_FEED, self._group_feed)

    async def subject(self, slug: str) -> RenderedFeed | None:
        """The subject's feed, None when no subject has that slug."""
        key = f"subject:{slug}"
        if key in self.kept.values:  # no query for the slug when the feed is kept
            return self.kept.values[key]
        async with UnitOfWork(self.sessions) as uow:
            if await uow.subjects.by_slug(slug) is None:
                return None
        return await self._cached(key, lambda uow: self._subject_feed(uow, slug))

    async def personal(self, token: str) -> RenderedFeed | None:
        """The personal feed of the token's owner, None for an unknown or revoked token."""
        async with UnitOfWork(self.sessions) as uow:  # resolved on every request: revocation is immediate
            matrix_id = await uow.calendar_tokens.resolve(token)
        if matrix_id is None:
            return None
        return await self._cached(f"personal:{matrix_id}", lambda uow: self._personal_feed(uow, matrix_id))

    async def _cached(self, key: str, build: Callable[[UnitOfWork], Awaitable[RenderedFeed]]) -> RenderedFeed:
        async def built() -> RenderedFeed:
            async with UnitOfWork(self.sessions) as uow:
                return await build(uow)

        return await self.kept.get(key, built)

    # ---- which meetings go in which feed ----------------------------------------------------------------

    async def _group_feed(self, uow: UnitOfWork) -> RenderedFeed:
        subjects = await uow.subjects.list(include_archived=True)
        meetings = await _meetings_of(uow, [None, *(s.id for s in subjects)])
        info = ical.FeedInfo(
            name="ISCG meetings",
            description="Electronic meetings of the ITU Inter-Sector Coordination Group, all subjects",
            refresh=FEED_REFRESH,
            url=self.base_url + group_feed_path(),
        )
        return await self._render(uow, meetings, info, subjects)

    async def _subject_feed(self, uow: UnitOfWork, slug: str) -> RenderedFeed:
        subject = await uow.subjects.by_slug(slug)
        assert subject is not None  # `subject` asked for the slug first; subjects are archived, never deleted
        meetings = await _meetings_of(uow, [subject.id])
        info = ical.FeedInfo(
            name=f"ISCG – {subject.title}",
            description=f"Electronic meetings of the ISCG subject {subject.title}",
            refresh=FEED_REFRESH,
            url=self.base_url + subject_feed_path(subject.slug),
        )
        return await self._render(uow, meetings, info, [subject])

    async def _personal_feed(self, uow: UnitOfWork, matrix_id: str) -> RenderedFeed:
        subjects = await subjects_of(uow, matrix_id, self.clock.now())
        meetings = await _meetings_of(uow, [None, *(s.id for s in subjects)])
        info = ical.FeedInfo(
            name="ISCG – my meetings",
            description=f"ISCG meetings of the subjects {matrix_id} takes part in, and group-wide meetings",
            refresh=FEED_REFRESH,
        )
        return await self._render(uow, meetings, info, subjects)

    async def _render(
        self, uow: UnitOfWork, meetings: list[Meeting], info: ical.FeedInfo, subjects: list[Subject]
    ) -> RenderedFeed:
        minuted = await uow.minutes.with_minutes([m.id for m in meetings])
        body = ical.render_feed(
            meetings,
            info=info,
            subjects={s.id: s for s in subjects},
            prodid_domain=self.prodid_domain,
            minutes_url=lambda m: self.base_url + minutes_path(m.id) if m.id in minuted else None,
        )
        self.renders += 1
        changed = ical.last_modified(meetings) or EMPTY_FEED_DATE
        return RenderedFeed(body, ical.feed_etag(body), changed.astimezone(UTC).replace(microsecond=0))


class MinutesPages:
    """The minutes as web pages, from their stored rendering (not cached: it is one row away)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], base_url: str, default_zone: str, prefix: str = "!"
    ) -> None:
        self.sessions = sessions
        self.prefix = prefix  # the command prefix: tag commands are read from the log
        self.base_url = base_url
        self.default_zone = default_zone  # for the minutes of rooms with no subject

    async def page(self, reference: str) -> str | None:
        """The HTML minutes named "M12" (the meeting's latest session) or "S7"; None when there are none."""
        async with UnitOfWork(self.sessions) as uow:
            number = int(reference[1:])
            if reference.startswith("M"):
                sessions = await uow.minutes.sessions_of_meeting(number)
                session = sessions[0] if sessions else None
            else:
                session = await uow.minutes.get(number)
            if session is None:
                return None
            subject = await uow.subjects.by_room(session.room_id)
            zone = subject.timezone if subject is not None else self.default_zone
            return await minutes_files.page(
                uow, session, zone=zone, base_url=self.base_url, prefix=self.prefix
            )


class ReportPages:
    """The reports' web copies, compiled on request and kept until the data changes (`invalidate`, called
    after every committed change, as for the feeds, when given `commits`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        base_url: str,
        default_zone: str,
        *,
        commits: CommitListeners | None = None,
    ) -> None:
        self.sessions, self.clock = sessions, clock
        self.base_url, self.default_zone = base_url, default_zone
        self.kept: Kept[str] = Kept()
        if commits is not None:
            commits.on_commit(self.invalidate)

    def invalidate(self) -> None:
        self.kept.invalidate()

    async def page(self, year: int, scope: str | None) -> str | None:
        """The HTML report on `year` for every subject (`scope` None), a subject's slug or an advisory group
        (TSAG, RAG, TDAG); None when the scope names nothing."""
        group = scope if scope in AdvisoryGroup.__members__ else None

        async def compiled_page() -> str:
            async with UnitOfWork(self.sessions) as uow:
                compiled = await reports.compile_report(
                    uow,
                    period=reports.year(year),
                    subject_slug=None if group else scope,
                    advisory_group=group,
                    now=self.clock.now(),
                    base_url=self.base_url,
                    default_zone=self.default_zone,
                )
            return await asyncio.to_thread(report_render.render_html, compiled)  # seconds for a big year

        try:
            return await self.kept.get((year, scope), compiled_page)
        except reports.ReportError:
            return None


async def _meetings_of(uow: UnitOfWork, subject_ids: list[int | None]) -> list[Meeting]:
    """Every meeting of these subjects (None: group-wide), cancelled ones included, by start then ID."""
    meetings: list[Meeting] = []
    for subject_id in subject_ids:
        meetings += await uow.meetings.for_subject(subject_id, include_cancelled=True)
    return sorted(meetings, key=lambda m: (m.start_utc, m.id))


async def subjects_of(uow: UnitOfWork, matrix_id: str, at: datetime) -> list[Subject]:
    """The subjects someone belongs to: a coordinator or focal-point role in it, or joined to its room."""
    roles = await uow.roles.active(at=at, matrix_id=matrix_id)
    by_role = {r.subject_id for r in roles if r.role in PERSONAL_ROLES and r.subject_id is not None}
    subjects = []
    for subject in await uow.subjects.list(include_archived=True):
        if subject.id in by_role:
            subjects.append(subject)
        elif any(m.matrix_id == matrix_id for m in await uow.members.joined(subject.room_id)):
            subjects.append(subject)
    return subjects


# ---- HTTP ---------------------------------------------------------------------------------------------


def _not_modified(request: web.Request, feed: RenderedFeed) -> bool:
    """RFC 9110 §13.1: If-None-Match wins; If-Modified-Since counts only without it, and only if it parses."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]  # weak comparison
        return "*" in tags or feed.etag in tags
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        when = email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False  # malformed: ignored
    if when is None or when.tzinfo is None:
        return False
    return feed.last_modified <= when


def _feed_response(
    request: web.Request, feed: RenderedFeed, kind: str, metrics: Metrics | None
) -> web.Response:
    headers = {"ETag": feed.etag, "Last-Modified": feed.http_date, "Cache-Control": CACHE_CONTROL}
    if _not_modified(request, feed):
        response = web.Response(status=304, headers=headers)
    else:
        response = web.Response(body=feed.body, headers={**headers, "Content-Type": CALENDAR_TYPE})
    if metrics is not None:
        metrics.feed_served(kind, response.status)
    return response


def _not_found() -> web.Response:
    return web.Response(status=404, text=NOT_FOUND, content_type="text/plain")


@web.middleware
async def _plain_404(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every 404 has the same body, whether the route is unknown or the token behind it."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _not_found()


def build_application(
    feeds: FeedCache,
    health: SyncHealth,
    minutes: MinutesPages | None = None,
    reports_pages: ReportPages | None = None,
    site: SitePages | None = None,
    metrics: Metrics | None = None,
) -> web.Application:
    """The aiohttp application: feeds from `feeds`, /healthz from `health`, the minutes and the reports'
    pages from `minutes` and `reports_pages`, the group's pages from `site`, /metrics from `metrics`."""

    def html(page: str | None, headers: dict[str, str] = SITE_HEADERS) -> web.Response:
        if page is None:
            return _not_found()
        return web.Response(text=page, content_type="text/html", charset="utf-8", headers=headers)

    async def index(request: web.Request) -> web.Response:
        return html(await site.index() if site is not None else None)

    async def subject_page(request: web.Request) -> web.Response:
        return html(await site.subject(request.match_info["slug"]) if site is not None else None)

    async def meeting_page(request: web.Request) -> web.Response:
        if site is None:  # the minutes alone, as before the site existed
            return await minutes_page(request)
        return html(await site.meeting(int(request.match_info["reference"][1:])))

    async def calendar_page(request: web.Request) -> web.Response:
        if site is None:
            return _not_found()
        try:
            page = await site.calendar(month=request.query.get("month"), week=request.query.get("week"))
        except BadRequest as error:
            return web.Response(status=400, text=f"{error}\n", content_type="text/plain")
        return html(page)

    async def chart_image(request: web.Request) -> web.Response:
        if site is None:
            return _not_found()
        drawn = await site.chart_svg()
        return web.Response(text=drawn, content_type="image/svg+xml", charset="utf-8", headers=PAGE_HEADERS)

    async def favicon(request: web.Request) -> web.Response:
        raise web.HTTPFound("/static/favicon.svg")  # browsers ask for /favicon.ico whatever the page says

    async def static_file(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        kind = STATIC_TYPES.get(name[name.rfind(".") :]) if "." in name else None
        resource = report_render.STYLESHEET_FILE if name == "report.css" else STATIC / name
        if kind is None or "/" in name or not resource.is_file():
            return _not_found()
        headers = {"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
        return web.Response(body=resource.read_bytes(), content_type=kind, charset="utf-8", headers=headers)

    async def healthz(request: web.Request) -> web.Response:
        ok, report = health.report()
        return web.json_response(report, status=200 if ok else 503)

    async def group_feed(request: web.Request) -> web.Response:
        return _feed_response(request, await feeds.group(), "group", metrics)

    async def subject_feed(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not name.endswith(".ics"):
            return _not_found()
        slug = name.removesuffix(".ics")
        feed = await feeds.group() if slug == GROUP_FEED else await feeds.subject(slug)
        kind = "group" if slug == GROUP_FEED else "subject"
        return _not_found() if feed is None else _feed_response(request, feed, kind, metrics)

    async def minutes_page(request: web.Request) -> web.Response:
        reference = request.match_info["reference"]
        return html(await minutes.page(reference) if minutes is not None else None, PAGE_HEADERS)

    async def report_page(request: web.Request) -> web.Response:
        year, scope = int(request.match_info["year"]), request.match_info.get("scope")
        page = await reports_pages.page(year, scope) if reports_pages is not None else None
        return html(page)  # its stylesheet is linked (report_render): the site's policy, nothing inline

    async def personal_feed(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        feed = await feeds.personal(name.removesuffix(".ics")) if name.endswith(".ics") else None
        return _not_found() if feed is None else _feed_response(request, feed, "personal", metrics)

    app = web.Application(middlewares=[_plain_404])
    app.router.add_get("/healthz", healthz)
    if metrics is not None:
        app.router.add_get("/metrics", metrics_route(metrics))
    app.router.add_get(group_feed_path(), group_feed)
    app.router.add_get("/calendar/personal/{name}", personal_feed)
    app.router.add_get("/calendar/{name}", subject_feed)
    app.router.add_get("/", index)
    app.router.add_get("/subjects/{slug:[a-z][a-z0-9-]{1,31}}", subject_page)
    app.router.add_get("/calendar", calendar_page)
    app.router.add_get("/charts/meetings.svg", chart_image)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/meetings/{reference:M[0-9]{1,9}}", meeting_page)
    app.router.add_get("/minutes/{reference:S[0-9]{1,9}}", minutes_page)
    app.router.add_get("/reports/{year:[12][0-9]{3}}", report_page)
    app.router.add_get("/reports/{year:[12][0-9]{3}}/{scope:[A-Za-z][A-Za-z0-9-]{0,31}}", report_page)
    return app


class _ClientErrorsInOneLine(logging.LoggerAdapter):
    """The logger aiohttp's request handler writes to. A request it could not parse (an 8 KB URL, a 16 KB
    header, garbage) is answered 400 and is the client's problem: one INFO line, no traceback; anyone who
    can reach the port could otherwise fill the log with errors. Faults in our own handlers stay ERRORs."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:  # noqa: ANN401 — passed on to logging
        if isinstance(exc_info, HttpProcessingError) and exc_info.code < 500:
            remote = args[0] if args else "?"
            reason = " ".join(str(exc_info.message).split())  # aiohttp's message spans lines
            log.info("bad request from %s answered %d: %.120s", remote, exc_info.code, reason)
            return
        self.logger.error(msg, *args, exc_info=exc_info, **kwargs)


class WebServer:
    """Runs the application on host:port (port 0: any free one); `.port` and `.base_url` once started."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.app, self.host, self.port = app, host, port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app, access_log=None, logger=_ClientErrorsInOneLine(logging.getLogger("aiohttp.server"))
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses  # the port actually bound (listen_port 0 picks one)
        if addresses:
            self.port = addresses[0][1]
        log.info("web server listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
