"""From a session's stored log to the minutes document (`iscg_bot.domain.minutes_model`) every writer takes.

One builder for every reader: the summary at `!endmeeting`, the Markdown file, the HTML page and the
rebuild by `iscg-bot minutes regenerate`. Approved minutes are built as the log stood when they were
approved (`as_of`): an edit or redaction that arrives later stays in the raw log but changes nothing until
a chair reopens them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from iscg_bot.domain.minutes_model import Action, Item, Link, LogLine, MinutesDocument, Person, Topic
from iscg_bot.storage.models import ActionItem

if TYPE_CHECKING:
    from iscg_bot.storage import UnitOfWork
    from iscg_bot.storage.models import Meeting, MeetingSession, MinuteLine, MinuteLineEdit, MinuteTag

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
    edits = await uow.minutes.edits_of_session(session.id)
    tags = await uow.minutes.tags(session.id)
    lines = [
        line
        for line in await uow.minutes.lines(session.id)
        if line.redacted_at is None or (as_of is not None and line.redacted_at > as_of)
    ]
    names: dict[str, str | None] = {line.sender: line.display_name for line in lines}

    def person(user_id: str) -> Person:
        return Person(user_id, names.get(user_id) or None)

    attendance: dict[str, None] = {}
    regrets: dict[str, None] = {}
    topics: list[tuple[str | None, list[Item]]] = [(None, [])]
    decisions: list[str] = []
    key_issues: list[str] = []
    links: list[Link] = []
    action_tags: list[dict[str, Any]] = []
    log: list[LogLine] = []
    for line in lines:
        attendance.setdefault(line.sender)
        text = _text_as_of(line, edits.get(line.id, []), as_of)
        counting = [t for t in tags.get(line.id, []) if not t.undone]
        edited = any(as_of is None or e.at <= as_of for e in edits.get(line.id, []))
        log.append(
            LogLine(
                line.server_time,
                person(line.sender),
                text,
                line.msgtype,
                tuple(t.tag for t in counting),
                edited,
            )
        )
        written = _said_by_commands(text, prefix)
        seen: dict[str, int] = {}
        for found in tags.get(line.id, []):
            args = found.args or {}
            said = _tag_text(found, args, written, seen)
            if found.undone:
                continue
            if found.tag == "topic":
                topics.append((said, []))
            elif found.tag == "present":
                for user in args.get("users") or [line.sender]:
                    attendance.setdefault(user)
            elif found.tag == "regrets":
                regrets.setdefault(args.get("user") or line.sender)
            if found.tag in SUMMARY_TAGS:
                url = args.get("url") if found.tag == "link" else None
                topics[-1][1].append(Item(found.tag, said, person(line.sender), line.server_time, url))
            if found.tag == "agreed":
                decisions.append(said)
            elif found.tag == "keyissue":
                key_issues.append(said)
            elif found.tag == "link":
                links.append(Link(str(args.get("url", "")), said))
            elif found.tag == "action":
                action_tags.append(args)
    if meeting is not None:
        for rsvp in await uow.rsvps.for_meeting(meeting.id):
            if rsvp.answer == "no" and rsvp.matrix_id not in attendance:
                regrets.setdefault(rsvp.matrix_id)
    return MinutesDocument(
        reference=session.reference,
        title=session.title,
        subject=subject.title if subject is not None else None,
        zone=zone,
        started_at=session.started_at,
        ended_at=session.ended_at,
        status=status_of(session),
        approved_by=person(session.approved_by) if session.approved_by else None,
        approved_at=session.approved_at,
        chairs=tuple(person(c) for c in await uow.minutes.chairs(session.id)),
        attendance=tuple(person(a) for a in sorted(attendance)),
        regrets=tuple(person(r) for r in sorted(regrets)),
        agenda=tuple(item.text for item in meeting.agenda) if meeting is not None else (),
        topics=tuple(Topic(title, tuple(items)) for title, items in topics if items or title is not None),
        decisions=tuple(decisions),
        actions=await _actions(uow, action_tags, person, as_of),
        key_issues=tuple(key_issues),
        links=tuple(links),
        log=tuple(log),
        page_url=base_url + page_path(session, meeting) if base_url else None,
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
