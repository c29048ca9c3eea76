"""Is the sync loop alive, and how far behind is it? What `/healthz` answers (and `/metrics` shows as lag).

    health = SyncHealth(gateway, clock, settings.matrix.sync_timeout_seconds,
                        margin_seconds=settings.matrix.request_timeout_seconds)
    ok, report = health.report()   # 200 when ok, else 503 with report["reason"]

The gateway sets `last_sync_at` only after a sync succeeded *and* its batch was handled; failed attempts
(homeserver stopped, unreachable, answering 5xx) never move it. So when the homeserver goes away the lag
grows from the last good sync, and once it passes the allowed lag the loop is reported dead.

The database is watched through the leader lease (`iscg_bot.core.leadership`): the active process renews it
every lease / 4 seconds, so the last renewal's outcome says whether the database answers, without a query
per /healthz. While it does not, /healthz answers 503 with a reason naming the database, and 200 again after
the first renewal that succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from iscg_bot.core.clock import Clock
from iscg_bot.core.workers import Worker


class SyncLoop(Protocol):
    """What health and metrics read of the gateway's sync loop (`iscg_bot.matrix.gateway.MatrixGateway`).

    Read with `getattr` and a default: a gateway without them (a test's fake) has never synced.
    """

    @property
    def last_sync_at(self) -> datetime | None: ...

    @property
    def last_sync_error(self) -> str | None: ...


def sync_lag(gateway: SyncLoop, clock: Clock) -> timedelta | None:
    """Time since the sync loop last handled a sync; None before the first one."""
    last = getattr(gateway, "last_sync_at", None)
    return None if last is None else clock.now() - last


class LeaseHolder(Protocol):
    """What health and metrics read of `iscg_bot.core.leadership.Leadership`."""

    @property
    def database_error(self) -> str | None:
        """The last lease round trip's failure (the database away), None once one succeeds."""
        ...

    def health(self) -> dict[str, object]:
        """This process's instance name, role (active, standby…), the active one's name and the epoch."""
        ...

    def problem(self) -> str | None:
        """Why this process cannot do its job now (the database does not answer…), or None."""
        ...


class SyncHealth:
    """Healthy while the last handled sync is no older than two long-polls plus a margin.

    A quiet homeserver answers a long-poll after `sync_timeout_seconds`; the next attempt may take up to
    another long-poll plus the request timeout before the gateway gives up on it. So a lag up to
    2 × sync timeout + request timeout is a loop doing its job; the bot passes its request timeout as
    `margin_seconds` (default 30 s: 90 s in all with the default 30 s long-poll). Tests configure a short
    sync and request timeout to see the loop declared dead within seconds.
    """

    def __init__(
        self,
        gateway: SyncLoop,
        clock: Clock,
        sync_timeout_seconds: float,
        *,
        margin_seconds: float = 30.0,
        workers: Sequence[Worker] = (),
        lease: LeaseHolder | None = None,
    ) -> None:
        self.gateway, self.clock = gateway, clock
        self.lease = lease  # shown under "cluster": this process's instance name and role (active…)
        self.workers = workers  # shown under "workers" (running, last success, last error); not in `ok`
        self.allowed_lag = timedelta(seconds=2 * sync_timeout_seconds + margin_seconds)

    def report(self) -> tuple[bool, dict[str, Any]]:
        """(ok, the JSON body): `ok`, `last_sync_at`, `lag_seconds`, `allowed_lag_seconds`, and when not ok
        a `reason` (the lease's problem first: the database); `last_error` while the latest sync attempt
        failed."""
        last: datetime | None = getattr(self.gateway, "last_sync_at", None)
        lag = sync_lag(self.gateway, self.clock)
        allowed = self.allowed_lag.total_seconds()
        error = getattr(self.gateway, "last_sync_error", None)
        if lag is None or last is None:  # both, until the first handled sync
            report: dict[str, Any] = {"ok": False, "last_sync_at": None, "lag_seconds": None}
            report |= {"allowed_lag_seconds": allowed, "reason": "no sync yet"}
        else:
            report = {
                "ok": lag <= self.allowed_lag,
                "last_sync_at": last.astimezone(UTC).isoformat(),
                "lag_seconds": lag.total_seconds(),
                "allowed_lag_seconds": allowed,
            }
            if not report["ok"]:
                report["reason"] = f"no sync for {lag.total_seconds():.0f} s (more than {allowed:.0f} s)"
                if error:
                    report["reason"] += f"; the last attempt failed: {error}"
        if error:
            report["last_error"] = error
        if self.workers:
            report["workers"] = {worker.name: worker.health().as_json() for worker in self.workers}
        if self.lease is not None:
            report["cluster"] = self.lease.health()
            problem = self.lease.problem()
            if problem is not None:
                reasons = [problem, *([report["reason"]] if "reason" in report else [])]
                report |= {"ok": False, "reason": "; ".join(reasons)}
        return report["ok"], report
