"""The feeds' arithmetic test of a series' occurrence agrees with the domain's expansion (dateutil)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from iscg_bot.calendar.feed_series import series_occurrence
from iscg_bot.domain.recurrence import Repeat, first_start, occurrence_on, to_rrule

ZONES = ("Europe/Zurich", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
HOUR = timedelta(hours=1)


@st.composite
def series(draw: st.DrawFn) -> tuple[str, datetime, str]:
    zone = draw(st.sampled_from(ZONES))
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
    start = datetime(2026, 1, 1) + timedelta(
        days=draw(st.integers(0, 800)), minutes=15 * draw(st.integers(0, 95))
    )
    start = start.replace(fold=draw(st.integers(0, 1)))
    weekday = draw(st.none() | st.integers(0, 6)) if freq == "WEEKLY" else None
    end = draw(st.sampled_from(["count", "until", "open"]))
    repeat = Repeat(
        freq,
        interval=draw(st.integers(1, 4)),
        weekday=weekday,
        count=draw(st.integers(1, 40)) if end == "count" else None,
        until=start.date() + timedelta(days=draw(st.integers(10, 900))) if end == "until" else None,
    )
    start = first_start(repeat, start)
    return zone, start, to_rrule(repeat, zone=zone, start_local=start, duration=HOUR)


def by_expansion(zone: str, start: datetime, rrule: str, wall: datetime) -> datetime | None:
    found = occurrence_on(zone=zone, start_local=start, duration=HOUR, rrule=rrule, day=wall.date())
    return found.original_local if found is not None and found.original_local == wall else None


def walls_near(start: datetime) -> st.SearchStrategy[datetime]:
    """Wall times around a series: any day, and the k-th day, week or month after its start (where its
    occurrences are, and where COUNT and UNTIL end them); some at another time of day."""
    days = st.integers(-10, 1200).map(lambda n: start + timedelta(days=n))
    weeks = st.integers(0, 120).map(lambda n: start + timedelta(weeks=n))
    months = st.integers(0, 60).map(lambda n: _months_after(start, n)).filter(lambda wall: wall is not None)
    shift = st.sampled_from([timedelta(0), timedelta(0), timedelta(0), HOUR, -timedelta(minutes=15)])
    return st.builds(lambda wall, by: (wall + by).replace(fold=0), days | weeks | months, shift)  # no pass


def _months_after(start: datetime, n: int) -> datetime | None:
    month = start.year * 12 + start.month - 1 + n
    try:
        return start.replace(year=month // 12, month=month % 12 + 1)
    except ValueError:  # no such day in that month
        return None


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_the_arithmetic_agrees_with_the_expansion(data: st.DataObject) -> None:
    zone, start, rrule = data.draw(series())
    wall = data.draw(walls_near(start))
    expected = by_expansion(zone, start, rrule, wall)
    found = series_occurrence(zone=zone, start_local=start, rrule=rrule, wall=wall)
    assert found == expected
    if expected is not None:
        assert found is not None and found.fold == expected.fold  # the series' pass, which equality ignores


def test_a_monthly_series_on_the_31st_skips_the_short_months():
    start = datetime(2027, 1, 31, 9, 0)
    rrule = to_rrule(Repeat("MONTHLY", count=4), zone="Europe/Zurich", start_local=start, duration=HOUR)
    found = [
        day
        for day in (
            date(2027, 1, 31),
            date(2027, 3, 31),
            date(2027, 5, 31),
            date(2027, 7, 31),
            date(2027, 8, 31),
        )
        if series_occurrence(
            zone="Europe/Zurich", start_local=start, rrule=rrule, wall=datetime.combine(day, start.time())
        )
    ]
    assert found == [date(2027, 1, 31), date(2027, 3, 31), date(2027, 5, 31), date(2027, 7, 31)]  # 4 times
