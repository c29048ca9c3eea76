"""nio's encryption store in PostgreSQL, so that a standby which takes over reads the device's keys.

On PostgreSQL the bot may run as one active process and standbys on other machines. The device (its ID and
access token) is already in the bot's database; its keys (olm account and sessions, megolm inbound sessions,
device keys, encrypted rooms, key requests) must be too, or the standby would log in as the same device
without them. nio's store is peewee over SQLite: this one is the same store over `peewee.PostgresqlDatabase`,
in its own schema of the bot's database. It writes through as nio's does (autocommit, one statement at a
time, synchronously), so a key written is a key kept.

What PostgreSQL does not do as SQLite does, and is fixed here:
- nio calls `Model.replace()` (INSERT OR REPLACE): turned into INSERT … ON CONFLICT (the model's unique
  constraint, else its primary key) DO UPDATE, which keeps the row as REPLACE would leave it;
- psycopg2 reads `bytea` as memoryview, nio's pickles are read as bytes: a typecaster on each connection;
- a connection cut by a restarted server is opened again for the next statement (see `_Database`).

The trust files (verified, blacklisted, ignored devices) stay in `store_path`, local: the bot verifies and
blacklists no device, and sends with `ignore_unverified_devices=True`, for which nio marks each unverified
device "ignored" as it shares a room key with it. A machine taking over without those marks shares with the
same devices (unverified and not yet ignored, under that flag), and marks them again: no decision changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import psycopg2  # type: ignore[import-untyped]
import psycopg2.extensions  # type: ignore[import-untyped]
from nio import AsyncClientConfig
from peewee import (  # type: ignore[import-untyped]
    AutoField,
    InterfaceError,
    Model,
    OnConflict,
    OperationalError,
    PostgresqlDatabase,
)
from playhouse.shortcuts import ReconnectMixin  # type: ignore[import-untyped]
from sqlalchemy import make_url

from iscg_bot.matrix.crypto_store import QuietStore
from iscg_bot.storage.db import libpq_url

SCHEMA = "matrix_crypto"
# pg_advisory_lock's key while the schema and its tables are created: two processes starting at once
# would otherwise race on CREATE … IF NOT EXISTS (which is not safe against a concurrent create).
_CREATE_LOCK = 0x15C6_C0DE
_UNIQUE = re.compile(r"^\s*UNIQUE\s*\((?P<columns>[^)]*)\)\s*$", re.IGNORECASE)
_NOT_A_WRITE = re.compile(r"^\s*(SELECT|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)

# bytea as bytes, as SQLite gives nio's ByteField (psycopg2 gives memoryview).
_BYTEA_AS_BYTES = psycopg2.extensions.new_type(
    psycopg2.BINARY.values,
    "BYTEA_AS_BYTES",
    lambda value, cursor: None if value is None else bytes(psycopg2.BINARY(value, cursor)),
)

# libpq's options for a connection that fails rather than hangs: nio calls the store on the event loop, so a
# server out of reach must not block the bot for TCP's minutes (connect, a request unacknowledged, a reply
# that never comes).
_LIVENESS = {
    "connect_timeout": 5,
    "tcp_user_timeout": 5000,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}


def libpq_params(database_url: str, schema: str = SCHEMA) -> dict[str, Any]:
    """psycopg2's connect() arguments for the bot's `postgresql+asyncpg://` URL, on `schema`."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    libpq = libpq_url(database_url)
    query: dict[str, Any] = dict(libpq.query)
    options = f"{query.pop('options', '')} -c search_path={schema}".strip()
    dsn = libpq.set(query={}).render_as_string(hide_password=False)
    return {**_LIVENESS, "dsn": dsn, **query, "options": options}


