"""What a report is called in the language being written: its title, what it covers, its page's `lang`.

Shared by the report's three formats (`report_render` for Markdown and HTML, `report_render_docx` for Word,
whose document properties carry the title too).
"""

from __future__ import annotations

from iscg_bot.core.i18n import SOURCE, _, current
from iscg_bot.domain.report_model import ALL_SUBJECTS, Report
from iscg_bot.domain.roles import shown_body

ADVISORY_GROUPS = ("TSAG", "RAG", "TDAG")


def title(report: Report) -> str:
    """The report's title in the current language: `ISCG report to TSAG, RAG and TDAG — 2026`,
    `Rapport du ISCG au GCNT — 2026`; in English the title it was compiled with."""
    if current() == SOURCE:
        return report.title
    period = report.period.label
    if report.scope == ALL_SUBJECTS:
        return _(
            "ISCG report to {tsag}, {rag} and {tdag} — {period}",
            tsag=shown_body("TSAG"),
            rag=shown_body("RAG"),
            tdag=shown_body("TDAG"),
            period=period,
        )
    if report.scope in ADVISORY_GROUPS:
        return _("ISCG report to {group} — {period}", group=shown_body(report.scope), period=period)
    return _("ISCG report — {subject} — {period}", subject=report.scope, period=period)


def scope(report: Report) -> str:
    """What the report covers, as its front page says it: all subjects, an advisory group, a subject."""
    if report.scope == ALL_SUBJECTS:
        return _("all subjects")
    if report.scope in ADVISORY_GROUPS:
        return shown_body(report.scope)
    return report.scope
