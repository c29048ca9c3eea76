"""The router's argument types for times: `<when>`, durations, dates and zones, read in the sender's zone.

The reading itself is the domain's (`iscg_bot.domain.timeparse`); these turn its refusals into usage errors.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Generic, TypeVar

from iscg_bot.chat.arguments import UsageError, WordType
from iscg_bot.core.i18n import current, lazy
from iscg_bot.domain.timeparse import (
    TimeParseError,
    When,
    canonical_zone,
    parse_date,
    parse_duration,
    parse_when,
)

if TYPE_CHECKING:
    from iscg_bot.chat.context import Context


async def reading_zone(ctx: Context) -> str:
    """The zone a time without one is read in: the sender's, else this room's subject's, else the default."""
    if "reading_zone" not in ctx.cache:
        person = await ctx.uow.people.get(ctx.sender)
        zone = getattr(person, "timezone", None)
        if not _loadable(zone):
            subject = await ctx.uow.subjects.by_room(ctx.room_id)
            zone = getattr(subject, "timezone", None)
        if not _loadable(zone):
            zone = ctx.services.config.bot.default_timezone
        ctx.cache["reading_zone"] = zone
    return ctx.cache["reading_zone"]


def _loadable(zone: str | None) -> bool:
    if not zone:
        return False
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _usage_error(error: TimeParseError) -> UsageError:
    return UsageError(str(error))


class WhenType:
    """`<when>`: every word it is given (the router stops them at the next keyword: for, every, until…);
    natural forms in English or in the sender's language (`demain 14h`)."""

    name = lazy("a time such as 2026-12-03 14:00 Europe/Zurich")

    async def parse(self, words: Sequence[str], ctx: Context) -> tuple[When, int]:
        return await self.parse_text(" ".join(words), ctx), len(words)

    async def parse_text(self, text: str, ctx: Context) -> When:
        zone = await reading_zone(ctx)
        try:
            return parse_when(text, now=ctx.now, reading_zone=zone, language=current())  # the sender's
        except TimeParseError as error:
            raise _usage_error(error) from None

    def __repr__(self) -> str:
        return "WhenType()"


T = TypeVar("T")


class _LongestPrefix(Generic[T]):
    """Reads a value from the longest run of first words (at most `most`): `1h 30m`, `3 Dec 2026`."""

    name = ""
    most = 1

    def read(self, text: str) -> T:
        raise NotImplementedError

    def parse(self, words: Sequence[str], ctx: Context) -> tuple[T, int]:
        longest = min(self.most, len(words))
        for count in range(longest, 0, -1):
            try:
                return self.read(" ".join(words[:count])), count
            except TimeParseError as error:
                if error.understood or count == longest:  # read and refused, or what the user meant
                    problem = error
                if error.understood:
                    break
        raise _usage_error(problem)

    def parse_text(self, text: str, ctx: Context) -> T:
        try:
            return self.read(text)
        except TimeParseError as error:
            raise _usage_error(error) from None

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class DurationType(_LongestPrefix[timedelta]):
    name = lazy("a duration like 90m")
    most = 4  # 1 h 30 min

    def read(self, text: str) -> timedelta:
        return parse_duration(text)


class DateType(_LongestPrefix[date]):
    name = lazy("a date like 2026-12-03")
    most = 4  # Thu 3 Dec 2026

    def read(self, text: str) -> date:
        return parse_date(text)


class TimeZoneType(WordType):
    """An IANA time zone name, case-insensitive; the value is the canonical name (`Asia/Tokyo`)."""

    name = lazy("a time zone such as Europe/Zurich")

    def convert(self, word: str, ctx: Context) -> str:
        try:
            return canonical_zone(word)
        except TimeParseError as error:
            raise UsageError(str(error)) from None


WhenArg = Annotated[When, WhenType()]
DurationArg = Annotated[timedelta, DurationType()]
DateArg = Annotated[date, DateType()]
TimeZone = Annotated[str, TimeZoneType()]
