"""A meeting's minutes as Markdown and as a standalone HTML page, from one plain document.

    render_markdown(doc)  → the file posted to the room (CommonMark / GitHub-flavoured)
    render_html(doc)      → the web copy: no JavaScript, a small inline stylesheet, readable on a phone
    filename(doc, "md")   → "minutes-M12-2026-11-25.md"

Both formats are written from the same list of blocks (`_blocks`), so they carry the same content in the
same order; only the last step differs. Everything user-written is escaped for its format: in HTML it can
never become a tag or an attribute, in Markdown never a heading, list, link, emphasis or raw HTML. Only
http(s) URLs become links.

Newlines in Markdown: a newline inside user text becomes a hard line break (two trailing spaces) and the next
line is indented under its list item, so one log line stays exactly one list item; blank lines inside a text
are dropped, as they would split the item into paragraphs. In HTML a newline is a <br>.

Pure functions: no clock, no I/O; the same document gives the same bytes.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from iscg_bot.core.i18n import _, count_text, current, html_language, is_right_to_left, lazy
from iscg_bot.core.markup import (
    Piece,
    html_text,
    link_piece,
    one_line,
    pieces_html,
    pieces_md,
    pieces_of,
    web_url,
)
from iscg_bot.core.timeshow import SEPARATOR, UTC_NAMES, clock, day_label, moment, span
from iscg_bot.domain.minutes_model import Action, Item, LogLine, MinutesDocument, Person, shown_title

# Every text below is a message shown with `_()` where it is written: the minutes are written in the language
# being spoken (at !endmeeting, the room's).
TAG_WORDS = {
    "info": lazy("INFO"),
    "idea": lazy("IDEA"),
    "agreed": lazy("AGREED"),
    "rejected": lazy("REJECTED"),
    "action": lazy("ACTION"),
    "link": lazy("LINK"),
    "keyissue": lazy("KEY ISSUE"),
}
STATUS_LINES = {"running": lazy("In progress"), "draft": lazy("Draft — not yet approved")}
ACTION_STATUS = {"open": lazy("open"), "done": lazy("done"), "dropped": lazy("dropped")}


# ---- the neutral form both formats are written from -------------------------------------------------------


class _Block(NamedTuple):
    kind: str  # "h" | "p" | "ul" | "ol"
    pieces: tuple[Piece, ...] = ()  # for "h" and "p"
    items: tuple[tuple[Piece, ...], ...] = ()  # for lists
    level: int = 0  # heading level
    css: str = ""  # a class for the HTML element
    markdown_only: bool = False


def _t(text: str) -> Piece:
    return Piece("text", text)


def _h(level: int, text: str) -> _Block:
    return _Block("h", (_t(one_line(text)),), level=level)  # a heading cannot span lines


def _blocks(doc: MinutesDocument) -> list[_Block]:
    zone = doc.zone
    out = [_h(1, shown_title(doc.title))]
    named = (
        _("Minutes {reference} · {subject}", reference=doc.reference, subject=doc.subject)
        if doc.subject
        else _("Minutes {reference}", reference=doc.reference)
    )
    out.append(_Block("p", (_t(named),)))
    out.append(_Block("p", _status(doc), css=f"status status-{doc.status}"))
    out.append(_Block("p", (_t(_when(doc)),), css="when"))
    if doc.page_url and web_url(doc.page_url):  # the HTML page is that copy; say so only in the Markdown
        web_copy = pieces_of(_("Web copy: {link}"), link=Piece("link", doc.page_url, doc.page_url))
        out.append(_Block("p", web_copy, markdown_only=True))

    def people(title: str, who: tuple[Person, ...]) -> None:
        out.extend((_h(2, title), _Block("ul", items=tuple((_t(one_line(p.label)),) for p in who))))

    if doc.chairs:
        people(_("Chairs"), doc.chairs)
    # Always shown: an empty list says something.
    people(_("Attendance ({count})", count=_number(len(doc.attendance))), doc.attendance)
    if not doc.attendance:
        out[-1] = _Block("p", (Piece("em", _("Nobody was recorded present.")),))
    if doc.regrets:
        people(_("Regrets"), doc.regrets)
    if doc.agenda:
        out.extend((_h(2, _("Agenda")), _Block("ol", items=tuple((_t(a),) for a in doc.agenda))))
    topics = [t for t in doc.topics if t.items or t.title]
    if topics:
        out.append(_h(2, _("Summary")))
        for topic in topics:
            out.append(_h(3, topic.title or _("Before the first topic")))
            if topic.items:
                out.append(_Block("ul", items=tuple(_item(i, zone) for i in topic.items)))
    if doc.decisions:
        out.extend((_h(2, _("Decisions")), _Block("ul", items=tuple((_t(d),) for d in doc.decisions))))
    if doc.actions:
        out.append(_h(2, _("Actions")))
        by_owner: dict[str, list[Action]] = {}  # insertion order: owners as they first appear
        for action in doc.actions:
            by_owner.setdefault(action.owner.user_id, []).append(action)
        for owned in by_owner.values():
            out.extend(
                (_h(3, one_line(owned[0].owner.label)), _Block("ul", items=tuple(map(_action, owned))))
            )
    if doc.key_issues:
        out.extend((_h(2, _("Key issues")), _Block("ul", items=tuple((_t(k),) for k in doc.key_issues))))
    if doc.links:
        links = tuple((link_piece(x.url, x.text),) for x in doc.links)
        out.extend((_h(2, _("Links")), _Block("ul", items=links)))
    if doc.log:
        first_day = _local(doc.started_at, zone).date()
        out.append(_h(2, _("Log")))
        out.append(_Block("ul", items=tuple(_log_line(line, zone, first_day) for line in doc.log), css="log"))
    return out


def _status(doc: MinutesDocument) -> tuple[Piece, ...]:
    """The fixed words in bold; the approver's name stays plain text, never inside Markdown emphasis."""
    if doc.status != "approved":
        known = STATUS_LINES.get(doc.status)
        return (Piece("strong", _(known) if known else doc.status.capitalize()),)
    by = one_line(doc.approved_by.label) if doc.approved_by else ""
    on = day_label(_local(doc.approved_at, doc.zone).date()) if doc.approved_at else ""
    approved = Piece("strong", _("Approved"))
    if by and on:
        template = _("{approved} by {person} on {day}")
    elif by:
        template = _("{approved} by {person}")
    elif on:
        template = _("{approved} on {day}")
    else:
        template = "{approved}"
    return pieces_of(template, approved=approved, person=_t(by), day=_t(on))


