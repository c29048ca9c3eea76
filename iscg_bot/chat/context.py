"""The `Context` of one event: what a command handler, a passive handler and an argument type are given.

Its own module, below both the router (`iscg_bot.chat.router`, which runs handlers with it and re-exports it)
and the argument types (`iscg_bot.chat.arguments`, `iscg_bot.chat.time_arguments`, which read values with it),
so neither has to import the other to name it. The router and the command it runs are seen here only as far as
a handler uses them (`CommandRegistry`, `RunningCommand`); `Router` and `Command` are both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from iscg_bot.chat.events import IncomingEvent, RoomEvent
from iscg_bot.chat.services import Services
from iscg_bot.core.formatting import Rich, as_rich
from iscg_bot.core.i18n import SOURCE
from iscg_bot.storage import UnitOfWork


class CommandRegistry(Protocol):
    """The router running a command (`iscg_bot.chat.router.Router`): its prefix names commands in replies."""

    prefix: str


class RunningCommand(Protocol):
    """The command being run (`iscg_bot.chat.router.Command`)."""

    @property
    def name(self) -> str: ...


@dataclass
class Context:
    """Everything a handler gets: who said what where and when, the services, and this event's transaction."""

    room_id: str
    sender: str
    event_id: str
    now: datetime  # aware, UTC, from the injected clock: handlers never read the system clock
    services: Services
    transaction: UnitOfWork | None = None  # this event's (read it as `uow`); the dispatcher always gives one
    router: CommandRegistry | None = None  # set by execute / handle_passive
    command: RunningCommand | None = None  # set by execute
    replies: list[Rich] = field(default_factory=list)
    purposes: dict[int, str] = field(default_factory=dict)  # index in `replies` → what that reply is for
    reactions: list[str] = field(default_factory=list)
    direct: list[tuple[str, Rich]] = field(default_factory=list)  # (user, message): private messages
    cache: dict[str, Any] = field(default_factory=dict)  # per-event memo (e.g. the sender's standing here)
    event: IncomingEvent | None = None  # the event being handled (its text, server time), from the dispatcher
    files: list[tuple[str, str, bytes]] = field(
        default_factory=list
    )  # (name, MIME type, bytes): to upload and post (`attach`)
    language: str = SOURCE  # the sender's: what replies are written in (`iscg_bot.chat.languages`)
    room_language: str = SOURCE  # the room's: what a message to everyone in it is written in

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("Context.now must be timezone-aware")
        self.now = self.now.astimezone(UTC)

    @classmethod
    def for_event(cls, event: RoomEvent, services: Services, uow: UnitOfWork | None = None) -> Context:
        return cls(event.room_id, event.sender, event.event_id, services.clock.now(), services, uow)

    @property
    def uow(self) -> UnitOfWork:
        """The storage unit of work of this event's transaction."""
        if self.transaction is None:
            raise LookupError("this context has no transaction (a context made without the dispatcher)")
        return self.transaction

    async def reply(self, message: Rich | str, *, purpose: str | None = None) -> None:
        """Answer the event; `purpose` (e.g. "announcement:M12") keeps the sent reply findable, so a reaction
        to it can be told apart (see `Outbox.by_remote_event`)."""
        if purpose is not None:
            self.purposes[len(self.replies)] = purpose
        self.replies.append(as_rich(message))

    async def tell(self, user_id: str, message: Rich | str) -> None:
        """Send `message` to `user_id` alone, in a direct room (for what must not be said in the room)."""
        self.direct.append((user_id, as_rich(message)))

    async def react(self, key: str) -> None:
        self.reactions.append(key)

    async def attach(self, filename: str, mimetype: str, data: bytes) -> None:
        """Upload `data` and post it in the room as a file, after the replies."""
        self.files.append((filename, mimetype, data))

    @property
    def is_admin(self) -> bool:
        try:
            return self.sender in self.services.config.bot.admins
        except AttributeError:
            return False

    @property
    def prefix(self) -> str:
        return self.router.prefix if self.router else "!"
