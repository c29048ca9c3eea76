"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time: refuses naive datetimes, stores UTC, always reads back aware UTC.

    PostgreSQL keeps it as TIMESTAMP WITH TIME ZONE. SQLite has no time zones and hands back naive
    values, so the UTC wall time is stored there and the UTC zone is put back on when reading.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive value would be read back as UTC whatever zone the caller meant: refuse it.
            raise ValueError(f"a UTCDateTime column needs an aware datetime, got naive {value.isoformat()}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class LocalDateTime(TypeDecorator[datetime]):
    """A wall-clock time in a zone kept in another column (a meeting's `timezone`): refuses aware values.

    The mirror of UTCDateTime, for the times that must stay local: a weekly meeting at 14:00 in
    Europe/Zurich is at 14:00 in winter and in summer, so its series is anchored on the wall time, not on
    an instant. Stored as TIMESTAMP WITHOUT TIME ZONE and read back naive, unchanged. An aware value is
    refused rather than stripped: it would most likely be a UTC instant stored here by mistake.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError(
                f"a LocalDateTime column needs a naive wall-clock datetime, got aware {value.isoformat()}"
            )
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value
