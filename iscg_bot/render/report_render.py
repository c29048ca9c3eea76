"""A report to the advisory groups (`iscg_bot.domain.report_model.Report`) as Markdown, HTML and Word.

    render_markdown(report) → the file uploaded to the room (CommonMark with GitHub's tables)
    render_html(report)     → the web copy at /reports/<year>: no JavaScript, nothing inline
                              (its stylesheet is report.css; `standalone=True`: inline, for a file)
    render_docx(report)     → a Word file a secretariat can restyle (python-docx; see report_render_docx)
    filename(report, "md")  → "iscg-report-2026-all-subjects.md"

All three are written from the same list of blocks (`blocks`, laid out once per report), so they carry the
same content in the same order: title, period, scope, totals, a chart of the meetings held per subject per
month; per subject its coordination, meetings held, decisions, key issues, actions opened / closed / overdue
and meetings planned; then the cross-subject key issues and the possible duplications. A section with
nothing in it says so, so a reader sees it was checked. The chart (`iscg_bot.render.chart`) is an inline
<svg> in HTML and a picture in Word, each with its caption; Markdown gives the caption and says where the
chart is (its figures are the meetings held listed under each subject).

User text is escaped as the minutes are (`iscg_bot.render.minutes_render`): never a tag or an attribute in
HTML, never structure in Markdown; only http(s) URLs become links. Table cells and headings are one line.

The report is written in the language being spoken (`core.i18n.speaking`: `!report … fr`, `iscg-bot report
--lang fr`, the web page's reader): every heading, label and sentence is a message, dates and numbers are
CLDR's, Sectors and advisory groups are named as the glossary has them (`roles.shown_body`); the data stays
as typed. A report is laid out once per language. Arabic is right to left: the page's `dir`, Word's bidi
paragraphs (`report_render_docx`).

Pure functions: no clock, no I/O; the same report gives the same bytes, in all three formats.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import re
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from iscg_bot.core.i18n import (
    SOURCE,
    _,
    babel_locale,
    count_text,
    current,
    html_language,
    is_right_to_left,
    lazy,
    n_,
)
from iscg_bot.core.markup import (
    Piece,
    clean,
    html_text,
    link_piece,
    md_text,
    one_line,
    pieces_html,
    pieces_md,
    pieces_of,
    web_url,
)
from iscg_bot.core.timeshow import SEPARATOR, UTC_NAMES, clock, day_label, moment, span
from iscg_bot.domain.minutes_model import shown_title
from iscg_bot.domain.report_model import (
    ActionRow,
    HeldMeeting,
    Noted,
    Overlap,
    PlannedMeeting,
    Report,
    Source,
    SubjectReport,
)
from iscg_bot.domain.roles import shown_body
from iscg_bot.render import chart  # light: matplotlib loads only when a chart is drawn
from iscg_bot.render.report_blocks import Block, Cell
from iscg_bot.render.report_names import scope, title

SECTOR_ORDER = ("ITU-R", "ITU-T", "ITU-D", "GS")
CROSS_SUBJECT = lazy("Key issues for the Bureau Directors and the ISC-TF")
DUPLICATION = lazy("Possible duplication of activities")
NONE = "—"  # an empty table cell
CHART_ELSEWHERE = lazy("The chart is in the HTML and Word versions of this report.")  # what Markdown says

# Every text below is a message shown with `_()` where it is written: the report is laid out in the language
# being spoken (`core.i18n.speaking`), so one report renders in any of the six.
HELD_HEADER = (
    lazy("Meeting"),
    lazy("Title"),
    lazy("When"),
    lazy("Duration"),
    lazy("Attendance"),
    lazy("Regrets"),
    lazy("Minutes"),
)
ACTION_HEADER = (lazy("Action"), lazy("Owner"), lazy("What"), lazy("Due"), lazy("Opened"), lazy("Status"))
PLANNED_HEADER = (lazy("Meeting"), lazy("Title"), lazy("When"))
OVERLAP_HEADER = (lazy("First source"), lazy("Second source"), lazy("Shared words"), lazy("Similarity"))
MINUTES_STATUS = {"draft": lazy("draft"), "approved": lazy("approved")}
ACTION_STATUS = {"open": lazy("open"), "done": lazy("done"), "dropped": lazy("dropped")}
CLOSED_ON = {"done": lazy("done on {day}"), "dropped": lazy("dropped on {day}")}


def _t(text: str) -> Piece:
    return Piece("text", text)


def _cell(text: str) -> Cell:
    # A table row is one line in Markdown. `one_line` written out: a big year's tables have 60,000 cells.
    return (Piece("text", " ".join(text.split()) or NONE),)


def _h(level: int, text: str) -> Block:
    return Block("h", (_t(one_line(text)),), level=level)


def _p(text: str, css: str = "") -> Block:
    return Block("p", (_t(text),), css=css)


def _empty(text: str) -> Block:
    return _p(text, css="empty")


def _table(caption: str, header: tuple[str, ...], rows: Iterable[tuple[Cell, ...]], css: str) -> Block:
    return Block("table", header=tuple(map(_, header)), rows=tuple(rows), caption=one_line(caption), css=css)


def _number(value: int) -> str:
    """A count as the language writes it; in English as the report always wrote it (no grouping)."""
    return str(value) if current() == SOURCE else count_text(value)


def _decimal(value: float) -> str:
    """`1.5` (English), `1,5` (French): hours with at most two decimals."""
    locale = babel_locale()
    if locale is None:
        return f"{round(value, 2):g}"
    from babel.numbers import format_decimal  # Babel is loaded only when another language is written

    return format_decimal(round(value, 2), format="#,##0.##", locale=locale)


# ---- the content, once ------------------------------------------------------------------------------------


# A report's blocks while it lives, by its identity: a report is immutable, and one rendered in two or three
# formats (the web copy and a download, `iscg-bot report` for each format) is laid out once. An entry goes
# when its report does (`weakref.finalize`), so an ID is never reused for another report's blocks.
_LAID_OUT: dict[int, dict[str, tuple[Block, ...]]] = {}  # report → language → blocks


def blocks(report: Report) -> list[Block]:
    """Everything the report shows, in order, in the current language; the first blocks (title, period,
    scope, date) are its front."""
    key = id(report)
    languages = _LAID_OUT.get(key)
    if languages is None:
        languages = _LAID_OUT[key] = {}
        weakref.finalize(report, _LAID_OUT.pop, key, None)
    laid_out = languages.get(current())
    if laid_out is None:
        laid_out = languages[current()] = tuple(_lay_out(report))
    return list(laid_out)


def _lay_out(report: Report) -> list[Block]:
    front = [
        _h(1, title(report)),
        _p(_("Period: {period}", period=report.period.label)),
        _p(_("Scope: {scope}", scope=one_line(scope(report)))),
        _p(_("Generated: {when}", when=moment(report.generated_at, "UTC"))),
    ]
    if report.base_url and web_url(report.base_url):
        web_copy = Piece("link", report.base_url, report.base_url)
        front.append(Block("p", pieces_of(_("Web copy: {link}"), link=web_copy)))
    out = [block._replace(front=True) for block in front]
    out += _totals(report)
    out.append(_chart(report))
    zones = {subject.slug: subject.zone for subject in report.subjects}
    titles = {subject.slug: subject.title for subject in report.subjects}
    for subject in report.subjects:
        out += _subject(subject)
    if not report.subjects:
        out.append(_empty(_("No subjects in this scope.")))
    out.append(_h(2, _(CROSS_SUBJECT)))
    if report.key_issues:
        items = (_noted(k, zones.get(k.subject_slug, "UTC"), with_subject=True) for k in report.key_issues)
        out.append(Block("ul", items=tuple(items)))
    else:
        out.append(_empty(_("No key issues raised in this period.")))
    out.append(_h(2, _(DUPLICATION)))
    if report.overlaps:
        hint = _("Meetings or decisions of different subjects that share words: a hint, not a finding.")
        out.append(_p(hint))
        if report.overlaps_found > len(report.overlaps):
            shown = _(
                "The {shown} closest of {found} are shown.",
                shown=_number(len(report.overlaps)),
                found=count_text(report.overlaps_found),
            )
            out.append(_p(shown))
        rows = (_overlap(overlap, titles) for overlap in report.overlaps)
        out.append(_table(_(DUPLICATION), OVERLAP_HEADER, rows, "overlaps"))
    else:
        out.append(_empty(_("No possible duplication found in this period.")))
    return out


def _totals(report: Report) -> list[Block]:
    t = report.totals
    figures = (
        _("Subjects: {value}", value=_number(t.subjects)),
        _("Meetings held: {value}", value=_number(t.meetings_held)),
        _("Meeting hours: {value}", value=_decimal(t.meeting_hours)),
        _("Attendance (sum over meetings): {value}", value=_number(t.attendance)),
        _("Decisions: {value}", value=_number(t.decisions)),
        _("Key issues: {value}", value=_number(t.key_issues)),
        _("Actions opened: {value}", value=_number(t.actions_opened)),
        _("Actions closed: {value}", value=_number(t.actions_closed)),
        _("Actions overdue: {value}", value=_number(t.actions_overdue)),
    )
    return [_h(2, _("Totals")), Block("ul", items=tuple((_t(figure),) for figure in figures))]


def _chart(report: Report) -> Block:
    data = chart.meetings_per_month(report)
    return Block("chart", caption=_("{chart} (in each subject's time zone)", chart=data.title), chart=data)


def _subject(subject: SubjectReport) -> list[Block]:
    zone, named = subject.zone, one_line(subject.title)
    out = [_h(2, subject.title)]
    if subject.description and subject.description.strip():
        out.append(_p(subject.description))
    out.append(_h(3, _("Coordination")))
    who = ", ".join(one_line(c.label) for c in subject.coordinators) or _("none recorded")
    out.append(_p(n_("Coordinator: {who}", "Coordinators: {who}", len(subject.coordinators), who=who)))
    by_sector: dict[str, list[str]] = {}
    for focal in subject.focal_points:
        by_sector.setdefault(one_line(focal.sector), []).append(one_line(focal.who.label))
    if by_sector:
        order = sorted(by_sector, key=lambda s: (SECTOR_ORDER.index(s) if s in SECTOR_ORDER else 9, s))
        items = tuple(
            (_t(_("{sector}: {people}", sector=shown_body(sector), people=", ".join(by_sector[sector]))),)
            for sector in order
        )
        out.extend((_p(_("Focal points by sector:")), Block("ul", items=items)))
    else:
        out.append(_empty(_("No focal points recorded.")))

    out.append(_h(3, _("Meetings held ({count})", count=_number(len(subject.held)))))
    if subject.held:
        rows = (_held(meeting, zone) for meeting in subject.held)
        out.append(_table(_("Meetings held — {subject}", subject=named), HELD_HEADER, rows, "meetings"))
    else:
        out.append(_empty(_("No meetings held in this period.")))

    for heading, noted, none in (
        (_("Decisions ({count})", count=_number(len(subject.decisions))), subject.decisions, _NO_DECISIONS),
        (_("Key issues ({count})", count=_number(len(subject.key_issues))), subject.key_issues, _NO_ISSUES),
    ):
        out.append(_h(3, heading))
        out.append(Block("ul", items=tuple(_noted(n, zone) for n in noted)) if noted else _empty(_(none)))

    for heading, caption, actions, none in (
        (_OPENED, _OPENED_TABLE, subject.actions_opened, _NONE_OPENED),
        (_CLOSED, _CLOSED_TABLE, subject.actions_closed, _NONE_CLOSED),
        (_OVERDUE, _OVERDUE_TABLE, subject.actions_overdue, _NONE_OVERDUE),
    ):
        out.append(_h(3, _(heading, count=_number(len(actions)))))
        if actions:
            out.append(_table(_(caption, subject=named), ACTION_HEADER, map(_action, actions), "actions"))
        else:
            out.append(_empty(_(none)))

    out.append(_h(3, _("Meetings planned ({count})", count=_number(len(subject.planned)))))
    if subject.planned:
        rows = (_planned(meeting) for meeting in subject.planned)
        caption = _("Meetings planned — {subject}", subject=named)
        out.append(_table(caption, PLANNED_HEADER, rows, "planned"))
    else:
        out.append(_empty(_("No meetings planned after this period.")))
    return out


_NO_DECISIONS = lazy("No decisions recorded in this period.")
_NO_ISSUES = lazy("No key issues raised in this period.")
_OPENED, _OPENED_TABLE = lazy("Actions opened ({count})"), lazy("Actions opened — {subject}")
_CLOSED, _CLOSED_TABLE = lazy("Actions closed ({count})"), lazy("Actions closed — {subject}")
_OVERDUE, _OVERDUE_TABLE = lazy("Actions overdue ({count})"), lazy("Actions overdue — {subject}")
_NONE_OPENED = lazy("No actions opened in this period.")
_NONE_CLOSED = lazy("No actions closed in this period.")
_NONE_OVERDUE = lazy("No actions overdue at the end of the period.")


def _held(meeting: HeldMeeting, zone: str) -> tuple[Cell, ...]:
    known = MINUTES_STATUS.get(meeting.minutes_status)
    status = _(known) if known else meeting.minutes_status
    minutes = (link_piece(meeting.minutes_url, status),) if meeting.minutes_url else _cell(status)
    return (
        _cell(meeting.reference),
        _cell(shown_title(meeting.title)),
        _cell(span(meeting.started_at, meeting.ended_at, zone)),
        _cell(duration(meeting.duration_minutes)),
        _cell(str(meeting.attendance)),
        _cell(str(meeting.regrets)),
        tuple(piece._replace(text=one_line(piece.text)) for piece in minutes),
    )


def _planned(meeting: PlannedMeeting) -> tuple[Cell, ...]:
    return _cell(meeting.reference), _cell(meeting.title), _cell(instant(meeting.start, meeting.zone))


def _noted(noted: Noted, zone: str, *, with_subject: bool = False) -> Cell:
    where = f"{one_line(noted.subject_title)}, " if with_subject else ""
    return (_t(noted.text), _t(f" — {where}{one_line(noted.meeting)}, {day_label(_day(noted.at, zone))}"))


def _action(action: ActionRow) -> tuple[Cell, ...]:
    opened = day_label(action.opened_on)
    if action.origin:
        opened = _("{day} in {meeting}", day=opened, meeting=action.origin)
    known = ACTION_STATUS.get(action.status)
    status = _(known) if known else action.status
    if action.closed_on is not None and action.status in CLOSED_ON:
        status = _(CLOSED_ON[action.status], day=day_label(action.closed_on))
    elif action.overdue:
        status = _("{status}, overdue", status=status)
    due = day_label(action.due) if action.due else NONE
    return tuple(map(_cell, (action.label, action.owner.label, action.text, due, opened, status)))


def _overlap(overlap: Overlap, titles: dict[str, str]) -> tuple[Cell, ...]:
    def source(side: Source) -> Cell:
        subject = titles.get(side.subject_slug, side.subject_slug)
        if side.kind == "decision":
            return _cell(_("{subject} · decision {reference}: {text}", **shown(side, subject)))
        return _cell(_("{subject} · meeting {reference}: {text}", **shown(side, subject)))

    def shown(side: Source, subject: str) -> dict[str, str]:
        return {"subject": subject, "reference": side.reference, "text": side.text}

    return (
        source(overlap.first),
        source(overlap.second),
        _cell(", ".join(overlap.shared)),
        _cell(f"{round(overlap.score * 100)}%"),
    )


def duration(minutes: int) -> str:
    """`45 min`, `2 h`, `1 h 30 min`."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("{minutes} min", minutes=_number(rest))
    if not rest:
        return _("{hours} h", hours=_number(hours))
    return _("{hours} h {minutes} min", hours=_number(hours), minutes=_number(rest))


