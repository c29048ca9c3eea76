"""The story bot: a router whose commands exercise every kind of argument (words, quotes, choices, keyword
clauses, flags, multi-word and async types, user IDs, zones, lists, text taken as typed), a role, passive
handlers and the built-in general commands; and `Chat`, which drives a router as the dispatcher does (parse,
then execute each invocation with its own Context) with a frozen clock and an in-memory `uow.people`.

chat = Chat(build_story_router())
assert await chat("!echo hello 2") == "hello hello"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Annotated, Any, Literal

from iscg_bot.chat.events import Message, Reaction
from iscg_bot.chat.router import (
    ADMIN,
    Context,
    Flag,
    Keyword,
    Requirement,
    Rest,
    Router,
    TimeZone,
    UsageError,
    UserId,
)
from iscg_bot.core.clock import FrozenClock

NOW = datetime(2026, 1, 5, 14, 4, tzinfo=UTC)
ALICE = "@alice:example.org"
CHAIR = "@chair:example.org"
ADMIN_ID = "@admin:example.org"
ROOM = "!cop:example.org"
STORY_SCHEDULE_USAGE = (
    "!meeting schedule <title> <when> [for <duration>] [link <join-link>] [force] [agenda…]"
)


class FakePeople:
    def __init__(self) -> None:
        self.zones: dict[str, str] = {}

    async def get(self, matrix_id: str) -> Any:
        zone = self.zones.get(matrix_id)
        return None if zone is None else SimpleNamespace(matrix_id=matrix_id, timezone=zone)

    async def set_timezone(self, matrix_id: str, zone: str, now: datetime) -> None:
        assert now.tzinfo is not None
        self.zones[matrix_id] = zone


def make_services(admins: Sequence[str] = (ADMIN_ID,), default_timezone: str = "Europe/Zurich") -> Any:
    bot = SimpleNamespace(admins=list(admins), command_prefix="!", default_timezone=default_timezone)
    return SimpleNamespace(config=SimpleNamespace(bot=bot), clock=FrozenClock(NOW))


class Chat:
    """`await chat("!ping") == "pong"`: every reply's plain body, blank-line separated."""

    def __init__(self, router: Router, *, sender: str = ALICE) -> None:
        self.router, self.sender = router, sender
        self.services = make_services()
        self.uow = SimpleNamespace(people=FakePeople())
        self.contexts: list[Context] = []

    def context(self, sender: str | None = None) -> Context:
        return Context(ROOM, sender or self.sender, "$event", NOW, self.services, self.uow)

    async def __call__(self, body: str, *, sender: str | None = None) -> str:
        replies = []
        for invocation in self.router.parse(body):
            ctx = self.context(sender)
            await self.router.execute(ctx, invocation)
            self.contexts.append(ctx)
            replies += [reply.plain for reply in ctx.replies]
        return "\n\n".join(replies)

    @property
    def last(self) -> Context:
        return self.contexts[-1]


class Slot:
    """A two- or three-word argument type, as `When` will be: `2026-12-03 14:00 [Zone]`."""

    name = "a date and time like 2026-12-03 14:00"

    def parse(self, words: Sequence[str], ctx: Context) -> tuple[str, int]:
        if len(words) < 2 or not re.fullmatch(r"\d{4}-\d\d-\d\d", words[0]) or ":" not in words[1]:
            raise UsageError(f'"{" ".join(words[:2])}" is not a date and time like 2026-12-03 14:00.')
        if len(words) > 2 and "/" in words[2]:
            return f"{words[0]} {words[1]} {words[2]}", 3
        return f"{words[0]} {words[1]}", 2


class Minutes:
    """An async argument type (as one that looks something up would be): `90m` → 90."""

    name = "a duration like 90m"

    async def parse(self, words: Sequence[str], ctx: Context) -> tuple[int, int]:
        if not re.fullmatch(r"\d{1,4}m", words[0]):
            raise UsageError(f'"{words[0]}" is not a duration like 90m.')
        return int(words[0][:-1]), 1


When = Annotated[str, Slot()]
Duration = Annotated[int, Minutes()]


async def is_chair(ctx: Context) -> bool:
    return ctx.sender == CHAIR


