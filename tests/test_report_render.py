"""A report to the advisory groups rendered as Markdown, HTML and Word: the same content in the same order in
all three (each read back as a reader would see it), empty sections that say so, Word's named styles and
properties, and user text that never turns into markup."""

from __future__ import annotations

import gc
import io
import itertools
import re
from dataclasses import replace
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from docx.table import Table
from markdown_it import MarkdownIt

from iscg_bot.domain.report_model import Period, Report, Who
from iscg_bot.render import report_render
from iscg_bot.render.report_render import (
    CHART_ELSEWHERE,
    filename,
    render_as,
    render_docx,
    render_html,
    render_markdown,
)
from tests.support.sample_report import (
    ACCESSIBILITY,
    EMPTY,
    GENERATED,
    IMG,
    SCRIPT,
    SPECIALS,
    action,
    held,
    noted,
    report,
    subject,
    utc,
)

DUP_AND_KEY = ("Key issues for the Bureau Directors and the ISC-TF", "Possible duplication of activities")


# ---- each format read back as a reader sees it: (kind, visible text) per block, in order ----------------


def flat(text: str) -> str:
    return " ".join(text.split())


class Page(HTMLParser):
    """Blocks as ("h1".."h6" | "p" | "li" | "tr", text): a caption is a "p", a row its cells by " | "; a
    chart's text (SVG <text>, outside any block) is not read: its caption is."""

    BLOCKS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "caption", "figcaption"})

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self._open: list[list[str]] = []  # the blocks being read: [kind, text]
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0  # inside <style> or <title>
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag in ("style", "title"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self._open.append(["p" if tag in ("caption", "figcaption") else tag, ""])
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._cell = [""]
        elif tag == "br":
            self.handle_data("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self._skip -= 1
        elif tag in self.BLOCKS and self._open:
            kind, text = self._open.pop()
            if flat(text):
                self.blocks.append((kind, flat(text)))
        elif tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.append(flat(self._cell[0]))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.blocks.append(("tr", " | ".join(self._row)))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell[0] += data
        elif self._open:
            self._open[-1][1] += data


def markdown_page(md: str) -> Page:
    """The Markdown as a viewer shows it; the line saying where the chart is (it has no picture) left out,
    so the blocks compare with the other formats'."""
    page = Page(MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md))
    assert page.blocks.count(("p", CHART_ELSEWHERE)) == 1
    page.blocks.remove(("p", CHART_ELSEWHERE))
    return page


def docx_blocks(data: bytes) -> list[tuple[str, str]]:
    """Paragraphs by style (Title → h1, Heading N → h(N+1), List Bullet → li) and table rows, in order;
    the contents list of the front matter is left out: it repeats the headings."""
    out = []
    for part in docx.Document(io.BytesIO(data)).iter_inner_content():
        if isinstance(part, Table):
            out += [("tr", " | ".join(flat(cell.text) for cell in row.cells)) for row in part.rows]
            continue
        style, text = part.style.name, flat(part.text)
        if not text or style in ("TOC Heading", "List Number"):
            continue
        heading = re.fullmatch(r"Heading (\d)", style)
        kind = "h1" if style == "Title" else f"h{int(heading[1]) + 1}" if heading else "p"
        out.append(("li" if style == "List Bullet" else kind, text))
    return out


def all_formats(r: Report) -> dict[str, list[tuple[str, str]]]:
    return {
        "md": markdown_page(render_markdown(r)).blocks,
        "html": Page(render_html(r)).blocks,
        "docx": docx_blocks(render_docx(r)),
    }


# ---- the same content in all three ----------------------------------------------------------------------


def test_the_three_formats_show_the_same_blocks_in_the_same_order() -> None:
    shown = all_formats(report())
    assert shown["md"] == shown["html"] == shown["docx"]
    assert len(shown["md"]) > 60


def test_the_report_reads_in_order_title_totals_subjects_then_the_cross_subject_sections() -> None:
    headings = [(kind, text) for kind, text in all_formats(report())["html"] if kind in ("h1", "h2")]
    assert headings == [
        ("h1", "ISCG report to TSAG, RAG and TDAG — 2026"),
        ("h2", "Totals"),
        ("h2", "Accessibility"),
        ("h2", "Environment & climate"),
        ("h2", IMG),
        ("h2", "Spectrum matters"),
        ("h2", "Key issues for the Bureau Directors and the ISC-TF"),
        ("h2", "Possible duplication of activities"),
    ]
    subject_parts = [text for kind, text in all_formats(report())["md"] if kind == "h3"][:8]
    assert subject_parts == [
        "Coordination",
        "Meetings held (2)",
        "Decisions (2)",
        "Key issues (1)",
        "Actions opened (1)",
        "Actions closed (1)",
        "Actions overdue (1)",
        "Meetings planned (1)",
    ]


FACTS = [
    ("p", "Period: 2026"),
    ("p", "Scope: all subjects"),
    ("p", "Generated: Thu 31 Dec 2026 18:00 UTC"),
    ("p", "Web copy: https://bot.example.org/reports/2026"),
    ("li", "Subjects: 4"),
    ("li", "Meetings held: 4"),
    ("li", "Meeting hours: 3.75"),
    ("li", "Attendance (sum over meetings): 25"),
    ("li", "Decisions: 4"),
    ("li", "Key issues: 3"),
    ("li", "Actions opened: 3"),
    ("li", "Actions closed: 2"),
    ("li", "Actions overdue: 1"),
    ("p", "Coordinators: Alice (@alice:example.org), Bob (@bob:example.org)"),
    ("li", "ITU-R: @dan:example.org"),
    ("li", "ITU-T: Carol (@carol:example.org), Eve Guest"),
    ("p", "Coordinator: Carol (@carol:example.org)"),
    ("li", "ITU-D: Bob (@bob:example.org)"),
    ("p", "Meetings held — Accessibility"),
    ("tr", "Meeting | Title | When | Duration | Attendance | Regrets | Minutes"),
    (
        "tr",
        "M12 | Coordination call | Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC"
        " | 1 h 30 min | 7 | 2 | approved",
    ),
    (
        "tr",
        "S7 | Ad hoc: captioning | Tue 9 Jun 2026 10:00–10:45 Europe/Zurich (UTC+02:00) · 08:00–08:45 UTC",
    ),
    ("tr", " | 45 min | 4 | 0 | draft"),
    # a meeting on 5 Nov in New York that ends on 6 Nov in UTC
    (
        "tr",
        "M20 | E-waste & climate call | Thu 5 Nov 2026 18:30–19:30 America/New_York (UTC-05:00)"
        " · 23:30–Fri 6 Nov 00:30 UTC | 1 h | 7 | 2 | approved",
    ),
    ("tr", "M30 | <script>alert(1)</script> | Wed 1 Apr 2026 10:00–10:30 UTC | 30 min | 7 | 2 | approved"),
    ("li", "Adopt the captioning guidelines — M12, Thu 3 Dec 2026"),
    ("li", "Ask TSB for a budget line — S7, Tue 9 Jun 2026"),
    ("li", "Remote participation tools lack captions — M12, Thu 3 Dec 2026"),
    ("li", "Share the e-waste dataset — M20, Thu 5 Nov 2026"),  # the day in New York, not in UTC
    ("li", "<script>alert(1)</script> — M30, Wed 1 Apr 2026"),
    ("tr", "Action | Owner | What | Due | Opened | Status"),
    (
        "tr",
        "A3 | Alice (@alice:example.org) | Draft the liaison letter | Fri 11 Dec 2026"
        " | Thu 3 Dec 2026 in M12 | open",
    ),
    ("tr", "A1 | Bob (@bob:example.org) | Collect the survey | Fri 11 Dec 2026 | Tue 9 Jun 2026 in M12"),
    ("tr", " | done on Wed 1 Jul 2026"),
    ("tr", "A2 | Eve Guest | Translate the guide | Thu 1 Oct 2026 | Thu 3 Dec 2026 | open, overdue"),
    ("tr", "A9 | Fred (@fred:example.org) | Compare the metrics |"),
    ("tr", "A8 | Carol (@carol:example.org) | Old task |"),
    ("tr", " | dropped on Thu 5 Nov 2026"),
    ("tr", "A40 | <script>alert(1)</script> | <img src=x onerror=alert(1)> |"),
    ("tr", "M13 | Coordination call | Thu 14 Jan 2027 14:00 Europe/Zurich (UTC+01:00) · 13:00 UTC"),
    ("tr", "M21 | E-waste & climate call | Fri 5 Feb 2027 01:00 UTC"),
    ("li", "Remote participation tools lack captions — Accessibility, M12, Thu 3 Dec 2026"),
    ("li", "Two studies on e-waste metrics — Environment & climate, M20, Thu 5 Nov 2026"),
    ("tr", "First source | Second source | Shared words | Similarity"),
    (
        "tr",
        "Accessibility · decision M12: Adopt the captioning guidelines"
        " | Environment & climate · meeting M20: Guidelines for captioning e-waste videos"
        " | captioning, guidelines | 72%",
    ),
    # an unknown subject shows its slug
    ("tr", f"{IMG} · meeting M30: {SCRIPT} | gone · decision S1: {IMG} | alert | 50%"),
]


@pytest.mark.parametrize("fmt", ["md", "html", "docx"])
def test_every_fact_appears_in_every_format(fmt: str) -> None:
    shown = all_formats(report())[fmt]
    for kind, text in FACTS:
        assert any(k == kind and text in t for k, t in shown), (kind, text)
    assert (
        "li",
        f"{flat(SPECIALS)} — {IMG}, M30, Wed 1 Apr 2026",
    ) in shown  # the key issue, with its subject, read back literally


def test_a_subject_where_nothing_happened_says_so_in_every_section() -> None:
    shown = all_formats(report(subjects=(EMPTY,), key_issues=(), overlaps=()))
    assert shown["md"] == shown["html"] == shown["docx"]
    assert [text for _, text in shown["html"][shown["html"].index(("h2", "Spectrum matters")) :]] == [
        "Spectrum matters",
        "Coordination",
        "Coordinators: none recorded",
        "No focal points recorded.",
        "Meetings held (0)",
        "No meetings held in this period.",
        "Decisions (0)",
        "No decisions recorded in this period.",
        "Key issues (0)",
        "No key issues raised in this period.",
        "Actions opened (0)",
        "No actions opened in this period.",
        "Actions closed (0)",
        "No actions closed in this period.",
        "Actions overdue (0)",
        "No actions overdue at the end of the period.",
        "Meetings planned (0)",
        "No meetings planned after this period.",
        "Key issues for the Bureau Directors and the ISC-TF",
        "No key issues raised in this period.",
        "Possible duplication of activities",
        "No possible duplication found in this period.",
    ]
    assert ("p", "No subjects in this scope.") in all_formats(report(subjects=()))["docx"]


# ---- HTML -------------------------------------------------------------------------------------------------


def test_the_html_page_is_accessible_and_has_no_script_nor_anything_inline() -> None:
    source = render_html(report())
    page = Page(source)
    assert source.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}) in page.elements
    tags = [tag for tag, _ in page.elements]
    assert tags.count("main") == 1 and "script" not in tags and "style" not in tags
    # The web copy is served under the site's policy (styles from the server only): linked, not inline.
    assert ("link", {"rel": "stylesheet", "href": "/static/report.css"}) in page.elements
    assert [tag for tag, attrs in page.elements if "style" in attrs] == []  # the chart's cells too
    # meetings, actions and planned meetings of three subjects (5, 4, 2), then the possible duplications
    assert tags.count("table") == tags.count("caption") == 5 + 4 + 2 + 1
    scopes = [attrs.get("scope") for tag, attrs in page.elements if tag == "th"]
    assert scopes and set(scopes) == {"col", "row"}
    levels = [int(tag[1]) for tag in tags if re.fullmatch(r"h\d", tag)]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels))


