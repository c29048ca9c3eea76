"""Reminders when the bot starts on a big database: the catch-up after downtime runs beside the first sync
(`catch_up_in_background`, as the bot runs it) and still sends each missed reminder exactly once; the passes
read only the meetings that can have a reminder due (not a year of meetings to come), yet a meeting far
ahead, or one scheduled after the start, is reminded when its time comes.

The clock starts at Wed 25 Nov 2026 09:00 UTC (tests.chat.START); offsets are the default 24 h, 15 min, 0.
"""

from __future__ import annotations

import asyncio

import pytest

from iscg_bot.chat import reminders
from iscg_bot.chat.reminders import ReminderService
from iscg_bot.storage.repositories import _sql
from tests.chat import ADMIN, COORD, Chat, said
from tests.support.reminders import CALL, new_service, sent_at, utc

LATE = "Reminder: M1 “Coordination call” starts in 10 minutes — "


@pytest.fixture
async def cop(chat: Chat) -> Chat:
    """The chat with a subject `cop` (coordinator @coord)."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    return chat


def background_service(chat: Chat, *, tick_seconds: float | None = None) -> ReminderService:
    """The service as the bot builds it: its catch-up in a task of its own, its scheduler running."""
    return ReminderService(
        chat.database.sessions,
        chat.clock,
        chat.config.reminders,
        tick_seconds=tick_seconds,
        debounce_seconds=0.01,
        catch_up_in_background=True,
    )


async def test_start_does_not_wait_for_the_catch_up_which_sends_a_missed_reminder_once(cop, monkeypatch):
    await said(cop, CALL)
    cop.clock.set(utc("2026-12-03T12:50"))  # back 5 minutes after the 15-minute reminder was due
    service = background_service(cop)
    release = asyncio.Event()
    run_due = service.run_due

    async def held_up() -> int:  # the catch-up's database work, slow as on a big database
        await release.wait()
        return await run_due()

    monkeypatch.setattr(service, "run_due", held_up)
    try:
        await asyncio.wait_for(service.start(), timeout=5)  # returns though the catch-up cannot finish
        assert await cop.pending() == []
        release.set()
        await service.settled()
        [late] = await cop.take_outbox()
        assert late["body"].startswith(LATE) and late["body"].endswith("(late: the bot was offline)")
        assert await run_due() == 0
    finally:
        await service.stop()
    restarted = background_service(cop)  # and a second restart sends it no more
    await restarted.start()
    try:
        await restarted.settled()
        assert await cop.take_outbox() == []
    finally:
        await restarted.stop()


async def test_a_catch_up_that_fails_is_done_by_the_tick(cop, monkeypatch):
    await said(cop, CALL)
    cop.clock.set(utc("2026-12-03T12:50"))
    service = background_service(cop, tick_seconds=0.05)
    run_due = service.run_due
    calls = 0

    async def fails_once() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database is away")
        return await run_due()

    monkeypatch.setattr(service, "run_due", fails_once)
    await service.start()
    try:
        await service.settled()
        assert service.health().failures == 1
        for _ in range(200):  # the tick runs every 50 ms
            if await cop.pending():
                break
            await asyncio.sleep(0.05)
        [late] = await cop.take_outbox()
        assert late["body"].startswith(LATE)
    finally:
        await service.stop()


async def test_a_restart_sends_nothing_twice_whatever_the_number_of_meetings(cop, monkeypatch):
    for title in ("First", "Second", "Third"):
        await said(cop, f'!meeting schedule "{title}" 2026-12-03 14:00 Europe/Zurich force')
    monkeypatch.setattr(_sql, "IN_LIST_CHUNK", 2)  # the reminders already sent are read in several queries
    service = new_service(cop)
    await service.start(run_jobs=False)
    try:
        assert len(await sent_at(cop, "2026-12-03T12:45", service)) == 3
    finally:
        await service.stop()
    cop.clock.set(utc("2026-12-03T12:50"))
    restarted = new_service(cop)
    await restarted.start(run_jobs=False)
    try:
        assert await restarted.run_due() == 0
        assert await cop.take_outbox() == []
        assert len(await sent_at(cop, "2026-12-03T13:00", restarted)) == 3  # the start ones, once each
    finally:
        await restarted.stop()


async def test_a_meeting_months_ahead_is_reminded_when_its_time_comes(cop):
    await said(cop, '!meeting schedule "Far ahead" 2027-06-10 14:00 Europe/Zurich')
    service = new_service(cop)
    await service.start(run_jobs=False)
    try:
        assert service.armed() == {}  # nothing due within 48 hours of 25 Nov
        cop.clock.set(utc("2027-06-08T12:00"))
        await service.rearm()
        assert sorted(service.armed().values()) == [
            utc("2027-06-09T12:00"),
            utc("2027-06-10T11:45"),
            utc("2027-06-10T12:00"),
        ]
        [day_before] = await sent_at(cop, "2027-06-09T12:00", service)
        assert day_before["body"].startswith("Reminder: M1 “Far ahead” starts in 24 hours")
    finally:
        await service.stop()


async def test_a_meeting_scheduled_after_the_start_is_armed(cop):
    # Years ahead of the real clock too: the running scheduler's timers must not fire (and drop) the jobs.
    cop.clock.set(utc("2036-12-02T09:00"))
    service = background_service(cop)
    cop.commits.on_commit(service.wake)
    await service.start()
    try:
        await service.settled()
        assert service.armed() == {}
        await said(cop, '!meeting schedule "Soon" 2036-12-03 14:00 Europe/Zurich')  # all within 48 hours
        await service.settled()
        assert sorted(service.armed().values()) == [
            utc("2036-12-02T13:00"),
            utc("2036-12-03T12:45"),
            utc("2036-12-03T13:00"),
        ]
    finally:
        await service.stop()


def ticking_service(chat: Chat) -> ReminderService:
    """The service woken by every commit, as in the bot; the tests run its tick by hand."""
    return ReminderService(
        chat.database.sessions,
        chat.clock,
        chat.config.reminders,
        commits=chat.commits,
        tick_seconds=None,
        debounce_seconds=0.01,
    )


def count_meeting_reads(service: ReminderService, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads = [0]
    candidates = service._candidates

    async def counted(*args: object, **kwargs: object) -> object:
        reads[0] += 1
        return await candidates(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "_candidates", counted)
    return reads


async def test_a_tick_reads_the_meetings_only_when_a_reminder_may_be_due(cop, monkeypatch):
    service = ticking_service(cop)
    await service.start(run_jobs=False)
    reads = count_meeting_reads(service, monkeypatch)
    try:
        await said(cop, CALL)  # heard: re-armed
        await service.settled()
        cop.clock.set(utc("2026-12-01T12:00"))
        await service._tick()  # a commit since the last pass: the meetings are read
        read = reads[0]
        await service._tick()  # nothing committed, nothing armed due since: they are not
        assert reads[0] == read
        assert await cop.take_outbox() == []
        cop.clock.set(utc("2026-12-02T13:00"))  # the clock moved past the day-before reminder
        await service._tick()
        [day_before] = await cop.take_outbox()
        assert day_before["body"].startswith("Reminder: M1 “Coordination call” starts in 24 hours")
        read = reads[0]
        await service._tick()
        assert reads[0] == read and await cop.take_outbox() == []
        await said(cop, "!rsvp M1 yes", by=COORD)  # a commit that changes no meeting: nothing re-read
        await service.settled()
        await service._tick()
        assert reads[0] == read and await cop.take_outbox() == []
        await said(cop, "!meeting move M1 2026-12-02 14:30 Europe/Zurich force")  # 15 minutes from now
        await service.settled()
        cop.clock.set(utc("2026-12-02T13:15"))
        await service._tick()  # a commit since the last pass: read, and the moved meeting's reminder sent
        [quarter] = await cop.take_outbox()
        assert quarter["body"].startswith("Reminder: M1 “Coordination call” starts in 15 minutes")
    finally:
        await service.stop()


async def test_a_quiet_tick_still_sends_the_action_items_due_day_reminders(cop, monkeypatch):
    await said(cop, "!action @member:example.org Draft the agenda due 2026-12-01")
    service = ticking_service(cop)
    await service.start(run_jobs=False)
    reads = count_meeting_reads(service, monkeypatch)
    try:
        cop.clock.set(utc("2026-12-01T07:30"))  # 08:30 in Zurich
        await service._tick()
        await service._tick()
        read = reads[0]
        cop.clock.set(utc("2026-12-01T08:00"))  # nine in Zurich
        await service._tick()
        assert reads[0] == read  # no meeting, nothing to read them for
        [reminder] = await cop.take_outbox()
        assert reminder["body"].startswith(
            "Reminder for @member:example.org: A1 “Draft the agenda” is due today"
        )
    finally:
        await service.stop()


async def test_the_catch_up_waits_for_the_first_sync_and_a_stop_does_not_wait_for_it(cop, monkeypatch):
    await said(cop, CALL)
    cop.clock.set(utc("2026-12-03T12:50"))
    synced = asyncio.Event()  # the bot's: its first sync handled
    service = background_service(cop)
    service.catch_up_after = synced
    await service.start()
    try:
        await asyncio.sleep(0.2)
        assert await cop.pending() == []  # the first command is not answered beside it
        synced.set()
        await service.settled()
        [late] = await cop.take_outbox()
        assert late["body"].startswith(LATE)
    finally:
        await service.stop()

    monkeypatch.setattr(reminders, "CATCH_UP_WAIT", 0.1)  # a homeserver down at start: it waits no longer
    await said(cop, "!meeting schedule Other 2026-12-03 14:10 Europe/Zurich force")  # 15 minutes: 12:55 UTC
    cop.clock.set(utc("2026-12-03T12:57"))
    waiting = background_service(cop)
    waiting.catch_up_after = asyncio.Event()
    await waiting.start()
    try:
        await waiting.settled()
        [other] = await cop.take_outbox()
        assert other["body"].startswith("Reminder: M2 “Other” starts in 13 minutes")
    finally:
        await waiting.stop()

    monkeypatch.setattr(reminders, "CATCH_UP_WAIT", 60)
    stopped = background_service(cop)
    stopped.catch_up_after = asyncio.Event()
    await stopped.start()
    await asyncio.wait_for(stopped.stop(), timeout=5)  # SIGTERM while it waits: no minute-long stop
