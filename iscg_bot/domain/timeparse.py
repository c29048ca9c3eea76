"""What people type for a time, a duration, a date or a zone → aware values, or one sentence saying why not.

    parse_when("2026-12-03 14:00 Europe/Zurich", now=ctx.now, reading_zone="Asia/Tokyo")
    → When(instant=datetime(2026, 12, 3, 13, 0, tzinfo=UTC), zone="Europe/Zurich")

Pure functions: `now` is passed in, nothing here reads a clock. A zone named at the end of the text wins; a
time without one is read in `reading_zone` (the sender's, else the subject's, else the deployment's: see
`reading_zone(ctx)`). ISO forms are read here; natural forms (`tomorrow 14:00`, `next tuesday 9:30`) by
dateparser, which only turns words into a wall-clock time: zoneinfo alone decides what that wall time means,
so a time that does not exist or happens twice on a daylight-saving day is refused with both readings.

The router's argument types are at the end: `WhenArg`, `DurationArg`, `DateArg` and `TimeZone`.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from fractions import Fraction
from functools import cache
from typing import NamedTuple

from iscg_bot.core.errors import DomainError
from iscg_bot.core.formatting import or_list, quote
from iscg_bot.core.i18n import SOURCE, _, lazy
from iscg_bot.core.timeshow import clock, date_label, day_label, format_offset, weekday_name

MAX_TEXT = 100
MAX_AHEAD = timedelta(days=36525)  # a century: further on, the calendars and offsets to show it run out
DEFAULT_DURATION = timedelta(minutes=60)
MIN_DURATION = timedelta(minutes=5)
MAX_DURATION = timedelta(hours=24)
EXAMPLE_ISO = "2026-12-03 14:00 Europe/Zurich"
EXAMPLE_NATURAL = lazy("tomorrow 14:00")  # readable in every language dateparser is given (see _languages)
EXAMPLE_ZONE = "Europe/Zurich"


def _examples() -> str:
    """The `<when>` forms a refusal suggests: the ISO form and a natural one in the reader's language."""
    return _("{iso} or {natural}", iso=EXAMPLE_ISO, natural=_(EXAMPLE_NATURAL))


class TimeParseError(DomainError):
    """The text is not a usable time (or duration, date, zone); the message is one sentence for the user.

    `understood` is True when the text was read but the value is refused (in the past, on a daylight-saving
    change, too long): an argument type then reports it rather than trying fewer words.
    """

    def __init__(self, sentence: str, *, understood: bool = False) -> None:
        super().__init__(sentence)
        self.understood = understood


@dataclass(frozen=True)
class When:
    """A moment someone gave: the instant (aware, UTC) and the IANA zone they named, None if they named none.

    `zone` is "UTC" for Z and UTC, `Etc/GMT-3` for UTC+3 (POSIX signs are inverted), None for an offset of
    part of an hour such as +05:30 and for a time read in the reading zone.
    """

    instant: datetime
    zone: str | None = None

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None or self.instant.utcoffset() is None:
            raise ValueError("When.instant must be timezone-aware")
        object.__setattr__(self, "instant", self.instant.astimezone(UTC))


# ---- zones -----------------------------------------------------------------------------------------------