def test_the_html_file_stands_alone_with_the_same_stylesheet_inline() -> None:
    source = render_as(report(), "html").decode("utf-8")
    page = Page(source)
    tags = [tag for tag, _ in page.elements]
    assert tags.count("style") == 1 and "link" not in tags and "script" not in tags  # nothing to fetch
    stylesheet = (Path(report_render.__file__).parent / "report.css").read_text(encoding="utf-8")
    assert f"<style>\n{stylesheet.strip()}\n</style>" in source
    assert page.blocks == Page(render_html(report())).blocks  # the same content as the web copy


def test_user_text_in_html_is_text_never_an_element_or_an_attribute() -> None:
    page = Page(render_html(report()))
    tags = {tag for tag, _ in page.elements}
    assert tags <= set("html head meta title style link body main h1 h2 h3 p ul li div a br".split()) | set(
        "table caption thead tbody tr th td figure figcaption".split()
    ) | set("svg desc g path text defs clippath rect".split())  # the chart (iscg_bot.render.chart)
    for tag, attrs in page.elements:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
    hrefs = [attrs["href"] for tag, attrs in page.elements if tag == "a"]
    assert hrefs == [
        "https://bot.example.org/reports/2026",
        "https://bot.example.org/minutes/M12",
        "https://bot.example.org/minutes/M20",
    ]  # the javascript: minutes link stays text
    assert ("h2", IMG) in page.blocks and ("li", f"{SCRIPT} — M30, Wed 1 Apr 2026") in page.blocks
    assert any(kind == "tr" and "approved (javascript:alert(1))" in text for kind, text in page.blocks)


