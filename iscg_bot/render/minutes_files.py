"""The minutes kept with their session: built from the log (`iscg_bot.domain.minutes_document`) and
rendered as Markdown and HTML (`iscg_bot.render.minutes_render`), what the page and the posted file show."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from iscg_bot.core.i18n import speaking
from iscg_bot.domain.minutes_document import build
from iscg_bot.domain.minutes_model import MinutesDocument
from iscg_bot.render.minutes_render import render_html, render_markdown

if TYPE_CHECKING:
    from iscg_bot.storage import MeetingSession, UnitOfWork


async def render(
    uow: UnitOfWork,
    session: MeetingSession,
    *,
    zone: str,
    base_url: str,
    now: datetime,
    prefix: str = "!",
    language: str | None = None,
) -> MinutesDocument:
    """Build the minutes and keep their Markdown and HTML with the session (what the page and the file
    show), written in `language` (the room's; None: the language being spoken); returns the document."""
    document = await build(uow, session, zone=zone, base_url=base_url, prefix=prefix)
    with speaking(language):
        session.minutes_markdown = render_markdown(document)
        session.minutes_html = render_html(document)
    session.rendered_at = now
    await uow.session.flush()
    return document


async def page(
    uow: UnitOfWork, session: MeetingSession, *, zone: str, base_url: str, prefix: str = "!"
) -> str:
    """The HTML page of the minutes: the stored rendering, or the minutes so far while the meeting runs."""
    if session.minutes_html is not None and session.ended_at is not None:
        return session.minutes_html
    return render_html(await build(uow, session, zone=zone, base_url=base_url, prefix=prefix))
