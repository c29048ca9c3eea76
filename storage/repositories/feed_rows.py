"""The meetings as the calendar feeds read them: plain, comparable rows instead of ORM objects.

    rows = await FeedRows(uow.session).meetings([None, cop.id])   # group-wide (None) and cop's meetings
    rows = await FeedRows(uow.session).every_meeting()            # the group feed's: all of them
    minuted = await FeedRows(uow.session).minuted()               # meeting IDs that have minutes

Why not `Meetings.for_subject`: a feed reads every meeting, and building 10,000 ORM objects (with their
agenda and overrides) costs several times these Core rows. A row is a value: two reads of an unchanged
meeting compare equal, so the feeds can key a rendered meeting on its row (`iscg_bot.calendar.feed_blocks`)
and re-render only what a change touched. A row holds every column a feed shows and nothing else; the
renderer reads nothing but the row (mypy checks it against this class), so a column the feeds come to show
has to be added here, and then takes part in the comparison.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, DateTime, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from iscg_bot.storage.models import AgendaItem, Meeting, MeetingOverride, MeetingSession

__all__ = ["AgendaLine", "FeedRows", "MeetingRow", "OverrideRow", "no_collection"]


class AgendaLine(NamedTuple):
    text: str


class OverrideRow(NamedTuple):
    """One moved or cancelled occurrence (see `MeetingOverride`). `start_local` carries its pass in `fold`;
    `start_fold` repeats it because datetime equality ignores `fold` and rows are compared."""

    occurrence_local: datetime
    start_local: datetime | None
    start_fold: bool
    duration_minutes: int | None
    cancelled: bool
    reason: str | None
    updated_at: datetime  # UTC, naive on SQLite (see _as_read)


class MeetingRow(NamedTuple):
    """A meeting with its agenda and overrides (see `Meeting`), as the feeds render it."""

    id: int
    subject_id: int | None
    title: str
    timezone: str
    start_local: datetime  # its pass in `fold`, repeated in start_fold (compared, unlike fold)
    start_fold: bool
    duration_minutes: int
    rrule: str | None
    series_end_utc: datetime | None  # this and the two stamps: UTC, naive on SQLite (see _as_read)
    link: str | None
    status: str
    cancel_reason: str | None
    sequence: int
    created_at: datetime
    updated_at: datetime
    agenda: tuple[AgendaLine, ...]
    overrides: tuple[OverrideRow, ...]  # by occurrence_local


def _as_read(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
) -> ColumnElement[datetime]:
    """A UTC column as the database hands it back: naive on SQLite (where UTC is stored), aware elsewhere.
    Skips `UTCDateTime`'s conversion, a Python call per value and a third of reading a large feed; the
    feeds read naive values as UTC (`iscg_bot.calendar.ical_text.utc`)."""
    return type_coerce(column, DateTime(timezone=True)).label(column.key)


def _as_wall(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
) -> ColumnElement[datetime]:
    """A `LocalDateTime` column read as the plain naive DateTime it stores: that type's check is on writes
    only, and its read (a no-op) is still a Python call per value."""
    return type_coerce(column, DateTime(timezone=False)).label(column.key)


_MEETING_COLUMNS = (
    Meeting.id,
    Meeting.subject_id,
    Meeting.title,
    Meeting.timezone,
    _as_wall(Meeting.start_local),
    Meeting.start_fold,
    Meeting.duration_minutes,
    Meeting.rrule,
    _as_read(Meeting.series_end_utc),
    Meeting.link,
    Meeting.status,
    Meeting.cancel_reason,
    Meeting.sequence,
    _as_read(Meeting.created_at),
    _as_read(Meeting.updated_at),
)
_OVERRIDE_COLUMNS = (
    _as_wall(MeetingOverride.occurrence_local),
    _as_wall(MeetingOverride.start_local),
    MeetingOverride.start_fold,
    MeetingOverride.duration_minutes,
    MeetingOverride.cancelled,
    MeetingOverride.reason,
    _as_read(MeetingOverride.updated_at),
)


class FeedRows:
    """Reads for the feeds, on the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def meetings(self, subject_ids: Sequence[int | None]) -> list[MeetingRow]:
        """Every meeting of these subjects (None: group-wide), cancelled ones included, by ID."""
        ids = [s for s in subject_ids if s is not None]
        of_subjects = [Meeting.subject_id.in_(ids)] if ids else []
        if None in subject_ids:
            of_subjects.append(Meeting.subject_id.is_(None))
        if not of_subjects:
            return []
        return await self._read(or_(*of_subjects))

    async def every_meeting(self) -> list[MeetingRow]:
        """Every meeting there is (of every subject, archived ones too, and group-wide), by ID: what
        `meetings` returns given every subject and None, read without a condition. A subject is never
        deleted while it has meetings (RESTRICT), so these are the same; unconditioned, each table is read
        in key order, several times faster than through the subject index and a sort."""
        return await self._read(None)

    async def _read(self, where: ColumnElement[bool] | None) -> list[MeetingRow]:
        connection = await self._session.connection()  # Core rows: no ORM layer in between
        query = select(*_MEETING_COLUMNS)
        if where is not None:
            query = query.where(where)
        result = await connection.execute(query.order_by(Meeting.id))
        with no_collection():
            meetings = result.all()
        if not meetings:
            return []
        # The children of those meetings, by a join on the same condition rather than an IN list of IDs.
        items = select(AgendaItem.meeting_id, AgendaItem.text)
        changes = select(MeetingOverride.meeting_id, *_OVERRIDE_COLUMNS)
        if where is not None:
            items = items.join(Meeting, Meeting.id == AgendaItem.meeting_id).where(where)
            changes = changes.join(Meeting, Meeting.id == MeetingOverride.meeting_id).where(where)
        lines = await connection.execute(items.order_by(AgendaItem.meeting_id, AgendaItem.position))
        with no_collection():
            agenda: defaultdict[int, list[AgendaLine]] = defaultdict(list)
            for meeting_id, text in lines.all():
                agenda[meeting_id].append(AgendaLine(text))
        changed = await connection.execute(
            changes.order_by(MeetingOverride.meeting_id, MeetingOverride.occurrence_local)
        )
        with no_collection():
            overrides: defaultdict[int, list[OverrideRow]] = defaultdict(list)
            for meeting_id, *values in changed.all():
                override = OverrideRow._make(values)
                if override.start_fold and override.start_local is not None:  # the pass back on start_local
                    override = override._replace(start_local=override.start_local.replace(fold=1))
                overrides[meeting_id].append(override)
            rows = []
            make = MeetingRow._make
            for columns in meetings:
                row = make(
                    (*columns, tuple(agenda.get(columns[0], ())), tuple(overrides.get(columns[0], ())))
                )
                if row.start_fold:  # the pass back on start_local
                    row = row._replace(start_local=row.start_local.replace(fold=1))
                rows.append(row)
        return rows

    async def minuted(self) -> set[int]:
        """The IDs of the meetings that have minutes (an ended session)."""
        query = select(MeetingSession.meeting_id).where(
            MeetingSession.meeting_id.is_not(None), MeetingSession.ended_at.is_not(None)
        )
        return {meeting_id for meeting_id in await self._session.scalars(query) if meeting_id is not None}


@contextmanager
def no_collection() -> Iterator[None]:
    """The garbage collector paused for a stretch of synchronous work (no await inside: nothing else runs
    meanwhile) that makes many objects which live on and no reference cycle: a feed's rows, its rendered
    blocks. Every few hundred allocations start a collection, and the survivors set off full collections of
    the whole process's heap, with nothing to collect: in bench/feed_render.py they took over half of
    reading 10,000 meetings and some 120 ms of rendering them."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
