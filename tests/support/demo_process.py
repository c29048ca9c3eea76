"""Talking to a running `iscg-bot demo` process: read what it prints, log in as the user it prints."""

from __future__ import annotations

import asyncio

import aiohttp

from iscg_bot.demo.homeserver import RegisteredUser


async def read_until(stream: asyncio.StreamReader, marker: str, timeout: float = 90) -> str:
    """What the process printed up to and including the line with `marker` (failing if it ends first)."""
    seen = ""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            line = await stream.readline()
            if not line:
                raise AssertionError(f"the demo ended before printing {marker!r}:\n{seen[-3000:]}")
            seen += line.decode(errors="replace")
    return seen


async def log_in(base_url: str, user_id: str, password: str) -> RegisteredUser:
    """A fresh session (access token and device) for a user the demo registered, by password."""
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base_url}/_matrix/client/v3/login", json=body) as response:
            answer = await response.json()
    return RegisteredUser(answer["user_id"], password, answer["access_token"], answer["device_id"])
