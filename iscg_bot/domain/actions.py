"""Action items, `A<n>`: who undertook to do what and by when, as plain functions over a unit of work.

`commands.actions` is the chat side. An action is recorded with `!action` (during a meeting it is also a
line of the minutes, and the meeting session is its origin), closed, reopened, handed over or given a new
due date by its owner, the subject's coordinator or the group's officers, listed with `!actions`, shown
when the subject's next meeting starts (`open_actions_notice`), and its owner is reminded once on the due
day (`iscg_bot.chat.action_reminders.run_due_actions`, run by the reminder service's every pass).

A due date is a calendar day read in the subject's zone (the deployment's default zone where there is no
subject): "today", "overdue" and the reminder's 09:00 are all taken there. Refusals are `ActionError`s, one
sentence each.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from iscg_bot.core.errors import DomainError
from iscg_bot.core.formatting import Rich, bullets, join, lines, mention, person, single_line, text
from iscg_bot.core.i18n import PSEUDO, _, accented, babel_locale, current, lazy, n_, tr
from iscg_bot.core.timeshow import MONTHS, day_label, zone_label

if TYPE_CHECKING:
    from iscg_bot.storage import ActionItem, MeetingSession, UnitOfWork

log = logging.getLogger(__name__)

ACTION_REF = re.compile(r"[Aa]([0-9]{1,9})")
STATUSES = ("open", "done", "dropped")
MAX_TEXT = 500
MAX_NAME = 100  # a free-text owner: someone not on Matrix
REMINDER_TIME = time(9, 0)  # on the due day, in the subject's zone; late up to the day's end, then skipped
REMINDER_PREFIX = "action-due:"  # + "A3:2026-12-01": the reminder's key (Matrix transaction ID, purpose)
DEFAULT_ZONE = "Europe/Zurich"  # as `bot.default_timezone`: Geneva has no IANA zone of its own
SEPARATOR = " · "


# An action's status as a listing shows it, and the refusal to set the status it already has.
_STATUS_SHOWN = {"open": lazy("open"), "done": lazy("done"), "dropped": lazy("dropped")}
_OVERDUE = lazy("open, overdue")
_ALREADY = {
    "open": lazy("{action} is already open."),
    "done": lazy("{action} is already done."),
    "dropped": lazy("{action} is already dropped."),
}


class ActionError(DomainError):
    """A request about action items that cannot be done; the message is one sentence."""


def action_label(action_id: int) -> str:
    return f"A{action_id}"


def parse_action_ref(word: str) -> int:
    match = ACTION_REF.fullmatch(word.strip())
    if match is None:
        raise ActionError(_('"{word}" is not an action item ID like A3.', word=word[:20]))
    return int(match.group(1))


def is_matrix_id(owner: str) -> bool:
    return owner.startswith("@")


def owner_name(value: str) -> str:
    """A free-text owner as kept: one line, not empty, at most MAX_NAME characters."""
    return single_line(
        value,
        limit=MAX_NAME,
        error=ActionError,
        empty=lambda: _("The owner's name cannot be empty."),
        too_long=lambda limit: n_(
            "An owner's name holds at most {count} character.",
            "An owner's name holds at most {count} characters.",
            limit,
        ),
    )


def action_text(value: str) -> str:
    return single_line(
        value,
        limit=MAX_TEXT,
        error=ActionError,
        empty=lambda: _("The action cannot be empty."),
        too_long=lambda limit: n_(
            "An action holds at most {count} character.", "An action holds at most {count} characters.", limit
        ),
    )


def today_in(zone: str, now: datetime) -> date:
    """The calendar day it is in `zone` at the instant `now`."""
    return now.astimezone(ZoneInfo(zone)).date()


async def zone_of(uow: UnitOfWork, subject_id: int | None, default_zone: str) -> str:
    """The zone an action's days are read in: its subject's, else the deployment's default."""
    subject = await uow.subjects.get(subject_id) if subject_id is not None else None
    return subject.timezone if subject is not None else default_zone


def _refuse_past(due: date | None, today: date, zone: str) -> None:
    if due is not None and due < today:
        raise ActionError(
            _(
                "{day} is in the past: today is {today} in {zone}.",
                day=day_label(due),
                today=day_label(today),
                zone=zone_label(zone),
            )
        )


# ---- changing actions ------------------------------------------------------------------------------------


async def create(
    uow: UnitOfWork,
    *,
    subject_id: int | None,
    room_id: str,
    owner: str,
    text: str,
    due: date | None,
    by: str,
    now: datetime,
    zone: str,
    session_id: int | None = None,
    event_id: str | None = None,
) -> ActionItem:
    """Record a new open action; a due date before today (in `zone`) is refused."""
    _refuse_past(due, today_in(zone, now), zone)
    return await uow.actions.create(
        subject_id=subject_id,
        room_id=room_id,
        session_id=session_id,
        event_id=event_id,
        owner=owner if is_matrix_id(owner) else owner_name(owner),
        text=action_text(text),
        due=due,
        created_by=by,
        at=now,
    )


