"""Meeting reminders through the chat driver: scheduled by chat, sent by the ReminderService as a frozen
clock moves. The scheduler runs paused (its timers follow the real clock); the tests call `run_due()`, the
code path every job runs.

The clock starts at Wed 25 Nov 2026 09:00 UTC (tests.chat.START); offsets are the default 24 h, 15 min, 0.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from iscg_bot.chat.outbox import txn_id
from iscg_bot.chat.reminders import Reminder, ReminderService, reminder_message
from iscg_bot.core.config import RemindersSettings
from iscg_bot.core.i18n import speaking
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, COORD, COP, Chat, said
from tests.support.reminders import CALL, new_service, sent_at, utc

MEMBER = "@member:example.org"
FP = "@fp:itu.int"
GUEST = "@guest:example.org"
WHEN = "Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC"


@pytest.fixture
async def bot(chat):
    """The chat with a subject `cop` (coordinator @coord) and a started reminder service on its database."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    service = new_service(chat)
    await service.start(run_jobs=False)
    chat.commits.on_commit(service.wake)
    chat.reminders = service
    try:
        yield chat
    finally:
        await service.stop()


async def fires_exactly_at(chat: Chat, at: str) -> dict:
    """Nothing a minute before `at`, then exactly one reminder at `at`."""
    assert await sent_at(chat, (utc(at) - timedelta(minutes=1)).isoformat()[:16]) == []
    [reminder] = await sent_at(chat, at)
    return reminder


async def claims(chat: Chat, meeting_id: int) -> list[tuple[int, bool, bool]]:
    async with UnitOfWork(chat.database.sessions) as uow:
        return [(r.offset_minutes, r.late, r.skipped) for r in await uow.reminders.sent(meeting_id)]


async def test_reminders_come_24_hours_and_15_minutes_before_and_at_the_start(bot):
    await said(bot, CALL)
    day_before = await fires_exactly_at(bot, "2026-12-02T13:00")
    assert day_before["body"] == f"Reminder: M1 “Coordination call” starts in 24 hours — {WHEN}"
    assert day_before["msgtype"] == "m.notice"
    assert "m.relates_to" not in day_before and day_before["m.mentions"] == {}
    quarter = await fires_exactly_at(bot, "2026-12-03T12:45")
    assert quarter["body"] == f"Reminder: M1 “Coordination call” starts in 15 minutes — {WHEN}"
    start = await fires_exactly_at(bot, "2026-12-03T13:00")
    assert start["body"].splitlines() == [
        f"Reminder: M1 “Coordination call” starts now — {WHEN}",
        "Join: https://meet.example.org/cop",
    ]
    assert '<a href="https://meet.example.org/cop">' in start["formatted_body"]
    assert await sent_at(bot, "2026-12-03T14:00") == []
    assert await claims(bot, 1) == [(1440, False, False), (15, False, False), (0, False, False)]


async def test_each_reminder_is_sent_once_whatever_runs_it(bot):
    await said(bot, CALL)
    bot.clock.set(utc("2026-12-03T12:45"))
    assert await bot.reminders.run_due() == 1
    assert await bot.reminders.run_due() == 0
    [row] = await bot.pending()
    assert row.room_id == COP
    assert row.txn_id == txn_id("reminder:1:2026-12-03T13:00:00+00:00:15", 0)
    await bot.take_outbox()
    restarted = new_service(bot)  # a restart: nothing in memory, the database remembers
    await restarted.start(run_jobs=False)
    try:
        assert await restarted.run_due() == 0
        assert await bot.pending() == []
    finally:
        await restarted.stop()
    assert await claims(bot, 1) == [(1440, False, True), (15, False, False)]  # the day-before one was missed


