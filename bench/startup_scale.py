"""Start-up at scale: how soon a restarted bot answers its first command, and its memory then, on a big
database.

    python bench/startup_scale.py [--rooms 1000] [--meetings 10000] [--lines 100000] [--restarts 3]
                                  [--settle 10] [--quick]

Issue 14's target: with 1,000 rooms, 10,000 meetings (a third of them series) and 100,000 minute lines in the
database, the first command is answered < 3 s after launch, with RSS < 120 MB.

Starts its own Synapse on 127.0.0.1 and the bot as its own process (`python -m iscg_bot run`, as in
production, SQLite), twice over in the same run: on an empty database (the baseline: what start-up costs
anyway — Python, imports, login, the first sync) and on the big one. Each bot is launched once first (its
first launch ever: login, a new device, the initial sync), left to settle as a bot that has been running
has (every ping of its first launch answered, then `--settle` seconds for its reminders' catch-up), stopped
with SIGTERM, and then restarted `--restarts` times: before each restart the person says `!ping` in a room
the bot shares with them, and the time measured is from the process launch (Popen) to the reply as the
person's client sees it — the bot answers commands sent while it was down on its first sync. Printed beside
the targets: the median and worst of those times, the bot's resident memory (VmRSS in /proc/<pid>/status)
when the reply is seen, and its peak (VmHWM); and how long each SIGTERM took to stop it.

The big database holds what a deployment of that size holds: N subjects, each bound to a room and with a
coordinator; meetings spread over those subjects — two thirds one-offs (half of them held in the last year,
half to come in the next), one third weekly or fortnightly series running from six months ago to six months
ahead, with a cancelled occurrence here and there; the held one-offs have sessions whose minutes make up the
minute lines (tags, an action item each, its due-day reminder long sent); and the reminders of the last
eight days recorded as sent, as a bot that was running until a moment ago leaves them.

The rooms are real: the bot is joined, in Synapse, to every subject's room (created by another user and
joined through the client-server API with the bot's own account before its first launch), so its syncs carry
1,000 rooms as in production; creating them takes two to six minutes of the full run (Synapse on a shared
two-core machine), which is worth it: a bot bound to 1,000 rooms it is not in would sync one room and flatter
the figure.

--quick: 5 rooms, 60 meetings, 600 minute lines, one restart (seconds: `make test` runs it so the bench cannot
rot); its figures show the bench works, not how fast the bot starts.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from sqlalchemy import insert

from bench.support.production import as_installed_by_default, production_defaults
from bench.support.sizes import Size, read_sizes
from iscg_bot.chat.reminders import reminders_of
from iscg_bot.core.config import RemindersSettings
from iscg_bot.demo.homeserver import LocalSynapse
from iscg_bot.domain.recurrence import Repeat, series_end, to_rrule
from iscg_bot.storage import (
    ActionItem,
    Database,
    Meeting,
    MeetingOverride,
    MeetingSession,
    MinuteLine,
    MinuteTag,
    ReminderSent,
    RoleAssignment,
    SessionChair,
    Subject,
    UnitOfWork,
)
from tests.fixtures_bot import BotAccount, BotProcess, _toml, migrate, register_bot
from tests.support.matrix_user import MatrixUser, is_reply_to

TARGET_SECONDS = 3.0
TARGET_RSS_MB = 120.0
LINES_PER_SESSION = 50
ZONES = ("Europe/Zurich", "America/New_York", "Asia/Tokyo", "Africa/Nairobi", "America/Bogota")
BY = "@secretariat:example.org"
ROOM_CREATION_CONCURRENCY = 8


# ---- the database ----------------------------------------------------------------------------------------


def _utc(start_local: datetime, zone: str) -> datetime:
    return start_local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def rows_of_a_deployment(
    rooms: list[str], meetings: int, lines: int, now: datetime
) -> dict[type, list[dict[str, Any]]]:
    """Every row of the big database but the reminders sent; IDs set here, so rows can refer to others."""
    rows: dict[type, list[dict[str, Any]]] = {
        model: []
        for model in (
            *(Subject, RoleAssignment, Meeting, MeetingOverride, MeetingSession, SessionChair),
            *(MinuteLine, MinuteTag, ActionItem),
        )
    }
    long_ago = now - timedelta(days=400)
    for s, room in enumerate(rooms, start=1):
        rows[Subject].append(
            dict(id=s, slug=f"s{s}", title=f"Subject {s}", description=f"The work of subject {s}.",
                 timezone=ZONES[s % len(ZONES)], room_id=room, created_by=BY, created_at=long_ago,
                 updated_at=long_ago)
        )  # fmt: skip
        rows[RoleAssignment].append(
            dict(matrix_id=f"@coord{s}:example.org", role="coordinator", subject_id=s, assigned_by=BY,
                 assigned_at=long_ago)
        )  # fmt: skip
    held: list[dict[str, Any]] = []
    today = now.replace(tzinfo=None, minute=0, second=0, microsecond=0)
    for n in range(meetings):
        s = n % len(rooms) + 1
        zone = ZONES[n % len(ZONES)]
        duration = timedelta(minutes=60 + 30 * (n % 3))
        rrule = None
        if n % 3 == 0:  # a series: weekly or fortnightly, from six months ago to six months ahead
            start_local = today - timedelta(days=180 - n % 14, hours=today.hour - 8 - n % 9)
            repeat = Repeat("WEEKLY", interval=1 + n % 2, until=(now + timedelta(days=180 + n % 30)).date())
            rrule = to_rrule(repeat, zone=zone, start_local=start_local, duration=duration)
            end = series_end(repeat, zone=zone, start_local=start_local, duration=duration)
        else:  # a one-off: in the year past (held) or the year to come, hour by hour
            offset = timedelta(hours=(n * 7919) % (365 * 24)) * (-1 if n % 3 == 1 else 1)
            start_local = today + offset
            end = _utc(start_local, zone) + duration
        start_utc = _utc(start_local, zone)
        created = min(start_utc, now) - timedelta(days=14)
        rows[Meeting].append(
            dict(id=n + 1, subject_id=s, room_id=rooms[s - 1], title=f"Coordination call {n + 1}",
                 timezone=zone, start_local=start_local, start_utc=start_utc,
                 duration_minutes=int(duration.total_seconds() // 60), rrule=rrule, series_end_utc=end,
                 link="https://meet.example.org/call", created_by=f"@coord{s}:example.org",
                 created_at=created, updated_at=created)
        )  # fmt: skip
        if rrule is not None and n % 9 == 0:  # one occurrence cancelled, a month ahead
            cancelled = start_local + timedelta(weeks=(1 + n % 2) * (26 // (1 + n % 2) + 2))
            rows[MeetingOverride].append(
                dict(meeting_id=n + 1, occurrence_local=cancelled, cancelled=True, reason="Holiday",
                     created_at=created, updated_at=created)
            )  # fmt: skip
        if rrule is None and start_utc < now - duration:
            held.append(rows[Meeting][-1])
    sessions = max(1, lines // LINES_PER_SESSION)
    line_id = 0
    for session_id, meeting in enumerate(held[:sessions], start=1):
        start, coordinator = meeting["start_utc"], meeting["created_by"]
        rows[MeetingSession].append(
            dict(id=session_id, meeting_id=meeting["id"], room_id=meeting["room_id"], occurrence_utc=start,
                 title=meeting["title"], started_by=coordinator, started_at=start,
                 ended_at=start + timedelta(minutes=55), minutes_status="approved", approved_by=coordinator,
                 approved_at=start + timedelta(days=2))
        )  # fmt: skip
        rows[SessionChair].append(dict(session_id=session_id, matrix_id=coordinator))
        due = (start + timedelta(days=30)).date()
        rows[ActionItem].append(
            dict(id=session_id, subject_id=meeting["subject_id"], room_id=meeting["room_id"],
                 session_id=session_id, event_id=f"$a{session_id}", owner=coordinator,
                 text="Draft the note", due=due, status="open", created_by=coordinator, created_at=start,
                 updated_at=start, due_reminded_on=due if due < now.date() else None)
        )  # fmt: skip
        per_session = lines // sessions + (1 if session_id <= lines % sessions else 0)
        for k in range(per_session):
            line_id += 1
            speaker = coordinator if k % 3 == 0 else f"@member{k % 7}:example.org"
            text = f"Point {k} of {meeting['title']}, as discussed."
            if k % 10 == 4:
                text = f"!info Figures for point {k}"
                rows[MinuteTag].append(
                    dict(line_id=line_id, position=0, tag="info", args={"text": f"Figures for point {k}"})
                )
            rows[MinuteLine].append(
                dict(id=line_id, session_id=session_id, event_id=f"$l{line_id}", sender=speaker,
                     server_time=start + timedelta(seconds=30 * k), msgtype="m.text", text=text)
            )  # fmt: skip
    return rows


async def seed(database: Database, rooms: list[str], meetings: int, lines: int, now: datetime) -> None:
    """Fill the (migrated) database; then record every reminder due in the last eight days as sent."""
    rows = rows_of_a_deployment(rooms, meetings, lines, now)
    async with UnitOfWork(database.sessions) as uow:
        for model, values in rows.items():
            for start in range(0, len(values), 5000):
                await uow.session.execute(insert(model), values[start : start + 5000])
        await uow.commit()
    since = now - timedelta(days=8)
    offsets = RemindersSettings().offsets_minutes
    async with UnitOfWork(database.sessions) as uow:
        candidates = await uow.meetings.upcoming_candidates(after_utc=since, limit=len(rows[Meeting]))
        sent = [
            dict(meeting_id=r.meeting_id, occurrence_utc=r.occurrence_utc, offset_minutes=r.offset_minutes,
                 sent_at=r.due, late=False)
            for meeting in candidates
            for r in reminders_of(meeting, offsets, due_from=since, due_until=now)
        ]  # fmt: skip
        for start in range(0, len(sent), 5000):
            await uow.session.execute(insert(ReminderSent), sent[start : start + 5000])
        await uow.commit()


# ---- the rooms -------------------------------------------------------------------------------------------


async def create_joined_rooms(server: LocalSynapse, bot: BotAccount, count: int) -> list[str]:
    """`count` rooms made by another user, the bot invited and joined with its account (not its process)."""
    maker = await server.register(f"secretariat-{secrets.token_hex(3)}", "pw-secretariat")
    limit = asyncio.Semaphore(ROOM_CREATION_CONCURRENCY)

    async with aiohttp.ClientSession(server.base_url) as http:

        async def call(token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"}
            async with http.post(path, json=body, headers=headers) as response:
                answer: dict[str, Any] = await response.json()
                if response.status != 200:
                    raise RuntimeError(f"POST {path}: HTTP {response.status} {answer}")
                return answer

        async def one(n: int) -> str:
            async with limit:
                made = await call(
                    maker.access_token,
                    "/_matrix/client/v3/createRoom",
                    {"preset": "private_chat", "name": f"Subject {n}", "invite": [bot.user_id]},
                )
                room_id: str = made["room_id"]
                await call(bot.registration_token, f"/_matrix/client/v3/join/{room_id}", {})
                return room_id

        return list(await asyncio.gather(*(one(n) for n in range(count))))


# ---- the measurement -------------------------------------------------------------------------------------


def proc_status_mb(pid: int, key: str) -> float:
    """A memory figure of the process now (VmRSS, VmHWM… in /proc/<pid>/status), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for process {pid}")


