"""The demo's group: a small, realistic ISCG, so every page, feed and report has something to show.

    the group      the demo user is the Chair; a management team (one per advisory group: TDAG, TSAG, RAG,
                   each in a zone of their own); the secretariat; the group room bound; a group-wide
                   management-team meeting in two to three weeks
    cop            Child Online Protection (Europe/Zurich): a coordinator, focal points from ITU-T, ITU-D and
                   the General Secretariat; a coordination call every 2 weeks (none in the year-end
                   break) whose first occurrence was held last week, with approved minutes (decisions,
                   key issues, three actions: one overdue, one due later, one done)
    ai             AI for Good (America/New_York, an encrypted room): a coordinator, ITU-R and ITU-T focal
                   points, a workshop-planning meeting next week with an agenda and RSVPs, an open action

Everything is written through the bot's own domain functions (`organisation`, `meetings`, `minutes`,
`actions`) and repositories, timed by the bot's clock: the history is replayed as if it had happened
(the subjects set up three weeks before the meeting, the minutes approved on the next working day). The past
meeting's reminders and the overdue action's reminder are recorded as sent then, as a running bot would
have done. Seeding is one transaction, marked done in the bot's state: a restart seeds nothing twice.

The group writes in the demo's language (`iscg-bot demo --lang fr`): its titles, agendas, minutes and
actions are messages of the bot's catalog, seeded translated (the commands in the minutes stay as they are).
Four people have chosen their own language (`!lang`), so the demo shows a reply in each reader's: Fatima
(Arabic), Mei (Chinese), Claire (French) and Sofía (Spanish).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from iscg_bot.chat.reminders import reminders_of
from iscg_bot.core.language import SOURCE, _, lazy, speaking
from iscg_bot.domain import actions, meetings, minutes, organisation
from iscg_bot.domain.minutes import Heard
from iscg_bot.domain.recurrence import parse_repeat
from iscg_bot.domain.roles import AdvisoryGroup, RoleKind, Sector
from iscg_bot.domain.timeparse import When
from iscg_bot.render import minutes_files
from iscg_bot.storage import UnitOfWork

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from iscg_bot.storage import ActionItem, Meeting, MeetingSession, Subject

SEEDED = "demo.seeded"  # bot state key: when the demo group was seeded
SETUP_BEFORE_MEETING = timedelta(days=21)  # the subjects were set up three weeks before the meeting held


@dataclass(frozen=True)
class Member:
    """One of the demo's people: a Matrix user on the demo homeserver, with the zone they work in."""

    localpart: str
    name: str  # the Chair's and the secretariat's are messages (translated where shown); the others, names
    timezone: str
    language: str | None = None  # their own choice (`!lang`); None: the room's

    def user_id(self, server_name: str) -> str:
        return f"@{self.localpart}:{server_name}"


@dataclass(frozen=True)
class SubjectPlan:
    slug: str
    title: str
    description: str
    timezone: str
    room_name: str
    encrypted: bool
    coordinator: Member
    focal_points: tuple[tuple[Member, Sector], ...]

    @property
    def people(self) -> tuple[Member, ...]:
        return (self.coordinator, *(member for member, _ in self.focal_points))


CHAIR = Member("chair", lazy("Demo Chair"), "Europe/Zurich")
MANAGEMENT = (
    (Member("amina", "Amina Diallo", "Africa/Dakar"), AdvisoryGroup.TDAG),
    (Member("kenji", "Kenji Watanabe", "Asia/Tokyo"), AdvisoryGroup.TSAG),
    (Member("sofia", "Sofía Herrera", "America/Bogota", "es"), AdvisoryGroup.RAG),
)
SECRETARIAT = Member("secretariat", lazy("ISCG Secretariat"), "Europe/Zurich")
GROUP_ROOM_NAME = lazy("ISCG — group room")
GROUP_ROOM_TOPIC = lazy("The Inter-Sector Coordination Group's own room: the Chair and the management team")

