"""The storage layer on SQLite and PostgreSQL: time, the exactly-once ledger, transactions, migrations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError, StatementError

from iscg_bot.storage import (
    Base,
    Database,
    DuplicateEvent,
    NotMigratedError,
    OutboxMessage,
    UnitOfWork,
    UTCDateTime,
)
from iscg_bot.storage.sqlite_writer import WriterTurn

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ROOM = "!coordination:example.org"


# --- what a transaction wrote (told to the commit listeners) -------------------------------------------


async def test_a_unit_of_work_names_the_tables_it_wrote(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        assert uow.written_tables == frozenset()
        await uow.state.get("sync_token")  # reading writes nothing
        await uow.state.set("sync_token", "s1", T0)  # a Core upsert
        uow.session.add(OutboxMessage(txn_id="t1", room_id=ROOM, event_type="m", content={}, created_at=T0))
        uow.session.add(OutboxMessage(txn_id="t2", room_id=ROOM, event_type="m", content={}, created_at=T0))
        await uow.session.flush()  # an ORM flush
        assert uow.written_tables == {"bot_state", "outbox"}
        await uow.people.set_timezone("@alice:example.org", "Europe/Zurich", T0)
        assert uow.written_tables == {"bot_state", "outbox", "people"}
        await uow.session.execute(text("DELETE FROM people"))  # which tables, only the SQL knows
        assert uow.written_tables is None


# --- time -------------------------------------------------------------------------------------------


async def test_a_naive_datetime_is_refused(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        with pytest.raises(StatementError) as raised:
            await uow.state.set("sync_token", "s1", datetime(2026, 3, 1, 9, 0))
    assert isinstance(raised.value.orig, ValueError)
    assert "needs an aware datetime" in str(raised.value.orig)


def test_the_type_itself_refuses_naive_values() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        UTCDateTime().process_bind_param(datetime(2026, 3, 1), sqlite.dialect())


async def test_an_aware_datetime_comes_back_as_the_same_instant_in_utc(database: Database) -> None:
    in_tokyo = datetime(2026, 3, 1, 18, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    async with UnitOfWork(database.sessions) as uow:
        await uow.people.set_timezone("@ann:example.org", "Asia/Tokyo", in_tokyo)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        person = await uow.people.get("@ann:example.org")
        stored = await uow.session.scalar(text("SELECT created_at FROM people"))
    assert person is not None
    assert person.created_at == in_tokyo
    assert person.created_at.tzinfo is UTC
    assert person.created_at.hour == 9
    if database.is_sqlite:
        assert str(stored).startswith("2026-03-01 09:30:00")  # UTC wall time on disk


# --- the exactly-once ledger --------------------------------------------------------------------------


async def test_a_recorded_event_is_seen(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        assert not await uow.events.seen("$one")
        await uow.events.record("$one", ROOM, T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.events.seen("$one")
        assert not await uow.events.seen("$two")


async def test_an_event_recorded_twice_raises_and_its_second_effect_rolls_back(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        await uow.state.set("effect", "first", T0)
        await uow.events.record("$one", ROOM, T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        await uow.state.set("effect", "second", T0)
        with pytest.raises(DuplicateEvent):
            await uow.events.record("$one", ROOM, T0)

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.events.seen("$one")
        assert await uow.state.get("effect") == "first"


# --- transactions ----------------------------------------------------------------------------------------


async def test_work_not_committed_is_rolled_back(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        await uow.state.set("sync_token", "s1", T0)

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.state.get("sync_token") is None


async def test_an_exception_rolls_the_work_back(database: Database) -> None:
    with pytest.raises(RuntimeError, match="command failed"):
        async with UnitOfWork(database.sessions) as uow:
            await uow.state.set("sync_token", "s1", T0)
            raise RuntimeError("command failed")

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.state.get("sync_token") is None


async def test_a_savepoint_rolls_back_only_its_own_work(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        await uow.state.set("before", "kept", T0)
        async with uow.savepoint():
            await uow.state.set("succeeded", "kept", T0)
        with pytest.raises(RuntimeError, match="inner step failed"):
            async with uow.savepoint():
                await uow.state.set("failed", "undone", T0)
                raise RuntimeError("inner step failed")
        await uow.state.set("after", "kept", T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        values = {key: await uow.state.get(key) for key in ("before", "succeeded", "failed", "after")}
    assert values == {"before": "kept", "succeeded": "kept", "failed": None, "after": "kept"}


async def test_a_duplicate_inside_a_savepoint_leaves_the_transaction_usable(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        await uow.events.record("$one", ROOM, T0)
        with pytest.raises(DuplicateEvent):
            async with uow.savepoint():
                await uow.events.record("$one", ROOM, T0)
        await uow.events.record("$two", ROOM, T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.events.seen("$one") and await uow.events.seen("$two")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_sqlite_takes_concurrent_read_then_write_transactions(database: Database) -> None:
    async def handle(n: int) -> None:
        async with UnitOfWork(database.sessions) as uow:
            count = int(await uow.state.get("handled") or 0)
            await asyncio.sleep(0)  # let the other tasks start their transactions in between
            await uow.state.set("handled", str(count + 1), T0)
            await uow.events.record(f"$event{n}", ROOM, T0)
            await uow.commit()

    await asyncio.gather(*(handle(n) for n in range(20)))

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.state.get("handled") == "20"  # serialized: no lost update either


async def test_concurrent_transactions_take_turns_and_lose_no_update(database: Database) -> None:
    """Twenty tasks each read a counter and write it back one higher, at once: each sees the one before."""
    if not database.is_sqlite:
        pytest.skip(
            "on PostgreSQL transactions overlap (read committed): the bot does not rely on turns there"
        )

    async def increment() -> None:
        async with UnitOfWork(database.sessions) as uow:
            value = int(await uow.state.get("counter") or 0)
            await asyncio.sleep(0)  # let the others try to start meanwhile
            await uow.state.set("counter", str(value + 1), T0)
            await uow.commit()

    await asyncio.wait_for(asyncio.gather(*(increment() for _ in range(20))), timeout=30)
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.state.get("counter") == "20"


async def test_a_unit_of_work_inside_another_in_the_same_task_does_not_wait_for_it(
    database: Database,
) -> None:
    async with UnitOfWork(database.sessions) as outer:
        async with UnitOfWork(database.sessions) as inner:  # e.g. a lookup made while a command runs
            await asyncio.wait_for(inner.state.get("sync_token"), timeout=5)
        await outer.state.set("sync_token", "s1", T0)
        await outer.commit()


async def test_waiting_too_long_for_the_sqlite_turn_says_the_database_is_locked(tmp_path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    await database.migrate()
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with UnitOfWork(database.sessions):
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await holding.wait()
        turn = WriterTurn(database.engine.sync_engine, timeout_seconds=0.1)
        with pytest.raises(OperationalError, match="database is locked"):
            await turn.take()
    finally:
        release.set()
        await holder
        await database.dispose()


# --- repositories ----------------------------------------------------------------------------------------


async def test_the_outbox_hands_out_pending_messages_in_order(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        ids = [
            await uow.outbox.add(
                txn_id=f"txn{n}", room_id=ROOM, event_type="m.room.message", content={"body": f"#{n}"}, at=T0
            )
            for n in range(3)
        ]
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        pending = await uow.outbox.pending()
        assert [m.id for m in pending] == ids
        assert [m.id for m in await uow.outbox.pending(limit=2)] == ids[:2]
        assert (pending[0].txn_id, pending[0].content, pending[0].attempts) == ("txn0", {"body": "#0"}, 0)
        assert pending[0].created_at == T0
        await uow.outbox.note_attempt(ids[0])
        await uow.outbox.mark_sent(ids[0], "$remote0", T0 + timedelta(seconds=1))
        await uow.outbox.note_attempt(ids[1])
        await uow.outbox.mark_failed(ids[1], "M_FORBIDDEN: not in room", T0 + timedelta(seconds=2))
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        assert [m.id for m in await uow.outbox.pending()] == [ids[2]]
        assert await uow.outbox.count_pending() == 1
        sent = await uow.session.get(OutboxMessage, ids[0])
        failed = await uow.session.get(OutboxMessage, ids[1])
    assert sent is not None and failed is not None
    assert (sent.remote_event_id, sent.sent_at, sent.attempts) == ("$remote0", T0 + timedelta(seconds=1), 1)
    assert (failed.failure, failed.failed_at, failed.sent_at) == (
        "M_FORBIDDEN: not in room",
        T0 + timedelta(seconds=2),
        None,
    )


async def test_a_sent_message_is_found_by_its_remote_event_with_its_purpose(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        plain = await uow.outbox.add(
            txn_id="t0", room_id=ROOM, event_type="m.room.message", content={}, at=T0
        )
        announcement = await uow.outbox.add(
            txn_id="t1",
            room_id=ROOM,
            event_type="m.room.message",
            content={},
            at=T0,
            purpose="announcement:M1",
        )
        assert await uow.outbox.by_remote_event("$a") is None  # not sent yet
        await uow.outbox.mark_sent(plain, "$p", T0)
        await uow.outbox.mark_sent(announcement, "$a", T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        found = await uow.outbox.by_remote_event("$a")
        assert found is not None and (found.id, found.purpose) == (announcement, "announcement:M1")
        other = await uow.outbox.by_remote_event("$p")
        assert other is not None and other.purpose is None
        assert await uow.outbox.by_remote_event("$elsewhere") is None


async def test_marking_an_unknown_outbox_message_is_an_error(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        with pytest.raises(LookupError):
            await uow.outbox.mark_sent(404, "$remote", T0)


async def test_bot_state_is_overwritten(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.state.get("sync_token") is None
        await uow.state.set("sync_token", "s1", T0)
        await uow.state.set("sync_token", "s2", T0 + timedelta(minutes=1))
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.state.get("sync_token") == "s2"


async def test_a_person_is_created_on_first_write_and_updated_after(database: Database) -> None:
    later = T0 + timedelta(days=1)
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.people.get("@bob:example.org") is None
        created = await uow.people.set_timezone("@bob:example.org", "Europe/Zurich", T0)
        assert (created.timezone, created.display_name, created.created_at) == ("Europe/Zurich", None, T0)
        await uow.people.set_display_name("@bob:example.org", "Bob", later)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        bob = await uow.people.get("@bob:example.org")
        assert bob is not None
        assert (bob.timezone, bob.display_name, bob.created_at, bob.updated_at) == (
            "Europe/Zurich",
            "Bob",
            T0,
            later,
        )
        cleared = await uow.people.set_timezone("@bob:example.org", None, later)
        assert cleared is bob and bob.timezone is None  # the instance already loaded is refreshed


# --- migrations ------------------------------------------------------------------------------------------


async def test_an_unmigrated_database_is_refused_until_migrated(unmigrated_database: Database) -> None:
    database = unmigrated_database
    assert await database.current_revision() is None
    with pytest.raises(NotMigratedError, match='run "iscg-bot migrate"'):
        await database.check_migrated()

    await database.migrate()
    await database.check_migrated()
    assert await database.current_revision() == database.head_revision()


async def test_migrating_to_a_given_revision(unmigrated_database: Database) -> None:
    await unmigrated_database.migrate("0001_initial")
    assert await unmigrated_database.current_revision() == "0001_initial"


async def test_downgrade_to_base_then_upgrade_again(database: Database) -> None:
    async def tables() -> set[str]:
        async with database.engine.connect() as conn:
            return set(await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()))

    await database.downgrade("base")
    assert await database.current_revision() is None
    assert tables_of(await tables()) == set()

    await database.migrate()
    assert tables_of(await tables()) == set(Base.metadata.tables)
    async with UnitOfWork(database.sessions) as uow:
        await uow.events.record("$one", ROOM, T0)
        await uow.commit()


def tables_of(names: set[str]) -> set[str]:
    return names - {"alembic_version"}


async def test_migrations_create_exactly_what_the_models_declare(database: Database) -> None:
    async with database.engine.connect() as conn:
        differences = await conn.run_sync(
            lambda sync_conn: compare_metadata(
                MigrationContext.configure(sync_conn, opts={"compare_type": True}), Base.metadata
            )
        )
    assert differences == []