@dataclass
class Launches:
    """One bot's start-ups: its first launch ever, then each restart's time to the first answer and memory."""

    name: str
    first_launch: float = 0.0
    times: list[float] = field(default_factory=list)
    stops: list[float] = field(default_factory=list)  # seconds from SIGTERM to the exit
    rss: list[float] = field(default_factory=list)
    peak: list[float] = field(default_factory=list)


async def prepare_bot(
    server: LocalSynapse, alice: MatrixUser, workdir: Path, rooms: int
) -> tuple[BotAccount, BotProcess, list[str]]:
    """A registered, configured bot with a migrated database, joined to the ping room and `rooms - 1` more."""
    account = await register_bot(server, workdir)
    ping_room = await alice.create_room(invite=[account.user_id])
    others = await create_joined_rooms(server, account, rooms - 1)
    async with aiohttp.ClientSession(server.base_url) as http:
        headers = {"Authorization": f"Bearer {account.registration_token}"}
        async with http.post(f"/_matrix/client/v3/join/{ping_room}", json={}, headers=headers) as response:
            response.raise_for_status()
    await alice.wait_joined(ping_room, account.user_id, timeout=30)
    settings = production_defaults(account.settings(server, admins=[alice.user_id]))
    await migrate(settings["database"]["url"])
    config = account.workdir / "config.toml"
    config.write_text(_toml(settings), encoding="utf-8")
    return account, BotProcess(config, account.workdir / "bot"), [ping_room, *others]


