"""Moving a year of the group's work from SQLite to PostgreSQL: `iscg-bot migrate-data`, timed as an
operator runs it.

    python bench/migrate_data.py [--subjects 50] [--meetings 24] [--lines 200] [--runs 3] [--quick]

Seeds a SQLite database with the report bench's year (`bench/report_compile.py`: N subjects, M held and
minuted meetings each, L logged lines per meeting — the 50-subject year is about 287,000 rows), then, `--runs`
times, creates an empty database on the machine's PostgreSQL and runs `python -m iscg_bot migrate-data
--from <sqlite> --to <postgresql>` as its own process: migrating the target's schema, copying every table in
one transaction and verifying each table's count. Printed: the rows moved, the median and worst wall time of
the command (process start to exit), and rows per second. Issue 15 asks for the figure, not a target.

--quick: 3 subjects × 4 meetings × 40 lines, one run (seconds: `make test` runs it so the bench cannot rot).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report_compile import seed
from bench.support.postgres import postgres_database
from iscg_bot.storage import Database

ROWS = re.compile(r"^  \S+: ([\d,]+) rows", re.MULTILINE)


async def one_move(source_url: str, tmp: Path) -> tuple[float, int, str]:
    """Wall time of `migrate-data` into a fresh PostgreSQL database (a fresh SQLite file where no
    PostgreSQL answers), the rows it reported, and what it moved into."""
    async with postgres_database() as target:
        if target is None:
            return *await _timed_move(source_url, f"sqlite+aiosqlite:///{tmp / 'target.db'}"), "SQLite"
        return *await _timed_move(source_url, target), "PostgreSQL"


async def _timed_move(source_url: str, target: str) -> tuple[float, int]:
    """`iscg-bot migrate-data` as its own process, as an operator runs it: wall time and rows verified."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISCG_")}
    command = [sys.executable, "-m", "iscg_bot", "migrate-data", "--from", source_url, "--to", target]
    start = time.perf_counter()
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"migrate-data exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return elapsed, sum(int(rows.replace(",", "")) for rows in ROWS.findall(done.stdout))


async def main(subjects: int, meetings: int, lines: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="iscg-migrate-bench-") as tmp:
        source_url = f"sqlite+aiosqlite:///{Path(tmp) / 'year.db'}"
        database = Database(source_url)
        await database.migrate()
        started = time.perf_counter()
        await seed(database, subjects, meetings, lines)
        await database.dispose()
        seeded = time.perf_counter() - started
        print(f"seeded {subjects} subjects × {meetings} meetings × {lines} lines in {seeded:.1f} s")
        times, rows, into = [], 0, ""
        for _ in range(runs):
            elapsed, rows, into = await one_move(source_url, Path(tmp))
            times.append(elapsed)
        median = statistics.median(times)
        print(f"rows moved and verified: {rows:,}")
        worst = max(times)
        print(f"migrate-data, SQLite to {into}: median {median:.1f} s, worst {worst:.1f} s ({runs} runs)")
        per = median / max(rows, 1) * 100_000
        print(f"per 100,000 rows: {per:.1f} s ({rows / median:,.0f} rows a second, start to exit)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=50)
    parser.add_argument("--meetings", type=int, default=24)
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.subjects, arguments.meetings, arguments.lines, arguments.runs = 3, 4, 40, 1
    asyncio.run(main(arguments.subjects, arguments.meetings, arguments.lines, arguments.runs))
