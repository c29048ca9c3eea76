"""Pytest plugin: one real Synapse per test session, and fresh users on it per test.

- `synapse`: session-scoped LocalSynapse with every rate limit relaxed.
- `strict_synapse`: session-scoped, keeps Synapse's default rc_message; started only when a test asks for it.
- `matrix_user_factory`: `await make_user("alice", encryption=True)` gives a started MatrixUser.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Protocol

import pytest
import pytest_asyncio

from iscg_bot.demo.homeserver import LocalSynapse
from tests.support.matrix_user import MatrixUser


async def _run_synapse(workdir: Path, *, relaxed_rate_limits: bool) -> AsyncIterator[LocalSynapse]:
    server = LocalSynapse(workdir, relaxed_rate_limits=relaxed_rate_limits)
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    async for server in _run_synapse(tmp_path_factory.mktemp("synapse"), relaxed_rate_limits=True):
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def strict_synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    async for server in _run_synapse(tmp_path_factory.mktemp("strict-synapse"), relaxed_rate_limits=False):
        yield server


class MakeUser(Protocol):
    def __call__(
        self,
        name_prefix: str = "alice",
        *,
        server: LocalSynapse | None = None,
        encryption: bool = False,
        admin: bool = False,
        displayname: str | None = None,
        rate_limited: bool = False,
    ) -> Awaitable[MatrixUser]: ...


@pytest_asyncio.fixture(loop_scope="session")
async def matrix_user_factory(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[MakeUser]:
    """Registers uniquely named users (`<prefix>-<random>`) and stops every one of them at teardown.

    On `strict_synapse` the users are exempt from rc_message unless `rate_limited=True`, so that only the bot
    under test meets the default limit (setting up rooms would otherwise use up the users' budget too).
    """
    started: list[MatrixUser] = []

    async def make_user(
        name_prefix: str = "alice",
        *,
        server: LocalSynapse | None = None,
        encryption: bool = False,
        admin: bool = False,
        displayname: str | None = None,
        rate_limited: bool = False,
    ) -> MatrixUser:
        server = server or synapse
        username = f"{name_prefix.lower()}-{secrets.token_hex(4)}"
        registered = await server.register(
            username,
            secrets.token_urlsafe(12),
            admin=admin,
            displayname=displayname or name_prefix.capitalize(),
        )
        if not rate_limited and not server.relaxed_rate_limits:
            await server.exempt_from_rate_limits(registered.user_id)
        user = await MatrixUser.start(
            server.base_url, registered, tmp_path / f"store-{username}", encryption=encryption
        )
        started.append(user)
        return user

    try:
        yield make_user
    finally:
        for user in started:
            await user.stop()
