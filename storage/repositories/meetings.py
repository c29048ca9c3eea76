"""Meetings and what hangs on them: agenda, moved or cancelled occurrences, answers, reminders sent."""

from __future__ import annotations

from bisect import bisect
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import Select, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from iscg_bot.storage.models import AgendaItem, Meeting, MeetingOverride, ReminderSent, Rsvp
from iscg_bot.storage.repositories._sql import chunked, upsert


class MeetingChanges(TypedDict, total=False):
    """What Meetings.update may change; the rest (subject, room, creator, sequence…) is fixed or has its
    method."""

    title: str
    timezone: str
    start_local: datetime
    start_utc: datetime
    duration_minutes: int
    rrule: str | None
    series_end_utc: datetime | None
    link: str | None
    status: str
    cancel_reason: str | None


UPDATABLE = MeetingChanges.__optional_keys__


def _meetings() -> Select[Meeting]:
    """SELECT meetings with their agenda and overrides: every Meeting handed out has both loaded."""
    return select(Meeting).options(selectinload(Meeting.agenda), selectinload(Meeting.overrides))


class Meetings:
    """Meetings, their agenda and overrides.

    Only `touch` raises the iCalendar SEQUENCE: a change (a move, a cancellation, an agenda point…) is one
    or more calls here followed by one `touch`, in the same transaction.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        subject_id: int | None,
        room_id: str,
        title: str,
        timezone: str,
        start_local: datetime,
        start_utc: datetime,
        duration_minutes: int,
        rrule: str | None,
        series_end_utc: datetime | None,
        link: str | None,
        created_by: str,
        at: datetime,
        agenda: Sequence[str] = (),
    ) -> Meeting:
        """Store a new meeting (sequence 0) with its agenda, numbered from 1 in the order given."""
        meeting = Meeting(
            subject_id=subject_id,
            room_id=room_id,
            title=title,
            timezone=timezone,
            start_local=start_local,
            start_utc=start_utc,
            duration_minutes=duration_minutes,
            rrule=rrule,
            series_end_utc=series_end_utc,
            link=link,
            status="scheduled",
            sequence=0,
            created_by=created_by,
            created_at=at,
            updated_at=at,
            agenda=[
                AgendaItem(position=position, text=point, added_by=created_by, added_at=at)
                for position, point in enumerate(agenda, start=1)
            ],
            overrides=[],
        )
        self._session.add(meeting)
        await self._session.flush()
        return meeting

    async def get(self, meeting_id: int) -> Meeting | None:
        return await self._session.scalar(_meetings().where(Meeting.id == meeting_id))

    async def for_subject(self, subject_id: int | None, *, include_cancelled: bool = False) -> list[Meeting]:
        """The subject's meetings (None: the group-wide ones), by first start; cancelled ones when asked."""
        query = _meetings().where(
            Meeting.subject_id.is_(None) if subject_id is None else Meeting.subject_id == subject_id
        )
        if not include_cancelled:
            query = query.where(Meeting.status == "scheduled")
        return list(await self._session.scalars(query.order_by(Meeting.start_utc, Meeting.id)))

    async def fingerprint(self) -> tuple[object, ...]:
        """The meetings' state in a few numbers that change whenever a meeting or an override does: every
        change to a meeting raises its SEQUENCE and sets its updated_at (`touch`, which each change ends
        with), a new one raises the highest ID (never reused), a deleted one lowers the count."""
        meetings = await self._session.execute(
            select(
                func.count(), func.max(Meeting.id), func.sum(Meeting.sequence), func.max(Meeting.updated_at)
            )
        )
        overrides = await self._session.execute(
            select(func.count(), func.max(MeetingOverride.id), func.max(MeetingOverride.updated_at))
        )
        return (*meetings.one(), *overrides.one())

    async def touch(self, meeting: Meeting, at: datetime) -> None:
        """Raise the meeting's SEQUENCE by one and set updated_at: once per change, after the change.

        The increment happens in the database (UPDATE … SET sequence = sequence + 1), so two transactions
        changing the same meeting can't both publish the same SEQUENCE.
        """
        await self._session.flush()  # pending changes first, so this UPDATE comes last
        statement = (
            update(Meeting)
            .where(Meeting.id == meeting.id)
            .values(sequence=Meeting.sequence + 1, updated_at=at)
            .returning(Meeting.sequence)
            .execution_options(synchronize_session=False)
        )
        sequence = (await self._session.execute(statement)).scalar_one()
        # The row already says so: put the values on the instance without marking it dirty.
        set_committed_value(meeting, "sequence", sequence)
        set_committed_value(meeting, "updated_at", at)

    async def update(self, meeting: Meeting, *, at: datetime, **fields: Unpack[MeetingChanges]) -> Meeting:
        """Set the fields given (None included: `link=None` removes the link) and updated_at.

        Does not raise the SEQUENCE (call `touch`). Raises TypeError, changing nothing, for a field not in
        UPDATABLE.
        """
        unknown = sorted(set(fields) - UPDATABLE)
        if unknown:
            raise TypeError(f"Meetings.update can't change {', '.join(unknown)}")
        for field, value in fields.items():
            setattr(meeting, field, value)
        meeting.updated_at = at
        await self._session.flush()
        return meeting

    async def add_agenda_item(self, meeting: Meeting, text: str, *, by: str, at: datetime) -> AgendaItem:
        """Append a point to the agenda, after the last one (also to `meeting.agenda` when loaded).

        Two transactions adding to the same agenda at once: the second fails on the unique position
        (IntegrityError) and is retried by the caller.
        """
        last = await self._session.scalar(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
        )
        item = AgendaItem(
            meeting_id=meeting.id, position=(last or 0) + 1, text=text, added_by=by, added_at=at
        )
        if "agenda" in inspect(meeting).unloaded:
            self._session.add(item)
        else:
            meeting.agenda.append(item)
        await self._session.flush()
        return item

    async def set_override(
        self,
        meeting: Meeting,
        occurrence_local: datetime,
        *,
        at: datetime,
        start_local: datetime | None = None,
        duration_minutes: int | None = None,
        cancelled: bool = False,
        reason: str | None = None,
    ) -> MeetingOverride:
        """Move (`start_local`, `duration_minutes`) or cancel the occurrence that starts at
        `occurrence_local` (its original wall-clock start), replacing what was said of it before.

        Widening start_utc/series_end_utc when the occurrence moves outside them is the caller's business.
        """
        changes: dict[str, Any] = {
            "start_local": start_local,
            "start_fold": bool(start_local is not None and start_local.fold),  # its pass (PEP 495)
            "duration_minutes": duration_minutes,
            "cancelled": cancelled,
            "reason": reason,
            "updated_at": at,
        }
        new = upsert(self._session, MeetingOverride).values(
            meeting_id=meeting.id, occurrence_local=occurrence_local, created_at=at, **changes
        )
        statement = new.on_conflict_do_update(
            index_elements=[MeetingOverride.meeting_id, MeetingOverride.occurrence_local], set_=changes
        ).returning(MeetingOverride)
        # populate_existing: refresh an override this session already holds with the row as written.
        result = await self._session.scalars(statement, execution_options={"populate_existing": True})
        override = result.one()
        if "overrides" not in inspect(meeting).unloaded and override not in meeting.overrides:
            # Keep the loaded collection in step with the table, in occurrence order, without making the
            # meeting dirty (the row is already written).
            overrides = list(meeting.overrides)
            overrides.insert(bisect([o.occurrence_local for o in overrides], occurrence_local), override)
            set_committed_value(meeting, "overrides", overrides)
        return override

    async def overlapping(
        self,
        *,
        start_utc: datetime,
        end_utc: datetime,
        subject_ids: Sequence[int] | None = None,
        include_group_wide: bool = True,
        exclude_meeting_id: int | None = None,
        include_cancelled: bool = False,
    ) -> list[Meeting]:
        """Scheduled meetings that MAY have an occurrence overlapping [start_utc, end_utc), by first start.

        These are candidates: a series qualifies when its span does, and the caller expands it (rrule,
        overrides) to see whether an occurrence really overlaps. Touching is not overlapping: a meeting
        that ends at `start_utc` or starts at `end_utc` is left out. `subject_ids` narrows to those
        subjects (None: every subject); group-wide meetings come too unless `include_group_wide` is false.
        Cancelled meetings only when `include_cancelled` (the web calendar strikes them through).
        """
        query = self._candidates(
            ending_after=start_utc, starting_before=end_utc, include_cancelled=include_cancelled
        )
        if subject_ids is not None:
            in_subjects = Meeting.subject_id.in_(subject_ids)
            query = query.where(
                or_(in_subjects, Meeting.subject_id.is_(None)) if include_group_wide else in_subjects
            )
        elif not include_group_wide:
            query = query.where(Meeting.subject_id.is_not(None))
        if exclude_meeting_id is not None:
            query = query.where(Meeting.id != exclude_meeting_id)
        return list(await self._session.scalars(query.order_by(Meeting.start_utc, Meeting.id)))

    async def upcoming_candidates(
        self,
        *,
        after_utc: datetime,
        subject_id: int | None = None,
        group_wide_in: str | None = None,
        limit: int = 500,
        include_cancelled: bool = False,
    ) -> list[Meeting]:
        """Scheduled meetings that may still have an occurrence ending after `after_utc`, by first start
        (a running series, started long ago, comes before next month's one-off); the caller expands them.

        `subject_id` narrows to that subject's meetings, `group_wide_in` to the group-wide meetings of that
        room; neither means every meeting, group-wide ones included.
        """
        query = self._candidates(ending_after=after_utc, include_cancelled=include_cancelled)
        if subject_id is not None:
            query = query.where(Meeting.subject_id == subject_id)
        if group_wide_in is not None:
            query = query.where(Meeting.subject_id.is_(None), Meeting.room_id == group_wide_in)
        query = query.order_by(Meeting.start_utc, Meeting.id).limit(limit)
        return list(await self._session.scalars(query))

    async def past_candidates(
        self,
        *,
        before_utc: datetime,
        subject_id: int | None = None,
        limit: int = 500,
        include_cancelled: bool = False,
    ) -> list[Meeting]:
        """Scheduled meetings that may have an occurrence starting before `before_utc`, the most recently
        ended first (open-ended series, still running, lead); the caller expands them.

        `subject_id` narrows to that subject's meetings; None means every meeting, group-wide ones included.
        """
        query = self._candidates(starting_before=before_utc, include_cancelled=include_cancelled)
        if subject_id is not None:
            query = query.where(Meeting.subject_id == subject_id)
        query = query.order_by(
            Meeting.series_end_utc.desc().nulls_first(), Meeting.start_utc.desc(), Meeting.id.desc()
        ).limit(limit)
        return list(await self._session.scalars(query))

    @staticmethod
    def _candidates(
        *,
        ending_after: datetime | None = None,
        starting_before: datetime | None = None,
        include_cancelled: bool = False,
    ) -> Select[Meeting]:
        query = _meetings()
        if not include_cancelled:
            query = query.where(Meeting.status == "scheduled")
        if starting_before is not None:
            query = query.where(Meeting.start_utc < starting_before)
        if ending_after is not None:
            query = query.where(or_(Meeting.series_end_utc.is_(None), Meeting.series_end_utc > ending_after))
        return query


