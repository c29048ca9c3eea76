"""`!ping` round trip through a local Synapse: the ISCG bot against a bare nio echo bot, in the same run.

    python bench/ping_roundtrip.py [--rounds 60] [--rooms 20] [--per-room 10] [--bursts 4] [--quick]

--quick: a handful of pings after one warm-up (seconds: `make test` runs it so the bench cannot rot); its
figures show the bench works, not how fast the bot is.

Starts its own Synapse on 127.0.0.1 and both bots as processes of their own (ours as in production, the floor
`bench/peers/echo_bot.py`: nio's sync loop and a callback that replies), each in a room of its own with the
same person, and measures send → reply-seen as that person's client sees it. The pings alternate between the
two bots, first one then the other, so a slower or warmer homeserver weighs on both alike. Printed for each:
median, p90 and p99 of the round trips; the CPU time its process spent per command over the measured rounds
(user + system, from /proc); its resident memory after the warm-up and at the end. The ratios are ours over
the floor's.

Then the burst: the person opens `--rooms` rooms with each bot and sends `--per-room` commands into every
one of them at once (a round across all rooms at a time, without waiting for replies), and waits for every
reply. Printed for each bot: commands answered per second over its bursts, how many went unanswered and how
many were answered twice; the bursts alternate which bot goes first.

Ours runs with the production defaults (INFO logging, 30 s long-poll), not the test fixture's tuning.

Earlier versions ran the echo bot inside the measuring process (sharing its event loop and CPU with the
person's client) and measured the two bots one after the other: both flattered or penalised one side.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support.production import as_installed_by_default, production_defaults
from bench.support.sizes import Size, read_sizes
from iscg_bot.demo.homeserver import LocalSynapse
from tests.fixtures_bot import BotProcess, _toml, migrate, register_bot
from tests.support.matrix_user import MatrixUser, is_reply_to

ECHO_BOT = Path(__file__).resolve().parent / "peers" / "echo_bot.py"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of the process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of the process now (VmRSS in /proc/<pid>/status), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class Bot:
    """One bot under measurement: its Matrix ID, its room with the person, its process."""

    name: str
    user_id: str
    room_id: str
    pid: int
    times: list[float] = field(default_factory=list)
    cpu_start: tuple[float, float] = (0.0, 0.0)  # (user, system) seconds
    cpu_end: tuple[float, float] = (0.0, 0.0)
    rss_start: float = 0.0
    rss_end: float = 0.0

    @property
    def cpu_per_command_ms(self) -> float:
        return self.user_per_command_ms + self.system_per_command_ms

    @property
    def user_per_command_ms(self) -> float:
        return (self.cpu_end[0] - self.cpu_start[0]) / len(self.times) * 1000

    @property
    def system_per_command_ms(self) -> float:
        return (self.cpu_end[1] - self.cpu_start[1]) / len(self.times) * 1000


async def start_echo_bot(server: LocalSynapse) -> tuple[asyncio.subprocess.Process, str]:
    """The floor's process, once it has synced, and its Matrix ID."""
    registered = await server.register(f"echo-{secrets.token_hex(3)}", "pw-echo-bot")
    env = os.environ | {
        "ISCG_ECHO_HOMESERVER": server.base_url,
        "ISCG_ECHO_USER": registered.user_id,
        "ISCG_ECHO_DEVICE": registered.device_id,
        "ISCG_ECHO_TOKEN": registered.access_token,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ECHO_BOT), env=env, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    if line.strip() != b"ready":
        raise RuntimeError(f"the echo bot did not start: {line!r}")
    return process, registered.user_id


async def ping(user: MatrixUser, bot: Bot, n: int) -> float:
    start = time.perf_counter()
    event_id = await user.send_text(bot.room_id, f"!ping {n}")
    await user.wait_for(is_reply_to(event_id, sender=bot.user_id), room_id=bot.room_id, timeout=30)
    return (time.perf_counter() - start) * 1000


