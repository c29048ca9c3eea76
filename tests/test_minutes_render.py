"""Minutes rendered as Markdown and HTML: every section in order, times in the subject's zone and UTC, and no
user text that can turn into markup — checked by parsing the output, not by looking for strings."""

from __future__ import annotations

import html
import itertools
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from iscg_bot.domain.minutes_model import Action, Item, Link, LogLine, MinutesDocument, Person, Topic
from iscg_bot.render.minutes_render import filename, render_html, render_markdown
from tests.support.minutes_documents import ALICE, CAROL, DAN, at, bare, document, said

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
EVIL = f'{SCRIPT} {IMG} " onmouseover="alert(1)'
# Everything a Markdown parser could read as structure, each at the start of a line somewhere.
SPECIALS = (
    "# not a heading\n*not bold* __not strong__ `not code` ~~not struck~~\n"
    "[x](javascript:alert(1)) ![y](https://example.org/i.png) <https://example.org>\n"
    "| a | b |\n- not a list\n1. not a list\n> not a quote\n```\n===\n    not code\n\n+ after a blank line"
)


class Page(HTMLParser):
    """What a browser would build: elements with attributes, headings, and the text of each list item."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[int, str]] = []
        self.items_under: dict[str, int] = {}  # heading text → list items until the next heading
        self.items: list[str] = []
        self.text = ""
        self.source = source
        self._heading: list | None = None
        self._open_items: list[str] = []
        self._in_style = False
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_style = tag == "style"
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), ""]
        elif tag == "li":
            self.items_under[self.headings[-1][1]] = self.items_under.get(self.headings[-1][1], 0) + 1
            self._open_items.append("")
        elif tag == "br":
            self.handle_data("\n")

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading:
            self.headings.append((self._heading[0], self._heading[1]))
            self._heading = None
        elif tag == "li":
            self.items.append(self._open_items.pop())

    def handle_data(self, data: str) -> None:
        if self._in_style:
            return
        self.text += data
        if self._heading:
            self._heading[1] += data
        self._open_items = [text + data for text in self._open_items]

    def tags(self) -> list[str]:
        return [tag for tag, _ in self.elements]

    def texts_of(self, tag: str) -> list[str]:
        return re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", self.source, re.S)


def md_headings(md: str) -> list[tuple[int, str]]:
    found = re.findall(r"^(#+) (.*)$", md, re.M)
    return [(len(marks), re.sub(r"\\(.)", r"\1", text)) for marks, text in found]


def md_section(md: str, heading: str) -> list[str]:
    """The lines under a heading, up to the next heading."""
    lines = md.split("\n")
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return lines[start:end]


def md_items(lines: list[str]) -> int:
    return sum(1 for line in lines if re.match(r"(- |\d+\. )", line))


EXPECTED_HEADINGS = [
    (1, "Coordination call"),
    (2, "Chairs"),
    (2, "Attendance (3)"),
    (2, "Regrets"),
    (2, "Agenda"),
    (2, "Summary"),
    (3, "Before the first topic"),
    (3, "Budget"),
    (2, "Decisions"),
    (2, "Actions"),
    (3, "Alice (@alice:example.org)"),
    (3, "Bob (@bob:example.org)"),
    (2, "Key issues"),
    (2, "Links"),
    (2, "Log"),
]
EXPECTED_COUNTS = {
    "Chairs": 1,
    "Attendance (3)": 3,
    "Regrets": 1,
    "Agenda": 2,
    "Before the first topic": 1,
    "Budget": 4,
    "Decisions": 2,
    "Alice (@alice:example.org)": 2,
    "Bob (@bob:example.org)": 1,
    "Key issues": 1,
    "Links": 1,
    "Log": 6,
}


def test_every_section_appears_in_order_with_its_items_in_markdown() -> None:
    md = render_markdown(document())
    assert md_headings(md) == EXPECTED_HEADINGS
    counts = {text: md_items(md_section(md, "#" * level + " " + text)) for level, text in md_headings(md)}
    assert {k: v for k, v in counts.items() if v} == EXPECTED_COUNTS
    head = md.split("\n## ")[0].strip()
    assert head.split("\n\n") == [
        "# Coordination call",
        "Minutes M12 · Accessibility",
        "**Draft — not yet approved**",
        "Wed 25 Nov 2026 10:00–10:50 Europe/Zurich (UTC+01:00) · 09:00–09:50 UTC",
        "Web copy: [https://bot.example.org/minutes/M12](https://bot.example.org/minutes/M12)",
    ]
    assert md_section(md, "## Agenda")[1:3] == ["1. Welcome", "2. Budget 2027"]


def test_the_html_page_has_the_same_sections_items_and_heading_order() -> None:
    page = Page(render_html(document()))
    assert page.headings == EXPECTED_HEADINGS
    assert page.items_under == EXPECTED_COUNTS
    levels = [level for level, _ in page.headings]
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))  # never h1 → h3
    assert page.elements[0] == ("html", {"lang": "en"})
    assert ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}) in page.elements
    assert "main" in page.tags()
    assert "Wed 25 Nov 2026 10:00–10:50 Europe/Zurich (UTC+01:00) · 09:00–09:50 UTC" in page.text
    assert "Web copy" not in page.text  # the page is the web copy


def test_the_summary_the_actions_and_the_log_read_the_same_in_both_formats() -> None:
    md, page = render_markdown(document()), Page(render_html(document()))
    lines = md_section(md, "### Budget")[1:]
    assert lines == [
        "- **AGREED** Adopt the budget — Alice, 10:05",
        "- **LINK** [Spreadsheet](https://example.org/budget) — Alice, 10:05",
        "- **ACTION** Alice to circulate — Alice, 10:05",
        "- **KEY ISSUE** Funding gap — Alice, 10:05",
        "",
    ]
    assert md_section(md, "### Alice (@alice:example.org)")[1:3] == [
        "- **A1** Circulate the budget — due Thu 3 Dec 2026 *(open)*",
        "- **A3** Book the room *(dropped)*",
    ]
    log = [
        "10:00 Alice: Hello all",
        "10:05 * Bob waves",
        "10:10 Alice: AGREED We adopt the budget",
        "10:12 Bob: (message could not be decrypted)",
        "10:15 ISCG bot (notice): Topic: Budget",
        "10:20 Alice: typo fixed (edited)",
    ]
    assert page.items[-6:] == log
    assert md_section(md, "## Log")[1:-1] == [
        "- 10:00 Alice: Hello all",
        "- 10:05 \\* Bob waves",
        "- 10:10 Alice: **AGREED** We adopt the budget",
        "- 10:12 Bob: *(message could not be decrypted)*",
        "- 10:15 ISCG bot (notice): Topic: Budget",
        "- 10:20 Alice: typo fixed *(edited)*",
    ]
    assert 'href="https://example.org/budget" rel="nofollow noopener"' in render_html(document())


def test_empty_sections_are_left_out_but_attendance_always_shows() -> None:
    md, page = render_markdown(bare()), Page(render_html(bare()))
    assert md_headings(md) == page.headings == [(1, "Coordination call"), (2, "Attendance (0)")]
    assert "*Nobody was recorded present.*" in md
    assert "Nobody was recorded present." in page.text


def test_a_topic_without_tagged_lines_keeps_its_heading_an_empty_opening_does_not() -> None:
    doc = bare(topics=(Topic(None, ()), Topic("Any other business", ())))
    assert md_headings(render_markdown(doc))[-2:] == [(2, "Summary"), (3, "Any other business")]


def test_status_lines_for_draft_approved_and_running() -> None:
    assert "**Draft — not yet approved**" in render_markdown(document())
    # 23:30 UTC is already 2 December in Zurich.
    approved_at = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    approved = document(status="approved", approved_by=CAROL, approved_at=approved_at)
    assert "**Approved** by Carol Guest on Wed 2 Dec 2026" in render_markdown(approved)
    assert "Approved by Carol Guest on Wed 2 Dec 2026" in Page(render_html(approved)).text
    running = document(status="running", ended_at=None)
    assert "**In progress**" in render_markdown(running)
    assert "Started Wed 25 Nov 2026 10:00 Europe/Zurich (UTC+01:00) · 09:00 UTC" in render_markdown(running)


def test_a_draft_page_is_visibly_marked_and_an_approved_one_is_not() -> None:
    draft, approved = Page(render_html(document())), Page(render_html(document(status="approved")))
    assert "Draft — not yet approved" in draft.text
    assert draft.texts_of("title") == ["Coordination call — minutes M12 (draft)"]
    assert ("p", {"class": "status status-draft"}) in draft.elements
    assert "draft" not in approved.text.lower()
    assert approved.texts_of("title") == ["Coordination call — minutes M12"]


PAGE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "h1",
    "h2",
    "h3",
    "p",
    "ul",
    "ol",
    "li",
}
PAGE_TAGS |= {"strong", "em", "a", "time", "br"}


def hostile(text: str) -> MinutesDocument:
    """The text everywhere a user can put text."""
    who = Person(f"@x:example.org{text}", text)
    return document(
        title=text,
        subject=text,
        reference="M12",
        chairs=(who,),
        attendance=(who, CAROL),
        regrets=(Person(text),),
        agenda=(text,),
        topics=(
            Topic(text, (Item("info", text, who, at(1)), Item("link", text, who, at(2), "javascript:x"))),
        ),
        decisions=(text,),
        actions=(Action("A1", who, text, None, "open"),),  # labels are made by the bot
        key_issues=(text,),
        links=(
            Link("javascript:alert(1)", text),
            Link("data:text/html,<script>alert(1)</script>", "data"),
            Link(" javascript:alert(1)", "leading space"),
            Link('https://example.org/"onerror="alert(1)', "quoted"),
        ),
        log=(said(1, who, text), said(2, who, text, kind="m.emote"), said(3, who, text, tags=("agreed",))),
        approved_by=who,
    )


@pytest.mark.parametrize("text", [EVIL, SPECIALS, "a\r\nb\x00c\u2028d &amp; &lt;x&gt;"])
def test_no_user_text_becomes_an_element_or_an_attribute_in_html(text: str) -> None:
    source = render_html(hostile(text))
    page = Page(source)
    assert set(page.tags()) <= PAGE_TAGS
    for tag, attrs in page.elements:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert set(attrs) <= {"lang", "charset", "name", "content", "class", "href", "rel", "datetime"}
    links = [attrs for tag, attrs in page.elements if tag == "a"]
    # javascript:, data: and a URL with a leading space stay text; the quotes of the last stay inside href.
    assert links == [{"href": 'https://example.org/"onerror="alert(1)', "rel": "nofollow noopener"}]
    assert "<script" not in source.lower()


def test_hostile_text_is_shown_literally_in_html() -> None:
    page = Page(render_html(hostile(EVIL)))
    assert page.headings[0] == (1, EVIL)
    assert f"{EVIL} (@x:example.org{EVIL})" in page.text  # the chair's label
    assert f"LINK {EVIL} (javascript:x)" in page.text  # a bad link shows what it was
    assert f"10:01 {EVIL}: {EVIL}" in page.items


def test_markdown_keeps_one_list_item_per_log_line_whatever_the_text() -> None:
    texts = [SPECIALS, "# heading?", "- item?", "1. item?", "  \n\n  indented\n\t- tab", "", "\n", "x\r\ny"]
    doc = bare(log=tuple(said(i, ALICE, text) for i, text in enumerate(texts)))
    log = md_section(render_markdown(doc), "## Log")[1:-1]
    assert md_items(log) == sum(line.startswith("- ") for line in log) == len(texts)
    continuations = [line for line in log if not line.startswith("- ")]
    assert continuations and all(re.match(r"  \S", line) for line in continuations)
    assert all(line.endswith("  ") for line, after in itertools.pairwise(log) if after.startswith("  "))


# What the renderer itself writes: list and heading markers, fixed words in bold, markers in italics, links.
OUR_MARKUP = re.compile(
    r"^(#+ |- |\d+\. )|\*\*([A-Z0-9 ]+|Draft — not yet approved|Approved)\*\*|\*\([a-z ]+\)\*"
    r"|\[[\w:/.]+\]\(https://[^ )]+\)"
)


def test_markdown_escapes_every_special_in_user_text() -> None:
    md = render_markdown(hostile(SPECIALS))
    for line in md.split("\n"):
        rest = OUR_MARKUP.sub("", line)
        assert not re.search(r"(?<!\\)[*_`~|\[\]<>{}#]", rest), line  # specials only ever escaped
        if line.startswith(" "):  # a continuation line: nothing at its start may open a block
            assert not re.match(r"\s*(\d+[.)]|[-+=:>#*]|```|~~~|\|)", line), line
    assert "\\# not a heading" in md and "\\[x\\](javascript:alert(1))" in md
    evil = render_markdown(hostile(EVIL))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in evil and "<" not in evil


@pytest.mark.parametrize("text", [SPECIALS, EVIL, "&lt;b&gt; &amp; R&D 2. x"])
def test_a_real_markdown_parser_reads_user_text_back_literally(text: str) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    doc = hostile(text)
    parser = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])  # GitHub's extras too
    page = Page(parser.render(render_markdown(doc)))
    assert set(page.tags()) <= {"h1", "h2", "h3", "p", "ul", "ol", "li", "strong", "em", "a", "br"}
    assert [level for level, _ in page.headings] == [level for level, _ in md_headings(render_markdown(doc))]
    assert page.headings[0] == (1, " ".join(text.split()))  # a heading is one line
    fixed = {"AGREED", "INFO", "LINK", "A1", "Draft — not yet approved", "(open)"}
    assert set(page.texts_of("strong")) | set(page.texts_of("em")) <= {
        html.escape(w, quote=False) for w in fixed
    }
    assert [a["href"] for t, a in page.elements if t == "a"] == [
        "https://bot.example.org/minutes/M12",
        "https://example.org/%22onerror=%22alert%281%29",
    ]
    flat = " ".join(text.split())
    assert f"10:01 {flat}: {flat}" in [" ".join(item.split()) for item in page.items]
    assert f"* {flat} {flat}" in " ".join(page.text.split())


def test_a_meeting_across_midnight_utc_shows_both_dates_and_local_log_times() -> None:
    start = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # already 00:30 on the 26th in Zurich
    doc = bare(
        started_at=start,
        ended_at=start + timedelta(minutes=50),
        log=(LogLine(start + timedelta(minutes=5), ALICE, "past midnight"),),
    )
    when = "Thu 26 Nov 2026 00:30–01:20 Europe/Zurich (UTC+01:00) · Wed 25 Nov 23:30–Thu 26 Nov 00:20 UTC"
    assert when in render_markdown(doc) and when in Page(render_html(doc)).text
    assert "- 00:35 Alice: past midnight" in render_markdown(doc)
    assert '<time datetime="2026-11-25T23:35:00Z">00:35</time>' in render_html(doc)
    assert filename(doc, "md") == "minutes-M12-2026-11-26.md"


def test_a_log_running_past_local_midnight_dates_the_later_lines() -> None:
    start = datetime(2026, 11, 25, 22, 50, tzinfo=UTC)  # 23:50 in Zurich
    log = (
        LogLine(start + timedelta(minutes=5), ALICE, "before"),
        LogLine(start + timedelta(minutes=15), ALICE, "after"),
    )
    doc = bare(started_at=start, ended_at=start + timedelta(minutes=30), log=log)
    assert md_section(render_markdown(doc), "## Log")[1:3] == [
        "- 23:55 Alice: before",
        "- Thu 26 Nov 00:05 Alice: after",
    ]


def test_rendering_is_deterministic() -> None:
    assert render_markdown(document()) == render_markdown(document())
    assert render_html(hostile(EVIL)) == render_html(hostile(EVIL))


def test_filenames_are_safe_and_dated_in_the_subjects_zone() -> None:
    assert filename(document(), "md") == "minutes-M12-2026-11-25.md"
    assert filename(document(reference="S7"), ".HTML") == "minutes-S7-2026-11-25.html"
    assert filename(document(reference="../M1 2/x"), "m/d") == "minutes-M1-2-x-2026-11-25.md"


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        render_markdown(document(log=(LogLine(datetime(2026, 11, 25, 9, 0), ALICE, "when?"),)))


def test_a_person_is_labelled_by_name_and_id_only_when_they_differ() -> None:
    assert ALICE.label == "Alice (@alice:example.org)"
    assert DAN.label == Person("@dan:example.org", "@dan:example.org").label == "@dan:example.org"
    assert CAROL.label == "Carol Guest"
