"""The device's encryption keys in PostgreSQL: what nio stores comes back as from its SQLite file, and a
second machine (its own store_path) that opens the store reads the same account and can decrypt with it.

Each PostgreSQL test gets its own schema, dropped afterwards; PostgreSQL tests skip when no server answers.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from nio import AsyncClient, AsyncClientConfig, MegolmEvent, RoomMessageText, SyncResponse
from nio.crypto import (
    InboundGroupSession,
    InboundSession,
    OlmAccount,
    OlmDevice,
    OutboundGroupSession,
    OutboundSession,
    OutgoingKeyRequest,
)
from nio.store import MatrixStore

from iscg_bot.demo.homeserver import LocalSynapse, RegisteredUser
from iscg_bot.matrix.crypto_store import QuietStore
from iscg_bot.matrix.crypto_store_pg import (
    CryptoStoreCopyError,
    NotLeading,
    copy_file_store,
    crypto_store_class,
    libpq_params,
)
from tests.fixtures_storage import BACKENDS, POSTGRES_URL
from tests.fixtures_synapse import MakeUser
from tests.support.matrix_user import body_of

CLIENT_PICKLE_KEY = AsyncClientConfig().pickle_key  # nio's default, which the gateway's client uses
BOT = "@bot:example.org"
DEVICE = "BOTDEVICE"
ALICE = "@alice:example.org"
ROOM = "!room:example.org"

MakeStore = Callable[..., MatrixStore]


def _admin() -> psycopg2.extensions.connection:
    """A plain connection to the test server, or a skip saying why there is none."""
    try:
        connection = psycopg2.connect(**{**libpq_params(POSTGRES_URL), "connect_timeout": 2})
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable for nio's store: {error}")
    connection.autocommit = True
    return connection


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A schema name of its own for the test (the store creates it), dropped afterwards."""
    admin = _admin()
    schema = f"test_crypto_{secrets.token_hex(6)}"
    try:
        yield schema
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """Opens the bot's store, on one backend; `machine` names the store_path's folder. On SQLite every
    machine shares the one folder (the file is the store); on PostgreSQL each has its own, as two hosts."""
    opened: list[MatrixStore] = []
    store_class: type[MatrixStore] = QuietStore
    schema = None
    if request.param == "postgresql":
        schema = request.getfixturevalue("pg_schema")
        store_class = crypto_store_class(POSTGRES_URL, schema)

    def make(machine: str = "a") -> MatrixStore:
        folder = tmp_path / (machine if schema else "shared")
        folder.mkdir(exist_ok=True)
        store = store_class(BOT, DEVICE, str(folder))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.database.close()


def _bot_account(store: MatrixStore) -> OlmAccount:
    account = OlmAccount()
    account.generate_one_time_keys(5)
    store.save_account(account)
    return account


def test_the_account_comes_back_with_its_keys(make_store: MakeStore) -> None:
    store = make_store()
    assert store.load_account() is None
    account = _bot_account(store)
    account.mark_keys_as_published()
    account.shared = True
    store.save_account(account)  # saved again: replaced, not added

    loaded = make_store("b").load_account()
    assert loaded is not None
    assert loaded.identity_keys == account.identity_keys
    assert loaded.shared is True
    assert loaded.one_time_keys == account.one_time_keys == {"curve25519": {}}


def test_an_olm_session_decrypts_what_its_sender_sends_next(make_store: MakeStore) -> None:
    store = make_store()
    bot = _bot_account(store)
    alice = OlmAccount()
    one_time_key = next(iter(bot.one_time_keys["curve25519"].values()))
    outbound = OutboundSession(alice, bot.identity_keys["curve25519"], one_time_key)
    first = outbound.encrypt("first")
    inbound = InboundSession(bot, first, alice.identity_keys["curve25519"])
    assert inbound.decrypt(first) == "first"
    store.save_account(bot)  # the one-time key is used up
    store.save_session(alice.identity_keys["curve25519"], inbound)
    store.save_session(alice.identity_keys["curve25519"], inbound)  # nio saves after each use: replaced

    sessions = make_store("b").load_sessions()
    [loaded] = sessions[alice.identity_keys["curve25519"]]
    assert loaded.id == inbound.id
    assert loaded.decrypt(outbound.encrypt("second")) == "second"


