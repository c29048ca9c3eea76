"""From a session's stored log to the minutes document (`iscg_bot.domain.minutes_model`) every writer takes.

One builder for every reader: the summary at `!endmeeting`, the Markdown file, the HTML page and the
rebuild by `iscg-bot minutes regenerate`. Approved minutes are built as the log stood when they were
approved (`as_of`): an edit or redaction that arrives later stays in the raw log but changes nothing until
a chair reopens them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from iscg_bot.domain.minutes_model import Action, Item, Link, LogLine, MinutesDocument, Person, Topic
from iscg_bot.storage.models import ActionItem

if TYPE_CHECKING:
    from iscg_bot.storage import UnitOfWork
    from iscg_bot.storage.models import (
        Meeting,
        MeetingSession,
        MinuteLine,
        MinuteLineEdit,
        MinuteTag,
        Subject,
    )

SUMMARY_TAGS = ("info", "idea", "agreed", "rejected", "action", "link", "keyissue")
# The tag commands whose whole argument is their text: an edit of the line edits what they say.
TEXT_COMMANDS = {
    "topic": "topic",
    "info": "info",
    "idea": "idea",
    "agreed": "agreed",
    "decision": "agreed",
    "rejected": "rejected",
    "keyissue": "keyissue",
}


def page_path(session: MeetingSession, meeting: Meeting | None) -> str:
    """Where the web server shows these minutes: a one-off meeting's own page, else the session's."""
    if meeting is not None and not meeting.rrule:
        return f"/meetings/M{meeting.id}"
    return f"/minutes/S{session.id}"


def status_of(session: MeetingSession) -> str:
    if session.ended_at is None:
        return "running"
    return session.minutes_status


def _text_as_of(line: MinuteLine, edits: list[MinuteLineEdit], as_of: datetime | None) -> str:
    """The line's text as it stood at `as_of`: each edit row keeps the text it replaced, so the first edit
    after `as_of` holds the text of that moment."""
    if as_of is not None:
        for edit in edits:  # oldest first
            if edit.at > as_of:
                return edit.text
    return line.text


def _said_by_commands(text: str, prefix: str) -> dict[str, list[str]]:
    """What each text tag command in a line says, by tag, in the order written (`!info a` → {"info": ["a"]});
    lines that do not start a command continue the one above, as the router reads them."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for row in text.split("\n"):
        stripped = row.strip()
        if stripped.startswith(prefix):
            word, _, rest = stripped[len(prefix) :].partition(" ")
            tag = TEXT_COMMANDS.get(word.lower())
            current = found.setdefault(tag, []) if tag else None
            if current is not None:
                current.append(rest.strip())
        elif current:
            current[-1] = (current[-1] + "\n" + row).strip()
    return found


def _tag_text(
    found: MinuteTag, args: dict[str, Any], said: dict[str, list[str]], seen: dict[str, int]
) -> str:
    """The tag's text as its line now reads (edited lines included), else as first recorded."""
    index = seen.get(found.tag, 0)
    seen[found.tag] = index + 1
    written = said.get(found.tag, [])
    return written[index] if index < len(written) else str(args.get("text", ""))


@dataclass
class _Reading:
    """What the log says, gathered line by line (dicts of None: sets that keep the order first seen)."""

    names: dict[str, str | None]  # display names by sender, as the lines carry them
    attendance: dict[str, None] = field(default_factory=dict)
    regrets: dict[str, None] = field(default_factory=dict)
    topics: list[tuple[str | None, list[Item]]] = field(default_factory=lambda: [(None, [])])
    decisions: list[str] = field(default_factory=list)
    key_issues: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    action_tags: list[dict[str, Any]] = field(default_factory=list)
    log: list[LogLine] = field(default_factory=list)

    def person(self, user_id: str) -> Person:
        return Person(user_id, self.names.get(user_id) or None)


async def build(
    uow: UnitOfWork,
    session: MeetingSession,
    *,
    zone: str,
    base_url: str = "",
    as_of: datetime | None = None,
    prefix: str = "!",
) -> MinutesDocument:
    """The session's minutes; `as_of` defaults to the approval time of approved minutes."""
    if as_of is None and session.minutes_status == "approved":
        as_of = session.approved_at
    meeting = await uow.meetings.get(session.meeting_id) if session.meeting_id is not None else None
    subject = await uow.subjects.by_room(session.room_id)
    read = await _read_log(uow, session.id, as_of, prefix)
    if meeting is not None:
        await _add_regrets_by_rsvp(uow, meeting, read)
    chairs = tuple(read.person(c) for c in await uow.minutes.chairs(session.id))
    actions = await _actions(uow, read.action_tags, read.person, as_of)
    page_url = base_url + page_path(session, meeting) if base_url else None
    return _document(session, meeting, subject, read, chairs, actions, zone=zone, page_url=page_url)


