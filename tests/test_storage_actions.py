"""The action items table on SQLite and PostgreSQL: migration 0007 up and down, and the repository."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Date, column, delete, insert, inspect, select, table
from sqlalchemy.exc import IntegrityError

from iscg_bot.storage import ActionItem, Database, MeetingSession, UnitOfWork
from tests.chat import START

ROOM = "!cop:example.org"
ALICE = "@alice:example.org"
BOB = "@bob:example.org"


async def tables(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()))


async def new(uow: UnitOfWork, owner: str = BOB, due: date | None = None, **more) -> ActionItem:
    fields = {
        "subject_id": None,
        "room_id": ROOM,
        "text": "Draft the agenda",
        "created_by": ALICE,
        "at": START,
    }
    return await uow.actions.create(**{**fields, **more}, owner=owner, due=due)


async def test_migration_0007_up_and_down_keeps_data(unmigrated_database: Database) -> None:
    # Core statements naming the columns of 0007: the models may have moved on since.
    database = unmigrated_database
    await database.migrate("0006_minutes")
    assert "action_items" not in await tables(database)
    await database.migrate("0007_action_items")
    assert await database.current_revision() == "0007_action_items"
    sessions = table(
        "meeting_sessions", *(column(c) for c in ("id", "room_id", "title", "started_by", "started_at"))
    )
    actions = table(
        "action_items",
        *(column(c) for c in ("id", "room_id", "session_id", "owner", "text", "status")),
        column("due", Date()),
        *(column(c) for c in ("created_by", "created_at", "updated_at")),
    )
    at = START.replace(tzinfo=None) if database.engine.dialect.name == "sqlite" else START
    async with database.engine.begin() as conn:
        await conn.execute(
            insert(sessions).values(id=7, room_id=ROOM, title="Ad hoc", started_by=ALICE, started_at=at)
        )
        values = {"room_id": ROOM, "owner": BOB, "text": "Draft", "created_by": ALICE, "created_at": at}
        await conn.execute(
            insert(actions).values(session_id=7, due=date(2026, 12, 1), updated_at=at, **values)
        )
        [(status, due)] = (await conn.execute(select(actions.c.status, actions.c.due))).all()
    assert (status, due) == ("open", date(2026, 12, 1))  # the server default
    await database.downgrade("0006_minutes")
    assert "action_items" not in await tables(database)
    async with database.engine.connect() as conn:
        assert (await conn.execute(select(sessions.c.title))).scalar_one() == "Ad hoc"
    await database.migrate()


async def test_numbers_are_never_reused(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        first, second = await new(uow), await new(uow)
        assert (first.id, second.id) == (1, 2)
        await uow.session.execute(delete(ActionItem).where(ActionItem.id == second.id))
        assert (await new(uow)).id == 3
        await uow.commit()


async def test_the_database_refuses_an_unknown_status(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        item = await new(uow)
        with pytest.raises(IntegrityError):
            async with uow.savepoint():
                await uow.actions.update(item, at=START, status="finished")


async def test_update_sets_updated_at_and_refuses_fixed_fields(database: Database) -> None:
    later = START + timedelta(hours=1)
    async with UnitOfWork(database.sessions) as uow:
        item = await new(uow)
        await uow.actions.update(item, at=later, status="done", closed_at=later, closed_by=ALICE)
        assert (item.updated_at, item.closed_at, item.closed_by) == (later, later, ALICE)
        with pytest.raises(TypeError, match="room_id"):
            await uow.actions.update(item, at=later, room_id="!elsewhere:example.org")


async def test_lists_by_place_and_owner_sorted_by_due_date_then_number(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        subject = await uow.subjects.create(
            slug="cop", title="COP", room_id=ROOM, timezone="Europe/Zurich", created_by=ALICE, at=START
        )
        undated = await new(uow, subject_id=subject.id)
        later = await new(uow, subject_id=subject.id, due=date(2026, 12, 9))
        sooner = await new(uow, subject_id=subject.id, due=date(2026, 12, 2))
        done = await new(uow, subject_id=subject.id, due=date(2026, 12, 1))
        await uow.actions.update(done, at=START, status="done")
        elsewhere = await new(uow, room_id="!free:example.org")
        mine = await new(uow, owner=ALICE, room_id="!free:example.org", due=date(2026, 11, 30))

        def ids(items: list[ActionItem]) -> list[int]:
            return [item.id for item in items]

        place = uow.actions.of_place
        assert ids(await place(subject_id=subject.id, room_id=ROOM)) == [sooner.id, later.id, undated.id]
        everything = await place(subject_id=subject.id, room_id=ROOM, statuses=None)
        assert ids(everything) == [done.id, sooner.id, later.id, undated.id]
        assert ids(await place(subject_id=None, room_id="!free:example.org")) == [mine.id, elsewhere.id]
        assert ids(await uow.actions.of_owner(BOB)) == [sooner.id, later.id, undated.id, elsewhere.id]
        assert ids(await uow.actions.of_owner(ALICE)) == [mine.id]


async def test_a_due_reminder_is_claimed_once_per_due_day(database: Database) -> None:
    day, next_day = date(2026, 12, 1), date(2026, 12, 2)
    async with UnitOfWork(database.sessions) as uow:
        item = await new(uow, due=day)
        undated = await new(uow)
        assert [i.id for i in await uow.actions.reminder_candidates(due_by=day)] == [item.id]
        assert await uow.actions.reminder_candidates(due_by=day - timedelta(days=1)) == []
        assert not await uow.actions.claim_due_reminder(item.id, next_day)  # not due that day
        assert await uow.actions.claim_due_reminder(item.id, day)
        assert not await uow.actions.claim_due_reminder(item.id, day)
        assert not await uow.actions.claim_due_reminder(undated.id, day)
        await uow.commit()
    async with UnitOfWork(database.sessions) as uow:
        item = await uow.actions.get(item.id)
        assert item.due_reminded_on == day
        assert await uow.actions.reminder_candidates(due_by=next_day) == []
        await uow.actions.update(item, at=START, due=next_day)  # a new due day re-arms it
        assert [i.id for i in await uow.actions.reminder_candidates(due_by=next_day)] == [item.id]
        await uow.actions.update(item, at=START, status="done")  # … unless it is closed
        assert not await uow.actions.claim_due_reminder(item.id, next_day)
        assert await uow.actions.reminder_candidates(due_by=next_day) == []


async def test_deleting_the_origin_session_keeps_the_action(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        session = await uow.minutes.start(
            room_id=ROOM, meeting_id=None, occurrence_utc=None, title="Ad hoc", by=ALICE, at=START
        )
        item = await new(uow, session_id=session.id)
        await uow.commit()
    async with UnitOfWork(database.sessions) as uow:
        await uow.session.execute(delete(MeetingSession).where(MeetingSession.id == session.id))
        await uow.commit()
    async with UnitOfWork(database.sessions) as uow:
        assert (await uow.actions.get(item.id)).session_id is None
        assert [i.id for i in await uow.actions.of_session(session.id)] == []
