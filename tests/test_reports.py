"""The report to the advisory groups, compiled from a year seeded through the chat driver
(`tests.support.year_story`). Every expected figure below is counted from what the story did, not by the code
under test.
"""

from __future__ import annotations

import time as timer
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from iscg_bot.commands import build_router
from iscg_bot.domain import reports as reports_module
from iscg_bot.domain.minutes_document import build
from iscg_bot.domain.read_ahead import Prefetched
from iscg_bot.domain.report_model import Period, Report, SubjectReport
from iscg_bot.domain.reports import ReportError, compile_report, period_bounds, year
from iscg_bot.domain.similarity import similar
from iscg_bot.storage import MeetingSession, Subject, UnitOfWork
from tests.chat import COORD, Chat, settings
from tests.support.year_story import (
    BASE,
    COORD4,
    FP_D,
    FP_D2,
    FP_GS,
    FP_T,
    MEMBER,
    NOW,
    Y2027,
    at,
    seed,
)


@pytest.fixture
async def seeded(chat: Chat) -> Chat:
    return await seed(chat)


@dataclass(frozen=True)
class Expected:
    held: int
    minutes: int  # the held meetings' total length
    attendance: int  # summed over the held meetings
    regrets: int
    decisions: int
    key_issues: int
    opened: int
    closed: int
    overdue: int


EXPECTED = {
    # M1: COORD, MEMBER · Jan: COORD, FP_T, FP_D, MEMBER (regrets: ABSENT) · Feb: COORD, FP_T · Mar: COORD,
    # MEMBER · May: COORD, FP_D, GUEST (regrets: MEMBER2's "no")
    # decisions: M1's, January's (the withdrawn and the redacted ones left out), March's
    # opened A3 A4 A5 A7 A8 · closed A2 A4 A5 · overdue A3 (due 1 Mar) and A7 (open at the year's end)
    "cop": Expected(5, 40 + 60 + 60 + 45 + 90, 2 + 4 + 2 + 2 + 3, 1 + 1, 3, 2, 5, 3, 2),
    "ai": Expected(1, 60, 2, 0, 1, 1, 1, 0, 1),  # M5: COORD2, FP_R · A6 open, due 30 Sep
    "emf": Expected(1, 30, 2, 0, 1, 1, 0, 0, 0),  # COORD3, FP_GS
}


def figures(subject: SubjectReport) -> Expected:
    return Expected(
        held=len(subject.held),
        minutes=sum(h.duration_minutes for h in subject.held),
        attendance=sum(h.attendance for h in subject.held),
        regrets=sum(h.regrets for h in subject.held),
        decisions=len(subject.decisions),
        key_issues=len(subject.key_issues),
        opened=len(subject.actions_opened),
        closed=len(subject.actions_closed),
        overdue=len(subject.actions_overdue),
    )


async def compiled(chat: Chat, period: Period = Y2027, **scope: str) -> Report:
    async with UnitOfWork(chat.database.sessions) as uow:
        return await compile_report(uow, period=period, now=chat.clock.now(), base_url=BASE, **scope)


async def test_the_years_figures_equal_what_the_story_did(seeded):
    calls: list[tuple[int, int]] = []
    started = timer.perf_counter()
    async with UnitOfWork(seeded.database.sessions) as uow:
        report = await compile_report(
            uow,
            period=Y2027,
            now=NOW,
            base_url=BASE,
            progress=lambda done, total: calls.append((done, total)),
        )
    print(f"compiled in {timer.perf_counter() - started:.3f} s")
    assert report.title == "ISCG report to TSAG, RAG and TDAG — 2027"
    assert report.scope == "all subjects" and report.generated_at == NOW
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # ai, cop, emf, old (archived, no meeting: left out)
    assert [s.slug for s in report.subjects] == ["ai", "cop", "emf"]
    assert {s.slug: figures(s) for s in report.subjects} == EXPECTED
    totals = report.totals
    assert totals.subjects == 3
    assert totals.meetings_held == sum(e.held for e in EXPECTED.values()) == 7
    assert totals.meeting_hours == round(sum(e.minutes for e in EXPECTED.values()) / 60, 2)
    assert totals.attendance == sum(e.attendance for e in EXPECTED.values())
    assert (totals.decisions, totals.key_issues) == (5, 4)
    assert (totals.actions_opened, totals.actions_closed, totals.actions_overdue) == (6, 3, 3)