async def _read_log(uow: UnitOfWork, session_id: int, as_of: datetime | None, prefix: str) -> _Reading:
    """The log as it stood at `as_of` (None: as it stands): each line's text then, and what its tags say."""
    edits = await uow.minutes.edits_of_session(session_id)
    tags = await uow.minutes.tags(session_id)
    lines = [
        line
        for line in await uow.minutes.lines(session_id)
        if line.redacted_at is None or (as_of is not None and line.redacted_at > as_of)
    ]
    read = _Reading(names={line.sender: line.display_name for line in lines})
    for line in lines:
        read.attendance.setdefault(line.sender)
        line_edits, line_tags = edits.get(line.id, []), tags.get(line.id, [])
        text = _text_as_of(line, line_edits, as_of)
        counting = tuple(t.tag for t in line_tags if not t.undone)
        edited = any(as_of is None or e.at <= as_of for e in line_edits)
        read.log.append(
            LogLine(line.server_time, read.person(line.sender), text, line.msgtype, counting, edited)
        )
        _read_tags(read, line, line_tags, _said_by_commands(text, prefix))
    return read


def _read_tags(
    read: _Reading, line: MinuteLine, tags: list[MinuteTag], written: dict[str, list[str]]
) -> None:
    """The line's tags that were not undone: a new topic, people present or sending regrets, the items of
    the current topic, and the decisions, key issues, links and actions of the whole meeting."""
    seen: dict[str, int] = {}
    for found in tags:
        args = found.args or {}
        said = _tag_text(found, args, written, seen)  # an undone tag still holds its place among the commands
        if found.undone:
            continue
        if found.tag == "topic":
            read.topics.append((said, []))
        elif found.tag == "present":
            for user in args.get("users") or [line.sender]:
                read.attendance.setdefault(user)
        elif found.tag == "regrets":
            read.regrets.setdefault(args.get("user") or line.sender)
        if found.tag in SUMMARY_TAGS:
            url = args.get("url") if found.tag == "link" else None
            read.topics[-1][1].append(Item(found.tag, said, read.person(line.sender), line.server_time, url))
        if found.tag == "agreed":
            read.decisions.append(said)
        elif found.tag == "keyissue":
            read.key_issues.append(said)
        elif found.tag == "link":
            read.links.append(Link(str(args.get("url", "")), said))
        elif found.tag == "action":
            read.action_tags.append(args)


async def _add_regrets_by_rsvp(uow: UnitOfWork, meeting: Meeting, read: _Reading) -> None:
    """Those who answered "no" to the meeting and were not there count as having sent regrets."""
    for rsvp in await uow.rsvps.for_meeting(meeting.id):
        if rsvp.answer == "no" and rsvp.matrix_id not in read.attendance:
            read.regrets.setdefault(rsvp.matrix_id)


def _document(
    session: MeetingSession,
    meeting: Meeting | None,
    subject: Subject | None,
    read: _Reading,
    chairs: tuple[Person, ...],
    actions: tuple[Action, ...],
    *,
    zone: str,
    page_url: str | None,
) -> MinutesDocument:
    """The document from what the log says and what the session and its meeting record."""
    return MinutesDocument(
        reference=session.reference,
        title=session.title,
        subject=subject.title if subject is not None else None,
        zone=zone,
        started_at=session.started_at,
        ended_at=session.ended_at,
        status=status_of(session),
        approved_by=read.person(session.approved_by) if session.approved_by else None,
        approved_at=session.approved_at,
        chairs=chairs,
        attendance=tuple(read.person(a) for a in sorted(read.attendance)),
        regrets=tuple(read.person(r) for r in sorted(read.regrets)),
        agenda=tuple(item.text for item in meeting.agenda) if meeting is not None else (),
        topics=tuple(
            Topic(title, tuple(items)) for title, items in read.topics if items or title is not None
        ),
        decisions=tuple(read.decisions),
        actions=actions,
        key_issues=tuple(read.key_issues),
        links=tuple(read.links),
        log=tuple(read.log),
        page_url=page_url,
    )


async def _actions(
    uow: UnitOfWork,
    tagged: list[dict[str, Any]],
    person: Callable[[str], Person],
    as_of: datetime | None,
) -> tuple[Action, ...]:
    """The actions recorded in the meeting, as their items stand (or stood, for approved minutes)."""
    numbers = [
        int(str(t["action"]).removeprefix("A")) for t in tagged if str(t.get("action", "")).startswith("A")
    ]
    items = {}
    if numbers:
        items = {
            a.id: a for a in await uow.session.scalars(select(ActionItem).where(ActionItem.id.in_(numbers)))
        }
    found = []
    for args in tagged:
        label = str(args.get("action", ""))
        item = items.get(int(label[1:])) if label[1:].isdigit() else None
        status = "open"
        if item is not None and item.status != "open":
            closed = item.closed_at
            status = item.status if as_of is None or (closed is not None and closed <= as_of) else "open"
        due = date.fromisoformat(args["due"]) if args.get("due") else None
        found.append(
            Action(label or "–", person(str(args.get("who", ""))), str(args.get("text", "")), due, status)
        )
    return tuple(found)