# Abbreviations people type for a zone. They name several zones or ignore daylight saving, so they are refused
# with the IANA names they probably mean.
ZONE_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "CST": ("America/Chicago", "Asia/Shanghai", "America/Havana"),
    "CDT": ("America/Chicago", "America/Havana"),
    "IST": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "EST": ("America/New_York", "America/Toronto"),
    "EDT": ("America/New_York", "America/Toronto"),
    "PST": ("America/Los_Angeles", "Asia/Manila"),
    "PDT": ("America/Los_Angeles",),
    "MST": ("America/Denver", "America/Phoenix"),
    "MDT": ("America/Denver",),
    "AST": ("America/Halifax", "Asia/Riyadh"),
    "BST": ("Europe/London", "Asia/Dhaka"),
    "GST": ("Asia/Dubai", "Atlantic/South_Georgia"),
    "CET": ("Europe/Zurich", "Europe/Paris", "Europe/Berlin"),
    "CEST": ("Europe/Zurich", "Europe/Paris", "Europe/Berlin"),
    "EET": ("Europe/Athens", "Africa/Cairo", "Europe/Kyiv"),
    "EEST": ("Europe/Athens", "Europe/Kyiv"),
    "WET": ("Europe/Lisbon",),
    "WEST": ("Europe/Lisbon",),
    "MSK": ("Europe/Moscow",),
    "JST": ("Asia/Tokyo",),
    "KST": ("Asia/Seoul",),
    "HKT": ("Asia/Hong_Kong",),
    "SGT": ("Asia/Singapore",),
    "PKT": ("Asia/Karachi",),
    "WAT": ("Africa/Lagos",),
    "CAT": ("Africa/Maputo", "Africa/Harare"),
    "EAT": ("Africa/Nairobi",),
    "SAST": ("Africa/Johannesburg",),
    "AEST": ("Australia/Sydney", "Australia/Brisbane"),
    "AEDT": ("Australia/Sydney",),
    "NZST": ("Pacific/Auckland",),
    "NZDT": ("Pacific/Auckland",),
    "HST": ("Pacific/Honolulu",),
    "BRT": ("America/Sao_Paulo",),
    "ART": ("America/Argentina/Buenos_Aires",),
}
# `UTC+3`, `GMT-05:30`, `UTC + 0530` (what the !tz command refuses as "an offset, not a zone").
_OFFSET = re.compile(r"(?i)(utc|gmt)\s*[+\-−]\s*\d{1,2}(:?\d\d)?")
_OFFSET_AT_END = re.compile(
    r"(?i)(?:^|(?<=\s)|(?<=[0-9]))(?:utc|gmt)\s*([+\-−])\s*([0-9]{1,2})(?::?([0-9]{2}))?$"
)
_BARE_OFFSET = re.compile(r"(?i)z|[+\-−][0-9]{2}(?::?[0-9]{2})?")  # a separate last word: Z, +01:00, -0500


@cache
def iana_zone_names() -> dict[str, str]:
    """Lower-case name → canonical name, for the IANA zones people should use (Area/Location, UTC, GMT)."""
    zones = zoneinfo.available_timezones()
    usable = {z for z in zones if "/" in z and not z.startswith(("posix/", "right/"))} | {"UTC", "GMT"}
    return {z.lower(): z for z in usable}


@cache
def _zones_by_city() -> dict[str, tuple[str, ...]]:
    by_city: dict[str, list[str]] = {}
    for zone in iana_zone_names().values():
        if zone.startswith("Etc/"):
            continue
        by_city.setdefault(zone.rsplit("/", 1)[-1].lower(), []).append(zone)
    return {city: tuple(sorted(zones)) for city, zones in by_city.items()}


def canonical_zone(word: str) -> str:
    """An IANA zone name in any case → its canonical spelling (`asia/tokyo` → `Asia/Tokyo`).

    Anything else raises TimeParseError naming what was probably meant: an abbreviation's or a city's zones.
    """
    canonical = iana_zone_names().get(word.lower())
    if canonical is not None:
        return canonical
    candidates = ZONE_ABBREVIATIONS.get(word.upper())
    if candidates:
        raise TimeParseError(_abbreviation_refusal(word, candidates))
    if _OFFSET.fullmatch(word):
        raise TimeParseError(
            _(
                "{word} is a UTC offset, not a time zone; use a name such as {zone}, so that daylight saving "
                "is followed.",
                word=quote(word),
                zone=EXAMPLE_ZONE,
            )
        )
    guesses = _zones_by_city().get(word.lower().replace(" ", "_"), ())
    if not guesses and len(word) <= 64:
        close = difflib.get_close_matches(word.lower(), iana_zone_names(), 2, 0.85)
        guesses = tuple(iana_zone_names()[z] for z in close)
    if guesses:
        raise TimeParseError(
            _(
                "{word} is not a time zone I know; did you mean {zones}?",
                word=quote(word),
                zones=or_list(guesses[:3]),
            )
        )
    raise TimeParseError(_("{word} is not a time zone I know.", word=quote(word)))


