"""The minutes end to end in an encrypted room: the bot as its own process (with encryption, as deployed),
a real Synapse, people's encrypted clients.

In an encrypted room the Markdown minutes must be uploaded encrypted, and the `m.file` event must name them
the way the Matrix spec names an encrypted attachment (client-server API, "Sending encrypted attachments"):
`content.file` is an EncryptedFile — `url` (mxc), `key` (a JWK: kty "oct", alg "A256CTR", ext true,
key_ops with "encrypt" and "decrypt", k), `iv`, `hashes.sha256`, `v` "v2" — and there is no `content.url`.
A member's client reads it as Element would: downloads the ciphertext through the authenticated media API,
checks its hash and decrypts it with the event's key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from nio.crypto.attachments import decrypt_attachment

from tests.support.conversation import invite_in, room_with_bot
from tests.support.matrix_user import body_of, is_message, is_reply_to
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

DISTINCTIVE = "The zebra-striped budget line 7f3a stays under review"


def unpadded_base64(value: Any, *, urlsafe: bool = False) -> bytes:
    """The bytes of an unpadded base64 string (the spec's encoding; URL-safe for a JWK's `k`)."""
    assert isinstance(value, str) and "=" not in value, value
    try:
        return base64.b64decode(
            value + "=" * (-len(value) % 4), altchars=b"-_" if urlsafe else None, validate=True
        )
    except binascii.Error as error:
        raise AssertionError(f"not {'URL-safe ' if urlsafe else ''}unpadded base64: {value!r}") from error


async def get(url: str, token: str) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return response.status, dict(response.headers), await response.read()


async def keys_published(synapse, user, user_id: str, timeout: float = 30) -> None:
    """Wait until `user_id` has a device with published keys (fails after `timeout` s)."""

    async def devices_with_keys() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{synapse.base_url}/_matrix/client/v3/keys/query",
                json={"device_keys": {user_id: []}},
                headers={"Authorization": f"Bearer {user.access_token}"},
            ) as response,
        ):
            assert response.status == 200, await response.text()
            return (await response.json())["device_keys"].get(user_id, {})

    await eventually(
        devices_with_keys, what=f"{user_id} to publish device keys", timeout=timeout, interval=0.1
    )


def check_encrypted_file(file: Any) -> tuple[str, str]:
    """The spec's EncryptedFile, field by field; the (server name, media id) of its mxc URL."""
    assert isinstance(file, dict), file
    assert file.get("v") == "v2", file
    url = file.get("url")
    assert isinstance(url, str) and url.startswith("mxc://"), file
    server_name, _, media_id = url.removeprefix("mxc://").partition("/")
    assert server_name and media_id and "/" not in media_id, url
    key = file.get("key")
    assert isinstance(key, dict), file
    assert key.get("kty") == "oct" and key.get("alg") == "A256CTR" and key.get("ext") is True, key
    assert {"encrypt", "decrypt"} <= set(key.get("key_ops", [])), key
    assert len(unpadded_base64(key.get("k"), urlsafe=True)) == 32, key  # a 256-bit AES key
    assert len(unpadded_base64(file.get("iv"))) == 16, file
    hashes = file.get("hashes")
    assert isinstance(hashes, dict) and len(unpadded_base64(hashes.get("sha256"))) == 32, file
    return server_name, media_id


