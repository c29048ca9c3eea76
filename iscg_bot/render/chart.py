"""A chart of a report's meetings held per subject per month: a heatmap, one row per subject (in the report's
order, its total after its title), one column per month, the count written in every cell that has one.

    meetings_per_month(report) → ChartData   the counts alone (pure, no matplotlib; test it on its own)
    svg(report or data)        → str         one <svg> element: inline in an HTML page, or an .svg file
    png(report or data)        → bytes       for the Word report (150 dpi)

A meeting counts in the month it started **in its subject's time zone** (the zone the report's days are in):
a call at 23:30 UTC on 31 January of a subject in Zurich counts in February. The columns are every month of
the report's period (widened, should a meeting lie outside it), so an idle month shows as an empty column;
every subject of the report has a row, those that held no meeting too. A report with no meeting at all gives
a small chart that says so.

The SVG is safe to put inline in a page served with `default-src 'none'; style-src 'self'`: text is escaped
character data (user titles never become markup, and "$" is never read as mathtext), no script, no embedded
image or font, no <style> element (it would apply to the whole page) and no style attribute (matplotlib's
become presentation attributes, which no Content-Security-Policy governs), no element IDs but the
hashed ones matplotlib refers to (clip paths, tick marks). Its first children are a <title> (the chart's
title) and a <desc> (a one-sentence summary), its root has role="img"; `ChartData.title` and
`ChartData.description()` give the same words for a caption or an alt text.

Deterministic: the same data gives the same bytes with the same matplotlib (no date, no software stamp,
fixed hash salt, one font). matplotlib's settings are changed only inside an `rc_context`, under a lock (the
settings are process-wide), and drawing goes through `Figure` directly, never pyplot's global state. A
chart's data is drawn once while it lives: its SVG and its PNG are two savings of the same figure.
"""

from __future__ import annotations

import functools
import io
import re
import threading
import warnings
import weakref
from dataclasses import dataclass
from datetime import date
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from iscg_bot.core.formatting import listed
from iscg_bot.core.i18n import (
    PSEUDO,
    SOURCE,
    _,
    accented,
    babel_locale,
    count_text,
    current,
    lazy,
    n_,
    speaking,
)
from iscg_bot.core.markup import clean, one_line
from iscg_bot.domain.report_model import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

TITLE = lazy("Meetings held per subject per month, {period}")
NO_MEETINGS = lazy("No meetings held in this period")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # English's
# Chinese (and Japanese, Korean) characters: DejaVu Sans has none. The first of these installed is put before
# it for a chart in Chinese (matplotlib falls back glyph by glyph along the list); none installed: the PNG
# shows boxes, the SVG names the families and the reader's browser finds one.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
)
LABEL_LIMIT = 36  # characters of a subject's title shown as its row label
PNG_DPI = 150

# Inches: the figure grows with the subjects (rows) and, past a year, with the months (columns).
ROW, COLUMN, HEAD, FOOT, RIGHT, MIN_WIDTH = 0.24, 0.36, 0.75, 0.08, 0.12, 6.5
FONT_SIZE = 7.5
EMPTY_CELL, CELL_EDGE, INK = "#f3f5f8", "#ffffff", "#1b1b1b"

_SETTINGS: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text as <text>, not glyph outlines: small, selectable, searchable
    "svg.hashsalt": "iscg-chart",  # the clip paths' and markers' IDs, otherwise random per run
    "text.usetex": False,
    "text.parse_math": False,  # "$" in a title is a dollar sign
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # shipped with matplotlib: the same metrics everywhere
    "font.size": FONT_SIZE,
    "axes.linewidth": 0.6,
}
_LOCK = threading.Lock()  # rc_context changes process-wide settings for its duration


