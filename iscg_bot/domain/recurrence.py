"""Repeating meetings: what people type, the RRULE we store and publish, and the occurrences it yields.

A meeting is described by its IANA zone, its first start as a *naive local wall time*, a duration and, for
a series, an RFC 5545 RRULE as written by `to_rrule`. A series keeps its wall-clock time in its own zone: a
weekly 14:00 Europe/Zurich meeting is at 13:00 UTC in winter and 12:00 UTC in summer. Everything here is a
pure function of its arguments (no clock, no I/O).

    repeat = parse_repeat("every 2 weeks until 2027-06-30")     # what the user typed after the time
    start = first_start(repeat, start_local)                    # `every tuesday` moves the start to a Tuesday
    rule = to_rrule(repeat, zone=zone, start_local=start, duration=duration)   # store and publish this
    occurrences(zone=zone, start_local=start, duration=duration, rrule=rule, overrides=overrides,
                window_start=monday, window_end=monday + timedelta(days=7))

Choices, each the one calendar clients make when they read our feeds, so the bot and the calendars agree:
- **Month ends.** `every month` from the 31st meets on the 31st of the months that have one and skips the
  others (RFC 5545 §3.3.10: invalid dates are ignored and not counted, so `times 6` still means six
  meetings). `month_end_notice` gives the sentence to show the coordinator when that applies.
- **Daylight-saving gaps.** A wall time that does not exist that day (02:30 on the spring-forward night) is
  read with the offset before the gap (RFC 5545 §3.3.5), so it moves forward by the gap: 02:30 → 03:30.
- **Repeated wall times.** On the fall-back night a wall time happens twice; the naive datetimes here carry
  which pass in their `fold` (PEP 495: 0 the first, 1 the second), and the storage keeps it. A series
  repeats its first meeting's wall time *and pass*: an occurrence landing in a repeated hour is in the same
  pass as the first meeting. A series started anywhere else (fold 0) thus meets in the first pass, as RFC
  5545 §3.3.5 reads a local time, while one started in the second pass (given in UTC on a change day, the
  only way to name it) meets in the second pass again on later change days. The feed pins every such
  occurrence in UTC (see `iscg_bot.calendar.feeds`), since clients disagree on what the local time means.
- **Until** is inclusive and local: a meeting on the until date belongs to the series. The RRULE carries it
  as a UTC time at the last second of that date in the meeting's zone (a DTSTART with TZID needs a UTC
  UNTIL, and Radicale drops an occurrence whose start equals UNTIL).
- **Overrides** (RECURRENCE-ID) are keyed by the original local start. An override that does not match an
  occurrence of the series is ignored; of several for the same occurrence the last one wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from dateutil import rrule as du

from iscg_bot.core.errors import DomainError
from iscg_bot.core.formatting import Rich, code
from iscg_bot.core.i18n import _, lazy, n_, tr
from iscg_bot.core.timeshow import weekday_name

Frequency = Literal["DAILY", "WEEKLY", "MONTHLY"]

MAX_INTERVAL = 52
MAX_COUNT = 500
MAX_OCCURRENCES = 2000  # per call of `occurrences`: a window that holds more is refused, not cut short

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# dateutil's frequencies are the literals 3, 2 and 1, which its rrule() takes.
_DU_FREQ: dict[str, Literal[1, 2, 3]] = {"DAILY": du.DAILY, "WEEKLY": du.WEEKLY, "MONTHLY": du.MONTHLY}
_UNITS: dict[str, Frequency] = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY"}
_ADVERBS: dict[str, tuple[Frequency, int]] = {
    "daily": ("DAILY", 1),
    "weekly": ("WEEKLY", 1),
    "biweekly": ("WEEKLY", 2),
    "fortnightly": ("WEEKLY", 2),
    "monthly": ("MONTHLY", 1),
}
_DAY_NAMES = {
    name: index for index, day in enumerate(WEEKDAYS) for name in (day.lower(), day[:3].lower())
} | {"tues": 1, "wednes": 2, "thur": 3, "thurs": 3}
_NUMBER = re.compile(r"[0-9]+")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _example() -> Rich:
    """The forms people type (they stay as typed in every language, shown as code), after a refusal."""
    return tr(
        "e.g. {first}, {second}, or {third}",
        first=code("every 2 weeks until 2027-06-30"),
        second=code("every tuesday times 10"),
        third=code("monthly"),
    )


class RecurrenceError(DomainError):
    """A repetition that cannot be used; the message is one sentence for the person who typed it.

    `shown` is that sentence as rich text (the words to type as code); `str(error)` its plain text.
    """

    def __init__(self, sentence: Rich | str) -> None:
        super().__init__(sentence.plain if isinstance(sentence, Rich) else sentence)
        self.shown = sentence


@dataclass(frozen=True)
class Repeat:
    """How a series repeats. `until` is an inclusive local date; `until` and `count` exclude each other."""

    freq: Frequency
    interval: int = 1
    weekday: int | None = None  # 0 = Monday; only with WEEKLY (`every tuesday`)
    until: date | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.freq not in _DU_FREQ:
            raise RecurrenceError(
                _("A meeting can repeat daily, weekly or monthly, not {freq}.", freq=repr(self.freq))
            )
        if isinstance(self.interval, bool) or not 1 <= self.interval <= MAX_INTERVAL:
            raise RecurrenceError(
                _("The interval must be a whole number from 1 to {most}.", most=MAX_INTERVAL)
            )
        if self.weekday is not None and (self.freq != "WEEKLY" or self.weekday not in range(7)):
            raise RecurrenceError(_("Only a weekly series can be tied to a day of the week."))
        if self.until is not None and self.count is not None:
            raise RecurrenceError(
                tr(
                    "Give either {until} or {times}, not both.",
                    until=code("until <date>"),
                    times=code("times <n>"),
                )
            )
        if self.count is not None and (isinstance(self.count, bool) or not 1 <= self.count <= MAX_COUNT):
            raise RecurrenceError(_("The number of times must be from 1 to {most}.", most=MAX_COUNT))
        if self.until is not None and self.until >= date(9999, 1, 1):
            raise RecurrenceError(_("The end date must be before the year 9999."))


class OverrideLike(Protocol):
    """One occurrence changed or cancelled (RECURRENCE-ID); storage models satisfy it as they are."""

    @property
    def occurrence_local(self) -> datetime: ...  # the original naive local start it replaces
    @property
    def start_local(self) -> datetime | None: ...  # new naive local start, None to keep it
    @property
    def duration_minutes(self) -> int | None: ...  # new duration, None to keep the meeting's
    @property
    def cancelled(self) -> bool: ...
    @property
    def reason(self) -> str | None: ...


@dataclass(frozen=True)
class OverrideSpec:
    occurrence_local: datetime
    start_local: datetime | None = None
    duration_minutes: int | None = None
    cancelled: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Occurrence:
    original_local: datetime  # naive wall time the rule produced: the RECURRENCE-ID
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC
    local_start: datetime  # naive, in the meeting's zone: differs from original_local when moved or in a gap
    cancelled: bool = False
    moved: bool = False  # an override changed the start or the duration
    reason: str | None = None


# --- what people type ------------------------------------------------------------------------------------


def parse_repeat(text: str) -> Repeat:
    """Read `every 3 days`, `every 2 weeks`, `every tuesday`, `every month`, `weekly`, `biweekly`, … with an
    optional `until <YYYY-MM-DD>` or `times <n>`; case does not matter. Raises RecurrenceError."""
    words = text.replace(",", " ").lower().split()
    if not words:
        raise RecurrenceError(tr("Say how the meeting repeats, {example}.", example=_example()))
    head, rest = words[0], words[1:]
    weekday = None
    interval = 1
    if head in _ADVERBS:
        freq, interval = _ADVERBS[head]
    elif head == "every":
        if not rest:
            raise RecurrenceError(
                tr("Say what comes after {every}, {example}.", every=code("every"), example=_example())
            )
        word, rest = rest[0], rest[1:]
        if word in _DAY_NAMES:
            freq, weekday = "WEEKLY", _DAY_NAMES[word]
        else:
            if _NUMBER.fullmatch(word):
                interval = int(word)
                if not rest:
                    raise RecurrenceError(
                        tr(
                            "Say {every} {number} {units}.",
                            every=code("every"),
                            number=code(word),
                            units=code("days, weeks or months"),
                        )
                    )
                word, rest = rest[0], rest[1:]
            unit = _UNITS.get(word.removesuffix("s"))
            if unit is None:
                raise RecurrenceError(
                    tr(
                        "I repeat by day, week, month or weekday, not {word}; {example}.",
                        word=repr(word),
                        example=_example(),
                    )
                )
            freq = unit
    else:
        raise RecurrenceError(
            tr("I don't understand {word} as a repetition; {example}.", word=repr(head), example=_example())
        )
    if interval > MAX_INTERVAL or interval < 1:
        raise RecurrenceError(_("The interval must be a whole number from 1 to {most}.", most=MAX_INTERVAL))

    until = count = None
    while rest:
        word, rest = rest[0], rest[1:]
        if word not in ("until", "times"):
            raise RecurrenceError(
                tr(
                    "I don't understand {word} after the repetition; {example}.",
                    word=repr(word),
                    example=_example(),
                )
            )
        if until is not None or count is not None:
            raise RecurrenceError(
                tr(
                    "Give one end only: {until} or {times}.",
                    until=code("until <date>"),
                    times=code("times <n>"),
                )
            )
        if not rest:
            raise RecurrenceError(
                tr(
                    "Give the end date after {until}, e.g. {example}.",
                    until=code("until"),
                    example=code("until 2027-06-30"),
                )
                if word == "until"
                else tr(
                    "Give the number of meetings after {times}, e.g. {example}.",
                    times=code("times"),
                    example=code("times 10"),
                )
            )
        value, rest = rest[0], rest[1:]
        if word == "until":
            until = _parse_date(value)
        elif _NUMBER.fullmatch(value) and 1 <= int(value) <= MAX_COUNT:
            count = int(value)
        else:
            raise RecurrenceError(
                _(
                    "The number of times must be from 1 to {most}, not {value}.",
                    most=MAX_COUNT,
                    value=repr(value),
                )
            )
    return Repeat(freq, interval, weekday, until, count)


def _parse_date(value: str) -> date:
    match = _ISO_DATE.fullmatch(value)
    if match is None:
        raise RecurrenceError(
            tr(
                "Write the end date as {pattern}, e.g. {example}, not {value}.",
                pattern=code("YYYY-MM-DD"),
                example=code("until 2027-06-30"),
                value=repr(value),
            )
        )
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        raise RecurrenceError(_("{value} is not a date in the calendar.", value=value)) from None


def describe(repeat: Repeat) -> str:
    """`every 2 weeks until 2027-06-30`, `every Tuesday, 10 times`, `every month`."""
    unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month"}[repeat.freq]
    text = f"every {unit}" if repeat.interval == 1 else f"every {repeat.interval} {unit}s"
    if repeat.weekday is not None:
        day = WEEKDAYS[repeat.weekday]
        text = f"every {day}" if repeat.interval == 1 else f"{text} on {day}"
    if repeat.until is not None:
        text += f" until {repeat.until.isoformat()}"
    if repeat.count is not None:
        text += f", {repeat.count} time{'s' if repeat.count != 1 else ''}"
    return text


def repeats(repeat: Repeat) -> str:
    """`Repeats every 2 weeks until 2027-06-30` in the current language: `describe` for people to read."""
    if repeat.weekday is not None:
        day = weekday_name(repeat.weekday)  # describe() keeps the English ones for the mail and the logs
        if repeat.interval == 1:
            how = _("every {day}", day=day)
        else:
            how = n_("every {count} week on {day}", "every {count} weeks on {day}", repeat.interval, day=day)
    elif repeat.interval == 1:
        how = {"DAILY": _("every day"), "WEEKLY": _("every week"), "MONTHLY": _("every month")}[repeat.freq]
    elif repeat.freq == "DAILY":
        how = n_("every {count} day", "every {count} days", repeat.interval)
    elif repeat.freq == "WEEKLY":
        how = n_("every {count} week", "every {count} weeks", repeat.interval)
    else:
        how = n_("every {count} month", "every {count} months", repeat.interval)
    if repeat.until is not None:
        how = _("{how} until {date}", how=how, date=repeat.until.isoformat())
    if repeat.count is not None:
        how = n_("{how}, {count} time", "{how}, {count} times", repeat.count, how=how)
    return _("Repeats {how}", how=how)


def month_end_notice(repeat: Repeat, start_local: datetime) -> str | None:
    """The sentence to show when a monthly series starts on a day some months lack (29th–31st), else None."""
    if repeat.freq != "MONTHLY" or start_local.day <= 28:
        return None
    return _(_MONTH_END[start_local.day])


# One sentence per day some months lack: an ordinal is the language's own, not a suffix glued on.
_MONTH_END = {
    29: lazy("Months without a 29th day are skipped."),
    30: lazy("Months without a 30th day are skipped."),
    31: lazy("Months without a 31st day are skipped."),
}


# --- the stored rule -------------------------------------------------------------------------------------


def first_start(repeat: Repeat, start_local: datetime) -> datetime:
    """The first wall start the rule matches on or after `start_local`: for `every tuesday` the first Tuesday,
    same time of day and pass (`fold`); otherwise `start_local` itself. Callers store this as the meeting's
    start."""
    if repeat.weekday is None:
        return start_local
    moved = start_local + timedelta(days=(repeat.weekday - start_local.weekday()) % 7)
    return moved.replace(fold=start_local.fold)  # adding a timedelta resets the fold


def to_rrule(repeat: Repeat, *, zone: str, start_local: datetime, duration: timedelta) -> str:
    """The RRULE value (no `RRULE:` prefix), e.g. `FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270630T215959Z`.

    `start_local` must already match the rule (see `first_start`), or ValueError. UNTIL is the last second of
    the until date in `zone`, in UTC. RecurrenceError when the until date leaves the series without a meeting.
    The duration does not enter the rule (UNTIL bounds starts); it is checked like everywhere else."""
    tz = ZoneInfo(zone)
    _check_meeting(start_local, duration)
    if first_start(repeat, start_local) != start_local:
        raise ValueError(f"{start_local:%Y-%m-%d} does not match {describe(repeat)!r}: use first_start()")
    _check_until(repeat, start_local)
    parts = [f"FREQ={repeat.freq}"]
    if repeat.interval != 1:
        parts.append(f"INTERVAL={repeat.interval}")
    if repeat.weekday is not None:
        parts.append(f"BYDAY={_RRULE_DAYS[repeat.weekday]}")
    if repeat.until is not None:
        parts.append(f"UNTIL={_end_of_day(repeat.until, tz):%Y%m%dT%H%M%SZ}")
    if repeat.count is not None:
        parts.append(f"COUNT={repeat.count}")
    return ";".join(parts)


def from_rrule(rrule: str, *, zone: str) -> Repeat:
    """The Repeat that `to_rrule` wrote as `rrule` (an `RRULE:` prefix is allowed), UNTIL back as a local
    date. Rule parts this module never writes raise RecurrenceError."""
    tz = ZoneInfo(zone)
    fields: dict[str, str] = {}
    for part in rrule.strip().removeprefix("RRULE:").split(";"):
        key, sep, value = part.partition("=")
        key = key.strip().upper()
        if not sep or key in fields:
            raise RecurrenceError(_("The stored repetition rule {rule} is malformed.", rule=repr(rrule)))
        fields[key] = value.strip().upper()
    unknown = set(fields) - {"FREQ", "INTERVAL", "BYDAY", "UNTIL", "COUNT", "WKST"}
    if unknown or fields.get("WKST", "MO") != "MO" or fields.get("BYDAY", "MO") not in _RRULE_DAYS:
        raise RecurrenceError(
            _("The stored repetition rule {rule} uses parts this bot does not support.", rule=repr(rrule))
        )
    try:
        interval = int(fields.get("INTERVAL", "1"))
        count = int(fields["COUNT"]) if "COUNT" in fields else None
        until = _until_date(fields["UNTIL"], tz) if "UNTIL" in fields else None
    except (ValueError, OverflowError):
        raise RecurrenceError(
            _("The stored repetition rule {rule} has a bad number or date.", rule=repr(rrule))
        ) from None
    weekday = _RRULE_DAYS.index(fields["BYDAY"]) if "BYDAY" in fields else None
    return Repeat(fields.get("FREQ", ""), interval, weekday, until, count)  # type: ignore[arg-type]


def _until_date(value: str, tz: ZoneInfo) -> date:
    if len(value) == 8:  # a DATE value
        return datetime.strptime(value, "%Y%m%d").date()
    if value.endswith("Z"):
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).astimezone(tz).date()
    return datetime.strptime(value, "%Y%m%dT%H%M%S").date()  # floating: already local


def series_end(repeat: Repeat, *, zone: str, start_local: datetime, duration: timedelta) -> datetime | None:
    """Aware UTC end of the series' last occurrence (overrides not applied); None for an open-ended series."""
    tz = ZoneInfo(zone)
    _check_meeting(start_local, duration)
    if repeat.until is None and repeat.count is None:
        return None
    _check_until(repeat, start_local)
    last = _Series(repeat, start_local).last()
    return _instant(last, tz) + duration


