"""`make run`'s seeded group, end to end: `iscg-bot demo` started as `make run PORT=… WEB_PORT=… WORKDIR=…`
would start it; its pages, its group feed and `!report` (asked by the printed demo user, in the group room,
through a real Matrix client) show the group from the first minute; started again on the same work
directory (without ports) it keeps its addresses and rooms and seeds nothing twice."""

from __future__ import annotations

import asyncio
import html
import re
import signal
import socket
import sys
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from iscg_bot.core.language import _, language_name, speaking
from iscg_bot.demo.main import DEMO_PASSWORD
from iscg_bot.demo.seed import (
    COP,
    GROUP_ROOM_NAME,
    MANAGEMENT_TITLE,
    SERIES_TITLE,
    WORKSHOP_TITLE,
    past_meeting_day,
)
from tests.support.demo_process import log_in, read_until
from tests.support.deployment import answer_with_file, download_bytes, fetch
from tests.support.documents import docx_text
from tests.support.matrix_user import MatrixUser, body_of, is_reply_to

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_demo(
    workdir, port: int | None = None, web_port: int | None = None, language: str = "en"
) -> tuple[asyncio.subprocess.Process, str]:
    """The demo as `make run PORT=port WEB_PORT=web_port WORKDIR=workdir LANGUAGE=language` starts it, and
    what it printed up to its welcome's last line ("Ctrl-C" in every language)."""
    ports = ["--port", str(port), "--web-port", str(web_port)] if port is not None else []
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iscg_bot",
        "demo",
        *ports,
        "--lang",
        language,
        "--workdir",
        str(workdir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        return demo, await read_until(demo.stdout, "Ctrl-C")
    except BaseException:
        await stop_demo(demo)
        raise


async def stop_demo(demo: asyncio.subprocess.Process) -> str:
    if demo.returncode is None:
        demo.send_signal(signal.SIGINT)
    rest = await asyncio.wait_for(demo.stdout.read(), 60)
    await asyncio.wait_for(demo.wait(), 30)
    return rest.decode(errors="replace")


async def page(url: str) -> str:
    status, _, text = await fetch(url)
    assert status == 200, (url, status, text[:500])
    return text


def rooms_printed(printed: str) -> dict[str, str]:
    return dict(re.findall(r"^    (\S.+?)  \((!\S+)\)$", printed, re.MULTILINE))


async def test_the_seeded_group_shows_on_the_pages_the_feed_and_in_report_and_survives_a_restart(tmp_path):
    port, web_port = _free_port(), _free_port()
    web = f"http://127.0.0.1:{web_port}"
    workdir = tmp_path / "demo"
    demo, printed = await start_demo(workdir, port, web_port)
    user = None
    base_url = f"http://127.0.0.1:{port}"
    try:
        assert f"Homeserver:  {base_url}" in printed  # the ports asked for, not free ones
        assert f"Web pages:   {web}/" in printed
        tries = re.findall(r"^  (!\S+(?: \S+)?) +in “(.+?)”", printed, re.MULTILINE)
        assert [command for command, _ in tries] == [
            "!roles",
            "!meeting list",
            "!minutes",
            "!actions overdue",
            "!report",
        ]
        rooms = rooms_printed(printed)
        assert set(rooms) == {"ISCG — group room", "ISCG · Child Online Protection", "ISCG · AI for Good"}

        index = await page(f"{web}/")
        for seen in ("Child Online Protection", "Fatima Al-Sayed", WORKSHOP_TITLE, MANAGEMENT_TITLE):
            assert seen in index, seen
        calendar = await page(f"{web}/calendar")
        assert SERIES_TITLE in calendar
        subject = await page(f"{web}/subjects/cop")
        for seen in (
            "Mei Lin",
            "Focal point, ITU-D",
            "Focal point, GS",
            "Circulate the revised draft",
            "overdue",
        ):
            assert seen in subject, seen
        feed = await page(f"{web}/calendar/iscg.ics")
        assert f"SUMMARY:M1 · {SERIES_TITLE}" in feed and "RRULE:FREQ=WEEKLY;INTERVAL=2" in feed
        assert WORKSHOP_TITLE in feed and MANAGEMENT_TITLE in feed

        printed_user, printed_password = re.search(r"Log in as:\s+(\S+)\s+password: (\S+)", printed).groups()
        assert (printed_user, printed_password) == ("@chair:localhost", DEMO_PASSWORD)
        login = await log_in(base_url, printed_user, printed_password)
        user = await MatrixUser.start(base_url, login, tmp_path / "chair", encryption=True)
        group = rooms["ISCG — group room"]
        bot_id = "@iscg-bot:localhost"
        # The first four "try these", each in the room the welcome names, answer with the seeded group.
        expected = {
            "!roles": ("Demo Chair", "TDAG: Amina Diallo", "Secretariat: ISCG Secretariat"),
            "!meeting list": (SERIES_TITLE, WORKSHOP_TITLE, MANAGEMENT_TITLE),
            "!minutes": ("Approved minutes", "Section 4 refers to the ITU-T SG17 work on age assurance"),
            "!actions overdue": ("Circulate the revised draft to the ITU-D study groups",),
        }
        for command, room_name in tries[:4]:
            asked = await user.send_text(rooms[room_name], command)
            reply = await user.wait_for(
                is_reply_to(asked, sender=bot_id), room_id=rooms[room_name], timeout=30
            )
            for seen in expected[command]:
                assert seen in body_of(reply), (command, seen, body_of(reply))

        today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Zurich")).date()
        held = past_meeting_day(today)
        asked = "!report" if held.year == today.year else f"!report {held.year}"  # 1–7 January
        sent = await user.send_text(group, asked)
        lines, file = await answer_with_file(user, SimpleNamespace(room_id=group, bot_id=bot_id), sent)
        assert lines[0] == (
            f"ISCG report to TSAG, RAG and TDAG — {held.year}: 2 subjects, 1 meeting held, 2 decisions, "
            "1 key issue."
        )
        report = docx_text(await download_bytes(SimpleNamespace(base_url=base_url), user, file))
        for seen in (
            "Child Online Protection",
            "AI for Good",
            "age assurance",
            "Circulate the revised draft",
        ):
            assert seen in report, seen
        web_copy = await page(lines[1].removeprefix("Web copy: "))
        assert "No budget is confirmed yet for translating the guidelines" in web_copy
    finally:
        if user is not None:
            await user.stop()
        rest = await stop_demo(demo)
    assert demo.returncode == 0, rest[-3000:]

    again, printed_again = await start_demo(workdir)  # `make run WORKDIR=…`: last run's ports
    try:
        assert f"Homeserver:  {base_url}" in printed_again and f"Web pages:   {web}/" in printed_again
        assert rooms_printed(printed_again) == rooms
        assert "already seeded" in printed_again
        index_again = await page(f"{web}/")  # the same group: nothing seeded twice
        for seen in ("Fatima Al-Sayed", "Daniel Okafor", WORKSHOP_TITLE):
            assert index_again.count(seen) == index.count(seen), seen
        subject_again = await page(f"{web}/subjects/cop")
        assert subject_again.count("Circulate the revised draft") == subject.count(
            "Circulate the revised draft"
        )
        assert (await page(f"{web}/calendar/iscg.ics")).count("BEGIN:VEVENT") == feed.count("BEGIN:VEVENT")
        # The Chair's devices are the ones people logged in with (the test's, twice): the demo's own set-up
        # sessions, one per run, are gone, so Element's session list does not grow with every `make run`.
        checking = await log_in(base_url, printed_user, printed_password)
        assert await devices_of(base_url, checking.access_token) == {login.device_id, checking.device_id}
    finally:
        rest = await stop_demo(again)
    assert again.returncode == 0, rest[-3000:]


async def test_a_port_already_taken_is_named_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        demo = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "iscg_bot",
            "demo",
            "--lang",
            "en",
            "--port",
            str(busy),
            "--workdir",
            str(tmp_path / "demo"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(demo.communicate(), 60)
    assert demo.returncode == 1
    assert err.decode().splitlines() == [
        f"The demo cannot start: port {busy} on 127.0.0.1 is in use; choose another PORT (--port), or stop "
        "what holds it."
    ]


async def test_the_demo_in_french_prints_seeds_and_answers_in_french_and_fatima_reads_arabic(tmp_path):
    """`make run LANGUAGE=fr`: the welcome, the group's default language and the seeded texts in French;
    Fatima, who chose Arabic, is answered in Arabic."""
    with speaking("fr"):
        homeserver_label, group_room = _("Homeserver:"), _(GROUP_ROOM_NAME)
        series, workshop = _(SERIES_TITLE), _(WORKSHOP_TITLE)
        subject_title = _(COP.title)
    assert homeserver_label != "Homeserver:" and series != SERIES_TITLE  # the catalog has them
    demo, printed = await start_demo(tmp_path / "demo", language="fr")
    users: list[MatrixUser] = []
    try:
        assert "The ISCG bot demo is running." not in printed
        base_url = re.search(rf"{re.escape(homeserver_label)}\s+(\S+)", printed).group(1)
        web = re.search(r"(http://127\.0\.0\.1:\d+)/calendar/iscg\.ics", printed).group(1)
        rooms = rooms_printed(printed)
        assert group_room in rooms

        index = await page(f"{web}/")
        assert '<html lang="fr"' in index
        assert subject_title in html.unescape(index) and workshop in html.unescape(index)

        chair = await sign_in(base_url, "chair", tmp_path, users)
        asked = await chair.send_text(rooms[group_room], "!meeting list")
        reply = body_of(await chair.wait_for(is_reply_to(asked), room_id=rooms[group_room], timeout=30))
        assert series in reply and workshop in reply

        fatima = await sign_in(base_url, "fatima", tmp_path, users)
        cop_room = rooms[_in_french(COP.room_name)]
        asked = await fatima.send_text(cop_room, "!lang")
        reply = body_of(await fatima.wait_for(is_reply_to(asked), room_id=cop_room, timeout=30))
        with speaking("ar"):
            assert language_name("ar") in reply and re.search("[\u0600-\u06ff]", reply), reply
    finally:
        for user in users:
            await user.stop()
        rest = await stop_demo(demo)
    assert demo.returncode == 0, rest[-3000:]

    # Started again in English on the same work directory: the welcome names the rooms as they were made.
    again, printed_again = await start_demo(tmp_path / "demo", language="en")
    try:
        assert "The ISCG bot demo is running." in printed_again and "already seeded" in printed_again
        assert rooms_printed(printed_again) == rooms
        assert f"in “{group_room}”" in printed_again
    finally:
        rest = await stop_demo(again)
    assert again.returncode == 0, rest[-3000:]


async def sign_in(base_url: str, localpart: str, tmp_path, users: list[MatrixUser]) -> MatrixUser:
    """A demo user logged in with the shared password, added to `users` (to stop)."""
    login = await log_in(base_url, f"@{localpart}:localhost", DEMO_PASSWORD)
    user = await MatrixUser.start(base_url, login, tmp_path / localpart, encryption=True)
    users.append(user)
    return user


def _in_french(message: str) -> str:
    with speaking("fr"):
        return _(message)


async def devices_of(base_url: str, token: str) -> set[str]:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url}/_matrix/client/v3/devices", headers=headers) as response:
            return {device["device_id"] for device in (await response.json())["devices"]}
