"""Where the sync resumes after a restart: the token is stored after handling, at most every few seconds, and
always the first time and at stop; and nio's encryption store keeps what it must across restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from nio.crypto import OlmAccount
from nio.store import DefaultStore

from iscg_bot.chat.sync_position import SyncPosition
from iscg_bot.core.clock import FrozenClock
from iscg_bot.matrix.crypto_store import QuietStore
from iscg_bot.storage import Database

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def stored(database: Database) -> str | None:
    return await SyncPosition(database.sessions, FrozenClock(T0)).load()


async def test_the_first_token_is_stored_at_once_then_at_most_every_few_seconds(database: Database) -> None:
    ticks = Ticks()
    position = SyncPosition(database.sessions, FrozenClock(T0), every_seconds=5, monotonic=ticks)
    assert await position.load() is None
    await position.handled("s1")  # none stored yet: a restart now must not skip history again
    assert await stored(database) == "s1"
    ticks.now += 1
    await position.handled("s2")
    await position.handled("s3")
    assert await stored(database) == "s1"  # a restart now fetches s1…s3 again; the ledger skips them
    ticks.now += 5
    await position.handled("s4")
    assert await stored(database) == "s4"


async def test_stopping_stores_the_token_the_throttle_held_back(database: Database) -> None:
    ticks = Ticks()
    position = SyncPosition(database.sessions, FrozenClock(T0), every_seconds=5, monotonic=ticks)
    await position.handled("s1")
    await position.handled("s2")
    assert await stored(database) == "s1"
    await position.flush()
    assert await stored(database) == "s2"
    restarted = SyncPosition(database.sessions, FrozenClock(T0), monotonic=ticks)
    assert await restarted.load() == "s2"
    await restarted.handled("s2")  # the same token again: nothing to write
    await restarted.flush()
    assert await stored(database) == "s2"


def test_the_encryption_store_remembers_encrypted_rooms_across_restarts_and_writes_each_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[set[str]] = []
    write = DefaultStore.save_encrypted_rooms

    def counted(store: DefaultStore, rooms: set[str]) -> None:
        writes.append(set(rooms))
        write(store, rooms)

    monkeypatch.setattr(DefaultStore, "save_encrypted_rooms", counted)

    def open_store() -> QuietStore:
        store = QuietStore("@bot:example.org", "DEVICE", str(tmp_path))
        if store.load_account() is None:
            store.save_account(OlmAccount())  # what nio does when it first loads the store
        return store

    store = open_store()
    assert store.load_encrypted_rooms() == set()
    store.save_encrypted_rooms({"!a:example.org"})
    store.save_encrypted_rooms({"!a:example.org"})  # every sync names the rooms again
    store.save_encrypted_rooms({"!a:example.org", "!b:example.org"})
    assert writes == [{"!a:example.org"}, {"!b:example.org"}]
    restarted = open_store()
    assert restarted.load_encrypted_rooms() == {"!a:example.org", "!b:example.org"}
    restarted.save_encrypted_rooms({"!b:example.org"})
    assert len(writes) == 2
