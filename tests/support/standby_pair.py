"""An active bot and its standby, and a member streaming `!ping`s at them (issue 15): what
tests/test_e2e_standby.py and bench/takeover.py drive.

`Pair` is two `iscg-bot run` processes of one bot account sharing one PostgreSQL database, each with its own
working directory (its own crypto store): two machines. `PingStream` sends `!ping`s round-robin over the
rooms at a steady pace while the test or the bench disrupts the active process; `tally` then says which
commands went unanswered, which were answered twice, and which replies the member could not read.

    pair, bot_id, rooms = await start_pair(synapse, workdir, database_url, member, rooms=20, lease_seconds=4)
    stream = PingStream(member, rooms, pace=0.05)
    await stream.send(300, before=lambda n: n == 120 and pair["bot-a"].kill())
    result = await answered(member, stream.sent, bot_id)
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iscg_bot.demo.homeserver import LocalSynapse
from tests.fixtures_bot import BotAccount, BotProcess, _toml, migrate, register_bot
from tests.support.conversation import barrier, room_with_bot
from tests.support.matrix_user import body_of
from tests.support.polling import eventually

NAMES = ("bot-a", "bot-b")
TOOK_THE_LEASE = "active: took the lease"


def standby_line(active: str) -> str:
    """What a standby logs once it watches `active`'s lease."""
    return f"standby: {active} is active"


class Pair:
    """Two `iscg-bot run` processes for one bot account, sharing one database, each with its own disk."""

    def __init__(
        self,
        synapse: LocalSynapse,
        account: BotAccount,
        database_url: str,
        admins: list[str],
        *,
        lease_seconds: float,
        tuned: Callable[[dict[str, Any]], dict[str, Any]] = lambda settings: settings,
    ):
        """`tuned` may change each process's settings (a bench's production defaults)."""
        self.lease_seconds = lease_seconds
        self.processes: dict[str, BotProcess] = {}
        for name in NAMES:
            workdir = account.workdir / name
            workdir.mkdir(parents=True, exist_ok=True)
            settings: dict[str, Any] = account.settings(synapse, admins=admins)
            settings["matrix"]["store_path"] = str(workdir / "crypto-store")
            settings["database"]["url"] = database_url
            settings["cluster"] = {"instance": name, "lease_seconds": lease_seconds}
            settings = tuned(settings)
            config = workdir / "config.toml"
            config.write_text(_toml(settings), encoding="utf-8")
            self.processes[name] = BotProcess(config, workdir / "bot")

    def __getitem__(self, name: str) -> BotProcess:
        return self.processes[name]

    @staticmethod
    def other(name: str) -> str:
        return NAMES[1 - NAMES.index(name)]

    def kill_all(self) -> None:
        for process in self.processes.values():
            if process.process is not None and process.process.poll() is None:
                process.process.send_signal(signal.SIGCONT)  # a stopped process ignores SIGKILL until then
            process.kill()

    def output(self) -> str:
        return "\n".join(f"--- {name}\n{p.output()[-3000:]}" for name, p in self.processes.items())


def this_run(process: BotProcess) -> str:
    """The log of the process's latest start (a restarted process writes a new file)."""
    if not process.logs or not process.logs[-1].exists():
        return ""
    return process.logs[-1].read_text(errors="replace")


async def logged(process: BotProcess, text: str, timeout: float = 60) -> None:
    """Wait until the process's latest run has logged `text`."""
    await eventually(
        lambda: this_run(process), until=lambda out: text in out, what=f"{text!r} in the log", timeout=timeout
    )


async def start_pair(
    synapse: LocalSynapse,
    workdir: Path,
    database_url: str,
    member: Any,
    *,
    rooms: int,
    lease_seconds: float,
    encrypted: bool = False,
    tuned: Callable[[dict[str, Any]], dict[str, Any]] = lambda settings: settings,
) -> tuple[Pair, str, list[str]]:
    """bot-a active, `rooms` fresh rooms of `member` with the bot, then bot-b a standby; the pair, the bot's
    Matrix ID and the rooms."""
    account = await register_bot(synapse, workdir)
    await migrate(database_url)
    pair = Pair(synapse, account, database_url, [member.user_id], lease_seconds=lease_seconds, tuned=tuned)
    try:
        pair["bot-a"].start()
        await logged(pair["bot-a"], TOOK_THE_LEASE)
        room_ids = [await room_with_bot(member, account.user_id, encrypted=encrypted) for _ in range(rooms)]
        pair["bot-b"].start()
        await logged(pair["bot-b"], standby_line("bot-a"))
    except BaseException:
        pair.kill_all()
        raise
    return pair, account.user_id, room_ids