def _abbreviation_refusal(word: str, candidates: Sequence[str]) -> str:
    if len(candidates) == 1:
        return _(
            "{word} is an abbreviation, not a time zone; use {zone}.", word=quote(word), zone=candidates[0]
        )
    return _(
        "{word} is an abbreviation shared by several time zones; use the full name, such as {zones}.",
        word=quote(word),
        zones=or_list(candidates),
    )


def _abbreviation_in_time(word: str) -> str:
    """The refusal of an abbreviation inside a `<when>` (the !tz command words it as above)."""
    candidates = ZONE_ABBREVIATIONS[word.upper()]
    if len(candidates) == 1:
        return _abbreviation_refusal(word, candidates)
    return _(
        "{word} names several time zones: {zones} — write one of them.",
        word=quote(word),
        zones=or_list(candidates),
    )


class _Zone(NamedTuple):
    """A zone named in the text: what When.zone will say, what converts, how to name it in a sentence."""

    name: str | None
    tz: tzinfo
    label: str


def _iana(name: str) -> _Zone:
    return _Zone(name, zoneinfo.ZoneInfo(name), "UTC" if name == "UTC" else name)


def _offset_zone(sign: str, hours: str, minutes: str | None, typed: str) -> _Zone:
    """`+`, `03`, `30` → that fixed offset's zone: UTC, `Etc/GMT-3` for whole hours, else a bare offset."""
    total = int(hours) * 60 + int(minutes or 0)
    if sign != "+":
        total = -total
    if int(minutes or 0) >= 60 or not -12 * 60 <= total <= 14 * 60:
        raise TimeParseError(
            _(
                "{offset} is not a UTC offset in use: they run from {lowest} to {highest}.",
                offset=quote(typed),
                lowest="UTC-12",
                highest="UTC+14",
            )
        )
    if total == 0:
        return _iana("UTC")
    offset = timedelta(minutes=total)
    if total % 60 == 0:  # Etc/GMT-3 is UTC+3: the POSIX sign is the other way round
        return _Zone(
            f"Etc/GMT{'-' if total > 0 else '+'}{abs(total) // 60}", timezone(offset), format_offset(offset)
        )
    return _Zone(None, timezone(offset), format_offset(offset))


def _split_zone(text: str) -> tuple[str, _Zone | None]:
    """The text without the zone named at its end (or an IANA name at its start), and that zone."""
    offset = _OFFSET_AT_END.search(text)
    if offset:
        sign, hours, minutes = offset.groups()
        return text[: offset.start()].strip(), _offset_zone(sign, hours, minutes, offset.group(0))
    words = text.split(" ")
    last = words[-1]
    body = " ".join(words[:-1])
    if len(words) > 1 and _BARE_OFFSET.fullmatch(last):
        if last.upper() == "Z":
            return body, _iana("UTC")
        match = re.fullmatch(r"([+\-−])([0-9]{2}):?([0-9]{2})?", last)
        assert match is not None
        sign, hours, minutes = match.groups()
        return body, _offset_zone(sign, hours, minutes, last)
    if last.lower() in iana_zone_names():
        return body, _iana(iana_zone_names()[last.lower()])
    first = words[0]
    if "/" in first and first.lower() in iana_zone_names():
        return " ".join(words[1:]), _iana(iana_zone_names()[first.lower()])
    looks_like_zone = re.search(r"[A-Za-z]/|/[A-Za-z]", last) or last.lower() in _zones_by_city()
    if len(words) > 1 and last.upper() in ZONE_ABBREVIATIONS:
        raise TimeParseError(_abbreviation_in_time(last))
    if len(words) > 1 and looks_like_zone:
        canonical_zone(last)  # raises the sentence that says what was probably meant
    if len(words) > 1 and last.lower() in _old_zone_names():
        raise TimeParseError(
            _(
                "{word} is an old alias of a time zone; use its {form} name, such as {zone}.",
                word=quote(last),
                form="Area/City",
                zone=EXAMPLE_ZONE,
            )
        )
    return text, None


@cache
def _old_zone_names() -> frozenset[str]:
    """Backward-compatible names without an Area (Japan, EST5EDT, Zulu), lower case."""
    names = {z.lower() for z in zoneinfo.available_timezones() if "/" not in z} - {"localtime"}
    return frozenset(names - iana_zone_names().keys())


