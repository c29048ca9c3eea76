"""The daylight-saving sweep: every zone zoneinfo knows, through each of its offset changes in 2026 and 2027.

For a day with a change, every whole and half hour of the local day (and the middle of the gap or overlap) is
typed as `2026-03-29 02:30 <zone>`: a time in the gap must be refused naming both readings, a time in the
overlap likewise, every other time must read back as the same wall time. A zone without a change reads every
hour of 1 July 2026 back. Names `parse_when` does not take (legacy links such as `Japan` or `EST5EDT`) go
through `from_local`, and typing them must be refused cleanly or read as that zone.

The changes are found here independently of timeparse: the zone's UTC offset sampled at every UTC midnight,
then bisected to the second (no zone changes its offset twice within a day). `pytest -s` prints the counts.
"""

from __future__ import annotations

import time as clock
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from iscg_bot.domain.timeparse import TimeParseError, from_local, iana_zone_names, local_reading, parse_when

SWEEP_FROM = datetime(2026, 1, 1, tzinfo=UTC)
SWEEP_TO = datetime(2028, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 12, 1, tzinfo=UTC)
QUIET_DAY = date(2026, 7, 1)
DAY = timedelta(days=1)


@dataclass
class Sweep:
    zones: int = 0
    by_name: int = 0  # typed as `… <zone>` to parse_when
    by_wall_time: int = 0  # names parse_when refuses: through from_local
    names_refused: int = 0  # of those, typed names refused (with a TimeParseError)
    with_changes: int = 0
    changes: int = 0
    gap_times_refused: int = 0
    doubled_times_refused: int = 0
    round_tripped: int = 0
    seconds: float = 0.0
    zones_with_changes: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    at: datetime  # the instant, UTC
    before: timedelta  # the offset until then
    after: timedelta

    def wall(self, offset: timedelta) -> datetime:
        return self.at.replace(tzinfo=None) + offset

    @property
    def skipped(self) -> tuple[datetime, datetime] | None:
        """[start, end) of the local times that do not exist, when clocks jump forward."""
        return (self.wall(self.before), self.wall(self.after)) if self.after > self.before else None

    @property
    def doubled(self) -> tuple[datetime, datetime] | None:
        """[start, end) of the local times that happen twice, when clocks go back."""
        return (self.wall(self.after), self.wall(self.before)) if self.after < self.before else None


