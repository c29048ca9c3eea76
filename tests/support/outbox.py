"""Sending the chat driver's outbox with the real OutboxSender, as the bot's send loop would."""

from __future__ import annotations

import asyncio

from tests.chat import Chat
from tests.support.polling import eventually


async def run_outbox_until_empty(chat: Chat) -> None:
    """Run an OutboxSender on the fake gateway until nothing is pending (sent, or failed for good), then
    stop it. What was sent is in `chat.gateway.sent` (and `uploads`)."""
    sender = chat.outbox_sender()
    chat.gateway.ready.set()
    await sender.start()
    try:

        async def drained() -> bool:
            return not await chat.pending()

        await eventually(drained, what="the outbox to have nothing pending", timeout=5, interval=0.02)
    finally:
        await asyncio.wait_for(sender.stop(), 5)
