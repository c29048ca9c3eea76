"""What the bot counts for Prometheus, and the `/metrics` page that shows it.

    metrics = Metrics()                        # its own registry: never prometheus_client's global one
    metrics.watch_sync(gateway, clock)         # sync lag and counters, read from the gateway at scrape time
    metrics.watch_leadership(leadership)       # which process is active, read from the lease at scrape time
    dispatcher = Dispatcher(..., metrics=metrics)
    app.router.add_get("/metrics", metrics_route(metrics))

Components take a `Metrics` by injection; built without one they count into a private one nobody reads.
Labels only ever hold values from bounded sets (command names from the registry, never the user's text).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from iscg_bot.core.clock import Clock
from iscg_bot.core.health import LeaseHolder, SyncLoop, sync_lag

FEEDS = ("group", "subject", "personal")
FEED_STATUSES = (200, 304)
REMINDER_OUTCOMES = {"meeting": ("sent", "late", "skipped"), "action": ("sent", "skipped")}
# From a quick `!ping` (milliseconds) to a report compiled for a year (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class CountedInvocation(Protocol):
    """What `command_label` reads of an invocation (`iscg_bot.chat.router.Invocation`)."""

    @property
    def kind(self) -> str: ...

    @property
    def command(self) -> _Named | None: ...

    @property
    def words(self) -> Sequence[str]: ...


def command_label(invocation: CountedInvocation) -> str:
    """The `command` label of an invocation (`router.Invocation`): the canonical name of a known command,
    the group words of a bare group (`meeting`), and "unknown" for anything else: never what was typed."""
    if invocation.kind == "command" and invocation.command is not None:
        return invocation.command.name
    if invocation.kind == "group":
        return " ".join(word.lower() for word in invocation.words)
    return "unknown"


class Metrics:
    """The bot's counters, histogram and gauges, in a registry of their own (tests build many bots).

    `timer` is a monotonic clock in seconds, for durations only (tests inject a fake one); the time of day
    still comes from the injected `Clock` (the sync lag).
    """

    def __init__(self, *, timer: Callable[[], float] = time.perf_counter) -> None:
        self.timer = timer
        self.registry = CollectorRegistry()
        self._commands = Counter(
            "iscg_commands",
            "Commands handled, by canonical name and outcome: ok (ran), refused (not done, and the reply "
            "says why: not permitted, a usage error, a conflict or any other refusal, an unknown command "
            "or a bare group word; nothing changed), error (it failed)",
            ["command", "outcome"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "iscg_reply_latency_seconds",
            "Per message with commands: from the arrival of its sync batch to the commit that queues the "
            "replies in the outbox (the outbox sends them right after)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._reminders = Counter(
            "iscg_reminders",
            "Reminders claimed, by kind (meeting, action) and outcome: sent (on time), late (sent late: the "
            "bot was down), skipped (recorded, never sent: beyond the grace period or superseded)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self._feeds = Counter(
            "iscg_feed_requests",
            "Calendar feed requests answered, by feed (group, subject, personal) and HTTP status (200, 304)",
            ["feed", "status"],
            registry=self.registry,
        )
        # Every known label set shows from the start at 0, so rate() works from the first increment.
        for kind, outcomes in REMINDER_OUTCOMES.items():
            for outcome in outcomes:
                self._reminders.labels(kind, outcome)
        for feed in FEEDS:
            for status in FEED_STATUSES:
                self._feeds.labels(feed, str(status))

    # ---- what components report ------------------------------------------------------------------------

    def commands_handled(self, outcomes: Iterable[tuple[str, str]], *, since: float) -> None:
        """One message's commands were handled and committed: count each (label, outcome), and observe the
        reply latency once, from `since` (a `timer()` reading taken when the event arrived)."""
        for command, outcome in outcomes:
            self._commands.labels(command, outcome).inc()
        self._latency.observe(max(0.0, self.timer() - since))

    def reminder_claimed(self, kind: str, outcome: str) -> None:
        """A reminder was claimed: `kind` "meeting" or "action"; `outcome` "sent", "late" or "skipped"."""
        self._reminders.labels(kind, outcome).inc()

    def feed_served(self, feed: str, status: int) -> None:
        """A feed request was answered: `feed` "group", "subject" or "personal"; `status` 200 or 304."""
        self._feeds.labels(feed if feed in FEEDS else "other", str(status)).inc()

    def watch_sync(self, gateway: SyncLoop, clock: Clock) -> None:
        """Expose the sync loop's state, read from `gateway` at each scrape (see `SyncCollector`)."""
        self.registry.register(SyncCollector(gateway, clock))

    def watch_leadership(self, lease: LeaseHolder) -> None:
        """Expose which process is active, read from `lease` at each scrape (see `LeadershipCollector`)."""
        self.registry.register(LeadershipCollector(lease))

    # ---- what Prometheus reads -------------------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition of every metric, and its Content-Type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class SyncCollector(Collector):
    """The sync loop, read from the gateway when scraped: `last_sync_at`, and the counters it keeps
    (`syncs`, `sync_failures`, `limited_timelines`, `backfilled_events`, `rate_limited`)."""

    COUNTERS = (
        ("syncs", "iscg_syncs", "Syncs completed and handled"),
        ("sync_failures", "iscg_sync_failures", "Sync attempts that failed (unreachable, 5xx, timeout)"),
        ("limited_timelines", "iscg_limited_timelines", "Room timelines a sync cut short, back-filled"),
        ("backfilled_events", "iscg_backfilled_events", "Events fetched to fill limited timelines"),
        ("rate_limited", "iscg_rate_limited", "Requests the homeserver rate-limited (M_LIMIT_EXCEEDED)"),
    )

    def __init__(self, gateway: SyncLoop, clock: Clock) -> None:
        self.gateway, self.clock = gateway, clock
        self.started = clock.now()

    def collect(self) -> Iterator[Metric]:
        lag = sync_lag(self.gateway, self.clock)
        # Before the first sync, the lag counts from the start: a bot that never syncs looks ever more behind.
        seconds = (lag if lag is not None else self.clock.now() - self.started).total_seconds()
        yield GaugeMetricFamily(
            "iscg_sync_lag_seconds", "Seconds since the last completed and handled sync", value=seconds
        )
        last = getattr(self.gateway, "last_sync_at", None)
        yield GaugeMetricFamily(
            "iscg_last_sync_timestamp_seconds",
            "When the last sync was completed and handled (Unix time; NaN before the first)",
            value=last.timestamp() if last is not None else math.nan,
        )
        for attribute, name, documentation in self.COUNTERS:
            yield CounterMetricFamily(name, documentation, value=getattr(self.gateway, attribute, 0))