# ---- Markdown ---------------------------------------------------------------------------------------------


def test_markdown_specials_in_user_text_stay_literal() -> None:
    evil = subject(
        "evil",
        SPECIALS,
        coordinators=(Who(SPECIALS),),
        held=(held("M1", SPECIALS, utc(3, 2, 9), 60),),
        decisions=(noted(f"{SPECIALS}\n- second line\n1. third", ("evil", SPECIALS), "M1", utc(3, 2, 9)),),
        actions_opened=(action("A1", Who(SPECIALS), SPECIALS),),
    )
    r = report(subjects=(evil,), key_issues=(), overlaps=(), base_url=None)
    page = markdown_page(render_markdown(r))
    tags = {tag for tag, _ in page.elements}
    assert not tags & {"a", "img", "em", "strong", "code", "pre", "blockquote", "s", "del", "ol"}
    assert [text for kind, text in page.blocks if kind == "h2"] == ["Totals", flat(SPECIALS), *DUP_AND_KEY]
    assert ("li", f"{SPECIALS} - second line 1. third — M1, Mon 2 Mar 2026") in page.blocks
    assert any(
        kind == "tr" and text.startswith(f"A1 | {SPECIALS} | {SPECIALS} |") for kind, text in page.blocks
    )
    assert page.blocks == Page(render_html(r)).blocks == docx_blocks(render_docx(r))


