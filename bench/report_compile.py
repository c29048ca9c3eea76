"""Time and peak memory to compile a synthetic year into the report, in all three formats.

    python bench/report_compile.py [--subjects 50] [--meetings 24] [--lines 200] [--quick]

Seeds a throwaway SQLite database with a year of the group's work: N subjects (a coordinator and focal
points each), M one-off meetings per subject in 2026, each held and minuted with L logged lines (among them
decisions, key issues, information and action items, a third of the actions done), then measures in the same
run: compiling the report (every subject, the similarity check included), and rendering it to Markdown, HTML
and Word, in that order, from the one compiled report. A report is laid out once for all its formats and its
chart drawn once (`report_render.blocks`, `chart`): the Markdown's figure includes the layout, the HTML's the
chart's drawing, Word's only its own writing and the chart saved as a PNG. Timings are the median of 3 runs
(each compiling afresh); peak memory is traced (tracemalloc) in a separate run, so the tracing does not slow
the timings. Issue 14's target for the full year: the compile and the three formats in under 5 s, under
300 MB.

--quick: 3 subjects × 4 meetings × 40 lines (seconds: `make test` runs it so the bench cannot rot); its
figures show the bench works, not how fast the report is.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bench.support.sizes import Size, read_sizes
from iscg_bot.domain import reports
from iscg_bot.render import report_render
from iscg_bot.storage import (
    ActionItem,
    Database,
    Meeting,
    MeetingSession,
    MinuteLine,
    MinuteTag,
    RoleAssignment,
    SessionChair,
    Subject,
    UnitOfWork,
)

NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
# Issue 14's targets for the full year (50 × 24 × 200): the report in all three formats, and its memory.
TARGET_SECONDS, TARGET_MB = 5, 300
BY = "@bench:example.org"
SECTORS = ("ITU-R", "ITU-T", "ITU-D")
TOPICS = (
    "child online protection guidelines",
    "artificial intelligence standards",
    "accessibility of digital services",
    "emergency telecommunications",
    "digital skills for youth",
    "cybersecurity capacity building",
    "gender equality in ICT",
    "climate change and e-waste",
)


def rows_of_a_year(subjects: int, meetings: int, lines: int) -> dict[type, list[dict[str, Any]]]:
    """Every row of the synthetic year, by model, IDs assigned here so the rows can refer to each other."""
    rows: dict[type, list[dict[str, Any]]] = {
        Subject: [],
        RoleAssignment: [],
        Meeting: [],
        MeetingSession: [],
        SessionChair: [],
        MinuteLine: [],
        MinuteTag: [],
        ActionItem: [],
    }
    line_id = tag_id = action_id = 0
    for s in range(1, subjects + 1):
        room, topic = f"!subject{s}:example.org", TOPICS[s % len(TOPICS)]
        coordinator = f"@coord{s}:example.org"
        rows[Subject].append(
            dict(id=s, slug=f"subject-{s}", title=f"Subject {s}: {topic}", description=f"Work on {topic}.",
                 timezone="Europe/Zurich", room_id=room, created_by=BY, created_at=NOW, updated_at=NOW)
        )  # fmt: skip
        people = [(coordinator, "coordinator", None)] + [
            (f"@fp{s}-{n}:itu.int", "focal_point", SECTORS[(s + n) % 3]) for n in range(2)
        ]
        for who, role, sector in people:
            rows[RoleAssignment].append(
                dict(matrix_id=who, role=role, subject_id=s, sector=sector, assigned_by=BY,
                     assigned_at=datetime(2025, 1, 1, tzinfo=UTC))
            )  # fmt: skip
        for m in range(meetings):
            meeting_id = (s - 1) * meetings + m + 1
            start = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
            start += timedelta(days=(m * 365) // meetings, hours=s % 5)
            rows[Meeting].append(
                dict(id=meeting_id, subject_id=s, room_id=room, title=f"{topic.capitalize()} call {m + 1}",
                     timezone="Europe/Zurich", start_local=(start + timedelta(hours=1)).replace(tzinfo=None),
                     start_utc=start, duration_minutes=60, series_end_utc=start + timedelta(hours=1),
                     created_by=coordinator, created_at=NOW, updated_at=NOW)
            )  # fmt: skip
            rows[MeetingSession].append(
                dict(id=meeting_id, meeting_id=meeting_id, room_id=room, occurrence_utc=start,
                     title=f"{topic.capitalize()} call {m + 1}", started_by=coordinator, started_at=start,
                     ended_at=start + timedelta(minutes=lines // 3 + 1))
            )  # fmt: skip
            rows[SessionChair].append(dict(session_id=meeting_id, matrix_id=coordinator))
            for n in range(lines):
                line_id += 1
                speaker = coordinator if n % 3 == 0 else f"@member{n % 7}:example.org"
                text, tag, args = f"Point {n} on {topic}, as discussed.", None, None
                if n % 40 == 1:
                    text, tag = f"!agreed Adopt the {topic} plan, step {n}", "agreed"
                    args = {"text": f"Adopt the {topic} plan, step {n}"}
                elif n % 67 == 2:
                    text, tag = f"!keyissue Funding for {topic} in 2027", "keyissue"
                    args = {"text": f"Funding for {topic} in 2027"}
                elif n % 50 == 3:
                    action_id += 1
                    closed = start + timedelta(days=20) if action_id % 3 == 0 else None
                    rows[ActionItem].append(
                        dict(id=action_id, subject_id=s, room_id=room, session_id=meeting_id,
                             event_id=f"$e{line_id}", owner=speaker, text=f"Draft the note on {topic}",
                             due=(start + timedelta(days=30)).date(), status="done" if closed else "open",
                             created_by=speaker, created_at=start, updated_at=closed or start,
                             closed_at=closed, closed_by=speaker if closed else None)
                    )  # fmt: skip
                    text, tag = f"!action {speaker} Draft the note on {topic}", "action"
                    args = {"who": speaker, "text": f"Draft the note on {topic}", "action": f"A{action_id}"}
                elif n % 10 == 4:
                    text, tag = f"!info Figures for {topic}: {n}", "info"
                    args = {"text": f"Figures for {topic}: {n}"}
                rows[MinuteLine].append(
                    dict(id=line_id, session_id=meeting_id, event_id=f"$e{line_id}", sender=speaker,
                         display_name=None, server_time=start + timedelta(seconds=20 * n), msgtype="m.text",
                         text=text)
                )  # fmt: skip
                if tag:
                    tag_id += 1
                    rows[MinuteTag].append(dict(id=tag_id, line_id=line_id, position=0, tag=tag, args=args))
    return rows


async def seed(database: Database, subjects: int, meetings: int, lines: int) -> int:
    rows = rows_of_a_year(subjects, meetings, lines)
    async with UnitOfWork(database.sessions) as uow:
        for model, values in rows.items():
            for start in range(0, len(values), 5000):
                await uow.session.execute(insert(model), values[start : start + 5000])
        await uow.commit()
    return len(rows[MinuteLine])


async def compile_year(database: Database) -> Any:
    async with UnitOfWork(database.sessions) as uow:
        return await reports.compile_report(
            uow, period=reports.year(2026), now=NOW, base_url="https://iscg.example.org"
        )


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await work()
    return time.perf_counter() - start, result


async def main(subjects: int, meetings: int, lines: int) -> None:
    with tempfile.TemporaryDirectory(prefix="iscg-report-bench-") as tmp:
        database = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await database.migrate()
        started = time.perf_counter()
        stored = await seed(database, subjects, meetings, lines)
        print(
            f"seeded {subjects} subjects × {meetings} meetings × {lines} lines = {stored:,} logged lines "
            f"in {time.perf_counter() - started:.1f} s"
        )
        compiles, renders = [], {"md": [], "html": [], "docx": []}
        sizes: dict[str, int] = {}
        for _ in range(3):
            seconds, report = await timed(lambda: compile_year(database))
            compiles.append(seconds)
            for name, render in (
                ("md", lambda r: report_render.render_markdown(r).encode("utf-8")),
                ("html", lambda r: report_render.render_html(r).encode("utf-8")),
                ("docx", report_render.render_docx),
            ):
                start = time.perf_counter()
                sizes[name] = len(render(report))
                renders[name].append(time.perf_counter() - start)
        totals = report.totals
        print(
            f"report: {totals.subjects} subjects, {totals.meetings_held} meetings held, {totals.decisions} "
            f"decisions, {totals.key_issues} key issues, {totals.actions_opened} actions opened, "
            f"{len(report.overlaps)} possible duplications"
        )
        print(f"compile (database → model): median {statistics.median(compiles):.2f} s")
        for name, seconds in renders.items():
            print(f"render {name:<4}: median {statistics.median(seconds):.2f} s ({sizes[name] / 1e6:.1f} MB)")
        total = statistics.median(compiles) + sum(statistics.median(s) for s in renders.values())
        print(f"compile + all three formats: {total:.2f} s (target < {TARGET_SECONDS} s for the full year)")

        tracemalloc.start()
        report = await compile_year(database)
        after_compile = tracemalloc.get_traced_memory()[1]
        report_render.render_markdown(report)
        report_render.render_html(report)
        report_render.render_docx(report)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"peak memory (traced): compile {after_compile / 2**20:.0f} MiB; "
            f"with all three formats {peak / 2**20:.0f} MiB (target < {TARGET_MB} MB)"
        )
        await database.dispose()


if __name__ == "__main__":
    _, sizes = read_sizes(
        __doc__,
        subjects=Size(50, 3, "subjects seeded"),
        meetings=Size(24, 4, "meetings per subject"),
        lines=Size(200, 40, "logged lines per meeting"),
    )
    asyncio.run(main(sizes["subjects"], sizes["meetings"], sizes["lines"]))
