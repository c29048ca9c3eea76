"""Reports to the advisory groups and the Chair's digest: `!report` and `!summary`.

Both read what the bot recorded (`iscg_bot.domain.reports` compiles, `iscg_bot.render.report_render` renders);
nothing here changes data. The Chair, the management team and the secretariat report on anything; a
coordinator on their own subject.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from iscg_bot.chat.policy import OFFICERS, reporters, subject_here
from iscg_bot.chat.router import Context, Rest, Router, UsageError
from iscg_bot.commands.place import subject_or_group
from iscg_bot.core.formatting import Rich, bullets, lines, link, text
from iscg_bot.core.i18n import LANGUAGES, _, lazy, n_, speaking, tr
from iscg_bot.core.timeshow import moment
from iscg_bot.domain.actions import today_in
from iscg_bot.domain.report_model import Period, Report
from iscg_bot.domain.roles import AdvisoryGroup

router = Router()
SUMMARY_DAYS = 7
LONGEST_SUMMARY_DAYS = 366
SUMMARY_LIST_LIMIT = 10  # per list in the digest: it is a chat message, the report has the rest


@dataclass(frozen=True)
class ReportRequest:
    """What `!report 2026 cop docx fr` asks for; `subject` and `group` both None: every subject;
    `language` None: the sender's."""

    year: int
    subject: str | None
    group: str | None
    format: str
    language: str | None = None


async def _request(ctx: Context, words: str | None) -> ReportRequest:
    """Read the words in any order: a year, a subject slug, `all` or an advisory group, a format, a
    language code (ar zh en fr ru es)."""
    # The report's compiler and renderers load with the first report asked for, not with every start.
    from iscg_bot.render import report_render

    subject = await subject_here(ctx)
    zone = subject.timezone if subject is not None else ctx.services.config.bot.default_timezone
    year, scope, chosen_format = today_in(zone, ctx.now).year, None, "docx"
    language: str | None = None
    for word in (words or "").split():
        lowered = word.lower()
        if word.isdigit() and len(word) == 4:
            year = int(word)
        elif lowered in report_render.MIME_TYPES:
            chosen_format = lowered
        elif lowered in LANGUAGES and language is None:
            language = lowered
        elif scope is None:
            scope = word
        else:
            raise UsageError(
                _('"{word}" is one word too many: give a year, a subject or all, a format.', word=word[:30])
            )
    if scope is None:
        # The group room reports on everyone; a room with no subject names what it wants.
        instead = tr("Name a subject or all, e.g. {command}.", command=f"{ctx.prefix}report {year} all")
        subject = await subject_or_group(ctx, instead)
        scope = subject.slug if subject is not None else "all"
    if scope.upper() in AdvisoryGroup.__members__:
        return ReportRequest(year, None, scope.upper(), chosen_format, language)
    subject_slug = None if scope.lower() == "all" else scope.lower()
    return ReportRequest(year, subject_slug, None, chosen_format, language)


async def _requested(ctx: Context, arguments: Mapping[str, object]) -> ReportRequest:
    """What `!report` asks for, for the rule on who may report on it (`policy.reporters`)."""
    words = arguments.get("words")
    return await _request(ctx, words if isinstance(words, str) else None)


async def compile_for(
    ctx: Context, period: Period, *, subject_slug: str | None = None, advisory_group: str | None = None
) -> Report:
    from iscg_bot.domain import reports

    return await reports.compile_report(
        ctx.uow,
        period=period,
        subject_slug=subject_slug,
        advisory_group=advisory_group,
        now=ctx.now,
        base_url=ctx.services.web_base_url,
        default_zone=ctx.services.config.bot.default_timezone,
    )


