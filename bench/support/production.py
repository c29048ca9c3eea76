"""A bot measured by a bench runs as it would in production, not as the tests tune it."""

from __future__ import annotations

from typing import Any


def production_defaults(settings: dict[str, Any]) -> dict[str, Any]:
    """The test fixture's settings (`tests.fixtures_bot.BotAccount.settings`) less what it tunes for tests.

    The tests shorten the sync long-poll and the request timeout (so stopping is quick) and log at INFO;
    production keeps the defaults (30 s long-poll, INFO). An earlier chat bench logged at WARNING only and
    kept the tests' 5 s long-poll, which flattered us."""
    matrix = {
        key: value
        for key, value in settings["matrix"].items()
        if key not in ("sync_timeout_seconds", "request_timeout_seconds")
    }
    return {key: value for key, value in settings.items() if key != "logging"} | {"matrix": matrix}
