"""`!ping` round trip through a local Synapse: the ISCG bot against a bare nio echo bot, in the same run.

    python bench/ping_roundtrip.py [--rounds 60] [--quick]

--quick: a handful of pings after one warm-up (seconds: `make test` runs it so the bench cannot rot); its
figures show the bench works, not how fast the bot is.

Starts its own Synapse on 127.0.0.1, runs the ISCG bot as its own process (as in production), and measures
send → reply-seen as a person's client sees it. The baseline is the thinnest possible bot (nio's
sync_forever and a callback that replies): the ratio is what our exactly-once machinery costs.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nio import AsyncClient, MatrixRoom, RoomMessageText

from iscg_bot.demo.homeserver import LocalSynapse
from tests.fixtures_bot import BotProcess, _toml, migrate, register_bot
from tests.support.matrix_user import MatrixUser, is_reply_to


async def echo_bot(server: LocalSynapse, workdir: Path) -> tuple[str, asyncio.Task[None], AsyncClient]:
    registered = await server.register(f"echo-{secrets.token_hex(3)}", "pw-echo-bot")
    client = AsyncClient(server.base_url, registered.user_id, device_id=registered.device_id)
    client.access_token = registered.access_token
    client.user_id = registered.user_id

    async def on_message(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != client.user_id and event.body.startswith("!ping"):
            content = {
                "msgtype": "m.notice",
                "body": "pong",
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            }
            await client.room_send(room.room_id, "m.room.message", content)

    async def on_invite(room: MatrixRoom, event: object) -> None:
        await client.join(room.room_id)

    from nio import InviteMemberEvent

    await client.sync(timeout=0, full_state=True)  # skip history, as any bot should
    client.add_event_callback(on_message, RoomMessageText)
    client.add_event_callback(on_invite, InviteMemberEvent)
    task = asyncio.create_task(client.sync_forever(timeout=30000))
    return registered.user_id, task, client


async def measure(user: MatrixUser, room_id: str, bot_id: str, rounds: int, warm_up: int) -> list[float]:
    for _ in range(warm_up):  # first sends share keys, fill caches
        event_id = await user.send_text(room_id, "!ping")
        await user.wait_for(is_reply_to(event_id, sender=bot_id), room_id=room_id, timeout=30)
    times = []
    for n in range(rounds):
        start = time.perf_counter()
        event_id = await user.send_text(room_id, f"!ping {n}")
        await user.wait_for(is_reply_to(event_id, sender=bot_id), room_id=room_id, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{name:<22} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms   min {ordered[0]:6.1f} ms"
    )


async def main(rounds: int, warm_up: int) -> None:
    with tempfile.TemporaryDirectory(prefix="iscg-bench-") as tmp:
        root = Path(tmp)
        server = LocalSynapse(root / "synapse")
        process: BotProcess | None = None
        echo_task = None
        try:
            await server.start()
            registered = await server.register(f"alice-{secrets.token_hex(3)}", "pw-alice")
            alice = await MatrixUser.start(server.base_url, registered, root / "alice", encryption=False)

            echo_id, echo_task, echo_client = await echo_bot(server, root)
            echo_room = await alice.create_room(invite=[echo_id])
            await alice.wait_joined(echo_room, echo_id, timeout=30)
            baseline = await measure(alice, echo_room, echo_id, rounds, warm_up)

            account = await register_bot(server, root / "iscg")
            settings = account.settings(server, admins=[alice.user_id])
            await migrate(settings["database"]["url"])
            config = account.workdir / "config.toml"
            config.write_text(_toml(settings | {"logging": {"level": "WARNING"}}), encoding="utf-8")
            process = BotProcess(config, account.workdir / "bot")
            process.start()
            room = await alice.create_room(invite=[account.user_id])
            await alice.wait_joined(room, account.user_id, timeout=60)
            ours = await measure(alice, room, account.user_id, rounds, warm_up)

            print(f"!ping round trip through a local Synapse, {rounds} rounds each (after {warm_up} warm-up)")
            print(summary("baseline (bare nio)", baseline))
            print(summary("ISCG bot", ours))
            print(
                f"ratio ISCG/baseline    median {statistics.median(ours) / statistics.median(baseline):.2f}×"
            )
            await alice.stop()
            echo_task.cancel()
            await echo_client.close()
        finally:
            if process is not None:
                process.kill()
            if echo_task is not None:
                echo_task.cancel()
            await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, help="pings measured per bot (default 60; 5 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a few seconds' run that checks the bench works")
    arguments = parser.parse_args()
    if arguments.quick:
        print("quick run: the figures check that the bench works, they are not a measurement")
    rounds = arguments.rounds or (5 if arguments.quick else 60)
    asyncio.run(main(rounds, warm_up=1 if arguments.quick else 5))
