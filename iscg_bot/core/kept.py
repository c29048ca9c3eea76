"""Values built on request and kept until the data changes: the feeds, the reports' web copies, the chart.

    kept = Kept()
    page = await kept.get(key, build)   # build() is awaited only when `key` is not kept
    kept.invalidate()                   # after every committed change (its owner hears CommitListeners)

A value whose build began before an `invalidate` is returned to its caller but not kept: it may have been
read from the data as it stood before the change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Kept(Generic[V]):
    def __init__(self) -> None:
        self.values: dict[Hashable, V] = {}
        self._generation = 0  # raised by invalidate: a build begun before a change is not kept

    def invalidate(self) -> None:
        self.values.clear()
        self._generation += 1

    async def get(self, key: Hashable, build: Callable[[], Awaitable[V]]) -> V:
        if key in self.values:
            return self.values[key]
        generation = self._generation
        value = await build()
        if generation == self._generation:
            self.values[key] = value
        return value
