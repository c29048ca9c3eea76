"""The feeds' plain rows, on SQLite and PostgreSQL: they render as the stored meetings do, and compare equal
exactly while nothing a feed shows has changed (the kept VEVENTs are keyed on them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from iscg_bot.calendar.feeds import FeedInfo, render_feed
from iscg_bot.domain.recurrence import Repeat, series_end, to_rrule
from iscg_bot.storage import Database, UnitOfWork
from iscg_bot.storage.repositories.feed_rows import FeedRows, MeetingRow

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
INFO = FeedInfo(name="ISCG")


async def seed(database: Database) -> None:
    """Subject cop: a weekly series with a moved and a cancelled occurrence and an agenda, a one-off in the
    second pass of the repeated hour (fold=1), with minutes; a group-wide one-off; a meeting of subject ai."""
    async with UnitOfWork(database.sessions) as uow:
        cop = await uow.subjects.create(
            slug="cop",
            title="Child Online Protection",
            room_id="!cop:x",
            timezone="Europe/Zurich",
            created_by="@a:x",
            at=T0,
        )
        ai = await uow.subjects.create(
            slug="ai",
            title="AI for Good",
            room_id="!ai:x",
            timezone="Europe/Zurich",
            created_by="@a:x",
            at=T0,
        )
        start = datetime(2026, 12, 7, 10, 0)
        repeat = Repeat("WEEKLY", count=8)
        hour = timedelta(hours=1)
        series = await uow.meetings.create(
            subject_id=cop.id,
            room_id="!cop:x",
            title="Weekly",
            timezone="Europe/Zurich",
            start_local=start,
            start_utc=datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
            duration_minutes=60,
            rrule=to_rrule(repeat, zone="Europe/Zurich", start_local=start, duration=hour),
            series_end_utc=series_end(repeat, zone="Europe/Zurich", start_local=start, duration=hour),
            link="https://meet.example.org/cop",
            created_by="@a:x",
            at=T0,
            agenda=("Outputs", "Next steps"),
        )
        await uow.meetings.set_override(
            series, datetime(2026, 12, 14, 10, 0), at=T0, start_local=datetime(2026, 12, 15, 16, 0)
        )
        await uow.meetings.set_override(
            series, datetime(2026, 12, 21, 10, 0), at=T0, cancelled=True, reason="x"
        )
        night = await uow.meetings.create(
            subject_id=cop.id,
            room_id="!cop:x",
            title="Night",
            timezone="Europe/Zurich",
            start_local=datetime(2026, 10, 25, 2, 30, fold=1),
            start_utc=datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            duration_minutes=20,
            rrule=None,
            series_end_utc=None,
            link=None,
            created_by="@a:x",
            at=T0,
        )
        for subject_id, title in ((None, "Plenary"), (ai.id, "AI call")):
            await uow.meetings.create(
                subject_id=subject_id,
                room_id="!x:x",
                title=title,
                timezone="America/New_York",
                start_local=datetime(2027, 3, 1, 9, 0),
                start_utc=datetime(2027, 3, 1, 14, 0, tzinfo=UTC),
                duration_minutes=90,
                rrule=None,
                series_end_utc=None,
                link=None,
                created_by="@a:x",
                at=T0,
            )
        session = await uow.minutes.start(
            room_id="!cop:x", meeting_id=night.id, occurrence_utc=None, title="Night", by="@a:x", at=T0
        )
        await uow.minutes.end(session, T0 + timedelta(hours=1))
        await uow.commit()


async def rows(database: Database, subject_ids: list[int | None]) -> list[MeetingRow]:
    async with UnitOfWork(database.sessions) as uow:
        return await FeedRows(uow.session).meetings(subject_ids)


async def test_the_rows_render_as_the_stored_meetings(database: Database) -> None:
    await seed(database)
    read = await rows(database, [None, 1])
    assert [(r.id, r.title) for r in read] == [(1, "Weekly"), (2, "Night"), (3, "Plenary")]  # not ai's
    assert read[1].start_local.fold == 1 and read[1].start_fold  # the pass survives the trip
    assert [o.cancelled for o in read[0].overrides] == [False, True]
    assert [a.text for a in read[0].agenda] == ["Outputs", "Next steps"]
    async with UnitOfWork(database.sessions) as uow:
        subjects = {s.id: s for s in await uow.subjects.list(include_archived=True)}
        stored = [await uow.meetings.get(r.id) for r in read]
        minuted = await FeedRows(uow.session).minuted()
    assert minuted == {2}
    assert render_feed(read, info=INFO, subjects=subjects) == render_feed(
        [m for m in stored if m is not None], info=INFO, subjects=subjects
    )
    assert [r.id for r in await rows(database, [2])] == [4]
    assert [r.id for r in await rows(database, [None])] == [3]


async def test_rows_compare_equal_until_something_shown_changes(database: Database) -> None:
    await seed(database)
    first = await rows(database, [None, 1, 2])
    assert await rows(database, [None, 1, 2]) == first
    async with UnitOfWork(database.sessions) as uow:
        meeting = await uow.meetings.get(1)
        assert meeting is not None
        await uow.meetings.add_agenda_item(meeting, "Any other business", by="@a:x", at=T0)  # same instant
        await uow.commit()
    again = await rows(database, [None, 1, 2])
    assert [old == new for old, new in zip(first, again, strict=True)] == [False, True, True, True]


async def test_every_meeting_is_every_subjects_and_the_group_wide_ones(database: Database) -> None:
    await seed(database)
    everything = await rows(database, [None, 1, 2])
    async with UnitOfWork(database.sessions) as uow:
        assert await FeedRows(uow.session).every_meeting() == everything
    assert [r.id for r in everything] == [1, 2, 3, 4]
