"""iMIP e-mail invitations (RFC 6047, iTIP RFC 5546) to the group's mailing list.

    await queue_invitation(ctx.uow, settings.mail, meeting, method="REQUEST", at=ctx.now)  # in the command
    await MailSender(sessions, settings.mail, clock, commits=commits).start()             # in the app

The command only queues: the whole message is rendered in the transaction that changed the meeting and stored
in `mail_outbox` (so it is sent only if that transaction commits, and every retry sends the same bytes);
`MailSender` delivers pending rows over SMTP in the background, oldest first, retrying with backoff.

The message: `multipart/alternative` with text/plain, text/html and `text/calendar; method=…` (the MIME
method equals the calendar's METHOD, RFC 6047 §2.4). The calendar is built from the feed's own pieces
(`iscg_bot.calendar.feeds`): the same UID and SEQUENCE as the feed (the sequence after the change), plus
`ORGANIZER` (the sender) and the mailing list as one `CUTYPE=GROUP` attendee.
- schedule and move: METHOD:REQUEST with the feed's VEVENTs (the series, its moved occurrences);
- cancel: METHOD:CANCEL with the master VEVENT (whole meeting, STATUS:CANCELLED) or one VEVENT with the
  RECURRENCE-ID of the cancelled occurrence.
The texts (subject line, body, the calendar's descriptions) are in the subject's language, else the group's
default (`default_language`): the list's readers share one message, so it is the room's language, not the
language of whoever changed the meeting.
The Message-ID is derived from (meeting, sequence, method): a retried send is recognisably the same message,
and the outbox holds at most one row per Message-ID. A crash between a send and marking it sent resends it
once (same Message-ID), the usual at-least-once of a mail queue.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from iscg_bot.calendar import feeds
from iscg_bot.core.clock import Clock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.config import MailSettings
from iscg_bot.core.language import SOURCE, _, current, html_language, is_right_to_left, speaking
from iscg_bot.core.timeshow import day_label, span
from iscg_bot.core.workers import LoopWorker
from iscg_bot.domain.meetings import meeting_label, next_occurrence
from iscg_bot.domain.recurrence import from_rrule, repeats, wall_instant
from iscg_bot.storage import UnitOfWork

if TYPE_CHECKING:
    from iscg_bot.storage.models import MailMessage, Meeting, MeetingOverride, Subject

log = logging.getLogger(__name__)

METHODS = ("REQUEST", "CANCEL")
ORGANIZER_NAME = "ISCG bot"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029]")


# --- rendering -------------------------------------------------------------------------------------------


def single_line(value: str) -> str:
    """User text for a header: every line break and control character becomes a space, runs collapse."""
    return " ".join(_CONTROL.sub(" ", value).split())


def message_id(meeting_id: int, sequence: int, method: str, from_address: str) -> str:
    """`<iscg.meeting-12.seq-3.request@itu.int>`: the same for every retry of one change."""
    domain = from_address.rpartition("@")[2]
    return f"<iscg.meeting-{int(meeting_id)}.seq-{int(sequence)}.{method.lower()}@{domain}>"


def render_calendar(
    meeting: Meeting,
    *,
    method: str,
    settings: MailSettings,
    subjects: dict[int, Subject],
    occurrence_local: datetime | None = None,
    prodid_domain: str = "iscg-bot",
) -> bytes:
    """The iTIP calendar: METHOD, the VTIMEZONE and the VEVENT(s), each with ORGANIZER and the list.

    `occurrence_local` (CANCEL only): the original wall-clock start of the one cancelled occurrence."""
    if method not in METHODS:
        raise ValueError(f"unknown iTIP method {method!r}")
    if method == "REQUEST":
        events = feeds.meeting_vevents(meeting, subjects=subjects, prodid_domain=prodid_domain)
    elif occurrence_local is not None:
        events = feeds.cancelled_occurrence_vevent(
            meeting, occurrence_local, subjects=subjects, prodid_domain=prodid_domain
        )
    else:
        events = feeds.meeting_vevents(meeting, subjects=subjects, prodid_domain=prodid_domain)
        events = events[: events.index("END:VEVENT") + 1]  # the master: the whole series goes
    people = [
        f"ORGANIZER;CN={ORGANIZER_NAME}:mailto:{settings.from_address}",
        "ATTENDEE;CUTYPE=GROUP;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:"
        f"mailto:{settings.list_address}",
    ]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        feeds.prodid(prodid_domain),
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        *feeds.vtimezones([meeting]),
    ]
    for line in events:
        if line == "END:VEVENT":
            lines += people
        lines.append(line)
    lines.append("END:VCALENDAR")
    return feeds.calendar_bytes(lines)


def _when(meeting: Meeting, at: datetime, occurrence_local: datetime | None) -> tuple[datetime, datetime]:
    """The start and end (aware UTC) the message is about: the occurrence named, else the next one."""
    duration = timedelta(minutes=meeting.duration_minutes)
    if occurrence_local is not None:  # its `fold` says which pass of a repeated hour
        start = wall_instant(occurrence_local, meeting.timezone)
        return start, start + duration
    upcoming = next_occurrence(meeting, at) if meeting.status != "cancelled" else None
    if upcoming is not None:
        return upcoming.start, upcoming.end
    start = wall_instant(meeting.start_local, meeting.timezone)
    return start, start + duration


def _subject_line(meeting: Meeting, method: str, start: datetime) -> str:
    local = start.astimezone(ZoneInfo(meeting.timezone))
    when = f"{day_label(local.date())} {local:%H:%M} {meeting.timezone}"
    shown = f"{meeting_label(meeting.id)} · {meeting.title}"
    if method == "REQUEST":
        line = _("Invitation: {meeting} — {when}", meeting=shown, when=when)
    else:
        line = _("Cancelled: {meeting} — {when}", meeting=shown, when=when)
    return single_line(line)


def _body(meeting: Meeting, method: str, start: datetime, end: datetime, *, occurrence: bool) -> list[str]:
    """The text of the message, one paragraph a line (user text kept on one line each)."""
    rows = [f"{meeting_label(meeting.id)} · {single_line(meeting.title)}"]
    if method == "CANCEL":
        if occurrence or not meeting.rrule:
            rows.append(_("This meeting is cancelled."))
        else:
            rows.append(_("This meeting series is cancelled."))
        if meeting.cancel_reason and not occurrence:
            rows.append(_("Reason: {reason}", reason=single_line(meeting.cancel_reason)))
    rows.append(_("When: {when}", when=span(start, end, meeting.timezone)))
    if meeting.rrule and not occurrence:
        rows.append(repeats(from_rrule(meeting.rrule, zone=meeting.timezone)))
    if meeting.link:
        rows.append(_("Join: {link}", link=single_line(meeting.link)))
    if meeting.agenda and method == "REQUEST":
        rows.append(_("Agenda:"))
        rows += [f"{n}. {single_line(item.text)}" for n, item in enumerate(meeting.agenda, 1)]
    rows.append("")
    rows.append(_("Sent by the ISCG bot; the attached invitation adds it to your calendar."))
    return rows


def _page(rows: list[str]) -> str:
    """The HTML part: a paragraph a row; outside English the page says its language and direction."""
    markup = "".join(f"<p>{html.escape(row)}</p>\n" for row in rows if row)
    language = current()
    opening = "<html>"
    if language != SOURCE:  # English as it always was
        direction = "rtl" if is_right_to_left(language) else "ltr"
        opening = f'<html lang="{html_language(language)}" dir="{direction}">'
    return f'<!DOCTYPE html>\n{opening}<head><meta charset="utf-8"></head><body>\n{markup}</body></html>\n'


def render_message(
    meeting: Meeting,
    *,
    method: str,
    settings: MailSettings,
    subjects: dict[int, Subject],
    at: datetime,
    occurrence_local: datetime | None = None,
    moved_to_local: datetime | None = None,
    language: str | None = None,
) -> tuple[str, bytes]:
    """(Message-ID, the whole message as bytes with CRLF line ends), ready for SMTP; its texts in `language`
    (None: the language being written)."""
    with speaking(language):
        return _render_message(
            meeting,
            method=method,
            settings=settings,
            subjects=subjects,
            at=at,
            occurrence_local=occurrence_local,
            moved_to_local=moved_to_local,
        )


def _render_message(
    meeting: Meeting,
    *,
    method: str,
    settings: MailSettings,
    subjects: dict[int, Subject],
    at: datetime,
    occurrence_local: datetime | None,
    moved_to_local: datetime | None,
) -> tuple[str, bytes]:
    calendar = render_calendar(
        meeting, method=method, settings=settings, subjects=subjects, occurrence_local=occurrence_local
    )
    shown = moved_to_local if moved_to_local is not None else occurrence_local
    start, end = _when(meeting, at, shown)
    if moved_to_local is not None:
        end = start + timedelta(minutes=meeting.duration_minutes)
        override = _override_at(meeting, moved_to_local)
        if override is not None and override.duration_minutes:
            end = start + timedelta(minutes=override.duration_minutes)
    rows = _body(meeting, method, start, end, occurrence=occurrence_local is not None)
    plain = "\n".join(rows) + "\n"
    page = _page(rows)

    mid = message_id(meeting.id, meeting.sequence, method, settings.from_address)
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=ORGANIZER_NAME, addr_spec=settings.from_address)
    message["To"] = Address(addr_spec=settings.list_address)
    message["Subject"] = _subject_line(meeting, method, start)
    message["Date"] = format_datetime(at.astimezone(UTC))
    message["Message-ID"] = mid
    message.set_content(plain, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
    message.add_alternative(
        calendar.decode(), subtype="calendar", charset="utf-8", cte="base64", params={"method": method}
    )
    # A boundary derived from the content (not random): the same change renders to the same bytes.
    message.set_boundary("iscg-" + hashlib.sha256(calendar + plain.encode()).hexdigest()[:32])
    return mid, message.as_bytes(policy=SMTP)


def _override_at(meeting: Meeting, start_local: datetime) -> MeetingOverride | None:
    for override in meeting.overrides:
        if override.start_local == start_local:
            return override
    return None


# --- queueing (inside the command's transaction) ---------------------------------------------------------


async def queue_invitation(
    uow: UnitOfWork,
    settings: MailSettings,
    meeting: Meeting,
    *,
    method: str,
    at: datetime,
    occurrence: date | None = None,
    prodid_domain: str = "iscg-bot",
    default_language: str = SOURCE,
) -> MailMessage | None:
    """Queue the iMIP message for a change just made to `meeting` (after its SEQUENCE was raised), in the
    caller's transaction; `occurrence` is the day of the one occurrence moved or cancelled. Does nothing
    (None) when mail is disabled; else the queued row (None if this change was already queued). Written in
    the subject's language, else `default_language` (the group's, `bot.default_language`)."""
    if not settings.enabled:
        return None
    fresh = await uow.mail.fresh_meeting(meeting.id)
    subjects: dict[int, Subject] = {}
    language = default_language
    if fresh.subject_id is not None:
        subject = await uow.subjects.get(fresh.subject_id)
        if subject is not None:
            subjects[subject.id] = subject
            language = subject.language or default_language
    occurrence_local = moved_to = None
    if occurrence is not None:
        changed = [o for o in fresh.overrides if o.occurrence_local.date() == occurrence]
        if not changed:  # an occurrence that moved across midnight: the override written last
            changed = sorted(fresh.overrides, key=lambda o: o.updated_at)[-1:]
        if changed:
            override = max(changed, key=lambda o: o.updated_at)
            if method == "CANCEL":
                # Stored without its pass: in a repeated hour, a series' occurrence is in the series' own.
                occurrence_local = override.occurrence_local.replace(fold=fresh.start_local.fold)
            else:
                moved_to = override.start_local
    mid, body = render_message(
        fresh,
        method=method,
        settings=settings,
        subjects=subjects,
        at=at,
        occurrence_local=occurrence_local,
        moved_to_local=moved_to,
        language=language,
    )
    return await uow.mail.queue(
        message_id=mid,
        method=method,
        meeting_id=fresh.id,
        sequence=fresh.sequence,
        sender=settings.from_address,
        recipients=[settings.list_address],
        message=body,
        at=at,
    )


# --- sending (the app's worker) --------------------------------------------------------------------------


class MailSender(LoopWorker):
    """Sends pending mail_outbox rows over SMTP, oldest first; a failure is counted on the row (attempts,
    last_error) and the pass stops there (a meeting's CANCEL never overtakes its REQUEST), to be retried after
    an exponential backoff. Runs only when `[mail] enabled`; woken after every commit (`commits`)."""

    name = "mail"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: MailSettings,
        clock: Clock,
        stopping: asyncio.Event | None = None,
        *,
        commits: CommitListeners | None = None,
        first_delay: float = 5.0,
        max_delay: float = 900.0,
        idle_seconds: float = 60.0,
        may_send: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(clock, stopping)
        self.sessions = sessions
        self.settings = settings
        # Asked before every message: false once this process may no longer act (another took the lead over);
        # SMTP has no transaction ID that would keep a second copy out.
        self.may_send = may_send
        self.first_delay, self.max_delay, self.idle_seconds = first_delay, max_delay, idle_seconds
        self._failures = 0
        if commits is not None:
            commits.on_commit(self.wake)  # a commit may have queued an invitation

    async def send_pending(self) -> tuple[int, int]:
        """One pass: (messages sent, messages that failed: 0 or 1)."""
        async with UnitOfWork(self.sessions) as uow:
            rows = await uow.mail.pending(limit=100)
        sent = 0
        for row in rows:
            if self.stopping.is_set() or not self.may_send():
                break
            try:
                await self._send(row)
            except Exception as error:  # the server is down, refuses, times out…: try again later
                log.warning("sending %s failed (attempt %d): %s", row.message_id, row.attempts + 1, error)
                self.failed(error)
                await self._mark(row.id, failure=f"{type(error).__name__}: {error}")
                return sent, 1
            await self._mark(row.id)
            sent += 1
        return sent, 0

    async def _send(self, row: MailMessage) -> None:
        s = self.settings
        await aiosmtplib.send(
            row.message,
            sender=row.sender,
            recipients=row.recipients.split(","),
            hostname=s.smtp_host,
            port=s.smtp_port,
            start_tls=s.starttls,
            username=s.username,
            password=s.password.get_secret_value() if s.password is not None else None,
            timeout=s.timeout_seconds,
        )

    async def _mark(self, row_id: int, *, failure: str | None = None) -> None:
        async with UnitOfWork(self.sessions) as uow:
            if failure is None:
                await uow.mail.mark_sent(row_id, self.clock.now())
            else:
                await uow.mail.mark_failed(row_id, failure)
            await uow.commit()

    async def loop(self) -> None:
        while not self.stopping.is_set():
            self.woken.clear()
            try:
                _, failed = await self.send_pending()
            except Exception as error:  # the database may be away
                log.exception("the mail outbox could not be read")
                self.failed(error)
                failed = 1
            if failed:
                self._failures += 1
                delay = min(self.max_delay, self.first_delay * 2 ** (self._failures - 1))
                await self.pause(delay, wakeable=False)
            else:
                self._failures = 0
                self.succeeded()
                await self.pause(self.idle_seconds)
