"""What every background worker shares: the signal that the bot is stopping, how it waits out a failure."""

from __future__ import annotations

import random


class Stopping(Exception):
    """Raised out of a wait or a request when the bot is shutting down."""


class Backoff:
    """Exponential backoff with jitter, reset after a success."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap, self.failures = first, cap, 0

    def next_delay(self) -> float:
        self.failures += 1
        delay = min(self.cap, self.first * 2 ** (self.failures - 1))
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.failures = 0
