"""The background workers' one lifecycle (start, stop, wake, health), started and stopped in one place, and
the commit listeners: what must hear "a change was committed" registers itself once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from iscg_bot.app import BotApp
from iscg_bot.calendar.imported import ImportedCalendars
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.config import Settings
from iscg_bot.core.health import SyncHealth
from iscg_bot.core.workers import WorkerHealth, running
from tests.chat import Chat, settings
from tests.support.polling import eventually
from tests.support.reminders import new_service

EMPTY_CALENDAR = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\nEND:VCALENDAR\r\n"


class Recorded:
    """A worker that writes down what was asked of it; `fail_start` makes its start raise."""

    def __init__(
        self, name: str, log: list[str], stopping: asyncio.Event, *, fail_start: bool = False
    ) -> None:
        self.name, self.log, self.stopping, self.fail_start = name, log, stopping, fail_start

    async def start(self) -> None:
        self.log.append(f"start {self.name}")
        if self.fail_start:
            raise RuntimeError("cannot start")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}" + (" (signalled)" if self.stopping.is_set() else ""))

    def wake(self) -> None:
        self.log.append(f"wake {self.name}")

    def health(self) -> WorkerHealth:
        return WorkerHealth(self.name, running=False)


async def test_workers_start_in_order_and_stop_in_reverse_once_all_are_signalled() -> None:
    log: list[str] = []
    stopping = asyncio.Event()
    workers = [Recorded(name, log, stopping) for name in ("outbox", "mail", "reminders")]
    async with running(workers, stopping=stopping):
        log.append("running")
    assert log == [
        "start outbox",
        "start mail",
        "start reminders",
        "running",
        "stop reminders (signalled)",
        "stop mail (signalled)",
        "stop outbox (signalled)",
    ]


async def test_a_worker_that_fails_to_start_is_stopped_with_those_before_it() -> None:
    log: list[str] = []
    stopping = asyncio.Event()
    workers = [
        Recorded("outbox", log, stopping),
        Recorded("mail", log, stopping, fail_start=True),
        Recorded("reminders", log, stopping),
    ]
    with pytest.raises(RuntimeError, match="cannot start"):
        async with running(workers, stopping=stopping):
            log.append("running")
    assert log == ["start outbox", "start mail", "stop mail (signalled)", "stop outbox (signalled)"]


def app_with_every_worker(tmp_path: Path) -> BotApp:
    config = settings().model_dump()
    config["database"] = {"url": f"sqlite+aiosqlite:///{tmp_path}/bot.db"}
    config["matrix"] = {**config["matrix"], "password": "x", "store_path": str(tmp_path / "store")}
    config["mail"] = {"enabled": True}
    config["caldav"] = {"enabled": True, "collection_url": "https://cal.example.org/iscg/"}
    config["calendars"] = {"imported": ["https://calendars.example.org/tsag.ics"], "refresh_minutes": 15}
    return BotApp(Settings.model_validate(config))


def test_the_app_has_five_workers_with_one_lifecycle(tmp_path: Path) -> None:
    app = app_with_every_worker(tmp_path)
    assert [worker.name for worker in app.workers] == [
        "outbox",
        "mail",
        "caldav",
        "imported-calendars",
        "reminders",
    ]
    assert [worker.health().running for worker in app.workers] == [False] * 5
    assert app.imported is not None and app.imported.every == timedelta(minutes=15)
    assert app.services.imported is app.imported
    report = app.health.report()[1]
    assert sorted(report["workers"]) == sorted(worker.name for worker in app.workers)


def test_a_commit_wakes_the_workers_and_drops_the_caches_that_registered(tmp_path: Path) -> None:
    app = app_with_every_worker(tmp_path)
    app.feeds.kept.values["iscg"] = object()  # type: ignore[assignment]
    woken = {worker.name: worker.woken for worker in app.workers if hasattr(worker, "woken")}
    app.commits.committed()  # what the dispatcher does after each commit
    assert app.feeds.kept.values == {}
    assert {name for name, event in woken.items() if event.is_set()} == {"outbox", "mail", "caldav"}
    # The imported calendars are fetched on their own schedule, not on every chat command.
    assert not woken["imported-calendars"].is_set()


async def test_the_dispatcher_tells_the_listeners_once_per_committed_event(chat: Chat) -> None:
    heard: list[str] = []
    chat.commits.on_commit(lambda: heard.append("committed"))
    zone = chat.message("!tz Europe/Zurich")
    assert "Europe/Zurich" in (await chat.deliver(zone))[0]["body"]
    assert heard == ["committed"]
    assert await chat.deliver(zone) == []  # seen before: no second effect, nothing committed
    assert heard == ["committed"]


async def test_a_command_that_changes_no_data_wakes_only_who_listens_for_its_tables(chat: Chat) -> None:
    """A `!ping` commits the ledger row and its reply: the outbox must hear it, the caches and the reminders
    (which listen for the group's data) need not re-render or re-arm."""
    data: list[str] = []
    outbox: list[str] = []
    chat.commits.on_commit(lambda: data.append("committed"))
    chat.commits.on_commit(lambda: outbox.append("committed"), tables={"outbox"})
    assert [c["body"] for c in await chat.deliver(chat.message("!ping"))] == ["pong"]
    assert (data, outbox) == ([], ["committed"])
    await chat.deliver(chat.message("!tz Europe/Zurich"))
    assert (data, outbox) == (["committed"], ["committed", "committed"])


def test_a_commit_whose_tables_are_not_known_is_heard_by_everyone() -> None:
    commits = CommitListeners()
    heard: list[str] = []
    commits.on_commit(lambda: heard.append("data"))
    commits.on_commit(lambda: heard.append("outbox"), tables={"outbox"})
    commits.committed({"processed_events", "bot_state"})
    assert heard == []
    commits.committed({"processed_events", "meetings"})
    assert heard == ["data"]
    commits.committed()
    assert heard == ["data", "data", "outbox"]


def test_a_listener_that_fails_does_not_silence_the_others() -> None:
    commits = CommitListeners()
    heard: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    commits.on_commit(broken)
    commits.on_commit(lambda: heard.append("second"))
    commits.committed()
    assert heard == ["second"]


async def test_a_workers_health_shows_its_last_error_until_it_succeeds_and_healthz_shows_it(
    chat: Chat,
) -> None:
    answers = [500]

    async def feed(request: web.Request) -> web.Response:
        return web.Response(status=answers[-1], body=EMPTY_CALENDAR if answers[-1] == 200 else b"down")

    application = web.Application()
    application.router.add_get("/tsag.ics", feed)
    async with TestServer(application) as server:
        url = str(server.make_url("/tsag.ics"))
        calendars = ImportedCalendars([url], clock=chat.clock, every=timedelta(hours=1))
        health = SyncHealth(chat.gateway, chat.clock, sync_timeout_seconds=30, workers=[calendars])
        assert calendars.health() == WorkerHealth("imported-calendars", running=False)
        await calendars.start()
        try:
            failed = await eventually(
                calendars.health, until=lambda h: h.failures == 1, what="the failed refresh", timeout=5
            )
            assert failed.running and failed.last_success is None
            assert failed.last_error == "1 of 1 feeds not refreshed"
            assert failed.last_error_at == chat.clock.now()
            assert health.report()[1]["workers"]["imported-calendars"]["last_error"] == failed.last_error

            answers.append(200)
            calendars.wake()  # refresh now, not in an hour
            recovered = await eventually(
                calendars.health, until=lambda h: h.last_success, what="the good refresh", timeout=5
            )
            assert (recovered.last_error, recovered.failures) == (None, 0)
        finally:
            await asyncio.wait_for(calendars.stop(), timeout=2)
        assert not calendars.health().running


async def test_the_reminders_report_their_catch_up_at_start_and_stop_running(chat: Chat) -> None:
    reminders = new_service(chat)
    assert reminders.health() == WorkerHealth("reminders", running=False)
    await reminders.start(run_jobs=False)
    try:
        started = reminders.health()
        assert started.running and started.last_success == chat.clock.now() and started.last_error is None
    finally:
        await reminders.stop()
    assert not reminders.health().running
