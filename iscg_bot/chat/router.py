"""The command registry: declare commands and passive handlers, read messages, run them, describe them.

    router = Router()

    @router.command("meeting agenda", allow=MEETING_CHANGERS)
    async def agenda(ctx: Context, meeting: MeetingRef, verb: Literal["add"], text: Rest) -> None:
        \"""Add an item to a meeting's agenda.

        Example: !meeting agenda M12 add Review of the Q3 outputs
        \"""

The signature is the parser and the usage line (see `iscg_bot.chat.arguments`); the docstring is the help: its
first line in `!help`, all of it (with an `Example:` line) in `!help <command>`. A module of commands declares
them on its own module-level `router = Router()`; `commands.build_router` loads it with `Router.load(name)`.
`parse` reads a message into invocations; `execute` checks the sender's standing (`allow=`, see
`iscg_bot.chat.permissions`), converts the arguments (`iscg_bot.chat.binding`), checks a `Rule` on the object
they name, and calls the handler, which talks back through `ctx.reply` / `ctx.react` only: the caller sends
what they collected once its transaction commits.
A handler says no by raising `Refusal(message)` (or `UsageError` for what was typed): the router answers with
it, and the caller undoes the command's writes and counts it refused.
A `DomainError` (`iscg_bot.core.errors`) that a domain function raises is answered the same way: handlers let
it through.
Docstrings name commands with `!`; help shows them with the configured prefix (`Router.shown`).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

from iscg_bot.chat.arguments import (
    OPENING_QUOTES,
    POSITIONAL_KINDS,
    ArgumentType,
    Keyword,
    Parameter,
    Refusal,
    Rest,
    UsageError,
    UserId,
    read_parameters,
    usage_of,
)
from iscg_bot.chat.arguments import Flag as Flag
from iscg_bot.chat.binding import (
    FormField,
    bind_form,
    bind_line,
    is_form_start,
    read_form,
    unreadable_form_line,
)
from iscg_bot.chat.context import Context
from iscg_bot.chat.events import Message, Reaction
from iscg_bot.chat.help_extract import summary_of
from iscg_bot.chat.permissions import ADMIN, ANYONE, Permission, Requirement, Rule, any_of
from iscg_bot.chat.time_arguments import TimeZone
from iscg_bot.core.errors import DomainError
from iscg_bot.core.formatting import Rich, as_rich, bullets, code, lines, quote
from iscg_bot.core.i18n import _, tr

__all__ = [
    "ADMIN",
    "ANYONE",
    "ArgumentType",
    "Command",
    "Context",
    "Flag",
    "Invocation",
    "Keyword",
    "Permission",
    "Refusal",
    "Requirement",
    "Rest",
    "Router",
    "Rule",
    "TimeZone",
    "UsageError",
    "UserId",
    "any_of",
]

DOC_PREFIX = "!"  # the prefix docstrings are written with, whatever the configuration says
# `!` before a command name: not after a word or another `!`, not a room ID (`!abc:example.org`).
DOC_COMMAND = re.compile(r"(?<![\w!])!(?=[a-z])(?![\w.-]*:[\w.-])")


Handler = Callable[..., Awaitable[None]]
PassiveHandler = TypeVar("PassiveHandler", bound=Callable[..., Awaitable[None]])  # kept as declared


@dataclass(frozen=True)
class Command:
    name: str  # canonical, lower case, words separated by one space: "meeting schedule"
    handler: Handler
    parameters: tuple[Parameter, ...]
    allow: Permission = ANYONE
    aliases: tuple[str, ...] = ()
    hidden: bool = False
    area: str = ""  # the part of the product it belongs to (`meetings`): set by `Router.load`

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.handler) or ""

    @property
    def summary(self) -> str:
        """The docstring's first paragraph on one line: a whole sentence, however it was wrapped."""
        return summary_of(self.doc)

    @property
    def shown_summary(self) -> str:
        """`summary` in the language being written (`iscg_bot.chat.help_extract` extracts it)."""
        return _(self.summary) if self.summary else ""

    @property
    def takes_positionals(self) -> bool:
        return any(p.kind in POSITIONAL_KINDS for p in self.parameters)


