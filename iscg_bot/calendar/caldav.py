"""CalDAV publishing: every meeting as one calendar object resource in the organisation's collection.

    publisher = CalDavPublisher(database.sessions, clock, settings.caldav, http_timeout=30, commits=commits)
    await publisher.start()  # rounds in the background until `await publisher.stop()`
    publisher.wake()  # a round soon (done by itself after every commit, when given `commits`)

One resource per meeting, `<collection>/iscg-meeting-<id>.ics`: the series and its moved occurrences together,
rendered by `iscg_bot.calendar.feeds` exactly as the feeds have them (same UID and SEQUENCE). What was
published is kept in bot_state under `caldav.M<id>` as JSON `{"etag", "sequence", "href", "deleted",
"language"}`; a round (`sync_once`) publishes every meeting whose SEQUENCE differs from the one published (or
that never was), and every meeting whose texts were written in another language than its subject's now
(`!subject set language es` republishes the subject's meetings in Spanish, same SEQUENCE).

- Creation is `PUT` with `If-None-Match: *`, an update `PUT` with `If-Match: <etag>`. A 412 means someone
  changed (or removed) the resource on the server: the database is the source of truth, so the current ETag
  is fetched and the write retried once with it (or as a creation when the resource is gone).
- A cancelled meeting is PUT with STATUS:CANCELLED (`on_cancel = "update"`) or DELETEd (`"delete"`).
- SEQUENCE is the meeting's own; the publisher never raises it.
- The texts the bot writes in it (descriptions, the join label) are in the meeting's subject's language, else
  the group's default (`default_language`), as in the subject's feed.
- The network I/O runs in its own task (a `LoopWorker`), outside any chat transaction, with backoff on
  failures.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from iscg_bot.calendar.feeds import FeedInfo, render_feed
from iscg_bot.core.clock import Clock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.config import CalDavSettings
from iscg_bot.core.language import SOURCE, speaking
from iscg_bot.core.workers import Backoff, LoopWorker
from iscg_bot.storage import UnitOfWork
from iscg_bot.storage.models import BotState, Meeting, Subject

__all__ = ["STATE_PREFIX", "CalDavError", "CalDavPublisher", "SyncResult", "forget_published", "state_key"]

log = logging.getLogger(__name__)

STATE_PREFIX = "caldav.M"
IDLE_SECONDS = 60.0  # a round at least this often, even without a wake-up
CONTENT_TYPE = "text/calendar; charset=utf-8"


def state_key(meeting_id: int) -> str:
    return f"{STATE_PREFIX}{meeting_id}"


async def forget_published(uow: UnitOfWork, at: datetime) -> int:
    """In the caller's transaction: mark every meeting as not yet published, so the next round publishes
    them all again. The ETag and href are kept (an update of an existing resource needs them). Returns how
    many meetings are queued."""
    rows = (
        await uow.session.execute(select(BotState).where(BotState.key.like(f"{STATE_PREFIX}%")))
    ).scalars()
    for row in list(rows):
        try:
            state = json.loads(row.value)
        except ValueError:
            state = {}
        state["sequence"] = None
        await uow.state.set(row.key, json.dumps(state, sort_keys=True), at)
    return int(await uow.session.scalar(select(func.count()).select_from(Meeting)) or 0)


class CalDavError(Exception):
    """The server refused a write for a reason other than a stale ETag (or refused the retry too)."""


@dataclass
class SyncResult:
    published: int = 0
    deleted: int = 0
    failed: int = 0
    conflicts: int = 0  # 412s recovered from


class CalDavPublisher(LoopWorker):
    name = "caldav"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: CalDavSettings,
        *,
        http_timeout: float = 30.0,
        stopping: asyncio.Event | None = None,
        commits: CommitListeners | None = None,
        default_language: str = SOURCE,
    ) -> None:
        super().__init__(clock, stopping)
        self.sessions = sessions
        self.settings = settings
        self.default_language = default_language  # the group's (`bot.default_language`)
        self.collection = settings.collection_url.rstrip("/") + "/"
        self.timeout = aiohttp.ClientTimeout(total=http_timeout)
        password = settings.password.get_secret_value() if settings.password else ""
        self.headers = (
            {"Authorization": aiohttp.encode_basic_auth(settings.username, password)}
            if settings.username
            else {}
        )
        self._lock = asyncio.Lock()  # one round at a time
        if commits is not None:
            commits.on_commit(self.wake)  # a commit may have changed a meeting

    def href(self, meeting_id: int) -> str:
        return f"{self.collection}iscg-meeting-{meeting_id}.ics"

    # ---- the loop --------------------------------------------------------------------------------------

    async def loop(self) -> None:
        """Rounds until stopped: on a wake-up or every minute; failures retried with backoff."""
        backoff = Backoff(first=1.0, cap=float(self.settings.retry_max_seconds))
        while not self.stopping.is_set():
            self.woken.clear()
            try:
                result = await self.sync_once()
                if result.failed:
                    self.failed(f"{result.failed} meeting(s) not published")
            except Exception as error:  # sync_once catches its own; this is the last line of defence
                log.exception("CalDAV round failed")
                self.failed(error)
                result = None
            if result is None or result.failed:
                delay = min(backoff.next_delay(), float(self.settings.retry_max_seconds))
                log.warning("CalDAV: retrying in %.1f s", delay)
                await self.pause(delay, wakeable=False)
            else:
                backoff.reset()
                self.succeeded()
                await self.pause(IDLE_SECONDS)

    async def resync(self) -> int:
        """Forget what was published and publish every meeting again (in the next round). Returns how many
        meetings are queued."""
        async with UnitOfWork(self.sessions) as uow:
            count = await forget_published(uow, self.clock.now())
            await uow.commit()
        self.wake()
        return count

    async def sync_once(self) -> SyncResult:
        """One round: publish what changed. Never raises; a connection failure ends the round early."""
        async with self._lock:
            result = SyncResult()
            try:
                todo = await self._pending()
            except Exception:
                log.exception("CalDAV: reading the meetings failed")
                result.failed += 1
                return result
            if not todo:
                return result
            async with aiohttp.ClientSession(timeout=self.timeout, headers=self.headers) as http:
                for meeting, subjects, state in todo:
                    try:
                        await self._publish(http, meeting, subjects, state, result)
                    except (aiohttp.ClientConnectionError, TimeoutError) as error:
                        log.warning("CalDAV server unreachable (%s): will retry", error)
                        result.failed += 1
                        break
                    except Exception:
                        log.exception("CalDAV: publishing M%s failed", meeting.id)
                        result.failed += 1
            return result

    # ---- one round -------------------------------------------------------------------------------------

    async def _pending(self) -> list[tuple[Meeting, dict[int, Subject], dict[str, Any] | None]]:
        async with UnitOfWork(self.sessions) as uow:
            sequences = dict((await uow.session.execute(select(Meeting.id, Meeting.sequence))).all())
            rows = await uow.session.execute(
                select(BotState.key, BotState.value).where(BotState.key.like(f"{STATE_PREFIX}%"))
            )
            published: dict[int, dict[str, Any]] = {}
            for key, value in rows.all():
                suffix = key.removeprefix(STATE_PREFIX)
                if suffix.isdigit():
                    try:
                        published[int(suffix)] = json.loads(value)
                    except ValueError:
                        log.warning("CalDAV: unreadable state %s, republishing", key)
            subjects = {s.id: s for s in await uow.subjects.list(include_archived=True)}
            of_subject: dict[int, int | None] = dict(
                (await uow.session.execute(select(Meeting.id, Meeting.subject_id))).all()
            )
            changed = [
                mid
                for mid, seq in sorted(sequences.items())
                if (published.get(mid) or {}).get("sequence") != seq
                or self._written_in_another_language(
                    published.get(mid), self._subject(subjects, of_subject[mid])
                )
            ]
            if not changed:
                return []
            todo = []
            for meeting_id in changed:
                meeting = await uow.meetings.get(meeting_id)
                if meeting is None:
                    continue
                todo.append((meeting, subjects, published.get(meeting_id)))
            return todo

    @staticmethod
    def _subject(subjects: dict[int, Subject], subject_id: int | None) -> Subject | None:
        return subjects.get(subject_id) if subject_id is not None else None

    def language_of(self, subject: Subject | None) -> str:
        """What a meeting's texts are written in: its subject's language, else the group's."""
        return (subject.language if subject is not None else None) or self.default_language

    def _written_in_another_language(self, state: dict[str, Any] | None, subject: Subject | None) -> bool:
        """Published, not deleted, in another language than the one it would be written in now (a state
        from before languages were recorded counts as the group's)."""
        if state is None or state.get("deleted"):
            return False
        return state.get("language", self.default_language) != self.language_of(subject)

    async def _publish(
        self,
        http: aiohttp.ClientSession,
        meeting: Meeting,
        subjects: dict[int, Subject],
        state: dict[str, Any] | None,
        result: SyncResult,
    ) -> None:
        href = (state or {}).get("href") or self.href(meeting.id)
        etag = None if (state or {}).get("deleted") else (state or {}).get("etag")
        if meeting.status == "cancelled" and self.settings.on_cancel == "delete":
            if state is not None and not state.get("deleted"):
                await self._delete(http, href, etag, meeting.id, result)
            await self._save(
                meeting.id, state, {"etag": None, "sequence": meeting.sequence, "href": href, "deleted": True}
            )
            result.deleted += 1
            return
        subject = self._subject(subjects, meeting.subject_id)
        language = self.language_of(subject)
        with speaking(language):
            info = FeedInfo(name=f"M{meeting.id} {meeting.title}")
            body = render_feed([meeting], info=info, subjects=subjects)
        new_etag = await self._put(http, href, body, etag, meeting.id, result)
        await self._save(
            meeting.id,
            state,
            {
                "etag": new_etag,
                "sequence": meeting.sequence,
                "href": href,
                "deleted": False,
                "language": language,
            },
        )
        result.published += 1
        log.info("CalDAV: published M%s (SEQUENCE %s)", meeting.id, meeting.sequence)

    async def _put(
        self,
        http: aiohttp.ClientSession,
        href: str,
        body: bytes,
        etag: str | None,
        meeting_id: int,
        result: SyncResult,
    ) -> str | None:
        for attempt in (1, 2):
            headers = {"Content-Type": CONTENT_TYPE}
            if etag:
                headers["If-Match"] = etag
            else:
                headers["If-None-Match"] = "*"
            async with http.put(href, data=body, headers=headers) as response:
                await response.read()
                if response.status in (200, 201, 204):
                    return response.headers.get("ETag") or await self._current_etag(http, href)
                if response.status == 412 and attempt == 1:
                    etag = await self._current_etag(http, href)
                    result.conflicts += 1
                    log.warning(
                        "CalDAV: M%s was changed on the server (412); overwriting it with ours", meeting_id
                    )
                    continue
                raise CalDavError(f"PUT {href}: HTTP {response.status}")
        raise CalDavError(f"PUT {href}: still a precondition failure")  # pragma: no cover

    async def _delete(
        self, http: aiohttp.ClientSession, href: str, etag: str | None, meeting_id: int, result: SyncResult
    ) -> None:
        for attempt in (1, 2):
            headers = {"If-Match": etag} if etag else {}
            async with http.delete(href, headers=headers) as response:
                await response.read()
                if response.status in (200, 204, 404, 410):
                    return
                if response.status == 412 and attempt == 1:
                    etag = await self._current_etag(http, href)
                    result.conflicts += 1
                    log.warning("CalDAV: M%s was changed on the server (412); deleting it anyway", meeting_id)
                    if etag is None:
                        return  # already gone
                    continue
                raise CalDavError(f"DELETE {href}: HTTP {response.status}")

    async def _current_etag(self, http: aiohttp.ClientSession, href: str) -> str | None:
        """The resource's ETag now, None when it does not exist."""
        async with http.head(href) as response:
            if response.status == 404:
                return None
            if response.status >= 400 or not response.headers.get("ETag"):
                async with http.get(href) as got:
                    await got.read()
                    if got.status == 404:
                        return None
                    if got.status >= 400:
                        raise CalDavError(f"GET {href}: HTTP {got.status}")
                    return got.headers.get("ETag")
            return response.headers.get("ETag")

    async def _save(self, meeting_id: int, was: dict[str, Any] | None, state: dict[str, Any]) -> None:
        """Record what was published. A `!calendar resync` that reset the record while this write was under
        way is kept: the meeting stays queued for the next round."""
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.state.get(state_key(meeting_id))
            if stored is not None and was is not None and was.get("sequence") is not None:
                try:
                    if json.loads(stored).get("sequence") is None:
                        state = {**state, "sequence": None}
                except ValueError:
                    pass
            await uow.state.set(state_key(meeting_id), json.dumps(state, sort_keys=True), self.clock.now())
            await uow.commit()
