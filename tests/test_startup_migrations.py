"""The migration check at every start, decided without Alembic when the database is at the head revision:
the head read from the scripts' revision lines is Alembic's own, a database behind it or ahead of it is still
refused with its reason, and a start on a migrated database imports neither Alembic nor Mako.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from iscg_bot.storage import Database, NotMigratedError
from iscg_bot.storage.db import VERSION_TABLE, _script_head

ROOT = Path(__file__).resolve().parent.parent


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert _script_head() == Database("sqlite+aiosqlite:///:memory:").head_revision()


async def test_a_database_behind_the_head_is_refused_then_migrated(unmigrated_database: Database) -> None:
    database = unmigrated_database
    await database.migrate("0008_minutes_record")
    with pytest.raises(NotMigratedError, match=r'at revision 0008_minutes_record, .* run "iscg-bot migrate"'):
        await database.check_migrated()
    await database.migrate()
    await database.check_migrated()
    await database.migrate()  # at the head: nothing to do
    assert await database.current_revision() == database.head_revision()


async def test_a_database_from_a_newer_version_is_refused(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0099_from_the_future'")
    with pytest.raises(NotMigratedError, match="unknown to this version"):
        await database.check_migrated()
    with pytest.raises(Exception, match="0099_from_the_future"):
        await database.migrate()  # Alembic decides, and knows no such revision


def test_starting_on_a_migrated_database_imports_neither_alembic_nor_mako(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from iscg_bot.storage import Database

        async def main():
            database = Database({url!r})
            await database.migrate()  # `run --migrate`: at the head, nothing to run
            await database.check_migrated()
            await database.dispose()

        assert "alembic" not in sys.modules
        asyncio.run(main())
        print(sorted(name for name in ("alembic", "mako") if name in sys.modules))
        """
    )
    migrate_first = (
        f"import asyncio; from iscg_bot.storage import Database; asyncio.run(Database({url!r}).migrate())"
    )
    subprocess.run([sys.executable, "-c", migrate_first], cwd=ROOT, check=True)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
