"""A report reads only the lines of the minutes that can change what it shows (`minutes_that_count`): what it
shows of each meeting must be what the whole minutes say. The year story's minutes have what could
tell them apart: a redacted decision, a withdrawn one, someone marked present who never spoke, regrets by tag
and by a "no" answer, approved minutes."""

from __future__ import annotations

from datetime import date

from iscg_bot.domain import reports
from iscg_bot.domain.minutes_document import build
from iscg_bot.domain.minutes_model import MinutesDocument
from iscg_bot.domain.report_model import Period
from iscg_bot.domain.report_read_ahead import minutes_that_count
from iscg_bot.storage import UnitOfWork
from tests.support.year_story import BASE, seed


def what_a_report_shows(document: MinutesDocument) -> tuple:
    noted = [(item.tag, item.text, item.time) for t in document.topics for item in t.items]
    return (
        document.attendance,
        document.regrets,
        [n for n in noted if n[0] in ("agreed", "keyissue")],
        document.page_url,
        document.status,
    )


async def test_the_lines_a_report_reads_say_what_the_whole_minutes_say(chat):
    seeded = await seed(chat)
    compared = 0
    async with UnitOfWork(seeded.database.sessions) as uow:
        for subject in await uow.subjects.list(include_archived=True):
            start, end = reports.period_bounds(Period(date(2026, 1, 1), date(2027, 12, 31)), subject.timezone)
            sessions = await uow.reports.ended_sessions(
                subject_id=subject.id, room_id=subject.room_id, started_from=start, started_before=end
            )
            meetings = await uow.reports.meetings(s.meeting_id for s in sessions if s.meeting_id is not None)
            counted = await minutes_that_count(uow, [subject], sessions, meetings)
            for session in sessions:
                whole = await build(uow, session, zone=subject.timezone, base_url=BASE)
                read = await build(counted, session, zone=subject.timezone, base_url=BASE)
                assert what_a_report_shows(read) == what_a_report_shows(whole)
                assert len(read.log) <= len(whole.log)
                compared += 1
    assert compared >= 8