# ---- <when> ----------------------------------------------------------------------------------------------

_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt]| +)([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?"
    r" ?(?:([Zz])|([+\-−])([0-9]{2})(?::?([0-9]{2}))?)?"
)
_IN_DURATION = re.compile(r"(?i)in +(.+)")
_WEEKDAYS = {
    **dict.fromkeys(("mon", "monday"), 0),
    **dict.fromkeys(("tue", "tues", "tuesday"), 1),
    **dict.fromkeys(("wed", "weds", "wednesday"), 2),
    **dict.fromkeys(("thu", "thur", "thurs", "thursday"), 3),
    **dict.fromkeys(("fri", "friday"), 4),
    **dict.fromkeys(("sat", "saturday"), 5),
    **dict.fromkeys(("sun", "sunday"), 6),
}
_MONTHS = {
    **{name: n for n, name in enumerate(("jan", "feb", "mar", "apr", "may", "jun"), 1)},
    **{name: n for n, name in enumerate(("jul", "aug", "sep", "oct", "nov", "dec"), 7)},
    **{name: n for n, name in enumerate(("january", "february", "march", "april"), 1)},
    **{name: n for n, name in enumerate(("june", "july", "august", "september"), 6)},
    **{"october": 10, "november": 11, "december": 12, "sept": 9},
}
_RECENT = timedelta(days=31)


def parse_when(text: str, *, now: datetime, reading_zone: str, language: str = SOURCE) -> When:
    """A `<when>` as PRODUCT.md describes it → When; TimeParseError with one sentence otherwise.

    `now` (aware) is the reference for natural forms and the past; `reading_zone` (IANA) reads a time that
    names no zone. `language` (the sender's, an ITU code) is how natural forms may be written besides English:
    `mardi prochain 14h`, `próximo martes 14:00`.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    flat = " ".join(text.split()).rstrip(".,;")
    if not flat:
        raise TimeParseError(_("An empty text is not a time; try {examples}.", examples=_examples()))
    if len(flat) > MAX_TEXT:
        raise TimeParseError(
            _(
                "That is too long for a time (over {most} characters); try {examples}.",
                most=MAX_TEXT,
                examples=_examples(),
            )
        )
    body, named = _split_zone(flat)
    if not body:
        raise TimeParseError(
            _("{text} is a time zone without a time; try {examples}.", text=quote(flat), examples=_examples())
        )
    iso = _ISO.fullmatch(body)
    if iso:
        when, zone = _read_iso(iso, body, named, _iana(reading_zone))
        _refuse_past(when.instant, now, zone)
        return when
    zone, named_zone = named or _iana(reading_zone), named.name if named else None
    ahead = _IN_DURATION.fullmatch(body)
    minutes = _duration_minutes(re.sub(r"(?i)\b(an?|one)\b", "1", ahead.group(1))) if ahead else None
    if isinstance(minutes, Fraction):  # in 2 hours: real time from now, even across a daylight-saving change
        instant = (now + timedelta(seconds=int(minutes * 60))).replace(second=0, microsecond=0)
        _refuse_past(instant, now, zone)
        return When(instant, named_zone)
    local_now = now.astimezone(zone.tz).replace(tzinfo=None)
    wall = _read_natural(body, local_now, language)
    recent = _recent_same_year(body, wall, local_now)
    if recent is not None:
        _refuse_past(recent.replace(tzinfo=zone.tz, fold=0), now, zone)
    instant = _resolve(wall, zone.tz, zone.label)
    _refuse_past(instant, now, zone)
    return When(instant, named_zone)


def _read_iso(match: re.Match[str], body: str, named: _Zone | None, reading: _Zone) -> tuple[When, _Zone]:
    """`2026-12-03 14:00`, `…T13:00Z`, `…T14:00+01:00` → When, and the zone it was read in."""
    year, month, day, hour, minute, second, z, sign, off_hours, off_minutes = match.groups()
    try:
        wall = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        raise TimeParseError(_("{text} is not a date and time on the calendar.", text=quote(body))) from None
    if z or sign:
        if named is not None:
            raise TimeParseError(_("{text} already has a time zone; give only one.", text=quote(body)))
        named = _iana("UTC") if z else _offset_zone(sign, off_hours, off_minutes, body[match.start(8) :])
    zone = named or reading
    return When(_resolve(wall, zone.tz, zone.label), named.name if named else None), zone


def _read_natural(body: str, local_now: datetime, language: str = SOURCE) -> datetime:
    """Words → a naive wall time, through dateparser; refuses what has no exact time of day."""
    typed = body
    if ":" not in body:  # 14.00 is how much of Europe writes 14:00 (3.12.2026 is left alone)
        body = re.sub(r"(?<![0-9.])([0-9]{1,2})\.([0-9]{2})(?![0-9.])", r"\1:\2", body)
    from dateparser.timezone_parser import pop_tz_offset_from_string

    _unused, tz_name = pop_tz_offset_from_string(body, as_offset=False)
    if tz_name:  # dateparser would convert from a zone it guessed; only names at the end are read, by us
        for word in re.findall(r"[A-Za-z]+", body):
            if word.upper() in ZONE_ABBREVIATIONS:
                raise TimeParseError(_abbreviation_in_time(word))
        raise TimeParseError(
            _(
                "{text} has a time zone I cannot read there; name it at the end, as in {examples}.",
                text=quote(typed),
                examples=_examples(),
            )
        )
    wall, period = _dateparser_read(_as_dateparser_reads(body, language), local_now, _languages(language))
    unreadable = TimeParseError(
        _("{text} is not a time I can read; try {examples}.", text=quote(typed), examples=_examples())
    )
    if wall is None or wall.tzinfo is not None:
        raise unreadable
    if period != "time":
        if re.search(r"[0-9]", body):
            raise unreadable
        raise TimeParseError(
            _(
                "{text} has no exact time of day; add one, as in {example}.",
                text=quote(typed),
                example=_(EXAMPLE_NATURAL),
            )
        )
    words = set(re.findall(r"[a-z]+", body.lower()))
    weekdays = {_WEEKDAYS[w] for w in words if w in _WEEKDAYS}
    if len(weekdays) == 1 and wall.weekday() not in weekdays:
        (said,) = weekdays
        raise TimeParseError(
            _(
                "{text} does not add up: {date} is a {weekday}, not a {said}.",
                text=quote(typed),
                date=date_label(wall.date()),
                weekday=weekday_name(wall.weekday()),
                said=weekday_name(said),
            )
        )
    if not re.search(r"[0-9]:[0-9]{2}:[0-9]{2}", body):
        wall = wall.replace(second=0)  # "in 2 hours" keeps now's seconds; a meeting starts on the minute
    return wall.replace(microsecond=0)


def _dateparser_read(
    body: str, local_now: datetime, languages: Sequence[str] = ("en",)
) -> tuple[datetime | None, str | None]:
    from dateparser.date import DateDataParser

    settings = {
        "RELATIVE_BASE": local_now,  # naive wall time in the reading zone
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "DMY",  # ITU writes 3 Dec, and 03/12 is the 3rd of December
        "PREFER_LOCALE_DATE_ORDER": False,  # else English would read 03/12 as March
        "TIMEZONE": "UTC",  # never the machine's zone; and with no zone in the text nothing is converted
        "RETURN_AS_TIMEZONE_AWARE": False,
        "RETURN_TIME_AS_PERIOD": True,  # period "time" only when a time of day was read
        "PARSERS": ["relative-time", "absolute-time"],  # not "timestamp": 1700000000 is no meeting time
    }
    try:
        data = DateDataParser(languages=list(languages), settings=settings).get_date_data(body)
    except (ValueError, OverflowError, ArithmeticError, LookupError, TypeError):
        return None, None  # dateparser gives up on some odd texts by raising; that is "unreadable"
    return data.date_obj, data.period


# ITU's languages as dateparser names them; English stays first, so what reads in English reads as before.
_DATEPARSER_LANGUAGES = {"ar": "ar", "zh": "zh", "fr": "fr", "ru": "ru", "es": "es"}
# "Next" beside a weekday, which dateparser does not read in these languages; without it the weekday alone
# means the coming one (PREFER_DATES_FROM future), as `next tuesday` does in English.
_FRENCH_DAYS = "(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)"
_SPANISH_DAYS = "(?:lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo)"
_NEXT_WEEKDAY = {
    "fr": re.compile(
        rf"(?i)\b({_FRENCH_DAYS})\s+prochaine?\b"  # mardi prochain
        rf"|\bprochaine?\s+(?={_FRENCH_DAYS}\b)"  # prochain mardi
    ),
    "es": re.compile(
        rf"(?i)\b(?:el\s+)?pr[oó]xim[oa]\s+(?={_SPANISH_DAYS}\b)"  # (el) próximo martes
        rf"|\bel\s+(?={_SPANISH_DAYS}\b)"  # el martes (que viene)
        rf"|\b({_SPANISH_DAYS})\s+(?:pr[oó]xim[oa]|que\s+viene)\b"  # martes próximo, martes que viene
    ),
}
# French writes 14h and 14h30 for 14:00 and 14:30 (dateparser reads "14h" as a duration of 14 hours).
_FRENCH_CLOCK = re.compile(r"(?i)(?<![\w:.])(?<!dans )([01]?[0-9]|2[0-3]) ?h ?([0-5][0-9])?(?!\w)")


def _languages(language: str) -> tuple[str, ...]:
    """The languages dateparser tries, in order: English, then the sender's."""
    theirs = _DATEPARSER_LANGUAGES.get(language)
    return ("en", theirs) if theirs else ("en",)


def _as_dateparser_reads(body: str, language: str) -> str:
    """The sender's own way of writing a time, reworded where dateparser would misread it."""
    next_weekday = _NEXT_WEEKDAY.get(language)
    if next_weekday is not None:
        body = next_weekday.sub(lambda m: m.group(1) or "", body).strip()
    if language == "fr":
        body = _FRENCH_CLOCK.sub(lambda m: f"{m.group(1)}:{m.group(2) or '00'}", body)
    return body


def _recent_same_year(body: str, wall: datetime, local_now: datetime) -> datetime | None:
    """`3 Dec 14:00` typed on 3 Dec at 15:00 is a mistake, not a meeting in a year: dateparser moves a date
    without a year to next year when it has passed; moved less than a month, it is refused as past."""
    words = set(re.findall(r"[a-z]+", body.lower()))
    names_a_date = words & _MONTHS.keys() or re.search(r"\b[0-9]{1,2}[/.][0-9]{1,2}\b", body)
    names_a_year = re.search(r"\b[0-9]{4}\b|\b[0-9]{1,2}[/.][0-9]{1,2}[/.][0-9]{2}", body)
    if not names_a_date or names_a_year or wall.year != local_now.year + 1:
        return None
    try:
        same_year = wall.replace(year=local_now.year)
    except ValueError:  # 29 February
        return None
    return same_year if local_now - _RECENT < same_year < local_now else None


def _refuse_past(instant: datetime, now: datetime, zone: _Zone) -> None:
    """Refuses a time before now, and one more than a century ahead."""
    if now <= instant <= now + MAX_AHEAD:
        return
    wall, local_now = instant.astimezone(zone.tz), now.astimezone(zone.tz).replace(second=0, microsecond=0)
    said = f"{day_label(wall.date())} {clock(wall)} {zone.label}"
    if instant > now:
        raise TimeParseError(
            _("That is more than a century ahead ({when}); give a nearer time.", when=said), understood=True
        )
    current = clock(local_now)
    if local_now.date() != wall.date():
        current = f"{day_label(local_now.date())} {current}"
    raise TimeParseError(
        _("That is in the past ({when}): it is already {now} there.", when=said, now=current), understood=True
    )


# ---- wall times ------------------------------------------------------------------------------------------


def local_reading(instant: datetime, zone: str) -> datetime:
    """The naive wall-clock time of an aware instant in a zone."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("local_reading needs an aware datetime")
    return instant.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)


def from_local(local: datetime, zone: str) -> datetime:
    """A naive wall-clock time in a zone → the aware UTC instant; TimeParseError if the wall time does not
    exist there (clocks jump forward) or happens twice (clocks go back), naming both readings."""
    if local.tzinfo is not None:
        raise ValueError("from_local needs a naive wall-clock datetime")
    return _resolve(local, zoneinfo.ZoneInfo(zone), zone)


def _resolve(wall: datetime, tz: tzinfo, label: str) -> datetime:
    """zoneinfo (PEP 495): with fold=0 a wall time takes the offset from before a change, with fold=1 the one
    after; they differ only in a gap or an overlap, and only in an overlap does the wall time come back."""
    wall = wall.replace(tzinfo=None, fold=0)
    first, second = wall.replace(tzinfo=tz), wall.replace(tzinfo=tz, fold=1)
    try:
        if first.utcoffset() == second.utcoffset():
            return first.astimezone(UTC)
        earlier, later = sorted((first.astimezone(UTC), second.astimezone(UTC)))
    except OverflowError:
        raise TimeParseError(_("{when} is too far from today to schedule.", when=_iso_wall(wall))) from None
    readings = earlier.astimezone(tz), later.astimezone(tz)
    change = _change(tz, earlier, later)
    before, after = change.astimezone(timezone(readings[0].utcoffset() or timedelta())), change.astimezone(tz)
    change_values = {
        "when": _iso_wall(wall),
        "zone": label,
        "before": _on(before, wall),
        "after": _on(after, wall),
    }
    if readings[0].replace(tzinfo=None) == wall:  # it comes back: it exists, twice
        first_reading, second_reading = (
            f"{clock(r)} {format_offset(r.utcoffset() or timedelta())} ({_on(r.astimezone(UTC), wall)} UTC)"
            for r in readings
        )
        raise TimeParseError(
            _(
                "{when} happens twice in {zone} (clocks go back from {before} to {after}): {first} or "
                "{second} — give the time in UTC to choose.",
                first=first_reading,
                second=second_reading,
                **change_values,
            ),
            understood=True,
        )
    first_reading, second_reading = (
        f"{_on(r, wall)} ({format_offset(r.utcoffset() or timedelta())})" for r in readings
    )
    raise TimeParseError(
        _(
            "{when} does not exist in {zone} (clocks jump from {before} to {after}): did you mean {first} or "
            "{second}?",
            first=first_reading,
            second=second_reading,
            **change_values,
        ),
        understood=True,
    )


def _change(tz: tzinfo, earlier: datetime, later: datetime) -> datetime:
    """The instant of the offset change between two UTC instants (a bisection to the second)."""
    target = later.astimezone(tz).utcoffset()
    low, high = earlier.replace(microsecond=0), later
    while (high - low) > timedelta(seconds=1):
        middle = low + timedelta(seconds=int((high - low).total_seconds()) // 2)
        if middle.astimezone(tz).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high


def _on(moment: datetime, reference: datetime) -> str:
    """`02:30`, or `2026-10-24 23:30` when the moment is not on the reference's day."""
    return clock(moment) if moment.date() == reference.date() else _iso_wall(moment)


def _iso_wall(wall: datetime) -> str:
    return f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d} {clock(wall)}"