async def test_a_weekly_series_is_reminded_at_the_right_utc_instants_across_dst(bot):
    await said(bot, '!meeting schedule "Weekly" 2027-03-25 14:00 Europe/Zurich every week times 2')
    # Zurich moves to summer time on Sun 28 Mar 2027: 14:00 is 13:00 UTC before, 12:00 UTC after.
    for at in ["2027-03-24T13:00", "2027-03-25T12:45", "2027-03-25T13:00", "2027-03-31T12:00"]:
        await fires_exactly_at(bot, at)
    quarter = await fires_exactly_at(bot, "2027-04-01T11:45")
    assert quarter["body"] == (
        "Reminder: M1 “Weekly” starts in 15 minutes — "
        "Thu 1 Apr 2027 14:00–15:00 Europe/Zurich (UTC+02:00) · 12:00–13:00 UTC"
    )
    await fires_exactly_at(bot, "2027-04-01T12:00")
    assert await sent_at(bot, "2027-04-09T12:00") == []


async def test_a_moved_occurrence_is_reminded_at_its_new_time(bot):
    await said(bot, '!meeting schedule "Series" 2026-12-03 14:00 Europe/Zurich every week times 3')
    await said(bot, "!meeting move M1 2026-12-11 16:00 Europe/Zurich occurrence 2026-12-10")
    bot.clock.set(utc("2026-12-09T16:00"))  # the next 48 hours hold the moved occurrence's reminders only
    await bot.reminders.rearm()
    assert sorted(bot.reminders.armed().values()) == [
        utc("2026-12-10T15:00"),
        utc("2026-12-11T14:45"),
        utc("2026-12-11T15:00"),
    ]
    assert await sent_at(bot, "2026-12-10T12:45") == []  # where it used to be
    assert await sent_at(bot, "2026-12-10T13:00") == []
    await fires_exactly_at(bot, "2026-12-10T15:00")
    quarter = await fires_exactly_at(bot, "2026-12-11T14:45")
    assert quarter["body"] == (
        "Reminder: M1 “Series” starts in 15 minutes — "
        "Fri 11 Dec 2026 16:00–17:00 Europe/Zurich (UTC+01:00) · 15:00–16:00 UTC"
    )


async def test_cancelled_occurrences_and_meetings_are_not_reminded(bot):
    await said(bot, '!meeting schedule "Series" 2026-12-03 14:00 Europe/Zurich every week times 3')
    await said(bot, '!meeting schedule "One-off" 2026-12-10 16:00 Europe/Zurich')
    await said(bot, "!meeting cancel M1 occurrence 2026-12-10 holidays")
    await said(bot, "!meeting cancel M2")
    bot.clock.set(utc("2026-12-09T12:00"))
    await bot.reminders.rearm()
    assert bot.reminders.armed() == {}
    for at in [
        "2026-12-09T13:00",
        "2026-12-09T15:00",
        "2026-12-10T12:45",
        "2026-12-10T13:00",
        "2026-12-10T15:00",
    ]:
        assert await sent_at(bot, at) == [], at
    await fires_exactly_at(bot, "2026-12-17T12:45")  # the series goes on


async def test_people_who_said_yes_are_mentioned(bot):
    await said(bot, CALL)
    await said(bot, "!rsvp M1 yes", by=MEMBER)
    await said(bot, "!rsvp M1 no", by=FP)
    await said(bot, "!rsvp M1 maybe", by=GUEST)
    await said(bot, "!rsvp M1 yes", by=COORD)
    quarter = await fires_exactly_at(bot, "2026-12-03T12:45")
    assert quarter["m.mentions"] == {"user_ids": [COORD, MEMBER]}
    assert quarter["body"].splitlines()[1] == f"Coming: {COORD}, {MEMBER}"
    assert f'<a href="https://matrix.to/#/{MEMBER}">{MEMBER}</a>' in quarter["formatted_body"]
    assert FP not in quarter["body"] and GUEST not in quarter["body"]


