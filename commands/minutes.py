"""Keeping the minutes: `!startmeeting` … `!endmeeting`, the MeetBot tags, and the passive log.

While a session runs, every text, notice and emote in the room becomes a line of its minutes, stored in the
event's own transaction. A tag command stores its own line (the dispatcher gives a command message to the
command, not to the passive handlers) and is acknowledged by a reaction, not a message.
"""

from __future__ import annotations

from typing import Any

from commands.meetings import MeetingArg
from iscg_bot import minutes
from iscg_bot.events import Message, Redaction, Undecryptable
from iscg_bot.formatting import Rich, bullets, lines, text
from iscg_bot.minutes import Heard, MinutesError
from iscg_bot.policy import subject_here
from iscg_bot.router import Context, Rest, Router, UsageError, UserId
from iscg_bot.timeshow import span

router = Router()
LOGGED_MSGTYPES = ("m.text", "m.notice", "m.emote")
ACK = "✅"


def _refuse(error: MinutesError) -> UsageError:
    return UsageError(str(error), show_usage=False)


async def _running(ctx: Context) -> Any:
    try:
        return await minutes.running(ctx.uow, ctx.room_id)
    except MinutesError as error:
        raise _refuse(error) from None


def _typed(ctx: Context, *parts: str | None) -> str:
    """The command line as the sender typed it, near enough: the name and its arguments."""
    name = ctx.command.name if ctx.command else ""
    return " ".join([f"{ctx.prefix}{name}", *(p for p in parts if p)])


async def _record(ctx: Context, session: Any, body: str, tag: str | None = None, **args: Any) -> None:
    heard = Heard(ctx.event_id, ctx.sender, ctx.now, body, tag=tag, tag_args=args or None)
    await minutes.record(ctx.uow, session, heard, room_id=ctx.room_id)


async def _tag(ctx: Context, tag: str, body: str, **args: Any) -> None:
    session = await _running(ctx)
    await _record(ctx, session, body, tag, **args)
    await ctx.react(ACK)


# ---- sessions --------------------------------------------------------------------------------------------


@router.command("startmeeting")
async def startmeeting(ctx: Context, meeting: MeetingArg | None = None) -> None:
    """Start keeping the minutes here, bound to M12 or to the meeting starting within 30 minutes.

    Example: !startmeeting M12
    """
    try:
        session = await minutes.start(
            ctx.uow,
            room_id=ctx.room_id,
            subject=await subject_here(ctx),
            meeting=meeting,
            by=ctx.sender,
            now=ctx.now,
        )
    except MinutesError as error:
        raise _refuse(error) from None
    await _record(ctx, session, _typed(ctx, f"M{meeting.id}" if meeting is not None else None))
    bound = f" (M{session.meeting_id})" if session.meeting_id is not None else ""
    await ctx.reply(
        f"Meeting started: {session.title}{bound}. Everything said here is minuted until !endmeeting."
    )


@router.command("endmeeting")
async def endmeeting(ctx: Context) -> None:
    """End the running meeting and post its summary (chairs only).

    Example: !endmeeting
    """
    session = await _running(ctx)
    await _record(ctx, session, _typed(ctx))
    try:
        summary = await minutes.end(ctx.uow, session, by=ctx.sender, now=ctx.now)
    except MinutesError as error:
        raise _refuse(error) from None
    subject = await subject_here(ctx)
    await ctx.reply(_render_summary(summary, subject.timezone if subject is not None else "UTC"))


def _render_summary(summary: minutes.Summary, zone: str) -> Rich:
    rows: list[Rich | str] = [
        text(f"Meeting ended: {summary.title}"),
        text(span(summary.started_at, summary.ended_at, zone)),
        text(f"{summary.lines} lines minuted."),
        text("Attendance: " + (", ".join(summary.attendance) or "nobody")),
    ]
    if summary.regrets:
        rows.append(text("Regrets: " + ", ".join(summary.regrets)))
    if summary.decisions:
        rows.append(lines([text("Decisions:"), bullets(text(d) for d in summary.decisions)]))
    if summary.actions:
        rows.append(
            lines([text("Actions:"), bullets(text(f"{who}: {what}") for who, what in summary.actions)])
        )
    if summary.key_issues:
        rows.append(lines([text("Key issues:"), bullets(text(k) for k in summary.key_issues)]))
    return lines(rows)


@router.command("chair")
async def chair(ctx: Context, user: UserId) -> None:
    """Make someone a chair of the running meeting (chairs only).

    Example: !chair @alice:example.org
    """
    session = await _running(ctx)
    await _record(ctx, session, _typed(ctx, user))
    try:
        await minutes.add_chair(ctx.uow, session, user, by=ctx.sender)
    except MinutesError as error:
        raise _refuse(error) from None
    await ctx.react(ACK)


