"""The report in ITU's six languages (issue 16): every word of the three formats translated (the
pseudo-language finds any left in English), Arabic right to left (Word's bidi paragraphs, the page's
`dir`), Chinese months in the chart, and the language asked for with `!report … fr` or
`iscg-bot report --lang fr` (else the sender's, the group's)."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import timedelta

import docx
import pytest
from docx.oxml.ns import qn

from iscg_bot.core.i18n import PSEUDO, speaking
from iscg_bot.domain.report_model import Report
from iscg_bot.render import chart, minutes_render
from iscg_bot.render.report_render import headline, render_docx, render_html, render_markdown
from tests.chat import ADMIN, COORD, COP, Chat, hold_a_meeting_in_cop, run_cli, said
from tests.support.minutes_documents import ALICE, START, bare, document
from tests.support.outbox import run_outbox_until_empty
from tests.support.pseudo import pseudo_chat, untranslated
from tests.support.sample_report import ACCESSIBILITY, EMPTY, ENVIRONMENT, OVERLAPS, report

CHAIR = "@chair:example.org"
# Codes the report keeps as they are, whatever the language: not words of its own.
CODED_FIELDS = {"status", "minutes_status", "kind", "sector", "scope", "title", "tag", "tags", "zone"}


def plain_report() -> Report:
    """The sample report without its hostile subject (its Markdown escapes would hide the data's words)."""
    return report(
        subjects=(ACCESSIBILITY, ENVIRONMENT, EMPTY),
        key_issues=ACCESSIBILITY.key_issues + ENVIRONMENT.key_issues,
        overlaps=OVERLAPS[:1],
    )


def user_data(value: object, field: str = "") -> list[str]:
    """Every text a report carries that people typed (titles, names, decisions…), for `untranslated`."""
    if isinstance(value, str):
        return [] if field in CODED_FIELDS else [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found = []
        for each in dataclasses.fields(value):
            inner = getattr(value, each.name)
            # A subject's or a meeting's title is data; the report's own title and scope are its words.
            keep = each.name in ("title", "zone") and not isinstance(value, Report)
            found += user_data(inner, "" if keep else each.name)
        return found
    if isinstance(value, tuple):
        return [text for item in value for text in user_data(item, field)]
    return []


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def without_stylesheet(page: str) -> str:
    return re.sub(r"<style>.*?</style>", " ", page, flags=re.DOTALL)


# ---- every word translated, in all three formats ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html", "docx"])
def test_every_word_of_the_report_is_translated(fmt):
    one = plain_report()
    allowed = user_data(one)
    with speaking(PSEUDO):
        shown = {
            "md": lambda: render_markdown(one),
            "html": lambda: without_stylesheet(render_html(one, standalone=True)),
            "docx": lambda: docx_text(render_docx(one)),
        }[fmt]()
        said_of_it = headline(one)
    markdown_zone = "America/New\\_York"  # a zone ID, its "_" escaped in Markdown
    assert untranslated(shown, *allowed, markdown_zone) == []
    assert untranslated(said_of_it) == []


def test_an_empty_report_and_its_chart_are_translated_too():
    empty = report(subjects=(EMPTY,), key_issues=(), overlaps=())
    with speaking(PSEUDO):
        page = without_stylesheet(render_html(empty, standalone=True))
    assert untranslated(page, "Spectrum matters") == []


def test_one_report_renders_in_two_languages_each_its_own():
    one = plain_report()
    english = render_markdown(one)
    with speaking(PSEUDO):
        pseudo = render_markdown(one)
    assert english != pseudo
    assert render_markdown(one) == english  # the English layout is not replaced by the other's


@pytest.mark.parametrize("status", ["running", "draft", "approved"])
def test_every_word_of_the_minutes_is_translated(status):
    approval = (
        {"approved_by": ALICE, "approved_at": START + timedelta(days=2)} if status == "approved" else {}
    )
    running = {"ended_at": None} if status == "running" else {}  # "Started …", no end yet
    shown = document(status=status, **approval, **running)
    allowed = user_data(shown)
    with speaking(PSEUDO):
        markdown = minutes_render.render_markdown(shown)
        page = without_stylesheet(minutes_render.render_html(shown))
        empty = minutes_render.render_markdown(bare())
    assert untranslated(markdown, *allowed) == []
    assert untranslated(page, *allowed) == []
    assert untranslated(empty, *user_data(bare())) == []


def test_the_minutes_in_arabic_say_their_language_and_direction():
    with speaking("ar"):
        page = minutes_render.render_html(document())
    assert page.startswith('<!DOCTYPE html>\n<html lang="ar" dir="rtl">\n')


# ---- Arabic right to left; Chinese months ----------------------------------------------------------------


def test_the_word_report_in_arabic_reads_right_to_left():
    with speaking("ar"):
        data = render_docx(plain_report())
    document = docx.Document(io.BytesIO(data))
    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    assert paragraphs
    for paragraph in paragraphs:
        properties = paragraph._p.pPr
        assert properties is not None and properties.find(qn("w:bidi")) is not None, paragraph.text
        for run in paragraph.runs:
            assert run._r.rPr is not None and run._r.rPr.find(qn("w:rtl")) is not None, run.text
    for table in document.tables:
        assert table._tbl.tblPr.find(qn("w:bidiVisual")) is not None
        for row in table.rows:
            for cell in row.cells:
                assert all(p._p.pPr.find(qn("w:bidi")) is not None for p in cell.paragraphs)
    assert document.core_properties.language == "ar"


def test_the_english_word_report_has_no_right_to_left_mark():
    data = render_docx(plain_report())
    assert b"w:bidi" not in data and b"w:rtl" not in data


def test_the_html_report_says_its_language_and_direction():
    one = plain_report()
    assert render_html(one).startswith('<!DOCTYPE html>\n<html lang="en">\n')
    with speaking("ar"):
        assert render_html(one).startswith('<!DOCTYPE html>\n<html lang="ar" dir="rtl">\n')
    with speaking("zh"):
        assert render_html(one).startswith('<!DOCTYPE html>\n<html lang="zh-Hans">\n')


def test_the_chart_names_the_months_in_the_language_and_asks_for_a_cjk_font_in_chinese():
    one = plain_report()
    with speaking("zh"):
        data = chart.meetings_per_month(one)
        shown = chart.svg(data)
        picture = chart.png(data)
    assert "1月" in shown and "12月" in shown  # CLDR's Chinese month names
    assert picture.startswith(b"\x89PNG")
    with speaking("fr"):
        french = chart.svg(chart.meetings_per_month(one))
    assert "janv." in french
    # DejaVu Sans first for every other language; for Chinese an installed CJK font before it, if any.
    assert chart._fonts("fr") == ["DejaVu Sans"]
    assert chart._fonts("zh")[-1] == "DejaVu Sans"
    assert set(chart._fonts("zh")[:-1]) <= set(chart.CJK_FONTS)


# ---- French: the headline, the headings --------------------------------------------------------------------


def test_the_french_headline_counts_in_french():
    with speaking("fr"):
        said_of_it = headline(plain_report())
    # The counts' messages are the chat's, translated already.
    for words in ("4 sujets", "4 réunions tenues", "4 décisions", "3 questions clés"):
        assert words in said_of_it, said_of_it
    assert "GCNT" in said_of_it  # TSAG as the glossary names it in French


def test_the_french_report_headings_are_french():
    with speaking("fr"):
        page = render_markdown(plain_report())
    headings = [line.lstrip("# ") for line in page.splitlines() if line.startswith("#")]
    english = [
        line.lstrip("# ") for line in render_markdown(plain_report()).splitlines() if line.startswith("#")
    ]
    data = {"Accessibility", "Environment & climate", "Spectrum matters"}
    data |= {"Coordination"}  # the same word in French
    for french, source in zip(headings, english, strict=True):
        if source not in data:
            assert french != source, source


# ---- asked for in the chat and on the command line ---------------------------------------------------------


@pytest.fixture
async def year(chat: Chat) -> Chat:
    """A subject with one meeting held, with a decision and a key issue; a Chair."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, f"!role add {CHAIR} chair", by=ADMIN)
    await hold_a_meeting_in_cop(chat)
    return chat


async def report_file(chat: Chat, body: str, *, by: str = CHAIR) -> tuple[str, str]:
    """The bot's notice on `body` and the Markdown file it uploaded."""
    await chat.dispatcher.handle(chat.message(body, sender=by, room=COP))
    await run_outbox_until_empty(chat)
    notices = [o.content for o in chat.gateway.sent if o.content.get("msgtype") == "m.notice"]
    return notices[-1]["body"], chat.gateway.uploads[-1][2].decode("utf-8")


async def test_a_report_asked_for_in_french(year):
    notice, written = await report_file(year, "!report 2026 all md fr")
    assert "1 sujet, 1 réunion tenue, 1 décision, 1 question clé" in notice, notice
    assert "Copie web\u00a0: http://localhost:8080/reports/2026" in notice  # French: a no-break space
    assert "Publish the guidelines in March" in written
    # The sender's own language without the word: the pseudo-language here; every word translated.
    pseudo_chat(year)
    notice, written = await report_file(year, "!report 2026 all md")
    allowed = ("Child Online Protection", "Publish the guidelines in March", "Funding for 2027")
    # The session's title, stored when !startmeeting (in English then) opened it: data, not the report's.
    session_title = "Unscheduled meeting"
    assert untranslated(written, *allowed, session_title) == []
    assert untranslated(notice) == []


async def test_the_existing_syntax_still_reads_a_subject_and_a_format(year):
    notice, written = await report_file(year, "!report md cop 2026", by=COORD)
    assert notice.startswith("ISCG report — Child Online Protection — 2026: 1 subject, 1 meeting held")
    assert written.startswith("# ISCG report — Child Online Protection — 2026\n")


async def test_the_command_line_writes_the_report_in_the_language_asked(year, tmp_path):
    done = await run_cli(
        tmp_path,
        "report",
        "--year",
        "2026",
        "--subject",
        "cop",
        "--format",
        "md",
        "-o",
        "r.md",
        "--lang",
        "fr",
    )
    assert done.returncode == 0, done.stderr
    assert "1 sujet, 1 réunion tenue, 1 décision, 1 question clé" in done.stdout, done.stdout
    assert "Publish the guidelines in March" in (tmp_path / "r.md").read_text(encoding="utf-8")
    english = await run_cli(
        tmp_path, "report", "--year", "2026", "--subject", "cop", "--format", "md", "-o", "e.md"
    )
    assert english.stdout == (
        "e.md: ISCG report — Child Online Protection — 2026: 1 subject, 1 meeting held, 1 decision, "
        "1 key issue.\n"
    )
