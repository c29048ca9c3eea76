"""The Word writer of `iscg_bot.render.report_render`: the same blocks as the Markdown and the HTML, in the
named styles of python-docx's default template, so a secretariat can restyle the file or paste into its own:

    Title / Subtitle      the title page: title, period, scope, date generated
    TOC Heading           "Contents", then one "List Number" line per subject and section
    Heading 1 / Heading 2 a subject or a report section / a part of a subject
    List Bullet           totals, focal points, decisions, key issues
    Caption + TABLE_STYLE meetings held, actions, meetings planned, possible duplications (header row repeats)
    picture + Caption     the chart of meetings held per subject per month (render.chart's PNG; alt text)

The body is written as WordprocessingML text (`_Body`, `_Runs`): the same XML python-docx's API writes, put
into the saved document as it is, at a fraction of the cost of an object per run, paragraph and cell. User
text is XML-escaped into <w:t>, so it is only ever text; characters XML cannot hold are dropped
(`markup.clean`). Core properties and the zip
entries' dates come from the report, so the same report gives the same bytes.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Sequence
from datetime import UTC
from xml.sax.saxutils import escape
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from docx import Document
from docx.document import Document as WordDocument
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Inches, RGBColor
from lxml import etree

from iscg_bot.core.i18n import SOURCE, _, current, html_language, is_right_to_left
from iscg_bot.core.markup import Piece, clean, one_line
from iscg_bot.domain.report_model import Report
from iscg_bot.domain.roles import shown_body
from iscg_bot.render import chart
from iscg_bot.render.report_blocks import Block
from iscg_bot.render.report_names import scope, title

TABLE_STYLE = "Light Grid Accent 1"
AUTHOR = "ISCG bot"
LINK_COLOUR = RGBColor(0x05, 0x63, 0xC1)
CORE_LIMIT = 255  # python-docx refuses longer core property strings
# The default template's page (Letter) inside its margins: 6.5 × 9 inches; a little is left for the caption.
CHART_WIDTH, CHART_HEIGHT = 6.0, 8.0
DOCUMENT_PART = "word/document.xml"


def write_docx(report: Report, blocks: Sequence[Block]) -> bytes:
    document = Document()
    # Arabic: every paragraph, run and table right to left (Word's `w:bidi`, `w:rtl`, `w:bidiVisual`).
    right_to_left = is_right_to_left()
    runs = _Runs(document, right_to_left=right_to_left)
    body = _Body(document, right_to_left=right_to_left)
    _core_properties(document, report)
    front = [block for block in blocks if block.front]
    rest = [block for block in blocks if not block.front]
    for block in front:
        body.paragraphs("Title" if block.kind == "h" else "Subtitle", [runs.xml(block.pieces)])
    body.page_break()
    contents = [block.pieces[:1] for block in rest if block.kind == "h" and block.level == 2]
    body.paragraphs("TOC Heading", [runs.xml((Piece("text", _("Contents")),))])
    body.paragraphs("List Number", [runs.xml(pieces) for pieces in contents])
    body.page_break()
    for block in rest:
        if block.kind == "h":  # the report's sections are Word's top level: the title is on the front page
            heading = Piece("text", one_line(block.pieces[0].text))
            body.paragraphs(f"Heading {max(1, block.level - 1)}", [runs.xml((heading,))])
        elif block.kind == "p":
            pieces = block.pieces
            if block.css == "empty":  # "None." and the like, in italics
                pieces = tuple(p._replace(kind="em") if p.kind == "text" else p for p in pieces)
            body.paragraphs(None, [runs.xml(pieces)])
        elif block.kind == "ul":
            body.paragraphs("List Bullet", [runs.xml(item) for item in block.items])
        elif block.kind == "chart":
            body.chart(block)
        else:
            body.table(block, runs)
    buffer = io.BytesIO()
    document.save(buffer)  # with an empty body: `_stamped` puts the blocks' XML in it
    return _stamped(buffer.getvalue(), report, body.xml().encode("utf-8"))


class _Body:
    """The document's body as WordprocessingML text, the XML python-docx's API would write, in order:
    written into the saved document.xml as it is, never parsed into python-docx's element objects (a big
    year's tables took seconds to parse and seconds more to serialize again). python-docx still makes what
    lives outside the body: the picture's part and each link's relationship."""

    def __init__(self, document: WordDocument, *, right_to_left: bool = False) -> None:
        self.document = document
        self.bidi = "<w:bidi/>" if right_to_left else ""  # a paragraph property: right to left
        self.table_bidi = "<w:bidiVisual/>" if right_to_left else ""  # a table's columns right to left
        self.header_run = "<w:rPr><w:rtl/></w:rPr>" if right_to_left else ""
        self.parts: list[str] = []
        self.table_heads: dict[int, tuple[str, str]] = {}  # columns → (table properties and grid, a cell's)

    def xml(self) -> str:
        return "".join(self.parts)

    def paragraphs(self, style: str | None, contents: Sequence[str]) -> None:
        """Paragraphs in `style` (None: Normal), one per string of runs."""
        head = f'<w:pStyle w:val="{_style_id(self.document, style)}"/>' if style else ""
        head = f"<w:pPr>{head}{self.bidi}</w:pPr>" if head or self.bidi else ""
        self.parts.extend(f"<w:p>{head}{runs}</w:p>" for runs in contents)

    def page_break(self) -> None:
        properties = f"<w:pPr>{self.bidi}</w:pPr>" if self.bidi else ""
        self.parts.append(f'<w:p>{properties}<w:r><w:br w:type="page"/></w:r></w:p>')

    def table(self, block: Block, runs: _Runs) -> None:
        """The caption, then the table in TABLE_STYLE, its header row repeated on every page it spans;
        each cell as wide as python-docx makes it."""
        self.paragraphs("Caption", [runs.xml((Piece("text", block.caption),))])
        head, width = self._table_head(len(block.header))
        properties = f"<w:pPr>{self.bidi}</w:pPr>" if self.bidi else ""
        header = "".join(
            f"<w:tc>{width}<w:p>{properties}<w:r>{self.header_run}<w:t>{escape(name)}</w:t></w:r></w:p></w:tc>"
            for name in block.header
        )
        self.parts.append(f'<w:tbl>{head}<w:tr><w:trPr><w:tblHeader w:val="true"/></w:trPr>{header}</w:tr>')
        self.parts.extend(
            "<w:tr>"
            + "".join(f"<w:tc>{width}<w:p>{properties}{runs.xml(pieces)}</w:p></w:tc>" for pieces in row)
            + "</w:tr>"
            for row in block.rows
        )
        self.parts.append("</w:tbl>")

    def _table_head(self, columns: int) -> tuple[str, str]:
        """The properties and grid python-docx gives a table of `columns` (style, widths from the page),
        and its cells' properties: asked of python-docx once per number of columns."""
        if columns not in self.table_heads:
            table = self.document.add_table(rows=1, cols=columns)
            table.style = TABLE_STYLE
            tbl = table._tbl
            declared = self.document.element.nsmap
            table_properties = _xml(tbl.tblPr, declared)
            if self.table_bidi:  # bidiVisual comes first among the table's properties (its schema's order)
                table_properties = re.sub(
                    r"(<w:tblPr[^>]*>)", rf"\1{self.table_bidi}", table_properties, count=1
                )
            head = table_properties + _xml(tbl.tblGrid, declared)
            self.table_heads[columns] = head, _xml(tbl.tr_lst[0].tc_lst[0].tcPr, declared)
            tbl.getparent().remove(tbl)
        return self.table_heads[columns]

    def chart(self, block: Block) -> None:
        """The chart's PNG, as wide as CHART_WIDTH or as tall as CHART_HEIGHT (many subjects), then its
        caption (a figure's caption goes under it). The picture's alt text is the chart's one-sentence
        summary."""
        if block.chart is None:
            return
        image = chart.png(block.chart)
        width, height = struct.unpack(">II", image[16:24])  # the PNG's IHDR: its size in pixels
        inline = self.document.part.new_pic_inline(
            io.BytesIO(image), Inches(min(CHART_WIDTH, CHART_HEIGHT * width / height)), None
        )
        inline.docPr.set("descr", _text(block.chart.description()))
        properties = f"<w:pPr>{self.bidi}</w:pPr>" if self.bidi else ""
        drawing = _xml(inline, self.document.element.nsmap)
        self.parts.append(f"<w:p>{properties}<w:r><w:drawing>{drawing}</w:drawing></w:r></w:p>")
        self.paragraphs("Caption", [f"<w:r>{self.header_run}{_text_xml(block.caption)}</w:r>"])