@dataclass(frozen=True)
class ChartData:
    """What the chart shows: `counts[row][column]` meetings of `subjects[row]` in `months[column]`."""

    period: str  # the report's period label: "2026", "2026-01-01 – 2026-06-30"
    months: tuple[date, ...]  # the first day of every month shown, in order, with no gap
    subjects: tuple[str, ...]  # the row labels: the subjects' titles (their slugs when untitled)
    counts: tuple[tuple[int, ...], ...]  # one row per subject, one count per month
    language: str = SOURCE  # what the chart's words are written in: the language spoken when it was made

    @property
    def title(self) -> str:
        """`Meetings held per subject per month, 2026`"""
        with speaking(self.language):
            return _(TITLE, period=self.period)

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts))

    def description(self) -> str:
        """For a screen reader, a sentence per figure (each one count, so a language agrees its words with
        it): `A heatmap of 7 meetings held. Subjects that held meetings: 2 of 3. Months shown: 12. The
        busiest month: Feb 2026 (4).` (or NO_MEETINGS)"""
        with speaking(self.language):
            if not self.total:
                return _("No meetings held in this period.")  # NO_MEETINGS as a sentence
            per_month = [sum(column) for column in zip(*self.counts, strict=True)]
            most = max(per_month)
            busiest = [month for month, count in zip(self.months, per_month, strict=True) if count == most]
            active = sum(1 for row in self.counts if any(row))
            sentences = [
                n_("A heatmap of {count} meeting held.", "A heatmap of {count} meetings held.", self.total),
                _(
                    "Subjects that held meetings: {active} of {total}.",
                    active=count_text(active),
                    total=count_text(len(self.subjects)),
                ),
                _("Months shown: {count}.", count=count_text(len(self.months))),
                _(
                    "The busiest month: {month} ({most}).",
                    month=_month_name(busiest[0]),
                    most=count_text(most),
                )
                if len(busiest) == 1
                else _(
                    "The busiest months: {months} ({most} each).",
                    months=listed([_month_name(month) for month in busiest]).plain,
                    most=count_text(most),
                ),
            ]
            return ("" if current() == "zh" else " ").join(sentences)  # Chinese puts no space after "。"


def meetings_per_month(report: Report) -> ChartData:
    """The report's held meetings counted per subject and per month of their start in the subject's zone."""
    starts: list[list[date]] = []
    for subject in report.subjects:
        zone = ZoneInfo(subject.zone)
        months = []
        for meeting in subject.held:
            if meeting.started_at.utcoffset() is None:
                raise ValueError(
                    f"a naive datetime has no place in a report: {meeting.started_at.isoformat()}"
                )
            months.append(meeting.started_at.astimezone(zone).date().replace(day=1))
        starts.append(months)
    seen = [month for months in starts for month in months]
    first = min([report.period.first.replace(day=1), *seen])
    last = max([report.period.last.replace(day=1), *seen])
    columns = _months(first, last)
    index = {month: n for n, month in enumerate(columns)}
    counts = []
    for months in starts:
        row = [0] * len(columns)
        for month in months:
            row[index[month]] += 1
        counts.append(tuple(row))
    labels = tuple(one_line(clean(s.title)) or one_line(clean(s.slug)) for s in report.subjects)
    return ChartData(one_line(report.period.label), columns, labels, tuple(counts), current())


