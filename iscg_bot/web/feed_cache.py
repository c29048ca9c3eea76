"""The calendar feeds over HTTP: their URLs, which meetings each holds, the cache, and the feed routes.

    GET /calendar/iscg.ics                every meeting: all subjects and the group-wide ones
    GET /calendar/<slug>.ics              one subject's meetings
    GET /calendar/personal/<token>.ics    the meetings of the subjects the token's owner belongs to

Feeds are rendered once per feed and kept until the data they are made of changes (`FeedCache.invalidate`,
registered to hear every commit that wrote one of `FEED_TABLES`); requests answer from the cache, with a
strong ETag and Last-Modified, and 304 when the client already has the current version.

Each feed writes its texts (name, description, the meetings' descriptions) in its readers' language: a
subject's feed in the subject's (else the group's default), the group feed in the default, a personal feed in
its owner's (`!lang`, else the default). A personal feed is kept per person and language, the language read
with the token on every request: a new choice shows at once without dropping the other feeds.
`iscg_bot.web.server` mounts `feed_routes` with the rest.

After a change a feed is read again (plain rows, `FeedRows`) and assembled from each meeting's VEVENTs,
kept per meeting while what they were rendered from compares equal (`FeedBlocks`): a change to one meeting
re-renders that meeting, not the feed.
"""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from iscg_bot.calendar import feeds as ical
from iscg_bot.calendar.feed_blocks import FeedBlocks
from iscg_bot.core.clock import Clock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.kept import Kept
from iscg_bot.core.language import SOURCE, _, speaking
from iscg_bot.core.metrics import Metrics
from iscg_bot.storage import UnitOfWork
from iscg_bot.storage.models import (
    AgendaItem,
    Meeting,
    MeetingOverride,
    MeetingSession,
    RoleAssignment,
    RoomMember,
    Subject,
)
from iscg_bot.storage.repositories.feed_rows import FeedRows

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from iscg_bot.storage.repositories.feed_rows import MeetingRow

