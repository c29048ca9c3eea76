"""The minutes tables on SQLite and PostgreSQL: migrations 0006 and 0008 up and down with data, and the
repository."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import inspect, text

from iscg_bot.storage import Database, UnitOfWork
from tests.chat import START

ROOM = "!cop:example.org"
ALICE = "@alice:example.org"
MINUTES_TABLES = {"meeting_sessions", "session_chairs", "minute_lines", "minute_line_edits"}


async def tables(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()))


async def add_meeting(database: Database) -> int:
    """A meeting row written with SQL, as the schema of 0005 has it (the models follow the newest)."""
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO meetings (id, room_id, title, timezone, start_local, start_utc, "
                "duration_minutes, created_by, created_at, updated_at) "
                "VALUES (1, :room, 'Call', 'UTC', :local, :at, 60, :alice, :at, :at)"
            ),
            {"room": ROOM, "local": START.replace(tzinfo=None), "at": START, "alice": ALICE},
        )
    return 1


async def test_migrations_0006_and_0008_up_and_down_keep_data(unmigrated_database: Database) -> None:
    """0006 made the tables (one tag per line); 0008 moves tags to their own table and keeps redaction times.
    Written with SQL: the models follow the newest schema."""
    database = unmigrated_database
    await database.migrate("0005_mail_outbox")
    meeting_id = await add_meeting(database)
    assert not MINUTES_TABLES & await tables(database)

    await database.migrate("0006_minutes")
    assert MINUTES_TABLES <= await tables(database)
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO meeting_sessions (id, meeting_id, room_id, title, started_by, started_at) "
                "VALUES (1, :meeting, :room, 'Call', :alice, :at)"
            ),
            {"meeting": meeting_id, "room": ROOM, "alice": ALICE, "at": START},
        )
        for n, (tag, redacted) in enumerate([("agreed", False), (None, True), ("info", False)]):
            await conn.execute(
                text(
                    "INSERT INTO minute_lines (session_id, event_id, sender, server_time, msgtype, text, "
                    "tag, tag_args, redacted, undone) VALUES (1, :event, :alice, :at, 'm.text', :text, "
                    ":tag, :args, :redacted, :undone)"
                ),
                {
                    "event": f"${n}",
                    "alice": ALICE,
                    "at": START + timedelta(minutes=n),
                    "text": f"line {n}",
                    "tag": tag,
                    "args": json.dumps({"text": f"said {n}"}) if tag else None,
                    "redacted": redacted,
                    "undone": tag == "info",
                },
            )

    await database.migrate()
    async with UnitOfWork(database.sessions) as uow:
        lines = await uow.minutes.lines(1)
        assert [(line.text, line.redacted) for line in lines] == [
            ("line 0", False),
            ("line 1", True),
            ("line 2", False),
        ]
        assert lines[1].redacted_at == START + timedelta(minutes=1)  # the best time known: the line's
        tags = await uow.minutes.tags(1)
        assert [(t.tag, t.args, t.undone) for t in tags[lines[0].id] + tags[lines[2].id]] == [
            ("agreed", {"text": "said 0"}, False),
            ("info", {"text": "said 2"}, True),
        ]
        assert lines[1].id not in tags
        session = await uow.minutes.get(1)
        assert (session.minutes_status, session.reference) == ("draft", f"M{meeting_id}")

    await database.downgrade("0006_minutes")
    async with database.engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT tag, undone, redacted FROM minute_lines ORDER BY server_time"))
        ).all()
    assert [(tag, bool(undone), bool(redacted)) for tag, undone, redacted in rows] == [
        ("agreed", False, False),
        (None, False, True),
        ("info", True, False),
    ]
    await database.downgrade("0005_mail_outbox")
    assert not MINUTES_TABLES & await tables(database)
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM meetings"))).scalar_one() == 1
    await database.migrate()


async def test_running_session_lines_and_tags(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        first = await uow.minutes.start(
            room_id=ROOM, meeting_id=None, occurrence_utc=None, title="Ad hoc", by=ALICE, at=START
        )
        assert (await uow.minutes.running(ROOM)).id == first.id
        assert first.reference == f"S{first.id}"
        assert await uow.minutes.add_chair(first.id, ALICE)
        assert not await uow.minutes.add_chair(first.id, ALICE)
        lines = []
        for n, at in enumerate([START + timedelta(minutes=2), START + timedelta(minutes=1)]):
            lines.append(
                await uow.minutes.add_line(
                    session_id=first.id,
                    event_id=f"${n}",
                    sender=ALICE,
                    server_time=at,
                    msgtype="m.text",
                    text=str(n),
                )
            )
        await uow.minutes.add_tag(lines[0], "info", {"text": "a"})
        await uow.minutes.add_tag(lines[0], "agreed", {"text": "b"})
        await uow.minutes.add_tag(lines[1], "idea", None)
        assert [line.text for line in await uow.minutes.lines(first.id)] == ["1", "0"]  # by server time
        assert [(t.position, t.tag) for t in (await uow.minutes.tags(first.id))[lines[0].id]] == [
            (0, "info"),
            (1, "agreed"),
        ]
        assert (await uow.minutes.last_tag(first.id)).tag == "agreed"  # the latest line's last tag
        await uow.minutes.end(first, START + timedelta(hours=1))
        assert await uow.minutes.running(ROOM) is None
        assert (await uow.minutes.latest_of_room(ROOM)).id == first.id
        assert await uow.minutes.remove_chair(first.id, ALICE)
        await uow.commit()