def test_a_room_key_with_its_forwarding_chain_decrypts_the_room(make_store: MakeStore) -> None:
    store = make_store()
    _bot_account(store)
    alice = OlmAccount()
    outbound = OutboundGroupSession()
    outbound.shared = True  # as once its key has gone to the room's devices
    chain = ["forwarder-curve-key-1", "forwarder-curve-key-2"]
    session = InboundGroupSession(
        outbound.session_key,
        alice.identity_keys["ed25519"],
        alice.identity_keys["curve25519"],
        ROOM,
        forwarding_chain=chain,
    )
    store.save_inbound_group_session(session)
    store.save_inbound_group_session(session)  # saved again: the chain is replaced, not doubled

    groups = make_store("b").load_inbound_group_sessions()
    loaded = groups.get(ROOM, alice.identity_keys["curve25519"], session.id)
    assert loaded is not None
    assert loaded.ed25519 == alice.identity_keys["ed25519"]
    assert sorted(loaded.forwarding_chain) == chain
    assert loaded.decrypt(outbound.encrypt("minutes at 3")) == ("minutes at 3", 0)


def test_device_keys_are_replaced_not_added(make_store: MakeStore) -> None:
    store = make_store()
    _bot_account(store)
    phone = OlmDevice(ALICE, "PHONE", {"ed25519": "ed-1", "curve25519": "curve-1"}, display_name="Phone")
    laptop = OlmDevice(ALICE, "LAPTOP", {"ed25519": "ed-2", "curve25519": "curve-2"})
    store.save_device_keys({ALICE: {"PHONE": phone, "LAPTOP": laptop}})
    renewed = OlmDevice(ALICE, "PHONE", {"ed25519": "ed-1", "curve25519": "curve-3"}, deleted=True)
    store.save_device_keys({ALICE: {"PHONE": renewed}})

    devices = make_store("b").load_device_keys()
    assert devices[ALICE]["PHONE"].keys == {"ed25519": "ed-1", "curve25519": "curve-3"}
    assert devices[ALICE]["PHONE"].deleted is True
    assert devices[ALICE]["PHONE"].display_name == "Phone"
    assert devices[ALICE]["LAPTOP"].keys == {"ed25519": "ed-2", "curve25519": "curve-2"}


def test_encrypted_rooms_key_requests_and_sync_token(make_store: MakeStore) -> None:
    store = make_store()
    _bot_account(store)
    store.save_encrypted_rooms([ROOM, "!other:example.org"])
    store.delete_encrypted_room("!other:example.org")
    asked = OutgoingKeyRequest("req-1", "session-1", ROOM, "m.megolm.v1.aes-sha2")
    store.add_outgoing_key_request(asked)
    store.add_outgoing_key_request(asked)  # nio may ask twice: kept once
    store.add_outgoing_key_request(OutgoingKeyRequest("req-2", "session-2", ROOM, "m.megolm.v1.aes-sha2"))
    store.remove_outgoing_key_request(OutgoingKeyRequest("req-2", "session-2", ROOM, "m.megolm.v1.aes-sha2"))
    store.save_sync_token("s1")
    store.save_sync_token("s2")

    other = make_store("b")
    assert other.load_encrypted_rooms() == {ROOM}
    assert other.load_outgoing_key_requests() == {"req-1": asked}
    assert other.load_sync_token() == "s2"


@pytest.mark.postgres
def test_the_store_outlives_a_cut_connection(pg_schema: str, tmp_path: Path) -> None:
    """A restarted server ends every session: the next write opens a new one instead of failing for good."""
    store = crypto_store_class(POSTGRES_URL, pg_schema)(BOT, DEVICE, str(tmp_path))
    try:
        _bot_account(store)
        [[pid]] = store.database.execute_sql("SELECT pg_backend_pid()").fetchall()
        admin = _admin()
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
        admin.close()
        store.save_sync_token("after the cut")
        assert store.load_sync_token() == "after the cut"
    finally:
        store.database.close()