class LeadershipCollector(Collector):
    """Which process is active, read from the lease holder when scraped. Every process (active or standby)
    shows its own series, labelled with its `cluster.instance` name: `sum(iscg_leader) == 1` is a healthy
    cluster. The label is `bot_instance`, not `instance`: Prometheus sets `instance` to the scraped address
    and would rename ours to `exported_instance`."""

    def __init__(self, lease: LeaseHolder) -> None:
        self.lease = lease

    def collect(self) -> Iterator[Metric]:
        health = self.lease.health()
        labels = [str(health["instance"])]
        leader = GaugeMetricFamily(
            "iscg_leader",
            "1 while this process is the active bot (holds the leader lease), 0 for a standby",
            labels=["bot_instance"],
        )
        leader.add_metric(labels, 1.0 if health["role"] == "active" else 0.0)
        yield leader
        epoch = GaugeMetricFamily(
            "iscg_lease_epoch",
            "The leader lease's epoch as this process knows it (held, or last read by a standby); it moves "
            "on at every takeover. NaN before the lease was first read",
            labels=["bot_instance"],
        )
        known = health.get("epoch")
        epoch.add_metric(labels, float(known) if isinstance(known, int) else math.nan)
        yield epoch
        reachable = GaugeMetricFamily(
            "iscg_database_reachable",
            "1 while the database answered this process's last lease round trip (renewal or read), else 0",
            labels=["bot_instance"],
        )
        reachable.add_metric(labels, 0.0 if self.lease.database_error is not None else 1.0)
        yield reachable


def metrics_route(metrics: Metrics) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of `/metrics`: `app.router.add_get("/metrics", metrics_route(metrics))`."""

    async def handler(request: web.Request) -> web.Response:
        body, content_type = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handler