# ---- durations and dates ---------------------------------------------------------------------------------

_NUMBER = r"[0-9]{1,5}(?:[.,][0-9]{1,4})?"
_HUMAN_DURATION = re.compile(
    rf"(?:(?P<h>{_NUMBER}) *(?:h|hrs?|hours?)(?![a-z]) *(?:and +)?)?"
    rf"(?:(?P<m>{_NUMBER}) *(?P<unit>m|mins?|minutes?)?)?"
)
_ISO_DURATION = re.compile(
    rf"p(?:([0-9]{{1,3}})d)?(?:t(?:({_NUMBER})h)?(?:({_NUMBER})m)?(?:([0-9]{{1,6}})s)?)?"
)
_CLOCK_DURATION = re.compile(r"([0-9]{1,2}):([0-5][0-9])")


def parse_duration(text: str) -> timedelta:
    """`90m`, `1h30m`, `2h`, `1h 30m`, `45 min`, `1.5h`, `1:30`, `PT90M` → 5 minutes to 24 hours."""
    flat = " ".join(text.split())
    minutes = _duration_minutes(flat)
    if minutes is False:
        raise TimeParseError(
            _(
                "{text} needs a unit: {minutes} for minutes or {hours} for hours.",
                text=quote(flat),
                minutes="90m",
                hours="2h",
            )
        )
    if minutes is None:
        raise TimeParseError(
            _(
                "{text} is not a duration I can read; write {first}, {second} or {third}.",
                text=quote(flat),
                first="90m",
                second="1h30m",
                third="1.5h",
            )
        )
    if minutes.denominator != 1:
        raise TimeParseError(_("{text} is not a whole number of minutes.", text=quote(flat)), understood=True)
    duration = timedelta(minutes=int(minutes))
    if not MIN_DURATION <= duration <= MAX_DURATION:
        too = (
            _("{text} is too short: a duration is between 5 minutes and 24 hours.", text=quote(flat))
            if duration < MIN_DURATION
            else _("{text} is too long: a duration is between 5 minutes and 24 hours.", text=quote(flat))
        )
        raise TimeParseError(too, understood=True)
    return duration