@pytest.mark.postgres
def test_two_machines_starting_at_once_share_one_set_of_tables(pg_schema: str, tmp_path: Path) -> None:
    """Each creates the schema and tables if missing, all at the same moment: none fails, one set is made."""
    store_class = crypto_store_class(POSTGRES_URL, pg_schema)
    start = threading.Barrier(4)
    stores: list[MatrixStore] = []
    failures: list[BaseException] = []

    def open_store(machine: str) -> None:
        start.wait()
        try:
            stores.append(store_class(BOT, DEVICE, str(tmp_path / machine)))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=open_store, args=(f"m{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        account = _bot_account(stores[0])
        for other in stores[1:]:
            loaded = other.load_account()
            assert loaded is not None and loaded.identity_keys == account.identity_keys
    finally:
        for store in stores:
            store.database.close()


@pytest.mark.postgres
def test_a_process_that_lost_its_lease_writes_no_key(pg_schema: str, tmp_path: Path) -> None:
    """A frozen leader that wakes up must not write its older olm state over its successor's."""
    leading = [True]
    store = crypto_store_class(POSTGRES_URL, pg_schema, may_write=lambda: leading[0])(
        BOT, DEVICE, str(tmp_path)
    )
    try:
        account = _bot_account(store)
        store.save_sync_token("while leading")
        leading[0] = False
        with pytest.raises(NotLeading):
            store.save_sync_token("after the lease went")
        with pytest.raises(NotLeading):
            store.save_account(OlmAccount())
        loaded = store.load_account()  # reading stays allowed
        assert loaded is not None and loaded.identity_keys == account.identity_keys
        assert store.load_sync_token() == "while leading"
    finally:
        store.database.close()


@pytest.mark.postgres
def test_moving_from_sqlite_copies_the_keys_once(pg_schema: str, tmp_path: Path) -> None:
    """The device's file store copied to PostgreSQL: the same account, and it decrypts the room as before."""
    local = QuietStore(BOT, DEVICE, str(tmp_path), CLIENT_PICKLE_KEY)  # as the bot's nio client makes it
    account = _bot_account(local)
    alice = OlmAccount()
    outbound = OutboundGroupSession()
    outbound.shared = True
    session = InboundGroupSession(
        outbound.session_key, alice.identity_keys["ed25519"], alice.identity_keys["curve25519"], ROOM
    )
    local.save_inbound_group_session(session)
    local.save_encrypted_rooms([ROOM])
    local.database.close()
    with pytest.raises(CryptoStoreCopyError, match="no encryption store"):
        copy_file_store(tmp_path / "elsewhere", BOT, DEVICE, POSTGRES_URL, schema=pg_schema)

    assert copy_file_store(tmp_path, BOT, DEVICE, POSTGRES_URL, schema=pg_schema) == 1
    with pytest.raises(CryptoStoreCopyError, match="already holds"):
        copy_file_store(tmp_path, BOT, DEVICE, POSTGRES_URL, schema=pg_schema)

    moved = crypto_store_class(POSTGRES_URL, pg_schema)(
        BOT, DEVICE, str(tmp_path / "other-machine"), CLIENT_PICKLE_KEY
    )
    try:
        loaded = moved.load_account()
        assert loaded is not None and loaded.identity_keys == account.identity_keys
        assert moved.load_encrypted_rooms() == {ROOM}
        room_key = moved.load_inbound_group_sessions().get(
            ROOM, alice.identity_keys["curve25519"], session.id
        )
        assert room_key is not None
        assert room_key.decrypt(outbound.encrypt("still readable")) == ("still readable", 0)
    finally:
        moved.database.close()


def test_the_store_follows_the_bots_database_url() -> None:
    assert crypto_store_class("sqlite+aiosqlite:///data/iscg-bot.db") is QuietStore
    params = libpq_params("postgresql+asyncpg://bot:s%40cret@db.internal:6432/iscg?ssl=require", "keys")
    assert params["dsn"] == "postgresql://bot:s%40cret@db.internal:6432/iscg"
    assert params["sslmode"] == "require"
    assert params["options"] == "-c search_path=keys"


# ---- two machines, one device, a real homeserver ---------------------------------------------------------


async def _bot_on(machine: Path, synapse: LocalSynapse, bot: RegisteredUser, store: type) -> AsyncClient:
    """The bot's device as a process on `machine` would open it: the stored keys, its own store_path."""
    await asyncio.to_thread(machine.mkdir)
    config = AsyncClientConfig(encryption_enabled=True, store=store, store_sync_tokens=False)
    client = AsyncClient(synapse.base_url, bot.user_id, store_path=str(machine), config=config)
    client.restore_login(bot.user_id, bot.device_id, bot.access_token)  # loads the store
    if client.should_upload_keys:
        await client.keys_upload()
    return client


async def _read(client: AsyncClient, room_id: str, body: str, timeout: float = 30) -> None:
    """Sync until `body` arrives decrypted in `room_id` (a message seen before its key is tried again)."""
    waiting: list[MegolmEvent] = []
    async with asyncio.timeout(timeout):
        while True:
            response = await client.sync(timeout=1000, full_state=client.next_batch is None)
            assert isinstance(response, SyncResponse), response
            room = response.rooms.join.get(room_id)
            waiting.extend(e for e in (room.timeline.events if room else []) if isinstance(e, MegolmEvent))
            events = [e for e in room.timeline.events if isinstance(e, RoomMessageText)] if room else []
            for undecrypted in list(waiting):
                try:
                    events.append(client.decrypt_event(undecrypted))
                    waiting.remove(undecrypted)
                except Exception:  # the key has not come yet
                    continue
            if any(isinstance(e, RoomMessageText) and e.body == body for e in events):
                return


@pytest.mark.e2e
@pytest.mark.postgres
async def test_a_second_machine_reads_and_answers_in_an_encrypted_room(
    synapse: LocalSynapse, matrix_user_factory: MakeUser, pg_schema: str, tmp_path: Path
) -> None:
    """Machine A receives the room key and is gone; machine B, its own disk, the same device and the keys
    from PostgreSQL, decrypts what comes next under that key and answers so that the member can read it."""
    store = crypto_store_class(POSTGRES_URL, pg_schema)
    bot = await synapse.register(f"bot-{secrets.token_hex(4)}", secrets.token_urlsafe(12))
    alice = await matrix_user_factory("alice", encryption=True)
    first = await _bot_on(tmp_path / "machine-a", synapse, bot, store)
    second: AsyncClient | None = None
    try:
        room_id = await alice.create_room(encrypted=True, invite=[bot.user_id])
        await first.join(room_id)
        await alice.wait_joined(room_id, bot.user_id)
        await alice.send_text(room_id, "before the takeover")
        await _read(first, room_id, "before the takeover")
        identity = first.olm.account.identity_keys
        room_key = alice.client.olm.outbound_group_sessions[room_id].id
        next_batch = first.next_batch
        await first.close()
        first.store.database.close()  # machine A is gone

        await alice.send_text(room_id, "after the takeover")
        # The same room key: nothing new went to the bot's device, only PostgreSQL has it for B.
        assert alice.client.olm.outbound_group_sessions[room_id].id == room_key
        second = await _bot_on(tmp_path / "machine-b", synapse, bot, store)
        assert second.olm.account.identity_keys == identity
        second.next_batch = next_batch
        await _read(second, room_id, "after the takeover")

        if second.should_query_keys:
            await second.keys_query()
        answer = {"msgtype": "m.notice", "body": "answered from machine B"}
        await second.room_send(room_id, "m.room.message", answer, ignore_unverified_devices=True)
        await alice.wait_for(lambda e: body_of(e) == "answered from machine B", room_id=room_id)
    finally:
        await first.close()
        if second is not None:
            await second.close()
            second.store.database.close()