async def measure(user: MatrixUser, bots: list[Bot], rounds: int, warm_up: int) -> None:
    """Warm both up (first sends fill caches), then ping them in turn, alternating which goes first."""
    for n in range(warm_up):
        for bot in bots:
            await ping(user, bot, n)
    for bot in bots:
        bot.cpu_start, bot.rss_start = cpu_seconds(bot.pid), rss_mb(bot.pid)
    for n in range(rounds):
        for bot in bots if n % 2 == 0 else reversed(bots):
            bot.times.append(await ping(user, bot, n))
    for bot in bots:
        bot.cpu_end, bot.rss_end = cpu_seconds(bot.pid), rss_mb(bot.pid)


@dataclass
class Burst:
    """One burst at one bot: every command sent at once across its rooms, until every reply has arrived."""

    seconds: float
    commands: int
    unanswered: int  # commands with no reply
    doubled: int  # commands answered more than once

    @property
    def per_second(self) -> float:
        return self.commands / self.seconds


async def burst(user: MatrixUser, bot_id: str, rooms: list[str], per_room: int, label: str) -> Burst:
    """`per_room` commands into each of `rooms`, sent concurrently (a round across all rooms at a time),
    then the wait for every reply; after a short settle, the replies are counted per command."""
    start = time.perf_counter()
    sent: list[tuple[str, str]] = []
    for n in range(per_room):
        ids = await asyncio.gather(*(user.send_text(room, f"!ping {label}-{n}") for room in rooms))
        sent += list(zip(rooms, ids, strict=True))

    def answers(room: str, event_id: str) -> int:
        match = is_reply_to(event_id, sender=bot_id)
        return sum(1 for event in user.events(room) if _safe(match, event))

    for room, event_id in sent:  # each wait returns at once for a reply already in
        with contextlib.suppress(TimeoutError):  # counted as unanswered below
            await user.wait_for(is_reply_to(event_id, sender=bot_id), room_id=room, timeout=60)
    seconds = time.perf_counter() - start
    await asyncio.sleep(1)  # a doubled reply would come soon after the first
    counts = [answers(room, event_id) for room, event_id in sent]
    return Burst(seconds, len(sent), counts.count(0), sum(1 for c in counts if c > 1))


def _safe(predicate: Callable[[dict[str, Any]], bool], event: dict[str, Any]) -> bool:
    try:
        return predicate(event)
    except (KeyError, TypeError):
        return False


async def measure_bursts(
    user: MatrixUser, bots: list[tuple[str, list[str]]], per_room: int, repeats: int
) -> list[list[Burst]]:
    """Each bot's bursts, alternating which goes first (floor, ours, ours, floor…)."""
    results: list[list[Burst]] = [[] for _ in bots]
    for n in range(repeats):
        order = list(range(len(bots))) if n % 2 == 0 else list(reversed(range(len(bots))))
        for index in order:
            bot_id, rooms = bots[index]
            results[index].append(await burst(user, bot_id, rooms, per_room, f"burst{n}"))
    return results


def report_bursts(names: list[str], results: list[list[Burst]], rooms: int, per_room: int) -> None:
    print(f"burst: {rooms} rooms × {per_room} commands at once, {len(results[0])} bursts each, alternating")
    rates = []
    for name, bursts in zip(names, results, strict=True):
        commands = sum(b.commands for b in bursts)
        rate = commands / sum(b.seconds for b in bursts)
        rates.append(rate)
        unanswered, doubled = sum(b.unanswered for b in bursts), sum(b.doubled for b in bursts)
        print(
            f"{name:<18} {rate:6.1f} commands/s   ({commands} commands: {unanswered} unanswered,"
            f" {doubled} answered twice)"
        )
    print(f"ratio ISCG/floor   throughput {rates[1] / rates[0]:.2f}×   (target ≥ 0.95×)")