def _check_until(repeat: Repeat, start_local: datetime) -> None:
    first = first_start(repeat, start_local)
    if repeat.until is not None and repeat.until < first.date():
        raise RecurrenceError(
            _(
                "The end date {until} is before the first meeting on {first}.",
                until=repeat.until.isoformat(),
                first=f"{first:%Y-%m-%d}",
            )
        )


# --- occurrences -----------------------------------------------------------------------------------------


def occurrences(
    *,
    zone: str,
    start_local: datetime,
    duration: timedelta,
    rrule: str | None,
    overrides: Iterable[OverrideLike] = (),
    window_start: datetime,
    window_end: datetime,
    include_cancelled: bool = True,
) -> list[Occurrence]:
    """Every occurrence whose [start, end) meets [window_start, window_end) (aware), in start order.

    A one-off meeting (`rrule` None) has one occurrence. Overrides are applied: a moved occurrence is found at
    its new time only, and is in the window or not by that time; a cancelled one is flagged, or left out when
    `include_cancelled` is false. A series anchored off its weekday starts on `first_start`. More than
    MAX_OCCURRENCES in the window raises RecurrenceError."""
    tz = ZoneInfo(zone)
    _check_meeting(start_local, duration)
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("the window needs aware datetimes")
    series = _series(rrule, tz, start_local)
    changes = {override.occurrence_local: override for override in overrides}
    if any(wall.tzinfo is not None for wall in changes):
        raise ValueError("an override's occurrence_local must be a naive local wall time")

    # An unchanged occurrence starts within two days of its wall time, whatever the offsets: widen, filter.
    lo = _local_bound(window_start, tz, -duration - timedelta(days=2))
    hi = _local_bound(window_end, tz, timedelta(days=2))
    found: list[Occurrence] = []
    seen = set()
    for wall in series.walls(lo, hi):
        seen.add(wall)
        found.append(_occurrence(wall, changes.get(wall), tz, duration))
    # Overrides can bring an occurrence into the window from anywhere.
    for wall, change in changes.items():
        if wall not in seen and series.contains(wall):  # stored without its pass: the series' own
            found.append(_occurrence(wall.replace(fold=series.fold), change, tz, duration))

    keep = [
        o
        for o in found
        if o.start < window_end and o.end > window_start and (include_cancelled or not o.cancelled)
    ]
    return sorted(keep, key=lambda o: (o.start, o.original_local))


