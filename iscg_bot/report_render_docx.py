"""The Word writer of `iscg_bot.report_render`: the same blocks as the Markdown and the HTML, in the named
styles of python-docx's default template, so a secretariat can restyle the file or paste into its own:

    Title / Subtitle      the title page: title, period, scope, date generated
    TOC Heading           "Contents", then one "List Number" line per subject and section
    Heading 1 / Heading 2 a subject or a report section / a part of a subject
    List Bullet           totals, focal points, decisions, key issues
    Caption + TABLE_STYLE meetings held, actions, meetings planned, possible duplications (header row repeats)
    picture + Caption     the chart of meetings held per subject per month (iscg_bot.chart's PNG; alt text)

Text goes in as runs (never parsed as markup); control characters XML cannot hold are dropped. Core
properties and the zip entries' dates come from the report, so the same report gives the same bytes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from datetime import UTC
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from docx import Document
from docx.document import Document as WordDocument
from docx.enum.text import WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from iscg_bot import chart
from iscg_bot.markup import Piece, clean, one_line
from iscg_bot.report_model import Report
from iscg_bot.report_render import Block

TABLE_STYLE = "Light Grid Accent 1"
AUTHOR = "ISCG bot"
LINK_COLOUR = RGBColor(0x05, 0x63, 0xC1)
CORE_LIMIT = 255  # python-docx refuses longer core property strings
# The default template's page (Letter) inside its margins: 6.5 × 9 inches; a little is left for the caption.
CHART_WIDTH, CHART_HEIGHT = 6.0, 8.0


def write_docx(report: Report, blocks: Sequence[Block]) -> bytes:
    document = Document()
    _core_properties(document, report)
    front = [block for block in blocks if block.front]
    body = [block for block in blocks if not block.front]
    for block in front:
        if block.kind == "h":
            _pieces(_styled(document, "Title"), block.pieces)
        else:
            _pieces(_styled(document, "Subtitle"), block.pieces)
    _page_break(document)
    _styled(document, "TOC Heading").add_run("Contents")
    for block in body:
        if block.kind == "h" and block.level == 2:
            _styled(document, "List Number").add_run(_text(block.pieces[0].text))
    _page_break(document)
    for block in body:
        if block.kind == "h":  # the report's sections are Word's top level: the title is on the front page
            heading = _styled(document, f"Heading {max(1, block.level - 1)}")
            heading.add_run(_text(one_line(block.pieces[0].text)))
        elif block.kind == "p":
            paragraph = _pieces(document.add_paragraph(), block.pieces)
            if block.css == "empty":
                for run in paragraph.runs:
                    run.italic = True
        elif block.kind == "ul":
            for item in block.items:
                _pieces(_styled(document, "List Bullet"), item)
        elif block.kind == "chart":
            _chart(document, block)
        else:
            _table(document, block)
    buffer = io.BytesIO()
    document.save(buffer)
    return _stamped(buffer.getvalue(), report)


def _styled(document: WordDocument, style: str) -> Paragraph:
    """A new paragraph in `style`. python-docx resolves a style name by scanning every style on each call;
    the IDs are looked up once (every document starts from python-docx's default template, so they are
    the same in all)."""
    if style not in _STYLE_IDS:
        _STYLE_IDS[style] = document.styles[style].style_id
    paragraph = document.add_paragraph()
    paragraph._p.style = _STYLE_IDS[style]
    return paragraph


_STYLE_IDS: dict[str, str] = {}


def _core_properties(document: WordDocument, report: Report) -> None:
    props = document.core_properties
    props.title = _text(one_line(report.title))[:CORE_LIMIT]
    props.subject = _text(one_line(f"{report.scope} — {report.period.label}"))[:CORE_LIMIT]
    props.author = props.last_modified_by = AUTHOR
    props.keywords = "ISCG, TSAG, RAG, TDAG"
    props.comments = "Compiled by the ISCG bot from the meetings, minutes and actions it recorded."
    props.category = "Report"
    props.revision = 1
    when = report.generated_at.astimezone(UTC)  # python-docx writes the wall time followed by "Z"
    props.created = props.modified = when


def _table(document: WordDocument, block: Block) -> None:
    _styled(document, "Caption").add_run(_text(block.caption))
    table = document.add_table(rows=1, cols=len(block.header))
    table.style = TABLE_STYLE
    for cell, name in zip(table.rows[0].cells, block.header, strict=True):
        cell.text = name
    header = table.rows[0]._tr.get_or_add_trPr()  # the header row repeats on every page the table spans
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header.append(repeat)
    for row in block.rows:
        # `_Row.cells` lays out the whole table's grid on every call (quadratic in the rows): take the new
        # row's own cells instead.
        added = table.add_row()
        for tc, pieces in zip(added._tr.tc_lst, row, strict=True):
            _pieces(_Cell(tc, table).paragraphs[0], pieces)


def _chart(document: WordDocument, block: Block) -> None:
    """The chart's PNG, as wide as CHART_WIDTH or as tall as CHART_HEIGHT (many subjects), then its caption
    (a figure's caption goes under it). The picture's alt text is the chart's one-sentence summary."""
    if block.chart is None:
        return
    image = chart.png(block.chart)
    width, height = struct.unpack(">II", image[16:24])  # the PNG's IHDR: its size in pixels
    picture = document.add_picture(
        io.BytesIO(image), width=Inches(min(CHART_WIDTH, CHART_HEIGHT * width / height))
    )
    picture._inline.docPr.set("descr", _text(block.chart.description()))
    _styled(document, "Caption").add_run(_text(block.caption))


def _pieces(paragraph: Paragraph, pieces: Sequence[Piece]) -> Paragraph:
    for piece in pieces:
        if piece.kind == "link":
            _hyperlink(paragraph, piece.url, piece.text)
            continue
        run = paragraph.add_run(_text(piece.text))  # "\n" becomes a line break inside the paragraph
        if piece.kind in ("strong", "em"):
            run.bold, run.italic = piece.kind == "strong" or None, piece.kind == "em" or None
    return paragraph


def _hyperlink(paragraph: Paragraph, url: str, text: str) -> None:
    """A run inside <w:hyperlink> to an external relationship (the URL was checked to be http(s))."""
    rel = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    run = paragraph.add_run(_text(text))
    run.font.underline = True
    run.font.color.rgb = LINK_COLOUR
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    run._r.addprevious(link)
    link.append(run._r)


def _page_break(document: WordDocument) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _text(text: str) -> str:
    """What XML can hold: one kind of line break, no control characters (tabs and newlines stay)."""
    return clean(text)


def _stamped(data: bytes, report: Report) -> bytes:
    """The package rewritten with every entry dated by the report, not by the clock at saving."""
    stamp = max(report.generated_at.astimezone(UTC).timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    out = io.BytesIO()
    with ZipFile(io.BytesIO(data)) as source, ZipFile(out, "w", ZIP_DEFLATED) as target:
        for entry in source.infolist():
            dated = ZipInfo(entry.filename, date_time=stamp)
            dated.external_attr = 0o644 << 16  # rw-r--r-- when unzipped
            target.writestr(dated, source.read(entry), ZIP_DEFLATED)
    return out.getvalue()
