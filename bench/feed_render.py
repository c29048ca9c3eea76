"""Render time of a 10,000-meeting group feed, and how fast the web server answers calendar apps.

    python bench/feed_render.py [--meetings 10000] [--requests 400] [--quick]

Seeds a throwaway SQLite database with one subject and N meetings (a third of them weekly series, some with
a moved and a cancelled occurrence), then measures, in the same run (issue 14's targets beside the figures):
- reading the group feed's meetings (plain rows, `FeedRows.every_meeting`), median of 5,
- the full render of those meetings, nothing kept (median of 5; target < 0.3 s),
- a re-render after one meeting changed, every other meeting's VEVENTs kept (`FeedBlocks`), median of 5,
  and its ratio to the full render: the cost of a change follows the meeting, not the feed,
- GET /calendar/iscg.ics through the real aiohttp server: the first (cold: read + render; target < 0.5 s),
  the first after a meeting was changed and committed (read + that meeting's re-render), the first after
  a commit that wrote nothing a feed is made of (an RSVP: the kept feed, `FeedCache`'s FEED_TABLES), then
  unconditional GETs (cached body), then conditional GETs that get 304 Not Modified — and the 304 rate as
  a ratio against the 200 rate.

--quick: 300 meetings and 40 requests (seconds: `make test` runs it so the bench cannot rot); its figures show
the bench works, not how fast the renderer is.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench.support.meetings import add_meeting, create_subject
from bench.support.sizes import Size, read_sizes
from iscg_bot.calendar.feed_blocks import FeedBlocks
from iscg_bot.calendar.feeds import FeedInfo
from iscg_bot.core.clock import FrozenClock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.health import SyncHealth
from iscg_bot.storage import Database, UnitOfWork
from iscg_bot.storage.repositories.feed_rows import FeedRows, MeetingRow
from iscg_bot.web.feed_cache import FeedCache
from iscg_bot.web.server import WebServer, build_application

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


async def seed(database: Database, count: int) -> None:
    async with UnitOfWork(database.sessions) as uow:
        subject = await create_subject(uow, NOW)
        for n in range(count):
            await add_meeting(uow, subject.id, n, at=NOW, varied=True)
        await uow.commit()


async def timed_gets(http: aiohttp.ClientSession, url: str, count: int, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    for _ in range(count):
        async with http.get(url, headers=headers) as response:
            await response.read()
    return count / (time.perf_counter() - start)


async def main(count: int, requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="iscg-feed-bench-") as tmp:
        database = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await database.migrate()
        started = time.perf_counter()
        await seed(database, count)
        print(f"seeded {count} meetings in {time.perf_counter() - started:.1f} s")

        reads = []
        for _ in range(5):
            start = time.perf_counter()
            async with UnitOfWork(database.sessions) as uow:
                meetings = await FeedRows(uow.session).every_meeting()  # as the group feed reads them
            reads.append(time.perf_counter() - start)
        async with UnitOfWork(database.sessions) as uow:
            subjects = {s.id: s for s in await uow.subjects.list(include_archived=True)}
        print(f"read the feed's {len(meetings)} meetings: median {ms(statistics.median(reads))}")

        info = FeedInfo(name="ISCG — all subjects")
        renders = []
        for _ in range(5):
            blocks = FeedBlocks()  # nothing kept: every meeting rendered
            start = time.perf_counter()
            body = blocks.render(meetings, info=info, subjects=subjects)
            renders.append(time.perf_counter() - start)
        full = statistics.median(renders)
        print(f"full render:      median {ms(full)} ({len(body) / 1e6:.1f} MB)   target < 300 ms")

        rerenders = []
        changed = list(meetings)
        for n in range(5):
            at = (n * 7919) % len(changed)  # another meeting each time
            changed[at] = one_change(changed[at], n)
            rendered = blocks.rendered
            start = time.perf_counter()
            again = blocks.render(changed, info=info, subjects=subjects)
            rerenders.append(time.perf_counter() - start)
            assert blocks.rendered == rendered + 1 and again != body, "one meeting re-rendered, and shown"
            body = again
        rerender = statistics.median(rerenders)
        print(
            f"one meeting changed, re-render: median {ms(rerender)}, {rerender / full:.1%} of the full one "
            "(1 meeting rendered, the others' VEVENTs kept)"
        )

        clock = FrozenClock(NOW)
        commits = CommitListeners()
        feeds = FeedCache(database.sessions, clock, "http://127.0.0.1", commits=commits)
        server = WebServer(build_application(feeds, SyncHealth(None, clock, 30)), port=0)
        await server.start()
        try:
            url = f"{server.base_url}/calendar/iscg.ics"
            async with aiohttp.ClientSession() as http:
                start = time.perf_counter()
                async with http.get(url) as first:
                    await first.read()
                    etag = first.headers["ETag"]
                cold = time.perf_counter() - start
                print(f"first GET (read + render):            {ms(cold)}   target < 500 ms")

                async with UnitOfWork(database.sessions) as uow:
                    meeting = await uow.meetings.get(meetings[len(meetings) // 2].id)
                    assert meeting is not None
                    await uow.meetings.update(meeting, at=NOW + timedelta(hours=1), title="Renamed call")
                    await uow.meetings.touch(meeting, NOW + timedelta(hours=1))
                    await uow.commit()
                commits.committed()
                rendered = feeds.blocks.rendered
                start = time.perf_counter()
                async with http.get(url) as after:
                    assert b"Renamed call" in await after.read()
                    etag = after.headers["ETag"]
                warm = time.perf_counter() - start
                assert feeds.blocks.rendered == rendered + 1
                print(f"first GET after one meeting changed:  {ms(warm)} (read + 1 meeting re-rendered)")

                async with UnitOfWork(database.sessions) as uow:  # a commit no feed is made of
                    await uow.rsvps.set(meetings[0].id, "@bench:example.org", "yes", via="command", at=NOW)
                    await uow.commit()
                    written = uow.written_tables
                commits.committed(written)
                renders = feeds.renders
                start = time.perf_counter()
                async with http.get(url) as after_rsvp:
                    await after_rsvp.read()
                kept = time.perf_counter() - start
                assert feeds.renders == renders, "an RSVP changes no feed: the cached one is served"
                print(f"first GET after an RSVP was committed: {ms(kept)} (the feed kept: not read again)")

                full_rate = await timed_gets(http, url, max(requests // 4, 20), {})
                async with http.get(url, headers={"If-None-Match": etag}) as check:
                    assert check.status == 304, check.status
                not_modified = await timed_gets(http, url, requests, {"If-None-Match": etag})
        finally:
            await server.stop()
            await database.dispose()
        print(f"200 with the cached body: {full_rate:,.0f} requests/s")
        ratio = not_modified / full_rate
        print(f"304 Not Modified:         {not_modified:,.0f} requests/s ({ratio:.1f}× the 200 rate)")


def one_change(meeting: MeetingRow, n: int) -> MeetingRow:
    """The meeting as a change leaves it: renamed, its SEQUENCE raised."""
    return meeting._replace(title=f"{meeting.title} (changed {n})", sequence=meeting.sequence + 1)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


if __name__ == "__main__":
    _, sizes = read_sizes(
        __doc__,
        meetings=Size(10_000, 300, "meetings seeded"),
        requests=Size(400, 40, "conditional GETs timed"),
    )
    asyncio.run(main(sizes["meetings"], sizes["requests"]))
