"""Meeting reminders: derived from the database, armed in APScheduler, each sent exactly once.

    service = ReminderService(sessions, clock, settings.reminders, on_queued=outbox.wake, commits=commits)
    await service.start()      # sends what fell due while the bot was down, arms the coming ones
    service.wake()             # after a committed change (done for it, given `commits`): re-arm soon
    await service.run_due()    # send everything due now by the clock (what every job and the tick run)
    await service.stop()

A reminder is one (meeting, occurrence start in UTC, offset in minutes). The database says which are
wanted (meetings, their rules and overrides) and which were sent (`reminders_sent`); the scheduler only
holds a DateTrigger job per reminder due within the horizon, rebuilt from the database whenever anything
changes. Every job runs `run_due()`, which decides by the injected clock, never by the scheduler's time,
and a short real-time tick runs it too, so a missed timer (or a test clock moved by hand) costs seconds; a
tick that knows, from what was armed, that no meeting's reminder fell due since the last pass, and finds
the meetings as they were then (a few aggregate numbers), reads only the action items, not every running
series; likewise a commit that changed no meeting re-arms nothing.

Sending is one transaction: the claim in `reminders_sent` and the outbox row, whose Matrix transaction ID
is derived from the reminder itself, so neither a second run nor a retried send can post it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from iscg_bot.chat.action_reminders import run_due_actions
from iscg_bot.chat.languages import Languages
from iscg_bot.chat.outbox import notice_content, txn_id
from iscg_bot.core.clock import Clock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.config import RemindersSettings
from iscg_bot.core.formatting import Rich, enumeration, lines, link, mention
from iscg_bot.core.i18n import SOURCE, ntr, speaking, tr
from iscg_bot.core.metrics import Metrics
from iscg_bot.core.timeshow import span
from iscg_bot.core.workers import HealthRecord, WorkerHealth, first_set
from iscg_bot.domain.actions import DEFAULT_ZONE
from iscg_bot.domain.meetings import expand, meeting_label
from iscg_bot.storage import UnitOfWork
from iscg_bot.storage.models import Meeting

log = logging.getLogger(__name__)

JOB_PREFIX = "reminder:"
TICK_JOB = "reminders.tick"
HORIZON = timedelta(hours=48)  # reminders due this far ahead are armed as jobs
REARM_EVERY = timedelta(hours=1)  # the tick re-arms at least this often, so the horizon moves on
LOOKBACK = timedelta(days=7)  # at start, reminders missed up to this long ago are recorded (sent or skipped)
ON_TIME = timedelta(minutes=1)  # sent later than this after its due time, a reminder says it is late
Fingerprint = tuple[object, ...]  # see ReminderService._fingerprint
CATCH_UP_WAIT = 30.0  # seconds a background catch-up waits at most for `catch_up_after` (a homeserver down)
YIELD_EVERY = 100  # meetings expanded between two yields to the event loop: a pass never stalls the chat


@dataclass(frozen=True)
class Reminder:
    """One reminder of one occurrence; `key` names it everywhere (job ID, Matrix transaction ID)."""

    meeting_id: int
    occurrence_utc: datetime  # the occurrence's start as it stands (a moved one: its new start), UTC
    offset_minutes: int
    end_utc: datetime = field(compare=False)

    @property
    def due(self) -> datetime:
        return self.occurrence_utc - timedelta(minutes=self.offset_minutes)

    @property
    def key(self) -> str:
        start = self.occurrence_utc.astimezone(UTC).isoformat()
        return f"{JOB_PREFIX}{self.meeting_id}:{start}:{self.offset_minutes}"


def reminders_of(
    meeting: Meeting, offsets: Iterable[int], *, due_from: datetime, due_until: datetime
) -> list[Reminder]:
    """The meeting's reminders due in [due_from, due_until), by due time; cancelled occurrences have none."""
    offsets = sorted(set(offsets), reverse=True)
    if not offsets:
        return []
    longest = timedelta(minutes=offsets[0])
    found = []
    for occurrence in expand(meeting, due_from, due_until + longest, include_cancelled=False):
        for minutes in offsets:
            reminder = Reminder(meeting.id, occurrence.start.astimezone(UTC), minutes, occurrence.end)
            if due_from <= reminder.due < due_until:
                found.append(reminder)
    return sorted(found, key=lambda r: (r.due, r.key))


