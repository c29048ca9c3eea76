"""`iscg-bot backup FILE`: a whole copy while another process writes; restored, the bot answers nothing twice
that it answered before the backup, and answers what came after; PostgreSQL through pg_dump and back."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import make_url

from iscg_bot.commands import build_router
from iscg_bot.storage import Database, UnitOfWork
from iscg_bot.storage.backup import BackupError, backup
from iscg_bot.storage.db import libpq_url
from tests.chat import COORD, COP, Chat, run_cli, settings
from tests.support.private_postgres import private_databases

# Another process writing as fast as it can, each row its own transaction (as the bot does).
WRITER = """
import itertools, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA busy_timeout=10000")
for n in itertools.count():
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO processed_events VALUES (?, '!writer', '2028-01-10 09:00:00')", (f"$w{n}",))
    db.execute("COMMIT")
    if n == 100:
        print("writing", flush=True)
"""


def written_by_the_writer(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(
            db.execute("SELECT count(*) FROM processed_events WHERE room_id = '!writer'").fetchone()[0]
        )


async def test_a_backup_taken_while_another_process_writes_is_whole_and_at_the_head(chat, tmp_path):
    for _ in range(3):
        assert await chat.say("!ping", sender=COORD, room=COP) == ["pong"]
    database = tmp_path / "chat.db"
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(database), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert writer.stdout is not None and await writer.stdout.readline() == b"writing\n"
        before = written_by_the_writer(database)
        done = await run_cli(tmp_path, "backup", str(tmp_path / "backup.db"))
        after = written_by_the_writer(database)
    finally:
        writer.kill()
        await writer.wait()
    assert done.returncode == 0, done.stderr
    assert after > before  # the writer was not held up by the backup

    copy = tmp_path / "backup.db"
    with closing(sqlite3.connect(copy)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        copied = int(
            db.execute("SELECT count(*) FROM processed_events WHERE room_id = '!writer'").fetchone()[0]
        )
    assert before <= copied <= after
    restored = Database(f"sqlite+aiosqlite:///{copy}")
    try:
        assert await restored.current_revision() == restored.head_revision()
    finally:
        await restored.dispose()
    assert done.stdout == (
        f"{copy}: {copy.stat().st_size:,} bytes, integrity ok, schema at {restored.head_revision()}, "
        f"{3 + copied:,} handled events\n"
    )
    assert sorted(p.name for p in tmp_path.glob("backup.db*")) == [
        "backup.db"
    ]  # the file alone is the backup

    again = await run_cli(tmp_path, "backup", str(copy))
    assert (again.returncode, again.stderr) == (
        1,
        f"error: {copy} exists: give a new file name (backups are never overwritten)\n",
    )


async def test_restored_the_bot_answers_nothing_twice_and_answers_what_came_after(chat, tmp_path):
    before = [chat.message("!ping", sender=COORD, room=COP) for _ in range(3)]
    for event in before:
        assert [c["body"] for c in await chat.deliver(event)] == ["pong"]
    async with UnitOfWork(chat.database.sessions) as uow:
        await uow.state.set("sync_token", "s1_before_the_backup", chat.clock.now())
        await uow.commit()
    copy = tmp_path / "backup.db"
    await asyncio.to_thread(backup, f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}", copy)
    after = chat.message("!ping", sender=COORD, room=COP)
    assert [c["body"] for c in await chat.deliver(after)] == ["pong"]
    await chat.close()

    # Restore: the bot stopped, its database (and SQLite's -wal and -shm files) replaced by the backup.
    live = tmp_path / "chat.db"
    for leftover in (live, Path(f"{live}-wal"), Path(f"{live}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(copy, live)
    config = settings()
    restarted = Chat(Database(f"sqlite+aiosqlite:///{live}"), build_router(config.bot.command_prefix), config)
    try:
        async with UnitOfWork(restarted.database.sessions) as uow:
            # the bot syncs from here: the homeserver hands it again everything after the backup
            assert await uow.state.get("sync_token") == "s1_before_the_backup"
        for event in before:
            assert await restarted.deliver(event) == [], f"{event.event_id} answered twice"
        assert [c["body"] for c in await restarted.deliver(after)] == ["pong"]
    finally:
        await restarted.close()


async def test_a_missing_database_is_named(tmp_path):
    with pytest.raises(BackupError, match=f"no database at {tmp_path / 'nothing.db'}"):
        backup(f"sqlite+aiosqlite:///{tmp_path / 'nothing.db'}", tmp_path / "copy.db")
    assert not (tmp_path / "nothing.db").exists() and not (tmp_path / "copy.db").exists()


@pytest.mark.postgres
async def test_postgresql_is_backed_up_with_pg_dump_and_restored_with_pg_restore(tmp_path):
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")
    async with private_databases(2) as (live_url, restored_url):
        live = Database(live_url)
        await live.migrate()
        config = settings()
        bot = Chat(live, build_router(config.bot.command_prefix), config)
        events = [bot.message("!ping", sender=COORD, room=COP) for _ in range(3)]
        for event in events:
            assert [c["body"] for c in await bot.deliver(event)] == ["pong"]
        await bot.close()

        copy = tmp_path / "iscg.dump"
        done = await asyncio.to_thread(backup, live_url, copy)
        assert (done.path, done.kind) == (copy, "pg_dump") and done.size > 0
        libpq = make_url(restored_url).set(drivername="postgresql").render_as_string(hide_password=False)
        restore = ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={libpq}", str(copy)]
        restoring = await asyncio.to_thread(subprocess.run, restore, capture_output=True, text=True)
        assert restoring.returncode == 0, restoring.stderr

        restored = Database(restored_url)
        bot = Chat(restored, build_router(config.bot.command_prefix), config)
        try:
            await restored.check_migrated()
            for event in events:
                assert await bot.deliver(event) == []
        finally:
            await bot.close()


def test_without_pg_dump_the_error_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError) as refused:
        backup("postgresql+asyncpg://iscg:secret@db:5432/iscg", tmp_path / "iscg.dump")
    assert str(refused.value) == (
        "pg_dump not found: install the PostgreSQL client (the server's major version or newer), or run "
        f"`pg_dump --format=custom --file={tmp_path / 'iscg.dump'} 'postgresql://iscg@db:5432/iscg'` where "
        "it is installed"
    )


def test_pg_dump_and_the_key_store_read_the_bots_url_as_libpq_does():
    """asyncpg's `ssl=true` is libpq's `sslmode=require` (libpq refuses `sslmode=true`); the password stays
    out of a command line."""
    url = "postgresql+asyncpg://bot:s%40cret@db.internal:6432/iscg?ssl=true"
    assert libpq_url(url, password=False).render_as_string(hide_password=False) == (
        "postgresql://bot@db.internal:6432/iscg?sslmode=require"
    )
    assert libpq_url(url).password == "s@cret"
