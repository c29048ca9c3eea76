"""Who may run a command: what `Router.command(..., allow=...)` takes, and what the router checks before a
handler runs.

- `Requirement`: a condition on the sender's standing in the room (`ANYONE`, `ADMIN`); `a | b` is met by
  either and reads "a or b".
- `Rule`: a standing, then a judgement of the object the command acts on (the meeting, the action, … that its
  arguments name), so the refusal can say why this one is not the sender's to change.

Both are a `Permission`, the one shape the router, `!help` and the README's table read. The group's own
requirements and rules (the Chair, the officers, a meeting's chairs, …) are in `iscg_bot.chat.policy`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from iscg_bot.chat.context import Context
from iscg_bot.core.formatting import Rich, or_list
from iscg_bot.core.i18n import _, lazy

Predicate = Callable[["Context"], bool | Awaitable[bool]]
T = TypeVar("T")


class Permission(Protocol):
    """Who may run a command (`allow=`): a `Requirement` on the sender's standing, or a `Rule` that also sees
    the object the command acts on. The router checks `standing` before reading the arguments, `refusal`
    after (so a rule sees the meeting, the action, … they name) and before the handler runs."""

    @property
    def standing(self) -> Requirement: ...  # refused with "Only <standing.name> may run !x."

    @property
    def name(self) -> str: ...  # what `!help <command>` says: "Who may run it: …"

    @property
    def who(self) -> str: ...  # what the README's permission table says (`policy.permission_table`)

    def shown_name(self) -> str: ...  # `name` in the language being written (names are marked with `lazy`)

    async def refusal(self, ctx: Context, arguments: Mapping[str, object]) -> Rich | str | None: ...

    async def open_here(self, ctx: Context) -> bool: ...  # `!help`: whether to list it (standing aside)


@dataclass(frozen=True)
class Requirement:
    """Who may run a command: `name` completes "Only … may run !x.", `predicate` decides (sync or async);
    `listed`, the words of the README's permission table (`name` unless given).

    With `|`: `COORDINATOR | SECRETARIAT` is met by either and reads "a coordinator or the secretariat".
    `name` is English, marked with `lazy()` where it is written; users read `shown_name()`.
    """

    name: str
    predicate: Predicate = field(compare=False, repr=False)
    alternatives: tuple[Requirement, ...] = field(default=(), compare=False, repr=False)
    listed: str = field(default="", compare=False)

    async def allows(self, ctx: Context) -> bool:
        result = self.predicate(ctx)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    def __or__(self, other: Requirement) -> Requirement:
        return any_of(self, other)

    # ---- as a `Permission`: the standing is the whole of it ----

    @property
    def standing(self) -> Requirement:
        return self

    @property
    def who(self) -> str:
        return self.listed or self.name

    def shown_name(self) -> str:
        """`name` in the language being written: each alternative translated, joined by the language's
        "or"."""
        if self.alternatives:
            return or_list([_(leaf.name) for leaf in self.alternatives])
        return _(self.name)

    async def refusal(self, ctx: Context, arguments: Mapping[str, object]) -> Rich | str | None:
        return None

    async def open_here(self, ctx: Context) -> bool:
        return True


def any_of(*requirements: Requirement) -> Requirement:
    leaves: list[Requirement] = []
    for requirement in requirements:
        for leaf in requirement.alternatives or (requirement,):
            if leaf not in leaves:
                leaves.append(leaf)
    if ANYONE in leaves:
        return ANYONE

    async def either(ctx: Context) -> bool:
        for leaf in leaves:
            if await leaf.allows(ctx):
                return True
        return False

    listed = ", ".join(leaf.who for leaf in leaves)
    return Requirement(or_list([leaf.name for leaf in leaves]), either, tuple(leaves), listed)


ANYONE = Requirement(lazy("anyone"), lambda ctx: True)
ADMIN = Requirement(lazy("a bot administrator"), lambda ctx: ctx.is_admin, listed="admin")


async def _always(ctx: Context) -> bool:
    return True


@dataclass(frozen=True)
class Rule(Generic[T]):
    """Who may run a command on the object it acts on (a `Permission`).

    `standing` is checked first, like a plain requirement; then `target` finds the object in the parsed
    arguments (or the room: the running meeting) and `judge` returns the refusal for it, or None. No object
    (None) means nothing to judge: the handler answers (e.g. "No meeting is running"). `listed` says whether
    `!help` lists the command: whether the sender could run it on some object here.
    """

    who: str  # the README table's words, and `!help <command>`'s
    target: Callable[[Context, Mapping[str, object]], Awaitable[T | None]] = field(repr=False)
    judge: Callable[[Context, T], Awaitable[Rich | str | None]] = field(repr=False)
    standing: Requirement = ANYONE
    listed: Callable[[Context], Awaitable[bool]] = field(default=_always, repr=False)

    @property
    def name(self) -> str:
        return self.who

    def shown_name(self) -> str:
        """`who` in the language being written (mark it with `lazy()` where the rule is declared)."""
        return _(self.who)

    async def refusal(self, ctx: Context, arguments: Mapping[str, object]) -> Rich | str | None:
        found = await self.target(ctx, arguments)
        return None if found is None else await self.judge(ctx, found)

    async def open_here(self, ctx: Context) -> bool:
        # Several commands share one `listed` (the four chair commands, the five action commands), and `!help`
        # asks each: answered once per event, like the sender's standing.
        key = f"listed:{id(self.listed)}"  # the function itself: two closures of one factory stay apart
        if key not in ctx.cache:
            ctx.cache[key] = await self.listed(ctx)
        return bool(ctx.cache[key])