async def test_meetings_held_are_counted_in_the_subjects_zone(seeded):
    """Cross-check with the table: sessions whose start falls in 2027 in their subject's zone."""
    async with UnitOfWork(seeded.database.sessions) as uow:
        rooms = {s.room_id: s for s in await uow.session.scalars(select(Subject))}
        in_2027: dict[str, int] = {}
        for session in await uow.session.scalars(select(MeetingSession)):
            subject = rooms[session.room_id]
            if session.started_at.astimezone(ZoneInfo(subject.timezone)).year == 2027:
                in_2027[subject.slug] = in_2027.get(subject.slug, 0) + 1
    assert in_2027 == {slug: e.held for slug, e in EXPECTED.items()}
    report = await compiled(seeded)
    cop = next(s for s in report.subjects if s.slug == "cop")
    first = cop.held[0]
    assert (first.reference, first.title, first.started_at) == (
        "M1",
        "Year-end check",
        at("2026-12-31T23:30"),
    )
    ai_2026 = await compiled(seeded, year(2026), subject_slug="ai")
    assert [(h.reference, h.started_at) for h in ai_2026.subjects[0].held] == [("M2", at("2026-12-31T23:30"))]
    assert [d.text for d in ai_2026.subjects[0].decisions] == ["Something decided in 2026"]


async def test_one_subject_in_detail(seeded):
    report = await compiled(seeded, subject_slug="cop")
    assert report.title == "ISCG report — Child Online Protection — 2027"
    assert report.scope == "Child Online Protection"
    [cop] = report.subjects
    assert (cop.title, cop.description, cop.zone) == (
        "Child Online Protection",
        "Protecting children online.",
        "Europe/Zurich",
    )
    assert [w.user_id for w in cop.coordinators] == [COORD]
    assert [(f.sector, f.who.user_id) for f in cop.focal_points] == [("ITU-T", FP_T), ("ITU-D", FP_D)]
    assert [
        (h.reference, h.started_at, h.duration_minutes, h.attendance, h.regrets, h.minutes_status)
        for h in cop.held
    ] == [
        ("M1", at("2026-12-31T23:30"), 40, 2, 0, "draft"),
        ("M3", at("2027-01-14T13:00"), 60, 4, 1, "approved"),
        ("M3", at("2027-02-16T09:00"), 60, 2, 0, "draft"),  # the moved occurrence
        ("M3", at("2027-03-14T13:00"), 45, 2, 0, "draft"),
        ("M4", at("2027-05-20T08:00"), 90, 3, 1, "draft"),
    ]
    async with UnitOfWork(seeded.database.sessions) as uow:
        session_ids = list(await uow.session.scalars(select(MeetingSession.id).order_by(MeetingSession.id)))
    # a one-off meeting's minutes are on its page, a series' on the session's
    assert [h.minutes_url for h in cop.held] == [
        f"{BASE}/meetings/M1",
        f"{BASE}/minutes/S{session_ids[2]}",
        f"{BASE}/minutes/S{session_ids[3]}",
        f"{BASE}/minutes/S{session_ids[4]}",
        f"{BASE}/meetings/M4",
    ]
    assert [(d.text, d.meeting) for d in cop.decisions] == [
        ("Publish the child online safety guidelines", "M1"),
        ("Hold a joint workshop on child online safety in March", "M3"),
        ("Publish the child online safety guidelines in June", "M3"),
    ]
    assert [k.text for k in cop.key_issues] == [
        "Funding for the 2028 workshop",
        "Overlap with the ITU-D child protection programme",
    ]
    # planned: after 10 Jan 2028 (later than the year's end); February 2028 is cancelled
    assert [(p.reference, p.start.date()) for p in cop.planned] == [
        ("M3", date(2028, 1, 14)),
        ("M3", date(2028, 3, 14)),
        ("M3", date(2028, 4, 14)),
        ("M3", date(2028, 5, 14)),
        ("M3", date(2028, 6, 14)),
    ]
    assert [(a.label, a.status, a.closed_on) for a in cop.actions_closed] == [
        ("A2", "done", date(2027, 2, 1)),
        ("A4", "done", date(2027, 1, 20)),
        ("A5", "dropped", date(2027, 6, 1)),
    ]
    assert [a.label for a in cop.actions_opened] == ["A3", "A4", "A5", "A7", "A8"]
    overdue = [(a.label, a.owner.user_id, a.due, a.status, a.origin) for a in cop.actions_overdue]
    assert overdue == [
        ("A3", FP_T, date(2027, 3, 1), "open", "M3"),
        ("A7", MEMBER, date(2027, 9, 1), "open", None),  # done on 5 Jan 2028: open at the year's end
    ]


async def test_an_archived_subject_is_reported_when_asked_by_name(seeded):
    report = await compiled(seeded, subject_slug="old")
    [old] = report.subjects
    assert (old.slug, old.held, [c.user_id for c in old.coordinators]) == ("old", (), [COORD4])


async def test_scope_by_advisory_group_follows_the_sectors_focal_points(seeded):
    """TSAG ↔ ITU-T, RAG ↔ ITU-R, TDAG ↔ ITU-D: a subject counts when it had a focal point of that Sector
    during the year. emf's ITU-T focal point left in Dec 2026; its ITU-D one came in June 2027."""
    scopes = {}
    for group in ("TSAG", "RAG", "tdag"):
        report = await compiled(seeded, advisory_group=group)
        scopes[report.scope] = ([s.slug for s in report.subjects], report.title)
    assert scopes == {
        "TSAG": (["cop"], "ISCG report to TSAG — 2027"),
        "RAG": (["ai"], "ISCG report to RAG — 2027"),
        "TDAG": (["cop", "emf"], "ISCG report to TDAG — 2027"),
    }
    tdag = await compiled(seeded, advisory_group="TDAG")
    assert tdag.totals.meetings_held == EXPECTED["cop"].held + EXPECTED["emf"].held
    emf = next(s for s in tdag.subjects if s.slug == "emf")
    assert [(f.sector, f.who.user_id) for f in emf.focal_points] == [("ITU-D", FP_D2), ("GS", FP_GS)]