_DECLARATION = re.compile(r' xmlns:(\w+)="([^"]*)"')


def _xml(element: BaseOxmlElement, declared: dict[str | None, str]) -> str:
    """An element of python-docx's as XML text to put in the body: without the namespaces the document's
    root declares (`declared`), which lxml writes again on an element serialized on its own."""
    return _DECLARATION.sub(
        lambda found: "" if declared.get(found[1]) == found[2] else found[0],
        etree.tostring(element, encoding="unicode"),
    )


def _style_id(document: WordDocument, style: str) -> str:
    """python-docx resolves a style name by scanning every style on each call: the IDs are looked up once
    (every document starts from python-docx's default template, so they are the same in all)."""
    if style not in _STYLE_IDS:
        _STYLE_IDS[style] = document.styles[style].style_id
    return _STYLE_IDS[style]


_STYLE_IDS: dict[str, str] = {}


def _core_properties(document: WordDocument, report: Report) -> None:
    props = document.core_properties
    props.title = _text(one_line(title(report)))[:CORE_LIMIT]
    scope_shown = scope(report)
    subject = _("{scope} — {period}", scope=scope_shown, period=report.period.label)
    props.subject = _text(one_line(subject))[:CORE_LIMIT]
    props.author = props.last_modified_by = AUTHOR
    props.keywords = ", ".join(["ISCG", *map(shown_body, ("TSAG", "RAG", "TDAG"))])
    props.comments = _("Compiled by the ISCG bot from the meetings, minutes and actions it recorded.")
    props.category = _("Report")
    if current() != SOURCE:  # English documents stay as they always were
        props.language = html_language()
    props.revision = 1
    when = report.generated_at.astimezone(UTC)  # python-docx writes the wall time followed by "Z"
    props.created = props.modified = when