async def test_a_reminder_missed_while_down_is_sent_late_within_the_grace_period(bot):
    await said(bot, CALL)
    await bot.reminders.stop()  # the bot goes down before the day-before reminder…
    bot.clock.set(utc("2026-12-03T12:50"))  # …and is back 5 minutes after the 15-minute one was due
    restarted = new_service(bot)
    await restarted.start(run_jobs=False)
    try:
        [late] = await bot.take_outbox()
        assert late["body"] == (
            f"Reminder: M1 “Coordination call” starts in 10 minutes — {WHEN} (late: the bot was offline)"
        )
        assert await restarted.run_due() == 0
    finally:
        await restarted.stop()
    again = new_service(bot)
    await again.start(run_jobs=False)
    try:
        assert await again.run_due() == 0
    finally:
        await again.stop()
    assert await bot.pending() == []
    assert await claims(bot, 1) == [(1440, False, True), (15, True, False)]
    # The start reminder is still to come, on time.
    start = await sent_at(bot, "2026-12-03T13:00", again)
    assert start[0]["body"].startswith("Reminder: M1 “Coordination call” starts now")


async def test_after_an_outage_only_the_latest_reminder_due_is_sent(bot):
    await said(bot, CALL)
    await bot.reminders.stop()
    bot.clock.set(utc("2026-12-03T13:05"))
    restarted = new_service(bot)
    await restarted.start(run_jobs=False)
    try:
        [late] = await bot.take_outbox()
    finally:
        await restarted.stop()
    assert late["body"].splitlines() == [
        f"Reminder: M1 “Coordination call” started 5 minutes ago — {WHEN} (late: the bot was offline)",
        "Join: https://meet.example.org/cop",
    ]
    assert await claims(bot, 1) == [(1440, False, True), (15, False, True), (0, True, False)]


async def test_a_reminder_beyond_the_grace_period_is_skipped_and_logged(bot, caplog):
    await said(bot, CALL)
    await bot.reminders.stop()
    bot.clock.set(utc("2026-12-03T14:01"))  # 61 minutes after the start: beyond the 60-minute grace
    restarted = new_service(bot)
    with caplog.at_level(logging.WARNING, logger="iscg_bot.chat.reminders"):
        await restarted.start(run_jobs=False)
    try:
        assert await bot.pending() == []
        assert await restarted.run_due() == 0
        assert await sent_at(bot, "2026-12-03T14:02", restarted) == []
    finally:
        await restarted.stop()
    assert await claims(bot, 1) == [(1440, False, True), (15, False, True), (0, False, True)]
    assert "skipping the reminder reminder:1:2026-12-03T13:00:00+00:00:0" in caplog.text


async def test_the_configured_offsets_are_used_and_no_grace_still_allows_a_timer_a_little_late(bot):
    await said(bot, CALL)
    await bot.reminders.stop()
    configured = RemindersSettings(offsets_minutes=[60, 5], grace_minutes=0)
    service = ReminderService(bot.database.sessions, bot.clock, configured, tick_seconds=None)
    await service.start(run_jobs=False)
    try:
        assert service.armed() == {}  # nothing due within 48 hours of 25 Nov
        assert await sent_at(bot, "2026-12-03T11:59:59", service) == []
        [hour] = await sent_at(bot, "2026-12-03T12:00:30", service)  # the timer fired 30 s late
        assert hour["body"] == f"Reminder: M1 “Coordination call” starts in 1 hour — {WHEN}"
        assert await sent_at(bot, "2026-12-03T13:00", service) == []  # no offset 0 configured
        assert await claims(bot, 1) == [(60, False, False), (5, False, True)]  # 5 min: missed, no grace
    finally:
        await service.stop()


async def test_a_meeting_scheduled_at_short_notice_gets_no_overdue_reminders(bot):
    await said(bot, '!meeting schedule "Quick" 2026-11-25T09:10Z')
    assert await sent_at(bot, "2026-11-25T09:01") == []  # the 24 h and 15 min ones were due before it existed
    [start] = await sent_at(bot, "2026-11-25T09:10")
    assert start["body"].startswith("Reminder: M1 “Quick” starts now")