def occurrence_on(
    *,
    zone: str,
    start_local: datetime,
    duration: timedelta,
    rrule: str | None,
    overrides: Iterable[OverrideLike] = (),
    day: date,
) -> Occurrence | None:
    """The occurrence whose ORIGINAL local start falls on `day` (overrides applied, cancelled ones included),
    or None when the series has none that day. For `move … occurrence <date>` and `cancel … occurrence …`."""
    tz = ZoneInfo(zone)
    _check_meeting(start_local, duration)
    series = _series(rrule, tz, start_local)
    walls = list(series.walls(datetime.combine(day, time.min), datetime.combine(day, time.max)))
    if not walls:
        return None
    change = None
    for override in overrides:
        if override.occurrence_local == walls[0]:
            change = override
    return _occurrence(walls[0], change, tz, duration)


def _occurrence(wall: datetime, change: OverrideLike | None, tz: ZoneInfo, duration: timedelta) -> Occurrence:
    local = wall
    moved = False
    cancelled = False
    reason = None
    if change is not None:
        if change.start_local is not None:
            _check_meeting(change.start_local, duration)
            # By instant: the same wall time in the other pass of a repeated hour is a move too.
            local, moved = change.start_local, _instant(change.start_local, tz) != _instant(wall, tz)
        if change.duration_minutes is not None:
            changed = timedelta(minutes=change.duration_minutes)
            _check_meeting(local, changed)
            moved = moved or changed != duration
            duration = changed
        cancelled, reason = change.cancelled, change.reason
    start = _instant(local, tz)
    return Occurrence(
        original_local=wall,
        start=start,
        end=start + duration,
        local_start=start.astimezone(tz).replace(tzinfo=None),
        cancelled=cancelled,
        moved=moved,
        reason=reason,
    )


