"""What people type for a time, a duration or a date, and what the bot makes of it (now: Mon 5 Jan 2026,
15:04 in Zurich). The daylight-saving sweep over every zone is in test_timeparse_zones.py."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iscg_bot.chat import router, time_arguments
from iscg_bot.chat.router import Context, Keyword, Router, UsageError
from iscg_bot.chat.time_arguments import (
    DateArg,
    DateType,
    DurationArg,
    DurationType,
    WhenArg,
    WhenType,
    reading_zone,
)
from iscg_bot.core.clock import FrozenClock
from iscg_bot.domain.timeparse import (
    DEFAULT_DURATION,
    TimeParseError,
    When,
    from_local,
    local_reading,
    parse_date,
    parse_duration,
    parse_when,
)

NOW = datetime(2026, 1, 5, 14, 4, 37, tzinfo=UTC)  # a Monday; 15:04 in Zurich, 23:04 in Tokyo
ZURICH = "Europe/Zurich"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def when(text: str, zone: str = ZURICH, now: datetime = NOW) -> When:
    return parse_when(text, now=now, reading_zone=zone)


def refusal(text: str, zone: str = ZURICH, now: datetime = NOW) -> str:
    with pytest.raises(TimeParseError) as caught:
        parse_when(text, now=now, reading_zone=zone)
    return one_sentence(str(caught.value))


def one_sentence(message: str) -> str:
    assert re.fullmatch(r"[^\n]+[.?]", message), message
    assert not re.search(r"[.?!] [A-Z]", message), f"more than one sentence: {message}"
    return message


# ---- <when>: every accepted form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "instant", "zone"),
    [
        ("2026-12-03 14:00 Europe/Zurich", utc(2026, 12, 3, 13, 0), "Europe/Zurich"),
        ("2026-12-03 14:00 europe/ZURICH", utc(2026, 12, 3, 13, 0), "Europe/Zurich"),
        (
            "2026-12-03 14:00 America/Argentina/Buenos_Aires",
            utc(2026, 12, 3, 17, 0),
            "America/Argentina/Buenos_Aires",
        ),
        ("Asia/Tokyo 2026-12-03 22:00", utc(2026, 12, 3, 13, 0), "Asia/Tokyo"),
        ("2026-12-03T13:00Z", utc(2026, 12, 3, 13, 0), "UTC"),
        ("2026-12-03T13:00:30z", utc(2026, 12, 3, 13, 0, 30), "UTC"),
        ("2026-12-03 13:00 Z", utc(2026, 12, 3, 13, 0), "UTC"),
        ("2026-12-03T14:00+01:00", utc(2026, 12, 3, 13, 0), "Etc/GMT-1"),
        ("2026-12-03T08:00-0500", utc(2026, 12, 3, 13, 0), "Etc/GMT+5"),
        ("2026-12-03T13:00+00:00", utc(2026, 12, 3, 13, 0), "UTC"),
        ("2026-12-03T18:30+05:30", utc(2026, 12, 3, 13, 0), None),  # no Etc zone for half hours
        ("2026-12-03 14:00 +01:00", utc(2026, 12, 3, 13, 0), "Etc/GMT-1"),
        ("2026-12-03 14:00 UTC", utc(2026, 12, 3, 14, 0), "UTC"),
        ("2026-12-03 14:00 utc", utc(2026, 12, 3, 14, 0), "UTC"),
        ("2026-12-03 14:00 GMT", utc(2026, 12, 3, 14, 0), "GMT"),
        ("2026-12-03 14:00 UTC+3", utc(2026, 12, 3, 11, 0), "Etc/GMT-3"),  # Etc signs are inverted
        ("2026-12-03 14:00 UTC+03:00", utc(2026, 12, 3, 11, 0), "Etc/GMT-3"),
        ("2026-12-03 14:00 UTC + 3", utc(2026, 12, 3, 11, 0), "Etc/GMT-3"),
        ("2026-12-03 14:00 UTC−3", utc(2026, 12, 3, 17, 0), "Etc/GMT+3"),  # a typographic minus
        ("2026-12-03 14:00 GMT+2", utc(2026, 12, 3, 12, 0), "Etc/GMT-2"),
        ("2026-12-03 14:00 UTC-05:30", utc(2026, 12, 3, 19, 30), None),
        ("2026-12-03 14:00 UTC+0545", utc(2026, 12, 3, 8, 15), None),
        ("2026-12-03 14:00 UTC+14", utc(2026, 12, 3, 0, 0), "Etc/GMT-14"),
        ("2026-12-03 14:00 UTC-12", utc(2026, 12, 4, 2, 0), "Etc/GMT+12"),
        ("2026-12-03 14:00 UTC+0", utc(2026, 12, 3, 14, 0), "UTC"),
        ("2026-12-03 14:00", utc(2026, 12, 3, 13, 0), None),  # no zone: read in the reading zone
        ("2026-12-03T14:00", utc(2026, 12, 3, 13, 0), None),
        ("  2026-12-03   14:00\n Europe/Zurich ", utc(2026, 12, 3, 13, 0), "Europe/Zurich"),
        ("2026-07-02 14:00", utc(2026, 7, 2, 12, 0), None),  # summer time in Zurich
    ],
)
def test_exact_forms(typed: str, instant: datetime, zone: str | None) -> None:
    assert when(typed) == When(instant, zone)


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("tomorrow 14:00", datetime(2026, 1, 6, 14, 0)),
        ("tomorrow at 2pm", datetime(2026, 1, 6, 14, 0)),
        ("today 17:00", datetime(2026, 1, 5, 17, 0)),
        ("next tuesday 9:30", datetime(2026, 1, 6, 9, 30)),  # dateparser: the next Tuesday, tomorrow here
        ("Thursday 14:00", datetime(2026, 1, 8, 14, 0)),
        ("Monday 16:00", datetime(2026, 1, 12, 16, 0)),  # on a Monday, "Monday" is next week's
        ("3 Dec 14:00", datetime(2026, 12, 3, 14, 0)),
        ("3 December 2026 14:00", datetime(2026, 12, 3, 14, 0)),
        ("Thu 3 Dec 2026 14:00", datetime(2026, 12, 3, 14, 0)),  # as the bot shows it
        ("03/12/2026 14:00", datetime(2026, 12, 3, 14, 0)),  # day first
        ("5 Feb 9:00", datetime(2026, 2, 5, 9, 0)),
        ("14:00", datetime(2026, 1, 6, 14, 0)),  # passed today: tomorrow
        ("16:00", datetime(2026, 1, 5, 16, 0)),
        ("tomorrow 14.00", datetime(2026, 1, 6, 14, 0)),
        ("tomorrow noon", datetime(2026, 1, 6, 12, 0)),
        ("in 2 days at 10:00", datetime(2026, 1, 7, 10, 0)),
    ],
)
def test_natural_forms_are_read_in_the_reading_zone(typed: str, local: datetime) -> None:
    assert when(typed) == When(from_local(local, ZURICH), None)


def test_the_reading_zone_decides_the_day_as_well_as_the_hour() -> None:
    # 23:04 on Monday in Tokyo: "tomorrow" is Tuesday there too, and 14:00 has passed there today
    assert when("tomorrow 14:00", "Asia/Tokyo") == When(utc(2026, 1, 6, 5, 0), None)
    assert when("14:00", "Asia/Tokyo") == When(utc(2026, 1, 6, 5, 0), None)
    # 04:04 on Monday in Honolulu: 14:00 is still to come today
    assert when("14:00", "Pacific/Honolulu") == When(utc(2026, 1, 6, 0, 0), None)
    assert when("tomorrow 14:00", "Pacific/Honolulu") == When(utc(2026, 1, 7, 0, 0), None)
    # 04:04 on Tuesday in Kiritimati (UTC+14): tomorrow is Wednesday
    assert when("tomorrow 9:00", "Pacific/Kiritimati") == When(utc(2026, 1, 6, 19, 0), None)


def test_natural_forms_with_a_zone_are_read_in_that_zone() -> None:
    assert when("tomorrow 14:00 Asia/Tokyo") == When(utc(2026, 1, 6, 5, 0), "Asia/Tokyo")
    assert when("tomorrow 14:00 UTC") == When(utc(2026, 1, 6, 14, 0), "UTC")
    assert when("tomorrow 14:00 Z") == When(utc(2026, 1, 6, 14, 0), "UTC")
    assert when("tomorrow 14:00 UTC-3") == When(utc(2026, 1, 6, 17, 0), "Etc/GMT+3")


def test_in_hours_counts_real_time_from_now() -> None:
    assert when("in 2 hours") == When(utc(2026, 1, 5, 16, 4), None)  # on the minute
    assert when("in 90 minutes") == When(utc(2026, 1, 5, 15, 34), None)
    assert when("in an hour") == When(utc(2026, 1, 5, 15, 4), None)
    assert when("in 1h30m UTC") == When(utc(2026, 1, 5, 15, 34), "UTC")
    # across the spring-forward night: two real hours, though the wall clock moves three
    before = utc(2027, 3, 28, 0, 30)  # 01:30 in Zurich
    assert when("in 2 hours", now=before).instant == utc(2027, 3, 28, 2, 30)
    assert local_reading(utc(2027, 3, 28, 2, 30), ZURICH) == datetime(2027, 3, 28, 4, 30)


# ---- <when>: refusals ------------------------------------------------------------------------------------


def test_garbage_is_refused_naming_the_text() -> None:
    assert refusal("blorp") == (
        '"blorp" is not a time I can read; try 2026-12-03 14:00 Europe/Zurich or tomorrow 14:00.'
    )
    for typed in ("tomorrow 25:00", "14:00-15:00", "1700000000", "tomorrow 14:00 please", "1", "2026-W49"):
        assert refusal(typed).startswith(f'"{typed}" is not a time I can read')
    assert refusal("") == "An empty text is not a time; try 2026-12-03 14:00 Europe/Zurich or tomorrow 14:00."


def test_a_day_without_a_time_of_day_is_refused() -> None:
    assert refusal("tomorrow") == '"tomorrow" has no exact time of day; add one, as in tomorrow 14:00.'
    assert refusal("tomorrow morning").startswith('"tomorrow morning" has no exact time of day')
    assert refusal("2026-12-03 Europe/Zurich").startswith('"2026-12-03" is not a time I can read')


def test_texts_over_100_characters_are_refused() -> None:
    assert refusal("tomorrow 14:00 " + "x" * 90) == (
        "That is too long for a time (over 100 characters); try 2026-12-03 14:00 Europe/Zurich "
        "or tomorrow 14:00."
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "2026-12-03 14:00 CST",
            '"CST" names several time zones: America/Chicago, Asia/Shanghai or America/Havana '
            "— write one of them.",
        ),
        (
            "tomorrow 14:00 ist",
            '"ist" names several time zones: Asia/Kolkata, Europe/Dublin or Asia/Jerusalem '
            "— write one of them.",
        ),
        (
            "14:00 BST tomorrow",
            '"BST" names several time zones: Europe/London or Asia/Dhaka — write one of them.',
        ),
        ("2026-12-03 14:00 JST", '"JST" is an abbreviation, not a time zone; use Asia/Tokyo.'),
    ],
)
def test_abbreviations_are_refused_with_the_zones_they_may_mean(typed: str, message: str) -> None:
    assert refusal(typed) == message


def test_zones_that_are_not_iana_names_are_refused_with_a_guess() -> None:
    assert (
        refusal("2026-12-03 14:00 Zurich")
        == '"Zurich" is not a time zone I know; did you mean Europe/Zurich?'
    )
    assert refusal("2026-12-03 14:00 Europe/Zurch") == (
        '"Europe/Zurch" is not a time zone I know; did you mean Europe/Zurich?'
    )
    assert refusal("tomorrow 14:00 WIB") == (
        '"tomorrow 14:00 WIB" has a time zone I cannot read there; name it at the end, as in '
        "2026-12-03 14:00 Europe/Zurich or tomorrow 14:00."
    )
    assert refusal("Europe/Zurich") == (
        '"Europe/Zurich" is a time zone without a time; try 2026-12-03 14:00 Europe/Zurich or tomorrow 14:00.'
    )
    assert refusal("2026-12-03T14:00+01:00 Europe/Zurich") == (
        '"2026-12-03T14:00+01:00" already has a time zone; give only one.'
    )
    assert refusal("2026-12-03 14:00 Japan") == (
        '"Japan" is an old alias of a time zone; use its Area/City name, such as Europe/Zurich.'
    )
    assert refusal("2026-12-03 14:00 UTC+15") == (
        '"UTC+15" is not a UTC offset in use: they run from UTC-12 to UTC+14.'
    )


def test_dates_that_are_not_on_the_calendar_are_refused() -> None:
    assert refusal("2026-02-30 14:00") == '"2026-02-30 14:00" is not a date and time on the calendar.'
    assert refusal("2026-12-03 24:00") == '"2026-12-03 24:00" is not a date and time on the calendar.'
    assert refusal("Wed 3 Dec 2026 14:00") == (
        '"Wed 3 Dec 2026 14:00" does not add up: 3 Dec 2026 is a Thursday, not a Wednesday.'
    )
    assert (
        refusal("9999-12-31 23:30 America/New_York") == "9999-12-31 23:30 is too far from today to schedule."
    )
    assert refusal("2127-01-06 10:00 UTC") == (
        "That is more than a century ahead (Mon 6 Jan 2127 10:00 UTC); give a nearer time."
    )
    assert refusal("in 9999 weeks 10:00").startswith("That is more than a century ahead (")


def test_a_time_in_the_past_is_refused() -> None:
    assert refusal("today 13:00") == (
        "That is in the past (Mon 5 Jan 2026 13:00 Europe/Zurich): it is already 15:04 there."
    )
    assert refusal("2025-12-03 14:00 Asia/Tokyo") == (
        "That is in the past (Wed 3 Dec 2025 14:00 Asia/Tokyo): it is already Mon 5 Jan 2026 23:04 there."
    )
    assert (
        refusal("2026-01-05T14:04Z")
        == "That is in the past (Mon 5 Jan 2026 14:04 UTC): it is already 14:04 there."
    )
    assert refusal("yesterday 14:00").startswith("That is in the past (Sun 4 Jan 2026 14:00 Europe/Zurich)")
    assert refusal("2 hours ago").startswith("That is in the past (Mon 5 Jan 2026 13:04 Europe/Zurich)")
    assert refusal("2026-01-05 19:00 UTC+5:30").startswith(
        "That is in the past (Mon 5 Jan 2026 19:00 UTC+05:30)"
    )
    assert when("2026-01-05T14:05Z").instant == utc(2026, 1, 5, 14, 5)  # the next minute is fine


def test_a_date_without_a_year_that_just_passed_is_the_past_not_next_year() -> None:
    # dateparser would make it 3 Dec 2027
    three_dec = utc(2026, 12, 3, 14, 0)  # 15:00 in Zurich
    assert refusal("3 Dec 14:00", now=three_dec) == (
        "That is in the past (Thu 3 Dec 2026 14:00 Europe/Zurich): it is already 15:00 there."
    )
    assert refusal("1 Dec 10:00", now=three_dec).startswith("That is in the past (Tue 1 Dec 2026 10:00")
    assert when("3 Dec 2027 14:00", now=three_dec).instant == utc(2027, 12, 3, 13, 0)  # with the year: fine
    assert when("5 Jan 14:00", now=three_dec).instant == utc(2027, 1, 5, 13, 0)  # next year, as meant
    assert when("2 Nov 14:00", now=three_dec).instant == utc(
        2027, 11, 2, 13, 0
    )  # over a month ago: next year


def test_a_time_that_does_not_exist_is_refused_with_both_readings() -> None:
    assert refusal("2027-03-28 02:30 Europe/Zurich") == (
        "2027-03-28 02:30 does not exist in Europe/Zurich (clocks jump from 02:00 to 03:00): "
        "did you mean 01:30 (UTC+01:00) or 03:30 (UTC+02:00)?"
    )
    assert refusal("2026-03-08 02:30", "America/New_York") == (
        "2026-03-08 02:30 does not exist in America/New_York (clocks jump from 02:00 to 03:00): "
        "did you mean 01:30 (UTC-05:00) or 03:30 (UTC-04:00)?"
    )
    # Santiago springs forward at midnight: one reading is on the day before
    assert refusal("2026-09-06 00:30 America/Santiago") == (
        "2026-09-06 00:30 does not exist in America/Santiago (clocks jump from 00:00 to 01:00): "
        "did you mean 2026-09-05 23:30 (UTC-04:00) or 01:30 (UTC-03:00)?"
    )
    # Lord Howe moves by half an hour
    assert refusal("2026-10-04 02:15 Australia/Lord_Howe") == (
        "2026-10-04 02:15 does not exist in Australia/Lord_Howe (clocks jump from 02:00 to 02:30): "
        "did you mean 01:45 (UTC+10:30) or 02:45 (UTC+11:00)?"
    )
    # natural forms are checked the same way
    assert refusal("tomorrow 2:30", now=utc(2027, 3, 27, 12, 0)).startswith(
        "2027-03-28 02:30 does not exist in Europe/Zurich"
    )


def test_a_time_that_happens_twice_is_refused_with_both_readings() -> None:
    assert refusal("2026-10-25 02:30 Europe/Zurich") == (
        "2026-10-25 02:30 happens twice in Europe/Zurich (clocks go back from 03:00 to 02:00): "
        "02:30 UTC+02:00 (00:30 UTC) or 02:30 UTC+01:00 (01:30 UTC) — give the time in UTC to choose."
    )
    assert refusal("2026-11-01 01:30", "America/New_York") == (
        "2026-11-01 01:30 happens twice in America/New_York (clocks go back from 02:00 to 01:00): "
        "01:30 UTC-04:00 (05:30 UTC) or 01:30 UTC-05:00 (06:30 UTC) — give the time in UTC to choose."
    )
    # either reading given in UTC is taken
    assert when("2026-10-25 00:30 UTC") == When(utc(2026, 10, 25, 0, 30), "UTC")
    assert when("2026-10-25 01:30 UTC") == When(utc(2026, 10, 25, 1, 30), "UTC")
    assert local_reading(utc(2026, 10, 25, 0, 30), ZURICH) == local_reading(utc(2026, 10, 25, 1, 30), ZURICH)


def test_errors_say_whether_the_text_was_understood() -> None:
    """Understood but refused (past, daylight saving, out of range), or not read at all."""
    for typed in ("today 13:00", "2027-03-28 02:30 Europe/Zurich", "2026-10-25 02:30 Europe/Zurich"):
        with pytest.raises(TimeParseError) as caught:
            when(typed)
        assert caught.value.understood
    with pytest.raises(TimeParseError) as caught:
        when("blorp")
    assert not caught.value.understood


# ---- wall times ------------------------------------------------------------------------------------------


def test_local_reading_and_from_local() -> None:
    assert local_reading(utc(2026, 12, 3, 13, 0), ZURICH) == datetime(2026, 12, 3, 14, 0)
    assert from_local(datetime(2026, 12, 3, 14, 0), ZURICH) == utc(2026, 12, 3, 13, 0)
    assert from_local(datetime(2026, 7, 2, 14, 0), ZURICH) == utc(2026, 7, 2, 12, 0)
    assert from_local(datetime(2026, 12, 3, 14, 0), "UTC").tzinfo is UTC
    with pytest.raises(TimeParseError, match="does not exist in Europe/Zurich"):
        from_local(datetime(2027, 3, 28, 2, 0), ZURICH)
    with pytest.raises(TimeParseError, match="happens twice in Europe/Zurich"):
        from_local(datetime(2026, 10, 25, 2, 59), ZURICH)
    with pytest.raises(ValueError, match="naive"):
        from_local(utc(2026, 12, 3, 14, 0), ZURICH)
    with pytest.raises(ValueError, match="aware"):
        local_reading(datetime(2026, 12, 3, 14, 0), ZURICH)
    with pytest.raises(ValueError, match="aware"):
        parse_when("tomorrow 14:00", now=datetime(2026, 1, 5, 14, 0), reading_zone=ZURICH)


def test_when_holds_an_aware_utc_instant() -> None:
    from zoneinfo import ZoneInfo

    moment = When(datetime(2026, 12, 3, 14, 0, tzinfo=ZoneInfo(ZURICH)), ZURICH)
    assert moment.instant == utc(2026, 12, 3, 13, 0) and moment.instant.tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        When(datetime(2026, 12, 3, 14, 0))


# ---- durations and dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [
        ("90m", 90),
        ("1h30m", 90),
        ("2h", 120),
        ("1h 30m", 90),
        ("1 h 30", 90),
        ("45 min", 45),
        ("45 minutes", 45),
        ("1.5h", 90),
        ("1,5 hours", 90),
        ("1 hour and 30 minutes", 90),
        ("PT90M", 90),
        ("pt1h30m", 90),
        ("PT1.5H", 90),
        ("P1D", 1440),
        ("1:30", 90),
        ("5m", 5),
        ("24h", 1440),
    ],
)
def test_durations(typed: str, minutes: int) -> None:
    assert parse_duration(typed) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("blah", '"blah" is not a duration I can read; write 90m, 1h30m or 1.5h.'),
        ("90", '"90" needs a unit: 90m for minutes or 2h for hours.'),
        ("4m", '"4m" is too short: a duration is between 5 minutes and 24 hours.'),
        ("24h 1m", '"24h 1m" is too long: a duration is between 5 minutes and 24 hours.'),
        ("1.01h", '"1.01h" is not a whole number of minutes.'),
        ("30m 1h", '"30m 1h" is not a duration I can read; write 90m, 1h30m or 1.5h.'),
        ("", '"" is not a duration I can read; write 90m, 1h30m or 1.5h.'),
    ],
)
def test_durations_refused(typed: str, message: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_duration(typed)
    assert one_sentence(str(caught.value)) == message


def test_the_default_duration_is_an_hour() -> None:
    assert DEFAULT_DURATION == timedelta(minutes=60)


@pytest.mark.parametrize(
    "typed",
    ["2026-12-03", "3 Dec 2026", "3 December 2026", "Thu 3 Dec 2026", "thu, 3rd dec 2026", "Dec 3, 2026"],
)
def test_dates(typed: str) -> None:
    assert parse_date(typed) == date(2026, 12, 3)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2026-02-30", '"2026-02-30" is not a date on the calendar.'),
        ("31 Feb 2026", '"31 Feb 2026" is not a date on the calendar.'),
        ("3 Dec", '"3 Dec" needs a year, as in 3 Dec 2026.'),
        ("Wed 3 Dec 2026", '"Wed 3 Dec 2026" does not add up: 3 Dec 2026 is a Thursday.'),
        ("03/12/2026", '"03/12/2026" is not a date I can read; write 2026-12-03 or 3 Dec 2026.'),
        ("3 Foo 2026", '"3 Foo 2026" is not a date I can read; write 2026-12-03 or 3 Dec 2026.'),
    ],
)
def test_dates_refused(typed: str, message: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_date(typed)
    assert one_sentence(str(caught.value)) == message


# ---- argument types, through a small fake context ------------------------------------------------------

ROOM, ALICE, BOB = "!cop:example.org", "@alice:example.org", "@bob:example.org"


class FakePeople:
    def __init__(self, zones: dict[str, str | None]) -> None:
        self.zones = zones

    async def get(self, matrix_id: str) -> Any:
        return SimpleNamespace(timezone=self.zones[matrix_id]) if matrix_id in self.zones else None


class FakeSubjects:
    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones

    async def by_room(self, room_id: str) -> Any:
        return SimpleNamespace(timezone=self.zones[room_id]) if room_id in self.zones else None


def context(
    sender: str = ALICE, people: dict[str, str | None] | None = None, subjects: dict[str, str] | None = None
) -> Context:
    bot = SimpleNamespace(admins=[], command_prefix="!", default_timezone="Europe/Zurich")
    services = SimpleNamespace(config=SimpleNamespace(bot=bot), clock=FrozenClock(NOW))
    uow = SimpleNamespace(people=FakePeople(people or {}), subjects=FakeSubjects(subjects or {}))
    return Context(ROOM, sender, "$event", NOW, services, uow)


async def test_the_reading_zone_is_the_senders_else_the_subjects_else_the_default() -> None:
    tokyo, nairobi = {ALICE: "Asia/Tokyo"}, {ROOM: "Africa/Nairobi"}
    assert await reading_zone(context(people=tokyo, subjects=nairobi)) == "Asia/Tokyo"
    assert await reading_zone(context(people={ALICE: None}, subjects=nairobi)) == "Africa/Nairobi"
    assert await reading_zone(context(sender=BOB, people=tokyo, subjects=nairobi)) == "Africa/Nairobi"
    assert await reading_zone(context(people={ALICE: "Narnia/Cair_Paravel"})) == "Europe/Zurich"
    assert await reading_zone(context()) == "Europe/Zurich"


async def test_when_type_reads_all_its_words_in_the_reading_zone() -> None:
    ctx = context(people={ALICE: "Asia/Tokyo"})
    value, used = await WhenType().parse(["2026-12-03", "14:00"], ctx)
    assert (value, used) == (When(utc(2026, 12, 3, 5, 0), None), 2)
    value, used = await WhenType().parse(["next", "tuesday", "9:30", "Europe/Zurich"], ctx)
    assert (value, used) == (When(utc(2026, 1, 6, 8, 30), "Europe/Zurich"), 4)
    assert await WhenType().parse_text("tomorrow 14:00", ctx) == When(utc(2026, 1, 6, 5, 0), None)


async def test_when_type_turns_refusals_into_usage_errors() -> None:
    with pytest.raises(UsageError) as caught:
        await WhenType().parse(["blorp"], context())
    assert caught.value.sentence.startswith('"blorp" is not a time I can read')
    with pytest.raises(UsageError) as caught:
        await WhenType().parse_text("today 13:00", context())
    assert caught.value.sentence.startswith("That is in the past")


async def test_duration_and_date_types_take_the_words_they_need() -> None:
    ctx = context()
    assert DurationType().parse(["1h", "30m", "every"], ctx) == (timedelta(minutes=90), 2)
    assert DurationType().parse(["45", "min"], ctx) == (timedelta(minutes=45), 2)
    assert DurationType().parse(["90m", "blah"], ctx) == (timedelta(minutes=90), 1)
    assert DurationType().parse_text("1 hour 30 minutes", ctx) == timedelta(minutes=90)
    assert DateType().parse(["Thu", "3", "Dec", "2026"], ctx) == (date(2026, 12, 3), 4)
    assert DateType().parse(["2026-12-03", "force"], ctx) == (date(2026, 12, 3), 1)
    with pytest.raises(UsageError, match='"3 Dec" needs a year'):
        DateType().parse(["3", "Dec"], ctx)
    with pytest.raises(UsageError, match='"30h" is too long'):
        DurationType().parse(["30h", "every"], ctx)  # read and refused: not retried as fewer words
    with pytest.raises(UsageError, match='"blah" is not a duration'):
        DurationType().parse_text("blah", ctx)


# A command declared as the meeting commands are, driven through the real router.
timed = Router()


@timed.command("book")
async def book(
    ctx: Context,
    title: str,
    when: WhenArg,
    duration: Annotated[DurationArg | None, Keyword("for")] = None,
    until: Annotated[DateArg | None, Keyword("until")] = None,
) -> None:
    """Book a slot.

    Example: !book "Call" tomorrow 14:00 for 90m
    """
    length = duration or DEFAULT_DURATION
    parts = [title, when.instant.isoformat(), str(when.zone), f"{length.seconds // 60} min"]
    await ctx.reply(" | ".join(parts + ([f"until {until}"] if until else [])))


async def chat(body: str, ctx: Context | None = None) -> str:
    ctx = ctx or context(people={ALICE: "Asia/Tokyo"})
    for invocation in timed.parse(body):
        await timed.execute(ctx, invocation)
    return "\n".join(reply.plain for reply in ctx.replies)


async def test_through_the_router_keywords_end_the_time() -> None:
    assert await chat('!book "Call" next tuesday 9:30 Europe/Zurich for 1h 30m until 3 Dec 2026') == (
        "Call | 2026-01-06T08:30:00+00:00 | Europe/Zurich | 90 min | until 2026-12-03"
    )
    assert await chat('!book "Call" tomorrow 14:00') == "Call | 2026-01-06T05:00:00+00:00 | None | 60 min"
    assert await chat("!book\ntitle: Call\nwhen: 2026-12-03T13:00Z\nfor: 45 min") == (
        "Call | 2026-12-03T13:00:00+00:00 | UTC | 45 min"
    )
    assert await chat('!book "Call" 2026-12-03 14:00 CST for 1h') == (
        '"CST" names several time zones: America/Chicago, Asia/Shanghai or America/Havana '
        "— write one of them.\nUsage: !book <title> <when> [for <duration>] [until <until>]"
    )
    assert await chat('!book "Call" 2026-10-25 02:30 Europe/Zurich') == (
        "2026-10-25 02:30 happens twice in Europe/Zurich (clocks go back from 03:00 to 02:00): "
        "02:30 UTC+02:00 (00:30 UTC) or 02:30 UTC+01:00 (01:30 UTC) — give the time in UTC to choose.\n"
        "Usage: !book <title> <when> [for <duration>] [until <until>]"
    )
    assert await chat('!book "Call"') == (
        "Missing <when> (a time such as 2026-12-03 14:00 Europe/Zurich).\n"
        "Usage: !book <title> <when> [for <duration>] [until <until>]"
    )


def test_the_router_offers_the_same_zone_type() -> None:
    assert time_arguments.TimeZone is router.TimeZone


# ---- nothing typed makes the parsers raise anything else ------------------------------------------------

WORDS = [
    *(
        "2026-12-03",
        "2026-12-03T14:00",
        "14:00",
        "2:30",
        "9",
        "24:00",
        "1400",
        "14.00",
        "3",
        "Dec",
        "December",
    ),
    *(
        "tomorrow",
        "today",
        "next",
        "tuesday",
        "Thu",
        "in",
        "2",
        "hours",
        "an",
        "hour",
        "90m",
        "1h30m",
        "days",
    ),
    *(
        "ago",
        "noon",
        "pm",
        "Europe/Zurich",
        "europe/zurich",
        "UTC",
        "Z",
        "UTC+3",
        "GMT-05:30",
        "+01:00",
        "-99",
    ),
    *("CST", "IST", "Zurich", "Europe/Zurch", "Etc/GMT+3", "2027-03-28", "02:30", "9999-12-31", "0001-01-01"),
    *(
        "PT90M",
        "P1D",
        "1.5h",
        "1,5",
        "and",
        "min",
        "/",
        ":",
        "−",
        "\x00",
        "\n",
        "٣",
        "T",
        "1700000000",
        "30/02",
    ),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=120),
        st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join),
        st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=5)), max_size=5).map(" ".join),
    ),
    st.sampled_from(["Europe/Zurich", "Asia/Kathmandu", "America/St_Johns", "UTC", "Pacific/Kiritimati"]),
)
def test_no_text_makes_the_parsers_raise_anything_but_time_parse_error(text: str, zone: str) -> None:
    for parse in (
        lambda: parse_when(text, now=NOW, reading_zone=zone),
        lambda: parse_duration(text),
        lambda: parse_date(text),
    ):
        try:
            result = parse()
        except TimeParseError as error:
            assert str(error) and "\n" not in str(error)
        else:
            if isinstance(result, When):
                assert result.instant.tzinfo is UTC and result.instant >= NOW