def _duration_minutes(text: str) -> Fraction | bool | None:
    """Minutes, exactly; None if unreadable; False for a bare number (which unit?)."""
    text = text.strip().lower()
    if not text or len(text) > 40:
        return None
    if re.fullmatch(_NUMBER, text):
        return False
    clock_form = _CLOCK_DURATION.fullmatch(text)
    if clock_form:
        return Fraction(int(clock_form.group(1)) * 60 + int(clock_form.group(2)))
    iso = _ISO_DURATION.fullmatch(text)
    if iso and text not in ("p", "pt") and any(iso.groups()):
        days, hours, minutes, seconds = (_fraction(g) for g in iso.groups())
        return days * 1440 + hours * 60 + minutes + seconds / 60
    human = _HUMAN_DURATION.fullmatch(text)
    if not human or not (human["h"] or human["m"]) or (human["m"] and not human["unit"] and not human["h"]):
        return None
    return _fraction(human["h"]) * 60 + _fraction(human["m"])


def _fraction(number: str | None) -> Fraction:
    return Fraction(number.replace(",", ".")) if number else Fraction(0)


_DAY_MONTH_YEAR = re.compile(r"(?:([a-z]+),? +)?([0-9]{1,2})(?:st|nd|rd|th)? +([a-z]+)\.?,?(?: +([0-9]{4}))?")
_MONTH_DAY_YEAR = re.compile(r"(?:([a-z]+),? +)?([a-z]+)\.? +([0-9]{1,2})(?:st|nd|rd|th)?,?(?: +([0-9]{4}))?")


