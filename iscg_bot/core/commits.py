"""Who hears that a change was committed: whatever is derived from the data registers itself once.

    commits = CommitListeners()
    commits.on_commit(self.wake)        # in a worker's or a cache's constructor (workers wake, caches drop)
    commits.committed()                 # by whoever commits on behalf of users (the dispatcher), after commit

Nobody lists the listeners by hand: a new cache or worker that registers is told, and nothing else changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class CommitListeners:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every committed change. It must be cheap and never block (set an event,
        drop a cache): it runs in the committer's task."""
        self._listeners.append(listener)

    @property
    def listeners(self) -> tuple[Callable[[], None], ...]:
        return tuple(self._listeners)

    def committed(self) -> None:
        """A change was committed: tell every listener (one that fails is logged; the others still hear)."""
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                log.exception("a commit listener failed: %r", listener)
