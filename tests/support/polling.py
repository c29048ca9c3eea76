"""Waiting for something that happens in the background (another task, another process) without a bare
sleep: `eventually` asks again until the answer is right, and says what it waited for when it never is.

    await eventually(lambda: chat.gateway.sent, what="the reply to be sent", timeout=2)
    status, report = await eventually(
        lambda: healthz(url), until=lambda answer: answer[0] == 503, what="/healthz to answer 503"
    )
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    what: str,
    timeout: float = 10,
    interval: float = 0.05,
    until: Callable[[T], Any] = bool,
) -> T:
    """Call `check` (a plain or an async function) every `interval` seconds until its answer is truthy
    (or satisfies `until`), and return that answer. After `timeout` seconds the test fails with an
    AssertionError naming `what` it waited for and the last answer (a text of several lines, such as a
    log, as it reads; its last 3,000 characters). An exception from `check` is not retried: it ends the
    wait as it is."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if inspect.isawaitable(answer):
            answer = await answer
        if until(answer):
            return answer
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; the last answer was{shown(answer)}")
        await asyncio.sleep(interval)


def shown(answer: object, limit: int = 3000) -> str:
    """The last answer as the failure message ends: its repr after a space, or a text of several lines
    after a colon and a line break (its end, if it is long)."""
    if isinstance(answer, str) and "\n" in answer:
        return ":\n" + (answer if len(answer) <= limit else f"…{answer[-limit:]}")
    text = repr(answer)
    return " " + (text if len(text) <= limit else f"{text[: limit // 2]} … {text[-limit // 2 :]}")