def parse_date(text: str) -> date:
    """`2026-12-03`, `3 Dec 2026`, `Thu 3 Dec 2026`, `December 3, 2026` → a date."""
    flat = " ".join(text.split())
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", flat):
        try:
            return date.fromisoformat(flat)
        except ValueError:
            raise TimeParseError(_("{text} is not a date on the calendar.", text=quote(flat))) from None
    lower = flat.lower()
    dmy, mdy = _DAY_MONTH_YEAR.fullmatch(lower), _MONTH_DAY_YEAR.fullmatch(lower)
    if dmy:
        weekday, day, month, year = dmy.groups()
    elif mdy:
        weekday, month, day, year = mdy.groups()
    else:
        weekday = month = day = year = None
    if month not in _MONTHS or (weekday is not None and weekday not in _WEEKDAYS):
        raise TimeParseError(
            _(
                "{text} is not a date I can read; write {first} or {second}.",
                text=quote(flat),
                first="2026-12-03",
                second="3 Dec 2026",
            )
        )
    if year is None:
        raise TimeParseError(
            _("{text} needs a year, as in {example}.", text=quote(flat), example="3 Dec 2026")
        )
    try:
        result = date(int(year), _MONTHS[month], int(day))
    except ValueError:
        raise TimeParseError(_("{text} is not a date on the calendar.", text=quote(flat))) from None
    if weekday is not None and _WEEKDAYS[weekday] != result.weekday():
        raise TimeParseError(
            _(
                "{text} does not add up: {date} is a {weekday}.",
                text=quote(flat),
                date=date_label(result),
                weekday=weekday_name(result.weekday()),
            )
        )
    return result
