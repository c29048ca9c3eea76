"""The demo's seeded group (`iscg_bot.demo.seed`), read back through the same functions the chat and the
pages use; the end-to-end check through a started demo is tests/test_demo_group.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from iscg_bot.core.clock import FrozenClock
from iscg_bot.core.language import LANGUAGES, PSEUDO, _, speaking
from iscg_bot.demo.main import DEMO_PASSWORD, demo_settings, terminal_language, welcome
from iscg_bot.demo.seed import CAST, COP, SERIES_TITLE, DemoRooms, past_meeting_day, seed_group
from iscg_bot.domain import minutes, organisation, reports
from iscg_bot.domain.actions import today_in
from iscg_bot.domain.meetings import expand
from iscg_bot.domain.roles import AdvisoryGroup, Sector
from iscg_bot.render.report_render import headline
from iscg_bot.storage import ActionItem, Meeting, MinuteLine, RoleAssignment, UnitOfWork
from iscg_bot.web.site import SitePages
from tests.support.pseudo import untranslated

ROOMS = DemoRooms("!group:localhost", {"cop": "!cop:localhost", "ai": "!ai:localhost"})
BASE = "http://127.0.0.1:8080"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # a Sunday


async def seed(database, now: datetime = NOW, language: str = "en") -> bool:
    return await seed_group(
        database.sessions,
        rooms=ROOMS,
        server_name="localhost",
        now=now,
        default_zone="Europe/Zurich",
        base_url=BASE,
        reminder_offsets=[1440, 15, 0],
        language=language,
    )


async def counts(database) -> tuple[int, ...]:
    async with UnitOfWork(database.sessions) as uow:
        return tuple(
            [
                await uow.session.scalar(select(func.count()).select_from(model))
                for model in (Meeting, ActionItem, MinuteLine, RoleAssignment)
            ]
        )


async def test_the_demo_user_chairs_a_group_with_two_staffed_subjects(database):
    assert await seed(database)
    async with UnitOfWork(database.sessions) as uow:
        officers = await organisation.officers(uow, NOW)
        assert [a.matrix_id for a in officers.chair] == ["@chair:localhost"]
        assert set(officers.management) == set(AdvisoryGroup)
        assert [a.matrix_id for a in officers.secretariat] == ["@secretariat:localhost"]
        assert await organisation.group_room(uow) == ROOMS.group
        cop = await uow.subjects.by_slug("cop")
        roster = await organisation.roster(uow, cop, NOW)
        assert [a.matrix_id for a in roster.coordinators] == ["@fatima:localhost"]
        assert set(roster.focal_points) == {Sector.ITU_T, Sector.ITU_D, Sector.GS}
        ai = await uow.subjects.by_slug("ai")
        assert (ai.room_id, ai.timezone) == (ROOMS.subjects["ai"], "America/New_York")
        management = await uow.people.many(f"@{name}:localhost" for name in ("amina", "kenji", "sofia"))
        zones = {person.timezone for person in management.values()}
        assert zones == {"Africa/Dakar", "Asia/Tokyo", "America/Bogota"}


async def test_last_weeks_meeting_is_minuted_approved_and_one_action_overdue(database):
    await seed(database)
    async with UnitOfWork(database.sessions) as uow:
        session = await minutes.find(uow, None, ROOMS.subjects["cop"])
        assert session.minutes_status == "approved"
        assert session.started_at == datetime(2026, 11, 27, 13, 0, tzinfo=UTC)  # Fri 14:00 in Zurich
        assert "Approved" in session.minutes_html and "Circulate the revised draft" in session.minutes_html
        series = await uow.meetings.get(session.meeting_id)
        assert series.rrule.startswith("FREQ=WEEKLY;INTERVAL=2")
        assert session.occurrence_utc == session.started_at  # bound to the series' occurrence
        report = await reports.compile_report(
            uow, period=reports.year(2026), now=NOW, base_url=BASE, default_zone="Europe/Zurich"
        )
    assert headline(report) == (
        "ISCG report to TSAG, RAG and TDAG — 2026: 2 subjects, 1 meeting held, 2 decisions, 1 key issue."
    )
    assert (report.totals.actions_opened, report.totals.actions_closed, report.totals.actions_overdue) == (
        4,
        1,
        1,
    )


async def test_the_series_skips_the_year_end_break(database):
    await seed(database)
    async with UnitOfWork(database.sessions) as uow:
        series = (await uow.meetings.for_subject((await uow.subjects.by_slug("cop")).id))[0]
        held = expand(series, NOW - timedelta(days=30), NOW + timedelta(days=60), include_cancelled=True)
    cancelled = [o.start.date() for o in held if o.cancelled]
    assert cancelled == [date(2026, 12, 25)]


async def test_seeding_again_changes_nothing(database):
    assert await seed(database)
    before = await counts(database)
    assert not await seed(database, NOW + timedelta(days=3))  # a restart, days later
    assert await counts(database) == before


async def test_the_pages_show_the_seeded_group(database):
    await seed(database)
    pages = SitePages(database.sessions, FrozenClock(NOW), BASE, "Europe/Zurich")
    index = await pages.index()
    assert "Fatima Al-Sayed" in index and "AI for Good — workshop planning" in index
    subject = await pages.subject("cop")
    assert "Focal point, GS" in subject and "overdue" in subject


@pytest.mark.parametrize(
    ("today", "held"),
    [
        (date(2026, 12, 6), date(2026, 11, 27)),  # Sunday: the Friday of last week
        (date(2026, 12, 9), date(2026, 12, 2)),  # Wednesday: last Wednesday
        (date(2027, 1, 8), date(2027, 1, 4)),  # early January: the year's first working day (2 Jan: Sat)
        (date(2027, 1, 2), date(2026, 12, 23)),  # the year's first days: before the year-end break
    ],
)
def test_the_past_meeting_is_a_working_day_last_week_or_this_years_first(today, held):
    assert past_meeting_day(today) == held


@pytest.mark.parametrize("day", [date(2027, 1, 8), date(2027, 1, 11), date(2027, 3, 1)])
async def test_from_four_days_after_the_years_first_working_day_its_report_has_a_meeting_held(database, day):
    now = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
    await seed(database, now)
    async with UnitOfWork(database.sessions) as uow:
        report = await reports.compile_report(
            uow, period=reports.year(day.year), now=now, base_url=BASE, default_zone="Europe/Zurich"
        )
        assert report.totals.meetings_held == 1 and report.totals.actions_overdue == 1
        assert today_in(COP.timezone, now) == day


async def test_the_group_is_seeded_in_the_demo_s_language_and_four_people_chose_their_own(database):
    assert await seed(database, language="fr")
    with speaking("fr"):
        title, series = _(COP.title), _(SERIES_TITLE)
        circulate = _("Circulate the revised draft to the ITU-D study groups")
    assert circulate != "Circulate the revised draft to the ITU-D study groups"  # the catalog has it
    async with UnitOfWork(database.sessions) as uow:
        cop = await uow.subjects.by_slug("cop")
        assert cop.title == title
        assert [m.title for m in await uow.meetings.for_subject(cop.id)] == [series]
        session = await minutes.find(uow, None, ROOMS.subjects["cop"])
        assert circulate in session.minutes_markdown and 'lang="fr"' in session.minutes_html
        people = await uow.people.many(f"@{member.localpart}:localhost" for member in CAST)
    chosen = {matrix_id.split(":")[0][1:]: p.language for matrix_id, p in people.items() if p.language}
    assert chosen == {"fatima": "ar", "mei": "zh", "claire": "fr", "sofia": "es"}


@pytest.mark.parametrize(
    ("environment", "language"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),  # not one of ITU's six
        ({"LANGUAGE": "de:ru", "LANG": "de_DE.UTF-8"}, "ru"),  # gettext's list: the first one known
        ({"LANGUAGE": "es", "LANG": "C.UTF-8"}, "es"),  # `make run LANGUAGE=es` on a bare container
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "fr_FR.UTF-8"}, "zh"),
        ({}, "en"),
    ],
)
def test_the_demo_speaks_the_terminal_s_language(environment, language):
    assert terminal_language(environment) == language


def test_every_text_of_the_demo_s_welcome_is_translated(tmp_path):
    """The pseudo-language over what `make run` prints: only commands, addresses and names stay as typed."""
    rooms = DemoRooms(ROOMS.group, ROOMS.subjects, PSEUDO)
    with speaking(PSEUDO):
        settings = demo_settings(
            "http://127.0.0.1:8008", "@bot:localhost", "x", "@chair:localhost", tmp_path, 8080
        )
        printed = welcome("http://127.0.0.1:8008", "@chair:localhost", rooms, tmp_path, settings)
    commands = ("!roles", "!meeting list", "!minutes", "!actions overdue", "!report", "!help")
    codes = [f"{code} (" for code in LANGUAGES]  # `make run LANGUAGE=fr`: the codes, typed as they are
    leftover = untranslated(printed, *commands, DEMO_PASSWORD, str(tmp_path), "make run LANGUAGE=", *codes)
    assert leftover == [], printed