CHAIRS = Requirement("a meeting chair", is_chair)
ran: list[str] = []  # what the handlers did, for "runs nothing" stories

stories = Router()


@stories.command("echo")
async def echo(ctx: Context, word: str, times: int = 1) -> None:
    """Repeat a word.

    Example: !echo hello 2
    """
    if not 0 < times <= 10:
        raise UsageError("I repeat a word 1 to 10 times.")
    await ctx.reply(" ".join([word] * times))


@stories.command("say")
async def say(ctx: Context, message: Rest) -> None:
    """Say something back, exactly.

    Example: !say hello
    """
    await ctx.reply(message)


@stories.command("rsvp")
async def rsvp(ctx: Context, meeting: str, answer: Literal["yes", "no", "maybe"]) -> None:
    """Answer an invitation.

    Example: !rsvp M12 yes
    """
    await ctx.reply(f"{meeting}: {answer}")


@stories.command("meeting schedule", aliases=("schedule",))
async def schedule(
    ctx: Context,
    title: str,
    when: When,
    duration: Annotated[Duration, Keyword("for")] = 60,
    join_link: Annotated[str | None, Keyword("link")] = None,
    force: Flag = False,
    agenda: list[str] | None = None,
) -> None:
    """Schedule a meeting.

    Example: !meeting schedule "Coordination call" 2026-12-03 14:00 for 90m
    """
    ran.append("schedule")
    parts = [f"{title} | {when} | {duration} min", f"link {join_link}" if join_link else "", "force" * force]
    await ctx.reply(" | ".join(filter(None, parts)) + "".join(f"\n- {item}" for item in agenda or []))


@stories.command("meeting list")
async def meeting_list(ctx: Context, which: Literal["upcoming", "past", "all"] = "upcoming") -> None:
    """List meetings.

    Example: !meeting list past
    """
    await ctx.reply(f"{which} meetings")


@stories.command("meeting cancel", allow=CHAIRS)
async def cancel(ctx: Context, meeting: str, reason: Rest | None = None) -> None:
    """Cancel a meeting.

    Example: !meeting cancel M12 the chair is ill
    """
    ran.append("cancel")
    await ctx.reply(f"{meeting} cancelled" + (f": {reason}" if reason else ""))


@stories.command("shutdown", allow=ADMIN)
async def shutdown(ctx: Context, when: Literal["now", "later"]) -> None:
    """Stop the bot.

    Example: !shutdown now
    """
    ran.append("shutdown")
    await ctx.reply("bye")


@stories.command("invite")
async def invite(ctx: Context, user: UserId, zone: TimeZone | None = None) -> None:
    """Invite someone.

    Example: !invite @bob:example.org Asia/Tokyo
    """
    await ctx.reply(f"invited {user}" + (f" ({zone})" if zone else ""))


@stories.command("present")
async def present(ctx: Context, people: list[UserId]) -> None:
    """Note who is present.

    Example: !present @bob:example.org @carol:example.org
    """
    await ctx.reply(", ".join(people))


@stories.command("find")
async def find(ctx: Context, meeting: str) -> None:
    """Find a meeting.

    Example: !find M12
    """
    if meeting != "M1":
        raise UsageError(f"{meeting} does not exist.")
    await ctx.reply("M1 found")


@stories.command("secret", hidden=True)
async def secret(ctx: Context) -> None:
    """A hidden command.

    Example: !secret
    """
    await ctx.reply("sh")


@stories.on_reaction(keys=("✅", "❌"))
async def on_vote(ctx: Context, reaction: Reaction) -> None:
    await ctx.reply(f"vote {reaction.key} on {reaction.relates_to}")


@stories.on_message(when=lambda message: "meeting" in message.body)
async def on_meeting_talk(ctx: Context, message: Message) -> None:
    await ctx.react("👀")


@stories.on_message
async def log_line(ctx: Context, message: Message) -> None:
    await ctx.reply(f"logged: {message.body}")


def build_story_router(prefix: str = "!") -> Router:
    router = Router(prefix=prefix)
    router.include(stories)
    router.load("iscg_bot.commands.general")
    return router
