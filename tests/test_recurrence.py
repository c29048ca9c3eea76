"""Repeating meetings: the words people type, the RRULE we store, and the occurrences across DST changes."""

from __future__ import annotations

import time as timer
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscg_bot.domain.recurrence import (
    MAX_COUNT,
    MAX_INTERVAL,
    MAX_OCCURRENCES,
    Occurrence,
    OverrideSpec,
    RecurrenceError,
    Repeat,
    describe,
    first_start,
    from_rrule,
    month_end_notice,
    occurrence_on,
    occurrences,
    parse_repeat,
    series_end,
    to_rrule,
)

ZURICH = "Europe/Zurich"
HOUR = timedelta(hours=1)
EVER = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


def at(zone: str, *args: int) -> datetime:
    """An aware instant from a wall time in `zone` (for windows)."""
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def series(
    repeat: Repeat | str,
    start: datetime,
    *,
    zone: str = ZURICH,
    duration: timedelta = HOUR,
    overrides=(),
    window: tuple[datetime, datetime] = EVER,
    include_cancelled: bool = True,
) -> list[Occurrence]:
    """The occurrences of a series described the way a user would, anchored where the rule wants it."""
    repeat = parse_repeat(repeat) if isinstance(repeat, str) else repeat
    start = first_start(repeat, start)
    rule = to_rrule(repeat, zone=zone, start_local=start, duration=duration)
    return occurrences(
        zone=zone,
        start_local=start,
        duration=duration,
        rrule=rule,
        overrides=overrides,
        window_start=window[0],
        window_end=window[1],
        include_cancelled=include_cancelled,
    )


# --- parse_repeat and describe ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every day", Repeat("DAILY")),
        ("every 3 days", Repeat("DAILY", 3)),
        ("every 1 day", Repeat("DAILY")),
        ("daily", Repeat("DAILY")),
        ("every week", Repeat("WEEKLY")),
        ("Every Week", Repeat("WEEKLY")),
        ("every 2 weeks", Repeat("WEEKLY", 2)),
        ("weekly", Repeat("WEEKLY")),
        ("biweekly", Repeat("WEEKLY", 2)),
        ("Fortnightly", Repeat("WEEKLY", 2)),
        ("every tuesday", Repeat("WEEKLY", weekday=1)),
        ("every tue", Repeat("WEEKLY", weekday=1)),
        ("every Tues", Repeat("WEEKLY", weekday=1)),
        ("EVERY MONDAY", Repeat("WEEKLY", weekday=0)),
        ("every wed", Repeat("WEEKLY", weekday=2)),
        ("every thurs", Repeat("WEEKLY", weekday=3)),
        ("every fri", Repeat("WEEKLY", weekday=4)),
        ("every saturday", Repeat("WEEKLY", weekday=5)),
        ("every sun", Repeat("WEEKLY", weekday=6)),
        ("every month", Repeat("MONTHLY")),
        ("every 3 months", Repeat("MONTHLY", 3)),
        ("monthly", Repeat("MONTHLY")),
        ("every 52 weeks", Repeat("WEEKLY", 52)),
        ("every 2 weeks until 2027-06-30", Repeat("WEEKLY", 2, until=date(2027, 6, 30))),
        ("every tuesday times 10", Repeat("WEEKLY", weekday=1, count=10)),
        ("monthly TIMES 12", Repeat("MONTHLY", count=12)),
        ("  daily   Until  2026-12-24 ", Repeat("DAILY", until=date(2026, 12, 24))),
        ("weekly, until 2027-02-28", Repeat("WEEKLY", until=date(2027, 2, 28))),
        ("every day times 500", Repeat("DAILY", count=500)),
    ],
)
def test_parse_repeat_reads_every_form(text: str, expected: Repeat) -> None:
    assert parse_repeat(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Say how the meeting repeats"),
        ("every", "after every"),
        ("sometimes", "don't understand 'sometimes'"),
        ("every 3", "every 3 days, weeks or months"),
        ("every 0 days", "from 1 to 52"),
        ("every 53 weeks", "from 1 to 52"),
        ("every 99999999999999999999 months", "from 1 to 52"),
        ("every 3 fortnights", "not 'fortnights'"),
        ("every two weeks", "not 'two'"),
        ("every ２ weeks", "not '２'"),
        ("every 2 tuesdays", "not 'tuesdays'"),
        ("weekly on friday", "don't understand 'on'"),
        ("weekly until", "end date after until"),
        ("weekly times", "number of meetings after times"),
        ("weekly until 2027-02-30", "2027-02-30 is not a date in the calendar"),
        ("weekly until 30/06/2027", "YYYY-MM-DD"),
        ("weekly until 20270630", "YYYY-MM-DD"),
        ("weekly until 9999-06-30", "before the year 9999"),
        ("weekly times 0", "from 1 to 500"),
        ("weekly times 501", "from 1 to 500"),
        ("weekly times ten", "from 1 to 500"),
        ("weekly times ²", "from 1 to 500"),
        ("weekly until 2027-06-30 times 3", "one end only"),
        ("weekly times 3 times 4", "one end only"),
    ],
)
def test_parse_repeat_refuses_in_one_sentence(text: str, says: str) -> None:
    with pytest.raises(RecurrenceError) as refused:
        parse_repeat(text)
    message = str(refused.value)
    assert says in message
    assert message.endswith(".") and "\n" not in message


