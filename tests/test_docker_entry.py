"""The Docker image's first start, without Docker (not available on the test machines): the test reads the
image's environment, working directory, command and health check from the Dockerfile itself and runs
exactly that command, with exactly that environment plus the three required settings, in an empty temp
directory standing in for the container's filesystem. An empty /data must come up migrated, listening on
every interface, and healthy — and the HEALTHCHECK's own command must say so.

Traffic goes to 127.0.0.1 only; the listening socket's address is read from /proc/net/tcp.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from iscg_bot.core.config import SECRETS, SECTIONS, env_name, load_settings
from iscg_bot.storage import Database
from tests.fixtures_bot import register_bot
from tests.support.polling import eventually

ROOT = Path(__file__).parent.parent
VENV_BIN = Path(sys.executable).parent  # `iscg-bot` and `python`, as on the image's PATH


@dataclass
class Image:
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)


def read_dockerfile(path: Path) -> Image:
    """The final stage's ENV, WORKDIR, CMD, HEALTHCHECK CMD, EXPOSE and VOLUME (exec forms only)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))  # continuation lines
    image = Image()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "FROM":
            image = Image()
        elif instruction == "ENV":
            words = shlex.split(rest)
            if "=" in words[0]:
                image.env |= dict(word.split("=", 1) for word in words)
            else:  # legacy form: ENV NAME value
                image.env[words[0]] = rest.split(None, 1)[1]
        elif instruction == "WORKDIR":
            image.workdir = rest if rest.startswith("/") else f"{image.workdir.rstrip('/')}/{rest}"
        elif instruction == "CMD":
            image.cmd = json.loads(rest)
        elif instruction == "HEALTHCHECK":
            command = re.search(r"(?:^|\s)CMD\s+(\[.*\])$", rest)  # after the options, if any
            assert command, f"HEALTHCHECK without an exec-form CMD: {rest}"
            image.healthcheck = json.loads(command.group(1))
        elif instruction == "EXPOSE":
            image.exposed += rest.split()
        elif instruction == "VOLUME":
            image.volumes += json.loads(rest) if rest.startswith("[") else rest.split()
    return image


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (IPv4), from the kernel's table."""
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # TCP_LISTEN
            addresses.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return addresses


def in_container(value: str, rootfs: Path) -> str:
    """A value naming a path of the image's filesystem, mapped into the stand-in root."""
    return re.sub(r"(?<!\w)/data\b", lambda m: f"{rootfs}/data", value)


async def run(command: list[str], env: dict[str, str], cwd: Path) -> int:
    process = await asyncio.create_subprocess_exec(*command, env=env, cwd=cwd)
    return await asyncio.wait_for(process.wait(), 60)


async def healthz(port: int) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status, await response.json()


@pytest.mark.e2e
async def test_the_image_starts_on_an_empty_data_volume_migrated_reachable_and_healthy(synapse, tmp_path):
    image = read_dockerfile(ROOT / "Dockerfile")
    assert image.cmd and image.healthcheck, image
    assert "/data" in image.volumes and "8080" in image.exposed
    rootfs = tmp_path / "rootfs"  # the container's /, with an empty /data
    (rootfs / "data").mkdir(parents=True)
    cwd = rootfs / image.workdir.lstrip("/")
    cwd.mkdir(parents=True, exist_ok=True)

    account = await register_bot(synapse, tmp_path / "account")
    port = free_port()  # the container's 8080 (a fixed port could be taken on a shared machine)
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        **{name: in_container(value, rootfs) for name, value in image.env.items()},
        # only the required settings (and the port, see above)
        "ISCG_MATRIX_HOMESERVER": synapse.base_url,
        "ISCG_MATRIX_USER_ID": account.user_id,
        "ISCG_MATRIX_PASSWORD": account.password,
        "ISCG_WEB_LISTEN_PORT": str(port),
    }
    assert await run(image.healthcheck, env, cwd) != 0  # nothing listens yet: the check fails

    bot = await asyncio.create_subprocess_exec(
        *image.cmd, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )

    async def health() -> tuple[int | None, Any]:
        if bot.returncode is not None:
            told = (await bot.stdout.read()).decode(errors="replace")
            raise AssertionError(f"the bot stopped ({bot.returncode}):\n{told[-3000:]}")
        try:
            return await healthz(port)
        except aiohttp.ClientConnectionError:
            return None, None  # not listening yet

    output = b""
    try:
        _, report = await eventually(
            health,
            until=lambda answer: answer[0] == 200,
            what="/healthz to answer 200",
            timeout=90,
            interval=0.3,
        )
        assert report["ok"] is True

        assert listening_addresses(port) == {"0.0.0.0"}, "the web server must listen on every interface"
        assert await run(image.healthcheck, env, cwd) == 0

        state = sorted(p.name for p in (rootfs / "data").iterdir())
        assert "iscg-bot.db" in state and "crypto-store" in state, state  # in /data, not /data/data
        database = Database(f"sqlite+aiosqlite:///{rootfs / 'data' / 'iscg-bot.db'}")
        try:
            assert await database.current_revision() == database.head_revision()
        finally:
            await database.dispose()
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)  # `docker stop`
        try:
            output, _ = await asyncio.wait_for(bot.communicate(), 30)
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    text = output.decode(errors="replace")
    assert bot.returncode == 0, text[-3000:]
    assert "database migrated: empty → " in text
    assert "Traceback" not in text, text[-3000:]