COP = SubjectPlan(
    slug="cop",
    title=lazy("Child Online Protection"),
    description=lazy(
        "Guidelines for children, parents, educators, industry and policy makers, developed with the three "
        "Sectors and the General Secretariat so that no study is done twice."
    ),
    timezone="Europe/Zurich",
    room_name=lazy("ISCG · Child Online Protection"),
    encrypted=False,
    coordinator=Member("fatima", "Fatima Al-Sayed", "Asia/Dubai", "ar"),
    focal_points=(
        (Member("mei", "Mei Lin", "Asia/Shanghai", "zh"), Sector.ITU_T),
        (Member("joao", "João Pereira", "America/Sao_Paulo"), Sector.ITU_D),
        (Member("claire", "Claire Dubois", "Europe/Zurich", "fr"), Sector.GS),
    ),
)
AI = SubjectPlan(
    slug="ai",
    title=lazy("AI for Good"),
    description=lazy(
        "Artificial intelligence in the Sectors' work: AI in spectrum management, AI standards, and AI "
        "readiness in developing countries."
    ),
    timezone="America/New_York",
    room_name=lazy("ISCG · AI for Good"),
    encrypted=True,
    coordinator=Member("daniel", "Daniel Okafor", "America/New_York"),
    focal_points=(
        (Member("priya", "Priya Raman", "Asia/Kolkata"), Sector.ITU_R),
        (Member("lars", "Lars Nilsson", "Europe/Stockholm"), Sector.ITU_T),
    ),
)
SUBJECTS = (COP, AI)
GROUP_PEOPLE = (CHAIR, *(member for member, _ in MANAGEMENT), SECRETARIAT)
CAST = (*GROUP_PEOPLE, *(member for plan in SUBJECTS for member in plan.people))
SERIES_TITLE = lazy("Child Online Protection — coordination call")
WORKSHOP_TITLE = lazy("AI for Good — workshop planning")
MANAGEMENT_TITLE = lazy("ISCG management team — preparing the annual report")
COP_GUIDELINES = "https://www.itu-cop-guidelines.com"
FIRST_TOPIC = lazy("Draft guidelines for developing countries")  # the series' agenda, and the call's topics
SECOND_TOPIC = lazy("A joint workshop in 2027")


@dataclass(frozen=True)
class DemoRooms:
    """The demo's Matrix rooms: the group room and each subject's, by slug; `language`, what their names
    were written in when they were made (a demo started again in another language keeps them)."""

    group: str
    subjects: dict[str, str]
    language: str = SOURCE

    def name(self, message: str) -> str:
        """A room's name (GROUP_ROOM_NAME, a plan's `room_name`) as the room has it."""
        with speaking(self.language):
            return _(message)


def _working_day(day: date) -> bool:
    """Monday to Friday, outside the year-end break (24 Dec to 1 Jan), when the group does not meet."""
    return day.weekday() < 5 and not _year_end_break(day)


def _year_end_break(day: date) -> bool:
    return (day.month, day.day) >= (12, 24) or (day.month, day.day) == (1, 1)


def _working_day_on_or_before(day: date) -> date:
    while not _working_day(day):
        day -= timedelta(days=1)
    return day


def _working_day_on_or_after(day: date) -> date:
    while not _working_day(day):
        day += timedelta(days=1)
    return day


def past_meeting_day(today: date) -> date:
    """The day the held meeting took place: a working day last week — or, in early January, the year's first
    working day if it is at least four days ago, so that this year's report has a meeting held."""
    last_week = _working_day_on_or_before(today - timedelta(days=7))
    first_of_year = _working_day_on_or_after(date(today.year, 1, 2))
    if last_week < first_of_year <= today - timedelta(days=4):
        return first_of_year
    return last_week


def _at(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone)).astimezone(UTC)