# ---- Word -------------------------------------------------------------------------------------------------


def test_the_docx_has_a_title_page_contents_named_styles_and_reusable_tables() -> None:
    document = docx.Document(io.BytesIO(render_docx(report())))
    paragraphs = document.paragraphs
    assert (paragraphs[0].style.name, paragraphs[0].text) == (
        "Title",
        "ISCG report to TSAG, RAG and TDAG — 2026",
    )
    assert [p.text for p in paragraphs[1:4]] == [
        "Period: 2026",
        "Scope: all subjects",
        "Generated: Thu 31 Dec 2026 18:00 UTC",
    ]
    contents = [p.text for p in paragraphs if p.style.name == "List Number"]
    assert contents == [
        "Totals",
        "Accessibility",
        "Environment & climate",
        IMG,
        "Spectrum matters",
        *DUP_AND_KEY,
    ]
    by_style = {}
    for p in paragraphs:
        by_style.setdefault(p.style.name, []).append(p.text)
    assert by_style["Heading 1"] == contents
    assert {"Meetings held (2)", "Decisions (2)", "Actions overdue (1)"} <= set(by_style["Heading 2"])
    assert "Adopt the captioning guidelines — M12, Thu 3 Dec 2026" in by_style["List Bullet"]
    assert "Meetings held — Accessibility" in by_style["Caption"]
    tables = document.tables
    assert len(tables) == 12 and {t.style.name for t in tables} == {"Light Grid Accent 1"}
    assert all(t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None for t in tables)
    meetings = [t for t in tables if t.rows[0].cells[0].text == "Meeting" and len(t.columns) == 7]
    # one table of meetings held per subject that held some
    assert [t.rows[1].cells[0].text for t in meetings] == ["M12", "M20", "M30"]
    links = [rel.target_ref for rel in document.part.rels.values() if rel.is_external]
    assert sorted(links) == [
        "https://bot.example.org/minutes/M12",
        "https://bot.example.org/minutes/M20",
        "https://bot.example.org/reports/2026",
    ]


