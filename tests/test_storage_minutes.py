"""The minutes tables on SQLite and PostgreSQL: migration 0006 up and down with data, and the repository."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import inspect

from storage import Database, Meeting, UnitOfWork
from tests.chat import START

ROOM = "!cop:example.org"
ALICE = "@alice:example.org"
MINUTES_TABLES = {"meeting_sessions", "session_chairs", "minute_lines", "minute_line_edits"}


async def tables(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()))


async def add_meeting(uow: UnitOfWork) -> Meeting:
    meeting = Meeting(
        room_id=ROOM,
        title="Call",
        timezone="UTC",
        start_local=START.replace(tzinfo=None),
        start_utc=START,
        duration_minutes=60,
        created_by=ALICE,
        created_at=START,
        updated_at=START,
    )
    uow.session.add(meeting)
    await uow.session.flush()
    return meeting


async def test_migration_0006_up_and_down_keeps_data(unmigrated_database: Database) -> None:
    database = unmigrated_database
    await database.migrate("0005_mail_outbox")
    async with UnitOfWork(database.sessions) as uow:
        meeting_id = (await add_meeting(uow)).id
        await uow.commit()
    assert not MINUTES_TABLES & await tables(database)

    await database.migrate("0006_minutes")
    assert await database.current_revision() == "0006_minutes"
    assert MINUTES_TABLES <= await tables(database)
    async with UnitOfWork(database.sessions) as uow:
        session = await uow.minutes.start(
            room_id=ROOM, meeting_id=meeting_id, occurrence_utc=START, title="Call", by=ALICE, at=START
        )
        await uow.minutes.add_chair(session.id, ALICE)
        line = await uow.minutes.add_line(
            session_id=session.id,
            event_id="$1",
            sender=ALICE,
            server_time=START,
            msgtype="m.text",
            text="!agreed yes",
            tag="agreed",
            tag_args={"text": "yes"},
        )
        await uow.minutes.replace_text(line, text="!agreed yes indeed", edit_event_id="$2", at=START)
        await uow.commit()
    async with UnitOfWork(database.sessions) as uow:
        [line] = await uow.minutes.lines(session.id)
        assert (line.text, line.tag_args, line.redacted, line.undone) == (
            "!agreed yes indeed",
            {"text": "yes"},
            False,
            False,
        )
        assert [edit.text for edit in await uow.minutes.edits(line.id)] == ["!agreed yes"]
        assert await uow.minutes.chairs(session.id) == [ALICE]

    await database.downgrade("0005_mail_outbox")
    assert not MINUTES_TABLES & await tables(database)
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.meetings.get(meeting_id) is not None
    await database.migrate()


async def test_running_session_and_lines(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        first = await uow.minutes.start(
            room_id=ROOM, meeting_id=None, occurrence_utc=None, title="Ad hoc", by=ALICE, at=START
        )
        assert (await uow.minutes.running(ROOM)).id == first.id
        assert await uow.minutes.add_chair(first.id, ALICE)
        assert not await uow.minutes.add_chair(first.id, ALICE)
        for n, at in enumerate([START + timedelta(minutes=2), START + timedelta(minutes=1)]):
            await uow.minutes.add_line(
                session_id=first.id,
                event_id=f"${n}",
                sender=ALICE,
                server_time=at,
                msgtype="m.text",
                text=str(n),
                tag="info",
            )
        assert [line.text for line in await uow.minutes.lines(first.id)] == ["1", "0"]  # by server time
        assert (await uow.minutes.last_tagged(first.id)).text == "1"  # the last one stored
        await uow.minutes.end(first, START + timedelta(hours=1))
        assert await uow.minutes.running(ROOM) is None
        assert await uow.minutes.remove_chair(first.id, ALICE)
        await uow.commit()