@dataclass(frozen=True)
class Invocation:
    """One command found in a message; `execute` turns it into replies."""

    kind: Literal["command", "unknown", "group", "too_long"]
    words: tuple[str, ...] = ()  # the command words as typed
    command: Command | None = None  # kind == "command"
    text: str = ""  # the argument text as typed, continuation lines included
    form: tuple[FormField, ...] | None = None  # the command was given as a form
    problem: str | None = (
        None  # a form's line that could not be read (said once the reader's language is set)
    )
    suggestion: str | None = None  # kind == "unknown": the closest command name, if any
    length: int = 0  # kind == "too_long": how many characters the message has (said in the reader's language)


@dataclass(frozen=True)
class _Passive:
    event_type: type
    handler: Callable[..., Awaitable[None]]
    accepts: Callable[[Any], bool]
    # Read-only: does the handler have anything to do with this event? Asked outside the handler's savepoint,
    # so an event it ignores costs no SAVEPOINT/RELEASE (see `Router.passive_applies`).
    applies: Callable[[Context, Any], Awaitable[bool]] | None = None


def _reaction_key(key: str) -> str:
    return key.replace("\ufe0f", "")  # ✅ and ✅️ are the same reaction


def _valid_name(name: str) -> tuple[str, ...]:
    words = tuple(name.lower().split())
    if not words or any(not (w[0].isalpha() and w.isascii() and w.replace("-", "").isalnum()) for w in words):
        raise ValueError(f"{name!r} is not a command name: lower-case words of letters, digits and dashes")
    return words