def offset_at(zone: zoneinfo.ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta()


def changes(zone: zoneinfo.ZoneInfo) -> list[Change]:
    found = []
    day, offset = SWEEP_FROM, offset_at(zone, SWEEP_FROM)
    while day < SWEEP_TO:
        next_offset = offset_at(zone, day + DAY)
        if next_offset != offset:
            low, high = day, day + DAY
            while high - low > timedelta(seconds=1):
                middle = low + timedelta(seconds=int((high - low).total_seconds()) // 2)
                low, high = (low, middle) if offset_at(zone, middle) == next_offset else (middle, high)
            found.append(Change(high, offset, next_offset))
        day, offset = day + DAY, next_offset
    return found


def label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    return f"UTC{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def shown(moment: datetime, day: datetime) -> str:
    """How the refusal names a time: HH:MM, with the date when it is not the typed day."""
    hhmm = f"{moment:%H:%M}"
    return hhmm if moment.date() == day.date() else f"{moment:%Y-%m-%d} {hhmm}"


def within(span: tuple[datetime, datetime] | None, wall: datetime) -> bool:
    return span is not None and span[0] <= wall < span[1]


class ZoneSweep:
    def __init__(self, name: str, totals: Sweep) -> None:
        self.name, self.totals = name, totals
        self.zone = zoneinfo.ZoneInfo(name)
        self.by_name = name.lower() in iana_zone_names()

    def fail(self, wall: datetime, problem: str) -> None:
        self.totals.failures.append(f"{wall:%Y-%m-%d %H:%M} {self.name}: {problem}")

    def read(self, wall: datetime) -> datetime:
        """The instant of a wall time, typed with the zone's name when parse_when takes it."""
        if not self.by_name:
            return from_local(wall, self.name)
        read = parse_when(f"{wall:%Y-%m-%d %H:%M} {self.name}", now=NOW, reading_zone="UTC")
        if read.zone != self.name:
            self.fail(wall, f"read as zone {read.zone}")
        return read.instant

    def round_trip(self, wall: datetime) -> None:
        try:
            instant = self.read(wall)
        except TimeParseError as error:
            self.fail(wall, f"refused: {error}")
            return
        if local_reading(instant, self.name) != wall:
            self.fail(wall, f"read back as {local_reading(instant, self.name)}")
        else:
            self.totals.round_tripped += 1

    def refused(self, wall: datetime, says: list[str]) -> bool:
        try:
            instant = self.read(wall)
        except TimeParseError as error:
            missing = [s for s in says if s not in str(error)]
            if missing:
                self.fail(wall, f"refusal {str(error)!r} lacks {missing}")
            return not missing
        self.fail(wall, f"accepted as {instant.isoformat()}")
        return False

    def check_change_day(self, change: Change, day: date) -> None:
        walls = [datetime.combine(day, time(hour, minute)) for hour in range(24) for minute in (0, 30)]
        for span in (change.skipped, change.doubled):  # the middle too, in case no half hour falls inside
            if span and span[0].date() == day:
                walls.append(span[0] + (span[1] - span[0]) / 2)
        for wall in sorted(set(walls)):
            if within(change.skipped, wall):
                jump = change.after - change.before
                says = [
                    f"does not exist in {self.name}",
                    f"{shown(wall - jump, wall)} ({label(change.before)})",
                    f"{shown(wall + jump, wall)} ({label(change.after)})",
                ]
                self.totals.gap_times_refused += self.refused(wall, says)
            elif within(change.doubled, wall):
                says = [f"happens twice in {self.name}"] + [
                    f"{label(offset)} ({shown(wall - offset, wall)} UTC)"
                    for offset in (change.before, change.after)
                ]
                self.totals.doubled_times_refused += self.refused(wall, says)
            else:
                self.round_trip(wall)

    def sweep(self) -> None:
        found = changes(self.zone)
        for change in found:
            for day in sorted({change.wall(change.before).date(), change.wall(change.after).date()}):
                self.check_change_day(change, day)
        if found:
            self.totals.with_changes += 1
            self.totals.changes += len(found)
            self.totals.zones_with_changes.add(self.name)
        else:
            for hour in range(24):
                self.round_trip(datetime.combine(QUIET_DAY, time(hour)))
        if not self.by_name:
            self.check_typed_name()

    def check_typed_name(self) -> None:
        """A name parse_when does not take is refused with a sentence, or read as that very zone."""
        wall = datetime.combine(QUIET_DAY, time(12))
        try:
            read = parse_when(f"{wall:%Y-%m-%d %H:%M} {self.name}", now=NOW, reading_zone="UTC")
        except TimeParseError:
            self.totals.names_refused += 1
            return
        if read.instant != from_local(wall, self.name):
            self.fail(wall, f"typed name read as {read}")


@cache
def sweep() -> Sweep:
    totals = Sweep()
    started = clock.perf_counter()
    for name in sorted(zoneinfo.available_timezones()):
        zone_sweep = ZoneSweep(name, totals)
        totals.zones += 1
        totals.by_name += zone_sweep.by_name
        totals.by_wall_time += not zone_sweep.by_name
        zone_sweep.sweep()
    totals.seconds = clock.perf_counter() - started
    return totals


def test_every_zone_reads_back_and_refuses_its_daylight_saving_edges() -> None:
    failures = sweep().failures
    assert not failures, f"{len(failures)} failures, the first ones:\n" + "\n".join(failures[:20])


def test_the_sweep_covered_what_it_should() -> None:
    totals = sweep()
    print(
        f"\nzone sweep 2026–2027: {totals.zones} zones swept ({totals.by_name} typed by name, "
        f"{totals.by_wall_time} legacy names through from_local, {totals.names_refused} of those "
        f"refused when typed), {totals.with_changes} zones with {totals.changes} offset changes; "
        f"{totals.gap_times_refused} gap times refused, {totals.doubled_times_refused} doubled times "
        f"refused, {totals.round_tripped} times round-tripped; {totals.seconds:.1f} s"
    )
    assert totals.zones == len(zoneinfo.available_timezones()) > 400
    assert totals.with_changes > 50 and totals.gap_times_refused > 0 and totals.doubled_times_refused > 0
    assert totals.round_tripped > 10_000
    assert {"Europe/Zurich", "America/New_York", "Australia/Lord_Howe", "America/Santiago"} <= (
        totals.zones_with_changes
    )
    assert "Asia/Tokyo" not in totals.zones_with_changes