class Rsvps:
    """Answers to meetings: yes, no (a regret, for the minutes) or maybe; one per person and meeting."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def set(
        self,
        meeting_id: int,
        matrix_id: str,
        answer: str,
        *,
        via: str,
        at: datetime,
        reaction_event_id: str | None = None,
    ) -> Rsvp:
        """Record the answer, replacing an earlier one, and the reaction it came from (None: a command).

        The database refuses (IntegrityError) an answer or a `via` it does not know.
        """
        changes: dict[str, Any] = {
            "answer": answer,
            "via": via,
            "reaction_event_id": reaction_event_id,
            "updated_at": at,
        }
        new = upsert(self._session, Rsvp).values(meeting_id=meeting_id, matrix_id=matrix_id, **changes)
        statement = new.on_conflict_do_update(
            index_elements=[Rsvp.meeting_id, Rsvp.matrix_id], set_=changes
        ).returning(Rsvp)
        # populate_existing: refresh an Rsvp this session already holds with the row as written.
        result = await self._session.scalars(statement, execution_options={"populate_existing": True})
        return result.one()

    async def withdraw_reaction(self, reaction_event_id: str) -> Rsvp | None:
        """Remove the answer given by that reaction (it was redacted), if it is still the current answer;
        None if there is none (the person has answered again since, or the reaction was no answer)."""
        rsvp = await self._session.scalar(select(Rsvp).filter_by(reaction_event_id=reaction_event_id))
        if rsvp is None:
            return None
        await self._session.delete(rsvp)
        await self._session.flush()
        return rsvp

    async def for_meeting(self, meeting_id: int) -> list[Rsvp]:
        """The meeting's answers, by Matrix ID."""
        query = select(Rsvp).filter_by(meeting_id=meeting_id).order_by(Rsvp.matrix_id)
        return list(await self._session.scalars(query))

    async def remove(self, meeting_id: int, matrix_id: str) -> bool:
        """Forget the person's answer; False if there was none."""
        rsvp = await self._session.get(Rsvp, (meeting_id, matrix_id))
        if rsvp is None:
            return False
        await self._session.delete(rsvp)
        await self._session.flush()
        return True


