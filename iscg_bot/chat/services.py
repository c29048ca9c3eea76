"""`Services`: what commands reach through `ctx.services`, built once, complete, by the composition root.

Typed with what the layers below offer (the settings, the clock, the database, the domain's view of the
imported calendars) and, for the Matrix gateway, which this layer may not import, with the `Gateway` protocol:
the little of it the chat layer uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from iscg_bot.core.clock import Clock
from iscg_bot.core.config import Settings
from iscg_bot.domain.meetings import OtherCalendars
from iscg_bot.storage import Database


class Gateway(Protocol):
    """What the chat layer asks of the Matrix gateway (`iscg_bot.matrix.gateway.MatrixGateway`) beyond sending
    (`iscg_bot.chat.outbox.Sender`): joining rooms, declining invitations."""

    async def join(self, room_id: str) -> bool: ...

    async def reject_invite(self, room_id: str) -> None: ...


@dataclass
class Services:
    """What commands may reach through `ctx.services`."""

    config: Settings
    clock: Clock
    database: Database
    gateway: Gateway
    imported: OtherCalendars | None = None  # the imported calendars, when calendars.imported lists feeds

    @property
    def web_base_url(self) -> str:
        """Where people reach the web server: feed links are built from it."""
        return self.config.web.public_base_url