def svg(source: Report | ChartData) -> str:
    """The chart as one `<svg>` element (no XML declaration, no DOCTYPE, no final newline): put it inline in
    HTML as it is, or write it to a file served as `image/svg+xml`. Width and height are in points; scale
    it with CSS (`max-width: 100%; height: auto`), the viewBox keeps its proportions.

    Several charts can share a page: the only IDs left are hashes of what they name (`m…`, `p…` and ten
    hex digits), so two charts share one only for the same definition."""
    data = _data(source)
    buffer = io.StringIO()
    _save(data, buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _tidy_svg(buffer.getvalue(), data)


def png(source: Report | ChartData, dpi: int = PNG_DPI) -> bytes:
    """The chart as a PNG at `dpi` (its size in inches grows with the subjects and the months)."""
    data = _data(source)
    buffer = io.BytesIO()
    _save(data, buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


# ---- drawing ----------------------------------------------------------------------------------------------


def _data(source: Report | ChartData) -> ChartData:
    return source if isinstance(source, ChartData) else meetings_per_month(source)


def _save(data: ChartData, target: IO[Any], **options: Any) -> None:  # noqa: ANN401 — passed on to savefig
    import matplotlib  # imported here: only a chart loads matplotlib (and numpy)

    settings = {**_SETTINGS, "font.sans-serif": _fonts(data.language)}
    with _LOCK, matplotlib.rc_context(settings), warnings.catch_warnings(), speaking(data.language):
        # DejaVu Sans lacks some scripts and emoji: the PNG shows a box for those, not a warning per glyph.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        key = id(data)
        figure = _DRAWN.get(key)
        if figure is None:
            figure = _DRAWN[key] = _empty(data) if not data.total else _heatmap(data)
            weakref.finalize(data, _DRAWN.pop, key, None)
        figure.savefig(target, **options)


def _fonts(language: str) -> list[str]:
    """The fonts a chart in `language` is drawn with: DejaVu Sans, after a CJK font for Chinese."""
    if language != "zh":
        return ["DejaVu Sans"]
    return [*_installed_cjk_fonts(), "DejaVu Sans"]


@functools.cache
def _installed_cjk_fonts() -> tuple[str, ...]:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return tuple(name for name in CJK_FONTS if name in installed)


# The figure of each chart's data while the data lives, by its identity: a report's HTML (SVG) and Word
# (PNG) draw the same figure once, saved twice. An entry goes when its data does (`weakref.finalize`), so
# an ID is never reused for other data; only touched under _LOCK.
_DRAWN: dict[int, Figure] = {}


def _empty(data: ChartData) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(MIN_WIDTH, 1.3))
    figure.text(0.5, 0.78, data.title, ha="center", va="center", fontsize=10, parse_math=False)
    figure.text(
        0.5, 0.36, _(NO_MEETINGS), ha="center", va="center", fontsize=9, color="#555555", parse_math=False
    )
    return figure


def _heatmap(data: ChartData) -> Figure:
    """Laid out by hand (constrained layout would draw everything once more to measure it): the labels'
    column is as wide as the longest label, a cell is COLUMN × ROW inches, the title and the months above."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    rows, columns = len(data.subjects), len(data.months)
    totals = [sum(row) for row in data.counts]
    labels = [f"{_short(title)} ({total})" for title, total in zip(data.subjects, totals, strict=True)]
    font, measure = FontProperties(size=FONT_SIZE), TextToPath()
    widest = max(measure.get_text_width_height_descent(label, font, ismath=False)[0] for label in labels)
    left = widest / 72 + 0.15  # points → inches, and the gap before the cells
    width = max(MIN_WIDTH, left + COLUMN * columns + RIGHT)
    height = HEAD + ROW * rows + FOOT
    figure = Figure(figsize=(width, height))
    figure.text(0.5, 1 - 0.2 / height, data.title, ha="center", va="center", fontsize=10, parse_math=False)
    ax = figure.add_axes((left / width, FOOT / height, 1 - (left + RIGHT) / width, ROW * rows / height))

    top = max(max(row) for row in data.counts)  # a light blue for the fewest meetings, not black for the most
    colours = Normalize(vmin=-0.2 * top, vmax=1.15 * top)
    cells = [(r, c, n) for r, row in enumerate(data.counts) for c, n in enumerate(row) if n]
    squares = [[(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1)] for r, c, _count in cells]
    mesh = PolyCollection(squares, cmap="Blues", norm=colours, linewidths=0, antialiaseds=False)
    mesh.set_array([n for _row, _column, n in cells])
    mesh.set_clip_on(False)  # inside the axes anyway: no clip-path on every cell in the SVG
    ax.add_collection(mesh)
    # Dark cells get white digits. Asked once per count, not per cell: each call of a colour scale builds
    # masked arrays, and a year of many subjects has hundreds of cells but a handful of different counts.
    light = {n: bool(colours(n) > 0.55) for n in {n for _, _, n in cells}}
    for r, c, n in cells:
        ink = "white" if light[n] else INK
        ax.text(
            c + 0.5, r + 0.5, str(n), ha="center", va="center", color=ink, parse_math=False, clip_on=False
        )

    ax.set_facecolor(EMPTY_CELL)  # an empty cell is the background: no colour for nothing
    ax.set_xlim(0, columns)
    ax.set_ylim(rows, 0)  # the report's first subject on top
    ax.set_xticks([c + 0.5 for c in range(columns)], [_month_label(m, n) for n, m in enumerate(data.months)])
    ax.set_yticks([r + 0.5 for r in range(rows)], labels, parse_math=False)
    lines = [[(c, 0), (c, rows)] for c in range(columns + 1)] + [
        [(0, r), (columns, r)] for r in range(rows + 1)
    ]
    ax.add_collection(LineCollection(lines, colors=CELL_EDGE, linewidths=1.5, clip_on=False))  # between cells
    ax.xaxis.tick_top()
    ax.tick_params(length=0, pad=3)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return figure


def _short(title: str) -> str:
    return title if len(title) <= LABEL_LIMIT else title[: LABEL_LIMIT - 1].rstrip() + "…"


def _month_label(month: date, column: int) -> str:
    """`Jan` `Feb` …, with the year under the first month and under every January (`janv.` in French)."""
    short = _short_month(month)
    return f"{short}\n{month.year}" if column == 0 or month.month == 1 else short


def _short_month(month: date) -> str:
    locale = babel_locale()
    if locale is None:
        return MONTHS[month.month - 1]
    from babel.dates import format_date  # Babel is loaded only when another language is written

    shown = format_date(month, "LLL", locale=locale)  # the month's name standing alone, abbreviated
    return accented(shown) if current() == PSEUDO else shown


def _month_name(month: date) -> str:
    """`Dec 2026` (`décembre 2026`): the month as a sentence names it."""
    locale = babel_locale()
    if locale is None:
        return f"{MONTHS[month.month - 1]} {month.year}"
    from babel.dates import format_skeleton  # Babel is loaded only when another language is written

    shown = format_skeleton("yMMMM", month, locale=locale)
    return accented(shown) if current() == PSEUDO else shown


def _months(first: date, last: date) -> tuple[date, ...]:
    out, month = [], first
    while month <= last:
        out.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return tuple(out)


# ---- the SVG made fit for a page --------------------------------------------------------------------------

_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_STYLE = re.compile(r"\s*<defs>\s*<style[^>]*>[^<]*</style>\s*</defs>")
_EMPTY_GROUP = re.compile(r'\s*<g id="[^"]*"/>')
_GROUP_ID = re.compile(r'<g id="[^"]*"')
_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [-0-9.]+ [-0-9.]+\)"')
_STYLE_ATTRIBUTE = re.compile(r' style="([^"]*)"')


def _presentation_attributes(style: re.Match[str]) -> str:
    """`style="fill: #fff; stroke-width: 1.5"` → ` fill="#fff" stroke-width="1.5"`: the same drawing (every
    property matplotlib writes is also an SVG presentation attribute), but no inline style, which a page's
    `style-src 'self'` would refuse."""
    declarations = (d.split(":", 1) for d in style[1].split(";") if ":" in d)
    return "".join(f' {name.strip()}="{value.strip()}"' for name, value in declarations)


def _tidy_svg(source: str, data: ChartData) -> str:
    """matplotlib's SVG as one element for a page. Gone: the prologue; the <style> (its `*{…}` would reach
    every element of the page: its two properties become attributes of the root, which its children inherit);
    the groups' IDs (figure_1, text_3…: the same in every chart) and the empty groups (ticks of no length);
    the labels' turns by 0°."""
    source = _PROLOGUE.sub("", source, count=1)
    source = _STYLE.sub("", source, count=1)
    source = _GROUP_ID.sub("<g", _EMPTY_GROUP.sub("", source))
    source = _NO_ROTATION.sub("", source)  # matplotlib writes a turn by 0° on every label
    source = _STYLE_ATTRIBUTE.sub(_presentation_attributes, source)
    label = f"<title>{escape(data.title)}</title>\n <desc>{escape(data.description())}</desc>"
    return re.sub(
        r"<svg\b([^>]*)>",
        lambda m: f'<svg{m[1]} role="img" stroke-linejoin="round" stroke-linecap="butt">\n {label}',
        source.strip(),
        count=1,
    )
