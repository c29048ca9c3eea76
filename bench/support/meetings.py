"""The benches' meetings: one subject and meetings spread over a year, created through the repositories as
the bot's `!meeting schedule` stores them (the feed and replica benches seed the same kind of calendar)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from iscg_bot.domain.recurrence import Repeat, series_end, to_rrule
from iscg_bot.storage import Meeting, Subject, UnitOfWork

ROOM = "!cop:example.org"
BY = "@bench:example.org"
ZONES = ("Europe/Zurich", "America/New_York", "Asia/Tokyo", "Africa/Nairobi", "America/Sao_Paulo")


async def create_subject(uow: UnitOfWork, at: datetime) -> Subject:
    return await uow.subjects.create(
        slug="cop",
        title="Child Online Protection",
        room_id=ROOM,
        timezone="Europe/Zurich",
        created_by=BY,
        at=at,
    )


async def add_meeting(
    uow: UnitOfWork, subject_id: int, n: int, *, at: datetime, title: str | None = None, varied: bool = False
) -> Meeting:
    """The `n`th meeting, on a day and hour spread from `n`: one hour in Zurich; `varied`, in five zones, of
    three lengths, every third a weekly or fortnightly series of ten, every sixth with an occurrence moved and
    one cancelled."""
    zone = ZONES[n % len(ZONES)] if varied else "Europe/Zurich"
    start_local = datetime(2027, 1, 4, 8, 0) + timedelta(days=n % 300, hours=n % 9)
    duration = timedelta(minutes=60 + 30 * (n % 3)) if varied else timedelta(hours=1)
    rrule = end = None
    if varied and n % 3 == 0:
        repeat = Repeat("WEEKLY", interval=1 + n % 2, count=10)
        rrule = to_rrule(repeat, zone=zone, start_local=start_local, duration=duration)
        end = series_end(repeat, zone=zone, start_local=start_local, duration=duration)
    start_utc = start_local.replace(tzinfo=UTC)  # close enough for a benchmark's bounds
    meeting = await uow.meetings.create(
        subject_id=subject_id,
        room_id=ROOM,
        title=title or f"Coordination call {n}",
        timezone=zone,
        start_local=start_local,
        start_utc=start_utc,
        duration_minutes=int(duration.total_seconds() // 60),
        rrule=rrule,
        series_end_utc=end or start_utc + duration,
        link="https://meet.example.org/cop",
        created_by=BY,
        at=at,
        agenda=("Review of the outputs", "Next steps") if varied else ("Review of the outputs",),
    )
    if rrule and n % 6 == 0:
        second = start_local + timedelta(weeks=1 + n % 2)
        await uow.meetings.set_override(meeting, second, at=at, start_local=second + timedelta(hours=2))
        third = start_local + timedelta(weeks=2 * (1 + n % 2))
        await uow.meetings.set_override(meeting, third, at=at, cancelled=True, reason="holiday")
    return meeting