def _when(doc: MinutesDocument) -> str:
    if doc.ended_at is not None:
        return span(doc.started_at, doc.ended_at, doc.zone)
    # timeshow has no open span; show the start in the zone, then in UTC, as span() would.
    started = _("Started {when}", when=moment(doc.started_at, doc.zone))
    if doc.zone in UTC_NAMES:
        return started
    local_day, utc = _local(doc.started_at, doc.zone).date(), doc.started_at.astimezone(UTC)
    day = "" if utc.date() == local_day else day_label(utc.date(), year=utc.year != local_day.year) + " "
    return f"{started}{SEPARATOR}{day}{clock(utc)} UTC"


def _item(item: Item, zone: str) -> tuple[Piece, ...]:
    word = Piece("strong", _tag_word(item.tag))
    body: tuple[Piece, ...]
    if item.url is not None:
        body = (_t(" "), link_piece(item.url, item.text))
    else:
        body = (_t(f" {item.text}"),)
    return (word, *body, _t(f" — {one_line(item.who.short)}, {_local(item.time, zone):%H:%M}"))


def _action(action: Action) -> tuple[Piece, ...]:
    due = _(" — due {day}", day=day_label(action.due)) if action.due else ""
    known = ACTION_STATUS.get(action.status)
    status = _("({status})", status=_(known) if known else action.status)
    return (Piece("strong", action.label), _t(f" {action.text}{due} "), Piece("em", status))