def reminder_message(
    meeting: Meeting, reminder: Reminder, *, now: datetime, late: bool, attendees: Iterable[str] = ()
) -> Rich:
    """`Reminder: M12 “Title” starts in 15 minutes — <when>`; at the start with the join link; the people
    who said yes are mentioned. Written in the language being spoken (the caller sets the room's)."""
    values = {
        "label": meeting_label(meeting.id),
        "title": meeting.title,
        "when": span(reminder.occurrence_utc, reminder.end_utc, meeting.timezone),
    }
    minutes = round((reminder.occurrence_utc - now).total_seconds() / 60)
    # Whole hours in hours, anything else in minutes ("starts in 90 minutes"): one count per sentence, so
    # each language writes its own case after "in" and "ago" (Russian "через 1 минуту", "1 минуту назад").
    hours, rest = divmod(abs(minutes), 60)
    if minutes == 0:
        first = tr("Reminder: {label} “{title}” starts now — {when}", **values)
    elif minutes > 0 and not rest:
        first = ntr(
            "Reminder: {label} “{title}” starts in {count} hour — {when}",
            "Reminder: {label} “{title}” starts in {count} hours — {when}",
            hours,
            **values,
        )
    elif minutes > 0:
        first = ntr(
            "Reminder: {label} “{title}” starts in {count} minute — {when}",
            "Reminder: {label} “{title}” starts in {count} minutes — {when}",
            minutes,
            **values,
        )
    elif not rest:
        first = ntr(
            "Reminder: {label} “{title}” started {count} hour ago — {when}",
            "Reminder: {label} “{title}” started {count} hours ago — {when}",
            hours,
            **values,
        )
    else:
        first = ntr(
            "Reminder: {label} “{title}” started {count} minute ago — {when}",
            "Reminder: {label} “{title}” started {count} minutes ago — {when}",
            -minutes,
            **values,
        )
    if late:
        first = tr("{reminder} (late: the bot was offline)", reminder=first)
    parts = [first]
    if reminder.offset_minutes == 0 and meeting.link:
        parts.append(tr("Join: {link}", link=link(meeting.link)))
    attendees = list(attendees)
    if attendees:
        parts.append(tr("Coming: {people}", people=enumeration(mention(a) for a in attendees)))
    return lines(parts)


