"""Personal calendar feed tokens on SQLite and PostgreSQL; migrating up from 0003 and back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, inspect, select

from iscg_bot.storage import CalendarToken, Database, Subject, UnitOfWork
from tests.support.old_schema import insert_subject

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ANN = "@ann:example.org"
BOB = "@bob:example.org"


async def issue(database: Database, matrix_id: str, at: datetime = T0) -> str:
    async with UnitOfWork(database.sessions) as uow:
        token = await uow.calendar_tokens.issue(matrix_id, at)
        await uow.commit()
    return token


async def resolve(database: Database, token: str) -> str | None:
    async with UnitOfWork(database.sessions) as uow:
        return await uow.calendar_tokens.resolve(token)


async def test_a_token_resolves_to_its_owner_and_only_its_hash_is_stored(database: Database) -> None:
    token = await issue(database, ANN)
    assert len(token) == 32  # 24 random bytes in URL-safe base64: 192 bits
    assert await resolve(database, token) == ANN
    assert await resolve(database, token + "x") is None
    assert await resolve(database, "") is None
    async with UnitOfWork(database.sessions) as uow:
        [row] = await uow.session.scalars(select(CalendarToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.matrix_id)
    assert row.created_at == T0 and row.revoked_at is None


async def test_issuing_again_revokes_the_previous_token(database: Database) -> None:
    first = await issue(database, ANN)
    bobs = await issue(database, BOB)
    second = await issue(database, ANN, T0 + timedelta(days=1))
    assert first != second
    assert await resolve(database, first) is None
    assert await resolve(database, second) == ANN
    assert await resolve(database, bobs) == BOB  # someone else's token is untouched
    async with UnitOfWork(database.sessions) as uow:
        revoked = await uow.session.scalar(
            select(CalendarToken.revoked_at).filter_by(token_hash=hashlib.sha256(first.encode()).hexdigest())
        )
    assert revoked == T0 + timedelta(days=1)


async def test_revoke(database: Database) -> None:
    token = await issue(database, ANN)
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.calendar_tokens.has_live(ANN)
        assert await uow.calendar_tokens.revoke(ANN, T0)
        assert not await uow.calendar_tokens.revoke(ANN, T0)  # nothing left to revoke
        assert not await uow.calendar_tokens.revoke(BOB, T0)
        assert not await uow.calendar_tokens.has_live(ANN)
        await uow.commit()
    assert await resolve(database, token) is None


async def test_migrating_from_0003_keeps_the_data_and_can_go_back(unmigrated_database: Database) -> None:
    database = unmigrated_database
    await database.migrate("0003_meetings")
    async with UnitOfWork(database.sessions) as uow:  # subjects with 0003's columns (the model has more)
        await insert_subject(uow.session, "cop", created_by=ANN, at=T0)
        await uow.session.commit()  # an old schema: no data_versions to raise

    async def tables() -> set[str]:
        async with database.engine.connect() as conn:
            return set(await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()))

    assert "calendar_tokens" not in await tables()
    await database.migrate("0004_calendar_tokens")
    assert await database.current_revision() == "0004_calendar_tokens"
    async with UnitOfWork(database.sessions) as uow:
        token = await uow.calendar_tokens.issue(ANN, T0)
        await uow.session.commit()  # an old schema: no data_versions to raise
    assert await resolve(database, token) == ANN

    await database.downgrade("0003_meetings")
    assert "calendar_tokens" not in await tables()
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Subject)) == 1

    await database.migrate()
    assert await resolve(database, token) is None  # the table came back empty
    assert await resolve(database, await issue(database, ANN)) == ANN
