"""A deployed bot for end-to-end tests of what people read: the bot process with its web server where its
links say it is, a subject room with a coordinator and a member, and reading its answers (reactions, notices
followed by files, files through the media API, pages from the web server)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from tests.fixtures_bot import _toml
from tests.support.conversation import invite_in, room_with_bot, say
from tests.support.matrix_user import body_of, is_message, is_reply_to

ACK = "✅"


# ---- the deployment: the bot process with its web server where its links say it is -----------------------


@dataclass
class Deployment:
    process: Any  # tests.fixtures_bot.BotProcess
    bot_id: str
    web: str  # the web server's base URL, which is also its public_base_url (links in chat work)
    database_url: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def deploy(bot_process, synapse, admin_id: str, clock_file: Path | None = None) -> Deployment:
    """The bot as its own process, its web server on a known port so that the links it posts can be
    followed (the fixture's `listen_port = 0` leaves `public_base_url` at its default)."""
    process, account = await bot_process(admins=[admin_id], clock_file=clock_file)
    web = f"http://127.0.0.1:{free_port()}"
    settings = account.settings(synapse, admins=[admin_id])
    settings["web"] = {"listen_port": int(web.rsplit(":", 1)[1]), "public_base_url": web}
    process.config_path.write_text(_toml(settings), encoding="utf-8")
    process.start()
    return Deployment(process, account.user_id, web, settings["database"]["url"])


def set_clock(path: Path, at: datetime) -> None:
    """Move the bot's clock: the file is replaced whole, so the bot never reads half a timestamp."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(at.isoformat(), encoding="utf-8")
    os.replace(temporary, path)


@dataclass
class Room:
    room_id: str
    coordinator: Any  # MatrixUser "Carol Coordinator": the subject's coordinator, who chairs
    member: Any  # MatrixUser "Bob Member": a plain member
    bot_id: str

    def name(self, user: Any) -> str:
        return {self.coordinator.user_id: "Carol Coordinator", self.member.user_id: "Bob Member"}[
            user.user_id
        ]


async def subject_room(matrix_user_factory, admin, bot_id: str) -> Room:
    """A subject room: the admin sets it up (subject cop, Carol its coordinator); Carol and Bob join after
    the bot, so it knows their display names. The admin says nothing more: not in any minutes."""
    coordinator = await matrix_user_factory("carol", displayname="Carol Coordinator")
    member = await matrix_user_factory("bob", displayname="Bob Member")
    room_id = await room_with_bot(admin, bot_id)
    await invite_in(admin, room_id, coordinator, member)
    created = await say(admin, room_id, "!subject create cop Child Online Protection", bot_id)
    assert created.startswith("Created the subject"), created
    added = await say(admin, room_id, f"!role add {coordinator.user_id} coordinator", bot_id)
    assert coordinator.user_id in added, added
    return Room(room_id, coordinator, member, bot_id)


# ---- talking ----------------------------------------------------------------------------------------------


def is_ack(event_id: str, bot_id: str):
    def predicate(event: dict[str, Any]) -> bool:
        return (
            event["type"] == "m.reaction"
            and event["sender"] == bot_id
            and event["content"]["m.relates_to"]
            == {"rel_type": "m.annotation", "event_id": event_id, "key": ACK}
        )

    return predicate


async def tag(user, room: Room, body: str) -> str:
    """Send a tag and wait for the bot's ✅ reaction on it (the bot answers tags only so); its event id."""
    event_id = await user.send_text(room.room_id, body)
    await user.wait_for(is_ack(event_id, room.bot_id), room_id=room.room_id, timeout=30)
    return event_id


async def settled(user, room: Room) -> None:
    """The bot handles a room's events in order: once `!ping` is answered, everything before it is done
    (edits and redactions have no acknowledgement of their own)."""
    assert await say(user, room.room_id, "!ping", room.bot_id) == "pong"


async def with_file(user, room: Room, body: str) -> tuple[list[str], dict[str, Any]]:
    """Send a command the bot answers with a notice and then a file (`!endmeeting`, `!minutes`): the
    notice's lines and the file's event."""
    return await answer_with_file(user, room, await user.send_text(room.room_id, body))


async def answer_with_file(user, room: Room, sent: str) -> tuple[list[str], dict[str, Any]]:
    """The notice answering the command `sent` (its lines), and the file that follows it (its event)."""
    is_file = is_message(sender=room.bot_id, msgtype="m.file")
    notice = await user.wait_for(is_reply_to(sent, sender=room.bot_id), room_id=room.room_id, timeout=30)
    assert notice["content"]["msgtype"] == "m.notice", notice
    events = user.events(room.room_id)
    older = {e["event_id"] for e in events[: events.index(notice)] if is_file(e)}
    file = await user.wait_for(lambda e: is_file(e) and e["event_id"] not in older, room_id=room.room_id)
    return body_of(notice).splitlines(), file


async def download_bytes(synapse, user, event: dict[str, Any]) -> bytes:
    """The file of an `m.file` event, through the client media API. Synapse 1.163 serves media to
    authenticated clients only (enable_authenticated_media is on by default): /_matrix/client/v1/media."""
    server_name, media_id = event["content"]["url"].removeprefix("mxc://").split("/", 1)
    url = f"{synapse.base_url}/_matrix/client/v1/media/download/{server_name}/{media_id}"
    headers = {"Authorization": f"Bearer {user.access_token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200, (response.status, await response.text())
        data = await response.read()
    assert len(data) == event["content"]["info"]["size"]
    return data


async def download(synapse, user, event: dict[str, Any]) -> str:
    """The text of an `m.file` event's file (UTF-8)."""
    return (await download_bytes(synapse, user, event)).decode("utf-8")


async def fetch(url: str) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, dict(response.headers), await response.text()


async def page(url: str, *, site: bool = False) -> str:
    """A page's HTML: a stand-alone document (minutes, report) runs no script at all; one of the site's
    pages (`site`) runs only the server's own script, nothing inline."""
    status, headers, text = await fetch(url)
    assert status == 200, (url, status, text)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    policy = headers["Content-Security-Policy"]
    if site:
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    else:
        assert "script-src" not in policy, policy  # default-src 'none': no script at all
    return text
