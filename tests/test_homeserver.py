"""The real-homeserver harness itself: LocalSynapse, the fixtures and MatrixUser against a running Synapse."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import aiohttp
import pytest

from iscg_bot.demo.homeserver import AdminRequestError, LocalSynapse
from tests.fixtures_synapse import MakeUser
from tests.support.matrix_user import MatrixUser, is_membership, is_message, is_reply_to

pytestmark = pytest.mark.e2e


async def _versions_status(base_url: str, give_up_after: float) -> int:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=give_up_after)) as session,
        session.get(f"{base_url}/_matrix/client/versions") as response,
    ):
        return response.status


async def _whoami(base_url: str, token: str) -> dict:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{base_url}/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == 200
        return await response.json()


async def test_register_plain_and_admin_users(synapse: LocalSynapse) -> None:
    name = f"reg-{secrets.token_hex(4)}"
    user = await synapse.register(name, "pw-1", displayname="Reg User")
    admin = await synapse.register(f"{name}-admin", "pw-2", admin=True)

    assert user.user_id == f"@{name}:localhost" == synapse.user_id(name)
    assert (await _whoami(synapse.base_url, user.access_token))["device_id"] == user.device_id

    # Only the admin may use the admin API.
    who = f"/_synapse/admin/v2/users/{user.user_id}"
    assert (await synapse.admin_request("GET", who, admin.access_token))["displayname"] == "Reg User"
    with pytest.raises(AdminRequestError) as refused:
        await synapse.admin_request("GET", who, user.access_token)
    assert refused.value.status == 403


async def test_register_refuses_a_taken_name(synapse: LocalSynapse) -> None:
    name = f"taken-{secrets.token_hex(4)}"
    await synapse.register(name, "pw")
    with pytest.raises(AdminRequestError) as refused:
        await synapse.register(name, "pw")
    assert refused.value.status == 400


async def test_override_ratelimit(synapse: LocalSynapse) -> None:
    admin = await synapse.register(f"rl-admin-{secrets.token_hex(4)}", "pw", admin=True)
    user = await synapse.register(f"rl-user-{secrets.token_hex(4)}", "pw")

    answer = await synapse.override_ratelimit(admin.access_token, user.user_id)

    assert answer == {"messages_per_second": 0, "burst_count": 0}
    path = f"/_synapse/admin/v1/users/{user.user_id}/override_ratelimit"
    assert await synapse.admin_request("GET", path, admin.access_token) == answer


async def test_strict_synapse_limits_messages_but_not_the_test_users(
    strict_synapse: LocalSynapse, matrix_user_factory: MakeUser
) -> None:
    alice = await matrix_user_factory("alice", server=strict_synapse)
    room_id = await alice.create_room()
    sent = [await alice.send_text(room_id, f"exempt {i}") for i in range(12)]
    assert len(set(sent)) == 12

    # A user without the exemption meets Synapse's default rc_message (burst 10; createRoom counts too).
    limited = await strict_synapse.register(f"limited-{secrets.token_hex(4)}", "pw")
    statuses = []
    async with aiohttp.ClientSession(
        strict_synapse.base_url, headers={"Authorization": f"Bearer {limited.access_token}"}
    ) as session:
        async with session.post("/_matrix/client/v3/createRoom", json={}) as response:
            limited_room = (await response.json())["room_id"]
        for i in range(12):
            path = f"/_matrix/client/v3/rooms/{limited_room}/send/m.room.message/txn{i}"
            async with session.put(path, json={"msgtype": "m.text", "body": str(i)}) as response:
                statuses.append(response.status)
            if response.status == 429:  # Synapse holds each refusal back for 0.5 s: stop at the first
                break
    assert statuses[-1] == 429


async def test_message_round_trip_in_a_plain_room(matrix_user_factory: MakeUser) -> None:
    alice = await matrix_user_factory("alice")
    bob = await matrix_user_factory("bob")
    room_id = await alice.create_room(name="plain", invite=[bob.user_id])
    await bob.wait_invited(room_id)
    await bob.join(room_id)
    await alice.wait_joined(room_id, bob.user_id)

    sent = await alice.send_text(room_id, "hello bob", mentions=[bob.user_id])
    received = await bob.wait_for(lambda e: e["event_id"] == sent, room_id=room_id)

    assert received["sender"] == alice.user_id
    assert received["content"] == {
        "msgtype": "m.text",
        "body": "hello bob",
        "m.mentions": {"user_ids": [bob.user_id]},
    }
    # A reply is Element-shaped and mentions the author of the message it answers.
    reply = await bob.send_text(room_id, "hi alice", reply_to=sent)
    answer = await alice.wait_for(is_reply_to(sent, sender=bob.user_id), room_id=room_id)
    assert answer["event_id"] == reply
    assert answer["content"]["m.mentions"] == {"user_ids": [alice.user_id]}


async def test_message_round_trip_in_an_encrypted_room(matrix_user_factory: MakeUser) -> None:
    alice = await matrix_user_factory("alice", encryption=True)
    bob = await matrix_user_factory("bob", encryption=True)
    room_id = await alice.create_room(name="secret", invite=[bob.user_id], encrypted=True)
    await bob.join(room_id)
    await alice.wait_joined(room_id, bob.user_id)

    sent = await alice.send_text(room_id, "for your eyes only")
    received = await bob.wait_for(lambda e: e["event_id"] == sent, room_id=room_id)

    assert received["type"] == "m.room.message"
    assert received["content"]["body"] == "for your eyes only"
    # And back: bob's session is new, alice must get its key too; reactions are encrypted like Element's.
    await bob.send_text(room_id, "read you")
    await alice.wait_for(is_message(sender=bob.user_id, contains="read you"), room_id=room_id)
    reaction = await bob.react(room_id, sent, "👍")
    seen = await alice.wait_for(lambda e: e["event_id"] == reaction, room_id=room_id)
    assert seen["type"] == "m.reaction"
    assert seen["content"]["m.relates_to"]["key"] == "👍"


async def test_edit_react_redact_shapes(matrix_user_factory: MakeUser) -> None:
    alice = await matrix_user_factory("alice")
    room_id = await alice.create_room()
    original = await alice.send_text(room_id, "frist")

    edit = await alice.edit(room_id, original, "first")
    reaction = await alice.react(room_id, original, "✅")
    redaction = await alice.redact(room_id, reaction)

    await alice.wait_for(lambda e: e["event_id"] == redaction, room_id=room_id)
    by_id = {e["event_id"]: e for e in alice.events(room_id)}
    assert by_id[edit]["content"] == {
        "msgtype": "m.text",
        "body": " * first",
        "m.new_content": {"msgtype": "m.text", "body": "first", "m.mentions": {}},
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }
    assert by_id[redaction]["redacts"] == reaction
    assert by_id[redaction]["content"]["redacts"] == reaction
    assert not is_message()(by_id[edit]), "is_message() leaves edits out"


async def test_old_room_version(matrix_user_factory: MakeUser) -> None:
    alice = await matrix_user_factory("alice")
    v11_room = await alice.create_room(room_version="11")
    default_room = await alice.create_room()

    def version(room_id: str) -> str:
        create = next(e for e in alice.events(room_id) if e["type"] == "m.room.create")
        return create["content"]["room_version"]

    assert version(v11_room) == "11"
    assert v11_room.endswith(":localhost"), "before v12 a room id names its server"
    assert version(default_room) == "12"
    assert ":" not in default_room


async def test_wait_for_times_out_with_what_it_saw(matrix_user_factory: MakeUser) -> None:
    alice = await matrix_user_factory("alice")
    room_id = await alice.create_room()
    await alice.send_text(room_id, "something else")
    await alice.wait_for(is_message(contains="something else"), room_id=room_id)

    with pytest.raises(TimeoutError, match="something else"):
        await alice.wait_for(is_message(contains="never sent"), room_id=room_id, timeout=0.3)


async def test_invitations_are_not_accepted_automatically(matrix_user_factory: MakeUser) -> None:
    alice = await matrix_user_factory("alice")
    bob = await matrix_user_factory("bob")
    room_id = await alice.create_room(invite=[bob.user_id], is_direct=True)

    assert await bob.wait_invited() == room_id
    # The barrier: bob's client sees a later event of its own, so it has handled the syncs after the invite.
    own = await bob.create_room()
    await bob.send_text(own, "a later event")
    await bob.wait_for(is_message(sender=bob.user_id, contains="a later event"), room_id=own)
    assert room_id not in bob.client.rooms
    await bob.join(room_id)
    await bob.leave(room_id)
    await alice.wait_for(is_membership(bob.user_id, "leave"), room_id=room_id)


async def test_a_gap_after_a_burst_is_filled(matrix_user_factory: MakeUser) -> None:
    alice = await matrix_user_factory("alice")
    bob = await matrix_user_factory("bob")
    room_id = await alice.create_room(invite=[bob.user_id])
    await bob.join(room_id)
    await bob.send_text(room_id, "before")
    await alice.wait_for(is_message(contains="before"), room_id=room_id)

    # More events than the sync timeline limit (100) arrive while alice is offline.
    await alice.pause_sync()
    burst = 120
    sent = await asyncio.gather(*(bob.send_text(room_id, f"burst {i}") for i in range(burst)))
    await alice.resume_sync()

    received = await alice.wait_for_count(
        is_message(sender=bob.user_id, contains="burst"), burst, room_id=room_id
    )
    assert sorted(e["event_id"] for e in received) == sorted(sent)
    ids = [e["event_id"] for e in alice.events(room_id)]
    assert len(ids) == len(set(ids)), "no event is recorded twice"
    assert alice.gaps_filled >= 1, "the burst should have come as a limited timeline"


async def test_pause_resume_stop_and_restart(tmp_path: Path) -> None:
    # A server of its own: pausing or stopping the shared one would disturb other tests.
    server = LocalSynapse(tmp_path / "hs")
    try:
        await server.start()
        user = await server.register("keeper", "pw")

        server.pause()
        with pytest.raises(asyncio.TimeoutError):
            await _versions_status(server.base_url, 0.5)
        server.resume()
        assert await _versions_status(server.base_url, 5) == 200

        server.pause()
        await server.stop()  # a paused server stops too
        assert not server.running
        assert server.pid is None

        await server.start()  # same work directory: the user and the session are still there
        assert (await _whoami(server.base_url, user.access_token))["user_id"] == user.user_id
        second_device = await server.login("keeper", "pw")
        assert second_device.user_id == user.user_id
        assert second_device.device_id != user.device_id
    finally:
        await server.stop()
        await server.stop()  # idempotent
    assert not server.running


async def test_matrix_user_stop_is_idempotent(synapse: LocalSynapse, tmp_path: Path) -> None:
    registered = await synapse.register(f"solo-{secrets.token_hex(4)}", "pw")
    user = await MatrixUser.start(synapse.base_url, registered, tmp_path / "store", encryption=True)
    assert user.user_id == registered.user_id
    await user.stop()
    await user.stop()
