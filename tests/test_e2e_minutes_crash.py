"""The minutes survive crashes (issue 6): a member streams 200 numbered messages into a running meeting
while the bot, as its own process, is SIGKILLed at three random points and restarted; every number is
minuted exactly once.

The kill points come from `random.Random(seed)`; the seed is printed and named in every assertion, and
`ISCG_CRASH_SEED=<seed>` replays the plan (where each kill lands in the stream still depends on timing). The
figures (seed, kills, lines) are printed: see them with `pytest -s` or `-rP`.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from iscg_bot.storage import Database, MeetingSession, MinuteLine, ProcessedEvent, UnitOfWork
from tests.support.conversation import say
from tests.support.matrix_user import body_of, is_message, is_reply_to
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

MESSAGES = 200
PACE_SECONDS = 0.04  # between two of the member's messages (each send takes ~15-30 ms more)
NUMBER = re.compile(r"\bn=(\d+)\b")


def numbers_in(texts: Iterable[str]) -> Counter[int]:
    """How many times each `n=<number>` occurs in `texts` (minute lines, or the rendered minutes)."""
    return Counter(int(found) for text in texts for found in NUMBER.findall(text))


@dataclass
class Kill:
    """One SIGKILL: once `after` more messages are sent since the bot was (re)started, or (`catching_up`) once
    the restarted bot has minuted `lines` more lines, while it works through its backlog; then the bot stays
    down `pause` s (and messages keep coming)."""

    catching_up: bool
    after: int
    lines: int
    pause: float
    reached: int | None = None  # messages sent when the SIGKILL landed
    at: datetime | None = None
    minuted: int | None = None  # of those, how many the bot had committed to the minutes by then

    def describe(self) -> str:
        where = (
            f"catching up, +{self.lines} lines"
            if self.catching_up
            else f"+{self.after} messages since started"
        )
        if self.reached is None:
            return f"{where}, down {self.pause:.2f} s"
        behind = "" if self.minuted is None else f" ({self.minuted} minuted)"
        return f"{where}: killed at n={self.reached}{behind}, down {self.pause:.2f} s"


@dataclass
class CrashPlan:
    seed: int
    kills: list[Kill]

    @classmethod
    def drawn(cls, seed: int) -> CrashPlan:
        """Three kills: the first while the bot keeps pace with the stream, then each either the same or
        while it catches up after its restart (at least one of those: that is where a batch is cut short).
        A third of the restarts are immediate; the others leave it down while messages keep coming."""
        rng = random.Random(seed)
        modes = [False, *rng.choice([(True, False), (False, True), (True, True)])]
        kills = [
            Kill(
                catching_up=catching_up,
                after=rng.randint(10, 50),
                lines=rng.randint(1, 12),
                pause=0.0 if rng.random() < 1 / 3 else rng.uniform(0.3, 2.5),
            )
            for catching_up in modes
        ]
        return cls(seed, kills)

    def describe(self) -> str:
        return f"seed={self.seed} (replay: ISCG_CRASH_SEED={self.seed}); kills: " + "; ".join(
            f"#{number} {kill.describe()}" for number, kill in enumerate(self.kills, start=1)
        )


def crash_seed() -> int:
    given = os.environ.get("ISCG_CRASH_SEED")
    return int(given) if given else secrets.randbelow(2**32)


class LinesSoFar:
    """Counts the lines the running bot has committed, reading its SQLite database beside it (WAL: readers
    never block the writer)."""

    def __init__(self, database_url: str) -> None:
        self.path = database_url.removeprefix("sqlite+aiosqlite:///")
        self.connection: sqlite3.Connection | None = None

    def __call__(self) -> int:
        if self.connection is None:
            self.connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        return self.connection.execute("SELECT count(*) FROM minute_lines").fetchone()[0]

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


async def minuted(
    database_url: str, room_id: str
) -> tuple[list[MinuteLine], list[datetime | None], str | None]:
    """The room's one session's lines in the order heard, when the bot committed each of them (the ledger
    row of the line's event), and the Markdown minutes rendered at !endmeeting."""
    database = Database(database_url)
    try:
        async with UnitOfWork(database.sessions) as uow:
            sessions = list(await uow.session.scalars(select(MeetingSession).filter_by(room_id=room_id)))
            assert len(sessions) == 1, f"expected one meeting session, found {len(sessions)}"
            rows = (
                await uow.session.execute(
                    select(MinuteLine, ProcessedEvent.handled_at)
                    .outerjoin(ProcessedEvent, ProcessedEvent.event_id == MinuteLine.event_id)
                    .where(MinuteLine.session_id == sessions[0].id)
                    .order_by(MinuteLine.server_time, MinuteLine.id)
                )
            ).all()
            return [line for line, _ in rows], [handled for _, handled in rows], sessions[0].minutes_markdown
    finally:
        await database.dispose()


async def test_every_streamed_number_is_minuted_exactly_once_across_three_sigkills(
    matrix_user_factory, bot_process, synapse
):
    plan = CrashPlan.drawn(crash_seed())
    print(f"\ncrash test: {plan.describe()}")
    admin = await matrix_user_factory("alice")
    member = await matrix_user_factory("bob")
    process, account = await bot_process(admins=[admin.user_id])
    bot_id = account.user_id
    process.start()
    try:
        room_id = await admin.create_room(invite=[bot_id, member.user_id])
        await admin.wait_joined(room_id, bot_id, timeout=60)
        await member.join(room_id)
        await admin.wait_joined(room_id, member.user_id)
        await say(admin, room_id, "!subject create cop Child Online Protection", bot_id)
        started = await say(admin, room_id, "!startmeeting", bot_id)
        assert started.startswith("Meeting started"), started

        sent = 0
        progress = asyncio.Condition()
        database_url = account.settings(synapse)["database"]["url"]
        lines_so_far = LinesSoFar(database_url)

        async def stream() -> None:
            nonlocal sent
            for number in range(1, MESSAGES + 1):
                await member.send_text(room_id, f"n={number}")
                async with progress:
                    sent = number
                    progress.notify_all()
                await asyncio.sleep(PACE_SECONDS)

        async def catching_up(more: int) -> None:
            """Until the restarted bot has minuted `more` lines (or all there will be)."""
            goal = lines_so_far() + more

            def caught_up() -> bool:
                assert process.process is not None and process.process.poll() is None, "the bot died"
                minuted = lines_so_far()
                return minuted >= goal or (sent == MESSAGES and minuted > MESSAGES)

            await eventually(
                caught_up, what=f"the restarted bot to minute {more} more lines", timeout=60, interval=0.005
            )

        async def crash() -> None:
            rng = random.Random(plan.seed + 1)  # the jitter within the pace, replayed with the plan
            previous = 0
            for kill in plan.kills:
                if kill.catching_up:
                    await catching_up(kill.lines)
                else:
                    target = min(previous + kill.after, MESSAGES)
                    async with progress:
                        await progress.wait_for(lambda t=target: sent >= t)
                    await asyncio.sleep(rng.uniform(0, PACE_SECONDS))
                process.kill()
                kill.reached, kill.at = sent, datetime.now(UTC)
                await asyncio.sleep(kill.pause)
                process.start()
                previous = sent

        began = time.monotonic()
        try:
            await asyncio.gather(stream(), crash())
        finally:
            lines_so_far.close()
        streamed_in = time.monotonic() - began
        print(f"crash test: streamed {MESSAGES} messages in {streamed_in:.1f} s; {plan.describe()}")

        # The bot catches up on what it missed before it answers: a notice (the minutes follow as a file).
        end = await admin.send_text(room_id, "!endmeeting")
        summary = body_of(
            await admin.wait_for(
                lambda e: is_reply_to(end, sender=bot_id)(e) and e["content"]["msgtype"] == "m.notice",
                room_id=room_id,
                timeout=60,
            )
        )
        caught_up_in = time.monotonic() - began - streamed_in
        assert process.terminate() == 0, process.output()[-3000:]

        lines, handled_at, markdown = await minuted(database_url, room_id)
        texts = [line.text for line in lines]
        numbers = numbers_in(texts)
        for kill in plan.kills:
            kill.minuted = sum(
                1
                for text, at in zip(texts, handled_at, strict=True)
                if NUMBER.search(text) and at is not None and kill.at is not None and at < kill.at
            )
        said = next((row for row in summary.splitlines() if "minuted" in row), summary)
        figures = (
            f"{plan.describe()}; {len(lines)} lines stored, {len(numbers)} distinct numbers, "
            f"{sum(numbers.values())} numbered lines; the summary said {said!r}"
        )
        print(f"crash test: {figures}; caught up {caught_up_in:.1f} s after the stream")

        missing = sorted(set(range(1, MESSAGES + 1)) - set(numbers))
        doubled = sorted(n for n, count in numbers.items() if count > 1)
        assert not missing and not doubled, f"missing {missing}, doubled {doubled}; {figures}"
        assert set(numbers) == set(range(1, MESSAGES + 1)), f"unexpected numbers; {figures}"
        assert [int(n) for text in texts for n in NUMBER.findall(text)] == list(range(1, MESSAGES + 1)), (
            f"the numbers are not minuted in the order they were said; {figures}"
        )
        repeated = {text: count for text, count in Counter(texts).items() if count > 1}
        assert not repeated, f"lines minuted more than once: {repeated}; {figures}"
        assert len({line.event_id for line in lines}) == len(lines), figures
        assert texts[0] == "!startmeeting" and texts[-1] == "!endmeeting", f"{texts[:2]} … {texts[-2:]}"
        assert len(lines) == MESSAGES + 2, figures
        # …and the minutes people read say each number exactly once too.
        assert numbers_in([markdown or ""]) == Counter(range(1, MESSAGES + 1)), (
            f"the minutes differ; {figures}"
        )
        assert f"{len(lines)} lines minuted." in summary.splitlines(), f"{summary!r}; {figures}"
        # The bot's answers were not doubled by the crashes either.
        answers = Counter(
            kind
            for event in admin.events(room_id)
            for kind in ("Meeting started", "Meeting ended")
            if is_message(sender=bot_id, contains=kind)(event)
        )
        assert answers == {"Meeting started": 1, "Meeting ended": 1}, f"{answers}; {figures}"
    except BaseException:
        print(process.output()[-5000:])
        raise
