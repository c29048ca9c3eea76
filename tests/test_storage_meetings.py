"""Meetings, agenda, overrides, answers and reminders on SQLite and PostgreSQL; migrating up from 0002."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError, InvalidRequestError, StatementError

from iscg_bot.storage import (
    AgendaItem,
    Database,
    LocalDateTime,
    Meeting,
    MeetingOverride,
    ReminderSent,
    RoleAssignment,
    Rsvp,
    Subject,
    UnitOfWork,
)
from tests.support.old_schema import insert_subject, subject_slugs

ZURICH = ZoneInfo("Europe/Zurich")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # "now": when things are scheduled
LATER = T0 + timedelta(hours=1)
WINDOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # the slot conflicts are checked against: 10:00–11:00
ADMIN = "@admin:example.org"
ANN = "@ann:example.org"
BOB = "@bob:example.org"
COP_ROOM = "!cop:example.org"
GROUP_ROOM = "!iscg:example.org"
WEEKLY = "FREQ=WEEKLY"


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


async def create_subject(uow: UnitOfWork, slug: str) -> Subject:
    return await uow.subjects.create(
        slug=slug,
        title=slug,
        room_id=f"!{slug}:example.org",
        timezone="Europe/Zurich",
        created_by=ADMIN,
        at=T0,
    )


async def schedule(
    uow: UnitOfWork,
    start_utc: datetime,
    *,
    subject: Subject | None = None,
    duration: int = 60,
    rrule: str | None = None,
    series_end_utc: datetime | None = None,
    title: str = "Coordination call",
    agenda: tuple[str, ...] = (),
) -> Meeting:
    """A meeting in Zurich starting at `start_utc`; a one-off ends after `duration`, a series at
    `series_end_utc` (None: open-ended)."""
    return await uow.meetings.create(
        subject_id=subject.id if subject else None,
        room_id=subject.room_id if subject else GROUP_ROOM,
        title=title,
        timezone="Europe/Zurich",
        start_local=start_utc.astimezone(ZURICH).replace(tzinfo=None),
        start_utc=start_utc,
        duration_minutes=duration,
        rrule=rrule,
        series_end_utc=series_end_utc if rrule else start_utc + minutes(duration),
        link="https://meet.example.org/cop",
        created_by=ANN,
        at=T0,
        agenda=agenda,
    )


# --- meetings --------------------------------------------------------------------------------------------


async def test_a_meeting_comes_back_with_its_agenda_and_overrides_loaded(database: Database) -> None:
    start = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # 14:00 in Zurich
    async with UnitOfWork(database.sessions) as uow:
        cop = await create_subject(uow, "cop")
        created = await schedule(
            uow,
            start,
            subject=cop,
            duration=90,
            rrule="FREQ=WEEKLY;INTERVAL=2;UNTIL=20270630T215959Z",
            series_end_utc=datetime(2027, 6, 24, 13, 30, tzinfo=UTC),
            agenda=("Review of the Q3 outputs", "Joint workshop planning"),
        )
        assert [item.position for item in created.agenda] == [1, 2] and created.overrides == []
        await uow.meetings.set_override(created, datetime(2026, 12, 17, 14, 0), cancelled=True, at=T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        meeting = await uow.meetings.get(created.id)
        assert await uow.meetings.get(created.id + 1) is None
    # The session is closed: everything read below was loaded by get().
    assert meeting is not None
    assert (meeting.subject_id, meeting.room_id, meeting.title, meeting.timezone) == (
        cop.id,
        COP_ROOM,
        "Coordination call",
        "Europe/Zurich",
    )
    assert (meeting.start_local, meeting.start_utc, meeting.duration_minutes) == (
        datetime(2026, 12, 3, 14, 0),
        start,
        90,
    )
    assert meeting.start_local.tzinfo is None and meeting.start_utc.tzinfo is UTC
    assert (meeting.rrule, meeting.series_end_utc, meeting.link) == (
        "FREQ=WEEKLY;INTERVAL=2;UNTIL=20270630T215959Z",
        datetime(2027, 6, 24, 13, 30, tzinfo=UTC),
        "https://meet.example.org/cop",
    )
    assert (meeting.status, meeting.cancel_reason, meeting.sequence) == ("scheduled", None, 0)
    assert (meeting.created_by, meeting.created_at, meeting.updated_at) == (ANN, T0, T0)
    assert [(i.position, i.text, i.added_by, i.added_at) for i in meeting.agenda] == [
        (1, "Review of the Q3 outputs", ANN, T0),
        (2, "Joint workshop planning", ANN, T0),
    ]
    assert [(o.occurrence_local, o.cancelled) for o in meeting.overrides] == [
        (datetime(2026, 12, 17, 14, 0), True)
    ]


async def test_a_meeting_loaded_another_way_refuses_to_lazy_load(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        created = await schedule(uow, WINDOW)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        meeting = await uow.session.scalar(select(Meeting).filter_by(id=created.id))
        assert meeting is not None
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = meeting.agenda  # a clear error instead of an implicit query (MissingGreenlet) under asyncio


async def test_meeting_ids_grow_and_are_never_reused(database: Database) -> None:
    """M<id> is shown to users: once the newest meeting is deleted, its id is not handed out again.

    On SQLite that takes AUTOINCREMENT (sqlite_autoincrement=True), which keeps the highest id ever used
    in sqlite_sequence; a plain INTEGER PRIMARY KEY would give the next meeting max(id) + 1, the deleted
    meeting's id. A PostgreSQL sequence never goes back.
    """
    async with UnitOfWork(database.sessions) as uow:
        first = await schedule(uow, WINDOW)
        newest = await schedule(uow, WINDOW, agenda=("goes with it",))
        await uow.rsvps.set(newest.id, ANN, "yes", via="command", at=T0)
        await uow.commit()
    assert newest.id > first.id

    async with UnitOfWork(database.sessions) as uow:
        await uow.session.execute(delete(Meeting).where(Meeting.id == newest.id))  # raw DELETE, no ORM
        # ON DELETE CASCADE took the agenda and the answers with it.
        assert await uow.session.scalar(select(func.count()).select_from(AgendaItem)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(Rsvp)) == 0
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        after = await schedule(uow, WINDOW)
        await uow.commit()
    assert after.id > newest.id


async def test_local_times_must_be_naive_and_instants_aware(database: Database) -> None:
    with pytest.raises(ValueError, match="naive wall-clock"):
        LocalDateTime().process_bind_param(datetime(2026, 12, 3, 14, 0, tzinfo=ZURICH), sqlite.dialect())

    async with UnitOfWork(database.sessions) as uow:
        with pytest.raises(StatementError, match="needs a naive wall-clock datetime"):
            await uow.meetings.create(
                subject_id=None,
                room_id=GROUP_ROOM,
                title="UTC stored as local",
                timezone="Europe/Zurich",
                start_local=WINDOW,
                start_utc=WINDOW,
                duration_minutes=60,
                rrule=None,
                series_end_utc=None,
                link=None,
                created_by=ANN,
                at=T0,
            )

    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW)
        with pytest.raises(StatementError, match="needs an aware datetime"):
            await uow.meetings.update(meeting, start_utc=datetime(2026, 12, 3, 10, 0), at=LATER)


async def test_a_local_time_is_stored_as_the_wall_clock_time(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        await schedule(uow, datetime(2026, 7, 2, 12, 0, tzinfo=UTC))  # 14:00 in Zurich, summer time
        await uow.commit()
        stored = await uow.session.scalar(text("SELECT start_local FROM meetings"))
    assert str(stored).startswith("2026-07-02 14:00:00")


async def test_touch_raises_the_sequence_once_per_change(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        meeting = await uow.meetings.get(meeting.id)
        assert meeting is not None
        await uow.meetings.update(meeting, title="Coordination call (moved)", at=LATER)
        assert meeting.sequence == 0  # update alone does not raise it
        await uow.meetings.touch(meeting, LATER)
        assert (meeting.sequence, meeting.updated_at) == (1, LATER)
        await uow.meetings.touch(meeting, LATER + minutes(1))
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        meeting = await uow.meetings.get(meeting.id)
    assert meeting is not None
    assert (meeting.title, meeting.sequence, meeting.updated_at) == (
        "Coordination call (moved)",
        2,
        LATER + minutes(1),
    )


async def test_an_update_changes_only_the_fields_given(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW)
        await uow.meetings.update(
            meeting, status="cancelled", cancel_reason="Chair unavailable", link=None, at=LATER
        )
        with pytest.raises(TypeError, match="can't change created_by, sequence"):
            await uow.meetings.update(meeting, sequence=7, created_by=BOB, title="ignored", at=LATER)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        reread = await uow.meetings.get(meeting.id)
    assert reread is not None
    assert (reread.status, reread.cancel_reason, reread.link, reread.updated_at) == (
        "cancelled",
        "Chair unavailable",
        None,
        LATER,
    )
    assert (reread.title, reread.start_utc, reread.duration_minutes, reread.sequence, reread.created_by) == (
        "Coordination call",
        WINDOW,
        60,
        0,
        ANN,
    )


async def test_agenda_points_are_numbered_in_the_order_they_are_added(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        bare = await schedule(uow, WINDOW)
        planned = await schedule(uow, WINDOW, agenda=("Opening", "Q3 outputs"))
        first = await uow.meetings.add_agenda_item(bare, "Opening", by=BOB, at=LATER)
        third = await uow.meetings.add_agenda_item(planned, "Any other business", by=BOB, at=LATER)
        assert [item.text for item in planned.agenda] == ["Opening", "Q3 outputs", "Any other business"]
        await uow.commit()
    assert (first.position, third.position, third.added_by, third.added_at) == (1, 3, BOB, LATER)

    async with UnitOfWork(database.sessions) as uow:
        bare_meeting = await uow.session.get(Meeting, bare.id)  # agenda not loaded: still numbered right
        assert bare_meeting is not None
        second = await uow.meetings.add_agenda_item(bare_meeting, "Close", by=BOB, at=LATER)
        assert second.position == 2
        with pytest.raises(IntegrityError):  # a position is taken once per meeting
            uow.session.add(AgendaItem(meeting_id=bare.id, position=2, text="x", added_by=BOB, added_at=T0))
            await uow.session.flush()


async def test_an_override_is_upserted_per_occurrence(database: Database) -> None:
    third, second = datetime(2026, 12, 17, 11, 0), datetime(2026, 12, 10, 11, 0)
    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW, rrule=WEEKLY)
        moved = await uow.meetings.set_override(
            meeting, third, start_local=datetime(2026, 12, 18, 9, 0), duration_minutes=30, at=T0
        )
        await uow.meetings.set_override(meeting, second, cancelled=True, reason="holiday", at=T0)
        again = await uow.meetings.set_override(meeting, third, cancelled=True, reason="no quorum", at=LATER)
        assert again is moved  # the same row, rewritten: not moved any more, cancelled
        assert [o.occurrence_local for o in meeting.overrides] == [second, third]
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        meeting = await uow.meetings.get(meeting.id)
        assert await uow.session.scalar(select(func.count()).select_from(MeetingOverride)) == 2
    assert meeting is not None
    assert [
        (
            o.occurrence_local,
            o.start_local,
            o.duration_minutes,
            o.cancelled,
            o.reason,
            o.created_at,
            o.updated_at,
        )
        for o in meeting.overrides
    ] == [
        (second, None, None, True, "holiday", T0, T0),
        (third, None, None, True, "no quorum", T0, LATER),
    ]


# --- candidates for conflicts and listings ---------------------------------------------------------------


async def test_overlapping_returns_the_candidates_in_the_slot(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        cop, ai = await create_subject(uow, "cop"), await create_subject(uow, "ai4good")
        inside = await schedule(uow, WINDOW + minutes(30), subject=cop)  # 10:30–11:30
        await schedule(uow, WINDOW - minutes(60), subject=cop)  # 09:00–10:00: ends as the slot starts
        await schedule(uow, WINDOW + minutes(60), subject=cop)  # 11:00–12:00: starts as the slot ends
        open_series = await schedule(uow, datetime(2026, 1, 8, 10, 0, tzinfo=UTC), subject=ai, rrule=WEEKLY)
        ended = datetime(2026, 6, 25, 11, 0, tzinfo=UTC)
        await schedule(
            uow, datetime(2026, 1, 8, 10, 0, tzinfo=UTC), subject=cop, rrule=WEEKLY, series_end_utc=ended
        )
        cancelled = await schedule(uow, WINDOW, subject=cop)
        await uow.meetings.update(cancelled, status="cancelled", at=T0)
        group_wide = await schedule(uow, WINDOW + minutes(15))
        later = datetime(2027, 1, 7, 10, 0, tzinfo=UTC)
        await schedule(uow, later, subject=ai, rrule=WEEKLY, series_end_utc=later + timedelta(days=60))
        await uow.commit()

    async def overlapping(**filters: object) -> list[int]:
        async with UnitOfWork(database.sessions) as uow:
            found = await uow.meetings.overlapping(start_utc=WINDOW, end_utc=WINDOW + minutes(60), **filters)
        assert all(m.agenda == [] and m.overrides == [] for m in found)  # loaded: the session is closed
        return [m.id for m in found]

    assert await overlapping() == [open_series.id, group_wide.id, inside.id]
    assert await overlapping(subject_ids=[cop.id]) == [group_wide.id, inside.id]
    assert await overlapping(subject_ids=[cop.id], include_group_wide=False) == [inside.id]
    assert await overlapping(include_group_wide=False) == [open_series.id, inside.id]
    assert await overlapping(subject_ids=[]) == [group_wide.id]
    assert await overlapping(subject_ids=[], include_group_wide=False) == []
    assert await overlapping(exclude_meeting_id=inside.id) == [open_series.id, group_wide.id]


async def test_upcoming_and_past_candidates(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        cop = await create_subject(uow, "cop")
        done = await schedule(uow, WINDOW - timedelta(days=7), subject=cop)
        ends_now = await schedule(uow, WINDOW - minutes(60), subject=cop)  # ends at WINDOW
        running = await schedule(uow, datetime(2026, 1, 8, 10, 0, tzinfo=UTC), rrule=WEEKLY)
        ahead = await schedule(uow, WINDOW + timedelta(days=1), subject=cop)
        far = await schedule(uow, WINDOW + timedelta(days=30))
        cancelled = await schedule(uow, WINDOW + timedelta(days=2), subject=cop)
        await uow.meetings.update(cancelled, status="cancelled", at=T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        upcoming = [m.id for m in await uow.meetings.upcoming_candidates(after_utc=WINDOW)]
        upcoming_cop = [
            m.id for m in await uow.meetings.upcoming_candidates(after_utc=WINDOW, subject_id=cop.id)
        ]
        first_two = [m.id for m in await uow.meetings.upcoming_candidates(after_utc=WINDOW, limit=2)]
        past = [m.id for m in await uow.meetings.past_candidates(before_utc=WINDOW)]
        past_cop = [m.id for m in await uow.meetings.past_candidates(before_utc=WINDOW, subject_id=cop.id)]
        last = [m.id for m in await uow.meetings.past_candidates(before_utc=WINDOW, limit=1)]

    assert upcoming == [running.id, ahead.id, far.id]  # by first start: the running series first
    assert upcoming_cop == [ahead.id]
    assert first_two == [running.id, ahead.id]
    assert past == [running.id, ends_now.id, done.id]  # the most recently ended first; still running leads
    assert past_cop == [ends_now.id, done.id]
    assert last == [running.id]


async def test_meetings_are_listed_per_subject(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        cop = await create_subject(uow, "cop")
        second = await schedule(uow, WINDOW + timedelta(days=7), subject=cop)
        first = await schedule(uow, WINDOW, subject=cop)
        dropped = await schedule(uow, WINDOW, subject=cop)
        await uow.meetings.update(dropped, status="cancelled", at=T0)
        group_wide = await schedule(uow, WINDOW)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        listed = [m.id for m in await uow.meetings.for_subject(cop.id)]
        with_cancelled = [m.id for m in await uow.meetings.for_subject(cop.id, include_cancelled=True)]
        group = [m.id for m in await uow.meetings.for_subject(None)]
    assert listed == [first.id, second.id]
    assert with_cancelled == [first.id, dropped.id, second.id]
    assert group == [group_wide.id]


# --- answers ---------------------------------------------------------------------------------------------


async def test_an_answer_replaces_the_previous_one(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW)
        ann = await uow.rsvps.set(meeting.id, ANN, "maybe", via="reaction", reaction_event_id="$r1", at=T0)
        await uow.rsvps.set(meeting.id, BOB, "no", via="command", at=T0)
        changed = await uow.rsvps.set(meeting.id, ANN, "yes", via="command", at=LATER)
        assert changed is ann and (ann.answer, ann.via, ann.reaction_event_id) == ("yes", "command", None)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        answers = await uow.rsvps.for_meeting(meeting.id)
        assert await uow.rsvps.remove(meeting.id, BOB)
        assert not await uow.rsvps.remove(meeting.id, BOB)
        assert [r.matrix_id for r in await uow.rsvps.for_meeting(meeting.id)] == [ANN]
        assert await uow.rsvps.for_meeting(meeting.id + 1) == []
    assert [(r.matrix_id, r.answer, r.via, r.updated_at) for r in answers] == [
        (ANN, "yes", "command", LATER),
        (BOB, "no", "command", T0),
    ]


async def test_removing_a_reaction_withdraws_only_the_answer_it_gave(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW)
        await uow.rsvps.set(meeting.id, ANN, "no", via="reaction", reaction_event_id="$ann-no", at=T0)
        await uow.rsvps.set(meeting.id, ANN, "yes", via="command", at=LATER)  # answered again since
        await uow.rsvps.set(meeting.id, BOB, "no", via="reaction", reaction_event_id="$bob-no", at=T0)
        await uow.rsvps.set(meeting.id, BOB, "maybe", via="reaction", reaction_event_id="$bob-maybe", at=T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.rsvps.withdraw_reaction("$ann-no") is None  # the command answer survives
        assert await uow.rsvps.withdraw_reaction("$bob-no") is None  # replaced by the ❔ reaction
        withdrawn = await uow.rsvps.withdraw_reaction("$bob-maybe")
        assert withdrawn is not None and (withdrawn.matrix_id, withdrawn.answer) == (BOB, "maybe")
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        answers = await uow.rsvps.for_meeting(meeting.id)
    assert [(r.matrix_id, r.answer) for r in answers] == [(ANN, "yes")]


# --- reminders -------------------------------------------------------------------------------------------


async def test_a_reminder_is_claimed_once(database: Database) -> None:
    occurrence = WINDOW
    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW, rrule=WEEKLY)
        assert await uow.reminders.claim(meeting.id, occurrence, 1440, at=T0)
        assert not await uow.reminders.claim(meeting.id, occurrence, 1440, at=T0)
        assert await uow.reminders.claim(meeting.id, occurrence, 15, at=LATER, late=True)
        await uow.state.set("still", "usable", LATER)  # a refused claim did not poison the transaction
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        same_instant = occurrence.astimezone(ZURICH)
        assert not await uow.reminders.claim(meeting.id, same_instant, 1440, at=LATER)
        assert await uow.reminders.exists(meeting.id, occurrence, 15)
        assert not await uow.reminders.exists(meeting.id, occurrence, 0)
        assert await uow.reminders.claim(meeting.id, occurrence, 0, at=LATER, skipped=True)
        next_week = occurrence + timedelta(days=7)
        assert await uow.reminders.claim(meeting.id, next_week, 1440, at=LATER)
        assert await uow.state.get("still") == "usable"
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        sent = await uow.reminders.sent(meeting.id)
    assert [(r.occurrence_utc, r.offset_minutes, r.late, r.skipped) for r in sent] == [
        (occurrence, 1440, False, False),
        (occurrence, 15, True, False),
        (occurrence, 0, False, True),
        (next_week, 1440, False, False),
    ]
    assert sent[0].sent_at == T0 and sent[0].occurrence_utc.tzinfo is UTC


async def test_of_two_transactions_claiming_at_once_only_one_wins(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW)
        await uow.commit()

    async def claim_in_another_transaction() -> bool:
        async with UnitOfWork(database.sessions) as other:
            claimed = await other.reminders.claim(meeting.id, WINDOW, 15, at=T0)
            await other.commit()
            return claimed

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.reminders.claim(meeting.id, WINDOW, 15, at=T0)
        # The other one waits on our write (PostgreSQL: the row; SQLite: the database lock) until we commit.
        other = asyncio.create_task(claim_in_another_transaction())
        await asyncio.sleep(0.05)
        await uow.commit()
    assert not await other

    async with UnitOfWork(database.sessions) as uow:
        assert len(await uow.reminders.sent(meeting.id)) == 1


# --- constraints -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [4, 1441])
async def test_the_database_refuses_a_duration_out_of_bounds(database: Database, duration: int) -> None:
    async with UnitOfWork(database.sessions) as uow:
        shortest, longest = (
            await schedule(uow, WINDOW, duration=5),
            await schedule(uow, WINDOW, duration=1440),
        )
        assert (shortest.duration_minutes, longest.duration_minutes) == (5, 1440)
        with pytest.raises(IntegrityError, match="ck_meetings_duration_minutes"):
            await schedule(uow, WINDOW, duration=duration)


@pytest.mark.parametrize(
    ("constraint", "answer", "via"),
    [("ck_rsvps_answer", "sure", "command"), ("ck_rsvps_via", "yes", "email")],
    ids=["answer", "via"],
)
async def test_the_database_refuses_an_unknown_answer(
    database: Database, constraint: str, answer: str, via: str
) -> None:
    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW)
        with pytest.raises(IntegrityError, match=constraint):
            await uow.rsvps.set(meeting.id, ANN, answer, via=via, at=T0)


async def test_the_database_refuses_an_unknown_status(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        meeting = await schedule(uow, WINDOW)
        with pytest.raises(IntegrityError, match="ck_meetings_status"):
            await uow.meetings.update(meeting, status="postponed", at=LATER)


async def test_a_meeting_needs_an_existing_subject(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        with pytest.raises(IntegrityError):
            await uow.meetings.create(
                subject_id=404,
                room_id=COP_ROOM,
                title="t",
                timezone="UTC",
                start_local=datetime(2026, 12, 3, 10, 0),
                start_utc=WINDOW,
                duration_minutes=60,
                rrule=None,
                series_end_utc=None,
                link=None,
                created_by=ANN,
                at=T0,
            )


# --- migrating up from the previous schema ---------------------------------------------------------------

NEW_TABLES = (Meeting, AgendaItem, MeetingOverride, Rsvp, ReminderSent)


async def test_migrating_from_0002_keeps_the_data_and_can_go_back(unmigrated_database: Database) -> None:
    database = unmigrated_database
    await database.migrate("0002_subjects_roles")
    async with UnitOfWork(database.sessions) as uow:  # subjects with 0002's columns (the model has more)
        cop_id = await insert_subject(uow.session, "cop", created_by=ADMIN, at=T0)
        await uow.roles.add(ANN, "coordinator", subject_id=cop_id, by=ADMIN, at=T0)
        await uow.session.commit()  # an old schema: no data_versions to raise

    async def tables() -> set[str]:
        async with database.engine.connect() as conn:
            return set(await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()))

    await database.migrate("0003_meetings")
    assert await database.current_revision() == "0003_meetings"
    async with UnitOfWork(database.sessions) as uow:
        assert await subject_slugs(uow.session) == ["cop"]
        assert [a.matrix_id for a in await uow.roles.active(at=LATER, subject_id=cop_id)] == [ANN]
    # Rows in every new table, written with SQL: the models follow the newest schema, not 0003's.
    async with database.engine.begin() as conn:
        values = {"cop": cop_id, "room": COP_ROOM, "ann": ANN, "at": T0, "window": WINDOW}
        for statement in (
            "INSERT INTO meetings (id, subject_id, room_id, title, timezone, start_local, start_utc, "
            "duration_minutes, created_by, created_at, updated_at) VALUES (1, :cop, :room, 'Call', "
            "'Europe/Zurich', '2026-12-03 11:00:00', :window, 60, :ann, :at, :at)",
            "INSERT INTO meeting_agenda_items (meeting_id, position, text, added_by, added_at) "
            "VALUES (1, 1, 'Opening', :ann, :at)",
            "INSERT INTO rsvps (meeting_id, matrix_id, answer, via, updated_at) "
            "VALUES (1, :ann, 'yes', 'command', :at)",
            "INSERT INTO reminders_sent (meeting_id, occurrence_utc, offset_minutes, sent_at, late) "
            "VALUES (1, :window, 15, :at, false)",
            "INSERT INTO meeting_overrides (meeting_id, occurrence_local, cancelled, created_at, updated_at) "
            "VALUES (1, '2026-12-03 11:00:00', true, :at, :at)",
        ):
            await conn.execute(text(statement), values)

    await database.downgrade("0002_subjects_roles")
    assert await database.current_revision() == "0002_subjects_roles"
    assert (await tables()).isdisjoint(model.__tablename__ for model in NEW_TABLES)
    async with database.engine.connect() as conn:
        outbox = await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_columns("outbox"))
    assert "purpose" not in {column["name"] for column in outbox}
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Subject)) == 1
        assert await uow.session.scalar(select(func.count()).select_from(RoleAssignment)) == 1

    await database.migrate()
    assert {model.__tablename__ for model in NEW_TABLES} <= await tables()
    async with UnitOfWork(database.sessions) as uow:
        cop = await uow.subjects.by_slug("cop")
        assert cop is not None
        again = await schedule(uow, WINDOW, subject=cop)
        await uow.commit()
    assert again.id >= 1