CALENDAR_TYPE = "text/calendar; charset=utf-8"
CACHE_CONTROL = "max-age=300"  # calendar clients poll; five minutes keeps proxies from hiding a change long
FEED_REFRESH = timedelta(hours=1)
GROUP_FEED = "iscg"
PERSONAL_ROLES = frozenset({"coordinator", "focal_point"})
EMPTY_FEED_DATE = datetime(2026, 1, 1, tzinfo=UTC)  # Last-Modified of a feed with no meetings
# What every feed is read from: the meetings with their agenda, overrides and minutes (sessions), the
# subjects' names, and who belongs to which subject (personal feeds). A commit that wrote none of these
# (minute lines, RSVPs, reminders sent, action items…) leaves every feed as it was: it is not re-read for it.
FEED_TABLES = frozenset(
    model.__tablename__
    for model in (Meeting, AgendaItem, MeetingOverride, MeetingSession, Subject, RoleAssignment, RoomMember)
)


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
    """Rendered feeds by key ("iscg", "subject:cop", "personal:@ann:example.org:fr"), dropped on any change.

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
        default_language: str = SOURCE,
    ) -> None:
        self.sessions = sessions
        self.default_language = default_language  # the group's (`bot.default_language`)
        self.clock = clock
        self.base_url = base_url
        self.prodid_domain = prodid_domain
        self.kept: Kept[RenderedFeed] = Kept()
        self.blocks = FeedBlocks(prodid_domain=prodid_domain)  # each meeting's VEVENTs, for every feed
        self.renders = 0  # for tests and /metrics: how many times a feed was actually rendered
        if commits is not None:
            commits.on_commit(self.invalidate, tables=FEED_TABLES)

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
            owner = await uow.people.get(matrix_id)
        language = (owner.language if owner is not None else None) or self.default_language
        return await self._cached(
            f"personal:{matrix_id}:{language}", lambda uow: self._personal_feed(uow, matrix_id, language)
        )

    async def _cached(self, key: str, build: Callable[[UnitOfWork], Awaitable[RenderedFeed]]) -> RenderedFeed:
        async def built() -> RenderedFeed:
            async with UnitOfWork(self.sessions) as uow:
                return await build(uow)

        return await self.kept.get(key, built)

    # ---- which meetings go in which feed ----------------------------------------------------------------

    async def _group_feed(self, uow: UnitOfWork) -> RenderedFeed:
        subjects = await uow.subjects.list(include_archived=True)
        meetings = await FeedRows(uow.session).every_meeting()  # those of `subjects` and group-wide ones
        with speaking(self.default_language):
            info = ical.FeedInfo(
                name=_("ISCG meetings"),
                description=_("Electronic meetings of the ITU Inter-Sector Coordination Group, all subjects"),
                refresh=FEED_REFRESH,
                url=self.base_url + group_feed_path(),
            )
            return await self._render(uow, meetings, info, subjects, complete=True)

    async def _subject_feed(self, uow: UnitOfWork, slug: str) -> RenderedFeed:
        subject = await uow.subjects.by_slug(slug)
        assert subject is not None  # `subject` asked for the slug first; subjects are archived, never deleted
        meetings = await FeedRows(uow.session).meetings([subject.id])
        with speaking(subject.language or self.default_language):  # a change of it is a write to `subjects`
            info = ical.FeedInfo(
                name=_("ISCG – {title}", title=subject.title),
                description=_("Electronic meetings of the ISCG subject {title}", title=subject.title),
                refresh=FEED_REFRESH,
                url=self.base_url + subject_feed_path(subject.slug),
            )
            return await self._render(uow, meetings, info, [subject])

    async def _personal_feed(self, uow: UnitOfWork, matrix_id: str, language: str) -> RenderedFeed:
        subjects = await subjects_of(uow, matrix_id, self.clock.now())
        meetings = await FeedRows(uow.session).meetings([None, *(s.id for s in subjects)])
        with speaking(language):
            info = ical.FeedInfo(
                name=_("ISCG – my meetings"),
                description=_(
                    "ISCG meetings of the subjects {user} takes part in, and group-wide meetings",
                    user=matrix_id,
                ),
                refresh=FEED_REFRESH,
            )
            return await self._render(uow, meetings, info, subjects)

    async def _render(
        self,
        uow: UnitOfWork,
        meetings: list[MeetingRow],
        info: ical.FeedInfo,
        subjects: list[Subject],
        *,
        complete: bool = False,
    ) -> RenderedFeed:
        """`complete`: the feed holds every meeting (the group feed), so kept blocks of others can go. Written
        in the language being written (`speaking`)."""
        minuted = await FeedRows(uow.session).minuted()
        body = self.blocks.render(
            meetings,
            info=info,
            subjects={s.id: s for s in subjects},
            minutes_url=lambda m: self.base_url + minutes_path(m.id) if m.id in minuted else None,
            complete=complete,
        )
        self.renders += 1
        changed = ical.last_modified(meetings) or EMPTY_FEED_DATE
        return RenderedFeed(body, ical.feed_etag(body), changed.astimezone(UTC).replace(microsecond=0))


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


def feed_routes(feeds: FeedCache, metrics: Metrics | None) -> list[web.RouteDef]:
    """The three feed routes, answered from `feeds`; each answer counted in `metrics` by kind and status.

    An unknown feed or token raises `HTTPNotFound`, which the server answers like any missing page."""

    async def group_feed(request: web.Request) -> web.Response:
        return _feed_response(request, await feeds.group(), "group", metrics)

    async def personal_feed(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        feed = await feeds.personal(name.removesuffix(".ics")) if name.endswith(".ics") else None
        if feed is None:
            raise web.HTTPNotFound()
        return _feed_response(request, feed, "personal", metrics)

    async def subject_feed(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not name.endswith(".ics"):
            raise web.HTTPNotFound()
        slug = name.removesuffix(".ics")
        feed = await feeds.group() if slug == GROUP_FEED else await feeds.subject(slug)
        if feed is None:
            raise web.HTTPNotFound()
        return _feed_response(request, feed, "group" if slug == GROUP_FEED else "subject", metrics)

    return [
        web.get(group_feed_path(), group_feed),
        web.get("/calendar/personal/{name}", personal_feed),
        web.get("/calendar/{name}", subject_feed),
    ]
