"""Who hears that a change was committed: whatever is derived from the data registers itself once.

    commits = CommitListeners()
    commits.on_commit(self.wake)        # in a worker's or a cache's constructor (workers wake, caches drop)
    commits.on_commit(self.wake, tables={"outbox"})      # …or only for commits that wrote these tables
    commits.committed(uow.written_tables)                # by the dispatcher, after each commit

Nobody lists the listeners by hand: a new cache or worker that registers is told, and nothing else changes.

A commit that wrote only the bot's bookkeeping (the ledger of handled events, the outbox, its stored state)
changed none of the group's data: the listeners without `tables` do not hear it. That is most commands'
commit — a `!ping`, `!help`, any refusal — and waking every worker and dropping every cache for it cost
each command a re-arm of the reminders and the next feed request a full re-render. A commit whose tables are
not known (`committed()` with none) is heard by everyone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from iscg_bot.storage.repositories.data_versions import BOOKKEEPING

log = logging.getLogger(__name__)


class CommitListeners:
    def __init__(self) -> None:
        self._listeners: list[tuple[Callable[[], None], frozenset[str] | None]] = []

    def on_commit(self, listener: Callable[[], None], *, tables: Collection[str] | None = None) -> None:
        """Call `listener` after every committed change to the group's data, or, with `tables`, after every
        commit that wrote one of them. It must be cheap and never block (set an event, drop a cache): it runs
        in the committer's task."""
        self._listeners.append((listener, frozenset(tables) if tables is not None else None))

    @property
    def listeners(self) -> tuple[Callable[[], None], ...]:
        return tuple(listener for listener, _ in self._listeners)

    def committed(self, tables: Collection[str] | None = None) -> None:
        """A change was committed, writing `tables` (None: not known): tell every listener that cares (one
        that fails is logged; the others still hear)."""
        written = frozenset(tables) if tables is not None else None
        data = written - BOOKKEEPING if written is not None else None
        for listener, wanted in self._listeners:
            if written is not None and not (written & wanted if wanted is not None else data):
                continue
            try:
                listener()
            except Exception:
                log.exception("a commit listener failed: %r", listener)
