"""The Word writer of `iscg_bot.render.report_render`: the same blocks as the Markdown and the HTML, in the
named styles of python-docx's default template, so a secretariat can restyle the file or paste into its own:

    Title / Subtitle      the title page: title, period, scope, date generated
    TOC Heading           "Contents", then one "List Number" line per subject and section
    Heading 1 / Heading 2 a subject or a report section / a part of a subject
    List Bullet           totals, focal points, decisions, key issues
    Caption + TABLE_STYLE meetings held, actions, meetings planned, possible duplications (header row repeats)
    picture + Caption     the chart of meetings held per subject per month (render.chart's PNG; alt text)

Paragraphs and table rows are written as WordprocessingML and parsed in batches (`_Runs`): the same XML
python-docx's run API writes, at a fraction of the cost per run. User text is XML-escaped into <w:t>, so it
is only ever text; characters XML cannot hold are dropped (`markup.clean`). Core properties and the zip
entries' dates come from the report, so the same report gives the same bytes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from datetime import UTC
from xml.sax.saxutils import escape
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from docx import Document
from docx.document import Document as WordDocument
from docx.enum.text import WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Inches, RGBColor
from lxml import etree

from iscg_bot.core.markup import Piece, clean, one_line
from iscg_bot.domain.report_model import Report
from iscg_bot.render import chart
from iscg_bot.render.report_blocks import Block

TABLE_STYLE = "Light Grid Accent 1"
AUTHOR = "ISCG bot"
LINK_COLOUR = RGBColor(0x05, 0x63, 0xC1)
CORE_LIMIT = 255  # python-docx refuses longer core property strings
# The default template's page (Letter) inside its margins: 6.5 × 9 inches; a little is left for the caption.
CHART_WIDTH, CHART_HEIGHT = 6.0, 8.0


def write_docx(report: Report, blocks: Sequence[Block]) -> bytes:
    document = Document()
    runs = _Runs(document)
    _core_properties(document, report)
    front = [block for block in blocks if block.front]
    body = [block for block in blocks if not block.front]
    for block in front:
        _paragraphs(document, "Title" if block.kind == "h" else "Subtitle", [runs.xml(block.pieces)])
    _page_break(document)
    contents = [block.pieces[:1] for block in body if block.kind == "h" and block.level == 2]
    _paragraphs(document, "TOC Heading", [runs.xml((Piece("text", "Contents"),))])
    _paragraphs(document, "List Number", [runs.xml(pieces) for pieces in contents])
    _page_break(document)
    for block in body:
        if block.kind == "h":  # the report's sections are Word's top level: the title is on the front page
            heading = Piece("text", one_line(block.pieces[0].text))
            _paragraphs(document, f"Heading {max(1, block.level - 1)}", [runs.xml((heading,))])
        elif block.kind == "p":
            pieces = block.pieces
            if block.css == "empty":  # "None." and the like, in italics
                pieces = tuple(p._replace(kind="em") if p.kind == "text" else p for p in pieces)
            _paragraphs(document, None, [runs.xml(pieces)])
        elif block.kind == "ul":
            _paragraphs(document, "List Bullet", [runs.xml(item) for item in block.items])
        elif block.kind == "chart":
            _chart(document, block)
        else:
            _table(document, block, runs)
    buffer = io.BytesIO()
    document.save(buffer)
    return _stamped(buffer.getvalue(), report)


def _style_id(document: WordDocument, style: str) -> str:
    """python-docx resolves a style name by scanning every style on each call: the IDs are looked up once
    (every document starts from python-docx's default template, so they are the same in all)."""
    if style not in _STYLE_IDS:
        _STYLE_IDS[style] = document.styles[style].style_id
    return _STYLE_IDS[style]


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


def _table(document: WordDocument, block: Block, runs: _Runs) -> None:
    _paragraphs(document, "Caption", [runs.xml((Piece("text", block.caption),))])
    table = document.add_table(rows=1, cols=len(block.header))
    table.style = TABLE_STYLE
    for cell, name in zip(table.rows[0].cells, block.header, strict=True):
        cell.text = name
    header = table.rows[0]._tr.get_or_add_trPr()  # the header row repeats on every page the table spans
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header.append(repeat)
    # The rows are written as XML and parsed in one go: through python-docx's API, one object per run, a big
    # year's tables took tens of seconds. Each cell keeps the width python-docx gave the header's.
    widths = [etree.tostring(tc.tcPr, encoding="unicode") for tc in table.rows[0]._tr.tc_lst]
    rows = "".join(
        "<w:tr>"
        + "".join(
            f"<w:tc>{width}<w:p>{runs.xml(pieces)}</w:p></w:tc>"
            for width, pieces in zip(widths, row, strict=True)
        )
        + "</w:tr>"
        for row in block.rows
    )
    for tr in _parsed(rows):
        table._tbl.append(tr)


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
    _paragraphs(document, "Caption", [f"<w:r>{_text_xml(block.caption)}</w:r>"])


class _Runs:
    """Pieces as WordprocessingML runs, the XML python-docx's `add_run` would write: text escaped, "\n" a
    line break, a tab a tab; bold or italic; a link a <w:hyperlink> to an external relationship, one per
    URL (python-docx's `relate_to` looks for an existing one by scanning them all: quadratic in links)."""

    def __init__(self, document: WordDocument) -> None:
        self.part = document.part
        self.links: dict[str, str] = {}

    def xml(self, pieces: Sequence[Piece]) -> str:
        out = []
        for piece in pieces:
            if piece.kind == "link":
                if piece.url not in self.links:
                    # An ID of our own: python-docx's next free "rIdN" is found by a scan too.
                    rid = f"rIdLink{len(self.links) + 1}"
                    self.part.rels.add_relationship(
                        RELATIONSHIP_TYPE.HYPERLINK, piece.url, rid, is_external=True
                    )
                    self.links[piece.url] = rid
                look = f'<w:rPr><w:color w:val="{LINK_COLOUR}"/><w:u w:val="single"/></w:rPr>'
                out.append(
                    f'<w:hyperlink r:id="{self.links[piece.url]}"><w:r>{look}{_text_xml(piece.text)}</w:r>'
                    "</w:hyperlink>"
                )
            else:
                style = {"strong": "<w:rPr><w:b/></w:rPr>", "em": "<w:rPr><w:i/></w:rPr>"}.get(piece.kind, "")
                out.append(f"<w:r>{style}{_text_xml(piece.text)}</w:r>")
        return "".join(out)


def _text_xml(text: str) -> str:
    parts = []
    for n, line in enumerate(_text(text).split("\n")):
        if n:
            parts.append("<w:br/>")
        for m, chunk in enumerate(line.split("\t")):
            if m:
                parts.append("<w:tab/>")
            if chunk:
                parts.append(f'<w:t xml:space="preserve">{escape(chunk)}</w:t>')
    return "".join(parts)


def _parsed(elements: str) -> list[BaseOxmlElement]:
    """WordprocessingML elements (rows, paragraphs) from their XML, as python-docx's element classes."""
    return list(parse_xml(f"<w:body {nsdecls('w', 'r')}>{elements}</w:body>")) if elements else []


def _paragraphs(document: WordDocument, style: str | None, contents: Sequence[str]) -> None:
    """Paragraphs in `style` (None: Normal), one per string of runs, added at the end of the document."""
    head = f'<w:pPr><w:pStyle w:val="{_style_id(document, style)}"/></w:pPr>' if style else ""
    body = document.element.body
    # Before the section properties, which end the body: python-docx's own insert looks for them from the
    # first child on, for every paragraph.
    end = body[-1] if len(body) and body[-1].tag == qn("w:sectPr") else None
    for paragraph in _parsed("".join(f"<w:p>{head}{runs}</w:p>" for runs in contents)):
        if end is None:
            body.append(paragraph)
        else:
            end.addprevious(paragraph)


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
