"""Meeting reminders end to end through a real Synapse, on a clock the test moves.

In-process, the bot runs on a FrozenClock and the test calls `run_due()` (what the scheduler's jobs and tick
run). As its own process, the bot reads the time from a file (`--test-clock-file`) and its one-second tick
notices the test moving it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from iscg_bot.core.clock import FrozenClock
from iscg_bot.storage import UnitOfWork
from tests.support.conversation import barrier
from tests.support.matrix_user import body_of, is_message, is_reply_to

pytestmark = pytest.mark.e2e

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SCHEDULE = '!meeting schedule "Coordination call" 2026-11-26 11:00 Europe/Zurich for 90m link https://meet.example.org/cop'
WHEN = "Thu 26 Nov 2026 11:00–12:30 Europe/Zurich (UTC+01:00) · 10:00–11:30 UTC"
BARRIER_MEETING = '!meeting schedule "Barrier" 2026-11-26 11:03 Europe/Zurich for 30m force'


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def command(user, room_id: str, bot_id: str, body: str) -> str:
    sent = await user.send_text(room_id, body)
    reply = await user.wait_for(is_reply_to(sent, sender=bot_id), room_id=room_id, timeout=30)
    return body_of(reply)


async def meeting_room(alice, bot_id: str) -> str:
    room_id = await alice.create_room(invite=[bot_id])
    await alice.wait_joined(room_id, bot_id, timeout=60)
    assert "cop" in await command(alice, room_id, bot_id, "!subject create cop Child Online Protection")
    assert (await command(alice, room_id, bot_id, SCHEDULE)).startswith("Scheduled M1")
    return room_id


async def claimed(bot) -> int:
    async with UnitOfWork(bot.app.database.sessions) as uow:
        return len(await uow.reminders.sent(1))


def reminders(user, room_id: str, bot_id: str) -> list[dict]:
    return [e for e in user.events(room_id) if is_message(sender=bot_id, contains="Reminder: M1")(e)]


async def test_reminders_arrive_at_their_moments_exactly_once(matrix_user_factory, bot_factory):
    alice = await matrix_user_factory("alice")
    clock = FrozenClock(START)
    bot = await bot_factory(admins=[alice.user_id], clock=clock)
    room_id = await meeting_room(alice, bot.user_id)
    assert (await command(alice, room_id, bot.user_id, "!rsvp M1 yes")).startswith("Noted")
    service = bot.app.reminders
    expected = [
        ("2026-11-25T10:00", f"Reminder: M1 “Coordination call” starts in 24 hours — {WHEN}"),
        ("2026-11-26T09:45", f"Reminder: M1 “Coordination call” starts in 15 minutes — {WHEN}"),
        ("2026-11-26T10:00", f"Reminder: M1 “Coordination call” starts now — {WHEN}"),
    ]
    # The bot's tick and jobs run `run_due()` too, whenever they like: count the claims, not who made them.
    for count, (at, first_line) in enumerate(expected, start=1):
        clock.set(utc(at) - timedelta(minutes=1))
        await service.run_due()
        assert await claimed(bot) == count - 1, f"nothing is due before {at}"
        clock.set(utc(at))
        await service.run_due()
        assert await claimed(bot) == count
        arrived = await alice.wait_for_count(
            is_message(sender=bot.user_id, contains="Reminder: M1"), count, room_id=room_id
        )
        latest = arrived[-1]["content"]
        assert latest["body"].splitlines()[0] == first_line
        assert latest["msgtype"] == "m.notice" and "m.relates_to" not in latest
        assert latest["m.mentions"] == {"user_ids": [alice.user_id]}
    assert "Join: https://meet.example.org/cop" in latest["body"]
    clock.set(utc("2026-11-26T10:30"))
    await service.run_due()
    assert await claimed(bot) == 3
    await barrier(alice, room_id, bot.user_id)  # queued after anything doubled: sent after it too
    assert len(reminders(alice, room_id, bot.user_id)) == 3


def set_clock(path: Path, at: datetime) -> None:
    """Move the bot's clock: write the file whole, so the bot never reads half a timestamp."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(at.isoformat(), encoding="utf-8")
    os.replace(temporary, path)


async def test_a_reminder_due_while_the_bot_was_killed_is_sent_once_marked_late(
    matrix_user_factory, bot_process, tmp_path
):
    clock_file = tmp_path / "now.txt"
    set_clock(clock_file, START)
    alice = await matrix_user_factory("alice")
    process, account = await bot_process(admins=[alice.user_id], clock_file=clock_file)
    bot_id = account.user_id
    process.start()
    try:
        room_id = await meeting_room(alice, bot_id)
        # M2 starts three minutes after M1: its start reminder, sent by a later tick, is the last barrier.
        assert (await command(alice, room_id, bot_id, BARRIER_MEETING)).startswith("Scheduled M2")
        process.kill()  # SIGKILL long before the 15-minute reminder is due…
        set_clock(clock_file, utc("2026-11-26T09:50"))  # …and back 5 minutes after it was
        process.start()
        late = await alice.wait_for(
            is_message(sender=bot_id, contains="Reminder: M1"), room_id=room_id, timeout=60
        )
        assert body_of(late) == (
            f"Reminder: M1 “Coordination call” starts in 10 minutes — {WHEN} (late: the bot was offline)"
        )
        # Killed again right after sending it and restarted: the reminder is not sent a second time.
        process.kill()
        process.start()
        # The barrier: the bot sends what is due before its first sync, so a second copy would be queued
        # before the pong (and a tick at the same clock finds what that pass found).
        assert await command(alice, room_id, bot_id, "!ping") == "pong"
        assert len(reminders(alice, room_id, bot_id)) == 1
        # Its clock moving on is noticed by the tick: the start reminder comes on time.
        set_clock(clock_file, utc("2026-11-26T10:00"))
        both = await alice.wait_for_count(
            is_message(sender=bot_id, contains="Reminder: M1"), 2, room_id=room_id, timeout=30
        )
        assert body_of(both[1]).startswith("Reminder: M1 “Coordination call” starts now")
        assert "late" not in body_of(both[1])
        # A later tick sends M2's start reminder after anything it or an earlier tick sent again of M1's.
        set_clock(clock_file, utc("2026-11-26T10:03"))
        barrier_start = is_message(sender=bot_id, contains="Reminder: M2 “Barrier” starts now")
        await alice.wait_for(barrier_start, room_id=room_id, timeout=30)
        assert len(reminders(alice, room_id, bot_id)) == 2
        assert process.terminate() == 0
    except BaseException:
        print(process.output()[-5000:])
        raise
