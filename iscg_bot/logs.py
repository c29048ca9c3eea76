"""Where the bot's log goes and how it reads: `setup_logging(level, "text" | "json")`, called once at start by
the command line (`iscg_bot.cli`) and by the demo (`iscg_bot.demo.main`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO

# The bot's own loggers log at the configured level; every other library at WARNING at least (APScheduler
# alone writes two INFO lines per reminder tick: 35,000 a day). An INFO line is something an operator acts on.
OWN_LOGGERS = ("iscg_bot", "commands", "storage")
THIRD_PARTY_FLOOR = {
    "nio": logging.ERROR,  # logs every ignored or malformed event at WARNING
    "apscheduler": logging.WARNING,  # "Running job …", "… executed successfully" on every tick
    "aiohttp": logging.WARNING,
}
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
HANDLER_NAME = "iscg-bot"


class JsonLines(logging.Formatter):
    """One JSON object per line, for log shippers: time (UTC, ISO 8601), level, logger, message, and the
    traceback as one string when there is one (a line break inside a message never splits a record)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry)


def setup_logging(level: str, log_format: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """Log to `stream` (stderr) as text or JSON lines; called again, it replaces its own handler."""
    numeric = logging.getLevelName(level.upper())
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(max(logging.WARNING, numeric))  # libraries nobody named: WARNING
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(numeric)
    for name, floor in THIRD_PARTY_FLOOR.items():
        logging.getLogger(name).setLevel(max(floor, numeric))
    return handler