@cache
def _upsert(model: type[Model]) -> OnConflict:
    """REPLACE as PostgreSQL says it: on the model's unique columns, the other columns take the new values."""
    target: list[str] = []
    for constraint in model._meta.constraints or ():
        found = _UNIQUE.match(getattr(constraint, "sql", ""))
        if found:
            target = [column.strip() for column in found["columns"].split(",")]
            break
    else:
        target = [field.column_name for field in model._meta.get_primary_keys()]
    fields = [f for f in model._meta.sorted_fields if not isinstance(f, AutoField)]
    # With nothing else to set, the target is set to itself: the row is still returned, as REPLACE's is.
    others = [f for f in fields if f.column_name not in target]
    kept = others or [f for f in fields if f.column_name in target]
    return OnConflict(action="update", conflict_target=target, preserve=kept)


class NotLeading(RuntimeError):
    """A write to the keys by a process that may no longer act (its lease is gone): refused."""


class _Database(ReconnectMixin, PostgresqlDatabase):
    """PostgreSQL as nio's store needs it: REPLACE, bytes, a connection opened again after a cut, and
    writes only while `may_write()` says so.

    A statement that failed on a dead connection is run once more on a new one, outside a transaction only
    (ReconnectMixin). Running one twice is harmless here: every write nio makes is an upsert, an insert that
    ignores conflicts, an update or a delete. Inside a transaction the error reaches nio, as SQLite's would.
    """

    may_write: Callable[[], bool] | None = None

    reconnect_errors = (
        (OperationalError, "terminat"),  # "terminating connection due to administrator command"
        (OperationalError, "server closed the connection"),
        (OperationalError, "connection already closed"),
        (OperationalError, "could not receive data"),
        (OperationalError, "could not send data"),
        (InterfaceError, "connection already closed"),
    )

    def execute_sql(self, sql: str, params: Any = None, commit: Any = None) -> Any:  # noqa: ANN401 — peewee's
        # A frozen leader that wakes up holds olm state older than its successor's: written back, it would
        # undo the ratchets and one-time keys the new leader has used since.
        if self.may_write is not None and not _NOT_A_WRITE.match(sql) and not self.may_write():
            raise NotLeading("this process no longer holds the lease: nio's keys are left as they are")
        return super().execute_sql(sql, params, commit)

    def _connect(self) -> Any:  # noqa: ANN401 — a psycopg2 connection, untyped
        connection = super()._connect()
        psycopg2.extensions.register_type(_BYTEA_AS_BYTES, connection)
        return connection

    def conflict_update(self, on_conflict: OnConflict, query: Any) -> Any:  # noqa: ANN401 — peewee's nodes
        if (on_conflict._action or "").lower() == "replace":
            on_conflict = _upsert(query.model)
        return super().conflict_update(on_conflict, query)