async def test_key_issues_across_subjects_by_subject_then_time(seeded):
    report = await compiled(seeded)
    assert [(k.subject_slug, k.meeting, k.text) for k in report.key_issues] == [
        ("ai", "M5", "Spectrum needs of AI-driven networks"),
        ("cop", "M1", "Funding for the 2028 workshop"),
        ("cop", "M3", "Overlap with the ITU-D child protection programme"),
        ("emf", report.subjects[2].held[0].reference, "Public concern about EMF exposure"),
    ]
    assert report.subjects[2].held[0].reference.startswith("S")  # unscheduled


async def test_similar_decisions_of_two_subjects_are_a_possible_duplication(seeded):
    report = await compiled(seeded)
    [overlap] = report.overlaps
    assert (overlap.first.subject_slug, overlap.first.kind, overlap.first.reference) == (
        "ai",
        "decision",
        "M5",
    )
    assert overlap.first.text == "Joint workshop on child online safety with ITU-D in May"
    assert (overlap.second.subject_slug, overlap.second.reference) == ("cop", "M3")
    assert overlap.second.text == "Hold a joint workshop on child online safety in March"
    assert overlap.shared == ("child", "joint", "online", "safety", "workshop")
    assert overlap.score == 5 / 8
    # cop's two guidelines decisions are as close, but one subject repeating itself is no duplication
    assert similar(
        "Publish the child online safety guidelines", "Publish the child online safety guidelines in June"
    )


async def test_only_the_closest_overlaps_are_kept_and_the_rest_counted(seeded, monkeypatch):
    assert (await compiled(seeded)).overlaps_found == 1
    monkeypatch.setattr(reports_module, "MOST_OVERLAPS", 0)
    report = await compiled(seeded)
    assert (report.overlaps, report.overlaps_found) == ((), 1)


async def test_unknown_scope_is_refused_in_a_sentence(seeded):
    for scope, sentence in [
        ({"subject_slug": "nope"}, 'There is no subject "nope".'),
        ({"advisory_group": "ITU"}, '"ITU" is not an advisory group: use TSAG, RAG or TDAG.'),
        (
            {"subject_slug": "cop", "advisory_group": "TSAG"},
            "Report on one subject or on one advisory group's subjects, not both.",
        ),
        (
            {"period": Period(date(2027, 2, 1), date(2027, 1, 1))},
            "The period ends (2027-01-01) before it starts (2027-02-01).",
        ),
    ]:
        with pytest.raises(ReportError) as refused:
            await compiled(seeded, **scope)
        assert str(refused.value) == sentence


async def test_the_same_figures_on_sqlite_and_postgresql(database):
    chat = await seed(Chat(database, build_router("!"), settings()))
    report = await compiled(chat)
    assert {s.slug: figures(s) for s in report.subjects} == EXPECTED
    assert len(report.overlaps) == 1


async def test_minutes_read_ahead_are_the_minutes_document(seeded):
    """The report reads a subject's minutes in a few queries (`Prefetched`): `build` must see the same."""
    async with UnitOfWork(seeded.database.sessions) as uow:
        for subject in await uow.subjects.list(include_archived=True):
            start, end = period_bounds(Period(date(2026, 1, 1), date(2027, 12, 31)), subject.timezone)
            sessions = await uow.reports.ended_sessions(
                subject_id=subject.id, room_id=subject.room_id, started_from=start, started_before=end
            )
            meetings = await uow.reports.meetings(s.meeting_id for s in sessions if s.meeting_id is not None)
            read_ahead = await Prefetched.load(uow, subject, sessions, meetings)
            for session in sessions:
                direct = await build(uow, session, zone=subject.timezone, base_url=BASE)
                assert await build(read_ahead, session, zone=subject.timezone, base_url=BASE) == direct


async def test_the_report_links_its_own_web_copy_not_the_site(seeded):
    # A Word file read away from the chat says where its web copy is: the report's page, not the home page.
    assert (await compiled(seeded)).base_url == f"{BASE}/reports/2027"
    assert (await compiled(seeded, subject_slug="cop")).base_url == f"{BASE}/reports/2027/cop"
    assert (await compiled(seeded, advisory_group="TSAG")).base_url == f"{BASE}/reports/2027/TSAG"
    # A range of days has no page of its own on the site: no link rather than a wrong one.
    spring = Period(date(2027, 3, 1), date(2027, 5, 31))
    assert (await compiled(seeded, period=spring)).base_url is None