@router.command("unchair")
async def unchair(ctx: Context, user: UserId) -> None:
    """Remove a chair of the running meeting (chairs only).

    Example: !unchair @alice:example.org
    """
    session = await _running(ctx)
    await _record(ctx, session, _typed(ctx, user))
    try:
        await minutes.remove_chair(ctx.uow, session, user, by=ctx.sender)
    except MinutesError as error:
        raise _refuse(error) from None
    await ctx.react(ACK)


# ---- tags ------------------------------------------------------------------------------------------------


@router.command("topic")
async def topic(ctx: Context, title: Rest) -> None:
    """Start a new topic in the minutes (chairs only).

    Example: !topic Review of the Q3 outputs
    """
    session = await _running(ctx)
    try:
        await minutes.require_chair(ctx.uow, session, ctx.sender, "change the topic")
    except MinutesError as error:
        raise _refuse(error) from None
    await _tag(ctx, "topic", _typed(ctx, title), text=title)


@router.command("info")
async def info(ctx: Context, note: Rest) -> None:
    """Note a piece of information in the minutes.

    Example: !info The report is due on 15 January
    """
    await _tag(ctx, "info", _typed(ctx, note), text=note)


@router.command("idea")
async def idea(ctx: Context, note: Rest) -> None:
    """Note an idea in the minutes.

    Example: !idea A joint workshop with ITU-D
    """
    await _tag(ctx, "idea", _typed(ctx, note), text=note)


@router.command("agreed", aliases=["decision"])
async def agreed(ctx: Context, decision: Rest) -> None:
    """Record a decision.

    Example: !agreed The workshop takes place in March
    """
    await _tag(ctx, "agreed", _typed(ctx, decision), text=decision)


@router.command("rejected")
async def rejected(ctx: Context, proposal: Rest) -> None:
    """Record a proposal turned down.

    Example: !rejected Moving the call to Fridays
    """
    await _tag(ctx, "rejected", _typed(ctx, proposal), text=proposal)


@router.command("action")
async def action(ctx: Context, who: str, what: Rest) -> None:
    """Record an action item: who does what.

    Example: !action @alice:example.org Draft the workshop agenda
    """
    await _tag(ctx, "action", _typed(ctx, who, what), who=who, text=what)


@router.command("link")
async def link_(ctx: Context, url: str, label: Rest | None = None) -> None:
    """Record a link, with an optional description.

    Example: !link https://www.itu.int/cop Guidelines
    """
    await _tag(ctx, "link", _typed(ctx, url, label), url=url, text=label or "")


@router.command("keyissue")
async def keyissue(ctx: Context, issue: Rest) -> None:
    """Record a key issue.

    Example: !keyissue Funding for 2027 is not confirmed
    """
    await _tag(ctx, "keyissue", _typed(ctx, issue), text=issue)


@router.command("present")
async def present(ctx: Context, users: Rest | None = None) -> None:
    """Mark yourself, or the people named, present.

    Example: !present @bob:example.org @carol:example.org
    """
    named = (users or "").split()
    if any(not u.startswith("@") or ":" not in u for u in named):
        raise UsageError("Name people by their Matrix ID, like @alice:example.org.")
    await _tag(ctx, "present", _typed(ctx, *named), users=named or [ctx.sender])


@router.command("regrets")
async def regrets(ctx: Context, user: UserId | None = None) -> None:
    """Record someone's regrets (yours when nobody is named).

    Example: !regrets @bob:example.org
    """
    await _tag(ctx, "regrets", _typed(ctx, user), user=user or ctx.sender)


@router.command("undo")
async def undo(ctx: Context) -> None:
    """Withdraw the last tagged line of the running meeting.

    Example: !undo
    """
    session = await _running(ctx)
    await _record(ctx, session, _typed(ctx))
    try:
        await minutes.undo(ctx.uow, session)
    except MinutesError as error:
        raise _refuse(error) from None
    await ctx.react(ACK)


# ---- the passive log -------------------------------------------------------------------------------------


@router.on_message(when=lambda message: message.msgtype in LOGGED_MSGTYPES)
async def log_message(ctx: Context, message: Message) -> None:
    if message.replaces is not None:
        await minutes.apply_edit(
            ctx.uow,
            original_event_id=message.replaces,
            edit_event_id=message.event_id,
            text=message.body,
            at=message.server_time,
        )
        return
    session = await ctx.uow.minutes.running(message.room_id)
    if session is None:
        return  # nothing is logged outside a session
    heard = Heard(message.event_id, message.sender, message.server_time, message.body, message.msgtype)
    await minutes.record(ctx.uow, session, heard, room_id=message.room_id)


@router.on_event(Redaction)
async def log_redaction(ctx: Context, redaction: Redaction) -> None:
    await minutes.apply_redaction(ctx.uow, redaction.redacts)


@router.on_event(Undecryptable)
async def log_undecryptable(ctx: Context, event: Undecryptable) -> None:
    session = await ctx.uow.minutes.running(event.room_id)
    if session is not None:
        heard = Heard(
            event.event_id, event.sender, event.server_time, minutes.UNDECRYPTABLE_TEXT, "m.undecryptable"
        )
        await minutes.record(ctx.uow, session, heard, room_id=event.room_id)
