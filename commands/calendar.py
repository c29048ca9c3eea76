"""Calendar subscriptions: the subject and group feed links in the room, the personal one in private.

A personal feed link is a secret (whoever has it sees the person's meetings), so it only ever goes by
direct message. Only a hash of the token is stored, so the bot cannot send the same link twice: `!calendar`
makes a link when the person has none, and otherwise says it was sent before; `!calendar reset` makes a new
one and the old link stops working. That way asking for the room's links again never breaks a subscription.
"""

from __future__ import annotations

from iscg_bot.calendar.caldav import forget_published
from iscg_bot.chat.policy import subject_here
from iscg_bot.chat.router import ADMIN, Context, Refusal, Router
from iscg_bot.core.formatting import Rich, as_rich, bold, bullets, code, lines, link, text
from iscg_bot.web.feed_cache import group_feed_path, personal_feed_path, subject_feed_path, webcal

router = Router()


def _feed(label: Rich | str, url: str) -> Rich:
    return as_rich(label) + ": " + link(url) + " · " + link(webcal(url), "subscribe")


async def _send_personal_link(ctx: Context, *, reset: bool) -> None:
    token = await ctx.uow.calendar_tokens.issue(ctx.sender, ctx.now)
    url = ctx.services.web_base_url + personal_feed_path(token)
    intro = (
        "Here is your new personal calendar feed; the previous link no longer works."
        if reset
        else (
            "Here is your personal calendar feed: the meetings of the subjects you belong to, "
            "and the group's."
        )
    )
    await ctx.tell(
        ctx.sender,
        lines(
            [
                text(intro),
                _feed("Your feed", url),
                text("Keep it to yourself: anyone with the link can see these meetings. ")
                + code(f"{ctx.prefix}calendar reset")
                + text(" makes a new link and turns this one off."),
            ]
        ),
    )


@router.command("calendar")
async def calendar(ctx: Context) -> None:
    """Get the calendar feed links: this subject's and the group's here, your personal one in private.

    Example: !calendar
    """
    base = ctx.services.web_base_url
    subject = await subject_here(ctx)
    feeds = []
    if subject is not None:
        feeds.append(
            _feed(text("This subject (") + code(subject.slug) + ")", base + subject_feed_path(subject.slug))
        )
    feeds.append(_feed("All ISCG meetings", base + group_feed_path()))
    if await ctx.uow.calendar_tokens.has_live(ctx.sender):
        personal = (
            text("Your personal feed link was sent to you in a direct message earlier; ")
            + code(f"{ctx.prefix}calendar reset")
            + text(" sends a new one (the old one stops working).")
        )
    else:
        await _send_personal_link(ctx, reset=False)
        personal = text("Your personal feed link is on its way to you in a direct message.")
    await ctx.reply(lines([bold("Calendar feeds"), bullets(feeds), personal]))


@router.command("calendar reset")
async def calendar_reset(ctx: Context) -> None:
    """Turn off your personal calendar feed link and get a new one in a direct message.

    Example: !calendar reset
    """
    await _send_personal_link(ctx, reset=True)
    await ctx.reply(
        "Your previous personal feed link no longer works; the new one is on its way in a direct message."
    )


@router.command("calendar resync", allow=ADMIN)
async def calendar_resync(ctx: Context) -> None:
    """Publish every meeting to the CalDAV calendar again (after the server lost or mangled them).

    Example: !calendar resync
    """
    if not ctx.services.config.caldav.enabled:
        raise Refusal(
            "CalDAV publishing is not enabled (caldav.enabled in the configuration): nothing to resync."
        )
    queued = await forget_published(ctx.uow, ctx.now)
    # The publisher is woken once this transaction commits and does the network I/O in the background.
    await ctx.reply(
        f"{queued} meeting{'' if queued == 1 else 's'} queued for publishing to the CalDAV calendar."
    )