async def set_status(uow: UnitOfWork, item: ActionItem, status: str, *, by: str, now: datetime) -> ActionItem:
    """`done` or `dropped` closes the action (closed_at/by set); `open` reopens it (and clears them)."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    if item.status == status:
        raise ActionError(_(_ALREADY[status], action=action_label(item.id)))
    if status == "open":
        return await uow.actions.update(item, at=now, status="open", closed_at=None, closed_by=None)
    return await uow.actions.update(item, at=now, status=status, closed_at=now, closed_by=by)


async def assign(uow: UnitOfWork, item: ActionItem, owner: str, *, now: datetime) -> ActionItem:
    owner = owner if is_matrix_id(owner) else owner_name(owner)
    if owner == item.owner:
        raise ActionError(_("{action} is already {owner}'s.", action=action_label(item.id), owner=owner))
    return await uow.actions.update(item, at=now, owner=owner)


async def set_due(
    uow: UnitOfWork, item: ActionItem, due: date | None, *, now: datetime, zone: str
) -> ActionItem:
    """A new due date (None: none); a day before today is refused. A new day re-arms the reminder."""
    _refuse_past(due, today_in(zone, now), zone)
    return await uow.actions.update(item, at=now, due=due)


# ---- showing actions -------------------------------------------------------------------------------------


def owner_shown(owner: str, *, ping: bool = False) -> Rich:
    """A Matrix ID as a link (a mention only when `ping`), a free-text name as written."""
    if not is_matrix_id(owner):
        return text(owner)
    return mention(owner) if ping else person(owner)


def _short_day(day: date, today: date) -> str:
    """`25 Nov`, with the year when it is not this year's."""
    locale = babel_locale()
    if locale is None:
        shown = f"{day.day} {MONTHS[day.month - 1]}"
        return shown if day.year == today.year else f"{shown} {day.year}"
    from babel.dates import format_skeleton  # Babel is loaded only when another language is written

    shown = format_skeleton("MMMd" if day.year == today.year else "yMMMd", day, locale=locale)
    return accented(shown) if current() == PSEUDO else shown


def _origin(session: MeetingSession, zone: str, today: date) -> str:
    """`from M12 on 25 Nov`: the meeting (or the unscheduled session, `S4`) the action was recorded in."""
    reference = f"M{session.meeting_id}" if session.meeting_id is not None else f"S{session.id}"
    started = session.started_at.astimezone(ZoneInfo(zone)).date()
    return _("from {reference} on {day}", reference=reference, day=_short_day(started, today))


def describe(
    item: ActionItem, *, today: date, session: MeetingSession | None = None, zone: str = DEFAULT_ZONE
) -> Rich:
    """`A3 · @bob:example.org · Draft the report · due Tue 1 Dec 2026 · open (from M12 on 25 Nov)`."""
    parts: list[Rich | str] = [action_label(item.id), owner_shown(item.owner), text(item.text)]
    if item.due is not None:
        parts.append(_("due {day}", day=day_label(item.due)))
    overdue = item.status == "open" and item.due is not None and item.due < today
    status = _(_OVERDUE) if overdue else _(_STATUS_SHOWN.get(item.status, item.status))
    if session is not None:
        status = _("{status} ({origin})", status=status, origin=_origin(session, zone, today))
    parts.append(status)
    return join(parts, SEPARATOR)


async def describe_all(
    uow: UnitOfWork, items: Iterable[ActionItem], *, now: datetime, default_zone: str
) -> list[Rich]:
    """One line per action (see `describe`), each read in its own subject's zone (actions of several
    subjects: `!actions mine`)."""
    zones: dict[int | None, str] = {}

    async def where(item: ActionItem) -> tuple[str, date]:
        if item.subject_id not in zones:
            zones[item.subject_id] = await zone_of(uow, item.subject_id, default_zone)
        return zones[item.subject_id], today_in(zones[item.subject_id], now)

    return await _describe_all(uow, items, where)


async def _describe_all(
    uow: UnitOfWork, items: Iterable[ActionItem], where: Callable[[ActionItem], Awaitable[tuple[str, date]]]
) -> list[Rich]:
    sessions: dict[int, MeetingSession | None] = {}
    rows = []
    for item in items:
        session = None
        if item.session_id is not None:
            if item.session_id not in sessions:
                sessions[item.session_id] = await uow.minutes.get(item.session_id)
            session = sessions[item.session_id]
        zone, today = await where(item)
        rows.append(describe(item, today=today, session=session, zone=zone))
    return rows


async def open_actions_notice(
    uow: UnitOfWork, *, subject_id: int | None, room_id: str, zone: str, today: date
) -> Rich | None:
    """The "Open actions:" heading and a bullet per open action of the subject (None: of the room), by due
    date then number; None when there are none. For the start of the subject's next meeting."""
    items = await uow.actions.of_place(subject_id=subject_id, room_id=room_id)
    if not items:
        return None

    async def where(item: ActionItem) -> tuple[str, date]:
        return zone, today

    return lines([text(_("Open actions:")), bullets(await _describe_all(uow, items, where))])


# ---- the due-day reminder --------------------------------------------------------------------------------


def reminder_key(action_id: int, due: date) -> str:
    """`action-due:A3:2026-12-01`: one reminder per action and due day, so a new due day re-arms it."""
    return f"{REMINDER_PREFIX}{action_label(action_id)}:{due.isoformat()}"


def reminder_message(item: ActionItem) -> Rich:
    """`Reminder for @bob:example.org: A3 “Draft the report” is due today (Tue 1 Dec 2026).` — the owner
    mentioned when on Matrix."""
    assert item.due is not None  # a reminder is claimed for the item's due day
    return tr(
        "Reminder for {owner}: {action} “{text}” is due today ({day}).",
        owner=owner_shown(item.owner, ping=True),
        action=action_label(item.id),
        text=item.text,
        day=day_label(item.due),
    )
