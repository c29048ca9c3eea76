"""Configuration: one TOML file, every key overridable by an `ISCG_<SECTION>_<KEY>` environment variable.

Secrets (`matrix.access_token`, `matrix.password`, `database.url`, `mail.password`,
`caldav.password`) may instead be read from a file named by `<key>_file` (in TOML or as
`ISCG_<SECTION>_<KEY>_FILE`), so they need not sit in the config or the environment.
Everything is validated at start; an error names the key, where its value came from, and what is wrong.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tomllib
import zoneinfo
from collections.abc import Mapping
from email.errors import HeaderParseError
from email.headerregistry import Address
from functools import cache
from pathlib import Path
from typing import Any, Literal

from iscg_bot.core.i18n import LANGUAGES
from iscg_bot.core.sections import Problem, SecretStr, Section, ValidationError, setting

USER_ID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
SERVER_NAME = re.compile(r"^[A-Za-z0-9.\-]+(:\d+)?$")
ENV_PREFIX = "ISCG_"


class ConfigError(Exception):
    """Invalid configuration: one line per problem, each naming the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@cache
def iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# ---- the checks of single values: each raises ValueError(why) or returns the value as kept ---------------


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


def _user_id(value: str) -> str:
    if not USER_ID.match(value):
        raise ValueError("must be a Matrix user ID like @iscg-bot:example.org")
    return value


def _prefix(value: str) -> str:
    if not value or any(c.isspace() for c in value) or len(value) > 3:
        raise ValueError("must be 1 to 3 characters without spaces")
    return value


def _admins(value: list[str]) -> list[str]:
    for user in value:
        if not USER_ID.match(user):
            raise ValueError(f"{user!r} is not a Matrix user ID like @chair:example.org")
    return value


def _allowlist(value: list[str]) -> list[str]:
    for entry in value:
        if not (USER_ID.match(entry) or SERVER_NAME.match(entry.removeprefix(":"))):
            raise ValueError(f"{entry!r} is neither a Matrix user ID nor a server name")
    return [e if e.startswith("@") else e.removeprefix(":") for e in value]


def _zone(value: str) -> str:
    if value not in iana_zones():
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Zurich)")
    return value


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError(f"{value!r} is not one of ITU's languages: {', '.join(LANGUAGES)}")
    return value


def _async_driver(value: SecretStr) -> SecretStr:
    url = value.get_secret_value()
    if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
        raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    return value


def _level(value: str) -> str:
    if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return value.upper()


def _offsets(value: list[int]) -> list[int]:
    if any(not 0 <= minutes <= 40320 for minutes in value):
        raise ValueError("each offset must be between 0 and 40320 minutes (four weeks)")
    return sorted(set(value), reverse=True)


def _feed_urls(value: list[str]) -> list[str]:
    for url in value:
        if not re.match(r"^(https?|webcal)://\S+$", url):
            raise ValueError(f"{url!r} is not an http(s):// or webcal:// URL")
    return value


def _base_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
        raise ValueError("must be an http:// or https:// URL with no query or fragment")
    return value.rstrip("/")


def mailbox(value: str) -> str:
    """A plain mailbox address (no display name), read by the standard library's address parser — the one
    that writes the invitations' From and To — so `iscg-bot@localhost` passes and garbage, lists and line
    breaks (header injection) do not. Returns the address as the parser reads it."""
    value = value.strip()
    try:
        address = Address(addr_spec=value)  # refuses CR/LF, trailing text, a missing domain
    except (ValueError, IndexError, HeaderParseError):
        address = None
    if address is None or not address.username or not address.domain or len(value) > 254:
        raise ValueError(f"{value!r} is not an e-mail address like iscg-bot@itu.int")
    return address.addr_spec


def _host(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9.\-:\[\]]+$", value):
        raise ValueError("must be a host name or IP address")
    return value


def _collection(value: str) -> str:
    if value and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
        raise ValueError("must be an http:// or https:// URL with no query or fragment")
    return value


def _instance(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9._:@-]{1,100}$", value):
        raise ValueError(
            "must be 1-100 letters, digits or . _ : @ - (a name for this process, e.g. its host)"
        )
    return value


# ---- the sections ----------------------------------------------------------------------------------------


class MatrixSettings(Section):
    homeserver: str = setting(description="Base URL of the homeserver's client API", check=_http_url)
    user_id: str = setting(description="The bot's Matrix ID", check=_user_id)
    access_token: SecretStr | None = None
    password: SecretStr | None = None
    device_name: str = "ISCG bot"
    encryption: bool = True
    store_path: Path = Path("data/crypto-store")
    sync_timeout_seconds: float = setting(default=30.0, gt=0, le=300)
    request_timeout_seconds: float = setting(default=60.0, gt=0, le=600)

    def check(self) -> None:
        if self.access_token is None and self.password is None:
            raise ValueError("set access_token or password (or access_token_file / password_file)")


