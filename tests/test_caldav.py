"""CalDAV publishing against a real Radicale on 127.0.0.1: create, update, move, cancel, conflicts, outages.

Each test gets its own calendar collection on one shared server (the outage test runs its own server, which it
stops and starts again). The chat driver changes the meetings; `sync_once` publishes; the tests read the
resources back from Radicale and parse them with icalendar.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import icalendar
import pytest

from iscg_bot.calendar.caldav import CalDavPublisher, state_key
from iscg_bot.core.config import ConfigError, load_settings
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, ALICE, ROOM, Chat
from tests.support.caldav import AUTH, Radicale, caldav_settings, fetch, make_collection, open_chat
from tests.support.polling import eventually


async def schedule_two(chat: Chat) -> None:
    """M1: a weekly series on Mondays, M2: a one-off on a Thursday."""
    await chat.say("!subject create cop Child Online Protection", sender=ADMIN)
    await chat.say('!meeting schedule "Weekly call" 2026-12-07 10:00 Europe/Zurich every week', sender=ADMIN)
    await chat.say('!meeting schedule "Kick-off" 2026-12-03 14:00 Europe/Zurich', sender=ADMIN)


def publisher_for(chat: Chat) -> CalDavPublisher:
    return CalDavPublisher(chat.database.sessions, chat.clock, chat.config.caldav, http_timeout=5)


async def state_of(chat: Chat, meeting_id: int) -> dict[str, Any] | None:
    async with UnitOfWork(chat.database.sessions) as uow:
        value = await uow.state.get(state_key(meeting_id))
    return json.loads(value) if value is not None else None


async def sequence_of(chat: Chat, meeting_id: int) -> int:
    async with UnitOfWork(chat.database.sessions) as uow:
        return (await uow.meetings.get(meeting_id)).sequence


def events(body: bytes) -> list[Any]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


@pytest.fixture
async def published(tmp_path, radicale) -> Any:
    """A chat whose two meetings are published to a fresh collection (on_cancel = "update")."""
    collection = await make_collection(radicale.base)
    chat = await open_chat(tmp_path, caldav_settings(collection))
    try:
        await schedule_two(chat)
        publisher = publisher_for(chat)
        result = await publisher.sync_once()
        assert (result.published, result.failed) == (2, 0)
        yield chat, publisher
    finally:
        await chat.close()


# ---- tests ---------------------------------------------------------------------------------------------


async def test_publish_move_and_cancel(published):
    chat, publisher = published
    status, body, etag = await fetch(publisher.href(1))
    assert status == 200
    calendar = icalendar.Calendar.from_ical(body)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Zurich"]
    [series] = events(body)
    assert str(series["UID"]) == "meeting-1@iscg-bot"
    assert series["SEQUENCE"] == 0
    assert series["RRULE"]["FREQ"] == ["WEEKLY"]
    assert (await state_of(chat, 1)) == {
        "deleted": False,
        "etag": etag,
        "href": publisher.href(1),
        "sequence": 0,
        "language": "en",  # what its texts were written in: another language later republishes it
    }
    [one_off] = events((await fetch(publisher.href(2)))[1])
    assert str(one_off["UID"]) == "meeting-2@iscg-bot" and "RRULE" not in one_off
    assert str(one_off["STATUS"]) == "CONFIRMED"

    # Nothing changed: nothing to write.
    assert (await publisher.sync_once()).published == 0

    await chat.say("!meeting move M1 2026-12-15 16:00 occurrence 2026-12-14", sender=ADMIN)
    assert (await publisher.sync_once()).published == 1
    status, body, new_etag = await fetch(publisher.href(1))
    master, moved = events(body)
    assert new_etag != etag
    assert master["SEQUENCE"] == moved["SEQUENCE"] == await sequence_of(chat, 1) > 0
    assert moved["RECURRENCE-ID"].dt.strftime("%Y-%m-%d %H:%M") == "2026-12-14 10:00"
    assert moved["DTSTART"].dt.strftime("%Y-%m-%d %H:%M") == "2026-12-15 16:00"

    await chat.say("!meeting cancel M2 no longer needed", sender=ADMIN)
    assert (await publisher.sync_once()).published == 1
    [cancelled] = events((await fetch(publisher.href(2)))[1])
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert cancelled["SEQUENCE"] == await sequence_of(chat, 2)


async def test_cancel_deletes_when_configured(tmp_path, radicale):
    collection = await make_collection(radicale.base)
    chat = await open_chat(tmp_path, caldav_settings(collection, on_cancel="delete"))
    try:
        await schedule_two(chat)
        publisher = publisher_for(chat)
        await publisher.sync_once()
        assert (await fetch(publisher.href(2)))[0] == 200
        await chat.say("!meeting cancel M2", sender=ADMIN)
        result = await publisher.sync_once()
        assert (result.deleted, result.failed) == (1, 0)
        assert (await fetch(publisher.href(2)))[0] == 404
        assert (await fetch(publisher.href(1)))[0] == 200
        assert (await state_of(chat, 2))["deleted"] is True
        assert (await publisher.sync_once()).deleted == 0  # done once
    finally:
        await chat.close()


async def test_an_edit_on_the_server_is_overwritten(published):
    chat, publisher = published
    _status, body, etag = await fetch(publisher.href(2))
    tampered = body.replace(b"SUMMARY:M2", b"SUMMARY:Edited on the server M2")
    assert tampered != body
    async with aiohttp.ClientSession(headers=AUTH) as http:
        put = http.put(publisher.href(2), data=tampered, headers={"Content-Type": "text/calendar"})
        async with put as response:
            assert response.status in (201, 204)
    assert (await fetch(publisher.href(2)))[2] != etag

    await chat.say("!meeting move M2 2026-12-04 09:00 Europe/Zurich", sender=ADMIN)
    result = await publisher.sync_once()
    assert (result.published, result.conflicts, result.failed) == (1, 1, 0)
    _status, body, server_etag = await fetch(publisher.href(2))
    [event] = events(body)
    assert str(event["SUMMARY"]) == "M2 · Kick-off"
    assert event["SEQUENCE"] == await sequence_of(chat, 2)
    assert event["DTSTART"].dt.strftime("%Y-%m-%d %H:%M") == "2026-12-04 09:00"
    assert (await state_of(chat, 2))["etag"] == server_etag


async def test_server_down_then_back(tmp_path):
    server = Radicale(tmp_path / "storage")
    server.start()
    try:
        collection = await make_collection(server.base)
        chat = await open_chat(tmp_path, caldav_settings(collection))
        try:
            await schedule_two(chat)
            publisher = publisher_for(chat)
            server.stop()
            result = await publisher.sync_once()  # does not raise
            assert result.failed >= 1 and result.published == 0
            assert await state_of(chat, 1) is None and await state_of(chat, 2) is None
            server.start()
            result = await publisher.sync_once()
            assert (result.published, result.failed) == (2, 0)
            assert (await fetch(publisher.href(1)))[0] == 200
        finally:
            await chat.close()
    finally:
        server.stop()


async def test_resync_is_for_admins_and_republishes(published):
    chat, publisher = published
    assert await chat.say("!calendar resync", sender=ALICE) == [
        "Only a bot administrator may run !calendar resync."
    ]
    assert (await state_of(chat, 1))["sequence"] == 0
    # Someone removed a meeting from the server calendar.
    async with aiohttp.ClientSession(headers=AUTH) as http, http.delete(publisher.href(1)) as response:
        assert response.status in (200, 204)
    assert (await publisher.sync_once()).published == 0  # the bot does not know

    assert await chat.say("!calendar resync", sender=ADMIN, room=ROOM) == [
        "2 meetings queued for publishing to the CalDAV calendar."
    ]
    assert (await state_of(chat, 1))["sequence"] is None
    result = await publisher.sync_once()
    assert (result.published, result.failed) == (2, 0)
    status, _body, etag = await fetch(publisher.href(1))
    assert status == 200 and (await state_of(chat, 1))["etag"] == etag


async def test_resync_when_caldav_is_off(chat):
    assert await chat.say("!calendar resync", sender=ADMIN) == [
        "CalDAV publishing is not enabled (caldav.enabled in the configuration): nothing to resync."
    ]


async def test_run_publishes_on_wake_and_stops(published):
    chat, publisher = published
    await publisher.start()
    try:
        await chat.say("!meeting cancel M2", sender=ADMIN)
        publisher.wake()

        async def published_now() -> bool:
            state = await state_of(chat, 2)
            return state is not None and state["sequence"] == await sequence_of(chat, 2)

        await eventually(published_now, what="M2's cancelled version published", timeout=5)
        [event] = events((await fetch(publisher.href(2)))[1])
        assert str(event["STATUS"]) == "CANCELLED"
    finally:
        await asyncio.wait_for(publisher.stop(), 5)


def test_config(tmp_path):
    secret = tmp_path / "caldav-password"
    secret.write_text("s3cret\n")
    path = tmp_path / "config.toml"
    path.write_text(
        '[matrix]\nhomeserver = "http://hs"\nuser_id = "@bot:example.org"\npassword = "x"\n'
        f'[caldav]\nenabled = true\ncollection_url = "https://cal.example.org/iscg/"\n'
        f'username = "bot"\npassword_file = "{secret}"\non_cancel = "delete"\n'
    )
    settings = load_settings(path, {})
    assert settings.caldav.password.get_secret_value() == "s3cret"
    assert settings.caldav.on_cancel == "delete" and settings.caldav.retry_max_seconds == 300
    assert (
        load_settings(
            None,
            {
                "ISCG_MATRIX_HOMESERVER": "http://hs",
                "ISCG_MATRIX_USER_ID": "@b:x.org",
                "ISCG_MATRIX_PASSWORD": "x",
            },
        ).caldav.enabled
        is False
    )
    with pytest.raises(ConfigError, match="caldav"):
        load_settings(path, {"ISCG_CALDAV_ON_CANCEL": "drop"})
    with pytest.raises(ConfigError, match="collection_url"):
        load_settings(path, {"ISCG_CALDAV_COLLECTION_URL": ""})
