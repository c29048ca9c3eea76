"""`!ping` round trip through a local Synapse: the ISCG bot against a bare nio echo bot, in the same run.

    python bench/ping_roundtrip.py [--rounds 60] [--quick]

--quick: a handful of pings after one warm-up (seconds: `make test` runs it so the bench cannot rot); its
figures show the bench works, not how fast the bot is.

Starts its own Synapse on 127.0.0.1 and both bots as processes of their own (ours as in production, the floor
`bench/peers/echo_bot.py`: nio's sync loop and a callback that replies), each in a room of its own with the
same person, and measures send → reply-seen as that person's client sees it. The pings alternate between the
two bots, first one then the other, so a slower or warmer homeserver weighs on both alike. Printed for each:
median, p90 and p99 of the round trips; the CPU time its process spent per command over the measured rounds
(user + system, from /proc); its resident memory after the warm-up and at the end. The ratios are ours over
the floor's.

Earlier versions ran the echo bot inside the measuring process (sharing its event loop and CPU with the
person's client) and measured the two bots one after the other: both flattered or penalised one side.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support.sizes import Size, read_sizes
from iscg_bot.demo.homeserver import LocalSynapse
from tests.fixtures_bot import BotProcess, _toml, migrate, register_bot
from tests.support.matrix_user import MatrixUser, is_reply_to

ECHO_BOT = Path(__file__).resolve().parent / "peers" / "echo_bot.py"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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
    cpu_start: float = 0.0
    cpu_end: float = 0.0
    rss_start: float = 0.0
    rss_end: float = 0.0

    @property
    def cpu_per_command_ms(self) -> float:
        return (self.cpu_end - self.cpu_start) / len(self.times) * 1000


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
            f"   RSS {bot.rss_start:5.1f} MB → {bot.rss_end:5.1f} MB"
        )
    median = statistics.median(ours.times) / statistics.median(floor.times)
    p99 = percentile(ours.times, 0.99) / percentile(floor.times, 0.99)
    cpu = ours.cpu_per_command_ms / floor.cpu_per_command_ms if floor.cpu_per_command_ms else float("inf")
    print(f"ratio ISCG/floor   median {median:.2f}×   p99 {p99:.2f}×   CPU {cpu:.2f}×")


async def main(rounds: int, warm_up: int) -> None:
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
            settings = account.settings(server, admins=[alice.user_id])
            await migrate(settings["database"]["url"])
            config = account.workdir / "config.toml"
            config.write_text(_toml(settings | {"logging": {"level": "WARNING"}}), encoding="utf-8")
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
            await alice.stop()
        finally:
            if process is not None:
                process.kill()
            if echo is not None and echo.returncode is None:
                echo.terminate()
                await echo.wait()
            await server.stop()


if __name__ == "__main__":
    quick, sizes = read_sizes(__doc__, rounds=Size(60, 5, "pings measured per bot"))
    asyncio.run(main(sizes["rounds"], warm_up=1 if quick else 5))