def test_a_repeat_is_always_valid() -> None:
    with pytest.raises(RecurrenceError, match="not both"):
        Repeat("WEEKLY", until=date(2027, 1, 1), count=3)
    with pytest.raises(RecurrenceError, match="weekly"):
        Repeat("DAILY", weekday=1)
    with pytest.raises(RecurrenceError):
        Repeat("YEARLY")  # type: ignore[arg-type]
    with pytest.raises(RecurrenceError):
        Repeat("WEEKLY", interval=MAX_INTERVAL + 1)
    with pytest.raises(RecurrenceError):
        Repeat("WEEKLY", count=MAX_COUNT + 1)


@pytest.mark.parametrize(
    ("repeat", "text"),
    [
        (Repeat("WEEKLY", 2, until=date(2027, 6, 30)), "every 2 weeks until 2027-06-30"),
        (Repeat("WEEKLY", weekday=1, count=10), "every Tuesday, 10 times"),
        (Repeat("WEEKLY", 2, weekday=4), "every 2 weeks on Friday"),
        (Repeat("DAILY"), "every day"),
        (Repeat("DAILY", 3, count=1), "every 3 days, 1 time"),
        (Repeat("WEEKLY"), "every week"),
        (Repeat("MONTHLY", 3), "every 3 months"),
    ],
)
def test_describe(repeat: Repeat, text: str) -> None:
    assert describe(repeat) == text


def test_what_describe_says_without_a_count_reads_back() -> None:
    for text in ["every 2 weeks until 2027-06-30", "every tuesday", "monthly until 2027-01-31", "biweekly"]:
        repeat = parse_repeat(text)
        assert parse_repeat(describe(repeat)) == repeat


# --- the stored rule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repeat", "zone", "start", "rule"),
    [
        (  # CEST at the end of June: 23:59:59+02:00
            parse_repeat("every 2 weeks until 2027-06-30"),
            ZURICH,
            datetime(2026, 12, 3, 14),
            "FREQ=WEEKLY;INTERVAL=2;UNTIL=20270630T215959Z",
        ),
        (
            Repeat("WEEKLY", 2, weekday=1, until=date(2027, 6, 30)),
            ZURICH,
            datetime(2026, 12, 8, 14),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270630T215959Z",
        ),
        (  # CET in January: 23:59:59+01:00
            parse_repeat("weekly until 2027-01-14"),
            ZURICH,
            datetime(2026, 12, 3, 14),
            "FREQ=WEEKLY;UNTIL=20270114T225959Z",
        ),
        (  # west of UTC the end of the local day is the next UTC day
            parse_repeat("every day until 2027-06-30"),
            "America/New_York",
            datetime(2027, 6, 1, 9),
            "FREQ=DAILY;UNTIL=20270701T035959Z",
        ),
        (
            parse_repeat("daily until 2027-06-30"),
            "Asia/Tokyo",
            datetime(2027, 6, 1, 9),
            "FREQ=DAILY;UNTIL=20270630T145959Z",
        ),
        (  # local midnight of 5 September 2027 does not exist in Santiago: the day ends at the jump
            parse_repeat("daily until 2027-09-04"),
            "America/Santiago",
            datetime(2027, 9, 1, 10),
            "FREQ=DAILY;UNTIL=20270905T035959Z",
        ),
        (
            parse_repeat("every tuesday times 10"),
            ZURICH,
            datetime(2026, 12, 8, 14),
            "FREQ=WEEKLY;BYDAY=TU;COUNT=10",
        ),
        (parse_repeat("every 3 months"), ZURICH, datetime(2026, 12, 3, 14), "FREQ=MONTHLY;INTERVAL=3"),
        (parse_repeat("daily"), "UTC", datetime(2026, 12, 3, 14), "FREQ=DAILY"),
    ],
)
def test_to_rrule_writes_utc_until_at_the_end_of_the_local_day(
    repeat: Repeat, zone: str, start: datetime, rule: str
) -> None:
    assert to_rrule(repeat, zone=zone, start_local=start, duration=HOUR) == rule
    assert from_rrule(rule, zone=zone) == repeat
    assert from_rrule(f"RRULE:{rule}", zone=zone) == repeat