@router.command("report", allow=reporters(_requested))
async def report(ctx: Context, words: Rest | None = None) -> None:
    """Compile a year's report and post it as a file, with the link to its web copy.

    The report covers this room's subject unless told: another subject, `all`, or an advisory group's
    subjects (TSAG, RAG, TDAG). The year is this one unless given; the file is md, html or docx (the default).

    The report is written in your language unless given another: ar, zh, en, fr, ru or es.

    Example: !report 2026 all docx
    """
    from iscg_bot.domain import reports
    from iscg_bot.render import report_render

    request = await _request(ctx, words)
    compiled = await compile_for(
        ctx, reports.year(request.year), subject_slug=request.subject, advisory_group=request.group
    )
    # The report and what the reply says of it are in the language asked for (else the sender's).
    with speaking(request.language):
        # Rendering is plain computation (a Word file of a big year takes seconds): off the event loop, which
        # must keep syncing meanwhile (the thread is given this task's context: its language).
        body = await asyncio.to_thread(report_render.render_as, compiled, request.format)
        headline = [text(report_render.headline(compiled))]
        if compiled.base_url:
            headline.append(tr("Web copy: {link}", link=link(compiled.base_url)))
    await ctx.reply(lines(headline))
    await ctx.attach(
        report_render.filename(compiled, request.format), report_render.MIME_TYPES[request.format], body
    )


@router.command("summary", allow=OFFICERS)
async def summary(ctx: Context, days: int | None = None) -> None:
    """Post a digest of the last days across all subjects (7 unless told).

    It lists the meetings held and coming, decisions, key issues, and the action items opened, closed and
    overdue.

    Example: !summary 14
    """
    days = SUMMARY_DAYS if days is None else days
    if not 1 <= days <= LONGEST_SUMMARY_DAYS:
        raise UsageError(_("Give a number of days from 1 to {most}.", most=LONGEST_SUMMARY_DAYS))
    zone = ctx.services.config.bot.default_timezone
    today = today_in(zone, ctx.now)
    compiled = await compile_for(ctx, Period(today - timedelta(days=days - 1), today))
    await ctx.reply(digest(compiled, days=days, until=ctx.now + timedelta(days=days), prefix=ctx.prefix))


def digest(compiled: Report, *, days: int, until: datetime, prefix: str = "!") -> Rich:
    """The compact form of a report, for the chat (`prefix`: the command prefix it names `report` with)."""
    totals = compiled.totals
    held = [(s, m) for s in compiled.subjects for m in s.held]
    coming = sorted(
        ((s, m) for s in compiled.subjects for m in s.planned if m.start <= until), key=lambda sm: sm[1].start
    )
    decisions = [d for s in compiled.subjects for d in s.decisions]
    days_shown = n_("{count} day", "{count} days", days)
    figures = [
        n_("{count} meeting held", "{count} meetings held", totals.meetings_held),
        n_(
            "{count} coming in the next {days}",
            "{count} coming in the next {days}",
            len(coming),
            days=days_shown,
        ),
        n_("{count} decision", "{count} decisions", totals.decisions),
        n_("{count} key issue", "{count} key issues", totals.key_issues),
        _(
            "actions: {opened} opened, {closed} closed, {overdue} overdue",
            opened=totals.actions_opened,
            closed=totals.actions_closed,
            overdue=totals.actions_overdue,
        ),
    ]
    rows: list[Rich | str] = [
        text(
            _(
                "The last {days} ({period}), {subjects}:",
                days=days_shown,
                period=compiled.period.label,
                subjects=n_("{count} subject", "{count} subjects", totals.subjects),
            )
        ),
        text(" · ".join(figures)),
    ]
    sections = [
        (_HELD, [f"{s.title}: {m.reference} {m.title} ({moment(m.started_at, s.zone)})" for s, m in held]),
        (_COMING, [f"{s.title}: {m.reference} {m.title} ({moment(m.start, m.zone)})" for s, m in coming]),
        (_DECISIONS, [f"{d.subject_title}: {d.text}" for d in decisions]),
        (_KEY_ISSUES, [f"{k.subject_title}: {k.text}" for k in compiled.key_issues]),
        (
            _OVERDUE,
            [f"{a.label} {a.owner.user_id}: {a.text}" for s in compiled.subjects for a in s.actions_overdue],
        ),
    ]
    for heading, items in sections:
        if items:
            more = len(items) - SUMMARY_LIST_LIMIT
            shown = [text(item) for item in items[:SUMMARY_LIST_LIMIT]]
            if more > 0:
                shown.append(
                    text(_("… and {more} more (see {command})", more=more, command=f"{prefix}report"))
                )
            rows.append(lines([text(_(heading)), bullets(shown)]))
    return lines(rows)


# The digest's sections' headings.
_HELD = lazy("Held:")
_COMING = lazy("Coming:")
_DECISIONS = lazy("Decisions:")
_KEY_ISSUES = lazy("Key issues:")
_OVERDUE = lazy("Overdue actions:")