class Router:
    """A registry of commands and passive handlers, and the reader of messages."""

    def __init__(self, prefix: str = "!", max_length: int = 8000) -> None:
        if not prefix or any(c.isspace() for c in prefix):
            raise ValueError("the command prefix must be non-empty and contain no spaces")
        self.prefix = prefix
        self.max_length = max_length
        self._commands: dict[str, Command] = {}
        self._lookup: dict[tuple[str, ...], Command] = {}  # names and aliases
        self._groups: set[tuple[str, ...]] = set()  # strict prefixes of names: `meeting`
        self._passive: list[_Passive] = []

    # ---- declaring ---------------------------------------------------------------------------------------

    def command(
        self,
        name: str,
        *,
        aliases: Iterable[str] = (),
        allow: Permission = ANYONE,
        hidden: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare a command and who may run it (`allow`: a `Requirement` or a `Rule`); the decorated function
        is returned unchanged (test it as a plain function)."""

        def declare(handler: Handler) -> Handler:
            if not inspect.iscoroutinefunction(handler):
                raise TypeError(f"command {name!r}: {handler.__qualname__} must be an async function")
            words = _valid_name(name)
            alias_words = tuple(" ".join(_valid_name(a)) for a in aliases)
            command = Command(" ".join(words), handler, read_parameters(handler), allow, alias_words, hidden)
            self._add(command)
            return handler

        return declare

    def _add(self, command: Command) -> None:
        names = [command.name, *command.aliases]
        for name in names:
            key = tuple(name.split())
            if key in self._lookup:
                raise ValueError(f"command name {name!r} is declared twice")
        self._commands[command.name] = command
        for name in names:
            key = tuple(name.split())
            self._lookup[key] = command
            self._groups.update(key[:i] for i in range(1, len(key)))

    @overload
    def on_reaction(
        self, handler: PassiveHandler, *, keys: Iterable[str] | None = None
    ) -> PassiveHandler: ...
    @overload
    def on_reaction(
        self, handler: None = None, *, keys: Iterable[str] | None = None
    ) -> Callable[[PassiveHandler], PassiveHandler]: ...
    def on_reaction(
        self, handler: PassiveHandler | None = None, *, keys: Iterable[str] | None = None
    ) -> PassiveHandler | Callable[[PassiveHandler], PassiveHandler]:
        """`@router.on_reaction` or `@router.on_reaction(keys=("✅", "❌"))`: handler(ctx, reaction)."""
        wanted = None if keys is None else {_reaction_key(k) for k in keys}

        def accepts(event: Reaction) -> bool:
            return wanted is None or _reaction_key(event.key) in wanted

        return self._passive_decorator(Reaction, accepts, handler)

    @overload
    def on_message(
        self,
        handler: PassiveHandler,
        *,
        when: Callable[[Message], bool] | None = None,
        applies: Callable[[Context, Message], Awaitable[bool]] | None = None,
    ) -> PassiveHandler: ...
    @overload
    def on_message(
        self,
        handler: None = None,
        *,
        when: Callable[[Message], bool] | None = None,
        applies: Callable[[Context, Message], Awaitable[bool]] | None = None,
    ) -> Callable[[PassiveHandler], PassiveHandler]: ...
    def on_message(
        self,
        handler: PassiveHandler | None = None,
        *,
        when: Callable[[Message], bool] | None = None,
        applies: Callable[[Context, Message], Awaitable[bool]] | None = None,
    ) -> PassiveHandler | Callable[[PassiveHandler], PassiveHandler]:
        """`@router.on_message` or `@router.on_message(when=predicate)`: handler(ctx, message).

        Gets the messages the caller does not run as commands (`parse` found none). `applies(ctx, message)`,
        if given, is a read-only check asked first: False, and the handler is not run for that message.
        """
        return self._passive_decorator(Message, when or (lambda event: True), handler, applies)

    @overload
    def on_event(
        self, event_type: type, handler: PassiveHandler, *, when: Callable[[Any], bool] | None = None
    ) -> PassiveHandler: ...
    @overload
    def on_event(
        self, event_type: type, handler: None = None, *, when: Callable[[Any], bool] | None = None
    ) -> Callable[[PassiveHandler], PassiveHandler]: ...
    def on_event(
        self,
        event_type: type,
        handler: PassiveHandler | None = None,
        *,
        when: Callable[[Any], bool] | None = None,
    ) -> PassiveHandler | Callable[[PassiveHandler], PassiveHandler]:
        """`@router.on_event(MembershipChange)`: handler(ctx, event) for any other kind of room event."""
        return self._passive_decorator(event_type, when or (lambda event: True), handler)

    def _passive_decorator(
        self,
        event_type: type,
        accepts: Callable[[Any], bool],
        handler: PassiveHandler | None,
        applies: Callable[[Context, Any], Awaitable[bool]] | None = None,
    ) -> PassiveHandler | Callable[[PassiveHandler], PassiveHandler]:
        def declare(func: PassiveHandler) -> PassiveHandler:
            is_async = inspect.iscoroutinefunction(func)  # not in the `if`: mypy would forget func's own type
            if not is_async:
                raise TypeError(f"{func.__qualname__} must be an async function")
            self._passive.append(_Passive(event_type, func, accepts, applies))
            return func

        return declare(handler) if handler is not None else declare

    def include(self, other: Router, *, area: str = "") -> None:
        """Add another router's commands and passive handlers (a module of commands) to this one; `area`
        files its commands that have none under it."""
        for command in other._commands.values():
            self._add(dataclasses.replace(command, area=command.area or area))
        self._passive.extend(other._passive)

    def load(self, module_name: str) -> None:
        """Import a command module and include its module-level `router` (built-in and extra ones alike).

        Its commands belong to the area the module names in `AREA` (default: the module's own name), which
        `!help <area>` lists.
        """
        module = importlib.import_module(module_name)
        router = getattr(module, "router", None)
        if not isinstance(router, Router):
            raise TypeError(f"command module {module_name} has no module-level `router = Router()`")
        area = getattr(module, "AREA", module_name.rsplit(".", 1)[-1])
        self.include(router, area=area)

    # ---- walking the registry ----------------------------------------------------------------------------

    @property
    def commands(self) -> tuple[Command, ...]:
        """Every command, in declaration order."""
        return tuple(self._commands.values())

    def find(self, words: Sequence[str]) -> Command | None:
        """The command with exactly these words as its name or an alias (case-insensitive)."""
        return self._lookup.get(tuple(w.lower() for w in words))

    def is_group(self, words: Sequence[str]) -> bool:
        return tuple(w.lower() for w in words) in self._groups

    @property
    def areas(self) -> tuple[str, ...]:
        """The areas of the visible commands, sorted (`""`: commands included without one)."""
        return tuple(sorted({c.area for c in self._commands.values() if not c.hidden}))

    def in_area(self, area: str) -> list[Command]:
        """The visible commands of an area, by name."""
        return sorted((c for c in self.commands if c.area == area and not c.hidden), key=lambda c: c.name)

    def subcommands(self, words: Sequence[str]) -> list[Command]:
        """The visible commands whose names continue these words (`meeting` → `meeting list`, …)."""
        key = tuple(w.lower() for w in words)
        found = [c for c in self._commands.values() if c.words[: len(key)] == key and len(c.words) > len(key)]
        return sorted((c for c in found if not c.hidden), key=lambda c: c.name)

    def usage(self, command: Command) -> str:
        """`!meeting schedule <title> <when> [for <duration>] [force]`"""
        return " ".join(filter(None, [f"{self.prefix}{command.name}", usage_of(command.parameters)]))

    def shown(self, written: str) -> str:
        """A docstring's text as help shows it: the `!` of each command it names (`!help`, `(see !tz)`)
        becomes the configured prefix; a room ID (`!abc:example.org`) is left alone."""
        if self.prefix == DOC_PREFIX:
            return written
        return DOC_COMMAND.sub(lambda _match: self.prefix, written)

    async def permitted(self, ctx: Context, command: Command) -> bool:
        """Whether `!help` lists the command: the sender has the standing (bot administrators have every
        standing) and, for a `Rule`, could run it on some object here."""
        if not (ctx.is_admin or await command.allow.standing.allows(ctx)):
            return False
        return await command.allow.open_here(ctx)

    def suggest(self, words: Sequence[str]) -> str | None:
        """The visible command name (or group word) closest to the first one, two or three words typed."""
        visible = [key for key, command in self._lookup.items() if not command.hidden]
        groups = {key[:i] for key in visible for i in range(1, len(key))}
        candidates = sorted(" ".join(words) for words in {*visible, *groups})
        best, best_score = None, 0.0
        for count in range(1, min(len(words), 3) + 1):
            typed = " ".join(words[:count]).lower()[:60]
            # An exact match can only be a group word the user went on from (`meeting` in `!meeting shedule`).
            for candidate in difflib.get_close_matches(typed, [c for c in candidates if c != typed], 1, 0.6):
                score = difflib.SequenceMatcher(None, typed, candidate).ratio()
                if score > best_score:
                    best, best_score = candidate, score
        return best

    # ---- reading messages --------------------------------------------------------------------------------

    def is_command_line(self, line: str) -> bool:
        line = line.lstrip()
        return line.startswith(self.prefix) and line[len(self.prefix) : len(self.prefix) + 1].isalpha()

    def parse(self, body: str) -> list[Invocation]:
        """The commands in a message, in order; [] when the message is not a command.

        A message is a command when its first non-empty line (after a reply's quoted fallback) starts with the
        prefix. Every later line that starts with the prefix begins another command; other lines belong to the
        command above them (form lines, or more text).
        """
        all_lines = _strip_reply_fallback(body.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        first = next((line for line in all_lines if line.strip()), None)
        if first is None or not self.is_command_line(first):
            return []
        length = sum(len(line) for line in all_lines) + len(all_lines) - 1
        if length > self.max_length:  # said when executed: in the reader's language
            return [Invocation("too_long", length=length)]
        chunks: list[list[str]] = []
        for line in all_lines:
            if self.is_command_line(line):
                chunks.append([line])
            elif chunks:
                chunks[-1].append(line)
        return [self._read(chunk[0].lstrip()[len(self.prefix) :], chunk[1:]) for chunk in chunks]

    def _read(self, head: str, more: list[str]) -> Invocation:
        """One command: the longest known name among the first words, then its arguments."""
        depth = max((len(k) for k in self._lookup), default=1)
        typed, ends = _leading_words(head, depth + 1)
        lowered = tuple(w.lower() for w in typed)
        count = next((n for n in range(len(typed), 0, -1) if lowered[:n] in self._lookup), 0)
        if count:
            command = self._lookup[lowered[:count]]
            # `!subject lst`: a command that takes no words, followed by one that is no subcommand of it.
            if count == len(typed) or command.takes_positionals or not self.subcommands(lowered[:count]):
                return self._invocation(command, typed[:count], head[ends[count - 1] :], more)
            known = count
        else:
            known = max((n for n in range(1, len(typed) + 1) if lowered[:n] in self._groups), default=0)
            if known and known == len(typed):
                return Invocation("group", tuple(typed))
        return Invocation("unknown", tuple(typed[: known + 1]), suggestion=self.suggest(typed))

    def _invocation(self, command: Command, typed: Sequence[str], rest: str, more: list[str]) -> Invocation:
        following = [line for line in more if line.strip()]
        if not rest.strip() and following and is_form_start(command.parameters, following[0]):
            fields, problem = read_form(more)
            return Invocation("command", tuple(typed), command, form=fields, problem=problem)
        text_ = "\n".join([rest, *more]) if more else rest
        return Invocation("command", tuple(typed), command, text=text_)

    # ---- running -----------------------------------------------------------------------------------------

    async def execute(self, ctx: Context, invocation: Invocation) -> bool:
        """Run one invocation; refusals (usage errors included) become replies; other errors propagate.

        Returns whether the command ran to completion: on False — it was refused, for whatever reason — the
        caller undoes whatever it wrote and counts it refused, so a handler may raise `Refusal` or
        `UsageError` — or let a domain function's `DomainError` through — at any point without leaving half
        its work behind.
        """
        ctx.router = self
        ctx.command = invocation.command
        try:
            await self._run(ctx, invocation)
        except UsageError as error:
            assert invocation.command is not None
            await ctx.reply(self.usage_message(invocation.command, error))
            return False
        except Refusal as refusal:
            await ctx.reply(refusal.message)
            return False
        except DomainError as error:  # the domain's refusal, answered here once rather than in each command
            await ctx.reply(str(error))
            return False
        return True

    async def _run(self, ctx: Context, invocation: Invocation) -> None:
        """Run the invocation, or raise the `Refusal` that says why not (every refusal goes this one way)."""
        if invocation.kind == "too_long":
            length, limit = f"{invocation.length:,}", f"{self.max_length:,}"
            sentence = _(
                "That message is too long for me: {length} characters, where I read at most {limit}.",
                length=length,
                limit=limit,
            )
            raise Refusal(sentence)
        if invocation.kind == "unknown":
            raise Refusal(self.unknown_message(invocation.words, invocation.suggestion))
        if invocation.kind == "group":
            raise Refusal(await self.group_message(ctx, invocation.words))
        command = invocation.command
        assert command is not None
        standing = command.allow.standing
        if not (ctx.is_admin or await standing.allows(ctx)):
            raise Refusal(
                tr(
                    "Only {who} may run {command}.",
                    who=standing.shown_name(),
                    command=code(f"{self.prefix}{command.name}"),
                )
            )
        if invocation.problem:
            raise unreadable_form_line(invocation.problem)
        if invocation.form is not None:
            arguments = await bind_form(command.parameters, invocation.form, ctx)
        else:
            arguments = await bind_line(command.parameters, invocation.text, ctx)
        refusal = await command.allow.refusal(ctx, arguments)  # a rule on the object the arguments name
        if refusal is not None:
            raise Refusal(refusal)
        await command.handler(ctx, **arguments)

    async def dispatch(self, ctx: Context, body: str) -> bool:
        """Parse and execute every command of a message; returns whether the message was a command."""
        invocations = self.parse(body)
        for invocation in invocations:
            await self.execute(ctx, invocation)
        return bool(invocations)

    def usage_message(self, command: Command, error: UsageError) -> Rich:
        if not error.show_usage:
            return as_rich(error.sentence)
        return lines([as_rich(error.sentence), tr("Usage: {usage}", usage=code(self.usage(command)))])

    def unknown_message(self, words: Sequence[str], suggestion: str | None = None) -> Rich:
        shown = code(f"{self.prefix}{quote(' '.join(words), 40)[1:-1]}")
        if suggestion:
            message = tr(
                "Unknown command {command}. Did you mean {suggestion}?",
                command=shown,
                suggestion=code(f"{self.prefix}{suggestion}"),
            )
        else:
            message = tr("Unknown command {command}.", command=shown)
        if self.find(["help"]):
            hint = tr("Type {help} for the list of commands.", help=code(f"{self.prefix}help"))
            message = lines([message, hint])
        return message

    async def group_message(self, ctx: Context, words: Sequence[str]) -> Rich:
        """What `!meeting` alone answers: the subcommands the sender may run."""
        name = f"{self.prefix}{' '.join(w.lower() for w in words)}"
        allowed = [c for c in self.subcommands(words) if await self.permitted(ctx, c)]
        if not allowed:
            return tr("None of the {group} commands is open to you here.", group=code(name))
        entries = [
            code(self.usage(c)) + (f" — {self.shown(c.shown_summary)}" if c.summary else "") for c in allowed
        ]
        return lines([tr("The {group} commands:", group=code(name)), bullets(entries)])

    # ---- passive handlers --------------------------------------------------------------------------------

    def has_passive(self, event: object) -> bool:
        """Whether any passive handler listens to this event (so the caller can skip a transaction)."""
        return any(isinstance(event, p.event_type) and p.accepts(event) for p in self._passive)

    async def passive_applies(self, ctx: Context, event: object) -> bool:
        """Whether a passive handler listening to this event has something to do with it (read-only; asked
        before the caller opens the handlers' savepoint)."""
        for passive in self._passive:
            if isinstance(event, passive.event_type) and passive.accepts(event):
                if passive.applies is None or await passive.applies(ctx, event):
                    return True
        return False

    async def handle_passive(self, ctx: Context, event: object) -> int:
        """Run the passive handlers that listen to this event, in declaration order; how many ran."""
        ctx.router = self
        ran = 0
        for passive in self._passive:
            if isinstance(event, passive.event_type) and passive.accepts(event):
                if passive.applies is not None and not await passive.applies(ctx, event):
                    continue
                await passive.handler(ctx, event)
                ran += 1
        return ran


def _strip_reply_fallback(lines_: list[str]) -> list[str]:
    """Drop the `> <@alice:example.org> …` lines (and the blank line after) that old clients prepend."""
    i = 0
    while i < len(lines_) and lines_[i].startswith(">"):
        i += 1
    if i and i < len(lines_) and not lines_[i].strip():
        i += 1
    return lines_[i:]


def _leading_words(head: str, limit: int) -> tuple[list[str], list[int]]:
    """Up to `limit` unquoted words at the start of a command line, and where each ends."""
    words: list[str] = []
    ends: list[int] = []
    i, n = 0, len(head)
    while len(words) < limit:
        while i < n and head[i].isspace():
            i += 1
        if i == n or head[i] in OPENING_QUOTES:
            break
        j = i
        while j < n and not head[j].isspace():
            j += 1
        words.append(head[i:j])
        ends.append(j)
        i = j
    return words, ends