@pytest.mark.parametrize(
    "zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Australia/Lord_Howe", ZURICH, "UTC"]
)
def test_until_is_the_last_second_of_the_until_day_there(zone: str) -> None:
    repeat = parse_repeat("weekly until 2027-03-28")
    rule = to_rrule(repeat, zone=zone, start_local=datetime(2027, 1, 3, 9), duration=HOUR)
    value = rule.split("UNTIL=")[1]
    assert value.endswith("Z")
    instant = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == datetime(2027, 3, 28, 23, 59, 59)
    assert (instant + timedelta(seconds=1)).astimezone(ZoneInfo(zone)).replace(tzinfo=None) == datetime(
        2027, 3, 29
    )


def test_to_rrule_refusals() -> None:
    with pytest.raises(RecurrenceError, match="2026-11-30 is before the first meeting on 2026-12-03"):
        to_rrule(
            parse_repeat("weekly until 2026-11-30"),
            zone=ZURICH,
            start_local=datetime(2026, 12, 3, 14),
            duration=HOUR,
        )
    with pytest.raises(ValueError, match="first_start"):  # 3 December 2026 is a Thursday
        to_rrule(
            parse_repeat("every tuesday"), zone=ZURICH, start_local=datetime(2026, 12, 3, 14), duration=HOUR
        )
    with pytest.raises(ValueError, match="naive"):
        to_rrule(parse_repeat("weekly"), zone=ZURICH, start_local=utc(2026, 12, 3, 14), duration=HOUR)
    with pytest.raises(ValueError, match="positive"):
        to_rrule(
            parse_repeat("weekly"), zone=ZURICH, start_local=datetime(2026, 12, 3, 14), duration=timedelta(0)
        )


@pytest.mark.parametrize(
    "rule",
    ["FREQ=YEARLY", "FREQ=WEEKLY;BYDAY=1TU", "FREQ=WEEKLY;BYDAY=TU,TH", "FREQ=MONTHLY;BYMONTHDAY=-1",
     "FREQ=DAILY;COUNT=x", "FREQ=DAILY;UNTIL=2027", "FREQ=DAILY;COUNT=3;UNTIL=20270101T000000Z",
     "FREQ=DAILY;FREQ=DAILY", "FREQ=DAILY;WKST=SU", "FREQ=DAILY;INTERVAL=0", "nonsense", ""],
)  # fmt: skip
def test_from_rrule_refuses_what_to_rrule_never_writes(rule: str) -> None:
    with pytest.raises(RecurrenceError):
        from_rrule(rule, zone=ZURICH)


def test_from_rrule_reads_until_as_a_local_date() -> None:
    assert from_rrule("FREQ=DAILY;UNTIL=20270630", zone=ZURICH).until == date(2027, 6, 30)
    assert from_rrule("FREQ=DAILY;UNTIL=20270630T230000Z", zone=ZURICH).until == date(2027, 7, 1)
    assert from_rrule("freq=daily;until=20270630t230000z", zone="America/New_York").until == date(2027, 6, 30)


# --- until and times -------------------------------------------------------------------------------------


def test_until_is_inclusive() -> None:
    found = series("every day until 2027-01-10", datetime(2027, 1, 1, 14))
    assert [o.local_start.date() for o in found] == [date(2027, 1, day) for day in range(1, 11)]
    end = series_end(
        parse_repeat("every day until 2027-01-10"),
        zone=ZURICH,
        start_local=datetime(2027, 1, 1, 14),
        duration=HOUR,
    )
    assert end == utc(2027, 1, 10, 14)


def test_until_keeps_a_late_meeting_on_that_day_even_when_it_is_the_next_day_in_utc() -> None:
    found = series(
        "weekly until 2027-01-29",
        datetime(2027, 1, 1, 23, 30),
        zone="America/Los_Angeles",
        duration=timedelta(minutes=90),
    )
    assert [o.local_start for o in found][-1] == datetime(2027, 1, 29, 23, 30)
    assert found[-1].start == utc(2027, 1, 30, 7, 30)
    assert len(found) == 5