async def first_launch(alice: MatrixUser, bot: BotProcess, user_id: str, room: str) -> float:
    """Seconds from its first launch ever to a reply; pinged every half second (what it says before its
    first sync is history, skipped by design)."""
    start = time.perf_counter()
    bot.start()
    pings: set[str] = set()

    def answers_a_ping(event: dict[str, Any]) -> bool:
        replied = event["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
        return replied in pings and event["sender"] == user_id

    for n in range(240):
        pings.add(await alice.send_text(room, f"!ping first launch {n}"))
        try:
            await alice.wait_for(answers_a_ping, room_id=room, timeout=0.5)
            return time.perf_counter() - start
        except TimeoutError:
            if bot.process is not None and bot.process.poll() is not None:
                raise RuntimeError(f"the bot exited on its first launch:\n{bot.output()[-3000:]}") from None
    raise RuntimeError(f"the bot never answered on its first launch:\n{bot.output()[-3000:]}")


async def settle(alice: MatrixUser, user_id: str, room: str, seconds: int) -> None:
    """Let the bot run as one that has been running: the first launch's pings (one every half second during
    its initial sync) all answered — a room's replies go in order, so the answer to one more ping is the
    last — and then `seconds` for its reminders' catch-up. Without it, the first restart sent some thirty
    pongs of the first launch, left in the outbox at the stop, before the one measured."""
    event_id = await alice.send_text(room, "!ping settled?")
    await alice.wait_for(is_reply_to(event_id, sender=user_id), room_id=room, timeout=120)
    await asyncio.sleep(seconds)


async def restart(alice: MatrixUser, bot: BotProcess, user_id: str, room: str, launches: Launches) -> None:
    """Stop the bot, say `!ping` while it is down, launch it, wait for the reply; note the time and memory."""
    await stop(bot, launches)
    event_id = await alice.send_text(room, f"!ping restart {len(launches.times)}")
    start = time.perf_counter()
    bot.start()
    assert bot.process is not None
    try:
        await alice.wait_for(is_reply_to(event_id, sender=user_id), room_id=room, timeout=120)
    except BaseException:
        print(bot.output()[-3000:], file=sys.stderr)
        raise
    launches.times.append(time.perf_counter() - start)
    launches.rss.append(proc_status_mb(bot.process.pid, "VmRSS"))
    launches.peak.append(proc_status_mb(bot.process.pid, "VmHWM"))


async def stop(bot: BotProcess, launches: Launches) -> None:
    """SIGTERM, and the time it takes the bot to exit (0, as it must)."""
    start = time.perf_counter()
    code = await asyncio.to_thread(bot.terminate, 120)
    launches.stops.append(time.perf_counter() - start)
    if code != 0:
        raise RuntimeError(f"the bot exited {code} on SIGTERM:\n{bot.output()[-3000:]}")


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def measure(
    alice: MatrixUser, bot: BotProcess, account: BotAccount, room: str, name: str, sizes: dict[str, int]
) -> Launches:
    launches = Launches(name)
    launches.first_launch = await first_launch(alice, bot, account.user_id, room)
    progress(f"{name}: first launch answered after {launches.first_launch:.2f} s")
    await settle(alice, account.user_id, room, sizes["settle"])
    restarts = sizes["restarts"]
    for _ in range(restarts):
        await restart(alice, bot, account.user_id, room, launches)
        progress(f"{name}: restart answered after {launches.times[-1]:.2f} s, RSS {launches.rss[-1]:.1f} MB")
    await stop(bot, launches)
    return launches


def report(baseline: Launches, big: Launches, sizes: dict[str, int], setup: dict[str, float]) -> None:
    print(
        f"start-up on a database of {sizes['rooms']:,} rooms, {sizes['meetings']:,} meetings "
        f"({(sizes['meetings'] + 2) // 3:,} series) and {sizes['lines']:,} minute lines; "
        f"{sizes['restarts']} restarts each, the bot as its own process (SQLite)"
    )
    print(
        f"(set-up: rooms created and joined in {setup['rooms']:.1f} s, "
        f"database seeded in {setup['seed']:.1f} s)"
    )
    for launches in (baseline, big):
        print(
            f"{launches.name:<16} first command answered: median {statistics.median(launches.times):5.2f} s, "
            f"worst {max(launches.times):5.2f} s (target < {TARGET_SECONDS:.0f} s)   "
            f"RSS then {statistics.median(launches.rss):5.1f} MB (target < {TARGET_RSS_MB:.0f} MB), "
            f"peak {max(launches.peak):5.1f} MB   "
            f"first launch ever: answered after {launches.first_launch:5.2f} s   "
            f"SIGTERM to exit: worst {max(launches.stops):4.1f} s"
        )
    extra = statistics.median(big.times) - statistics.median(baseline.times)
    extra_rss = statistics.median(big.rss) - statistics.median(baseline.rss)
    print(f"what the big database adds: {extra:+.2f} s to the first answer, {extra_rss:+.1f} MB of RSS")


async def main(sizes: dict[str, int]) -> None:
    with tempfile.TemporaryDirectory(prefix="iscg-bench-") as tmp:
        root = Path(tmp)
        server = LocalSynapse(root / "synapse")
        processes: list[BotProcess] = []
        alice: MatrixUser | None = None
        try:
            await server.start()
            registered = await server.register(f"alice-{secrets.token_hex(3)}", "pw-alice")
            alice = await MatrixUser.start(server.base_url, registered, root / "alice", encryption=False)

            small_account, small, (small_room,) = await prepare_bot(server, alice, root / "empty", 1)
            began = time.perf_counter()
            big_account, big, big_rooms = await prepare_bot(server, alice, root / "big", sizes["rooms"])
            setup = {"rooms": time.perf_counter() - began}
            progress(f"{len(big_rooms)} rooms created and joined in {setup['rooms']:.1f} s")
            processes += [small, big]
            began = time.perf_counter()
            database = Database(f"sqlite+aiosqlite:///{big_account.workdir / 'bot.db'}")
            try:
                await seed(database, big_rooms, sizes["meetings"], sizes["lines"], datetime.now(UTC))
            finally:
                await database.dispose()
            setup["seed"] = time.perf_counter() - began
            progress(f"database seeded in {setup['seed']:.1f} s")

            baseline = await measure(alice, small, small_account, small_room, "empty database", sizes)
            scaled = await measure(alice, big, big_account, big_rooms[0], "big database", sizes)
            report(baseline, scaled, sizes, setup)
        finally:
            for process in processes:
                process.kill()
            if alice is not None:
                await alice.stop()
            await server.stop()


if __name__ == "__main__":
    print(f"packages: {as_installed_by_default()}")
    _, sizes = read_sizes(
        __doc__,
        rooms=Size(1000, 5, "rooms: subjects bound to rooms the bot is joined to"),
        meetings=Size(10_000, 60, "meetings, a third of them series"),
        lines=Size(100_000, 600, "minute lines"),
        restarts=Size(3, 1, "restarts measured per bot"),
        settle=Size(10, 1, "seconds a bot runs after its first launch, its pings answered, before restarts"),
    )
    asyncio.run(main(sizes))