def instant(start: datetime, zone: str) -> str:
    """A start alone, as `span` shows one: in its zone with the offset, then in UTC."""
    shown = moment(start, zone)
    if zone in UTC_NAMES:
        return shown
    local_day, utc = _day(start, zone), start.astimezone(UTC)
    day = "" if utc.date() == local_day else day_label(utc.date(), year=utc.year != local_day.year) + " "
    return f"{shown}{SEPARATOR}{day}{clock(utc)} UTC"


def _day(at: datetime, zone: str) -> date:
    if at.utcoffset() is None:
        raise ValueError(f"a naive datetime has no place in a report: {at.isoformat()}")
    return at.astimezone(ZoneInfo(zone)).date()


# ---- Markdown ---------------------------------------------------------------------------------------------


def _written_once(write: Callable[[Cell], str]) -> Callable[[Cell], str]:
    """`write`, remembering what it wrote for one rendering: a year's tables repeat most of their cells
    (owners, dates, statuses), and escaping is most of the cost of writing them."""
    written: dict[Cell, str] = {}

    def cell(pieces: Cell) -> str:
        found = written.get(pieces)
        if found is None:
            found = written[pieces] = write(pieces)
        return found

    return cell


def render_markdown(report: Report) -> str:
    chunks = []
    cell_md = _written_once(lambda cell: pieces_md(cell, ""))
    for block in blocks(report):
        if block.kind == "h":
            chunks.append(f"{'#' * block.level} {pieces_md(block.pieces, '')}")
        elif block.kind == "p":
            chunks.append(pieces_md(block.pieces, ""))
        elif block.kind == "ul":
            chunks.append("\n".join("- " + pieces_md(item, "  ") for item in block.items))
        elif block.kind == "chart":  # a picture has no place in the text file uploaded to the room
            chunks += [md_text(block.caption, ""), md_text(_(CHART_ELSEWHERE), "")]
        else:  # the caption as a paragraph, then a GitHub table (cells are one line; "|" is escaped)
            lines = [
                md_text(block.caption, ""),
                "",
                "| " + " | ".join(md_text(name, "") for name in block.header) + " |",
                "|" + "---|" * len(block.header),
            ]
            lines += ["| " + " | ".join(map(cell_md, row)) + " |" for row in block.rows]
            chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"


