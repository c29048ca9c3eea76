"""`!report` and `!summary` through the chat driver: who may, what they read, what they post.

The clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

import io

import docx
import pytest

from tests.chat import ADMIN, AI, COORD, COP, Chat, hold_a_meeting_in_cop, run_cli, said
from tests.support.outbox import run_outbox_until_empty

MEMBER = "@member:example.org"
CHAIR = "@chair:example.org"
AI_COORD = "@coord2:example.org"


async def report_and_file(chat: Chat, body: str, *, by: str, room: str = COP) -> tuple[str, dict]:
    notice, file = await chat.deliver(chat.message(body, sender=by, room=room))
    assert file["msgtype"] == "m.file", file
    return notice["body"], file


def attached(chat: Chat, index: int = -1) -> bytes:
    """The bytes of a file the bot posted (the fake gateway keeps the uploads the outbox makes)."""
    return chat.gateway.uploads[index][2]


@pytest.fixture
async def year(chat):
    """Two subjects (cop: @coord; ai: @coord2), a Chair; one meeting held in cop with a decision."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, "!subject create ai AI for Good", by=ADMIN, room=AI)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, f"!role add {AI_COORD} coordinator", by=ADMIN, room=AI)
    await said(chat, f"!role add {CHAIR} chair", by=ADMIN)
    await hold_a_meeting_in_cop(chat)
    return chat


async def test_a_coordinator_reports_on_their_own_subject(year):
    notice, file = await report_and_file(year, "!report", by=COORD)
    assert notice.splitlines() == [
        "ISCG report — Child Online Protection — 2026: 1 subject, 1 meeting held, 1 decision, 1 key issue.",
        "Web copy: http://localhost:8080/reports/2026/cop",
    ]
    assert file["body"].endswith(".docx")
    assert file["info"]["mimetype"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )


async def test_the_file_opens_and_carries_the_record(year):
    await year.dispatcher.handle(year.message("!report 2026 cop docx", sender=COORD, room=COP))
    await run_outbox_until_empty(year)
    document = docx.Document(io.BytesIO(attached(year)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Publish the guidelines in March" in text and "Funding for 2027" in text


@pytest.mark.parametrize(
    ("body", "by", "room"),
    [
        ("!report all", COORD, COP),  # a coordinator: not everything
        ("!report ai", COORD, COP),  # nor another subject
        ("!report", MEMBER, COP),
        ("!report TSAG", AI_COORD, AI),
    ],
)
async def test_who_may_not_report(year, body, by, room):
    assert await said(year, body, by=by, room=room) == (
        "Only the Chair, the management team or the secretariat may run !report; a coordinator, for their "
        "own subject."
    )


async def test_the_officers_report_on_everything_in_any_format(year):
    notice, file = await report_and_file(year, "!report all md 2026", by=CHAIR, room=AI)
    assert notice.startswith("ISCG report to TSAG, RAG and TDAG — 2026: 2 subjects, 1 meeting held")
    assert file["body"].endswith(".md") and file["info"]["mimetype"].startswith("text/markdown")
    notice, file = await report_and_file(year, "!report ai html", by=AI_COORD, room=AI)
    assert notice.startswith("ISCG report — AI for Good — 2026: 1 subject, 0 meetings held")


async def test_bad_words_get_one_line_and_the_usage(year):
    assert (await said(year, "!report nosuch", by=CHAIR)).startswith("There is no subject")
    reply = await said(year, "!report 2026 cop docx extra", by=CHAIR)
    assert reply.splitlines()[0] == '"extra" is one word too many: give a year, a subject or all, a format.'
    assert reply.splitlines()[1].startswith("Usage: !report")


async def test_summary_is_for_the_officers_and_lists_the_week(year):
    assert await said(year, "!summary", by=MEMBER) == (
        "Only the Chair, the management team or the secretariat may run !summary."
    )
    assert await said(year, "!summary", by=COORD) == (
        "Only the Chair, the management team or the secretariat may run !summary."
    )
    digest = (await said(year, "!summary", by=CHAIR)).splitlines()
    assert digest[0] == "The last 7 days (2026-11-19 – 2026-11-25), 2 subjects:"
    assert digest[1].startswith("1 meeting held · 0 coming in the next 7 days · 1 decision · 1 key issue")
    assert "• Child Online Protection: Publish the guidelines in March" in digest
    assert "• Child Online Protection: Funding for 2027" in digest
    assert (await said(year, "!summary 0", by=CHAIR)).startswith("Give a number of days from 1 to 366.")


async def test_the_command_line_writes_the_report(year, tmp_path):
    done = await run_cli(
        tmp_path, "report", "--year", "2026", "--subject", "cop", "--format", "md", "-o", "r.md"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "r.md: ISCG report — Child Online Protection — 2026: 1 subject, 1 meeting held, 1 decision, "
        "1 key issue.\n"
    )
    written = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "Publish the guidelines in March" in written
    done = await run_cli(tmp_path, "report", "--year", "2026")  # every subject, Word, a name of its own
    assert done.returncode == 0, done.stderr
    [made] = tmp_path.glob("*.docx")
    assert made.name == "iscg-report-2026-all-subjects.docx"
    assert "AI for Good" in "\n".join(p.text for p in docx.Document(made).paragraphs)
    refused = await run_cli(tmp_path, "report", "--year", "2026", "--subject", "nosuch")
    assert (refused.returncode, refused.stderr) == (1, 'error: There is no subject "nosuch".\n')
