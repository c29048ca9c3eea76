"""`iscg-bot demo` (what `make run` starts): a newcomer can log in with what it prints and talk to the bot."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import aiohttp
import pytest

from tests.support.demo_process import log_in, read_until
from tests.support.matrix_user import MatrixUser, body_of, is_reply_to

pytestmark = pytest.mark.e2e


async def test_the_demo_prints_a_working_login_and_stops_on_ctrl_c(tmp_path):
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iscg_bot",
        "demo",
        "--lang",
        "en",
        "--workdir",
        str(tmp_path / "demo"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    user = None
    try:
        printed = await read_until(demo.stdout, "Press Ctrl-C")
        base_url = re.search(r"Homeserver:\s+(\S+)", printed).group(1)
        login = re.search(r"Log in as:\s+(\S+)\s+password: (\S+)", printed)
        encrypted_room = re.search(r"AI for Good\s+\((\S+)\)", printed).group(1)
        calendar = re.search(r"Calendar:\s+(\S+)", printed).group(1)
        async with aiohttp.ClientSession() as http, http.get(calendar) as feed:
            assert feed.status == 200 and (await feed.text()).startswith("BEGIN:VCALENDAR")
        site = re.search(r"Web pages:\s+(\S+)", printed).group(1)
        async with aiohttp.ClientSession() as http, http.get(site) as page:
            assert page.status == 200
            assert "<h1>Inter-Sector Coordination Group (ISCG)</h1>" in await page.text()

        user = await MatrixUser.start(
            base_url, await log_in(base_url, login.group(1), login.group(2)), tmp_path / "me", encryption=True
        )
        ping = await user.send_text(encrypted_room, "!ping")
        pong = await user.wait_for(is_reply_to(ping), room_id=encrypted_room, timeout=30)
        assert body_of(pong) == "pong"
    finally:
        if user is not None:
            await user.stop()
        if demo.returncode is None:
            demo.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(demo.stdout.read(), 60)
        await asyncio.wait_for(demo.wait(), 30)
    assert demo.returncode == 0, rest.decode(errors="replace")[-3000:]
    assert b"stopped" in rest