# ---- HTML -------------------------------------------------------------------------------------------------

# One stylesheet, report.css beside this module: the web copy links it at STYLESHEET, where the web server
# serves it (the site's Content-Security-Policy allows styles from the server only); the saved file carries it
# inline (it must stand alone, wherever it is opened).
STYLESHEET = "/static/report.css"
STYLESHEET_FILE = importlib.resources.files("iscg_bot.render") / "report.css"
ICON = "/static/favicon.svg"


@functools.cache
def _inline_css() -> str:
    return STYLESHEET_FILE.read_text(encoding="utf-8").strip()


def render_html(report: Report, *, standalone: bool = False) -> str:
    """The web copy, served at /reports/<year> with its stylesheet (report.css) and the site's icon
    linked, nothing inline; or, `standalone`, the file (`!report html`, `iscg-bot report`) with it inline."""
    body = []
    cell_html = _written_once(pieces_html)
    for block in blocks(report):
        css = f' class="{html.escape(block.css)}"' if block.css else ""
        if block.kind == "h":
            body.append(f"<h{block.level}>{pieces_html(block.pieces)}</h{block.level}>")
        elif block.kind == "p":
            body.append(f"<p{css}>{pieces_html(block.pieces)}</p>")
        elif block.kind == "ul":
            items = "".join(f"<li>{pieces_html(item)}</li>\n" for item in block.items)
            body.append(f"<ul{css}>\n{items}</ul>")
        elif block.kind == "chart":
            assert block.chart is not None  # a "chart" block always carries its data
            body.append(
                f'<figure class="chart">\n{chart.svg(block.chart)}\n'
                f"<figcaption>{html_text(block.caption)}</figcaption>\n</figure>"
            )
        else:
            head = "".join(f'<th scope="col">{html_text(name)}</th>' for name in block.header)
            rows = "".join(
                f'<tr><th scope="row">{cell_html(row[0])}</th>'
                + "".join(f"<td>{cell_html(cell)}</td>" for cell in row[1:])
                + "</tr>\n"
                for row in block.rows
            )
            body.append(
                f'<div class="table"><table{css}>\n<caption>{html_text(block.caption)}</caption>\n'
                f"<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table></div>"
            )
    direction = ' dir="rtl"' if is_right_to_left() else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{html_language()}"{direction}>\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html_text(one_line(title(report)))}</title>\n{_head_links(standalone)}</head>\n"
        '<body class="report">\n<main>\n' + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


