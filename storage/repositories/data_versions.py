"""Each table's version: raised by the transaction that writes the table, read by whoever caches what the
table holds in another process (see `DataVersion` in storage/models.py and iscg_bot/web/freshness.py).

The raise is one statement at the end of the transaction, its rows in name order: two transactions that
write the same tables lock their version rows in the same order, so they queue and never deadlock; the row
lock is held only from that statement to the commit.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import DataVersion
from iscg_bot.storage.repositories._sql import upsert

# The bot's own bookkeeping, which no page, feed or report shows: the ledger of handled events, the outbox
# of replies, its stored state (sync token, device), the leader lease (renewed every few seconds), and the
# versions themselves. Writing only these changes none of the group's data.
BOOKKEEPING = frozenset(
    {"processed_events", "outbox", "outbox_files", "bot_state", "leader_lease", DataVersion.__tablename__}
)
UNKNOWN = "*"  # the version raised by a commit whose tables are not known: a reader drops everything


class DataVersions:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def raise_for(self, written: Collection[str] | None) -> None:
        """Raise the version of every data table in `written` (None: not known, so "*")."""
        names = [UNKNOWN] if written is None else sorted(set(written) - BOOKKEEPING)
        if not names:
            return
        statement = upsert(self._session, DataVersion).values(
            [{"table_name": name, "version": 1} for name in names]
        )
        statement = statement.on_conflict_do_update(
            index_elements=[DataVersion.table_name], set_={"version": DataVersion.version + 1}
        )
        await self._session.execute(statement)

    async def read(self) -> dict[str, int]:
        rows = await self._session.execute(select(DataVersion.table_name, DataVersion.version))
        return {name: version for name, version in rows}