def test_the_docx_core_properties_come_from_the_report() -> None:
    props = docx.Document(io.BytesIO(render_docx(report()))).core_properties
    assert props.title == "ISCG report to TSAG, RAG and TDAG — 2026"
    assert props.subject == "all subjects — 2026"
    assert props.author == props.last_modified_by == "ISCG bot"
    assert props.created == props.modified == GENERATED
    assert props.revision == 1


def test_the_docx_drops_control_characters_xml_cannot_hold() -> None:
    odd = subject(
        "odd",
        "Odd\x00 title\x0b\ufffe",
        decisions=(noted("a\x01b\r\nc\ud800 </w:t><w:p> &amp; ]]>", ("odd", "Odd"), "M1", utc(1, 5, 9)),),
    )
    shown = docx_blocks(render_docx(report(subjects=(odd,), key_issues=(), overlaps=())))
    assert ("h2", "Odd title") in shown
    assert ("li", "ab c </w:t><w:p> &amp; ]]> — M1, Mon 5 Jan 2026") in shown  # markup-like text stays text


# ---- determinism and names --------------------------------------------------------------------------------


def test_the_same_report_renders_to_the_same_bytes() -> None:
    assert render_markdown(report()) == render_markdown(report())
    assert render_html(report()) == render_html(report())
    first, second = render_docx(report()), render_docx(report())
    assert docx_blocks(first) == docx_blocks(second)
    assert first == second  # core properties and the zip entries' dates come from the report


def test_one_report_in_every_format_gives_the_bytes_each_gives_alone_and_its_layout_goes_with_it() -> None:
    one = report()
    in_turn = render_markdown(one), render_html(one), render_docx(one)  # laid out once, for all three
    assert in_turn == (render_markdown(report()), render_html(report()), render_docx(report()))
    gc.collect()
    kept = len(report_render._LAID_OUT)
    del one
    gc.collect()
    assert len(report_render._LAID_OUT) == kept - 1  # a long-running bot does not keep every report it wrote


def test_filenames_are_safe_and_name_the_period_and_the_scope() -> None:
    assert filename(report(), "docx") == "iscg-report-2026-all-subjects.docx"
    one = report(
        scope="Accessibility", subjects=(ACCESSIBILITY,), period=Period(date(2026, 1, 1), date(2026, 6, 30))
    )
    assert filename(one, ".MD") == "iscg-report-2026-01-01-2026-06-30-accessibility.md"
    assert filename(report(scope=f"../{IMG}"), "html") == "iscg-report-2026-img-src-x-onerror-alert-1.html"
    assert filename(report(scope="ÉÉ"), "") == "iscg-report-2026-report"


def test_a_naive_time_is_refused() -> None:
    naive = replace(ACCESSIBILITY.decisions[0], at=datetime(2026, 12, 3, 13, 0))
    with pytest.raises(ValueError, match="naive"):
        render_markdown(report(subjects=(replace(ACCESSIBILITY, decisions=(naive,)),)))


@pytest.mark.parametrize("fmt", ["md", "html", "docx"])
def test_a_capped_list_of_duplications_says_how_many_there_were(fmt: str) -> None:
    full = report()
    capped = report(overlaps=full.overlaps[:1], overlaps_found=1234)
    note = "The 1 closest of 1,234 are shown."
    assert note in [text for _, text in all_formats(capped)[fmt]]
    assert note not in [text for _, text in all_formats(full)[fmt]]