class BotSettings(Section):
    command_prefix: str = setting(default="!", check=_prefix)
    admins: list[str] = setting(default_factory=list, check=_admins)
    invite_allowlist: list[str] = setting(
        default_factory=list,
        description="users (@u:server) or whole servers (example.org) who may invite",
        check=_allowlist,
    )
    default_timezone: str = setting(default="Europe/Zurich", check=_zone)
    default_language: str = setting(
        default="en",
        description="what the bot writes in when neither the reader nor the room chose",
        check=_language,
    )
    max_message_length: int = setting(default=8000, ge=100, le=65536)


class DatabaseSettings(Section):
    url: SecretStr = setting(default=SecretStr("sqlite+aiosqlite:///data/iscg-bot.db"), check=_async_driver)


class LoggingSettings(Section):
    level: str = setting(default="INFO", check=_level)
    # "text": one readable line per event; "json": one JSON object per line (time, level, logger, message)
    # for log shippers.
    format: Literal["text", "json"] = "text"


class RemindersSettings(Section):
    # Minutes before each meeting occurrence; 0 = at the start (with the join link).
    offsets_minutes: list[int] = setting(default_factory=lambda: [1440, 15, 0], check=_offsets)
    # A reminder due while the bot was down is sent late (marked so) within this many minutes, else skipped.
    grace_minutes: int = setting(default=60, ge=0, le=1440)


class CalendarsSettings(Section):
    # ICS feeds read for conflict checks (e.g. the advisory groups' meetings), fetched with ETag.
    imported: list[str] = setting(default_factory=list, check=_feed_urls)
    refresh_minutes: int = setting(default=30, ge=1, le=1440)


class WebSettings(Section):
    """The embedded web server: calendar feeds and /healthz."""

    enabled: bool = True
    listen_host: str = "127.0.0.1"
    listen_port: int = setting(default=8080, ge=0, le=65535)  # 0: any free port (tests)
    # How people reach the server (behind a reverse proxy, usually https): links in chat are built from it.
    public_base_url: str = setting(default="http://localhost:8080", check=_base_url)