def _log_line(line: LogLine, zone: str, first_day: date) -> tuple[Piece, ...]:
    local = _local(line.time, zone)
    # HH:MM alone is ambiguous once the log runs past midnight in the subject's zone.
    day = "" if local.date() == first_day else day_label(local.date(), year=False) + " "
    shown = f"{day}{local:%H:%M}"
    pieces = [Piece("time", shown, line.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")), _t(" ")]
    name = one_line(line.who.short)
    if line.kind == "m.emote":
        pieces.append(_t(f"* {name} "))
    else:
        said = _("{name} (notice): ", name=name) if line.kind == "m.notice" else _("{name}: ", name=name)
        pieces.append(_t(said))
    pieces += [p for tag in line.tags for p in (Piece("strong", _tag_word(tag)), _t(" "))]
    if line.kind == "m.undecryptable":
        pieces.append(Piece("em", _("(message could not be decrypted)")))
    else:
        pieces.append(_t(line.text))
    if line.edited:
        pieces += [_t(" "), Piece("em", _("(edited)"))]
    return tuple(pieces)


def _tag_word(tag: str) -> str:
    known = TAG_WORDS.get(tag)
    return _(known) if known else tag.upper()


def _number(value: int) -> str:
    """A count as the language writes it (English: as the minutes always wrote it)."""
    return str(value) if current() == "en" else count_text(value)


# ---- Markdown ---------------------------------------------------------------------------------------------


def render_markdown(doc: MinutesDocument) -> str:
    chunks = []
    for block in _blocks(doc):
        if block.kind == "h":
            chunks.append(f"{'#' * block.level} {pieces_md(block.pieces, '')}")
        elif block.kind == "p":
            chunks.append(pieces_md(block.pieces, ""))
        else:
            lines = []
            for n, item in enumerate(block.items, start=1):
                marker = f"{n}. " if block.kind == "ol" else "- "
                lines.append(marker + pieces_md(item, " " * len(marker)))
            chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"


# ---- HTML -------------------------------------------------------------------------------------------------

_CSS = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;background:#fff}
main{max-width:48rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;border-bottom:1px solid #ddd;margin-top:1.5rem}
h3{font-size:1.05rem}li{overflow-wrap:anywhere}
.status-draft,.status-running{background:#fff3cd;border:2px dashed #a66f00;padding:.5rem}
.status-approved{background:#e6f4ea;border:1px solid #2e7d32;padding:.5rem}
ul.log{list-style:none;padding:0}ul.log li{padding:.2rem 0;border-bottom:1px solid #eee}
time{color:#555;font-variant-numeric:tabular-nums}
""".strip()


def render_html(doc: MinutesDocument) -> str:
    body = []
    for block in _blocks(doc):
        if block.markdown_only:
            continue
        css = f' class="{html.escape(block.css)}"' if block.css else ""
        if block.kind == "h":
            body.append(f"<h{block.level}>{pieces_html(block.pieces)}</h{block.level}>")
        elif block.kind == "p":
            body.append(f"<p{css}>{pieces_html(block.pieces)}</p>")
        else:
            items = "".join(f"<li>{pieces_html(item)}</li>\n" for item in block.items)
            body.append(f"<{block.kind}{css}>\n{items}</{block.kind}>")
    title = shown_title(doc.title)
    titles = {
        "draft": _("{title} — minutes {reference} (draft)", title=title, reference=doc.reference),
        "running": _("{title} — minutes {reference} (in progress)", title=title, reference=doc.reference),
    }
    title = html_text(
        one_line(
            titles.get(doc.status) or _("{title} — minutes {reference}", title=title, reference=doc.reference)
        )
    )
    direction = ' dir="rtl"' if is_right_to_left() else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{html_language()}"{direction}>\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>\n{_CSS}\n</style>\n</head>\n"
        f'<body class="minutes-{html.escape(doc.status)}">\n<main>\n'
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


# ---- shared helpers ---------------------------------------------------------------------------------------


def _local(instant: datetime, zone: str) -> datetime:
    if instant.utcoffset() is None:
        raise ValueError(f"a naive datetime has no place in the minutes: {instant.isoformat()}")
    return instant.astimezone(ZoneInfo(zone))


def filename(doc: MinutesDocument, extension: str) -> str:
    """`minutes-M12-2026-11-25.md`: the start's date in the subject's zone; only [A-Za-z0-9.-] survive."""
    day = _local(doc.started_at, doc.zone).date().isoformat()
    reference = re.sub(r"[^A-Za-z0-9]+", "-", doc.reference).strip("-") or "meeting"
    extension = re.sub(r"[^A-Za-z0-9]+", "", extension)
    return f"minutes-{reference}-{day}" + (f".{extension.lower()}" if extension else "")