def test_times_n_yields_exactly_n() -> None:
    for n in (1, 2, 10, MAX_COUNT):
        found = series(f"every day times {n}", datetime(2026, 12, 3, 14))
        assert len(found) == n
        assert found[-1].local_start == datetime(2026, 12, 3, 14) + timedelta(days=n - 1)
    end = series_end(
        parse_repeat("every tuesday times 10"),
        zone=ZURICH,
        start_local=datetime(2026, 12, 8, 14),
        duration=HOUR,
    )
    assert end == utc(2027, 2, 9, 14)  # the tenth Tuesday, 13:00Z + 1 h


def test_an_open_ended_series_has_no_end() -> None:
    assert (
        series_end(parse_repeat("weekly"), zone=ZURICH, start_local=datetime(2026, 12, 3, 14), duration=HOUR)
        is None
    )


# --- daylight saving -------------------------------------------------------------------------------------


def test_weekly_zurich_series_keeps_1400_local_across_both_european_changes() -> None:
    found = series("weekly until 2027-11-30", datetime(2026, 10, 1, 14))
    assert len(found) == 61
    assert {o.local_start.time() for o in found} == {time(14)}
    assert all(b.local_start - a.local_start == timedelta(days=7) for a, b in pairwise(found))

    def utc_hour(day: date) -> int:  # CET (UTC+1) from 25 Oct 2026 to 28 Mar 2027 and from 31 Oct 2027
        winter = date(2026, 10, 25) <= day < date(2027, 3, 28) or day >= date(2027, 10, 31)
        return 13 if winter else 12

    assert [o.start.hour for o in found] == [utc_hour(o.local_start.date()) for o in found]
    by_day = {o.local_start.date(): o.start for o in found}
    assert by_day[date(2026, 10, 22)] == utc(2026, 10, 22, 12)
    assert by_day[date(2026, 10, 29)] == utc(2026, 10, 29, 13)
    assert by_day[date(2027, 3, 25)] == utc(2027, 3, 25, 13)
    assert by_day[date(2027, 4, 1)] == utc(2027, 4, 1, 12)
    assert by_day[date(2027, 10, 28)] == utc(2027, 10, 28, 12)
    assert by_day[date(2027, 11, 4)] == utc(2027, 11, 4, 13)


def test_zurich_series_seen_from_new_york_moves_an_hour_while_only_one_side_has_changed() -> None:
    found = series("weekly until 2027-11-30", datetime(2026, 10, 1, 14))
    new_york = ZoneInfo("America/New_York")
    hours = {o.local_start.date(): o.start.astimezone(new_york).hour for o in found}
    # Europe changes on 25 Oct 2026, 28 Mar 2027, 31 Oct 2027; the US on 1 Nov 2026, 14 Mar 2027, 7 Nov 2027.
    one_side_changed = {date(2026, 10, 29), date(2027, 3, 18), date(2027, 3, 25), date(2027, 11, 4)}
    assert {day for day, hour in hours.items() if hour == 9} == one_side_changed
    assert {hour for day, hour in hours.items() if day not in one_side_changed} == {8}
    assert {o.local_start.time() for o in found} == {time(14)}


def test_a_wall_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    found = series("daily", datetime(2027, 3, 26, 2, 30), window=(utc(2027, 3, 26), utc(2027, 3, 30)))
    assert [(o.original_local, o.local_start, o.start) for o in found] == [
        (datetime(2027, 3, 26, 2, 30), datetime(2027, 3, 26, 2, 30), utc(2027, 3, 26, 1, 30)),
        (datetime(2027, 3, 27, 2, 30), datetime(2027, 3, 27, 2, 30), utc(2027, 3, 27, 1, 30)),
        (datetime(2027, 3, 28, 2, 30), datetime(2027, 3, 28, 3, 30), utc(2027, 3, 28, 1, 30)),  # 03:30 CEST
        (datetime(2027, 3, 29, 2, 30), datetime(2027, 3, 29, 2, 30), utc(2027, 3, 29, 0, 30)),
    ]
    assert [o.end - o.start for o in found] == [HOUR] * 4


def test_a_doubled_wall_time_in_the_autumn_takes_the_first_one() -> None:
    found = series("daily", datetime(2026, 10, 23, 2, 30), window=(utc(2026, 10, 24), utc(2026, 10, 27)))
    assert [(o.local_start, o.start) for o in found] == [
        (datetime(2026, 10, 24, 2, 30), utc(2026, 10, 24, 0, 30)),
        (datetime(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)),  # 02:30 CEST, not the later 02:30 CET
        (datetime(2026, 10, 26, 2, 30), utc(2026, 10, 26, 1, 30)),
    ]
    assert found[1].start.astimezone(ZoneInfo(ZURICH)).utcoffset() == timedelta(hours=2)


# --- the kinds of series ---------------------------------------------------------------------------------