# ---- compose.yaml ------------------------------------------------------------------------------------------


def config_key(name: str) -> str | None:
    """The config key an ISCG_* variable sets ("database.url"), None when it sets none."""
    for section, model in SECTIONS.items():
        for key in model.model_fields:
            if name == env_name(section, key):
                return f"{section}.{key}"
            if (section, key) in SECRETS and name == env_name(section, f"{key}_file"):
                return f"{section}.{key}_file"
    return None


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}`, `${NAME:?error}`; `given` is the shell's environment."""

    def one(match: re.Match[str]) -> str:
        name, operator, word = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        assert operator != ":?", f"${{{name}}} is required: {word}"
        return word or ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def test_compose_runs_the_bot_with_postgresql_configured_by_real_keys():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert bot["build"] == "." and db["image"].startswith("postgres:")
    assert bot["depends_on"]["db"]["condition"] == "service_healthy" and "healthcheck" in db
    assert any(str(v).endswith(":/data") for v in bot["volumes"])
    assert any(str(p).endswith(":8080") for p in bot["ports"])

    environment = bot["environment"]
    unknown = [name for name in environment if config_key(name) is None and name != "ISCG_CONFIG"]
    assert unknown == [], "variables that set no config key"
    shell = {  # what an operator puts in .env
        "ISCG_MATRIX_HOMESERVER": "https://matrix.example.org",
        "ISCG_MATRIX_USER_ID": "@iscg-bot:example.org",
        "ISCG_MATRIX_PASSWORD": "secret",
        "POSTGRES_PASSWORD": "db-secret",
    }
    env = {name: interpolate(str(value), shell) for name, value in environment.items()}
    settings = load_settings(None, env)  # the bot's configuration is complete and valid
    url = settings.database.url.get_secret_value()
    db_env = {name: interpolate(str(value), shell) for name, value in db["environment"].items()}
    user, password, database = db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"]
    assert url == f"postgresql+asyncpg://{user}:{password}@db/{database}"

    # The standby: the same program and database under another instance name, with its own disk and port.
    standby = compose["services"]["standby"]
    standby_env = {name: interpolate(str(value), shell) for name, value in standby["environment"].items()}
    standby_settings = load_settings(None, standby_env)
    assert standby_settings.database.url.get_secret_value() == url
    assert standby_settings.cluster.instance != settings.cluster.instance
    assert standby["build"] == "." and standby["restart"] == "unless-stopped"
    assert set(standby["volumes"]).isdisjoint(bot["volumes"])
    assert set(standby["ports"]).isdisjoint(bot["ports"])

    # The web replicas: the same image serving the same database, with no Matrix account at all.
    used_ports = {*bot["ports"], *standby["ports"]}
    for name in ("web-1", "web-2"):
        web = compose["services"][name]
        assert web["command"] == ["iscg-bot", "web"] and web["restart"] == "unless-stopped"
        web_env = {key: interpolate(str(value), shell) for key, value in web["environment"].items()}
        assert not any(key.startswith("ISCG_MATRIX_") for key in web_env)
        web_settings = load_settings(None, web_env, matrix_needed=False)
        assert web_settings.database.url.get_secret_value() == url
        assert web_settings.web.public_base_url == settings.web.public_base_url
        assert used_ports.isdisjoint(web["ports"])
        used_ports |= set(web["ports"])
