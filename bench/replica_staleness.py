"""Web replicas (`iscg-bot web`): how soon they serve what the bot commits, and what the per-request check
of the data versions costs a feed request.

    python bench/replica_staleness.py [--rounds 40] [--replicas 2] [--meetings 300] [--requests 2000]
                                      [--backend postgresql|sqlite] [--quick]

Issue 15's promise: a change committed by the bot is served by every replica within 2 s, and never a stale
feed under a fresh ETag. Two measurements, in one run:

- **Staleness.** A throwaway database (a fresh one on the machine's PostgreSQL, or a SQLite file) with one
  subject and N meetings; `--replicas` `iscg-bot web` processes on it, as in production (each its own
  process, its own port). Then, `--rounds` times: a meeting is scheduled through the storage layer as the
  bot's command does (`UnitOfWork` with its commit, which raises the data versions), and from the moment the
  commit returns every replica's subject feed is asked every 5 ms (all replicas at once) until it holds the
  new meeting. Printed: the median, p90 and worst over every replica and round, and the number of stale
  answers served with the new ETag (must be 0: a feed is asked with `If-None-Match: <the ETag it had>` and
  a 304 is only right before the change is visible).
- **Cost of the check.** The same application in this process, with and without the data-version check
  (`web.freshness`), answering conditional GETs of the cached feed (304 Not Modified, the request calendar
  clients make most) — requests per second each way, interleaved in blocks, and the ratio.

--quick: 3 rounds, 60 meetings, 200 requests (seconds: `make test` runs it so the bench cannot rot); its
figures show the bench works, not how fresh the replicas are.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench.support.meetings import add_meeting, create_subject
from bench.support.postgres import postgres_database
from iscg_bot.core.clock import FrozenClock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.storage import Database, UnitOfWork
from iscg_bot.web.feed_cache import FeedCache
from iscg_bot.web.freshness import DataFreshness, ReplicaHealth
from iscg_bot.web.server import WebServer, build_application

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
POLL = 0.005
LIMIT = 2.0  # seconds: the promise
CLIENTS = 16  # calendar clients asking at once


async def schedule(database: Database, subject_id: int, title: str, n: int) -> None:
    """One meeting, committed as the bot's `!meeting schedule` commits it."""
    async with UnitOfWork(database.sessions) as uow:
        await add_meeting(uow, subject_id, n, at=NOW, title=title)
        await uow.commit()


async def seed(database: Database, meetings: int) -> int:
    async with UnitOfWork(database.sessions) as uow:
        subject = await create_subject(uow, NOW)
        await uow.commit()
    for n in range(meetings):
        await schedule(database, subject.id, f"Coordination call {n}", n)
    return subject.id


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_replica(workdir: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = workdir / f"replica-{port}.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[web]\nlisten_port = {port}\n'
        f'public_base_url = "http://127.0.0.1:{port}"\n[logging]\nlevel = "WARNING"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISCG_")}
    command = [sys.executable, "-m", "iscg_bot", "web", "--config", str(config)]
    log = (workdir / f"replica-{port}.log").open("wb")
    return subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env
    ), f"http://127.0.0.1:{port}"