def test_every_tuesday_starts_on_the_first_tuesday() -> None:
    thursday = datetime(2026, 12, 3, 14)
    repeat = parse_repeat("every tuesday")
    assert first_start(repeat, thursday) == datetime(2026, 12, 8, 14)
    assert first_start(repeat, datetime(2026, 12, 8, 14)) == datetime(2026, 12, 8, 14)
    assert first_start(parse_repeat("weekly"), thursday) == thursday
    found = series(repeat, thursday, window=(utc(2026, 12, 1), utc(2027, 1, 1)))
    assert [o.local_start for o in found] == [datetime(2026, 12, day, 14) for day in (8, 15, 22, 29)]
    # A caller that stored the Thursday anyway still gets Tuesdays only.
    unsynchronized = occurrences(
        zone=ZURICH, start_local=thursday, duration=HOUR, rrule="FREQ=WEEKLY;BYDAY=TU",
        window_start=utc(2026, 12, 1), window_end=utc(2027, 1, 1),
    )  # fmt: skip
    assert unsynchronized == found


def test_every_month_on_the_31st_skips_months_without_one() -> None:
    start = datetime(2027, 1, 31, 10)
    found = series("monthly times 6", start)
    assert [o.local_start.date() for o in found] == [
        date(2027, 1, 31), date(2027, 3, 31), date(2027, 5, 31),
        date(2027, 7, 31), date(2027, 8, 31), date(2027, 10, 31),
    ]  # fmt: skip
    assert month_end_notice(parse_repeat("monthly"), start) == "Months without a 31st day are skipped."
    assert (
        month_end_notice(parse_repeat("monthly"), datetime(2027, 1, 29))
        == "Months without a 29th day are skipped."
    )
    assert month_end_notice(parse_repeat("monthly"), datetime(2027, 1, 28)) is None
    assert month_end_notice(parse_repeat("weekly"), start) is None
    # The last one before an until date in a month without a 31st is the previous month's.
    end = series_end(parse_repeat("monthly until 2027-04-15"), zone=ZURICH, start_local=start, duration=HOUR)
    assert end == utc(2027, 3, 31, 9)


def test_a_yearly_29_february_ends_on_the_last_leap_year_before_until() -> None:
    repeat = parse_repeat("every 12 months until 2035-12-31")
    start = datetime(2028, 2, 29, 10)
    assert [o.local_start.year for o in series(repeat, start)] == [2028, 2032]
    assert series_end(repeat, zone=ZURICH, start_local=start, duration=HOUR) == utc(2032, 2, 29, 10)


def test_every_2_weeks_meets_every_other_week() -> None:
    found = series("every 2 weeks", datetime(2026, 12, 3, 14), window=(utc(2026, 12, 1), utc(2027, 2, 1)))
    assert [o.local_start.date() for o in found] == [
        date(2026, 12, 3), date(2026, 12, 17), date(2026, 12, 31), date(2027, 1, 14), date(2027, 1, 28),
    ]  # fmt: skip
    later = series("every 2 weeks", datetime(2026, 12, 3, 14), window=(utc(2029, 1, 1), utc(2029, 1, 15)))
    assert [o.local_start for o in later] == [datetime(2029, 1, 11, 14)]  # 110 weeks after the start


def test_a_one_off_meeting_has_exactly_one_occurrence() -> None:
    start = datetime(2026, 12, 3, 14)

    def one_off(window: tuple[datetime, datetime], overrides=()) -> list[Occurrence]:
        return occurrences(
            zone=ZURICH, start_local=start, duration=timedelta(minutes=90), rrule=None, overrides=overrides,
            window_start=window[0], window_end=window[1],
        )  # fmt: skip

    assert one_off(EVER) == [
        Occurrence(start, utc(2026, 12, 3, 13), utc(2026, 12, 3, 14, 30), start, cancelled=False, moved=False)
    ]
    assert one_off((utc(2026, 12, 3, 14, 29), utc(2026, 12, 3, 15))) != []  # overlaps the end
    assert one_off((utc(2026, 12, 3, 14, 30), utc(2026, 12, 3, 15))) == []  # [start, end) is half-open
    assert one_off((utc(2026, 12, 3, 12), utc(2026, 12, 3, 13))) == []
    cancelled = one_off(EVER, [OverrideSpec(start, cancelled=True, reason="Chair unavailable")])
    assert [(o.cancelled, o.reason) for o in cancelled] == [(True, "Chair unavailable")]


# --- overrides -------------------------------------------------------------------------------------------

