"""With `command_prefix = "?"`, every text that names a command names it with `?`: replies, refusals, usage
lines, help (docstrings included), the minutes and the web pages. The clock stands at Wed 25 Nov 2026 09:00
UTC (tests.chat.START)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from iscg_bot.chat.events import MembershipChange
from iscg_bot.web.feed_cache import FeedCache
from iscg_bot.web.site import SitePages
from tests.chat import ADMIN, BOT, COORD, COP, Chat

GROUP = "!iscg:example.org"
ELSEWHERE = "!elsewhere:example.org"
MEMBER = "@member:example.org"
BASE = "http://localhost:8080"
# `!` before a lower-case word, not a room ID (`!cop:example.org`) nor a `!!`/`a!b`.
BANG_COMMAND = re.compile(r"(?<![\w!])!(?=[a-z])(?![\w.-]*:example\.org)")


class Talk:
    """The conversation so far: every content the bot sent, in the room and privately."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.contents: list[dict[str, Any]] = []

    async def __call__(self, body: str, *, by: str = COORD, room: str = COP) -> str:
        sent = await self.chat.deliver(self.chat.message(body, sender=by, room=room))
        self.contents += sent
        return "\n".join(c.get("body", "") for c in sent)

    def texts(self) -> list[str]:
        contents = self.contents + [content for _, content in self.chat.gateway.direct]
        return [c[key] for c in contents for key in ("body", "formatted_body") if isinstance(c.get(key), str)]


def bang_commands(texts: list[str]) -> list[str]:
    return [t for t in texts if BANG_COMMAND.search(t)]


async def test_every_reply_names_commands_with_the_configured_prefix(tmp_path):
    chat = await Chat.open(tmp_path, command_prefix="?")
    try:
        talk = Talk(chat)
        joined = MembershipChange("$joined", COP, BOT, chat.clock.now(), BOT, "join", "invite")
        greeting = await chat.deliver(joined)  # the bot accepted the invitation: it greets the room
        talk.contents += greeting
        assert "?help" in greeting[0]["body"]
        await talk("?subject create cop Child Online Protection", by=ADMIN)
        await talk(f"?role add {COORD} coordinator", by=ADMIN)
        await talk("?group bind", by=ADMIN, room=GROUP)

        # Help: the index in each kind of room, everything, each area, each command; a group word alone.
        for by, room in [
            (MEMBER, COP),
            (COORD, COP),
            (ADMIN, GROUP),
            (MEMBER, ELSEWHERE),
            (ADMIN, ELSEWHERE),
        ]:
            assert "?help" in await talk("?help", by=by, room=room)
        assert "?help <command>" in await talk("?help all", by=ADMIN)
        for area in chat.router.areas:
            await talk(f"?help {area or 'other'}", by=ADMIN)
        for command in chat.router.commands:
            assert f"?{command.name}" in await talk(f"?help {command.name}", by=ADMIN)
        assert "?help ?actions" in await talk("?help help", by=ADMIN)
        await talk("?help ?actions", by=ADMIN)
        await talk("?meeting", by=MEMBER)
        assert "?meeting schedule" in await talk("?meeting shedule")
        await talk("?nonsense")

        # Usage errors and refusals: each command bare, by someone who holds no role.
        for command in chat.router.commands:
            if any(p.required for p in command.parameters):
                await talk(f"?{command.name}", by=MEMBER)
        assert "?report" in await talk("?report", by=MEMBER)
        await talk("?summary", by=MEMBER)
        await talk("?calendar resync", by=MEMBER)
        await talk("?group bind", by=MEMBER, room=ELSEWHERE)
        assert "?subject create" in await talk("?meeting list", by=MEMBER, room=ELSEWHERE)

        # Basics and the organisation.
        await talk("?ping")
        await talk("?tz")
        await talk("?tz UTC+3")
        await talk("?tz Europe/Zurich")
        await talk("?subject")
        await talk("?subject list")
        await talk("?roles")
        await talk(f"?role add {MEMBER} chair", by=ADMIN)
        assert "?role remove" in await talk(f"?role add {COORD} chair", by=ADMIN)

        # Scheduling, answers, the calendar.
        assert "?rsvp" in await talk('?meeting schedule "Coordination call" 2026-11-25 09:15 UTC for 60m')
        await talk("?meeting list")
        await talk("?meeting show M1")
        await talk("?meeting agenda M1 add Budget")
        await talk("?rsvp M1 yes", by=MEMBER)
        await talk("?meeting suggest 60m")
        await talk("?calendar", by=MEMBER)
        assert "?calendar reset" in await talk("?calendar", by=MEMBER)

        # The minutes.
        assert "?startmeeting" in await talk("?endmeeting")
        assert "?endmeeting" in await talk("?startmeeting")
        assert "?endmeeting" in await talk("?startmeeting")
        await talk("?help", by=MEMBER)
        await talk("?topic Budget")
        await talk("?info The budget is short")
        for n in range(12):  # more than the digest lists
            await talk(f"?agreed Ask for more, point {n}")
        await talk(f"?action {MEMBER} write the request due 2026-12-01")
        await talk("?keyissue Translation is not funded")
        assert "?endmeeting" in await talk("?minutes approve")
        await talk("?endmeeting")
        chat.clock.advance(timedelta(hours=2))
        await talk("?minutes")
        assert "?minutes reopen" in await talk("?minutes approve")
        await talk("?minutes reopen")
        web_off = chat.config.web.model_copy(update={"public_base_url": ""})
        chat.services.config = chat.config.model_copy(update={"web": web_off})
        assert "?minutes M1" in await talk("?minutes")  # with no web page, the minutes are named by command
        chat.services.config = chat.config

        # Actions, reports, the digest.
        await talk("?actions")
        await talk("?actions overdue")
        await talk("?action done A1", by=MEMBER)
        await talk("?report", by=ADMIN, room=GROUP)
        assert "(see ?report)" in await talk("?summary", by=ADMIN, room=GROUP)
        assert "?subject restore" in await talk("?subject archive", by=ADMIN)
        await talk("?subject restore", by=ADMIN)

        texts = talk.texts()
        assert len(texts) > 100
        assert bang_commands(texts) == []
        assert sum("?" in t for t in texts) > 100

        # The pages and a feed, rendered with that prefix.
        site = SitePages(chat.database.sessions, chat.clock, BASE, "Europe/Zurich", prefix="?")
        pages = [await site.index(), await site.subject("cop"), await site.meeting(1), await site.calendar()]
        feed = (await FeedCache(chat.database.sessions, chat.clock, BASE).group()).body.decode()
        assert bang_commands([page or "" for page in pages] + [feed]) == []
        assert "Ask for more, point 0" in (pages[2] or "")  # the meeting page carries its minutes
    finally:
        await chat.close()