class PingStream:
    """A member sending `!ping`s round-robin over rooms, one every `pace` seconds (start to start, so a slow
    send does not stretch the stream)."""

    def __init__(self, member: Any, rooms: list[str], pace: float):
        self.member, self.rooms, self.pace = member, rooms, pace
        self.sent: dict[str, str] = {}  # each command's event ID, with its room
        self.sent_at: list[float] = []  # when each was sent (wall clock, s since the epoch), in order

    async def send(
        self,
        count: int | None = None,
        *,
        before: Callable[[int], object] = lambda n: None,
        stop: asyncio.Event | None = None,
    ) -> dict[str, str]:
        """Send `count` commands (or until `stop` is set), calling `before(n)` before the n-th (the
        disruption's hook); the commands sent so far."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while (count is None or n < count) and not (stop is not None and stop.is_set()):
            before(n)
            room_id = self.rooms[n % len(self.rooms)]
            self.sent_at.append(time.time())
            self.sent[await self.member.send_text(room_id, "!ping")] = room_id
            n += 1
            await asyncio.sleep(max(0.0, start + n * self.pace - loop.time()))
        return self.sent

    def sent_between(self, start: float, end: float) -> int:
        """How many commands were sent from `start` to `end` (wall clock)."""
        return sum(1 for at in self.sent_at if start <= at < end)


def first_reply_after(member: Any, rooms: list[str], bot_id: str, after_wall: float) -> float | None:
    """The earliest server timestamp (s since the epoch) of a bot message in `rooms` after `after_wall`."""
    times = [
        event["origin_server_ts"] / 1000
        for room_id in rooms
        for event in member.events(room_id)
        if event.get("sender") == bot_id and event.get("origin_server_ts", 0) / 1000 > after_wall
    ]
    return min(times, default=None)


def takeover_seconds(
    member: Any, rooms: list[str], bot_id: str, disrupted_wall: float, lease: float
) -> float:
    """From the disruption (SIGKILL or SIGSTOP of the active process, wall clock) to the standby's first
    reply, or NaN if none came yet.

    Replies later than an eighth of a lease after the disruption only count: a reply the old process had in
    flight lands within milliseconds of it, while a standby takes over a whole lease after the last renewal
    it saw, so three quarters of a lease after the disruption at the soonest (renewals are a quarter
    apart)."""
    first = first_reply_after(member, rooms, bot_id, disrupted_wall + lease / 8)
    return float("nan") if first is None else first - disrupted_wall


@dataclass
class Tally:
    """Each command's fate, as the member's client sees the rooms."""

    commands: int
    unanswered: list[str] = field(default_factory=list)
    doubled: dict[str, int] = field(default_factory=dict)  # command -> its number of replies (> 1)
    unreadable: dict[str, str] = field(default_factory=dict)  # command -> a reply's body, not "pong"

    @property
    def settled(self) -> bool:
        """Every command has a reply and every reply reads "pong" (decrypted, in an encrypted room)."""
        return not self.unanswered and not self.unreadable

    def __str__(self) -> str:
        return (
            f"{self.commands} commands: {len(self.unanswered)} lost, {len(self.doubled)} doubled,"
            f" {len(self.unreadable)} unreadable"
        )


def tally(member: Any, sent: dict[str, str], bot_id: str) -> Tally:
    """Count the bot's replies to each command in `sent`.

    One pass over each room's events, not `matches(is_reply_to(command), event)` for every pair: hundreds
    of commands times their rooms' events, asked again every 50 ms while the replies come in."""
    replies: defaultdict[str, list[str]] = defaultdict(list)
    for room_id in set(sent.values()):
        for event in member.events(room_id):
            relates = event.get("content", {}).get("m.relates_to", {})
            replied = relates.get("m.in_reply_to", {}).get("event_id") if isinstance(relates, dict) else None
            if event.get("sender") == bot_id and replied in sent:
                replies[replied].append(body_of(event) if event.get("type") == "m.room.message" else "")
    return Tally(
        commands=len(sent),
        unanswered=[command for command in sent if command not in replies],
        doubled={command: len(bodies) for command, bodies in replies.items() if len(bodies) > 1},
        unreadable={
            command: body for command, bodies in replies.items() for body in bodies if body != "pong"
        },
    )


async def answered(member: Any, sent: dict[str, str], bot_id: str, timeout: float = 60) -> Tally:
    """The tally once every command has its readable reply (or `timeout` has passed: then as it stands).

    A `!ping` barrier in each room first: the bot answers a room's events in order, so once its pong is
    seen, anything it would still send about an earlier command (a doubled reply) is in the room already."""
    for room_id in set(sent.values()):
        await barrier(member, room_id, bot_id)
    try:
        return await eventually(
            lambda: tally(member, sent, bot_id),
            until=lambda counted: counted.settled,
            what="a readable reply to every command",
            timeout=timeout,
        )
    except AssertionError:
        return tally(member, sent, bot_id)
