"""The embedded web server: the group's pages (`iscg_bot.web.site`), calendar feeds, /healthz and /metrics.

    GET /                                 the group: subjects, next meetings, chart, subscribe buttons
    GET /subjects/<slug>                  a subject's page
    GET /calendar[?month=2026-12|?week=2026-W49]   every meeting by month or week
    GET /charts/meetings.svg              meetings held per subject per month, last twelve (the chart on /)
    GET /static/site.css, /static/local-time.js
    GET /healthz                          200 while the sync loop is alive, 503 otherwise (JSON either way)
    GET /metrics                          Prometheus: commands, reply latency, reminders, feed requests, sync
    GET /calendar/iscg.ics, /calendar/<slug>.ics, /calendar/personal/<token>.ics   the calendar feeds
                                          (`iscg_bot.web.feed_cache`: what each holds, cached, 304s)
    GET /meetings/M12                     meeting 12: time, join link, agenda, RSVPs, its latest minutes
    GET /minutes/S7                       the minutes of session 7 (of a meeting, or an unscheduled one)
    GET /reports/2026[/cop|/TSAG]         the report on a year: every subject, one, or an advisory group's

`build_application` wires the routes, grouped by what they serve (service, feeds, site pages, minutes and
reports), and the one 404 answer; `WebServer` runs the application.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from iscg_bot.core.clock import Clock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.config import Settings
from iscg_bot.core.kept import Kept
from iscg_bot.core.language import SOURCE, current
from iscg_bot.core.metrics import Metrics, metrics_route
from iscg_bot.domain.roles import AdvisoryGroup
from iscg_bot.storage import UnitOfWork
from iscg_bot.web.feed_cache import FeedCache, feed_routes
from iscg_bot.web.freshness import DataFreshness, fresh_data_middleware
from iscg_bot.web.languages import language_middleware
from iscg_bot.web.site import BadRequest, SitePages

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from iscg_bot.calendar.imported import ImportedCalendars

log = logging.getLogger(__name__)

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
# The same for every 404: an unknown token looks like any missing page.
NOT_FOUND = "Not found.\n"

Handler = Callable[[web.Request], Awaitable[web.Response]]


class Health(Protocol):
    """What /healthz answers: the bot's sync loop (`core.health.SyncHealth`), or a web replica's database
    (`web.freshness.ReplicaHealth`)."""

    def report(self) -> tuple[bool, dict[str, Any]]: ...


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
        from iscg_bot.render import minutes_files  # loaded with the first minutes shown (issue 14: memory)

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
        from iscg_bot.domain import reports  # loaded with the first report asked for (issue 14: memory)
        from iscg_bot.render import report_render

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
            return await self.kept.get((year, scope, current()), compiled_page)  # one copy per language
        except reports.ReportError:
            return None


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


def _html(page: str | None, headers: dict[str, str] = SITE_HEADERS) -> web.Response:
    """The page as HTML under `headers` (the site's policy unless told); no page: the 404."""
    if page is None:
        return _not_found()
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers=headers)


# ---- routes, by what they serve -----------------------------------------------------------------------


def _service_routes(health: Health, metrics: Metrics | None) -> list[web.RouteDef]:
    """/healthz from `health`, /metrics from `metrics` (none without), the static files and the favicon."""

    async def healthz(request: web.Request) -> web.Response:
        ok, report = health.report()
        return web.json_response(report, status=200 if ok else 503)

    routes = [web.get("/healthz", healthz)]
    if metrics is not None:
        routes.append(web.get("/metrics", metrics_route(metrics)))
    return [*routes, web.get("/static/{name}", _static_file), web.get("/favicon.ico", _favicon)]