WEEKLY_FROM = datetime(2026, 12, 3, 14)  # Thursdays, 14:00 Europe/Zurich (13:00Z in winter)
DECEMBER = (at(ZURICH, 2026, 12, 1), at(ZURICH, 2027, 1, 1))


def test_a_moved_occurrence_appears_at_its_new_time_only() -> None:
    move = OverrideSpec(datetime(2026, 12, 17, 14), start_local=datetime(2026, 12, 18, 9, 30))
    found = series("weekly", WEEKLY_FROM, overrides=[move], window=DECEMBER)
    assert [(o.local_start, o.moved) for o in found] == [
        (datetime(2026, 12, 3, 14), False),
        (datetime(2026, 12, 10, 14), False),
        (datetime(2026, 12, 18, 9, 30), True),
        (datetime(2026, 12, 24, 14), False),
        (datetime(2026, 12, 31, 14), False),
    ]
    moved = found[2]
    assert moved.original_local == datetime(2026, 12, 17, 14)
    assert (moved.start, moved.end) == (utc(2026, 12, 18, 8, 30), utc(2026, 12, 18, 9, 30))
    # The window counts the new time: nothing on the 17th any more, the meeting is on the 18th.
    assert (
        series(
            "weekly",
            WEEKLY_FROM,
            overrides=[move],
            window=(at(ZURICH, 2026, 12, 17), at(ZURICH, 2026, 12, 18)),
        )
        == []
    )
    on_18th = series(
        "weekly", WEEKLY_FROM, overrides=[move], window=(at(ZURICH, 2026, 12, 18), at(ZURICH, 2026, 12, 19))
    )
    assert on_18th == [moved]


def test_an_occurrence_moved_from_far_away_counts_in_the_window_of_its_new_time() -> None:
    move = OverrideSpec(datetime(2027, 6, 3, 14), start_local=datetime(2026, 12, 21, 16))
    found = series(
        "weekly", WEEKLY_FROM, overrides=[move], window=(at(ZURICH, 2026, 12, 21), at(ZURICH, 2026, 12, 22))
    )
    assert [(o.original_local, o.local_start) for o in found] == [
        (datetime(2027, 6, 3, 14), datetime(2026, 12, 21, 16))
    ]
    june = series(
        "weekly", WEEKLY_FROM, overrides=[move], window=(at(ZURICH, 2027, 6, 1), at(ZURICH, 2027, 6, 8))
    )
    assert june == []


def test_a_longer_occurrence_is_moved_and_ends_later() -> None:
    longer = OverrideSpec(datetime(2026, 12, 10, 14), duration_minutes=150)
    found = series("weekly", WEEKLY_FROM, overrides=[longer], window=DECEMBER)
    assert [(o.moved, o.end - o.start) for o in found[:3]] == [
        (False, HOUR),
        (True, timedelta(minutes=150)),
        (False, HOUR),
    ]


def test_cancelled_occurrences_are_flagged_or_left_out() -> None:
    cancel = OverrideSpec(datetime(2026, 12, 24, 14), cancelled=True, reason="Christmas Eve")
    found = series("weekly", WEEKLY_FROM, overrides=[cancel], window=DECEMBER)
    assert [(o.local_start.day, o.cancelled, o.moved, o.reason) for o in found] == [
        (3, False, False, None), (10, False, False, None), (17, False, False, None),
        (24, True, False, "Christmas Eve"), (31, False, False, None),
    ]  # fmt: skip
    kept = series("weekly", WEEKLY_FROM, overrides=[cancel], window=DECEMBER, include_cancelled=False)
    assert [o.local_start.day for o in kept] == [3, 10, 17, 31]


def test_overrides_that_match_no_occurrence_are_ignored_and_the_last_one_wins() -> None:
    stale = OverrideSpec(datetime(2026, 12, 17, 15), cancelled=True)  # the series meets at 14:00
    twice = [
        OverrideSpec(datetime(2026, 12, 10, 14), cancelled=True),
        OverrideSpec(datetime(2026, 12, 10, 14), start_local=datetime(2026, 12, 11, 14)),
    ]
    found = series("weekly", WEEKLY_FROM, overrides=[stale, *twice], window=DECEMBER)
    assert [(o.local_start.day, o.cancelled) for o in found] == [
        (3, False),
        (11, False),
        (17, False),
        (24, False),
        (31, False),
    ]


def test_an_override_before_until_moved_after_it_stays() -> None:
    move = OverrideSpec(datetime(2026, 12, 31, 14), start_local=datetime(2027, 1, 5, 14))
    found = series("weekly until 2026-12-31", WEEKLY_FROM, overrides=[move])
    assert [o.local_start.date() for o in found][-2:] == [date(2026, 12, 24), date(2027, 1, 5)]


