"""/metrics through the chat driver: commands, reminders and feeds counted, the exposition read back with
Prometheus's own text parser; the sync loop's health (`SyncHealth`) on a frozen clock; and which process is
active, in /healthz and /metrics of the active bot and of a standby, with the database up and down."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from iscg_bot.chat.reminders import ReminderService
from iscg_bot.chat.router import Context, Router
from iscg_bot.core.clock import FrozenClock
from iscg_bot.core.health import SyncHealth
from iscg_bot.core.leadership import Leadership, Role
from iscg_bot.core.metrics import Metrics, metrics_route
from iscg_bot.storage import Database
from iscg_bot.web.standby import standby_application
from tests.chat import ADMIN, ALICE, COORD, START, Chat, said
from tests.support.metrics import counting, value
from tests.support.pg_cluster import private_cluster
from tests.support.polling import eventually
from tests.support.reminders import CALL, utc

MEMBER = "@member:example.org"


async def test_commands_are_counted_by_name_and_outcome_and_each_reply_timed(chat):
    metrics = counting(chat)
    replies = []
    for body, sender in [
        ("!ping", ALICE),
        ("!PING", ALICE),  # counted under its canonical name
        ("!subject create cop Child Online Protection", ALICE),  # not hers to run
        ("!subject create cop Child Online Protection", ADMIN),
        ("!subject", ALICE),
        ("!meeting", ALICE),  # a bare group word
        ("!frobnicate the secret-project-42", ALICE),  # unknown: never the typed words
        ("!tz Mars/Olympus", ALICE),  # a usage error
    ]:
        replies += await chat.say(body, sender=sender)
    assert value(metrics, "iscg_commands_total", command="ping", outcome="ok") == 2
    assert value(metrics, "iscg_commands_total", command="subject create", outcome="refused") == 1
    assert value(metrics, "iscg_commands_total", command="subject create", outcome="ok") == 1
    assert value(metrics, "iscg_commands_total", command="subject", outcome="ok") == 1
    assert value(metrics, "iscg_commands_total", command="meeting", outcome="refused") == 1
    assert value(metrics, "iscg_commands_total", command="unknown", outcome="refused") == 1
    assert value(metrics, "iscg_commands_total", command="tz", outcome="refused") == 1
    body, _ = metrics.exposition()
    assert b"frobnicate" not in body and b"secret-project" not in body
    # One reply per message, one latency per message: two timer readings apart, 0.25 s.
    assert value(metrics, "iscg_reply_latency_seconds_count") == len(replies) == 8
    assert value(metrics, "iscg_reply_latency_seconds_sum") == 8 * 0.25
    assert value(metrics, "iscg_reply_latency_seconds_bucket", le="0.25") == 8
    assert value(metrics, "iscg_reply_latency_seconds_bucket", le="0.1") == 0


async def test_every_refusal_is_counted_refused_whatever_refused_it(chat):
    """Issue 12: a refused overlap was counted `ok`. Usage, permission, conflict and domain refusals are one
    outcome: refused (the reply says why; nothing was changed)."""
    metrics = counting(chat)
    call = '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich for 60m'
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, call, by=ADMIN)
    overlap = await said(chat, call.replace("Call", "Other call"), by=ADMIN)
    assert overlap.startswith("Scheduling not done: it overlaps")
    assert (await said(chat, call, by=MEMBER)).startswith("Only ")  # not hers to run
    assert "Usage: " in await said(chat, "!meeting schedule", by=ADMIN)
    await said(chat, f"!action {COORD} Draft the agenda", by=ADMIN)
    assert (await said(chat, "!action done A1", by=MEMBER)).startswith("Only A1's owner")
    assert "not enabled" in await said(chat, "!calendar resync", by=ADMIN)
    assert value(metrics, "iscg_commands_total", command="meeting schedule", outcome="ok") == 1
    assert value(metrics, "iscg_commands_total", command="meeting schedule", outcome="refused") == 3
    assert value(metrics, "iscg_commands_total", command="action done", outcome="refused") == 1
    assert value(metrics, "iscg_commands_total", command="action done", outcome="ok") == 0
    assert value(metrics, "iscg_commands_total", command="calendar resync", outcome="refused") == 1


async def test_a_message_seen_again_is_not_counted_again_and_a_failure_is_an_error(tmp_path):
    router = Router()

    @router.command("ping")
    async def ping(ctx: Context) -> None:
        await ctx.reply("pong")

    @router.command("boom")
    async def boom(ctx: Context) -> None:
        raise RuntimeError("broken")

    chat = await Chat.open(tmp_path, router=router)
    try:
        metrics = counting(chat)
        message = chat.message("!ping\n!boom")
        assert len(await chat.deliver(message)) == 2
        assert await chat.deliver(message) == []  # a re-sync: the ledger knows it
        assert value(metrics, "iscg_commands_total", command="ping", outcome="ok") == 1
        assert value(metrics, "iscg_commands_total", command="boom", outcome="error") == 1
        assert value(metrics, "iscg_reply_latency_seconds_count") == 1  # one message, two replies
    finally:
        await chat.close()


async def test_a_batch_times_each_reply_from_the_batch_s_arrival(chat):
    """The second message of a room waits for the first: its latency includes that wait."""
    metrics = counting(chat)  # readings: arrival 0, then 0.25 and 0.5 at the two commits
    await chat.dispatcher.handle_batch([chat.message("!ping"), chat.message("!ping")])
    assert value(metrics, "iscg_reply_latency_seconds_count") == 2
    assert value(metrics, "iscg_reply_latency_seconds_sum") == 0.25 + 0.5


async def test_reminders_are_counted_sent_late_and_skipped(chat):
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, CALL)  # Thu 3 Dec 13:00 UTC: reminders at 24 h, 15 min and 0 before
    await said(chat, f"!action {MEMBER} Draft the agenda due 2026-12-01")  # reminded at 08:00 UTC that day
    await said(chat, f"!action {MEMBER} Book the venue due 2026-11-30")  # its day is over before we look
    metrics = Metrics()
    service = ReminderService(
        chat.database.sessions, chat.clock, chat.config.reminders, tick_seconds=None, metrics=metrics
    )
    await service.start(run_jobs=False)
    try:
        for at, queued in [
            ("2026-12-01T08:00", 1),  # the agenda's action reminder; the venue's day has passed: skipped
            ("2026-12-02T13:00", 1),  # the day before, on time
            ("2026-12-03T12:50", 1),  # the 15-minute one, 5 minutes late
            ("2026-12-03T14:01", 0),  # the start one, beyond the 60-minute grace: skipped
        ]:
            chat.clock.set(utc(at))
            assert await service.run_due() == queued, at
    finally:
        await service.stop()
    counted = {
        (kind, outcome): value(metrics, "iscg_reminders_total", kind=kind, outcome=outcome)
        for kind, outcome in [
            ("meeting", "sent"),
            ("meeting", "late"),
            ("meeting", "skipped"),
            ("action", "sent"),
            ("action", "skipped"),
        ]
    }
    assert counted == {
        ("meeting", "sent"): 1,
        ("meeting", "late"): 1,
        ("meeting", "skipped"): 1,
        ("action", "sent"): 1,
        ("action", "skipped"): 1,
    }


async def test_feed_requests_by_feed_and_status_on_the_metrics_page():
    metrics = Metrics()
    for feed, status in [("group", 200), ("group", 304), ("group", 304), ("subject", 200), ("personal", 304)]:
        metrics.feed_served(feed, status)
    app = web.Application()
    app.router.add_get("/metrics", metrics_route(metrics))
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    feeds = {(s.labels["feed"], s.labels["status"]): s.value for s in families["iscg_feed_requests"].samples}
    assert feeds[("group", "200")] == 1 and feeds[("group", "304")] == 2
    assert feeds[("subject", "200")] == 1 and feeds[("subject", "304")] == 0
    assert feeds[("personal", "304")] == 1
    assert families["iscg_feed_requests"].type == "counter"
    assert families["iscg_reply_latency_seconds"].type == "histogram"


async def test_the_sync_lag_is_read_from_the_gateway_when_scraped(chat):
    metrics = Metrics()
    metrics.watch_sync(chat.gateway, chat.clock)
    chat.clock.advance(timedelta(seconds=7))
    assert value(metrics, "iscg_sync_lag_seconds") == 7  # no sync yet: counted from the start
    chat.gateway.last_sync_at, chat.gateway.syncs, chat.gateway.sync_failures = chat.clock.now(), 12, 3
    chat.clock.advance(timedelta(seconds=2))
    assert value(metrics, "iscg_sync_lag_seconds") == 2
    assert value(metrics, "iscg_last_sync_timestamp_seconds") == (START + timedelta(seconds=7)).timestamp()
    assert value(metrics, "iscg_syncs_total") == 12
    assert value(metrics, "iscg_sync_failures_total") == 3


def test_every_bot_has_its_own_registry():
    first, second = Metrics(), Metrics()
    first.feed_served("group", 200)
    assert value(first, "iscg_feed_requests_total", feed="group", status="200") == 1
    assert value(second, "iscg_feed_requests_total", feed="group", status="200") == 0


@pytest.mark.parametrize(("margin", "allowed"), [(30.0, 90.0), (60.0, 120.0), (2.0, 4.0)])
async def test_healthy_while_the_last_sync_is_younger_than_two_long_polls_and_the_margin(
    chat, margin, allowed
):
    health = SyncHealth(
        chat.gateway, chat.clock, sync_timeout_seconds=(allowed - margin) / 2, margin_seconds=margin
    )
    assert health.report() == (
        False,
        {
            "ok": False,
            "last_sync_at": None,
            "lag_seconds": None,
            "allowed_lag_seconds": allowed,
            "reason": "no sync yet",
        },
    )
    chat.gateway.last_sync_at = chat.clock.now()
    chat.clock.advance(timedelta(seconds=allowed))
    ok, report = health.report()
    assert ok and report["lag_seconds"] == allowed and "reason" not in report
    chat.gateway.last_sync_error = "ClientConnectorError"  # the homeserver went away
    chat.clock.advance(timedelta(seconds=1))
    ok, report = health.report()
    assert not ok
    assert report["reason"] == (
        f"no sync for {allowed + 1:.0f} s (more than {allowed:.0f} s); "
        "the last attempt failed: ClientConnectorError"
    )
    assert report["last_error"] == "ClientConnectorError"


# ---- which process is active: the lease in /healthz and /metrics ----------------------------------------


class Cluster:
    """An active process (`bot-a`: its SyncHealth and Metrics, as the bot builds them) and a standby
    (`bot-b`: the standby application, with its own Metrics), sharing `database`, renewing and polling
    every 0.05 s (the 8 s lease itself is not reached)."""

    def __init__(self, database: Database) -> None:
        clock = FrozenClock(START)
        self.active = Leadership(database.sessions, clock, instance="bot-a")
        self.standby = Leadership(database.sessions, clock, instance="bot-b")
        self.active.renew_every = self.active.poll_every = self.standby.poll_every = 0.05
        gateway = SimpleNamespace(last_sync_at=clock.now(), last_sync_error=None)  # a sync just handled
        self.health = SyncHealth(gateway, clock, sync_timeout_seconds=30, lease=self.active)
        self.metrics, self.standby_metrics = Metrics(), Metrics()
        self.metrics.watch_leadership(self.active)
        self.standby_metrics.watch_leadership(self.standby)
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[Any]] = []

    async def __aenter__(self) -> Cluster:
        assert await self.active.acquire(self.stopping)
        self.tasks = [
            asyncio.create_task(self.active.keep(self.stopping)),
            asyncio.create_task(self.standby.acquire(self.stopping)),
        ]
        await eventually(lambda: self.standby.role is Role.STANDBY, what="bot-b on standby")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stopping.set()
        await asyncio.wait_for(asyncio.gather(*self.tasks), timeout=10)

    def gauges(self, name: str) -> dict[str, float]:
        """`name`'s value on each process's /metrics, by its bot_instance label."""
        return {
            instance: value(metrics, name, bot_instance=instance)
            for instance, metrics in (("bot-a", self.metrics), ("bot-b", self.standby_metrics))
        }


def standby_web(cluster: Cluster) -> TestClient:
    """The standby's web port: /healthz and /metrics (`iscg_bot.web.standby`)."""
    return TestClient(TestServer(standby_application(cluster.standby, cluster.standby_metrics)))


