"""A report reads every subject's sessions, minutes and action items in one query each, over the widest span
of the subjects' years, then gives each subject its own: by its meetings (or its room, for an unscheduled
session) and by its year in its own zone. Two subjects at the two ends of the world's time zones must not get
each other's meetings, decisions or actions, nor those of the other's year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from iscg_bot.domain.reports import compile_report, year
from iscg_bot.storage import ActionItem, Meeting, MeetingSession, MinuteLine, MinuteTag, Subject, UnitOfWork

NOW = datetime(2027, 3, 1, tzinfo=UTC)
BY = "@coord:example.org"
ROOMS = {1: "!akl:example.org", 2: "!nyc:example.org"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def subject(n: int, slug: str, zone: str) -> dict[str, Any]:
    return dict(id=n, slug=slug, title=slug.upper(), description="", timezone=zone, room_id=ROOMS[n],
                created_by=BY, created_at=NOW, updated_at=NOW)  # fmt: skip


def meeting(n: int, of: int, start: datetime) -> dict[str, Any]:
    return dict(id=n, subject_id=of, room_id=ROOMS[of], title=f"Call {n}", timezone="UTC",
                start_local=start.replace(tzinfo=None), start_utc=start, duration_minutes=60,
                series_end_utc=start + timedelta(hours=1), created_by=BY, created_at=NOW,
                updated_at=NOW)  # fmt: skip


async def test_each_subject_gets_its_own_meetings_decisions_and_actions_of_its_own_year(database):
    # Auckland is UTC+13 at New Year, New York UTC−5: their years 2026 start 18 hours apart.
    sessions = [
        # (session, meeting or None, room, start, ended)
        (1, 1, ROOMS[1], utc("2025-12-31T12:00"), True),  # 1 Jan 2026 01:00 in Auckland: akl's 2026
        (2, 2, ROOMS[1], utc("2026-12-31T12:00"), True),  # 1 Jan 2027 in Auckland: not akl's 2026
        (3, 3, ROOMS[2], utc("2027-01-01T03:00"), True),  # 31 Dec 2026 22:00 in New York: nyc's 2026
        (4, 4, ROOMS[2], utc("2026-01-01T03:00"), True),  # 31 Dec 2025 in New York: not nyc's 2026
        (5, None, ROOMS[2], utc("2026-06-01T12:00"), True),  # unscheduled, in nyc's room: nyc's
        (6, 5, ROOMS[2], utc("2026-07-01T12:00"), True),  # akl's meeting, held in nyc's room: akl's
        (7, 3, ROOMS[2], utc("2026-08-01T12:00"), False),  # never ended: nobody's
    ]
    meetings = {1: 1, 2: 1, 3: 2, 4: 2, 5: 1}  # meeting → subject
    rows: dict[type, list[dict[str, Any]]] = {
        Subject: [subject(1, "akl", "Pacific/Auckland"), subject(2, "nyc", "America/New_York")],
        Meeting: [meeting(n, of, utc("2026-01-05T12:00")) for n, of in meetings.items()],
        MeetingSession: [],
        MinuteLine: [],
        MinuteTag: [],
        ActionItem: [],
    }
    for n, meeting_id, room, start, ended in sessions:
        rows[MeetingSession].append(
            dict(id=n, meeting_id=meeting_id, room_id=room, occurrence_utc=start, title=f"Session {n}",
                 started_by=BY, started_at=start, ended_at=start + timedelta(hours=1) if ended else None)
        )  # fmt: skip
        rows[MinuteLine].append(
            dict(id=n, session_id=n, event_id=f"$line{n}", sender=BY, display_name=None,
                 server_time=start + timedelta(minutes=5), msgtype="m.text", text=f"!agreed Decision {n}")
        )  # fmt: skip
        rows[MinuteTag].append(
            dict(id=n, line_id=n, position=0, tag="agreed", args={"text": f"Decision {n}"})
        )
    for n, of, created in [
        (1, 1, utc("2026-12-31T12:00")),  # 2027 in Auckland
        (2, 1, utc("2026-06-01T00:00")),
        (3, 2, utc("2027-01-01T03:00")),  # 2026 in New York
        (4, 2, utc("2026-01-01T03:00")),  # 2025 in New York
    ]:
        rows[ActionItem].append(
            dict(id=n, subject_id=of, room_id=ROOMS[of], session_id=None, event_id=f"$action{n}", owner=BY,
                 text=f"Action {n}", due=date(2027, 6, 1), status="open", created_by=BY, created_at=created,
                 updated_at=created)
        )  # fmt: skip
    async with UnitOfWork(database.sessions) as uow:
        for model, values in rows.items():
            await uow.session.execute(insert(model), values)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        report = await compile_report(uow, period=year(2026), now=NOW)
    akl, nyc = report.subjects
    assert [(h.reference, h.title) for h in akl.held] == [("M1", "Session 1"), ("M5", "Session 6")]
    assert [(h.reference, h.title) for h in nyc.held] == [("S5", "Session 5"), ("M3", "Session 3")]
    assert [d.text for d in akl.decisions] == ["Decision 1", "Decision 6"]
    assert [d.text for d in nyc.decisions] == ["Decision 5", "Decision 3"]
    assert [a.label for a in akl.actions_opened] == ["A2"]
    assert [a.label for a in nyc.actions_opened] == ["A3"]
    assert report.totals.meetings_held == 4