def _head_links(standalone: bool) -> str:
    if standalone:
        return f"<style>\n{_inline_css()}\n</style>\n"
    icon = f'<link rel="icon" href="{ICON}" type="image/svg+xml">\n'
    return f'<link rel="stylesheet" href="{STYLESHEET}">\n' + icon


# ---- Word -------------------------------------------------------------------------------------------------


def render_docx(report: Report) -> bytes:
    """The report as a .docx: a title page, a list of contents, headings, tables and bullet lists in the
    template's named styles; the same report gives the same bytes."""
    # Imported here: python-docx (and lxml) load only when someone asks for a Word file.
    from iscg_bot.render.report_render_docx import write_docx

    return write_docx(report, blocks(report))


def headline(report: Report) -> str:
    """`ISCG report — Child Online Protection — 2026: 1 subject, 3 meetings held, 2 decisions, 1 key issue.`
    (what the chat and the command line say of a report)"""
    totals = report.totals
    return _(
        "{title}: {subjects}, {meetings}, {decisions}, {key_issues}.",
        title=title(report),
        subjects=n_("{count} subject", "{count} subjects", totals.subjects),
        meetings=n_("{count} meeting held", "{count} meetings held", totals.meetings_held),
        decisions=n_("{count} decision", "{count} decisions", totals.decisions),
        key_issues=n_("{count} key issue", "{count} key issues", totals.key_issues),
    )


# ---- one format by name ------------------------------------------------------------------------------------

MIME_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def render_as(report: Report, format: str) -> bytes:
    """The report's file in one of MIME_TYPES' formats."""
    if format == "docx":
        return render_docx(report)
    if format == "html":
        return render_html(report, standalone=True).encode("utf-8")
    return {"md": render_markdown}[format](report).encode("utf-8")


# ---- file names -------------------------------------------------------------------------------------------


def filename(report: Report, extension: str) -> str:
    """`iscg-report-2026-all-subjects.docx`, `iscg-report-2026-01-01-2026-06-30-accessibility.md`;
    only [a-z0-9.-] survive, so the name is safe in a URL, an upload and a Content-Disposition header."""
    subjects = report.subjects
    scope = subjects[0].slug if len(subjects) == 1 and report.scope == subjects[0].title else report.scope
    scope = _slug(scope)[:60].strip("-") or "report"
    extension = re.sub(r"[^A-Za-z0-9]+", "", extension).lower()
    return f"iscg-report-{_slug(report.period.label)}-{scope}" + (f".{extension}" if extension else "")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", clean(text).lower()).strip("-")
