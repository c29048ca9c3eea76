"""The one model of a report to the advisory groups: what `iscg_bot.domain.reports` compiles from the database
and every renderer (Markdown, HTML, Word) shows. Plain frozen dataclasses: no database, no formatting.

Times are aware UTC datetimes; days are calendar days in the subject's zone (due dates, the period).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

ALL_SUBJECTS = "all subjects"  # a report's scope when it covers every subject


@dataclass(frozen=True)
class Period:
    """The days reported on, both ends included: a year, or any range."""

    first: date
    last: date

    @property
    def label(self) -> str:
        if (self.first.month, self.first.day, self.last.month, self.last.day) == (1, 1, 12, 31) and (
            self.first.year == self.last.year
        ):
            return str(self.first.year)
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


@dataclass(frozen=True)
class Who:
    user_id: str  # a Matrix ID, or a free-text name (action owners not on Matrix)
    name: str | None = None  # display name when known

    @property
    def label(self) -> str:
        return f"{self.name} ({self.user_id})" if self.name and self.name != self.user_id else self.user_id


@dataclass(frozen=True)
class FocalPoint:
    sector: str  # ITU-R, ITU-T, ITU-D, GS
    who: Who


@dataclass(frozen=True)
class HeldMeeting:
    """One minuted session in the period."""

    reference: str  # "M12" (a scheduled meeting) or "S7" (an unscheduled session)
    title: str
    started_at: datetime
    ended_at: datetime
    attendance: int
    regrets: int
    minutes_status: str  # "draft" | "approved"
    minutes_url: str | None

    @property
    def duration_minutes(self) -> int:
        return round((self.ended_at - self.started_at).total_seconds() / 60)


@dataclass(frozen=True)
class PlannedMeeting:
    """An occurrence after the period's end (or after now, whichever is later), not cancelled."""

    reference: str
    title: str
    start: datetime
    zone: str


@dataclass(frozen=True)
class Noted:
    """A decision or a key issue, with where it was said."""

    text: str
    subject_slug: str
    subject_title: str
    meeting: str  # the meeting's reference, "M12" or "S7"
    at: datetime


@dataclass(frozen=True)
class ActionRow:
    label: str  # "A3"
    owner: Who
    text: str
    due: date | None
    status: str  # "open" | "done" | "dropped"
    opened_on: date
    closed_on: date | None
    overdue: bool  # open, and due before the period's last day (or today, whichever is earlier)
    origin: str | None  # the meeting's reference it came from


@dataclass(frozen=True)
class SubjectReport:
    slug: str
    title: str
    description: str | None
    zone: str
    coordinators: tuple[Who, ...]
    focal_points: tuple[FocalPoint, ...]
    held: tuple[HeldMeeting, ...]
    planned: tuple[PlannedMeeting, ...]
    decisions: tuple[Noted, ...]
    key_issues: tuple[Noted, ...]
    actions_opened: tuple[ActionRow, ...]  # opened in the period
    actions_closed: tuple[ActionRow, ...]  # done or dropped in the period
    actions_overdue: tuple[ActionRow, ...]  # open and overdue at the period's end


@dataclass(frozen=True)
class Totals:
    subjects: int
    meetings_held: int
    meeting_hours: float
    attendance: int  # the sum of the meetings' attendance counts
    decisions: int
    key_issues: int
    actions_opened: int
    actions_closed: int
    actions_overdue: int


@dataclass(frozen=True)
class Source:
    """One side of a possible duplication: a meeting title or a decision of a subject."""

    subject_slug: str
    kind: str  # "meeting" | "decision"
    text: str
    reference: str  # "M12", "S7"


@dataclass(frozen=True)
class Overlap:
    """Two subjects' meetings or decisions on what looks like the same topic."""

    first: Source
    second: Source
    score: float  # 0…1, the similarity (see iscg_bot.domain.similarity)
    shared: tuple[str, ...]  # the words they share that made the score: the explanation


@dataclass(frozen=True)
class Report:
    title: str  # e.g. "ISCG report to TSAG, RAG and TDAG — 2026"
    period: Period
    scope: str  # "all subjects", "TSAG", or one subject's title
    generated_at: datetime
    subjects: tuple[SubjectReport, ...]
    totals: Totals
    key_issues: tuple[Noted, ...]  # all subjects' key issues: for the Bureau Directors and the ISC-TF
    overlaps: tuple[Overlap, ...]  # the closest ones (see overlaps_found)
    base_url: str | None = None  # the report's own web copy (`…/reports/2026/cop`); None for a range
    overlaps_found: int = 0  # how many there were before the closest were kept


def report_path(year: int, scope: str | None = None) -> str:
    """A report's web copy: `/reports/2026` (all subjects), `/reports/2026/cop`, `/reports/2026/TSAG`."""
    return f"/reports/{year}" + (f"/{scope}" if scope else "")
