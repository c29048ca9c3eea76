"""A throwaway local Synapse homeserver, for `iscg-bot demo` and the test suite.

Synapse runs as a child process on 127.0.0.1 with an SQLite database in a work directory. Users are created
through the shared-secret admin registration API, so no open registration is needed. Only the standard
library and aiohttp are used here (both are there wherever Synapse is); the config is written as JSON, which
is valid YAML.
"""

# start() waits with a deadline by design, so it takes a `timeout` (ASYNC109 wants callers to wrap it).

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import hmac
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

# Synapse's own default for rc_message; kept when a test needs to meet M_LIMIT_EXCEEDED.
_DEFAULT_RC_MESSAGE = {"per_second": 0.2, "burst_count": 10}
_UNLIMITED = {"per_second": 10000, "burst_count": 100000}
_REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass(frozen=True)
class RegisteredUser:
    user_id: str
    password: str
    access_token: str
    device_id: str


class AdminRequestError(RuntimeError):
    """The homeserver answered an admin or registration request with an error status."""

    def __init__(self, method: str, path: str, status: int, body: object):
        super().__init__(f"{method} {path} -> HTTP {status}: {body}")
        self.status = status
        self.body = body


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rate_limits(relaxed_messages: bool) -> dict[str, Any]:
    """Every rc_* section raised, so setting up users and rooms never waits; rc_message may stay default."""
    return {
        "rc_message": _UNLIMITED if relaxed_messages else _DEFAULT_RC_MESSAGE,
        "rc_registration": _UNLIMITED,
        "rc_registration_token_validity": _UNLIMITED,
        "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED, "failed_attempts": _UNLIMITED},
        "rc_joins": {"local": _UNLIMITED, "remote": _UNLIMITED},
        "rc_joins_per_room": _UNLIMITED,
        "rc_invites": {"per_room": _UNLIMITED, "per_user": _UNLIMITED, "per_issuer": _UNLIMITED},
        "rc_room_creation": _UNLIMITED,
        "rc_profile": _UNLIMITED,
        "rc_key_requests": _UNLIMITED,
        "rc_admin_redaction": _UNLIMITED,
        "rc_media_create": _UNLIMITED,
        "rc_3pid_validation": _UNLIMITED,
        "rc_third_party_invite": _UNLIMITED,
        "rc_presence": {"per_user": _UNLIMITED},
        "rc_reports": _UNLIMITED,
        "rc_delayed_event_mgmt": _UNLIMITED,
        "rc_user_directory": _UNLIMITED,
    }


def _tail(path: Path, max_chars: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path.name} not written)"
    return text[-max_chars:]


