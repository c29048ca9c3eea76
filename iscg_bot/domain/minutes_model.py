"""The one model of a meeting's minutes: what `iscg_bot.domain.minutes_document` builds from the stored log
and every writer (`iscg_bot.render.minutes_render`) reads. Plain frozen values, no behaviour beyond labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from iscg_bot.core.i18n import _, lazy

UNSCHEDULED_TITLE = lazy("Unscheduled meeting")  # a session's title with no meeting: stored in English


def shown_title(title: str) -> str:
    """A session's title as shown: the unscheduled one's stored (English) title in the language being
    written, any other as it was given."""
    return _(UNSCHEDULED_TITLE) if title == UNSCHEDULED_TITLE else title


@dataclass(frozen=True)
class Person:
    user_id: str  # a Matrix ID "@alice:example.org", or a free-text name for people not on Matrix
    name: str | None = None  # display name when known

    @property
    def label(self) -> str:
        """`Alice (@alice:example.org)`, or the bare ID when the name adds nothing."""
        return f"{self.name} ({self.user_id})" if self.name and self.name != self.user_id else self.user_id

    @property
    def short(self) -> str:
        """The name alone, for the log and the summary where the full label would be noise."""
        return self.name or self.user_id


@dataclass(frozen=True)
class LogLine:
    time: datetime  # aware, UTC (server time of the message)
    who: Person
    text: str  # verbatim, may contain anything
    kind: str = "m.text"  # "m.text" | "m.notice" | "m.emote" | "m.undecryptable"
    tags: tuple[str, ...] = ()  # tags on this line that count, e.g. ("agreed",)
    edited: bool = False


@dataclass(frozen=True)
class Item:  # one tagged line, shown in its topic's section
    tag: str  # "info" | "idea" | "agreed" | "rejected" | "action" | "link" | "keyissue"
    text: str
    who: Person
    time: datetime
    url: str | None = None  # for "link"


@dataclass(frozen=True)
class Topic:
    title: str | None  # None: before the first !topic
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Action:
    label: str  # "A3"
    owner: Person
    text: str
    due: date | None
    status: str  # "open" | "done" | "dropped"


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass(frozen=True)
class MinutesDocument:
    reference: str  # "M12" (a scheduled meeting) or "S7" (an unscheduled session)
    title: str
    subject: str | None  # the subject's title
    zone: str  # IANA zone of the subject
    started_at: datetime  # aware UTC
    ended_at: datetime | None  # None while the meeting still runs
    status: str  # "running" | "draft" | "approved"
    approved_by: Person | None
    approved_at: datetime | None
    chairs: tuple[Person, ...]
    attendance: tuple[Person, ...]
    regrets: tuple[Person, ...]
    agenda: tuple[str, ...]
    topics: tuple[Topic, ...]
    decisions: tuple[str, ...]
    actions: tuple[Action, ...]
    key_issues: tuple[str, ...]
    links: tuple[Link, ...]
    log: tuple[LogLine, ...]
    page_url: str | None = None  # where the HTML copy lives, mentioned in the Markdown