async def answering(http: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            async with http.get(base + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"the replica at {base} never answered /healthz")


async def served_after(http: aiohttp.ClientSession, base: str, title: str, etag: str, since: float) -> float:
    """Seconds from `since` until the replica's feed holds `title`; a 304 to the old ETag is fine only
    until then, a 200 without it under a new ETag is a stale feed under a fresh ETag (fails the bench)."""
    while True:
        async with http.get(base + "/calendar/cop.ics", headers={"If-None-Match": etag}) as response:
            body = await response.text()
            if response.status == 200:
                if title in body:
                    return time.monotonic() - since
                if response.headers["ETag"] != etag:
                    raise SystemExit(f"{base} served a feed without {title!r} under a new ETag")
        if time.monotonic() - since > 30:
            raise SystemExit(f"{base} never served {title!r}")
        await asyncio.sleep(POLL)


async def staleness(database: Database, url: str, subject_id: int, rounds: int, replicas: int) -> None:
    with tempfile.TemporaryDirectory(prefix="iscg-replica-bench-") as tmp:
        processes = [start_replica(Path(tmp), url) for _ in range(replicas)]
        try:
            async with aiohttp.ClientSession() as http:
                for _, base in processes:
                    await answering(http, base)
                times: list[float] = []
                for n in range(rounds):
                    etags = []
                    for _, base in processes:
                        async with http.get(base + "/calendar/cop.ics") as response:
                            etags.append(response.headers["ETag"])
                    title = f"Round {n} {secrets.token_hex(3)}"
                    await schedule(database, subject_id, title, 1000 + n)
                    committed = time.monotonic()
                    times += await asyncio.gather(
                        *(
                            served_after(http, base, title, etag, committed)
                            for (_, base), etag in zip(processes, etags, strict=True)
                        )
                    )
        finally:
            for process, _ in processes:
                process.send_signal(signal.SIGTERM)
            for process, _ in processes:
                process.wait(timeout=20)
    times.sort()
    p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
    every = f"asked every {POLL * 1000:.0f} ms"
    print(
        f"staleness, commit to served ({replicas} replicas × {rounds} rounds, {every}): "
        f"median {times[len(times) // 2] * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, "
        f"worst {times[-1] * 1000:.1f} ms   target < {LIMIT * 1000:.0f} ms"
    )
    print("stale feeds served under a new ETag: 0")
    if times[-1] >= LIMIT:
        raise SystemExit(f"a replica took {times[-1]:.2f} s")


async def check_cost(database: Database, requests: int) -> None:
    """304s per second from the same application with and without the data-version check, asked by one
    client at a time and by CLIENTS at once (whose requests share reads of the versions)."""
    clock = FrozenClock(NOW)
    servers = {}
    for checked in (False, True):
        commits = CommitListeners()
        feeds = FeedCache(database.sessions, clock, "http://127.0.0.1", commits=commits)
        freshness = DataFreshness(database.sessions, commits, clock)
        application = build_application(
            feeds, ReplicaHealth(freshness, "bench"), freshness=freshness if checked else None
        )
        servers[checked] = WebServer(application, port=0)
        await servers[checked].start()
    rates: dict[tuple[bool, int], list[float]] = {}
    try:
        async with aiohttp.ClientSession() as http:
            etags = {}
            for checked, server in servers.items():
                async with http.get(server.base_url + "/calendar/cop.ics") as response:
                    etags[checked] = response.headers["ETag"]
            block = max(requests // 10, CLIENTS)

            async def client(url: str, headers: dict[str, str], count: int) -> None:
                for _ in range(count):
                    async with http.get(url, headers=headers) as response:
                        assert response.status == 304, response.status

            for _ in range(5):
                for clients in (1, CLIENTS):
                    for checked, server in servers.items():
                        url, headers = (
                            server.base_url + "/calendar/cop.ics",
                            {"If-None-Match": etags[checked]},
                        )
                        start = time.perf_counter()
                        await asyncio.gather(
                            *(client(url, headers, block // clients) for _ in range(clients))
                        )
                        elapsed = time.perf_counter() - start
                        rates.setdefault((checked, clients), []).append(block // clients * clients / elapsed)
    finally:
        for server in servers.values():
            await server.stop()
    for clients in (1, CLIENTS):
        plain, checked = statistics.median(rates[False, clients]), statistics.median(rates[True, clients])
        print(
            f"304s, {clients:>2} client(s) at once: {plain:,.0f} requests/s without the check, "
            f"{checked:,.0f} requests/s with it: {plain / checked:.2f}× the time"
        )


async def main(args: argparse.Namespace) -> None:
    async with postgres_database() if args.backend == "postgresql" else nullcontext() as url:
        if url is None:
            args.backend = "sqlite"
            url = (
                f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='iscg-replica-bench-db-')) / 'bench.db'}"
            )
        database = Database(url)
        try:
            await database.migrate()
            started = time.perf_counter()
            subject_id = await seed(database, args.meetings)
            print(f"{args.backend}: seeded {args.meetings} meetings in {time.perf_counter() - started:.1f} s")
            await staleness(database, url, subject_id, args.rounds, args.replicas)
            await check_cost(database, args.requests)
        finally:
            await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--meetings", type=int, default=300)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.rounds, arguments.meetings, arguments.requests = 3, 60, 200
    asyncio.run(main(arguments))