class PostgresCryptoStore(QuietStore):
    """nio's store (as `QuietStore`) on PostgreSQL. Bind it to a server with `crypto_store_class`."""

    connect_params: ClassVar[dict[str, Any]] = {}
    schema: ClassVar[str] = SCHEMA
    may_write: ClassVar[Callable[[], bool] | None] = None

    def _create_database(self) -> _Database:
        if not self.connect_params:
            raise TypeError("PostgresCryptoStore is unbound: build it with crypto_store_class(url)")
        params = dict(self.connect_params)
        database = _Database(params.pop("dsn"), **params)
        database.may_write = type(self).may_write
        return database

    def __post_init__(self) -> None:
        try:
            super().__post_init__()
        except BaseException:
            database = getattr(self, "database", None)
            if database is not None:
                database.close()  # ends the session, and with it the creation lock
            raise
        self.database.execute_sql("SELECT pg_advisory_unlock(%s)", (_CREATE_LOCK,))

    def _get_store_version(self) -> int:
        # The first thing nio does on the new connection, before it creates its tables: hold the lock until
        # they are (released by __post_init__).
        self.database.execute_sql("SELECT pg_advisory_lock(%s)", (_CREATE_LOCK,))
        self.database.execute_sql(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        version: int = super()._get_store_version()
        return version

    def close(self) -> None:
        """Close the connection (nio never does): for a process that stops leading, and for tests."""
        self.database.close()


def crypto_store_class(
    database_url: str, schema: str = SCHEMA, *, may_write: Callable[[], bool] | None = None
) -> type[QuietStore]:
    """The store class for nio's `AsyncClientConfig(store=…)`: in PostgreSQL when the bot's database is
    PostgreSQL (in `schema` of the same database), else nio's file in `store_path`, as before.

    `may_write` (e.g. `Leadership.holds`) is asked before every write to PostgreSQL; when it says no, the
    write raises `NotLeading` instead of reaching the database."""
    if make_url(database_url).get_backend_name() != "postgresql":
        return QuietStore
    params = libpq_params(database_url, schema)
    # nio builds the store itself, from the class and its own arguments: the server rides on the class.
    bound = {
        "connect_params": params,
        "schema": schema,
        "may_write": staticmethod(may_write) if may_write else None,
    }
    return type("BoundPostgresCryptoStore", (PostgresCryptoStore,), bound)


class CryptoStoreCopyError(RuntimeError):
    """The device's keys could not be copied: nothing to copy, or PostgreSQL holds keys already."""


def file_store_user(store_path: Path, device_id: str) -> str:
    """The user whose nio file store for `device_id` lies in `store_path` (nio names it
    `<user ID>_<device ID>.db`)."""
    suffix = f"_{device_id}.db"
    users = [file.name.removesuffix(suffix) for file in store_path.glob(f"*{suffix}")]
    if len(users) != 1:
        found = "none" if not users else ", ".join(sorted(users))
        raise CryptoStoreCopyError(
            f"no single encryption store for device {device_id} in {store_path} ({found})"
        )
    return users[0]


def copy_file_store(
    store_path: Path,
    user_id: str,
    device_id: str,
    database_url: str,
    *,
    pickle_key: str | None = None,
    schema: str = SCHEMA,
) -> int:
    """Copy the device's keys from nio's SQLite file in `store_path` to PostgreSQL: the move of a deployment
    from SQLite, so that the bot keeps its device on PostgreSQL. Refuses when PostgreSQL holds keys for the
    device already (they would be overwritten with older ones). Returns how many olm and megolm sessions
    were copied. Through nio's own load/save methods, so the pickles are copied as nio reads them."""
    file = store_path / f"{user_id}_{device_id}.db"  # nio's name for it (DefaultStore, no store_name)
    if not file.is_file():
        raise CryptoStoreCopyError(f"no encryption store for {user_id} ({device_id}) at {file}")
    pickle_key = AsyncClientConfig().pickle_key if pickle_key is None else pickle_key  # the gateway's: nio's
    source = QuietStore(user_id, device_id, str(store_path), pickle_key)
    target = crypto_store_class(database_url, schema)(user_id, device_id, str(store_path), pickle_key)
    try:
        account = source.load_account()
        if account is None:
            raise CryptoStoreCopyError(f"{file} holds no account for {user_id} ({device_id})")
        with target.database.atomic():  # all or nothing: a copy cut short can be run again
            if target.load_account() is not None:
                raise CryptoStoreCopyError(f"PostgreSQL already holds the keys of {user_id} ({device_id})")
            target.save_account(account)
            copied = 0
            for sender_key, sessions in source.load_sessions().items():
                for session in sessions:
                    target.save_session(sender_key, session)
                    copied += 1
            for group_session in source.load_inbound_group_sessions():
                target.save_inbound_group_session(group_session)
                copied += 1
            devices = source.load_device_keys()
            target.save_device_keys({user: dict(by_id) for user, by_id in devices.items()})
            target.save_encrypted_rooms(source.load_encrypted_rooms())
            for request in source.load_outgoing_key_requests().values():
                target.add_outgoing_key_request(request)
            token = source.load_sync_token()
            if token is not None:
                target.save_sync_token(token)
        return copied
    finally:
        source.database.close()
        target.database.close()
