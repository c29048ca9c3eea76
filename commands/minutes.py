"""Keeping the minutes: `!startmeeting` … `!endmeeting`, the MeetBot tags, `!minutes`, and the passive log.

While a session runs, every text, notice and emote in the room becomes a line of its minutes, stored in the
event's own transaction before any command runs (the dispatcher hands every message to the passive log
first). A tag command only marks its message's line and is acknowledged by a reaction, not a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iscg_bot.chat.events import Message, Redaction, Undecryptable
from iscg_bot.chat.policy import MINUTES_APPROVERS, MINUTES_REOPENERS, UNDOERS, meeting_chairs, subject_here
from iscg_bot.chat.router import Context, Rest, Router, UsageError, UserId
from iscg_bot.commands.meetings import MeetingArg
from iscg_bot.core.formatting import Rich, bullets, code, lines, link, text
from iscg_bot.core.i18n import _, lazy, n_, speaking, tr
from iscg_bot.core.timeshow import span
from iscg_bot.domain import actions, minutes, minutes_document
from iscg_bot.domain.minutes import Heard
from iscg_bot.domain.minutes_model import MinutesDocument, shown_title
from iscg_bot.render import minutes_files
from iscg_bot.render.minutes_render import filename, render_markdown

if TYPE_CHECKING:
    from iscg_bot.storage.models import MeetingSession, MinuteTag

router = Router()
LOGGED_MSGTYPES = ("m.text", "m.notice", "m.emote")
ACK = "✅"
MARKDOWN_TYPE = "text/markdown; charset=utf-8"


async def _running(ctx: Context) -> MeetingSession:
    return await minutes.running(ctx.uow, ctx.room_id, prefix=ctx.prefix)


def _heard(ctx: Context) -> Heard:
    """The message being handled, as the record keeps it."""
    event = ctx.event
    if isinstance(event, Message):
        return Heard(event.event_id, event.sender, event.server_time, event.body, event.msgtype)
    return Heard(ctx.event_id, ctx.sender, ctx.now, "")


async def mark(ctx: Context, tag: str, **args: str | list[str] | None) -> None:
    """Tag the line of the message being handled (e.g. `mark(ctx, "action", who=…, text=…)`) and acknowledge
    it with a reaction; a usage error when no meeting runs in the room. `args` must be JSON values."""
    session = await _running(ctx)
    await minutes.tag(ctx.uow, session, _heard(ctx), tag, args, room_id=ctx.room_id)
    await ctx.react(ACK)


async def _zone(ctx: Context) -> str:
    subject = await subject_here(ctx)
    return subject.timezone if subject is not None else ctx.services.config.bot.default_timezone


async def _rerender(ctx: Context, session: MeetingSession) -> MinutesDocument:
    """The stored minutes made again, in the room's language (whoever's command changed them)."""
    return await minutes_files.render(
        ctx.uow,
        session,
        zone=await _zone(ctx),
        base_url=ctx.services.web_base_url,
        now=ctx.now,
        prefix=ctx.prefix,
        language=ctx.room_language,
    )


# ---- sessions --------------------------------------------------------------------------------------------


@router.command("startmeeting")
async def startmeeting(ctx: Context, meeting: MeetingArg | None = None) -> None:
    """Start keeping the minutes here, bound to M12 or to the meeting starting within 30 minutes.

    Example: !startmeeting M12
    """
    session = await minutes.start(
        ctx.uow,
        room_id=ctx.room_id,
        subject=await subject_here(ctx),
        meeting=meeting,
        by=ctx.sender,
        now=ctx.now,
        prefix=ctx.prefix,
    )
    await minutes.record(ctx.uow, session, _heard(ctx), room_id=ctx.room_id)  # the log began after it
    subject = await subject_here(ctx)
    zone = await _zone(ctx)
    with speaking(ctx.room_language):  # said to everyone in the room
        if session.meeting_id is not None:
            started = text(
                _(
                    "Meeting started: {title} ({meeting}). Everything said here is minuted until {command}.",
                    title=session.title,
                    meeting=f"M{session.meeting_id}",
                    command=f"{ctx.prefix}endmeeting",
                )
            )
        else:
            started = text(
                _(
                    "Meeting started: {title}. Everything said here is minuted until {command}.",
                    title=shown_title(session.title),
                    command=f"{ctx.prefix}endmeeting",
                )
            )
        still_open = await actions.open_actions_notice(
            ctx.uow,
            subject_id=subject.id if subject is not None else None,
            room_id=ctx.room_id,
            zone=zone,
            today=actions.today_in(zone, ctx.now),
        )
        await ctx.reply(lines([started, still_open]) if still_open is not None else started)


@router.command("endmeeting", allow=meeting_chairs(lazy("Only the meeting's chairs may end the meeting.")))
async def endmeeting(ctx: Context) -> None:
    """End the running meeting, post its summary and its minutes (chairs only).

    Example: !endmeeting
    """
    session = await _running(ctx)
    await minutes.end(ctx.uow, session, now=ctx.now)
    document = await _rerender(ctx, session)
    with speaking(ctx.room_language):  # said to everyone in the room
        heading = _("Meeting ended: {title}", title=shown_title(document.title))
        await ctx.reply(_summary(document, heading=heading, prefix=ctx.prefix))
    await _attach_minutes(ctx, session, document)


async def _attach_minutes(ctx: Context, session: MeetingSession, document: MinutesDocument) -> None:
    """The Markdown minutes as a file: the stored rendering (what the page shows) once the meeting ended."""
    markdown = session.minutes_markdown if session.ended_at is not None else None
    body = markdown if markdown is not None else render_markdown(document)
    await ctx.attach(filename(document, "md"), MARKDOWN_TYPE, body.encode("utf-8"))


def _summary(document: MinutesDocument, *, heading: str, prefix: str) -> Rich:
    """The short form posted in the room: when, who, decisions, actions, key issues, and where the rest is."""
    end = document.ended_at or document.started_at
    rows: list[Rich | str] = [
        text(heading),
        text(span(document.started_at, end, document.zone)),
        text(n_("{count} line minuted.", "{count} lines minuted.", len(document.log))),
        text(
            _(
                "Attendance: {people}",
                people=", ".join(p.user_id for p in document.attendance) or _("nobody"),
            )
        ),
    ]
    if document.regrets:
        rows.append(text(_("Regrets: {people}", people=", ".join(p.user_id for p in document.regrets))))
    if document.decisions:
        rows.append(lines([text(_("Decisions:")), bullets(text(d) for d in document.decisions)]))
    if document.actions:
        rows.append(
            lines(
                [
                    text(_("Actions:")),
                    bullets(text(f"{a.label} {a.owner.user_id}: {a.text}") for a in document.actions),
                ]
            )
        )
    if document.key_issues:
        rows.append(lines([text(_("Key issues:")), bullets(text(k) for k in document.key_issues)]))
    if document.page_url:
        rows.append(
            tr(_WHERE_ONLINE[document.status], reference=document.reference, link=link(document.page_url))
        )
    else:
        command = code(f"{prefix}minutes {document.reference}")
        rows.append(tr(_WHERE_OFFLINE[document.status], reference=document.reference, command=command))
    return lines(rows)


# Where the minutes are, by their status: on their page, or (the web server off) through the command.
_WHERE_ONLINE = {
    "draft": lazy("Draft minutes ({reference}): {link}"),
    "approved": lazy("Approved minutes ({reference}): {link}"),
    "running": lazy("Minutes so far ({reference}): {link}"),
}
_WHERE_OFFLINE = {
    "draft": lazy("Draft minutes ({reference}): the web server is off; {command}"),
    "approved": lazy("Approved minutes ({reference}): the web server is off; {command}"),
    "running": lazy("Minutes so far ({reference}): the web server is off; {command}"),
}


# ---- the minutes after the meeting --------------------------------------------------------------------


async def _find(ctx: Context, reference: str | None) -> MeetingSession:
    return await minutes.find(ctx.uow, reference, ctx.room_id)


@router.command("minutes")
async def minutes_show(ctx: Context, reference: str | None = None) -> None:
    """Show the minutes of M12 or S7 (this room's latest when none is named), with their link and file.

    Example: !minutes M12
    """
    session = await _find(ctx, reference)
    document = await minutes_document.build(
        ctx.uow, session, zone=await _zone(ctx), base_url=ctx.services.web_base_url, prefix=ctx.prefix
    )
    heading = _("Minutes of {title}", title=shown_title(document.title))
    await ctx.reply(_summary(document, heading=heading, prefix=ctx.prefix))
    await _attach_minutes(ctx, session, document)


@router.command("minutes approve", allow=MINUTES_APPROVERS)
async def minutes_approve(ctx: Context, reference: str | None = None) -> None:
    """Approve the minutes of M12 (this room's latest when none is named): they are locked as they stand.

    Example: !minutes approve M12
    """
    session = await _find(ctx, reference)
    # The homeserver's time, like the edits and redactions it is compared with (see minutes_document).
    await minutes.approve(ctx.uow, session, by=ctx.sender, now=_heard(ctx).server_time, prefix=ctx.prefix)
    await _rerender(ctx, session)
    await ctx.reply(
        tr(
            "The minutes of {reference} are approved and locked; {command} undoes it.",
            reference=session.reference,
            command=f"{ctx.prefix}minutes reopen",
        )
    )


@router.command("minutes reopen", allow=MINUTES_REOPENERS)
async def minutes_reopen(ctx: Context, reference: str | None = None) -> None:
    """Make approved minutes a draft again (the meeting's chairs, the coordinator, the officers).

    Example: !minutes reopen M12
    """
    session = await _find(ctx, reference)
    await minutes.reopen(ctx.uow, session)
    await _rerender(ctx, session)
    await ctx.reply(tr("The minutes of {reference} are a draft again.", reference=session.reference))


@router.command("chair", allow=meeting_chairs(lazy("Only the meeting's chairs may name chairs.")))
async def chair(ctx: Context, user: UserId) -> None:
    """Make someone a chair of the running meeting (chairs only).

    Example: !chair @alice:example.org
    """
    session = await _running(ctx)
    await minutes.add_chair(ctx.uow, session, user)
    await ctx.react(ACK)


@router.command("unchair", allow=meeting_chairs(lazy("Only the meeting's chairs may remove chairs.")))
async def unchair(ctx: Context, user: UserId) -> None:
    """Remove a chair of the running meeting (chairs only).

    Example: !unchair @alice:example.org
    """
    session = await _running(ctx)
    await minutes.remove_chair(ctx.uow, session, user)
    await ctx.react(ACK)


# ---- tags ------------------------------------------------------------------------------------------------


@router.command("topic", allow=meeting_chairs(lazy("Only the meeting's chairs may change the topic.")))
async def topic(ctx: Context, title: Rest) -> None:
    """Start a new topic in the minutes (chairs only).

    Example: !topic Review of the Q3 outputs
    """
    await mark(ctx, "topic", text=title)


@router.command("info")
async def info(ctx: Context, note: Rest) -> None:
    """Note a piece of information in the minutes.

    Example: !info The report is due on 15 January
    """
    await mark(ctx, "info", text=note)


@router.command("idea")
async def idea(ctx: Context, note: Rest) -> None:
    """Note an idea in the minutes.

    Example: !idea A joint workshop with ITU-D
    """
    await mark(ctx, "idea", text=note)


@router.command("agreed", aliases=["decision"])
async def agreed(ctx: Context, decision: Rest) -> None:
    """Record a decision.

    Example: !agreed The workshop takes place in March
    """
    await mark(ctx, "agreed", text=decision)


@router.command("rejected")
async def rejected(ctx: Context, proposal: Rest) -> None:
    """Record a proposal turned down.

    Example: !rejected Moving the call to Fridays
    """
    await mark(ctx, "rejected", text=proposal)


@router.command("link")
async def link_(ctx: Context, url: str, label: Rest | None = None) -> None:
    """Record a link, with an optional description.

    Example: !link https://www.itu.int/cop Guidelines
    """
    await mark(ctx, "link", url=url, text=label or "")


@router.command("keyissue")
async def keyissue(ctx: Context, issue: Rest) -> None:
    """Record a key issue.

    Example: !keyissue Funding for 2027 is not confirmed
    """
    await mark(ctx, "keyissue", text=issue)


@router.command("present")
async def present(ctx: Context, users: Rest | None = None) -> None:
    """Mark yourself, or the people named, present.

    Example: !present @bob:example.org @carol:example.org
    """
    named = (users or "").split()
    if any(not u.startswith("@") or ":" not in u for u in named):
        raise UsageError(_("Name people by their Matrix ID, like {example}.", example="@alice:example.org"))
    await mark(ctx, "present", users=named or [ctx.sender])


@router.command("regrets")
async def regrets(ctx: Context, user: UserId | None = None) -> None:
    """Record someone's regrets (yours when nobody is named).

    Example: !regrets @bob:example.org
    """
    await mark(ctx, "regrets", user=user or ctx.sender)


@router.command("undo", allow=UNDOERS)
async def undo(ctx: Context) -> None:
    """Withdraw the last tagged line of the running meeting.

    Example: !undo
    """
    session = await _running(ctx)
    withdrawn = await minutes.undo(ctx.uow, session)
    await _drop_actions(ctx, [withdrawn])
    await ctx.react(ACK)


async def _drop_actions(ctx: Context, tags: list[MinuteTag]) -> None:
    """An action item whose `!action` line is withdrawn (undone, redacted) is dropped, not left open to be
    reminded of."""
    for withdrawn in tags:
        label = str((withdrawn.args or {}).get("action", ""))
        if withdrawn.tag != "action" or not label[1:].isdigit():
            continue
        item = await ctx.uow.actions.get(int(label[1:]))
        if item is not None and item.status == "open":
            await actions.set_status(ctx.uow, item, "dropped", by=ctx.sender, now=ctx.now)


# ---- the passive log -------------------------------------------------------------------------------------


async def _to_log(ctx: Context, message: Message) -> bool:
    """An edit (of a line perhaps logged), or a message while a meeting runs in its room."""
    return message.replaces is not None or await ctx.uow.minutes.running(message.room_id) is not None


@router.on_message(when=lambda message: message.msgtype in LOGGED_MSGTYPES, applies=_to_log)
async def log_message(ctx: Context, message: Message) -> None:
    if message.replaces is not None:
        changed = await minutes.apply_edit(
            ctx.uow,
            original_event_id=message.replaces,
            edit_event_id=message.event_id,
            text=message.body,
            at=message.server_time,
        )
        await _after_late_change(ctx, changed)
        return
    session = await ctx.uow.minutes.running(message.room_id)
    if session is None:
        return  # nothing is logged outside a session
    await minutes.record(ctx.uow, session, _heard(ctx), room_id=message.room_id)


@router.on_event(Redaction)
async def log_redaction(ctx: Context, redaction: Redaction) -> None:
    changed = await minutes.apply_redaction(ctx.uow, redaction.redacts, redaction.server_time)
    if changed is not None:
        line = await ctx.uow.minutes.line_by_event(redaction.redacts)
        assert line is not None  # the line just changed
        await _drop_actions(ctx, (await ctx.uow.minutes.tags_of_line(line.id)))
    await _after_late_change(ctx, changed)


async def _after_late_change(ctx: Context, session: MeetingSession | None) -> None:
    """An edit or redaction after the meeting ended changes its draft minutes (approved ones are locked:
    they are rendered as the log stood when approved)."""
    if session is not None and session.ended_at is not None and session.minutes_status == "draft":
        await _rerender(ctx, session)


@router.on_event(Undecryptable)
async def log_undecryptable(ctx: Context, event: Undecryptable) -> None:
    session = await ctx.uow.minutes.running(event.room_id)
    if session is not None:
        heard = Heard(
            event.event_id, event.sender, event.server_time, minutes.UNDECRYPTABLE_TEXT, "m.undecryptable"
        )
        await minutes.record(ctx.uow, session, heard, room_id=event.room_id)