async def test_armed_jobs_follow_the_database(bot):
    service = bot.reminders
    assert service.armed() == {}
    await said(bot, '!meeting schedule "Soon" 2026-11-26T10:00Z')
    await said(bot, '!meeting schedule "Later" 2026-12-10T10:00Z')  # beyond the 48-hour horizon
    await service.settled()
    expected = {
        "reminder:1:2026-11-26T10:00:00+00:00:1440": utc("2026-11-25T10:00"),
        "reminder:1:2026-11-26T10:00:00+00:00:15": utc("2026-11-26T09:45"),
        "reminder:1:2026-11-26T10:00:00+00:00:0": utc("2026-11-26T10:00"),
    }
    assert service.armed() == expected
    jobs = {job.id: job.next_run_time for job in service.scheduler.get_jobs()}
    assert jobs == expected
    await said(bot, "!meeting move M1 2026-11-26T12:00Z")
    await service.settled()
    assert service.armed() == {
        "reminder:1:2026-11-26T12:00:00+00:00:1440": utc("2026-11-25T12:00"),
        "reminder:1:2026-11-26T12:00:00+00:00:15": utc("2026-11-26T11:45"),
        "reminder:1:2026-11-26T12:00:00+00:00:0": utc("2026-11-26T12:00"),
    }
    await said(bot, "!meeting cancel M1")
    await service.settled()
    assert service.armed() == {}
    bot.clock.set(utc("2026-12-09T09:00"))  # time moves on: the horizon reaches the later meeting
    await service.rearm()
    assert set(service.armed()) == {
        "reminder:2:2026-12-10T10:00:00+00:00:1440",
        "reminder:2:2026-12-10T10:00:00+00:00:15",
        "reminder:2:2026-12-10T10:00:00+00:00:0",
    }


async def test_jobs_and_the_tick_run_the_same_path_and_stop_shuts_the_scheduler_down(bot):
    await said(bot, '!meeting schedule "Soon" 2026-11-26T10:00Z')
    service = ReminderService(bot.database.sessions, bot.clock, bot.config.reminders, tick_seconds=5)
    await service.start()  # running, not paused
    try:
        assert service.scheduler.running and service.armed()
        assert {job.func for job in service.scheduler.get_jobs()} == {service.run_due, service._tick}
    finally:
        await service.stop()
    assert not service.scheduler.running


def _first_line(minutes_before: int, language: str = "en") -> str:
    """The reminder's first line as it reads `minutes_before` the start (negative: after it)."""
    start = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    meeting = SimpleNamespace(id=1, title="Call", timezone="Europe/Zurich", link=None)
    reminder = Reminder(1, start, max(minutes_before, 0), start + timedelta(hours=1))
    with speaking(language):
        message = reminder_message(
            meeting, reminder, now=start - timedelta(minutes=minutes_before), late=minutes_before < 0
        )
    return message.plain.split(" — ", 1)[0]


def test_how_long_until_reads_naturally():
    """Whole hours in hours, anything else in minutes: one count in each sentence."""
    assert [_first_line(m) for m in (1, 15, 60, 90, 1440, 2880, -5, -120)] == [
        "Reminder: M1 “Call” starts in 1 minute",
        "Reminder: M1 “Call” starts in 15 minutes",
        "Reminder: M1 “Call” starts in 1 hour",
        "Reminder: M1 “Call” starts in 90 minutes",
        "Reminder: M1 “Call” starts in 24 hours",
        "Reminder: M1 “Call” starts in 48 hours",
        "Reminder: M1 “Call” started 5 minutes ago",
        "Reminder: M1 “Call” started 2 hours ago",
    ]


def test_each_language_writes_its_own_case_and_number_after_in_and_ago():
    """One count per sentence: Russian puts the accusative after «через» (1 минуту, 21 минуту) and before
    «назад»; Arabic has its dual (ساعتين, two hours)."""
    russian = [_first_line(m, "ru") for m in (1, 21, 90, -5, -120)]
    assert [line.split("»", 1)[1].strip() for line in russian] == [
        "начнется через 1 минуту",
        "начнется через 21 минуту",
        "начнется через 90 минут",
        "началось 5 минут назад",
        "началось 2 часа назад",
    ]
    assert _first_line(-120, "ar").endswith("قبل ساعتين")