async def standby_healthz(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/healthz")
    return response.status, await response.json()


async def test_healthz_and_metrics_of_each_process_say_which_one_is_active(database):
    async with Cluster(database) as cluster, standby_web(cluster) as client:
        ok, report = cluster.health.report()
        assert ok and report["cluster"] == {
            "instance": "bot-a",
            "role": "active",
            "active": "bot-a",
            "epoch": 1,
        }
        assert await standby_healthz(client) == (
            200,
            {"ok": True, "instance": "bot-b", "role": "standby", "active": "bot-a", "epoch": 1},
        )
        assert cluster.gauges("iscg_leader") == {"bot-a": 1, "bot-b": 0}
        assert cluster.gauges("iscg_lease_epoch") == {"bot-a": 1, "bot-b": 1}
        assert cluster.gauges("iscg_database_reachable") == {"bot-a": 1, "bot-b": 1}
        response = await client.get("/metrics")  # on the standby's port, as Prometheus scrapes it
        assert response.status == 200
        families = {f.name: f for f in text_string_to_metric_families(await response.text())}
        assert families["iscg_leader"].type == "gauge"
        assert [(s.labels, s.value) for s in families["iscg_leader"].samples] == [
            ({"bot_instance": "bot-b"}, 0)
        ]
        assert "iscg_sync_lag_seconds" not in families, "a standby runs no sync loop"
        assert (await client.get("/feeds/group.ics")).status == 503  # pages and feeds: the active one's


@pytest.mark.postgres
async def test_while_postgresql_is_stopped_both_processes_say_unhealthy_and_recover_on_their_own():
    """A real server stopped and started: /healthz of the active bot and of the standby answer 503 naming
    the database, from their last lease round trip (no query of their own), and 200 again after."""
    async with private_cluster() as server:
        database = Database(server.url)
        await database.migrate()
        try:
            async with Cluster(database) as cluster, standby_web(cluster) as client:
                assert cluster.health.report()[0]
                await server.stop("fast")
                _, report = await eventually(
                    cluster.health.report, until=lambda answer: not answer[0], what="the active one 503"
                )
                assert report["reason"].startswith("the database does not answer (for "), report
                assert report["cluster"]["role"] == "active"  # nobody else could take over
                _, standby_report = await eventually(
                    lambda: standby_healthz(client), until=lambda a: a[0] == 503, what="the standby 503"
                )
                assert standby_report["reason"].startswith("the database does not answer"), standby_report
                assert cluster.gauges("iscg_database_reachable") == {"bot-a": 0, "bot-b": 0}
                assert cluster.gauges("iscg_leader") == {"bot-a": 1, "bot-b": 0}

                await server.start()
                await eventually(lambda: cluster.health.report()[0], what="the active one healthy again")
                await eventually(
                    lambda: standby_healthz(client), until=lambda a: a[0] == 200, what="the standby 200"
                )
                assert cluster.gauges("iscg_database_reachable") == {"bot-a": 1, "bot-b": 1}
                assert cluster.active.holds() and cluster.standby.role is Role.STANDBY
        finally:
            await database.dispose()
