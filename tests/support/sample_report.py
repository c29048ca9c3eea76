"""A report to the advisory groups with something in every section, built from small factories: tests
change only what their story is about (`report(subjects=…)`, `subject(slug, title, held=…)`). User text
includes markup and script that must stay text wherever it is shown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from iscg_bot.domain.report_model import (
    ActionRow,
    FocalPoint,
    HeldMeeting,
    Noted,
    Overlap,
    Period,
    PlannedMeeting,
    Report,
    Source,
    SubjectReport,
    Totals,
    Who,
)

ALICE = Who("@alice:example.org", "Alice")
BOB = Who("@bob:example.org", "Bob")
CAROL = Who("@carol:example.org", "Carol")
DAN = Who("@dan:example.org")
EVE = Who("Eve Guest")  # not on Matrix
YEAR = Period(date(2026, 1, 1), date(2026, 12, 31))
GENERATED = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SPECIALS = (
    "# not a heading *not em* __not strong__ `code` [x](javascript:alert(1)) ![i](https://e.org/i.png) | a |"
)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def held(
    ref: str, title: str, start: datetime, minutes: int, url: str | None = None, **kw: object
) -> HeldMeeting:
    fields: dict = dict(attendance=7, regrets=2, minutes_status="approved" if url else "draft")
    return HeldMeeting(
        ref, title, start, start + timedelta(minutes=minutes), minutes_url=url, **(fields | kw)
    )


def noted(text: str, subject: tuple[str, str], meeting: str, at: datetime) -> Noted:
    return Noted(text, subject[0], subject[1], meeting, at)


def action(label: str, owner: Who, text: str, status: str = "open", **kw: object) -> ActionRow:
    fields: dict = dict(due=date(2026, 12, 11), opened_on=date(2026, 12, 3), closed_on=None, overdue=False)
    return ActionRow(label, owner, text, status=status, origin=kw.pop("origin", "M12"), **(fields | kw))


def subject(slug: str, title: str, zone: str = "Europe/Zurich", **kw: object) -> SubjectReport:
    """A subject where nothing happened; give it what the story needs."""
    empty: dict = dict(coordinators=(), focal_points=(), held=(), planned=(), decisions=(), key_issues=())
    empty |= dict(actions_opened=(), actions_closed=(), actions_overdue=(), description=None)
    return SubjectReport(slug, title, zone=zone, **(empty | kw))


ACC = ("accessibility", "Accessibility")
ENV = ("environment", "Environment & climate")
HOSTILE = ("hostile", IMG)

ACCESSIBILITY = subject(
    *ACC,
    description="Accessibility of ITU meetings and publications.",
    coordinators=(ALICE, BOB),
    focal_points=(FocalPoint("ITU-T", CAROL), FocalPoint("ITU-R", DAN), FocalPoint("ITU-T", EVE)),
    held=(
        held("M12", "Coordination call", utc(12, 3, 13), 90, "https://bot.example.org/minutes/M12"),
        held("S7", "Ad hoc: captioning", utc(6, 9, 8), 45, attendance=4, regrets=0),
    ),
    planned=(
        PlannedMeeting("M13", "Coordination call", utc(1, 14, 13) + timedelta(days=365), "Europe/Zurich"),
    ),
    decisions=(
        noted("Adopt the captioning guidelines", ACC, "M12", utc(12, 3, 13, 30)),
        noted("Ask TSB for a budget line", ACC, "S7", utc(6, 9, 8, 20)),
    ),
    key_issues=(noted("Remote participation tools lack captions", ACC, "M12", utc(12, 3, 14)),),
    actions_opened=(action("A3", ALICE, "Draft the liaison letter"),),
    actions_closed=(
        action(
            "A1", BOB, "Collect the survey", "done", closed_on=date(2026, 7, 1), opened_on=date(2026, 6, 9)
        ),
    ),
    actions_overdue=(
        action("A2", EVE, "Translate the guide", due=date(2026, 10, 1), overdue=True, origin=None),
    ),
)
ENVIRONMENT = subject(
    *ENV,
    zone="America/New_York",
    coordinators=(CAROL,),
    focal_points=(FocalPoint("ITU-D", BOB),),
    held=(
        held("M20", "E-waste & climate call", utc(11, 5, 23, 30), 60, "https://bot.example.org/minutes/M20"),
    ),
    planned=(PlannedMeeting("M21", "E-waste & climate call", datetime(2027, 2, 5, 1, 0, tzinfo=UTC), "UTC"),),
    decisions=(noted("Share the e-waste dataset", ENV, "M20", utc(11, 5, 23, 45)),),
    key_issues=(noted("Two studies on e-waste metrics", ENV, "M20", utc(11, 5, 23, 50)),),
    actions_opened=(action("A9", Who("@fred:example.org", "Fred"), "Compare the metrics", origin="M20"),),
    actions_closed=(
        action("A8", CAROL, "Old task", "dropped", closed_on=date(2026, 11, 5), opened_on=date(2026, 2, 1)),
    ),
)
HOSTILE_SUBJECT = subject(
    *HOSTILE,
    zone="UTC",
    coordinators=(Who("@mallory:example.org", SCRIPT),),
    held=(held("M30", SCRIPT, utc(4, 1, 10), 30, "javascript:alert(1)"),),
    decisions=(noted(SCRIPT, HOSTILE, "M30", utc(4, 1, 10, 5)),),
    key_issues=(noted(SPECIALS, HOSTILE, "M30", utc(4, 1, 10, 6)),),
    actions_opened=(action("A40", Who(SCRIPT), IMG, origin="M30"),),
)
EMPTY = subject("spectrum", "Spectrum matters")
OVERLAPS = (
    Overlap(
        Source("accessibility", "decision", "Adopt the captioning guidelines", "M12"),
        Source("environment", "meeting", "Guidelines for captioning e-waste videos", "M20"),
        0.72,
        ("captioning", "guidelines"),
    ),
    Overlap(
        Source("hostile", "meeting", SCRIPT, "M30"), Source("gone", "decision", IMG, "S1"), 0.5, ("alert",)
    ),
)
KEY_ISSUES = ACCESSIBILITY.key_issues + ENVIRONMENT.key_issues + HOSTILE_SUBJECT.key_issues


def report(**changes: object) -> Report:
    full = Report(
        title="ISCG report to TSAG, RAG and TDAG — 2026",
        period=YEAR,
        scope="all subjects",
        generated_at=GENERATED,
        subjects=(ACCESSIBILITY, ENVIRONMENT, HOSTILE_SUBJECT, EMPTY),
        totals=Totals(4, 4, 3.75, 25, 4, 3, 3, 2, 1),
        key_issues=KEY_ISSUES,
        overlaps=OVERLAPS,
        base_url="https://bot.example.org/reports/2026",
    )
    return replace(full, **changes)