class MailSettings(Section):
    """iMIP e-mail invitations to the group's mailing list (RFC 6047), sent through an SMTP server."""

    enabled: bool = False
    smtp_host: str = setting(default="localhost", check=_host)
    smtp_port: int = setting(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = setting(default=30.0, gt=0, le=600)
    # The organiser of every invitation and the envelope sender.
    from_address: str = setting(default="iscg-bot@itu.int", check=mailbox)
    # The group's mailing list (terms of reference): the one attendee, a CUTYPE=GROUP.
    list_address: str = setting(default="int-sect-group@lists.itu.int", check=mailbox)

    def check(self) -> None:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password (or password_file), or neither")


class CalDavSettings(Section):
    """Publishing every meeting to the organisation's CalDAV calendar (one resource per meeting)."""

    enabled: bool = False
    # The calendar collection, e.g. https://cal.example.org/iscg/meetings/
    collection_url: str = setting(default="", check=_collection)
    username: str | None = None
    password: SecretStr | None = None
    # A cancelled meeting: "update" PUTs it with STATUS:CANCELLED, "delete" removes the resource.
    on_cancel: Literal["update", "delete"] = "update"
    retry_max_seconds: int = setting(default=300, ge=1, le=86400)

    def check(self) -> None:
        if self.enabled and not self.collection_url:
            raise ValueError("set collection_url when CalDAV publishing is enabled")


class ClusterSettings(Section):
    """Several `iscg-bot run` processes on one database (PostgreSQL): one is active, the others wait."""

    # This process's name among them (the lease's holder); a process restarted under the same name takes its
    # lease back at once. Two processes must not share one.
    instance: str = setting(default_factory=socket.gethostname, check=_instance)
    # A standby takes over once the active one has not renewed for this long (it renews four times as often).
    lease_seconds: float = setting(default=8.0, ge=1, le=300)


class Settings(Section):
    matrix: MatrixSettings
    bot: BotSettings = BotSettings()
    database: DatabaseSettings = DatabaseSettings()
    logging: LoggingSettings = LoggingSettings()
    reminders: RemindersSettings = RemindersSettings()
    calendars: CalendarsSettings = CalendarsSettings()
    web: WebSettings = WebSettings()
    mail: MailSettings = MailSettings()
    caldav: CalDavSettings = CalDavSettings()
    cluster: ClusterSettings = ClusterSettings()

    def may_invite(self, user_id: str) -> bool:
        """Admins and allow-listed users or servers may bring the bot into a room."""
        if user_id in self.bot.admins or user_id in self.bot.invite_allowlist:
            return True
        server = user_id.split(":", 1)[1] if ":" in user_id else ""
        return server in self.bot.invite_allowlist


SECTIONS: dict[str, type[Section]] = {
    "matrix": MatrixSettings,
    "bot": BotSettings,
    "database": DatabaseSettings,
    "logging": LoggingSettings,
    "reminders": RemindersSettings,
    "calendars": CalendarsSettings,
    "web": WebSettings,
    "mail": MailSettings,
    "caldav": CalDavSettings,
    "cluster": ClusterSettings,
}
# The [matrix] of a process that never logs in: nothing reads it (`load_settings(matrix_needed=False)`).
NO_MATRIX = {
    "homeserver": "https://matrix.invalid",
    "user_id": "@no-login:matrix.invalid",
    "access_token": SecretStr("this process does not log in"),
}
SECRETS = {
    ("matrix", "access_token"),
    ("matrix", "password"),
    ("database", "url"),
    ("mail", "password"),
    ("caldav", "password"),
}


def env_name(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section}_{key}".upper()


def load_settings(
    path: Path | None, environ: Mapping[str, str] | None = None, *, matrix_needed: bool = True
) -> Settings:
    """Read the TOML file (optional when the environment supplies everything), apply overrides, validate.

    `matrix_needed=False`: for a process that never logs in (a web replica), whose machine need not hold
    the bot's password; a missing [matrix] value gets a stand-in."""
    environ = os.environ if environ is None else environ
    raw: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str], str] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"config file {path} not found (copy config.example.toml)"]) from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError([f"{path}: not valid TOML: {error}"]) from None
        for section, values in raw.items():
            if not isinstance(values, dict):
                raise ConfigError([f"{section}: must be a [{section}] table"])
            for key in values:
                origin[(section, key)] = str(path)
    problems: list[str] = []
    for section, model in SECTIONS.items():
        table = raw.setdefault(section, {})
        for key, field in model.model_fields.items():
            name = env_name(section, key)
            if name in environ:
                table[key] = _from_env(environ[name], field.annotation)
                origin[(section, key)] = name
            if (section, key) in SECRETS:
                _read_secret_file(section, key, table, environ, origin, problems)
    if problems:
        raise ConfigError(problems)
    if not matrix_needed:
        raw["matrix"] = {**NO_MATRIX, **raw["matrix"]}
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError([_describe(problem, origin) for problem in error.problems]) from None


def _read_secret_file(
    section: str,
    key: str,
    table: dict[str, Any],
    environ: Mapping[str, str],
    origin: dict[tuple[str, str], str],
    problems: list[str],
) -> None:
    file_key = f"{key}_file"
    file_name = environ.get(env_name(section, file_key)) or table.pop(file_key, None)
    table.pop(file_key, None)
    if not file_name:
        return
    try:
        table[key] = Path(file_name).read_text(encoding="utf-8").strip()
        origin[(section, key)] = str(file_name)
    except OSError as error:
        problems.append(f"{section}.{file_key}: cannot read {file_name}: {error.strerror}")


def _from_env(value: str, annotation: object) -> object:
    """Environment values are strings: lists may be JSON arrays or comma-separated."""
    if "list" in str(annotation):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError:
                return value
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return value


def _describe(problem: Problem, origin: dict[tuple[str, str], str]) -> str:
    loc = [str(part) for part in problem.loc]
    key = ".".join(loc) or "config"
    source = origin.get((loc[0], loc[1])) if len(loc) >= 2 else None
    message = problem.msg
    if problem.type == "extra_forbidden":
        message = "unknown key (a typo?)"
    elif problem.type == "missing":
        env = env_name(loc[0], loc[1]) if len(loc) >= 2 else ENV_PREFIX + key.upper()
        message = f"missing: set it in the config file or as {env}"
    return f"{key}{f' (from {source})' if source else ''}: {message}"


def describe_settings(settings: Settings) -> list[str]:
    """A summary for `check-config`, secrets masked."""
    rows = []
    for section in SECTIONS:
        values = getattr(settings, section).model_dump()
        for key, value in values.items():
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            rows.append(f"{section}.{key} = {value}")
    return rows
