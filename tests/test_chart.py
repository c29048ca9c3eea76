"""The chart of meetings held per subject per month (`iscg_bot.render.chart`): the counts on their own, then
the SVG and the PNG drawn from them (well-formed, titled, deterministic, user text kept as text, an empty
period that says so), and the chart in the HTML and Word reports."""

from __future__ import annotations

import gc
import io
import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import docx
import matplotlib
import pytest
from docx.oxml.ns import qn

from iscg_bot.domain.report_model import Period, Report
from iscg_bot.render import chart
from iscg_bot.render.report_render import CHART_ELSEWHERE, render_docx, render_html, render_markdown
from tests.support.sample_report import IMG, SCRIPT, YEAR, held, report, subject

SVG = "{http://www.w3.org/2000/svg}"
TITLE = "Meetings held per subject per month, 2026"
NO_MEETINGS = "No meetings held in this period"


def at(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def monthly(*titles_and_starts: tuple[str, str, tuple[datetime, ...]], period: Period = YEAR) -> Report:
    """A report of 2026 whose subjects (title, zone, meeting starts) held one-hour meetings."""
    subjects = tuple(
        subject(
            title.lower(), title, zone, held=tuple(held(f"M{n}", "Call", s, 60) for n, s in enumerate(starts))
        )
        for title, zone, starts in titles_and_starts
    )
    return report(subjects=subjects, key_issues=(), overlaps=(), period=period)


ZURICH = (
    "Zurich",
    "Europe/Zurich",
    (at(2026, 1, 31, 23, 30), at(2026, 1, 15, 9), at(2026, 2, 3, 9), at(2026, 12, 31, 22, 59)),
)
NEW_YORK = ("New York", "America/New_York", (at(2026, 3, 1, 2), at(2026, 3, 1, 4, 59), at(2026, 3, 1, 5)))
QUIET = ("Quiet", "UTC", ())


def texts(svg: str) -> list[str]:
    """What the SVG writes, text element by text element."""
    return ["".join(e.itertext()) for e in ET.fromstring(svg).iter(f"{SVG}text")]


# ---- the counts -------------------------------------------------------------------------------------------


def test_each_meeting_counts_in_the_month_it_started_in_its_subjects_zone() -> None:
    r = monthly(ZURICH, NEW_YORK, QUIET)
    data = chart.meetings_per_month(r)
    assert data.months == tuple(date(2026, month, 1) for month in range(1, 13))
    assert data.subjects == ("Zurich", "New York", "Quiet")  # the report's order; idle subjects too
    expected = []
    for s in r.subjects:
        seen = Counter(m.started_at.astimezone(ZoneInfo(s.zone)).date().replace(day=1) for m in s.held)
        expected.append(tuple(seen[month] for month in data.months))
    assert data.counts == tuple(expected)
    # 23:30 UTC on 31 January is February in Zurich; 1 March before 05:00 UTC is February in New York
    assert data.counts[0][:2] == (1, 2) and data.counts[1][1:3] == (2, 1)
    assert (
        data.counts[0][11] == 1 and data.counts[2] == (0,) * 12
    )  # 22:59 UTC on 31 December: 23:59 in Zurich
    assert data.total == 7 == sum(len(s.held) for s in r.subjects)
    assert data.title == TITLE
    assert data.description() == (
        "A heatmap of 7 meetings held. Subjects that held meetings: 2 of 3. Months shown: 12. "
        "The busiest month: Feb 2026 (4)."
    )


def test_the_months_are_the_periods_widened_to_any_meeting_outside_it() -> None:
    half = Period(date(2026, 1, 10), date(2026, 6, 30))
    data = chart.meetings_per_month(monthly(NEW_YORK, period=half))
    assert data.months == tuple(date(2026, month, 1) for month in range(1, 7))
    data = chart.meetings_per_month(
        monthly(("Late", "UTC", (at(2026, 2, 1, 9), at(2026, 8, 1, 9))), period=half)
    )
    assert data.months[-1] == date(2026, 8, 1) and data.counts == ((0, 1, 0, 0, 0, 0, 0, 1),)
    assert data.period == "2026-01-10 – 2026-06-30"
    assert chart.ChartData("2026", data.months, ("A", "B"), ((0,) * 8, (0,) * 8)).description() == (
        f"{NO_MEETINGS}."
    )
    tie = chart.ChartData("2026", data.months[:2], ("A",), ((2, 2),))
    assert tie.description().endswith(" The busiest months: Jan 2026 and Feb 2026 (2 each).")


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        chart.meetings_per_month(monthly(("Naive", "UTC", (datetime(2026, 5, 1, 9),))))


# ---- the SVG and the PNG ----------------------------------------------------------------------------------


def test_the_svg_is_one_titled_element_with_the_counts_written_in_the_cells() -> None:
    svg = chart.svg(monthly(ZURICH, NEW_YORK, QUIET))
    root = ET.fromstring(svg)  # well-formed XML, no prologue: ready to put inline in a page
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert [child.tag for child in root[:2]] == [f"{SVG}title", f"{SVG}desc"]
    assert root[0].text == TITLE and root[1].text.startswith("A heatmap of 7 meetings")
    shown = texts(svg)
    assert TITLE in shown and {"Zurich (4)", "New York (3)", "Quiet (0)"} <= set(shown)
    assert sorted(t for t in shown if t.isdigit()) == ["1", "1", "1", "2", "2", "2026"]  # and the year


def test_the_svg_is_small_and_fit_for_a_page_without_scripts_or_remote_content() -> None:
    svg = chart.svg(monthly(ZURICH, NEW_YORK, QUIET))
    assert len(svg) < 30_000  # text as <text>, no embedded font
    tags = {element.tag.removeprefix(SVG) for element in ET.fromstring(svg).iter()}
    assert tags <= {"svg", "title", "desc", "g", "path", "text", "defs", "clipPath", "rect", "use"}
    assert "<style" not in svg and "data:" not in svg
    assert "http" not in re.sub(r'xmlns(:\w+)?="[^"]*"', "", svg)  # nothing fetched: the namespaces only
    ids = re.findall(r'\bid="([^"]*)"', svg)
    assert all(re.fullmatch(r"[mp][0-9a-f]{10}", i) for i in ids)  # only matplotlib's hashed references


def test_the_same_report_draws_the_same_bytes_and_leaves_matplotlib_as_it_was() -> None:
    r = monthly(ZURICH, NEW_YORK, QUIET)
    before = dict(matplotlib.rcParams)
    svg, png = chart.svg(r), chart.png(r)
    assert dict(matplotlib.rcParams) == before
    assert chart.svg(r) == svg and chart.png(r) == png
    assert chart.svg(chart.meetings_per_month(r)) == svg  # the data or the report, the same chart
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"matplotlib" not in png.lower()
    assert "dc:date" not in svg and "Matplotlib" not in svg


def test_a_chart_drawn_once_for_both_formats_gives_the_bytes_of_a_fresh_drawing_and_goes_with_its_data():
    r = monthly(ZURICH, NEW_YORK, QUIET)
    data = chart.meetings_per_month(r)
    png, svg = chart.png(data), chart.svg(data)  # one figure, saved twice (the PNG first)
    assert svg == chart.svg(chart.meetings_per_month(r))  # other data: drawn afresh
    assert png == chart.png(chart.meetings_per_month(r)) == chart.png(data)
    gc.collect()
    kept = len(chart._DRAWN)
    del data
    gc.collect()
    assert len(chart._DRAWN) == kept - 1  # a long-running bot does not keep every chart it drew


def test_the_same_bytes_in_another_process() -> None:
    """The SVG's hashed IDs are salted: a salt per process would change them from run to run."""
    code = (
        "from tests.test_chart import ZURICH, NEW_YORK, monthly; from iscg_bot.render import chart; "
        "import sys; "
        "sys.stdout.write(chart.svg(monthly(ZURICH, NEW_YORK)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == chart.svg(monthly(ZURICH, NEW_YORK))


def test_user_titles_are_text_in_the_svg_never_markup_nor_mathtext() -> None:
    dollars = r"Budget $\frac{1}{0$ and $x^2$ costs $5"  # mathtext would fail on this, or typeset it
    r = monthly(
        (SCRIPT, "UTC", (at(2026, 4, 1, 10),)), (IMG, "UTC", ()), (dollars, "UTC", (at(2026, 5, 1, 9),))
    )
    svg = chart.svg(r)
    assert "<script" not in svg and "<img" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    shown = texts(svg)
    assert f"{SCRIPT} (1)" in shown and f"{IMG} (0)" in shown  # read back literally
    assert f"{dollars[: chart.LABEL_LIMIT - 1].rstrip()}… (1)" in shown  # shortened, never typeset
    assert chart.png(r).startswith(b"\x89PNG")


def test_control_characters_in_a_title_keep_the_svg_well_formed() -> None:
    svg = chart.svg(monthly(("Odd\x00 title\x0b", "UTC", (at(2026, 4, 1, 10),))))
    assert "Odd title (1)" in texts(svg)


def test_a_title_in_a_script_the_font_lacks_draws_without_a_warning() -> None:
    r = monthly(("会議 🎉 Ünïcode", "UTC", (at(2026, 4, 1, 10),)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert chart.png(r).startswith(b"\x89PNG") and "会議 🎉 Ünïcode (1)" in texts(chart.svg(r))


@pytest.mark.parametrize("subjects", [(), (QUIET,)], ids=["no subjects", "no meetings"])
def test_a_period_without_meetings_draws_a_chart_that_says_so(subjects: tuple) -> None:
    r = monthly(*subjects)
    svg = chart.svg(r)
    assert ET.fromstring(svg)[0].text == TITLE
    assert texts(svg) == [TITLE, NO_MEETINGS]
    assert chart.png(r).startswith(b"\x89PNG")


def test_the_chart_grows_with_the_subjects_and_stays_one_page_wide() -> None:
    def size(n: int) -> tuple[float, float]:
        subjects = [
            (f"Subject {i:02}: a fairly long title for a subject", "UTC", (at(2026, 1 + i % 12, 3, 9),))
            for i in range(n)
        ]
        root = ET.fromstring(chart.svg(monthly(*subjects)))
        return float(root.get("width").removesuffix("pt")), float(root.get("height").removesuffix("pt"))

    (w1, h1), (w5, h5), (w50, h50) = size(1), size(5), size(50)
    assert w1 == w5 == w50 < 7 * 72  # a year's months and the labels fit a page's width
    assert h50 - h5 == pytest.approx(45 * chart.ROW * 72) and h5 - h1 == pytest.approx(4 * chart.ROW * 72)


# ---- in the reports ---------------------------------------------------------------------------------------


def test_the_html_report_shows_the_chart_inline_in_a_figure_after_the_totals() -> None:
    page = render_html(report())
    figure = re.search(
        r'<figure class="chart">\n(<svg .*?</svg>)\n<figcaption>(.*?)</figcaption>\n</figure>', page, re.S
    )
    assert figure and page.count("<svg") == 1
    assert figure[2] == f"{TITLE} (in each subject&#x27;s time zone)"
    assert page.index("<li>Actions overdue: 1</li>") < figure.start() < page.index("<h2>Accessibility</h2>")
    svg = figure[1]
    assert svg == chart.svg(report())
    assert "<script" not in page and "&lt;img src=x onerror=alert(1)&gt; (1)" in svg  # the hostile subject


def test_the_word_report_has_the_chart_as_a_picture_with_a_caption_and_alt_text() -> None:
    document = docx.Document(io.BytesIO(render_docx(report())))
    assert len(document.inline_shapes) == 1
    picture = document.inline_shapes[0]
    assert picture.width <= docx.shared.Inches(6)
    assert picture._inline.docPr.get("descr") == chart.meetings_per_month(report()).description()
    paragraphs = document.paragraphs
    where = next(n for n, p in enumerate(paragraphs) if p._p.findall(f".//{qn('w:drawing')}"))
    after = paragraphs[where + 1]
    assert (after.style.name, after.text) == ("Caption", f"{TITLE} (in each subject's time zone)")
    assert paragraphs[where - 1].text == "Actions overdue: 1"


def test_a_tall_chart_is_shrunk_to_fit_a_word_page() -> None:
    many = [(f"Subject {i}", "UTC", (at(2026, 1 + i % 12, 3, 9),)) for i in range(50)]
    picture = docx.Document(io.BytesIO(render_docx(monthly(*many)))).inline_shapes[0]
    assert picture.height <= docx.shared.Inches(8) + 1 and picture.width < docx.shared.Inches(6)


def test_the_markdown_gives_the_caption_and_says_where_the_chart_is() -> None:
    md = render_markdown(report())
    assert f"\n\n{TITLE} (in each subject's time zone)\n\n{CHART_ELSEWHERE}\n\n" in md
    assert "<svg" not in md and "![" not in md


def test_markdown_alone_does_not_load_matplotlib() -> None:
    code = (
        "import sys; from tests.support.sample_report import report; "
        "from iscg_bot.render.report_render import render_markdown; render_markdown(report()); "
        "print('matplotlib' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
