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
from iscg_bot.core.i18n import _, n_, tr
from iscg_bot.web.feed_cache import group_feed_path, personal_feed_path, subject_feed_path, webcal

router = Router()


def _feed(label: Rich | str, url: str) -> Rich:
    subscribe = link(webcal(url), _("subscribe"))
    return tr("{feed}: {link} · {subscribe}", feed=as_rich(label), link=link(url), subscribe=subscribe)


async def _send_personal_link(ctx: Context, *, reset: bool) -> None:
    token = await ctx.uow.calendar_tokens.issue(ctx.sender, ctx.now)
    url = ctx.services.web_base_url + personal_feed_path(token)
    intro = (
        _("Here is your new personal calendar feed; the previous link no longer works.")
        if reset
        else _(
            "Here is your personal calendar feed: the meetings of the subjects you belong to, "
            "and the group's."
        )
    )
    await ctx.tell(
        ctx.sender,
        lines(
            [
                text(intro),
                _feed(_("Your feed"), url),
                tr(
                    "Keep it to yourself: anyone with the link can see these meetings. {command} makes a new "
                    "link and turns this one off.",
                    command=code(f"{ctx.prefix}calendar reset"),
                ),
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
            _feed(
                tr("This subject ({slug})", slug=code(subject.slug)), base + subject_feed_path(subject.slug)
            )
        )
    feeds.append(_feed(_("All ISCG meetings"), base + group_feed_path()))
    if await ctx.uow.calendar_tokens.has_live(ctx.sender):
        personal = tr(
            "Your personal feed link was sent to you in a direct message earlier; {command} sends a new one "
            "(the old one stops working).",
            command=code(f"{ctx.prefix}calendar reset"),
        )
    else:
        await _send_personal_link(ctx, reset=False)
        personal = text(_("Your personal feed link is on its way to you in a direct message."))
    await ctx.reply(lines([bold(_("Calendar feeds")), bullets(feeds), personal]))


@router.command("calendar reset")
async def calendar_reset(ctx: Context) -> None:
    """Turn off your personal calendar feed link and get a new one in a direct message.

    Example: !calendar reset
    """
    await _send_personal_link(ctx, reset=True)
    await ctx.reply(
        _("Your previous personal feed link no longer works; the new one is on its way in a direct message.")
    )


@router.command("calendar resync", allow=ADMIN)
async def calendar_resync(ctx: Context) -> None:
    """Publish every meeting to the CalDAV calendar again (after the server lost or mangled them).

    Example: !calendar resync
    """
    if not ctx.services.config.caldav.enabled:
        raise Refusal(
            tr(
                "CalDAV publishing is not enabled ({setting} in the configuration): nothing to resync.",
                setting=code("caldav.enabled"),
            )
        )
    queued = await forget_published(ctx.uow, ctx.now)
    # The publisher is woken once this transaction commits and does the network I/O in the background.
    await ctx.reply(
        n_(
            "{count} meeting queued for publishing to the CalDAV calendar.",
            "{count} meetings queued for publishing to the CalDAV calendar.",
            queued,
        )
    )
