"""nio's encryption store, less its one write per sync.

nio's client hands the store the set of encrypted rooms seen in every sync response, and the default store
writes it at once: a transaction on its SQLite file (and a lookup of the account) for every sync, nearly
always for rooms it already holds. That was ~9% of the bot's CPU while answering `!ping`s. This store
writes only the rooms it does not hold yet; what it holds is read at load, as nio reads it.
"""

from __future__ import annotations

from collections.abc import Iterable

from nio.store import DefaultStore


class QuietStore(DefaultStore):
    """`DefaultStore` that saves an encrypted room once, not once per sync."""

    _known_encrypted: set[str]

    def load_encrypted_rooms(self) -> set[str]:
        rooms: set[str] = set(super().load_encrypted_rooms())
        self._known_encrypted = set(rooms)
        return rooms

    def save_encrypted_rooms(self, rooms: Iterable[str]) -> None:
        known = getattr(self, "_known_encrypted", None)
        if known is None:  # saved before nio loaded them: nothing known, save as nio would
            known = self._known_encrypted = set()
        new = set(rooms) - known
        if new:
            super().save_encrypted_rooms(new)
            known.update(new)