class LocalSynapse:
    """One Synapse child process listening on 127.0.0.1 (client and admin APIs), state kept in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        server_name: str = "localhost",
        relaxed_rate_limits: bool = True,
        log_level: str = "WARNING",
    ):
        self.workdir = Path(workdir).resolve()
        self._requested_port = port
        self._port = port
        self._server_name = server_name
        self._relaxed_rate_limits = relaxed_rate_limits
        self._log_level = log_level.upper()
        self._shared_secret = secrets.token_hex(32)
        # Fixed for the instance's life, so a restart keeps every session and form valid.
        self._macaroon_secret_key = secrets.token_hex(32)
        self._form_secret = secrets.token_hex(32)
        self._process: subprocess.Popen[bytes] | None = None
        self._paused = False
        self._harness_admin: RegisteredUser | None = None

    # --- properties -------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the homeserver has no port until it is started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def server_name(self) -> str:
        return self._server_name

    @property
    def relaxed_rate_limits(self) -> bool:
        return self._relaxed_rate_limits

    @property
    def shared_secret(self) -> str:
        return self._shared_secret

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def config_path(self) -> Path:
        return self.workdir / "homeserver.yaml"

    @property
    def log_path(self) -> Path:
        """Synapse's own log (at `log_level`)."""
        return self.workdir / "homeserver.log"

    @property
    def output_path(self) -> Path:
        """The child's stdout and stderr: start-up failures and tracebacks that precede logging."""
        return self.workdir / "synapse.out"

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self._server_name}"

    # --- configuration ----------------------------------------------------------------------------------

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "media_store").mkdir(exist_ok=True)
        log_config = {
            "version": 1,
            "formatters": {
                "precise": {"format": "%(asctime)s %(name)s %(levelname)s %(request)s: %(message)s"}
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.log_path),
                    "encoding": "utf8",
                }
            },
            "root": {"level": self._log_level, "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        log_config_path = self.workdir / "log.config"
        log_config_path.write_text(json.dumps(log_config, indent=2))
        config = {
            "server_name": self._server_name,
            "pid_file": str(self.workdir / "homeserver.pid"),
            "listeners": [
                {
                    "port": self._port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    # "client" also serves /_synapse/admin.
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.workdir / "homeserver.db")}},
            "log_config": str(log_config_path),
            "media_store_path": str(self.workdir / "media_store"),
            "signing_key_path": str(self.workdir / "signing.key"),
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "enable_registration": False,
            "registration_shared_secret": self._shared_secret,
            "macaroon_secret_key": self._macaroon_secret_key,
            "form_secret": self._form_secret,
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "federation_domain_whitelist": [],
            "enable_metrics": False,
            # Password hashing is the bulk of a registration's cost; 4 rounds keeps it to milliseconds.
            "bcrypt_rounds": 4,
            # filter_timeline_limit stays at Synapse's default (100): tests send bursts larger than it.
            **_rate_limits(self._relaxed_rate_limits),
        }
        self.config_path.write_text(json.dumps(config, indent=2))

    def _synapse_command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path), *extra]

    def _generate_keys(self) -> None:
        if (self.workdir / "signing.key").exists():
            return
        with self.output_path.open("ab") as output:
            result = subprocess.run(
                self._synapse_command("--generate-keys"),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                timeout=120,
                check=False,
            )
        if result.returncode != 0:
            raise RuntimeError(
                f"synapse --generate-keys exited with {result.returncode}:\n{_tail(self.output_path)}"
            )

    # --- life cycle -------------------------------------------------------------------------------------

    async def start(self, timeout: float = 90) -> None:
        if self.running:
            return
        if self._requested_port is None:
            self._port = _free_port()
        self._write_config()
        await asyncio.to_thread(self._generate_keys)
        self._process = await asyncio.to_thread(self._spawn)
        self._paused = False
        # Should the caller never reach stop() (Ctrl-C in the demo), don't leave an orphan behind.
        atexit.register(self._kill_now)
        try:
            await self._wait_until_ready(timeout)
        except BaseException:
            await self.stop()
            raise

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.output_path.open("ab") as output:
            # Output goes to a file, never a pipe: nobody drains a pipe, and an orphan would keep it open.
            return subprocess.Popen(
                self._synapse_command(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )

    async def _wait_until_ready(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/_matrix/client/versions"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"synapse exited with {self._process.returncode} while starting\n{self._log_tails()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"synapse not ready after {timeout} s\n{self._log_tails()}")
                await asyncio.sleep(0.05)

    def _log_tails(self) -> str:
        return "\n".join(f"--- {path}:\n{_tail(path)}" for path in (self.output_path, self.log_path))

    async def stop(self) -> None:
        """SIGTERM, up to 10 s grace, then SIGKILL. Idempotent; also works on a paused server."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            if self._paused:
                # A stopped process only acts on SIGTERM once it runs again.
                process.send_signal(signal.SIGCONT)
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        atexit.unregister(self._kill_now)
        self._process = None
        self._paused = False

    def _kill_now(self) -> None:
        if self.running:
            assert self._process is not None
            self._process.kill()
            self._process.wait()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it still accepts connections but never answers, like a hung server."""
        if not self.running:
            raise RuntimeError("the homeserver is not running")
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        if self._process is not None and self._paused:
            self._process.send_signal(signal.SIGCONT)
        self._paused = False

    async def __aenter__(self) -> LocalSynapse:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- admin API --------------------------------------------------------------------------------------

    async def admin_request(
        self, method: str, path: str, token: str | None = None, json: object = None
    ) -> dict[str, Any]:
        """Call the homeserver (`/_synapse/admin/...` or the client API); return the JSON answer.

        Raises AdminRequestError on an error status.
        """
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession(timeout=_REQUEST_TIMEOUT) as session,
            session.request(method, f"{self.base_url}{path}", json=json, headers=headers) as response,
        ):
            body = await response.json(content_type=None)
            if response.status >= 400:
                raise AdminRequestError(method, path, response.status, body)
            return body

    async def register(
        self, username: str, password: str, *, admin: bool = False, displayname: str | None = None
    ) -> RegisteredUser:
        """Create a user with the shared-secret registration API; the answer includes a logged-in device."""
        path = "/_synapse/admin/v1/register"
        nonce = (await self.admin_request("GET", path))["nonce"]
        mac = hmac.new(self._shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), username.encode(), password.encode()]))
        mac.update(b"\x00admin" if admin else b"\x00notadmin")
        body: dict[str, Any] = {
            "nonce": nonce,
            "username": username,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        if displayname is not None:
            body["displayname"] = displayname
        answer = await self.admin_request("POST", path, json=body)
        return RegisteredUser(
            user_id=answer["user_id"],
            password=password,
            access_token=answer["access_token"],
            device_id=answer["device_id"],
        )

    async def login(self, username: str, password: str) -> RegisteredUser:
        """Log an existing user in with a new device (e.g. the demo's users on a second run)."""
        answer = await self.admin_request(
            "POST",
            "/_matrix/client/v3/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": username},
                "password": password,
            },
        )
        return RegisteredUser(
            user_id=answer["user_id"],
            password=password,
            access_token=answer["access_token"],
            device_id=answer["device_id"],
        )

    async def register_or_login(
        self, username: str, password: str, *, admin: bool = False, displayname: str | None = None
    ) -> RegisteredUser:
        """Register the user, or log them in when a previous run (same work directory) registered them."""
        try:
            return await self.register(username, password, admin=admin, displayname=displayname)
        except AdminRequestError as error:
            if not isinstance(error.body, dict) or error.body.get("errcode") != "M_USER_IN_USE":
                raise
        return await self.login(username, password)

    async def create_room(
        self,
        token: str,
        *,
        name: str,
        topic: str,
        invite: list[str] | tuple[str, ...] = (),
        encrypted: bool = False,
    ) -> str:
        """A private room created by the token's user (who is joined), inviting `invite`; its room ID."""
        body: dict[str, Any] = {
            "name": name,
            "topic": topic,
            "preset": "private_chat",
            "invite": list(invite),
        }
        if encrypted:
            body["initial_state"] = [
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ]
        answer = await self.admin_request("POST", "/_matrix/client/v3/createRoom", token, json=body)
        return str(answer["room_id"])

    async def join(self, token: str, room_id: str) -> None:
        """The token's user joins the room (they must be invited to a private one)."""
        await self.admin_request("POST", f"/_matrix/client/v3/join/{quote(room_id, safe='')}", token, json={})

    async def logout(self, token: str) -> None:
        """End the token's session: its device goes from the user's list (set-up logins leave none behind)."""
        await self.admin_request("POST", "/_matrix/client/v3/logout", token, json={})

    async def joined_members(self, token: str, room_id: str) -> set[str]:
        """The users joined to the room, as the token's user (a member) sees them."""
        answer = await self.admin_request(
            "GET", f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/joined_members", token
        )
        return set(answer.get("joined", {}))

    async def override_ratelimit(
        self, admin_token: str, user_id: str, messages_per_second: int = 0, burst_count: int = 0
    ) -> dict[str, Any]:
        """Give `user_id` its own message rate limit; 0/0 exempts the user entirely."""
        return await self.admin_request(
            "POST",
            f"/_synapse/admin/v1/users/{quote(user_id, safe='')}/override_ratelimit",
            admin_token,
            json={"messages_per_second": messages_per_second, "burst_count": burst_count},
        )

    async def harness_admin(self) -> RegisteredUser:
        """An admin account for the harness's own admin calls, registered on first use."""
        if self._harness_admin is None:
            self._harness_admin = await self.register(
                f"harness-admin-{secrets.token_hex(4)}", secrets.token_urlsafe(16), admin=True
            )
        return self._harness_admin

    async def exempt_from_rate_limits(self, user_id: str) -> None:
        """Lift rc_message for one user. On a server with the default rc_message this matters beyond sending
        messages: createRoom, joins, invites and every other event a user creates draw on the same budget."""
        admin = await self.harness_admin()
        await self.override_ratelimit(admin.access_token, user_id, 0, 0)
