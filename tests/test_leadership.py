"""One active bot among processes sharing a database: the lease, on SQLite and PostgreSQL.

Two `Leadership`s stand for two processes; each has its own monotonic clock the test moves, so a whole
lease passes in no time and a "frozen" process is one whose clock jumps while it did nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from iscg_bot.core.clock import FrozenClock
from iscg_bot.core.leadership import Leadership, Role
from iscg_bot.storage import Database, UnitOfWork
from iscg_bot.storage.repositories.leases import RELEASED
from tests.support.polling import eventually

LEASE = 8.0


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def process(database: Database, name: str, monotonic: Monotonic) -> Leadership:
    clock = FrozenClock(datetime(2026, 12, 6, 12, 0, tzinfo=UTC))
    return Leadership(database.sessions, clock, instance=name, lease_seconds=LEASE, monotonic=monotonic)


async def renewed(database: Database, *, after: tuple[str, int, int] | None) -> None:
    """Wait (really) until the active process has renewed the lease since `after`."""
    await eventually(
        lambda: lease_row(database), until=lambda row: row != after, what="a renewal", interval=0.01
    )


async def lease_row(database: Database) -> tuple[str, int, int] | None:
    async with UnitOfWork(database.sessions) as uow:
        lease = await uow.leases.observe("bot")
    return (lease.holder, lease.epoch, lease.beat) if lease else None


async def test_the_first_process_takes_a_free_lease_at_once(database: Database) -> None:
    clock = Monotonic()
    first = process(database, "bot-a", clock)
    assert await first.acquire(asyncio.Event())
    assert first.holds() and first.role is Role.ACTIVE
    assert await lease_row(database) == ("bot-a", 1, 0)


async def test_a_standby_waits_while_the_active_one_renews_and_takes_over_when_it_stops(
    database: Database,
) -> None:
    clock_a, clock_b = Monotonic(), Monotonic()
    active, standby = process(database, "bot-a", clock_a), process(database, "bot-b", clock_b)
    active.renew_every = standby.poll_every = 0.01  # real waits short; lease time is the test's clocks
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    assert await active.acquire(stop_a)
    keeping = asyncio.create_task(active.keep(stop_a))
    waiting = asyncio.create_task(standby.acquire(stop_b))

    # Two leases' worth of time passes for both while the active one keeps renewing: no takeover.
    for _ in range(8):
        await renewed(database, after=await lease_row(database))
        clock_a.now += LEASE / 4
        clock_b.now += LEASE / 4
    await eventually(lambda: standby.role is Role.STANDBY, what="bot-b on standby", interval=0.01)
    assert not waiting.done() and active.holds()

    # The active process dies (its renewals stop): a lease later, the standby has it.
    stop_a.set()
    await keeping
    seen = await lease_row(database)
    await asyncio.sleep(0.05)  # the standby sees the beat stand still…
    clock_b.now += LEASE + 0.1  # …for a whole lease
    assert await asyncio.wait_for(waiting, timeout=5)
    assert standby.holds()
    assert seen is not None and await lease_row(database) == ("bot-b", seen[1] + 1, 0)


async def test_a_frozen_leader_that_wakes_after_a_takeover_stops_and_cannot_renew(database: Database) -> None:
    clock_a, clock_b = Monotonic(), Monotonic()
    old, new = process(database, "bot-a", clock_a), process(database, "bot-b", clock_b)
    stop_a = asyncio.Event()
    assert await old.acquire(stop_a)
    seen = await _observe(database)

    # bot-a is frozen (SIGSTOP): nothing of it runs; bot-b watches the beat stand still for a lease.
    new.poll_every = 0.01
    waiting = asyncio.create_task(new.acquire(asyncio.Event()))
    await eventually(lambda: new.role is Role.STANDBY, what="bot-b on standby", interval=0.01)
    clock_b.now += LEASE + 0.1
    assert await asyncio.wait_for(waiting, timeout=5)

    # SIGCONT: bot-a's clock jumped past its deadline: it may not act, and its next renewal is refused.
    clock_a.now += LEASE + 5
    assert not old.holds(), "a leader past its deadline must not act, even before it notices"
    old.renew_every = 0.0
    await asyncio.wait_for(old.keep(stop_a), timeout=5)
    assert old.role is Role.LOST and old.lost.is_set() and stop_a.is_set()
    assert new.holds()
    assert seen is not None and await lease_row(database) == ("bot-b", seen[1] + 1, 0)


async def test_a_leader_whose_lease_was_taken_while_it_ran_loses_at_its_next_renewal(
    database: Database,
) -> None:
    clock_a, clock_b = Monotonic(), Monotonic()
    old, new = process(database, "bot-a", clock_a), process(database, "bot-b", clock_b)
    stop_a = asyncio.Event()
    assert await old.acquire(stop_a)
    # Another process claims the lease as it saw it (as after a whole lease of no beats).
    async with UnitOfWork(database.sessions) as uow:
        seen = await uow.leases.observe("bot")
        assert await uow.leases.claim("bot", "bot-b", datetime(2026, 12, 6, tzinfo=UTC), seen=seen) == 2
        await uow.commit()
    old.renew_every = 0.0
    await asyncio.wait_for(old.keep(stop_a), timeout=5)
    assert old.role is Role.LOST and not old.holds()
    assert new.role is Role.STARTING  # the test claimed for it; nothing else changed


async def test_a_clean_stop_gives_the_lease_back_and_a_standby_takes_it_at_once(database: Database) -> None:
    clock_a, clock_b = Monotonic(), Monotonic()
    old, new = process(database, "bot-a", clock_a), process(database, "bot-b", clock_b)
    assert await old.acquire(asyncio.Event())
    await old.release()
    assert not old.holds() and old.role is Role.STOPPED
    row = await lease_row(database)
    assert row is not None and row[0] == RELEASED
    assert await asyncio.wait_for(new.acquire(asyncio.Event()), timeout=5)  # no lease-long wait
    assert new.holds()


async def test_the_same_instance_restarted_takes_its_own_lease_back_at_once(database: Database) -> None:
    clock = Monotonic()
    assert await process(database, "bot-a", clock).acquire(asyncio.Event())  # then SIGKILL: no release
    again = process(database, "bot-a", Monotonic())
    assert await asyncio.wait_for(again.acquire(asyncio.Event()), timeout=5)
    assert await lease_row(database) == ("bot-a", 2, 0)


async def test_two_standbys_racing_for_an_expired_lease_only_one_wins(database: Database) -> None:
    assert await process(database, "bot-a", Monotonic()).acquire(asyncio.Event())
    seen = await _observe(database)
    async with UnitOfWork(database.sessions) as first, UnitOfWork(database.sessions) as second:
        won_first = await first.leases.claim("bot", "bot-b", datetime(2026, 12, 6, tzinfo=UTC), seen=seen)
        await first.commit()
        won_second = await second.leases.claim("bot", "bot-c", datetime(2026, 12, 6, tzinfo=UTC), seen=seen)
        await second.commit()
    assert (won_first, won_second) == (2, None)


async def test_a_leader_that_cannot_renew_stops_acting_at_its_deadline_and_goes_on_once_renewed(
    database: Database,
) -> None:
    """The database away (or the loop held up by long work): past the deadline the leader does nothing;
    a renewal that then succeeds proves nobody took over, and it acts again (the outbox is woken)."""
    clock = Monotonic()
    leader = process(database, "bot-a", clock)
    stopping = asyncio.Event()
    assert await leader.acquire(stopping)
    regained: list[bool] = []
    leader.on_regained = lambda: regained.append(True)
    renew = leader._renew
    reachable = False

    async def flaky() -> bool:
        if not reachable:
            raise OSError("connection refused")
        return await renew()

    leader._renew = flaky  # type: ignore[method-assign]
    leader.renew_every = leader.poll_every = 0.01
    keeping = asyncio.create_task(leader.keep(stopping))
    await asyncio.sleep(0.05)
    assert leader.holds() and not keeping.done(), "a failed renewal before the deadline is retried"
    clock.now += LEASE  # past the deadline (lease − lease/4 after the claim)
    assert not leader.holds()
    await asyncio.sleep(0.05)
    assert not leader.holds() and not keeping.done() and not stopping.is_set() and not regained

    reachable = True
    await eventually(leader.holds, what="the lease renewed", interval=0.01)
    assert regained == [True] and leader.role is Role.ACTIVE and not stopping.is_set()
    stopping.set()
    await asyncio.wait_for(keeping, timeout=5)


async def test_a_leader_past_its_deadline_confirms_by_renewing_before_it_handles_anything(
    database: Database,
) -> None:
    clock = Monotonic()
    leader = process(database, "bot-a", clock)
    stopping = asyncio.Event()
    assert await leader.acquire(stopping)
    clock.now += LEASE  # held up past its deadline; nobody took over: confirmed by a renewal
    assert await asyncio.wait_for(leader.confirm(stopping), timeout=5)
    assert leader.holds()

    clock.now += LEASE  # again, but this time a standby took over meanwhile
    async with UnitOfWork(database.sessions) as uow:
        seen = await uow.leases.observe("bot")
        assert await uow.leases.claim("bot", "bot-b", datetime(2026, 12, 6, tzinfo=UTC), seen=seen) == 2
        await uow.commit()
    assert not await asyncio.wait_for(leader.confirm(stopping), timeout=5)
    assert leader.role is Role.LOST and stopping.is_set() and leader.lost.is_set()


async def _observe(database: Database):  # type: ignore[no-untyped-def]
    async with UnitOfWork(database.sessions) as uow:
        return await uow.leases.observe("bot")


class Outage:
    """The database away for the processes named in `away`: their lease round trips (renewal, observation)
    fail as against a stopped server, while the rows stay as they were."""

    def __init__(self, *processes: Leadership) -> None:
        self.away: set[str] = set()
        for leadership in processes:
            self._cut(leadership)

    def _cut(self, leadership: Leadership) -> None:
        renew, observe = leadership._renew, leadership._observe

        async def renewing() -> bool:
            self._check(leadership)
            return await renew()

        async def observing():  # type: ignore[no-untyped-def]
            self._check(leadership)
            return await observe()

        leadership._renew = renewing  # type: ignore[method-assign]
        leadership._observe = observing  # type: ignore[method-assign]

    def _check(self, leadership: Leadership) -> None:
        if leadership.instance in self.away:
            raise ConnectionRefusedError("Connect call failed ('127.0.0.1', 5432)")


async def test_after_a_database_restart_the_leader_resumes_and_the_standby_does_not_take_over(
    database: Database,
) -> None:
    """Neither process reaches the database for three leases. The standby then reads the beat it saw
    before, unchanged: no evidence that the leader died (it could not renew), so it starts counting again;
    the leader renews within an eighth of a lease and resumes. Worst case shown: the standby reads first."""
    clock_a, clock_b = Monotonic(), Monotonic()
    active, standby = process(database, "bot-a", clock_a), process(database, "bot-b", clock_b)
    active.renew_every = active.poll_every = standby.poll_every = 0.01
    outage = Outage(active, standby)
    back: list[str] = []  # what the bot's retries hear (a failed sync batch is retried at once)
    active.on_database_back = lambda: back.append("bot-a")
    standby.on_database_back = lambda: back.append("bot-b")
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    assert await active.acquire(stop_a)
    keeping = asyncio.create_task(active.keep(stop_a))
    waiting = asyncio.create_task(standby.acquire(stop_b))
    await eventually(lambda: standby.role is Role.STANDBY, what="bot-b on standby", interval=0.01)
    assert active.problem() is None and standby.problem() is None
    assert standby.health() == {"instance": "bot-b", "role": "standby", "active": "bot-a", "epoch": 1}

    outage.away = {"bot-a", "bot-b"}  # PostgreSQL stops
    await eventually(lambda: active.database_error and standby.database_error, what="both see the outage")
    clock_a.now += 3 * LEASE
    clock_b.now += 3 * LEASE
    await asyncio.sleep(0.05)  # polls fail meanwhile
    assert not active.holds(), "past its deadline the leader does nothing"
    for leadership in (active, standby):
        assert (leadership.problem() or "").startswith("the database does not answer (for "), leadership
        assert "ConnectionRefusedError" in (leadership.problem() or "")

    outage.away = {"bot-a"}  # back, and the standby reads the lease first: the same beat as before
    await eventually(lambda: standby.database_error is None, what="bot-b reading again", interval=0.01)
    clock_b.now += LEASE / 2
    await asyncio.sleep(0.05)
    assert not waiting.done(), "a beat unseen during the outage is no evidence that the leader died"

    outage.away = set()  # the leader renews: nobody took over, it acts again
    before = standby._seen
    await eventually(active.holds, what="the leader renewing", interval=0.01)
    await eventually(lambda: standby._seen != before, what="bot-b seeing a new beat", interval=0.01)
    clock_b.now += LEASE / 2 + 0.1  # a whole lease since the standby read again, but the beat moved
    await asyncio.sleep(0.05)
    assert not waiting.done() and active.holds() and active.role is Role.ACTIVE
    assert active.problem() is None and standby.problem() is None
    assert back == ["bot-b", "bot-a"], "once each, as the database answered again"
    stop_a.set()
    stop_b.set()
    await asyncio.wait_for(asyncio.gather(keeping, waiting), timeout=5)
    assert not waiting.result()


async def test_a_leader_that_died_during_the_outage_is_replaced_a_lease_after_the_database_returns(
    database: Database,
) -> None:
    clock_a, clock_b = Monotonic(), Monotonic()
    dead, standby = process(database, "bot-a", clock_a), process(database, "bot-b", clock_b)
    standby.poll_every = 0.01
    outage = Outage(standby)
    assert await dead.acquire(asyncio.Event())  # it renews no more: killed as the database went away
    seen = await lease_row(database)
    waiting = asyncio.create_task(standby.acquire(asyncio.Event()))
    await eventually(lambda: standby.role is Role.STANDBY, what="bot-b on standby", interval=0.01)

    outage.away = {"bot-b"}
    await eventually(lambda: standby.database_error, what="bot-b seeing the outage", interval=0.01)
    clock_b.now += 3 * LEASE
    await asyncio.sleep(0.05)
    outage.away = set()
    await eventually(lambda: standby.database_error is None, what="bot-b reading again", interval=0.01)
    await asyncio.sleep(0.05)
    assert not waiting.done(), "not at once: the beat is watched for a whole lease from now"
    clock_b.now += LEASE + 0.1
    assert await asyncio.wait_for(waiting, timeout=5)
    assert seen is not None and await lease_row(database) == ("bot-b", seen[1] + 1, 0)
    assert standby.health() == {"instance": "bot-b", "role": "active", "active": "bot-b", "epoch": 2}


async def test_a_hanging_renewal_shows_as_a_problem_once_the_deadline_passes(database: Database) -> None:
    """A database that accepts and never answers fails no round trip for a while: the deadline says it."""
    clock = Monotonic()
    leader = process(database, "bot-a", clock)
    assert await leader.acquire(asyncio.Event())
    assert leader.problem() is None
    clock.now += LEASE
    assert leader.problem() == "the lease was not renewed in time: doing nothing until a renewal succeeds"
