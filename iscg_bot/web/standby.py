"""What a standby bot serves on its web port while another process is the active one: /healthz only.

A standby is healthy when it is watching the lease (so a container's health check leaves it be), and says
so: `"role": "standby"`. It serves no feeds or pages: those come from the active bot, whose caches hear its
own commits; a standby's would not, and a stale feed with a fresh ETag is worse than none.
"""

from __future__ import annotations

from aiohttp import web

from iscg_bot.core.health import LeaseHolder


def standby_application(leadership: LeaseHolder) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        report = {"ok": True, **leadership.health()}
        return web.json_response(report, status=200)

    async def elsewhere(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": "this bot is a standby: the active one serves the pages and feeds"}, status=503
        )

    application = web.Application()
    application.add_routes([web.get("/healthz", healthz), web.get("/{tail:.*}", elsewhere)])
    return application
