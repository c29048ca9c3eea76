"""A bot measured by a bench runs as it would in production, not as the tests tune it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
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


def as_installed_by_default() -> str:
    """Make the bots this process starts see the packages of a default install (`pip install iscg-bot`), and
    say so: the test environment also has the `postgresql` extra (psycopg2), which peewee (under nio)
    imports whenever it can, 6–8 MB in every nio process, the floor's too, that a SQLite deployment does not
    have. A `psycopg2` package that refuses to import, first on PYTHONPATH, is what "not installed" looks
    like to peewee. ISCG_BENCH_WITH_PSYCOPG2=1 measures with it."""
    if os.environ.get("ISCG_BENCH_WITH_PSYCOPG2"):
        return "as the test environment installs them (with the postgresql extra: psycopg2)"
    hidden = Path(tempfile.mkdtemp(prefix="iscg-bench-default-install-")) / "psycopg2"
    hidden.mkdir()
    (hidden / "__init__.py").write_text('raise ImportError("not part of a default install")\n', "utf-8")
    paths = [str(hidden.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    return "as a default install has them (no postgresql extra: psycopg2 hidden from both)"
