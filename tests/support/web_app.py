"""The bot's web application over a chat driver's database, as the page tests serve it: the feeds, /healthz
from the chat's gateway, the minutes and report pages, and the site; a test passes the feeds or the site
pages it keeps a hand on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iscg_bot.core.health import SyncHealth
from iscg_bot.web.feed_cache import FeedCache
from iscg_bot.web.server import MinutesPages, ReportPages, build_application
from iscg_bot.web.site import SitePages

if TYPE_CHECKING:
    from aiohttp import web

    from tests.chat import Chat

ZONE = "Europe/Zurich"


def chat_web_application(
    chat: Chat, base: str, *, feeds: FeedCache | None = None, pages: SitePages | None = None
) -> web.Application:
    sessions = chat.database.sessions
    return build_application(
        feeds or FeedCache(sessions, chat.clock, base),
        SyncHealth(chat.gateway, chat.clock, sync_timeout_seconds=30),
        MinutesPages(sessions, base, ZONE),
        ReportPages(sessions, chat.clock, base, ZONE),
        pages or SitePages(sessions, chat.clock, base, ZONE),
    )