async def seed_group(
    sessions: async_sessionmaker[AsyncSession],
    *,
    rooms: DemoRooms,
    server_name: str,
    now: datetime,
    default_zone: str,
    base_url: str,
    prefix: str = "!",
    reminder_offsets: tuple[int, ...] | list[int] = (),
    language: str = SOURCE,
) -> bool:
    """Seed the demo group, its texts written in `language`, unless it already is; whether it was seeded
    now."""
    async with UnitOfWork(sessions) as uow:
        if await uow.state.get(SEEDED) is not None:
            return False
        seeder = _Seeder(
            uow, rooms, server_name, now, default_zone, base_url, prefix, tuple(reminder_offsets)
        )
        with speaking(language):
            await seeder.run()
        await uow.state.set(SEEDED, now.isoformat(), now)
        await uow.commit()
    return True


class _Seeder:
    def __init__(
        self,
        uow: UnitOfWork,
        rooms: DemoRooms,
        server_name: str,
        now: datetime,
        default_zone: str,
        base_url: str,
        prefix: str,
        reminder_offsets: tuple[int, ...],
    ) -> None:
        self.uow, self.rooms, self.server, self.now = uow, rooms, server_name, now
        self.default_zone, self.base_url, self.prefix = default_zone, base_url, prefix
        self.reminder_offsets = reminder_offsets
        self.held_day = past_meeting_day(now.astimezone(ZoneInfo(COP.timezone)).date())
        self.held_start = _at(self.held_day, 14, 0, COP.timezone)
        self.setup_at = self.held_start - SETUP_BEFORE_MEETING
        self.events = 0

    def id(self, member: Member) -> str:
        return member.user_id(self.server)

    async def run(self) -> None:
        subjects = await self.organisation()
        await self.cop_history(subjects[COP.slug])
        await self.ai_plans(subjects[AI.slug])
        await self.group_meeting()

    # ---- who is who --------------------------------------------------------------------------------------

    async def organisation(self) -> dict[str, Subject]:
        uow, at = self.uow, self.setup_at
        rooms_of = {self.rooms.group: GROUP_PEOPLE}
        rooms_of |= {self.rooms.subjects[plan.slug]: (CHAIR, *plan.people) for plan in SUBJECTS}
        for member in CAST:
            await uow.people.set_display_name(self.id(member), _(member.name), at)
            await uow.people.set_timezone(self.id(member), member.timezone, at)
            if member.language is not None:
                await uow.people.set_language(self.id(member), member.language, at)
        for room_id, people in rooms_of.items():
            for member in people:
                await uow.members.record(room_id, self.id(member), "join", _(member.name), at)
        chair = self.id(CHAIR)
        await organisation.bind_group_room(uow, self.rooms.group, at)
        await organisation.appoint(uow, organisation.Appointment(chair, RoleKind.CHAIR), by=chair, at=at)
        for member, group in MANAGEMENT:
            wanted = organisation.Appointment(self.id(member), RoleKind.MANAGEMENT, advisory_group=group)
            await organisation.appoint(uow, wanted, by=chair, at=at)
        secretariat = organisation.Appointment(self.id(SECRETARIAT), RoleKind.SECRETARIAT)
        await organisation.appoint(uow, secretariat, by=chair, at=at)
        subjects: dict[str, Subject] = {}
        for plan in SUBJECTS:
            subject = await organisation.create_subject(
                uow,
                slug=plan.slug,
                title=_(plan.title),
                room_id=self.rooms.subjects[plan.slug],
                timezone=plan.timezone,
                by=chair,
                at=at,
            )
            await organisation.change_subject(uow, subject, "description", _(plan.description), at)
            coordinator = organisation.Appointment(self.id(plan.coordinator), RoleKind.COORDINATOR, subject)
            await organisation.appoint(uow, coordinator, by=chair, at=at)
            for member, sector in plan.focal_points:
                focal = organisation.Appointment(
                    self.id(member), RoleKind.FOCAL_POINT, subject=subject, sector=sector
                )
                await organisation.appoint(uow, focal, by=chair, at=at)
            subjects[plan.slug] = subject
        return subjects

    async def schedule(
        self,
        subject: Subject | None,
        room_id: str,
        title: str,
        start: datetime,
        zone: str,
        *,
        minutes_long: int,
        by: str,
        at: datetime,
        repeat: str | None = None,
        link: str | None = None,
        agenda: tuple[str, ...] = (),
    ) -> Meeting:
        request = meetings.ScheduleRequest(
            title=title,
            when=When(start, zone),
            duration=timedelta(minutes=minutes_long),
            repeat=parse_repeat(repeat) if repeat else None,
            link=link,
            agenda=agenda,
            force=True,  # the demo's meetings never overlap; a conflict would not stop the demo
        )
        outcome = await meetings.schedule(
            self.uow, request, subject=subject, room_id=room_id, by=by, at=at, default_zone=self.default_zone
        )
        assert outcome.meeting is not None  # forced: scheduled whatever the conflicts
        return outcome.meeting

    # ---- Child Online Protection: a series, its first meeting held and minuted -------------------------

    async def cop_history(self, subject: Subject) -> None:
        """The series set up, its first call held and minuted, the minutes approved the next working day."""
        series = await self.cop_series(subject)
        overdue = self.held_day + timedelta(days=3)
        room, coordinator = self.rooms.subjects[COP.slug], self.id(COP.coordinator)
        session = await minutes.start(
            self.uow, room_id=room, subject=subject, meeting=series, by=coordinator, now=self.held_start
        )
        await self.cop_discussion(session, series)
        circulate, invite = await self.cop_actions(session, subject, overdue)
        await self.cop_call_ended(session)
        await self.cop_next_day(session, invite)
        # The due-day reminder went out on the day, as a running bot would have sent it.
        await self.uow.actions.claim_due_reminder(circulate.id, overdue)

    async def cop_series(self, subject: Subject) -> Meeting:
        """A call every two weeks for half a year, none in the year-end break; RSVPs to it; reminders sent."""
        coordinator = self.id(COP.coordinator)
        mei, joao, claire = (self.id(member) for member, _ in COP.focal_points)
        until = (self.held_day + timedelta(days=182)).isoformat()
        series = await self.schedule(
            subject,
            self.rooms.subjects[COP.slug],
            _(SERIES_TITLE),
            self.held_start,
            COP.timezone,
            minutes_long=60,
            by=coordinator,
            at=self.setup_at + timedelta(hours=2),
            repeat=f"every 2 weeks until {until}",
            agenda=(_(FIRST_TOPIC), _(SECOND_TOPIC)),
        )
        assert series.series_end_utc is not None  # a series repeated "until" a day ends
        for occurrence in meetings.expand(series, self.held_start + timedelta(days=1), series.series_end_utc):
            day = occurrence.start.astimezone(ZoneInfo(COP.timezone)).date()
            if _year_end_break(day):
                at = self.setup_at + timedelta(hours=3)
                await meetings.cancel(self.uow, series, occurrence=day, reason=_("Year-end break"), at=at)
        answered = self.setup_at + timedelta(days=1)
        for who, answer in ((coordinator, "yes"), (mei, "yes"), (joao, "yes"), (claire, "maybe")):
            await self.uow.rsvps.set(series.id, who, answer, via="command", at=answered)
        await self.claim_reminders_sent(series)
        return series

    async def cop_discussion(self, session: MeetingSession, series: Meeting) -> None:
        """The call's log from `!startmeeting`: two topics, with what was said, agreed and linked in each."""
        coordinator = self.id(COP.coordinator)
        mei, joao, claire = (self.id(member) for member, _ in COP.focal_points)
        said = [
            (0, coordinator, f"{self.prefix}startmeeting M{series.id}", None),
            (1, coordinator, f"{self.prefix}topic {_(FIRST_TOPIC)}", "topic"),
            (3, joao, _("The regional offices collected comments from 14 administrations."), None),
            (
                4,
                joao,
                f"{self.prefix}info " + _("Most comments ask for a short version for parents and educators"),
                "info",
            ),
            (7, mei, _("ITU-T SG17 has a work item on age assurance that overlaps with section 4."), None),
            (
                9,
                coordinator,
                f"{self.prefix}agreed "
                + _("Section 4 refers to the ITU-T SG17 work on age assurance instead of repeating it"),
                "agreed",
            ),
            (11, coordinator, f"{self.prefix}link {COP_GUIDELINES} " + _("The current guidelines"), "link"),
            (
                14,
                claire,
                f"{self.prefix}keyissue "
                + _(
                    "No budget is confirmed yet for translating the guidelines into the six official "
                    "languages"
                ),
                "keyissue",
            ),
            (20, coordinator, f"{self.prefix}topic {_(SECOND_TOPIC)}", "topic"),
            (22, mei, f"{self.prefix}idea " + _("Hold it back to back with the next TSAG meeting"), "idea"),
            (
                30,
                coordinator,
                f"{self.prefix}agreed "
                + _(
                    "Propose a joint ITU-T and ITU-D workshop on child online protection for the first half "
                    "of 2027"
                ),
                "agreed",
            ),
        ]
        room = self.rooms.subjects[COP.slug]
        for offset, who, text, tag in said:
            await self.say(session, room, self.held_start + timedelta(minutes=offset), who, text, tag)

    async def cop_actions(
        self, session: MeetingSession, subject: Subject, overdue: date
    ) -> tuple[ActionItem, ActionItem]:
        """Three actions taken at the end of the call: one due `overdue`, one due later, one with no date;
        the first and the last of them."""
        coordinator = self.id(COP.coordinator)
        mei, joao = (self.id(member) for member, _ in COP.focal_points[:2])
        later = _working_day_on_or_after(self.held_day + timedelta(days=30))
        taken = (
            (34, joao, _("Circulate the revised draft to the ITU-D study groups"), overdue),
            (36, mei, _("Ask the TSAG management for a workshop slot"), later),
            (38, coordinator, _("Invite UNICEF to the next coordination call"), None),
        )
        items = []
        for offset, owner, what, due in taken:
            at = self.held_start + timedelta(minutes=offset)
            items.append(await self.action(session, subject, at, coordinator, owner, what, due))
        circulate, _slot, invite = items
        return circulate, invite

    async def cop_call_ended(self, session: MeetingSession) -> None:
        """`!endmeeting` 55 minutes in, and the draft minutes rendered."""
        room, coordinator = self.rooms.subjects[COP.slug], self.id(COP.coordinator)
        end = self.held_start + timedelta(minutes=55)
        await self.say(session, room, end, coordinator, f"{self.prefix}endmeeting", None)
        await minutes.end(self.uow, session, now=end)
        await self.render(session, end, COP.timezone)

    async def cop_next_day(self, session: MeetingSession, invite: ActionItem) -> None:
        """The next working day: the invitation sent, then the minutes approved (both before now)."""
        coordinator = self.id(COP.coordinator)
        next_day = _working_day_on_or_after(self.held_day + timedelta(days=1))
        done = min(_at(next_day, 9, 30, COP.timezone), self.now - timedelta(minutes=10))
        await actions.set_status(self.uow, invite, "done", by=coordinator, now=done)
        approved = min(_at(next_day, 11, 0, COP.timezone), self.now - timedelta(minutes=5))
        await minutes.approve(self.uow, session, by=coordinator, now=approved)
        await self.render(session, approved, COP.timezone)

    async def say(
        self, session: MeetingSession, room: str, at: datetime, who: str, text: str, tag: str | None
    ) -> Heard:
        self.events += 1
        heard = Heard(f"$demo-{self.events}-{session.id}", who, at, text)
        await minutes.record(self.uow, session, heard, room_id=room)
        if tag is not None:
            words = text.split(" ", 2) if tag == "link" else text.split(" ", 1)
            args = {"url": words[1], "text": words[2]} if tag == "link" else {"text": words[1]}
            await minutes.tag(self.uow, session, heard, tag, args, room_id=room)
        return heard

    async def action(
        self,
        session: MeetingSession,
        subject: Subject,
        at: datetime,
        by: str,
        owner: str,
        what: str,
        due: date | None,
    ) -> ActionItem:
        """`!action <owner> <what> due <day>` said in the meeting: the item, and its tagged minutes line."""
        room = subject.room_id
        said = f"{self.prefix}action {owner} {what}" + (f" due {due.isoformat()}" if due else "")
        heard = await self.say(session, room, at, by, said, None)
        item = await actions.create(
            self.uow,
            subject_id=subject.id,
            room_id=room,
            owner=owner,
            text=what,
            due=due,
            by=by,
            now=at,
            zone=subject.timezone,
            session_id=session.id,
            event_id=heard.event_id,
        )
        args = {
            "who": owner,
            "text": what,
            "due": due.isoformat() if due else None,
            "action": actions.action_label(item.id),
        }
        await minutes.tag(self.uow, session, heard, "action", args, room_id=room)
        return item

    async def render(self, session: MeetingSession, at: datetime, zone: str) -> None:
        await minutes_files.render(
            self.uow, session, zone=zone, base_url=self.base_url, now=at, prefix=self.prefix
        )

    async def claim_reminders_sent(self, meeting: Meeting) -> None:
        """Record the meeting's reminders that fell due before now as sent when due."""
        for reminder in reminders_of(
            meeting, self.reminder_offsets, due_from=meeting.created_at, due_until=self.now
        ):
            await self.uow.reminders.claim(
                reminder.meeting_id, reminder.occurrence_utc, reminder.offset_minutes, at=reminder.due
            )

    # ---- AI for Good: a meeting to come -----------------------------------------------------------------

    async def ai_plans(self, subject: Subject) -> None:
        uow, room = self.uow, self.rooms.subjects[AI.slug]
        coordinator = self.id(AI.coordinator)
        priya, lars = (self.id(member) for member, _ in AI.focal_points)
        today = self.now.astimezone(ZoneInfo(AI.timezone)).date()
        decided = self.now - timedelta(days=2)
        workshop = await self.schedule(
            subject,
            room,
            _(WORKSHOP_TITLE),
            _at(_working_day_on_or_after(today + timedelta(days=9)), 10, 0, AI.timezone),
            AI.timezone,
            minutes_long=90,
            by=coordinator,
            at=decided,
            link="https://meet.jit.si/ISCG-AI-for-Good-demo",
            agenda=(
                _("AI in spectrum management: what ITU-R study groups already cover"),
                _("AI standards in ITU-T: overlaps to avoid"),
                _("Date and format of the workshop"),
            ),
        )
        for who, answer in ((coordinator, "yes"), (priya, "yes"), (lars, "no")):
            await uow.rsvps.set(workshop.id, who, answer, via="command", at=decided + timedelta(hours=3))
        await actions.create(
            uow,
            subject_id=subject.id,
            room_id=room,
            owner=priya,
            text=_("List the ITU-R studies that use AI for spectrum management"),
            due=None,
            by=coordinator,
            now=decided,
            zone=subject.timezone,
        )

    # ---- the group room: the management team's meeting --------------------------------------------------

    async def group_meeting(self) -> None:
        today = self.now.astimezone(ZoneInfo(self.default_zone)).date()
        await self.schedule(
            None,
            self.rooms.group,
            _(MANAGEMENT_TITLE),
            _at(_working_day_on_or_after(today + timedelta(days=16)), 12, 0, self.default_zone),
            self.default_zone,
            minutes_long=60,
            by=self.id(CHAIR),
            at=self.now - timedelta(days=1),
            agenda=(
                _("Progress by subject"),
                _("Key issues for the Bureau Directors"),
                _("The report to TSAG, RAG and TDAG"),
            ),
        )