class Reminders:
    """Reminders claimed, per (meeting, occurrence, offset): the ledger that makes each go out only once."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(
        self,
        meeting_id: int,
        occurrence_utc: datetime,
        offset_minutes: int,
        *,
        at: datetime,
        late: bool = False,
        skipped: bool = False,
    ) -> bool:
        """Record the reminder as sent (or `skipped`); False if it already was, in which case it must not
        be sent. Claim in the transaction that queues the message, so both are committed or neither.

        A claim refused leaves the transaction usable (ON CONFLICT DO NOTHING, no failed INSERT); of two
        transactions claiming at once, the second waits for the first and gets False if it committed.
        """
        if await self.exists(meeting_id, occurrence_utc, offset_minutes):
            return False
        new = upsert(self._session, ReminderSent).values(
            meeting_id=meeting_id,
            occurrence_utc=occurrence_utc,
            offset_minutes=offset_minutes,
            sent_at=at,
            late=late,
            skipped=skipped,
        )
        statement = new.on_conflict_do_nothing(
            index_elements=[ReminderSent.meeting_id, ReminderSent.occurrence_utc, ReminderSent.offset_minutes]
        ).returning(ReminderSent.meeting_id)
        return (await self._session.execute(statement)).first() is not None

    async def sent_since(self, meeting_ids: Sequence[int], since: datetime) -> set[tuple[int, datetime, int]]:
        """`exists` for many at once: the reminders of these meetings, for occurrences from `since` on,
        recorded as sent (or skipped), as (meeting ID, occurrence start in UTC, offset in minutes)."""
        sent: set[tuple[int, datetime, int]] = set()
        for chunk in chunked(sorted(meeting_ids)):
            query = select(
                ReminderSent.meeting_id, ReminderSent.occurrence_utc, ReminderSent.offset_minutes
            ).where(ReminderSent.meeting_id.in_(chunk), ReminderSent.occurrence_utc >= since)
            sent.update(
                (row[0], row[1].astimezone(UTC), row[2]) for row in await self._session.execute(query)
            )
        return sent

    async def exists(self, meeting_id: int, occurrence_utc: datetime, offset_minutes: int) -> bool:
        query = select(ReminderSent.meeting_id).filter_by(
            meeting_id=meeting_id, occurrence_utc=occurrence_utc, offset_minutes=offset_minutes
        )
        return await self._session.scalar(query) is not None

    async def sent(self, meeting_id: int) -> list[ReminderSent]:
        """The meeting's claimed reminders (skipped ones included) in the order they fall due: by
        occurrence, then the longest offset first."""
        query = (
            select(ReminderSent)
            .filter_by(meeting_id=meeting_id)
            .order_by(ReminderSent.occurrence_utc, ReminderSent.offset_minutes.desc())
        )
        return list(await self._session.scalars(query))
