"""The due-day reminder of action items, sent by the reminder service's passes as a frozen clock moves, and
the open actions listed when a meeting starts (`open_actions_notice`).

The clock starts at Wed 25 Nov 2026 09:00 UTC (tests.chat.START); subject cop is in Europe/Zurich (UTC+1), so
09:00 there on Tue 1 Dec 2026 is 08:00 UTC.
"""

from __future__ import annotations

from datetime import date

import pytest

from iscg_bot.chat.action_reminders import run_due_actions
from iscg_bot.chat.outbox import txn_id
from iscg_bot.domain.actions import open_actions_notice
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, COORD, COP, Chat, said
from tests.support.reminders import new_service, sent_at, utc

MEMBER = "@member:example.org"
FREE = "!free:example.org"  # a room bound to no subject: the default zone, Europe/Zurich
DUE = "2026-12-01"
REMINDER = f"Reminder for {MEMBER}: A1 “Draft the agenda” is due today (Tue 1 Dec 2026)."


@pytest.fixture
async def bot(chat):
    """Subject cop (coordinator @coord), A1 for @member due Tue 1 Dec, a started reminder service."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, f"!action {MEMBER} Draft the agenda due {DUE}")
    service = new_service(chat)
    await service.start(run_jobs=False)
    chat.reminders = service
    try:
        yield chat
    finally:
        await service.stop()


async def reminded_on(chat: Chat, action_id: int = 1) -> date | None:
    async with UnitOfWork(chat.database.sessions) as uow:
        return (await uow.actions.get(action_id)).due_reminded_on


async def test_the_owner_is_reminded_once_at_nine_on_the_due_day(bot):
    assert await sent_at(bot, "2026-11-30T08:00") == []  # the day before
    assert await sent_at(bot, "2026-12-01T07:59") == []  # 08:59 in Zurich
    bot.clock.set(utc("2026-12-01T08:00"))
    assert await bot.reminders.run_due() == 1
    assert await bot.reminders.run_due() == 0
    [row] = await bot.pending()
    assert (row.room_id, row.txn_id, row.purpose) == (
        COP,
        txn_id(f"action-due:A1:{DUE}", 0),
        f"action-due:A1:{DUE}",
    )
    [reminder] = await bot.take_outbox()
    assert reminder["body"] == REMINDER
    assert reminder["m.mentions"] == {"user_ids": [MEMBER]}
    assert f'href="https://matrix.to/#/{MEMBER}"' in reminder["formatted_body"]
    restarted = new_service(bot)  # a restart: nothing in memory, the database remembers
    await restarted.start(run_jobs=False)
    try:
        assert await sent_at(bot, "2026-12-01T12:00", restarted) == []
    finally:
        await restarted.stop()
    assert await reminded_on(bot) == date(2026, 12, 1)


async def test_a_bot_down_at_nine_reminds_late_until_the_day_ends(bot):
    [reminder] = await sent_at(bot, "2026-12-01T22:59")  # 23:59 in Zurich
    assert reminder["body"] == REMINDER


async def test_a_bot_down_all_day_skips_the_reminder_for_good(bot, caplog):
    assert await sent_at(bot, "2026-12-01T23:00") == []  # already Wed 2 Dec in Zurich
    assert await reminded_on(bot) == date(2026, 12, 1)  # recorded, so no later pass looks at it again
    assert "skipping the reminder action-due:A1:2026-12-01" in caplog.text
    assert await sent_at(bot, "2026-12-02T08:00") == []


async def test_closed_actions_are_never_reminded(bot):
    await said(bot, "!action done A1", by=MEMBER)
    assert await sent_at(bot, "2026-12-01T08:00") == []
    bot.clock.set(utc("2026-12-01T08:30"))
    await said(bot, "!action reopen A1", by=MEMBER)  # reopened after nine on the day: whoever did knows
    assert await sent_at(bot, "2026-12-01T09:00") == []


async def test_a_new_due_date_rearms_one_reminder(bot):
    assert len(await sent_at(bot, "2026-12-01T08:00")) == 1
    await said(bot, "!action due A1 2026-12-03", by=MEMBER)
    assert await sent_at(bot, "2026-12-02T08:00") == []
    [reminder] = await sent_at(bot, "2026-12-03T08:00")
    assert reminder["body"] == f"Reminder for {MEMBER}: A1 “Draft the agenda” is due today (Thu 3 Dec 2026)."
    assert await sent_at(bot, "2026-12-03T09:00") == []


async def test_a_due_day_set_after_nine_that_same_day_is_not_reminded(bot):
    bot.clock.set(utc("2026-12-01T10:00"))
    await said(bot, f"!action {MEMBER} Urgent due {DUE}")
    assert [r["body"] for r in await sent_at(bot, "2026-12-01T10:01")] == [REMINDER]  # A1 only, late
    assert await reminded_on(bot, 2) == date(2026, 12, 1)


async def test_the_reminder_follows_the_subjects_zone_and_names_someone_not_on_matrix(bot):
    await said(bot, "!subject set timezone Asia/Tokyo")  # 09:00 in Tokyo is 00:00 UTC
    await said(bot, '!action "Jane Doe" Book the venue due 2026-12-02')
    assert await sent_at(bot, "2026-11-30T23:59") == []
    assert [r["body"] for r in await sent_at(bot, "2026-12-01T00:00")] == [REMINDER]
    [jane] = await sent_at(bot, "2026-12-02T00:00")
    assert jane["body"] == "Reminder for Jane Doe: A2 “Book the venue” is due today (Wed 2 Dec 2026)."
    assert jane["m.mentions"] == {}


async def test_run_due_actions_alone_and_a_room_without_subject(chat):
    await said(chat, f"!action {MEMBER} Group-wide task due {DUE}", room=FREE)
    assert await run_due_actions(chat.database.sessions, utc("2026-12-01T07:59")) == 0
    assert await run_due_actions(chat.database.sessions, utc("2026-12-01T08:00")) == 1
    assert await run_due_actions(chat.database.sessions, utc("2026-12-01T08:00")) == 0
    [row] = await chat.pending()
    assert row.room_id == FREE


async def test_open_actions_are_listed_for_the_next_meeting(bot):
    await said(bot, f"!action {MEMBER} Undated")
    await said(bot, f"!action {MEMBER} Closed")
    await said(bot, "!action done A3", by=MEMBER)
    async with UnitOfWork(bot.database.sessions) as uow:
        subject = await uow.subjects.by_room(COP)
        notice = await open_actions_notice(
            uow, subject_id=subject.id, room_id=COP, zone="Europe/Zurich", today=date(2026, 12, 2)
        )
        assert notice is not None
        assert notice.plain.splitlines() == [
            "Open actions:",
            f"• A1 · {MEMBER} · Draft the agenda · due Tue 1 Dec 2026 · open, overdue",
            f"• A2 · {MEMBER} · Undated · open",
        ]
        assert "<ul><li>" in notice.html and notice.mentions == ()  # a listing pings nobody
        nothing = await open_actions_notice(
            uow, subject_id=None, room_id=FREE, zone="Europe/Zurich", today=date(2026, 12, 2)
        )
        assert nothing is None