async def _static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    kind = STATIC_TYPES.get(name[name.rfind(".") :]) if "." in name else None
    resource = _report_stylesheet() if name == "report.css" else STATIC / name
    if kind is None or "/" in name or not resource.is_file():
        return _not_found()
    headers = {"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
    return web.Response(body=resource.read_bytes(), content_type=kind, charset="utf-8", headers=headers)


def _report_stylesheet() -> Traversable:
    from iscg_bot.render.report_render import STYLESHEET_FILE  # the renderer loads with its first use

    return STYLESHEET_FILE


async def _favicon(request: web.Request) -> web.Response:
    raise web.HTTPFound("/static/favicon.svg")  # browsers ask for /favicon.ico whatever the page says


def _site_routes(site: SitePages | None, minutes_page: Handler) -> list[web.RouteDef]:
    """The group's pages from `site`; without one they are 404s and /meetings/M12 shows the minutes alone."""

    async def index(request: web.Request) -> web.Response:
        return _html(await site.index() if site is not None else None)

    async def subject_page(request: web.Request) -> web.Response:
        return _html(await site.subject(request.match_info["slug"]) if site is not None else None)

    async def meeting_page(request: web.Request) -> web.Response:
        if site is None:  # the minutes alone, as before the site existed
            return await minutes_page(request)
        return _html(await site.meeting(int(request.match_info["reference"][1:])))

    async def calendar_page(request: web.Request) -> web.Response:
        if site is None:
            return _not_found()
        try:
            page = await site.calendar(month=request.query.get("month"), week=request.query.get("week"))
        except BadRequest as error:
            return web.Response(status=400, text=f"{error}\n", content_type="text/plain")
        return _html(page)

    async def chart_image(request: web.Request) -> web.Response:
        if site is None:
            return _not_found()
        drawn = await site.chart_svg()
        return web.Response(text=drawn, content_type="image/svg+xml", charset="utf-8", headers=PAGE_HEADERS)

    return [
        web.get("/", index),
        web.get("/subjects/{slug:[a-z][a-z0-9-]{1,31}}", subject_page),
        web.get("/calendar", calendar_page),
        web.get("/charts/meetings.svg", chart_image),
        web.get("/meetings/{reference:M[0-9]{1,9}}", meeting_page),
    ]


def _minutes_page(minutes: MinutesPages | None) -> Handler:
    """The handler of /minutes/S7 (and of /meetings/M12 when there is no site): the stand-alone page."""

    async def minutes_page(request: web.Request) -> web.Response:
        reference = request.match_info["reference"]
        return _html(await minutes.page(reference) if minutes is not None else None, PAGE_HEADERS)

    return minutes_page


def _document_routes(minutes_page: Handler, reports_pages: ReportPages | None) -> list[web.RouteDef]:
    """A session's minutes, and the reports' web copies from `reports_pages`."""

    async def report_page(request: web.Request) -> web.Response:
        year, scope = int(request.match_info["year"]), request.match_info.get("scope")
        page = await reports_pages.page(year, scope) if reports_pages is not None else None
        return _html(page)  # its stylesheet is linked (report_render): the site's policy, nothing inline

    return [
        web.get("/minutes/{reference:S[0-9]{1,9}}", minutes_page),
        web.get("/reports/{year:[12][0-9]{3}}", report_page),
        web.get("/reports/{year:[12][0-9]{3}}/{scope:[A-Za-z][A-Za-z0-9-]{0,31}}", report_page),
    ]


def build_application(
    feeds: FeedCache,
    health: Health,
    minutes: MinutesPages | None = None,
    reports_pages: ReportPages | None = None,
    site: SitePages | None = None,
    metrics: Metrics | None = None,
    freshness: DataFreshness | None = None,
) -> web.Application:
    """The aiohttp application: feeds from `feeds`, /healthz from `health`, the minutes and the reports'
    pages from `minutes` and `reports_pages`, the group's pages from `site`, /metrics from `metrics`; with
    `freshness`, every page and feed first catches up with what other processes committed. Pages are
    written in the reader's language (`web.languages`), the group's default being `site`'s."""
    minutes_page = _minutes_page(minutes)
    # Every page in the reader's language (`?lang=`, Accept-Language, else the group's default).
    languages = language_middleware(site.default_language if site is not None else SOURCE)
    middlewares = [_plain_404, languages]
    if freshness is not None:
        middlewares.append(fresh_data_middleware(freshness))
    app = web.Application(middlewares=middlewares)
    app.add_routes(_service_routes(health, metrics))
    app.add_routes(feed_routes(feeds, metrics))
    app.add_routes(_site_routes(site, minutes_page))
    app.add_routes(_document_routes(minutes_page, reports_pages))
    return app


@dataclass(frozen=True)
class Site:
    """The web server of a process (the bot's, or a web replica's) and its feed cache (the tests look in)."""

    server: WebServer
    feeds: FeedCache


def site_server(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    commits: CommitListeners,
    health: Health,
    *,
    metrics: Metrics,
    freshness: DataFreshness,
    imported: ImportedCalendars | None = None,
) -> Site:
    """Everything the configuration says the web server serves — the site, the feeds, the minutes and
    reports, /healthz from `health`, /metrics — with caches that hear `commits` and catch up with other
    processes' through `freshness`. One composition for the bot and the web replicas, so they serve alike."""
    base_url, zone, prefix = (
        settings.web.public_base_url,
        settings.bot.default_timezone,
        settings.bot.command_prefix,
    )
    language = settings.bot.default_language
    feeds = FeedCache(sessions, clock, base_url, commits=commits, default_language=language)
    application = build_application(
        feeds,
        health,
        MinutesPages(sessions, base_url, zone, prefix),
        ReportPages(sessions, clock, base_url, zone, commits=commits),
        SitePages(
            sessions,
            clock,
            base_url,
            zone,
            prefix,
            imported=imported,
            commits=commits,
            default_language=language,
        ),
        metrics=metrics,
        freshness=freshness,
    )
    return Site(WebServer(application, settings.web.listen_host, settings.web.listen_port), feeds)


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