class ReminderService:
    """Owns the scheduler; derives its jobs from the database and sends reminders as they fall due.

    A worker (`iscg_bot.core.workers.Worker`) whose loop is the scheduler: started, woken after every commit
    (`commits`), stopped."""

    name = "reminders"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: RemindersSettings,
        *,
        on_queued: Callable[[], None] = lambda: None,
        commits: CommitListeners | None = None,
        tick_seconds: float | None = 5.0,
        debounce_seconds: float = 0.2,
        horizon: timedelta = HORIZON,
        default_zone: str = DEFAULT_ZONE,
        metrics: Metrics | None = None,
        catch_up_in_background: bool = False,
        catch_up_after: asyncio.Event | None = None,
        languages: Languages | None = None,
    ) -> None:
        self.sessions = sessions
        # Whom a reminder speaks to: the whole room, in its subject's language (else the configured default).
        self.languages = languages
        self.catch_up_in_background = catch_up_in_background
        self.catch_up_after = catch_up_after
        self._catch_up_task: asyncio.Task[None] | None = None
        self._caught_up = False  # until then, neither a tick nor a wake reads the meetings: the catch-up will
        self._stopping = asyncio.Event()
        self.metrics = metrics or Metrics()
        self.default_zone = default_zone  # for the action items of rooms with no subject
        self.clock = clock
        self.offsets = list(settings.offsets_minutes)
        self.grace = timedelta(minutes=settings.grace_minutes)
        self.on_queued = on_queued
        self.tick_seconds = tick_seconds
        self.debounce_seconds = debounce_seconds
        self.horizon = horizon
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._lock = asyncio.Lock()  # one run_due() at a time
        self._arm_lock = asyncio.Lock()  # one rearm() at a time: the last to read the database writes last
        self._settled: dict[str, datetime] = {}  # reminders known to need nothing more: key → due
        self._armed_at: datetime | None = None
        # What lets a tick or a wake skip reading every running series (see `_quiet`): the meetings' state
        # (`_fingerprint`) the last arm read, what it wanted; when the last complete pass ran, on which state.
        self._armed_state: Fingerprint | None = None
        self._wanted: dict[str, datetime] = {}
        self._passed: tuple[datetime, Fingerprint] | None = None
        self._dirty = False
        self._rearm_task: asyncio.Task[None] | None = None
        self.record = HealthRecord()  # of the passes: run_due() and rearm() from the tick and the jobs
        if commits is not None:
            commits.on_commit(self.wake)

    # ---- life cycle ------------------------------------------------------------------------------------

    async def start(self, *, run_jobs: bool = True) -> None:
        """Send (late) or skip what fell due while the bot was down, then arm the coming reminders.

        With `catch_up_in_background` (as the bot runs it) that catch-up runs in a task of its own and
        `start()` returns at once: on a big database it reads every running series, and the first sync need
        not wait for it. Each reminder is claimed in its own transaction, so a command handled meanwhile (a
        cancellation, say) can neither make one go out twice nor let one due before the change go out; if
        the catch-up fails, the tick tries again. `settled()` waits for it. Given `catch_up_after` (the bot's
        first sync handled), it waits for that too, at most CATCH_UP_WAIT seconds, so that the first command
        is not answered while it reads every running series; until it has run, the tick and the commits'
        wakes leave the meetings to it.

        `run_jobs=False` starts the scheduler paused: jobs are armed and can be inspected, and only
        `run_due()` sends (for tests that move a frozen clock themselves); the catch-up is done on return.
        """
        self.scheduler.start(paused=not run_jobs)
        if self.catch_up_in_background and run_jobs:
            self._catch_up_task = asyncio.get_running_loop().create_task(self._catch_up())
        else:
            await self.run_due()
            self._caught_up = True  # before the arm reads the meetings: a wake from now on arms again
            await self.rearm()
            self.record.succeeded(self.clock.now())
        if self.tick_seconds:
            self.scheduler.add_job(
                self._tick,
                IntervalTrigger(seconds=self.tick_seconds, timezone=UTC),
                id=TICK_JOB,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )

    async def _catch_up(self) -> None:
        if self.catch_up_after is not None:
            await first_set(self.catch_up_after, self._stopping, timeout=CATCH_UP_WAIT)
            if self._stopping.is_set():
                return
        try:
            await self.run_due()
            self._caught_up = True  # before the arm reads the meetings: a wake from now on arms again
            await self.rearm()
            self.record.succeeded(self.clock.now())
        except Exception as error:
            log.exception("catching up with the reminders failed; the tick tries again shortly")
            self.record.failed(self.clock.now(), error)
            self._armed_at = None
        finally:
            self._caught_up = True

    async def stop(self) -> None:
        self._stopping.set()  # a catch-up still waiting for the first sync gives up
        if self._catch_up_task is not None:  # let it finish: it claims and queues in transactions
            await asyncio.gather(self._catch_up_task, return_exceptions=True)
        if self._rearm_task is not None:
            self._rearm_task.cancel()
            await asyncio.gather(self._rearm_task, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a callback on the loop
        async with self._lock:  # let a run in progress finish its transaction
            pass

    def health(self) -> WorkerHealth:
        return self.record.snapshot(self.name, bool(self.scheduler.running))

    def wake(self) -> None:
        """Something was committed: re-arm shortly (if a meeting changed), once for a burst of changes.
        Cheap; never blocks."""
        if not self.scheduler.running or not self._caught_up:
            return  # start() or the catch-up arms from the database anyway
        self._dirty = True
        if self._rearm_task is None or self._rearm_task.done():
            self._rearm_task = asyncio.get_running_loop().create_task(self._rearm_soon())

    async def settled(self) -> None:
        """Wait until the catch-up started by `start()` and a re-arm asked for by `wake()` are done."""
        if self._catch_up_task is not None:
            await asyncio.gather(self._catch_up_task, return_exceptions=True)
        while self._rearm_task is not None and not self._rearm_task.done():
            await asyncio.gather(self._rearm_task, return_exceptions=True)

    async def _rearm_soon(self) -> None:
        while self._dirty:
            await asyncio.sleep(self.debounce_seconds)
            self._dirty = False
            try:
                await self.rearm(unless_unchanged=True)
            except Exception as error:
                log.exception("re-arming the reminders failed; the tick will try again")
                self.record.failed(self.clock.now(), error)
                self._armed_at = None

    async def _tick(self) -> None:
        try:
            caught_up = self._caught_up
            await self._run(meetings=caught_up and not await self._quiet(self.clock.now()))
            now = self.clock.now()
            stale = self._armed_at is None or not self._armed_at <= now < self._armed_at + REARM_EVERY
            if caught_up and stale:  # (before, the catch-up arms)
                await self.rearm()
            self.record.succeeded(now)
        except Exception as error:
            log.exception("the reminder tick failed; it runs again shortly")
            self.record.failed(self.clock.now(), error)

    async def _quiet(self, now: datetime) -> bool:
        """Whether no meeting's reminder can have fallen due since the last complete pass, by what the last
        arm wanted: the meetings are as that pass and that arm read them (`_fingerprint`), the arm's window
        holds the time since the pass, and none of its reminders fell due in it. Only the tick asks, so that
        a quiet tick costs two aggregate queries, not reading every running series (a second, on a big
        database); a job, the catch-up and every other caller of `run_due()` read the meetings."""
        if self._passed is None or self._armed_at is None:
            return False
        passed_at, state = self._passed
        if not self._armed_at <= passed_at <= now < self._armed_at + self.horizon:
            return False
        if any(passed_at < due <= now and key not in self._settled for key, due in self._wanted.items()):
            return False
        return await self._fingerprint() == state == self._armed_state

    # ---- arming ----------------------------------------------------------------------------------------

    async def wanted(self, now: datetime) -> list[Reminder]:
        """The reminders due in (now, now + horizon], from the database."""
        step = timedelta(microseconds=1)
        async with UnitOfWork(self.sessions) as uow:
            meetings = await self._candidates(uow, due_from=now + step, due_until=now + self.horizon + step)
        found = []
        for n, meeting in enumerate(meetings, start=1):
            found += reminders_of(
                meeting, self.offsets, due_from=now + step, due_until=now + self.horizon + step
            )
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return found

    async def rearm(self, *, unless_unchanged: bool = False) -> None:
        """Make the scheduler's jobs match the reminders the database wants within the horizon.

        `unless_unchanged` (a wake's): nothing to do if the meetings are as the last arm read them and that
        arm is recent, as after most commits (a minute line, an RSVP, a membership)."""
        async with self._arm_lock:
            now = self.clock.now()
            state = await self._fingerprint()  # before the meetings: a change in between re-arms next time
            armed_at = self._armed_at
            recent = armed_at is not None and armed_at <= now < armed_at + REARM_EVERY
            if unless_unchanged and recent and state == self._armed_state:
                return
            wanted = {r.key: r.due for r in await self.wanted(now)}
            self._arm(wanted)
            self._wanted, self._armed_at, self._armed_state = wanted, now, state
        log.debug("%d reminders armed until %s", len(wanted), (now + self.horizon).isoformat())

    def _arm(self, wanted: dict[str, datetime]) -> None:
        for job in self.scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        for key, due in wanted.items():
            job = self.scheduler.get_job(key)
            if job is not None and job.trigger.run_date == due:
                continue
            self.scheduler.add_job(
                self.run_due,
                DateTrigger(run_date=due, timezone=UTC),
                id=key,
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=None,  # however late the timer, run_due() decides by the clock
            )

    def armed(self) -> dict[str, datetime]:
        """The armed reminder jobs: key → run date."""
        return {
            job.id: job.trigger.run_date for job in self.scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)
        }

    # ---- firing ----------------------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Send every reminder due by the clock and not sent yet; returns how many were queued.

        Per occurrence, only the latest reminder due is sent (after an outage, "starts now" makes "starts
        in 15 minutes" pointless); a reminder more than `grace_minutes` overdue is recorded as skipped.
        A reminder that was already due when the meeting was last changed is nobody's loss: not sent.
        """
        return await self._run(meetings=True)

    async def _run(self, *, meetings: bool) -> int:
        """A pass: the meetings' reminders (unless a quiet tick knows none is due), the action items'."""
        async with self._lock:
            now = self.clock.now()
            queued = await self._run_meetings(now) if meetings else 0
            try:  # the action items' due-day reminders ride on the same passes (see iscg_bot.domain.actions)
                queued += await run_due_actions(
                    self.sessions,
                    now,
                    default_zone=self.default_zone,
                    metrics=self.metrics,
                    default_language=self.languages.default if self.languages else SOURCE,
                )
            except Exception:
                log.exception("the action items' reminders failed; the next pass tries again")
        if queued:
            self.on_queued()
        return queued

    async def _run_meetings(self, now: datetime) -> int:
        state = await self._fingerprint()  # before the meetings, as in rearm()
        pending = await self._pending(now)
        queued = 0
        for group in pending.values():
            # On time is never beyond grace, even with no grace at all: a timer fires a little after.
            within = [r for r in group if now - r.due <= max(self.grace, ON_TIME)]
            for reminder in group:
                if reminder not in within:
                    log.warning(
                        "skipping the reminder %s: due %s, the bot was offline beyond the grace period",
                        reminder.key,
                        reminder.due.isoformat(),
                    )
                    await self._claim(reminder, now=now, skipped=True)
            if not within:
                continue
            latest = min(within, key=lambda r: r.offset_minutes)
            for reminder in within:
                if reminder is not latest:
                    log.info("skipping the reminder %s: a later one of the same meeting is due", reminder.key)
                    await self._claim(reminder, now=now, skipped=True)
            if await self._claim(latest, now=now, late=now - latest.due > ON_TIME):
                queued += 1
        self._forget_before(now - LOOKBACK - self.grace)
        self._passed = (now, state)
        return queued

    async def _fingerprint(self) -> Fingerprint:
        """The meetings' state in a few numbers (`Meetings.fingerprint`)."""
        async with UnitOfWork(self.sessions) as uow:
            return await uow.meetings.fingerprint()

    async def _pending(self, now: datetime) -> dict[tuple[int, datetime], list[Reminder]]:
        """Reminders due by now (within the lookback) that need something done, by occurrence."""
        since = now - LOOKBACK - self.grace
        step = timedelta(microseconds=1)
        pending: dict[tuple[int, datetime], list[Reminder]] = defaultdict(list)
        async with UnitOfWork(self.sessions) as uow:
            meetings = await self._candidates(uow, due_from=since, due_until=now + step)
            # A few queries for the lot, not one per reminder: after a restart, the week looked back on holds
            # thousands of reminders, nearly all sent. (An occurrence starts no earlier than its reminders
            # are due, so `since`, the earliest due time looked at, bounds them all.)
            sent = await uow.reminders.sent_since([m.id for m in meetings], since)
        for n, meeting in enumerate(meetings, start=1):
            for reminder in reminders_of(meeting, self.offsets, due_from=since, due_until=now + step):
                if reminder.key in self._settled:
                    continue
                if reminder.due < meeting.updated_at or (
                    (reminder.meeting_id, reminder.occurrence_utc, reminder.offset_minutes) in sent
                ):
                    self._settled[reminder.key] = reminder.due
                    continue
                pending[(reminder.meeting_id, reminder.occurrence_utc)].append(reminder)
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return pending

    async def _candidates(self, uow: UnitOfWork, *, due_from: datetime, due_until: datetime) -> list[Meeting]:
        """The meetings that may have a reminder due in [due_from, due_until): those with an occurrence that
        may overlap [due_from, due_until + the longest offset) — the series running then and the one-offs
        of that stretch, not every meeting to come (a year of them, in a big group)."""
        longest = timedelta(minutes=max(self.offsets, default=0))
        return await uow.meetings.overlapping(start_utc=due_from, end_utc=due_until + longest)

    async def _claim(
        self, reminder: Reminder, *, now: datetime, late: bool = False, skipped: bool = False
    ) -> bool:
        """Claim the reminder and (unless skipped) queue its message, in one transaction."""
        async with UnitOfWork(self.sessions) as uow:
            meeting = await uow.meetings.get(reminder.meeting_id)
            claimed = meeting is not None and await uow.reminders.claim(
                reminder.meeting_id,
                reminder.occurrence_utc,
                reminder.offset_minutes,
                at=now,
                late=late,
                skipped=skipped,
            )
            if meeting is not None and claimed and not skipped:
                yes = [
                    answer.matrix_id
                    for answer in await uow.rsvps.for_meeting(meeting.id)
                    if answer.answer == "yes"
                ]
                language = await self.languages.of_room(uow, meeting.room_id) if self.languages else SOURCE
                with speaking(language):
                    message = reminder_message(meeting, reminder, now=now, late=late, attendees=yes)
                await uow.outbox.add(
                    txn_id=txn_id(reminder.key, 0),
                    room_id=meeting.room_id,
                    event_type="m.room.message",
                    content=notice_content(message),
                    at=now,
                    purpose=reminder.key,
                )
            await uow.commit()
        self._settled[reminder.key] = reminder.due
        if claimed:
            self.metrics.reminder_claimed("meeting", "skipped" if skipped else "late" if late else "sent")
        if claimed and not skipped:
            log.info("reminder %s queued%s", reminder.key, " (late)" if late else "")
        return claimed and not skipped

    def _forget_before(self, instant: datetime) -> None:
        for key in [k for k, due in self._settled.items() if due < instant]:
            del self._settled[key]