class _OneOff:
    def __init__(self, start_local: datetime) -> None:
        self.start_local = start_local
        self.fold = start_local.fold

    def walls(self, lo: datetime, hi: datetime) -> Iterator[datetime]:
        if lo <= self.start_local <= hi:
            yield self.start_local

    def contains(self, wall: datetime) -> bool:
        return wall == self.start_local


class _Series:
    """The wall times of a series, expanded by dateutil over naive local times (which keeps the time of day).

    Without COUNT the expansion may start at any period boundary of the series, so a window years after the
    start costs the same as one next week; with COUNT (≤ MAX_COUNT) it has to count from the first one."""

    def __init__(self, repeat: Repeat, start_local: datetime) -> None:
        self.repeat = repeat
        self.anchor = first_start(repeat, start_local)
        self.fold = self.anchor.fold  # every occurrence is in the first meeting's pass (see the module doc)
        self.until = datetime.combine(repeat.until, time.max) if repeat.until else None

    def _rule(self, near: datetime | None = None, back: int = 1) -> du.rrule:
        """The rule, its expansion starting `back` or more intervals before `near` (at the anchor without
        `near`, or with COUNT, which must count from the first occurrence)."""
        repeat, anchor = self.repeat, self.anchor
        step = 0
        if near is not None and repeat.count is None:
            step = repeat.interval * max(0, self._periods(anchor, near) // repeat.interval - back)
        if step == 0:
            start = anchor
        elif repeat.freq == "MONTHLY":  # from the 1st: the anchor's day may not exist in that month
            month = anchor.year * 12 + anchor.month - 1 + step
            start = anchor.replace(year=month // 12, month=month % 12 + 1, day=1)
        else:
            start = anchor + timedelta(days=step * (7 if repeat.freq == "WEEKLY" else 1))
        return du.rrule(
            _DU_FREQ[repeat.freq],
            dtstart=start,
            interval=repeat.interval,
            byweekday=repeat.weekday,
            bymonthday=anchor.day if repeat.freq == "MONTHLY" else None,
            count=repeat.count,
            until=self.until,
            cache=False,
        )

    def _periods(self, anchor: datetime, near: datetime) -> int:
        if self.repeat.freq == "MONTHLY":
            return (near.year - anchor.year) * 12 + near.month - anchor.month
        days = (near.date() - anchor.date()).days
        return days // 7 if self.repeat.freq == "WEEKLY" else days

    def walls(self, lo: datetime, hi: datetime) -> Iterator[datetime]:
        count = 0
        for wall in self._rule(near=lo).xafter(lo, inc=True):
            if wall > hi:
                return
            count += 1
            if count > MAX_OCCURRENCES:
                raise RecurrenceError(
                    _(
                        "That period holds more than {most} meetings of the series; ask for less.",
                        most=MAX_OCCURRENCES,
                    )
                )
            yield wall.replace(fold=self.fold)

    def contains(self, wall: datetime) -> bool:
        return self._rule(near=wall).after(wall, inc=True) == wall

    def last(self) -> datetime:
        """The last wall start of a bounded series (one that `_check_until` accepted, so it has one)."""
        if self.until is None:
            found = self._rule().before(datetime.max, inc=True)
        else:
            # Step back from UNTIL until an occurrence turns up: a monthly series on the 29th–31st (or on
            # 29 February) can go years without one.
            limit = self._periods(self.anchor, self.until) // self.repeat.interval  # this far back: anchor
            back = 1
            while True:
                found = self._rule(near=self.until, back=min(back, limit)).before(self.until, inc=True)
                if found is not None or back >= limit:
                    break
                back *= 2
        assert found is not None, "a series whose until is on or after its first start has an occurrence"
        return found.replace(fold=self.fold)


def _series(rrule: str | None, tz: ZoneInfo, start_local: datetime) -> _OneOff | _Series:
    if rrule is None:
        return _OneOff(start_local)
    return _Series(from_rrule(rrule, zone=tz.key), start_local)


# --- wall times and instants -----------------------------------------------------------------------------


def _check_meeting(start_local: datetime, duration: timedelta) -> None:
    if start_local.tzinfo is not None:
        raise ValueError("start_local must be a naive local wall time")
    if duration <= timedelta(0):
        raise ValueError("a meeting lasts a positive time")


def wall_instant(wall: datetime, zone: str) -> datetime:
    """The UTC instant a naive wall time in `zone` stands for: in a repeated hour its `fold` says which
    pass; a time in a gap is read with the offset before the gap, forward by the gap (RFC 5545 §3.3.5)."""
    if wall.tzinfo is not None:
        raise ValueError("wall_instant needs a naive wall-clock datetime")
    return _instant(wall, ZoneInfo(zone))


def is_repeated(wall: datetime, zone: str | ZoneInfo) -> bool:
    """Whether the naive wall time happens twice in `zone` (it is in the repeated hour of a fall-back)."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    # Clocks going back: the first pass has the larger offset. (In a gap it is the other way round.)
    return (first.utcoffset() or timedelta()) > (second.utcoffset() or timedelta())


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall time in `tz`. PEP 495: fold=0 reads a time in a gap with the offset
    before the gap, forward by the gap as RFC 5545 §3.3.5 says (fold=1 would read it backward, so it is
    honoured only where the time really happens twice)."""
    fold = wall.fold if wall.fold and is_repeated(wall, tz) else 0
    return wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)


def _end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The last second of `day` in `tz`, in UTC (one second before the next local day begins)."""
    return _instant(datetime.combine(day + timedelta(days=1), time.min), tz) - timedelta(seconds=1)


def _local_bound(instant: datetime, tz: ZoneInfo, margin: timedelta) -> datetime:
    """`instant + margin` as a naive wall time in `tz`, saturating at the ends of the datetime range."""
    try:
        return (instant + margin).astimezone(tz).replace(tzinfo=None)
    except OverflowError:
        return datetime.max if margin > timedelta(0) else datetime.min
