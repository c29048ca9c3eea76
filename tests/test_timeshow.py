"""How the bot shows a time: the meeting's zone with its offset, then UTC, then the readers' zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from iscg_bot.core.timeshow import format_offset, moment, offset_label, span, zone_label


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_product_example_exactly() -> None:
    start = utc(2026, 12, 3, 13, 0)
    assert span(start, start + timedelta(minutes=90), "Europe/Zurich", extra_zones=["Asia/Tokyo"]) == (
        "Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC · 22:00–23:30 Asia/Tokyo"
    )


def test_another_zone_on_another_date_shows_its_date() -> None:
    start = utc(2026, 12, 3, 17, 0)  # 18:00 in Zurich, 06:00 the next morning in Auckland (summer there)
    assert span(start, start + timedelta(minutes=90), "Europe/Zurich", extra_zones=["Pacific/Auckland"]) == (
        "Thu 3 Dec 2026 18:00–19:30 Europe/Zurich (UTC+01:00) · 17:00–18:30 UTC"
        " · Fri 4 Dec 06:00–07:30 Pacific/Auckland"
    )


def test_an_end_on_another_day_shows_that_day() -> None:
    start = utc(2026, 12, 31, 22, 30)
    assert span(start, start + timedelta(hours=1), "Europe/Zurich", extra_zones=["America/New_York"]) == (
        "Thu 31 Dec 2026 23:30–Fri 1 Jan 2027 00:30 Europe/Zurich (UTC+01:00)"
        " · 22:30–23:30 UTC · 17:30–18:30 America/New_York"
    )
    start = utc(2026, 12, 3, 22, 30)
    assert span(start, start + timedelta(hours=2), "UTC", extra_zones=["Asia/Tokyo"]) == (
        "Thu 3 Dec 2026 22:30–Fri 4 Dec 00:30 UTC · Fri 4 Dec 07:30–09:30 Asia/Tokyo"
    )


def test_extra_zones_are_sorted_by_offset_deduplicated_and_skip_the_meeting_zone_and_utc() -> None:
    start = utc(2026, 12, 3, 13, 0)
    extras = [
        "Asia/Tokyo",
        "America/St_Johns",
        "Asia/Kolkata",
        "UTC",
        "Etc/UTC",
        "Europe/Zurich",
        "Asia/Tokyo",
    ]
    assert span(start, start + timedelta(hours=1), "Europe/Zurich", extra_zones=extras) == (
        "Thu 3 Dec 2026 14:00–15:00 Europe/Zurich (UTC+01:00) · 13:00–14:00 UTC"
        " · 09:30–10:30 America/St_Johns · 18:30–19:30 Asia/Kolkata · 22:00–23:00 Asia/Tokyo"
    )


def test_negative_and_half_hour_offsets() -> None:
    start = utc(2026, 12, 3, 13, 0)
    assert moment(start, "America/St_Johns") == "Thu 3 Dec 2026 09:30 America/St_Johns (UTC-03:30)"
    assert moment(start, "Asia/Kathmandu") == "Thu 3 Dec 2026 18:45 Asia/Kathmandu (UTC+05:45)"
    assert moment(start, "America/Caracas") == "Thu 3 Dec 2026 09:00 America/Caracas (UTC-04:00)"
    assert offset_label(start, "America/St_Johns") == "UTC-03:30"
    assert offset_label(start, "Asia/Kolkata") == "UTC+05:30"
    assert span(start, start + timedelta(minutes=45), "Asia/Kolkata", extra_zones=["America/St_Johns"]) == (
        "Thu 3 Dec 2026 18:30–19:15 Asia/Kolkata (UTC+05:30) · 13:00–13:45 UTC · 09:30–10:15 America/St_Johns"
    )


def test_daylight_saving_offsets_in_summer_and_in_winter() -> None:
    summer, winter = utc(2026, 7, 2, 12, 0), utc(2026, 12, 3, 13, 0)
    assert moment(summer, "Europe/Zurich") == "Thu 2 Jul 2026 14:00 Europe/Zurich (UTC+02:00)"
    assert moment(winter, "Europe/Zurich") == "Thu 3 Dec 2026 14:00 Europe/Zurich (UTC+01:00)"
    assert moment(summer, "America/New_York") == "Thu 2 Jul 2026 08:00 America/New_York (UTC-04:00)"
    assert moment(winter, "America/New_York") == "Thu 3 Dec 2026 08:00 America/New_York (UTC-05:00)"
    # the southern hemisphere the other way round
    assert offset_label(summer, "Australia/Sydney") == "UTC+10:00"
    assert offset_label(winter, "Australia/Sydney") == "UTC+11:00"


def test_a_meeting_across_a_daylight_saving_change_shows_both_offsets() -> None:
    start = utc(2026, 10, 25, 0, 0)  # 02:00 CEST; clocks go back at 03:00 CEST, so the end is 02:00 CET
    assert span(start, start + timedelta(hours=1), "Europe/Zurich") == (
        "Sun 25 Oct 2026 02:00–02:00 Europe/Zurich (UTC+02:00 → UTC+01:00) · 00:00–01:00 UTC"
    )


def test_utc_and_fixed_offsets_are_shown_as_offsets() -> None:
    start = utc(2026, 12, 3, 13, 0)
    assert offset_label(start, "UTC") == "UTC+00:00"
    assert moment(start, "UTC") == "Thu 3 Dec 2026 13:00 UTC"
    assert zone_label("Etc/GMT-3") == "UTC+03:00"  # POSIX sign: three hours ahead
    assert zone_label("Etc/GMT+5") == "UTC-05:00"
    assert span(start, start + timedelta(hours=1), "Etc/GMT-3") == (
        "Thu 3 Dec 2026 16:00–17:00 UTC+03:00 · 13:00–14:00 UTC"
    )
    assert format_offset(timedelta(seconds=-(3600 + 24 * 60 + 21))) == "UTC-01:24:21"  # LMT offsets


def test_any_aware_datetime_is_accepted_and_naive_ones_are_refused() -> None:
    start = datetime(2026, 12, 3, 14, 0, tzinfo=timezone(timedelta(hours=1)))
    assert moment(start, "Asia/Tokyo") == "Thu 3 Dec 2026 22:00 Asia/Tokyo (UTC+09:00)"
    with pytest.raises(ValueError, match="naive"):
        moment(datetime(2026, 12, 3, 14, 0), "Europe/Zurich")
    with pytest.raises(ValueError, match="naive"):
        span(start, datetime(2026, 12, 3, 15, 0), "Europe/Zurich")
    with pytest.raises(ValueError, match="naive"):
        offset_label(datetime(2026, 12, 3, 14, 0), "UTC")
    with pytest.raises(ValueError, match="end before"):
        span(start, start - timedelta(minutes=1), "Europe/Zurich")
