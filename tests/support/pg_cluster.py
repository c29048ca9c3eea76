"""A private PostgreSQL cluster for fault tests: stop it, crash it, start it again, never touching the
machine's shared server on 5432.

    async with private_cluster() as cluster:   # or the `pg_cluster` fixture (see below)
        url = cluster.url                      # postgresql+asyncpg://postgres@127.0.0.1:PORT/iscg
        await cluster.stop(mode="immediate")   # "fast": sessions ended cleanly; "immediate": a crash
        await cluster.start()                  # same port, same data
        await cluster.restart(mode="fast")

The cluster lives in a temporary directory on a free port of 127.0.0.1, with the superuser `postgres` and
trust authentication; the database `iscg` is created empty. It is stopped and removed on leaving the block,
however the test ended. Without `initdb`, `pg_ctl` (on the PATH or in /usr/lib/postgresql/*/bin) or, as
root, `runuser`, the test is skipped, saying which is missing.

As root, `initdb` refuses to run ("cannot be run as root"): the directory then belongs to `nobody`, and the
server's programs run as `nobody` through `runuser` (see TESTING.md).
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Literal

import asyncpg
import pytest
import pytest_asyncio

DATABASE = "iscg"
SERVER_USER = "nobody"  # who runs the server when the tests run as root


class PrivateCluster:
    """One running PostgreSQL server of the test's own: `url`, and `stop`, `start`, `restart`."""

    def __init__(self, directory: Path, port: int, programs: dict[str, str]) -> None:
        self.directory, self.port, self._programs = directory, port, programs
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{DATABASE}"
        self.running = False

    async def start(self) -> None:
        """Start the server (after `stop`): the same port, the same data; returns once it accepts
        connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        await self._pg_ctl("start", "-o", options, "-l", str(self.directory / "server.log"))
        self.running = True

    async def stop(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        """Stop the server: "fast" ends every session and shuts down cleanly; "immediate" kills it (a crash:
        the next start recovers from the WAL)."""
        await self._pg_ctl("stop", "-m", mode)
        self.running = False

    async def restart(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        await self.stop(mode)
        await self.start()

    def log(self) -> str:
        """The server's log (for a failing test's message)."""
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def _pg_ctl(self, *args: str) -> None:
        data = str(self.directory / "data")
        await _run(self._programs, self.directory, "pg_ctl", "-D", data, "-w", "-t", "30", *args)


@asynccontextmanager
async def private_cluster() -> AsyncIterator[PrivateCluster]:
    """A started private cluster with an empty database `iscg`; stopped and removed afterwards."""
    programs = _programs()
    directory = Path(tempfile.mkdtemp(prefix="iscg-pg-"))  # short: the socket's path has a length limit
    cluster = PrivateCluster(directory, _free_port(), programs)
    try:
        if os.geteuid() == 0:
            shutil.chown(directory, SERVER_USER)
        options = ["-U", "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"]
        await _run(programs, directory, "initdb", "-D", str(directory / "data"), *options)
        await cluster.start()
        admin = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user="postgres", timeout=10)
        try:
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await admin.close()
        yield cluster
    finally:
        with suppress(Exception):
            if (directory / "data" / "postmaster.pid").exists():
                await cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


@pytest_asyncio.fixture(loop_scope="session")
async def pg_cluster() -> AsyncIterator[PrivateCluster]:
    """The fixture form of `private_cluster()`, one cluster per test: add this module to the
    `pytest_plugins` of tests/conftest.py (or import the fixture into the test module)."""
    async with private_cluster() as cluster:
        yield cluster


def _programs() -> dict[str, str]:
    """Where initdb and pg_ctl are (and runuser, as root); skips the test naming what is missing."""
    wanted = ["initdb", "pg_ctl"]
    found = {name: shutil.which(name) for name in wanted}
    for name in wanted:
        if found[name] is None:  # Debian keeps the server's programs off the PATH
            candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
            found[name] = candidates[0] if candidates else None
    if os.geteuid() == 0:
        found["runuser"] = shutil.which("runuser")
    missing = [name for name, path in found.items() if path is None]
    if missing:
        pytest.skip(f"a private PostgreSQL cluster needs {', '.join(missing)}, not found")
    return {name: path for name, path in found.items() if path is not None}


async def _run(programs: dict[str, str], directory: Path, program: str, *args: str) -> None:
    command = [programs[program], *args]
    if "runuser" in programs:
        command = [programs["runuser"], "-u", SERVER_USER, "--", *command]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=directory,  # one the server's user may enter
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{output.decode()}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
