"""The floor for `bench/ping_roundtrip.py`: the thinnest Matrix bot, as its own process like ours.

    ISCG_ECHO_HOMESERVER=… ISCG_ECHO_USER=… ISCG_ECHO_DEVICE=… ISCG_ECHO_TOKEN=… \
        python bench/peers/echo_bot.py

nio's sync loop and one callback: it joins the rooms it is invited to and answers every `!ping` with a
`pong` notice in reply. It skips history on its first sync, as any bot should, prints `ready` once it has
synced, and runs until SIGTERM. No database, no ledger, no outbox: what ours costs beyond this is the price
of exactly-once.
"""

from __future__ import annotations

import asyncio
import os
import signal

from nio import AsyncClient, InviteMemberEvent, MatrixRoom, RoomMessageText


async def main() -> None:
    client = AsyncClient(
        os.environ["ISCG_ECHO_HOMESERVER"],
        os.environ["ISCG_ECHO_USER"],
        device_id=os.environ["ISCG_ECHO_DEVICE"],
    )
    client.restore_login(
        os.environ["ISCG_ECHO_USER"], os.environ["ISCG_ECHO_DEVICE"], os.environ["ISCG_ECHO_TOKEN"]
    )

    async def on_message(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != client.user_id and event.body.startswith("!ping"):
            content = {
                "msgtype": "m.notice",
                "body": "pong",
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            }
            await client.room_send(room.room_id, "m.room.message", content)

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            await client.join(room.room_id)

    await client.sync(timeout=0, full_state=True)  # skip history
    client.add_event_callback(on_message, RoomMessageText)
    client.add_event_callback(on_invite, InviteMemberEvent)
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    syncing = asyncio.create_task(client.sync_forever(timeout=30000))
    await stop.wait()
    syncing.cancel()
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