class _Runs:
    """Pieces as WordprocessingML runs, the XML python-docx's `add_run` would write: text escaped, "\n" a
    line break, a tab a tab; bold or italic; a link a <w:hyperlink> to an external relationship, one per
    URL (python-docx's `relate_to` looks for an existing one by scanning them all: quadratic in links)."""

    def __init__(self, document: WordDocument, *, right_to_left: bool = False) -> None:
        self.part = document.part
        self.rtl = "<w:rtl/>" if right_to_left else ""  # a run property: its text right to left
        self.links: dict[str, str] = {}
        self.written: dict[tuple[Piece, ...], str] = {}  # a year's tables repeat most of their cells

    def xml(self, pieces: Sequence[Piece]) -> str:
        key = tuple(pieces)
        found = self.written.get(key)
        if found is None:
            found = self.written[key] = self._xml(key)
        return found

    def _xml(self, pieces: Sequence[Piece]) -> str:
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
                look = f'<w:rPr><w:color w:val="{LINK_COLOUR}"/><w:u w:val="single"/>{self.rtl}</w:rPr>'
                out.append(
                    f'<w:hyperlink r:id="{self.links[piece.url]}"><w:r>{look}{_text_xml(piece.text)}</w:r>'
                    "</w:hyperlink>"
                )
            else:
                style = {"strong": "<w:b/>", "em": "<w:i/>"}.get(piece.kind, "") + self.rtl
                style = f"<w:rPr>{style}</w:rPr>" if style else ""
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


def _text(text: str) -> str:
    """What XML can hold: one kind of line break, no control characters (tabs and newlines stay)."""
    return clean(text)


def _stamped(data: bytes, report: Report, body: bytes) -> bytes:
    """The package rewritten with every entry dated by the report, not by the clock at saving, and `body`
    (the blocks' XML) at the start of the document's body, before its section properties."""
    stamp = max(report.generated_at.astimezone(UTC).timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    out = io.BytesIO()
    with ZipFile(io.BytesIO(data)) as source, ZipFile(out, "w", ZIP_DEFLATED) as target:
        for entry in source.infolist():
            dated = ZipInfo(entry.filename, date_time=stamp)
            dated.external_attr = 0o644 << 16  # rw-r--r-- when unzipped
            content = source.read(entry)
            if entry.filename == DOCUMENT_PART:
                content = content.replace(b"<w:body>", b"<w:body>" + body, 1)
            target.writestr(dated, content, ZIP_DEFLATED)
    return out.getvalue()
