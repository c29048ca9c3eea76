"""Where the time comes from. Logic never reads the system clock itself: it is handed a Clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = at.astimezone(UTC)


class FileClock:
    """A clock for end-to-end tests of the bot as its own process: the current instant is read from a file
    (one ISO 8601 timestamp with an offset) that the test rewrites to move time. Never used in production."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        at = datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
        if at.tzinfo is None:
            raise ValueError(f"{self.path} must hold an aware timestamp, e.g. 2026-12-03T13:00:00+00:00")
        return at.astimezone(UTC)