def percentile(times: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest time at least `share` of the round trips took no longer than."""
    ordered = sorted(times)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def report(floor: Bot, ours: Bot) -> None:
    for bot in (floor, ours):
        print(
            f"{bot.name:<18} median {statistics.median(bot.times):6.1f} ms"
            f"   p90 {percentile(bot.times, 0.9):6.1f} ms"
            f"   p99 {percentile(bot.times, 0.99):6.1f} ms   CPU {bot.cpu_per_command_ms:5.1f} ms/command"
            f" (user {bot.user_per_command_ms:4.1f}, system {bot.system_per_command_ms:4.1f})"
            f"   RSS {bot.rss_start:5.1f} MB → {bot.rss_end:5.1f} MB"
        )
    median = statistics.median(ours.times) / statistics.median(floor.times)
    p99 = percentile(ours.times, 0.99) / percentile(floor.times, 0.99)
    cpu = ours.cpu_per_command_ms / floor.cpu_per_command_ms if floor.cpu_per_command_ms else float("inf")
    print(f"ratio ISCG/floor   median {median:.2f}×   p99 {p99:.2f}×   CPU {cpu:.2f}×")
    print("(targets: median ≤ 1.10×, p99 ≤ 1.2×, CPU ≤ 2×, our RSS ≤ 80 MB)")


async def burst_rooms(user: MatrixUser, bot_id: str, count: int) -> list[str]:
    rooms = [await user.create_room(invite=[bot_id]) for _ in range(count)]
    for room in rooms:
        await user.wait_joined(room, bot_id, timeout=60)
    return rooms


async def main(rounds: int, warm_up: int, rooms: int, per_room: int, bursts: int) -> None:
    with tempfile.TemporaryDirectory(prefix="iscg-bench-") as tmp:
        root = Path(tmp)
        server = LocalSynapse(root / "synapse")
        process: BotProcess | None = None
        echo: asyncio.subprocess.Process | None = None
        try:
            await server.start()
            registered = await server.register(f"alice-{secrets.token_hex(3)}", "pw-alice")
            alice = await MatrixUser.start(server.base_url, registered, root / "alice", encryption=False)

            echo, echo_id = await start_echo_bot(server)
            echo_room = await alice.create_room(invite=[echo_id])
            await alice.wait_joined(echo_room, echo_id, timeout=30)

            account = await register_bot(server, root / "iscg")
            settings = production_defaults(account.settings(server, admins=[alice.user_id]))
            await migrate(settings["database"]["url"])
            config = account.workdir / "config.toml"
            config.write_text(_toml(settings), encoding="utf-8")
            process = BotProcess(config, account.workdir / "bot")
            process.start()
            assert process.process is not None
            room = await alice.create_room(invite=[account.user_id])
            await alice.wait_joined(room, account.user_id, timeout=60)

            floor = Bot("floor (bare nio)", echo_id, echo_room, echo.pid)
            ours = Bot("ISCG bot", account.user_id, room, process.process.pid)
            await measure(alice, [floor, ours], rounds, warm_up)
            print(f"!ping round trip through a local Synapse, {rounds} rounds each, interleaved")
            print(f"(after {warm_up} warm-up rounds; CPU and RSS of each bot's own process)")
            report(floor, ours)

            floor_rooms = await burst_rooms(alice, echo_id, rooms)
            our_rooms = await burst_rooms(alice, account.user_id, rooms)
            results = await measure_bursts(
                alice, [(echo_id, floor_rooms), (account.user_id, our_rooms)], per_room, bursts
            )
            report_bursts([floor.name, ours.name], results, rooms, per_room)
            await alice.stop()
        finally:
            if process is not None:
                process.kill()
            if echo is not None and echo.returncode is None:
                echo.terminate()
                await echo.wait()
            await server.stop()


if __name__ == "__main__":
    packages = as_installed_by_default()
    quick, sizes = read_sizes(
        __doc__,
        rounds=Size(60, 5, "pings measured per bot"),
        rooms=Size(20, 2, "rooms per bot in a burst"),
        per_room=Size(10, 2, "commands per room in a burst"),
        bursts=Size(4, 2, "bursts per bot (alternating which bot goes first)"),
    )
    print(f"packages: {packages}")
    asyncio.run(
        main(
            sizes["rounds"],
            warm_up=1 if quick else 5,
            rooms=sizes["rooms"],
            per_room=sizes["per_room"],
            bursts=sizes["bursts"],
        )
    )
