"""What a standby bot serves on its web port while another process is the active one: /healthz and /metrics.

A standby is healthy while it is watching the lease (so a container's health check leaves it be), and says
so: `"role": "standby"`, and which process is active. While it cannot read the lease (the database away)
it answers 503 with the reason. /metrics shows the lease alone (`iscg_leader` 0, the epoch): a standby
runs no sync loop, and a growing sync lag would alert for nothing. It serves no feeds or pages: the active
bot and the web replicas (`iscg-bot web`) do.
"""

from __future__ import annotations

from aiohttp import web

from iscg_bot.core.health import LeaseHolder
from iscg_bot.core.metrics import Metrics, metrics_route


def standby_application(leadership: LeaseHolder, metrics: Metrics | None = None) -> web.Application:
    """/healthz from `leadership`; /metrics from `metrics` (built with `watch_leadership`), none without."""

    async def healthz(request: web.Request) -> web.Response:
        problem = leadership.problem()
        report = {"ok": problem is None, **({"reason": problem} if problem else {}), **leadership.health()}
        return web.json_response(report, status=200 if problem is None else 503)

    async def elsewhere(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": "this bot is a standby: the active one serves the pages and feeds"}, status=503
        )

    application = web.Application()
    application.add_routes([web.get("/healthz", healthz)])
    if metrics is not None:
        application.add_routes([web.get("/metrics", metrics_route(metrics))])
    application.add_routes([web.get("/{tail:.*}", elsewhere)])
    return application