# --- far windows and limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily", [datetime(2031, 12, day, 14) for day in range(1, 8)]),
        ("every 3 days", [datetime(2031, 12, day, 14) for day in (1, 4, 7)]),  # 1824 days after the start
        ("every tuesday", [datetime(2031, 12, 2, 14)]),
        ("every 2 weeks", []),  # 4 December 2031 is 261 weeks after the start
        ("every 3 weeks", [datetime(2031, 12, 4, 14)]),
        ("every 52 weeks", []),
        ("monthly", [datetime(2031, 12, 3, 14)]),
        ("every 5 months", [datetime(2031, 12, 3, 14)]),
        ("every 7 months", []),
        ("monthly until 2040-01-01", [datetime(2031, 12, 3, 14)]),
        ("monthly times 12", []),
    ],
)
def test_a_window_five_years_later_is_quick_and_right(text: str, expected: list[datetime]) -> None:
    began = timer.perf_counter()
    found = series(text, WEEKLY_FROM, window=(at(ZURICH, 2031, 12, 1), at(ZURICH, 2031, 12, 8)))
    elapsed = timer.perf_counter() - began
    assert [o.local_start for o in found] == expected
    assert {o.start.hour for o in found} <= {13}  # CET
    assert elapsed < 0.2


def test_a_window_holding_too_many_occurrences_is_refused() -> None:
    with pytest.raises(RecurrenceError, match=f"more than {MAX_OCCURRENCES}"):
        series("daily", WEEKLY_FROM, window=(utc(2027, 1, 1), utc(2037, 1, 1)))
    assert len(series("daily", WEEKLY_FROM, window=(utc(2027, 1, 1), utc(2031, 1, 1)))) == 1461


def test_windows_at_the_ends_of_time_do_not_overflow() -> None:
    far = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
    assert len(series("weekly times 3", WEEKLY_FROM, zone="Pacific/Kiritimati", window=far)) == 3
    assert len(series("weekly times 3", WEEKLY_FROM, zone="Pacific/Pago_Pago", window=far)) == 3


def test_naive_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        occurrences(zone=ZURICH, start_local=WEEKLY_FROM, duration=HOUR, rrule=None,
                    window_start=datetime(2026, 1, 1), window_end=datetime(2027, 1, 1))  # fmt: skip


# --- occurrence_on ---------------------------------------------------------------------------------------


def test_occurrence_on_finds_the_occurrence_by_its_original_date() -> None:
    rule = to_rrule(
        parse_repeat("weekly until 2027-03-31"), zone=ZURICH, start_local=WEEKLY_FROM, duration=HOUR
    )
    move = OverrideSpec(datetime(2026, 12, 17, 14), start_local=datetime(2026, 12, 18, 9))

    def on(day: date, rrule: str | None = rule) -> Occurrence | None:
        return occurrence_on(
            zone=ZURICH, start_local=WEEKLY_FROM, duration=HOUR, rrule=rrule, overrides=[move], day=day
        )

    found = on(date(2026, 12, 10))
    assert found is not None and (found.local_start, found.start, found.moved) == (
        datetime(2026, 12, 10, 14),
        utc(2026, 12, 10, 13),
        False,
    )
    moved = on(date(2026, 12, 17))
    assert moved is not None and (moved.original_local, moved.local_start, moved.moved) == (
        datetime(2026, 12, 17, 14), datetime(2026, 12, 18, 9), True,
    )  # fmt: skip
    assert on(date(2026, 12, 18)) is None  # the moved one is found by its original date only
    assert on(date(2026, 12, 11)) is None  # a Friday
    assert on(date(2026, 11, 26)) is None  # before the series
    assert on(date(2027, 3, 25)) is not None
    assert on(date(2027, 4, 1)) is None  # after until
    assert on(date(2036, 12, 4), rrule="FREQ=WEEKLY") is not None  # far away, open-ended
    assert on(date(2026, 12, 3), rrule=None) is not None  # a one-off meeting
    assert on(date(2026, 12, 10), rrule=None) is None


# --- properties ------------------------------------------------------------------------------------------

ZONES = sorted(available_timezones())


@st.composite
def repeats(draw: st.DrawFn) -> Repeat:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
    interval = draw(st.integers(1, MAX_INTERVAL) | st.integers(1, 3))
    weekday = draw(st.none() | st.integers(0, 6)) if freq == "WEEKLY" else None
    end = draw(st.sampled_from(["open", "until", "count"]))
    until = draw(st.dates(date(1970, 1, 1), date(2080, 12, 31))) if end == "until" else None
    count = draw(st.integers(1, MAX_COUNT)) if end == "count" else None
    return Repeat(freq, interval, weekday, until, count)