async def test_minutes_in_an_encrypted_room_are_an_encrypted_attachment(
    matrix_user_factory, bot_process, synapse
):
    admin = await matrix_user_factory("alice", encryption=True, displayname="Alice Admin")
    member = await matrix_user_factory("bob", encryption=True, displayname="Bob Member")
    process, account = await bot_process(admins=[admin.user_id])
    bot_id = account.user_id
    process.start()
    try:
        room_id = await room_with_bot(admin, bot_id, encrypted=True)
        await invite_in(admin, room_id, member)

        start = await admin.send_text(room_id, "!startmeeting")
        started = await member.wait_for(is_reply_to(start, sender=bot_id), room_id=room_id, timeout=30)
        assert body_of(started).startswith("Meeting started: Unscheduled meeting."), body_of(started)
        await member.send_text(room_id, DISTINCTIVE)
        end = await admin.send_text(room_id, "!endmeeting")

        # The member's client gets the summary notice, then the file, both encrypted and both readable.
        summary = await member.wait_for(is_reply_to(end, sender=bot_id), room_id=room_id, timeout=30)
        assert summary["content"]["msgtype"] == "m.notice", summary
        lines = body_of(summary).splitlines()
        assert lines[0] == "Meeting ended: Unscheduled meeting", lines
        assert "3 lines minuted." in lines, lines  # !startmeeting, the member's line, !endmeeting
        assert any(line.startswith("Attendance: ") and member.user_id in line for line in lines), lines
        event = await member.wait_for(
            is_message(sender=bot_id, msgtype="m.file"), room_id=room_id, timeout=30
        )
        for sent in (summary, event):  # on the wire (what the homeserver holds) they are ciphertext
            status, _, raw = await get(
                f"{synapse.base_url}/_matrix/client/v3/rooms/{quote(room_id)}/event/{quote(sent['event_id'])}",
                member.access_token,
            )
            assert status == 200, raw
            assert b'"type":"m.room.encrypted"' in raw.replace(b" ", b""), raw
            assert b"mxc://" not in raw and b"Meeting ended" not in raw, raw

        content = event["content"]
        assert "url" not in content, f"an encrypted room's file must not be named by a plain url: {content}"
        assert "file" in content, content
        server_name, media_id = check_encrypted_file(content["file"])
        assert content["body"].startswith("minutes-S1-") and content["body"].endswith(".md"), content
        assert content["info"]["mimetype"] == "text/markdown; charset=utf-8", content

        # Download the ciphertext as the member's client does (Synapse serves authenticated clients only).
        status, headers, ciphertext = await get(
            f"{synapse.base_url}/_matrix/client/v1/media/download/{server_name}/{media_id}",
            member.access_token,
        )
        assert status == 200, (status, ciphertext[:500])
        assert headers.get("Content-Type") == "application/octet-stream", headers  # no hint of what it is
        assert DISTINCTIVE.encode() not in ciphertext
        file = content["file"]
        digest = unpadded_base64(file["hashes"]["sha256"])
        assert hashlib.sha256(ciphertext).digest() == digest, "the hash is of the ciphertext"
        plaintext = decrypt_attachment(ciphertext, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
        assert len(plaintext) == content["info"]["size"], (len(plaintext), content["info"])

        markdown = plaintext.decode("utf-8")
        assert markdown.startswith("# Unscheduled meeting\n"), markdown[:300]
        [logged] = [line for line in markdown.splitlines() if DISTINCTIVE in line]
        assert logged.endswith(f"Bob Member: {DISTINCTIVE}"), logged
        assert process.terminate() == 0
    except BaseException:
        print(process.output()[-5000:])
        raise


async def test_a_fresh_bot_publishes_its_keys_before_it_joins_a_waiting_invitation(
    matrix_user_factory, bot_process, synapse
):
    """Before the fix the first sync's invitations were joined before the new device's keys were uploaded;
    a first message then reached the bot encrypted for nobody ("I could not decrypt your message")."""
    admin = await matrix_user_factory("alice", encryption=True)
    process, account = await bot_process(admins=[admin.user_id])
    room_id = await admin.create_room(invite=[account.user_id], encrypted=True)  # waiting when it starts
    process.start()
    try:
        await admin.wait_joined(room_id, account.user_id, timeout=60)
        await keys_published(synapse, admin, account.user_id, timeout=0)  # already there at the join
        ping = await admin.send_text(room_id, "!ping")
        answer = await admin.wait_for(is_reply_to(ping, sender=account.user_id), room_id=room_id, timeout=30)
        assert body_of(answer) == "pong"
        assert process.terminate() == 0
    except BaseException:
        print(process.output()[-5000:])
        raise
