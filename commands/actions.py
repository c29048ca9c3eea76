"""Action items: `!action` (the MeetBot tag, usable outside meetings too), its subcommands, and `!actions`.

The router reads `!action done A3` as the subcommand (the longest known name wins) and `!action @bob:x
Draft…` as the tag; an owner whose name is a subcommand word (`done`, `due`…) is written in quotes.
Changing an action is for its owner, its subject's coordinator and the officers (`policy.ACTION_CHANGERS`: the
router checks it on the action named).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from iscg_bot.chat.arguments import MATRIX_TO, AsyncWordType, UserIdType, WordType, tokenize
from iscg_bot.chat.policy import ACTION_CHANGERS, subject_here
from iscg_bot.chat.router import Context, Keyword, Rest, Router, UsageError
from iscg_bot.chat.time_arguments import DateArg, DateType
from iscg_bot.commands import minutes as minutes_commands
from iscg_bot.core.formatting import Rich, bullets, lines, person
from iscg_bot.core.i18n import _, lazy, tr
from iscg_bot.core.timeshow import day_label
from iscg_bot.domain import actions
from iscg_bot.domain.actions import ActionError, action_label, owner_shown
from iscg_bot.storage.models import ActionItem  # at run time: the router reads `ActionArg`

router = Router()
FILTERS = ("mine", "all", "overdue")


def _user_id(word: str, ctx: Context) -> str:
    """A Matrix ID, as typed or as a client completes a mention (`@bob:example.org:`)."""
    return UserIdType().convert(word.rstrip(":,") if len(word) > 1 else word, ctx)


class OwnerType(WordType):
    """Who does it: a Matrix ID (a mention pill becomes one) or, for someone not on Matrix, a name."""

    name = lazy('a Matrix ID like @alice:example.org or a name, "Jane Doe" in quotes')

    def convert(self, word: str, ctx: Context) -> str:
        if word.startswith(("@", MATRIX_TO)):
            return _user_id(word, ctx)
        try:
            return actions.owner_name(word.rstrip(":,") if len(word) > 1 else word)
        except ActionError as error:
            raise UsageError(str(error)) from None


class ActionType(AsyncWordType):
    """`A3`: an action item of this deployment."""

    name = lazy("an action item ID like A3")

    async def parse(self, words: Sequence[str], ctx: Context) -> tuple[ActionItem, int]:
        try:
            action_id = actions.parse_action_ref(words[0])
        except ActionError as error:
            raise UsageError(str(error)) from None
        item = await ctx.uow.actions.get(action_id)
        if item is None:
            message = _("There is no action item {action}.", action=action_label(action_id))
            raise UsageError(message, show_usage=False)
        return item, 1


class DueType:
    """`2026-12-15`, `15 Dec 2026`, or `none` (no due date)."""

    name = lazy("a date like 2026-12-15, or none")
    usage = "<date>|none"

    def parse(self, words: Sequence[str], ctx: Context) -> tuple[date | None, int]:
        if words[0].lower() == "none":
            return None, 1
        return DateType().parse(words, ctx)


class FilterType(WordType):
    name = lazy("mine, all, overdue or a Matrix ID")
    usage = "mine|all|overdue|@user"

    def convert(self, word: str, ctx: Context) -> str:
        if word.lower() in FILTERS:
            return word.lower()
        if word.startswith(("@", MATRIX_TO)):
            return _user_id(word, ctx)
        raise UsageError(_('"{word}" is not {kind}.', word=word[:40], kind=_(self.name)))


OwnerArg = Annotated[str, OwnerType()]
ActionArg = Annotated[ActionItem, ActionType()]
DueArg = Annotated[Any, DueType()]  # a date, or None for `none` (a required argument all the same)
FilterArg = Annotated[str, FilterType()]


async def _zone(ctx: Context, subject_id: int | None) -> str:
    return await actions.zone_of(ctx.uow, subject_id, ctx.services.config.bot.default_timezone)


def _trailing_due(what: str, ctx: Context) -> tuple[str, date | None]:
    """`Draft the report due 15 Dec 2026` → the text and the date. Only a last `due` followed by a date (and
    nothing else) counts; `due` in other words stays text (`Check the due diligence`). Words after it that
    look like a date (they hold a digit) and are none are refused, rather than kept as text by mistake."""
    tokens = tokenize(what)
    for index in range(len(tokens) - 2, 0, -1):  # "due" needs text before it and a date after it
        token = tokens[index]
        if token.quoted or token.text.lower() != "due":
            continue
        after = tokens[index + 1 :]
        if len(after) > DateType.most or any(t.quoted for t in after):
            break
        words = [t.text for t in after]
        try:
            due, consumed = DateType().parse(words, ctx)
        except UsageError:
            if any(c.isdigit() for word in words for c in word):
                raise
            break
        if consumed < len(words):
            break
        return what[: token.start].rstrip(), due
    return what, None


@router.command("action")
async def action_tag(
    ctx: Context, who: OwnerArg, what: Rest, date_: Annotated[DateArg | None, Keyword("due")] = None
) -> None:
    """Record an action item: who does what, by when (anyone may; during a meeting it is minuted).

    Who is a Matrix ID or, for someone not on Matrix, a name (one word, or "Jane Doe" in quotes). A
    trailing `due <date>` sets the due date, read in the subject's zone; the owner is reminded that day.
    During a meeting the bot acknowledges with ✅ and the action's origin is that meeting; outside one it
    answers with the new action's number.

    Example: !action @bob:example.org Draft the workshop agenda due 2026-12-15
    """
    what, trailing = _trailing_due(what, ctx)
    if date_ is not None and trailing is not None:
        raise UsageError(_('"{keyword}" is given twice.', keyword="due"))
    due = date_ or trailing
    subject = await subject_here(ctx)
    session = await ctx.uow.minutes.running(ctx.room_id)
    item = await actions.create(
        ctx.uow,
        subject_id=subject.id if subject is not None else None,
        room_id=ctx.room_id,
        owner=who,
        text=what,
        due=due,
        by=ctx.sender,
        now=ctx.now,
        zone=await _zone(ctx, subject.id if subject is not None else None),
        session_id=session.id if session is not None else None,
        event_id=ctx.event_id,
    )
    if session is not None:
        due_iso = item.due.isoformat() if item.due is not None else None
        await minutes_commands.mark(
            ctx, "action", who=item.owner, text=item.text, due=due_iso, action=action_label(item.id)
        )
        return
    owner = owner_shown(item.owner, ping=True)
    label = action_label(item.id)
    if item.due is not None:
        due_day = day_label(item.due)
        reply = tr(
            "{action} for {owner}: {text} (due {day})", action=label, owner=owner, text=item.text, day=due_day
        )
    else:
        reply = tr("{action} for {owner}: {text}", action=label, owner=owner, text=item.text)
    await ctx.reply(reply)


# What an action has become, by its new status.
_NOW = {
    "done": lazy("{action} is done: {text}"),
    "dropped": lazy("{action} is dropped: {text}"),
    "open": lazy("{action} is open again: {text}"),
}


async def _set_status(ctx: Context, action: ActionItem, status: str) -> None:
    await actions.set_status(ctx.uow, action, status, by=ctx.sender, now=ctx.now)
    await ctx.reply(tr(_NOW[status], action=action_label(action.id), text=action.text))


@router.command("action done", allow=ACTION_CHANGERS)
async def action_done(ctx: Context, action: ActionArg) -> None:
    """Mark an action done (its owner, its subject's coordinator or the officers).

    Example: !action done A3
    """
    await _set_status(ctx, action, "done")


@router.command("action drop", allow=ACTION_CHANGERS)
async def action_drop(ctx: Context, action: ActionArg) -> None:
    """Drop an action that will not be done.

    Example: !action drop A3
    """
    await _set_status(ctx, action, "dropped")


@router.command("action reopen", allow=ACTION_CHANGERS)
async def action_reopen(ctx: Context, action: ActionArg) -> None:
    """Reopen an action marked done or dropped.

    Example: !action reopen A3
    """
    await _set_status(ctx, action, "open")


@router.command("action assign", allow=ACTION_CHANGERS)
async def action_assign(ctx: Context, action: ActionArg, who: OwnerArg) -> None:
    """Hand an action over to someone else.

    Example: !action assign A3 @carol:example.org
    """
    await actions.assign(ctx.uow, action, who, now=ctx.now)
    owner = owner_shown(action.owner, ping=True)
    reply = tr(
        "{action} now belongs to {owner}: {text}",
        action=action_label(action.id),
        owner=owner,
        text=action.text,
    )
    await ctx.reply(reply)


@router.command("action due", allow=ACTION_CHANGERS)
async def action_due(ctx: Context, action: ActionArg, due: DueArg) -> None:
    """Give an action a new due date (the owner is reminded that day), or `none`.

    Example: !action due A3 2026-12-15
    """
    await actions.set_due(ctx.uow, action, due, now=ctx.now, zone=await _zone(ctx, action.subject_id))
    label = action_label(action.id)
    if due is not None:
        reply = tr("{action} is now due {day}: {text}", action=label, day=day_label(due), text=action.text)
    else:
        reply = tr("{action} has no due date now: {text}", action=label, text=action.text)
    await ctx.reply(reply)


@router.command("actions")
async def actions_list(ctx: Context, which: FilterArg | None = None) -> None:
    """List this subject's open actions; `mine` (yours, every subject), `all`, `overdue` or someone's.

    Example: !actions overdue
    """
    subject = await subject_here(ctx)
    subject_id = subject.id if subject is not None else None
    repository = ctx.uow.actions
    heading: Rich | str
    if which == "mine":
        items = await repository.of_owner(ctx.sender)
        heading, empty = _("Your open actions:"), _("You have no open actions.")
    elif which == "all":
        items = await repository.of_place(subject_id=subject_id, room_id=ctx.room_id, statuses=None)
        heading, empty = _("All actions here:"), _("No actions here yet.")
    elif which == "overdue":
        today = actions.today_in(await _zone(ctx, subject_id), ctx.now)
        found = await repository.of_place(subject_id=subject_id, room_id=ctx.room_id)
        items = [action for action in found if action.due is not None and action.due < today]
        heading, empty = _("Overdue actions:"), _("No overdue actions here.")
    elif which is not None:
        items = await repository.of_owner(which)
        heading = tr("Open actions of {person}:", person=person(which))
        empty = _("{person} has no open actions.", person=which)
    else:
        items = await repository.of_place(subject_id=subject_id, room_id=ctx.room_id)
        heading, empty = _("Open actions:"), _("No open actions here.")
    if not items:
        await ctx.reply(empty)
        return
    default_zone = ctx.services.config.bot.default_timezone
    rows = await actions.describe_all(ctx.uow, items, now=ctx.now, default_zone=default_zone)
    await ctx.reply(lines([heading, bullets(rows)]))