def reference_walls(repeat: Repeat, anchor: datetime, last: datetime) -> list[datetime]:
    """The series' wall times up to `last`, by plain date arithmetic: independent of dateutil."""
    walls: list[datetime] = []
    k = 0
    while repeat.count is None or len(walls) < repeat.count:
        if repeat.freq == "MONTHLY":
            month = anchor.year * 12 + anchor.month - 1 + k * repeat.interval
            try:
                wall = anchor.replace(year=month // 12, month=month % 12 + 1)
            except ValueError:  # no such day that month
                k += 1
                continue
        else:
            wall = anchor + timedelta(days=k * repeat.interval * (7 if repeat.freq == "WEEKLY" else 1))
        if wall > last or (repeat.until is not None and wall.date() > repeat.until):
            break
        walls.append(wall)
        k += 1
    return walls


def exists(wall: datetime, tz: ZoneInfo) -> bool:
    return wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


@settings(max_examples=300, deadline=None)
@given(
    repeat=repeats(),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(datetime(1970, 1, 1), datetime(2060, 12, 31)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    minutes=st.integers(1, 24 * 60),
    window_days=st.integers(-400, 365 * 15),
    window_length=st.integers(0, 60 * 24 * 90),
)
def test_occurrences_keep_the_wall_time_and_match_a_plain_expansion(
    repeat: Repeat, zone: str, start: datetime, minutes: int, window_days: int, window_length: int
) -> None:
    tz = ZoneInfo(zone)
    duration = timedelta(minutes=minutes)
    anchor = first_start(repeat, start)
    if repeat.until is not None and repeat.until < anchor.date():
        with pytest.raises(RecurrenceError):
            to_rrule(repeat, zone=zone, start_local=anchor, duration=duration)
        return
    rule = to_rrule(repeat, zone=zone, start_local=anchor, duration=duration)
    assert from_rrule(rule, zone=zone) == repeat
    window_start = (anchor + timedelta(days=window_days)).replace(tzinfo=UTC)
    window_end = window_start + timedelta(minutes=window_length)

    found = occurrences(
        zone=zone, start_local=anchor, duration=duration, rrule=rule,
        window_start=window_start, window_end=window_end,
    )  # fmt: skip

    assert [o.start for o in found] == sorted(o.start for o in found)
    for o in found:
        assert o.start < o.end == o.start + duration
        assert o.start < window_end and o.end > window_start
        assert o.start.tzinfo is UTC and o.local_start.tzinfo is None and not (o.cancelled or o.moved)
        assert o.original_local.time() == anchor.time()
        assert o.start.astimezone(tz).replace(tzinfo=None) == o.local_start
        if exists(o.original_local, tz):
            assert o.local_start == o.original_local
        else:  # in a gap: forward by the gap's size
            before = o.original_local.replace(tzinfo=tz, fold=0).utcoffset()
            after = o.original_local.replace(tzinfo=tz, fold=1).utcoffset()
            assert before is not None and after is not None
            assert o.local_start - o.original_local == after - before > timedelta(0)
    # The same occurrences as a plain expansion from the first one (no skipping ahead).
    last = window_end.astimezone(tz).replace(tzinfo=None) + timedelta(days=2)
    expected = []
    for wall in reference_walls(repeat, anchor, last):
        start_utc = wall.replace(tzinfo=tz).astimezone(UTC)
        if start_utc < window_end and start_utc + duration > window_start:
            expected.append(wall)
    assert [o.original_local for o in found] == expected

    end = series_end(repeat, zone=zone, start_local=anchor, duration=duration)
    if repeat.until is None and repeat.count is None:
        assert end is None
    else:
        every = reference_walls(repeat, anchor, datetime(9000, 1, 1))
        assert end == every[-1].replace(tzinfo=tz).astimezone(UTC) + duration
        if repeat.count is not None:
            assert len(every) == repeat.count


PIECES = ["every", "Every", "until", "times", "day", "days", "weeks", "month", "tue", "Tuesday", "biweekly",
          "2027-06-30", "2027-02-30", "0", "3", "52", "500", "501", ",", " ", "²", "-", "\n"]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=5), max_size=8).map(" ".join))
def test_parse_repeat_answers_anything_with_a_repeat_or_one_sentence(text: str) -> None:
    try:
        repeat = parse_repeat(text)
    except RecurrenceError as refused:
        assert str(refused).endswith(".") and "\n" not in str(refused)
    else:
        assert isinstance(repeat, Repeat)
