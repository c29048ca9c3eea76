"""tests/support/polling.py's `eventually`: the answer it waits for, and a failure that says what it was."""

from __future__ import annotations

import itertools

import pytest

from tests.support.polling import eventually


async def test_it_returns_the_first_truthy_answer_of_a_plain_or_an_async_check() -> None:
    counts = itertools.count()
    assert await eventually(lambda: max(next(counts) - 2, 0), what="a count past 2", interval=0) == 1

    async def rows() -> list[str]:
        return ["row"] * next(counts)

    assert await eventually(rows, what="some rows", interval=0) == ["row"] * 4


async def test_until_decides_which_answer_is_the_one() -> None:
    statuses = iter([200, 200, 503])
    assert await eventually(lambda: next(statuses), until=lambda s: s == 503, what="503", interval=0) == 503


async def test_on_timeout_it_names_what_it_waited_for_and_the_last_answer() -> None:
    with pytest.raises(AssertionError) as failure:
        await eventually(lambda: [], what="the outbox to fill", timeout=0.05, interval=0.01)
    assert str(failure.value) == "waited 0.05 s for the outbox to fill; the last answer was []"
    with pytest.raises(
        AssertionError, match=r"^waited 0.02 s for 503; the last answer was \(200, \{'ok': True\}\)$"
    ):
        await eventually(lambda: (200, {"ok": True}), until=lambda a: a[0] == 503, what="503", timeout=0.02)


async def test_a_log_is_shown_as_it_reads_and_a_long_answer_cut_short() -> None:
    log = "".join(f"line {n}\n" for n in range(1000))
    with pytest.raises(AssertionError) as failure:
        await eventually(lambda: log, until=lambda text: "ready" in text, what="ready", timeout=0)
    message = str(failure.value)
    assert message.startswith("waited 0 s for ready; the last answer was:\n…") and message.endswith(
        "line 999\n"
    )
    with pytest.raises(AssertionError) as failure:
        await eventually(lambda: [0] * 10_000, until=lambda _: False, what="nothing", timeout=0)
    assert len(str(failure.value)) < 3100


async def test_an_exception_from_the_check_is_not_retried() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise ConnectionRefusedError

    with pytest.raises(ConnectionRefusedError):
        await eventually(broken, what="anything", timeout=1)
    assert calls == [1]
