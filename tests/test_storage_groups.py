"""Subjects, roles, room members and people's e-mail on SQLite and PostgreSQL; migrating up from 0001."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import column, delete, func, insert, inspect, select, table
from sqlalchemy.exc import IntegrityError

from iscg_bot.storage import (
    AlreadyExists,
    Database,
    RoleAssignment,
    RoomMember,
    Subject,
    UnitOfWork,
    UTCDateTime,
)
from tests.support.old_schema import PEOPLE_0002, SUBJECTS_0002

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
COP_ROOM = "!cop:example.org"
AI_ROOM = "!ai4good:example.org"
ADMIN = "@admin:example.org"
ANN = "@ann:example.org"
BOB = "@bob:example.org"


async def create_subject(uow: UnitOfWork, slug: str, room_id: str, *, at: datetime = T0) -> Subject:
    return await uow.subjects.create(
        slug=slug, title=f"{slug} title", room_id=room_id, timezone="Europe/Zurich", created_by=ADMIN, at=at
    )


# --- subjects --------------------------------------------------------------------------------------------


async def test_a_subject_is_found_by_id_slug_and_room(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        created = await create_subject(uow, "cop", COP_ROOM)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        subject = await uow.subjects.get(created.id)
        assert subject is not None
        assert await uow.subjects.by_slug("cop") is subject
        assert await uow.subjects.by_room(COP_ROOM) is subject
        assert await uow.subjects.get(created.id + 1) is None
        assert await uow.subjects.by_slug("nope") is None
        assert await uow.subjects.by_room(AI_ROOM) is None
    assert (subject.slug, subject.title, subject.timezone, subject.room_id) == (
        "cop",
        "cop title",
        "Europe/Zurich",
        COP_ROOM,
    )
    assert (subject.description, subject.archived, subject.room_active, subject.created_by) == (
        "",
        False,
        True,
        ADMIN,
    )
    assert (subject.created_at, subject.updated_at) == (T0, T0)


async def test_subjects_are_listed_by_slug_and_archived_ones_only_when_asked(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        for slug in ("wsis", "ai4good", "cop"):
            await create_subject(uow, slug, f"!{slug}:example.org")
        cop = await uow.subjects.by_slug("cop")
        assert cop is not None
        await uow.subjects.update(cop, archived=True, at=LATER)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        assert [s.slug for s in await uow.subjects.list()] == ["ai4good", "wsis"]
        assert [s.slug for s in await uow.subjects.list(include_archived=True)] == ["ai4good", "cop", "wsis"]
        archived = await uow.subjects.by_room("!cop:example.org")
    assert archived is not None and archived.archived  # an archived subject keeps its room


async def test_a_taken_slug_or_room_is_refused_and_the_transaction_goes_on(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        await create_subject(uow, "cop", COP_ROOM)
        with pytest.raises(AlreadyExists) as slug_taken:
            await create_subject(uow, "cop", AI_ROOM)
        with pytest.raises(AlreadyExists) as room_taken:
            await create_subject(uow, "ai4good", COP_ROOM)
        await create_subject(uow, "ai4good", AI_ROOM)
        await uow.commit()

    assert (slug_taken.value.field, room_taken.value.field) == ("slug", "room_id")
    async with UnitOfWork(database.sessions) as uow:
        assert [s.slug for s in await uow.subjects.list()] == ["ai4good", "cop"]


async def test_the_unique_constraints_back_the_checks_up(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        await create_subject(uow, "cop", COP_ROOM)
        duplicate = Subject(
            slug="other",
            title="t",
            room_id=COP_ROOM,
            timezone="UTC",
            created_by=ADMIN,
            created_at=T0,
            updated_at=T0,
        )
        uow.session.add(duplicate)
        with pytest.raises(IntegrityError):
            await uow.session.flush()


async def test_an_update_changes_only_the_fields_given(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        subject = await create_subject(uow, "cop", COP_ROOM)
        await uow.subjects.update(subject, description="Child Online Protection", at=LATER)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        subject = await uow.subjects.by_slug("cop")
        assert subject is not None
        assert (subject.title, subject.description, subject.timezone, subject.archived) == (
            "cop title",
            "Child Online Protection",
            "Europe/Zurich",
            False,
        )
        assert (subject.created_at, subject.updated_at) == (T0, LATER)
        await uow.subjects.update(subject, title="COP", timezone="Asia/Tokyo", at=LATER + timedelta(hours=1))
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        subject = await uow.subjects.by_slug("cop")
        assert subject is not None
        assert (subject.title, subject.description, subject.timezone, subject.updated_at) == (
            "COP",
            "Child Online Protection",
            "Asia/Tokyo",
            LATER + timedelta(hours=1),
        )


async def test_a_room_upgrade_moves_the_subject(database: Database) -> None:
    upgraded = "!cop-v2:example.org"
    async with UnitOfWork(database.sessions) as uow:
        cop = await create_subject(uow, "cop", COP_ROOM)
        await create_subject(uow, "ai4good", AI_ROOM)
        assert await uow.subjects.move_room("!unbound:example.org", upgraded, LATER) is None
        with pytest.raises(AlreadyExists) as taken:
            await uow.subjects.move_room(COP_ROOM, AI_ROOM, LATER)
        assert taken.value.field == "room_id"
        assert await uow.subjects.move_room(COP_ROOM, upgraded, LATER) is cop
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.subjects.by_room(COP_ROOM) is None
        moved = await uow.subjects.by_room(upgraded)
    assert moved is not None and (moved.slug, moved.updated_at) == ("cop", LATER)


async def test_a_subject_room_goes_inactive_when_the_bot_is_removed(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        await create_subject(uow, "cop", COP_ROOM)
        assert await uow.subjects.set_room_active(AI_ROOM, False, LATER) is None
        inactive = await uow.subjects.set_room_active(COP_ROOM, False, LATER)
        assert inactive is not None and not inactive.room_active
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        subject = await uow.subjects.by_room(COP_ROOM)
        assert subject is not None and (subject.room_active, subject.updated_at) == (False, LATER)
        await uow.subjects.set_room_active(COP_ROOM, True, LATER)
        assert subject.room_active


# --- roles -----------------------------------------------------------------------------------------------


async def test_roles_are_active_until_ended_and_kept_in_the_history(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        cop = await create_subject(uow, "cop", COP_ROOM)
        await uow.roles.add(BOB, "focal_point", subject_id=cop.id, sector="ITU-T", by=ADMIN, at=T0)
        await uow.roles.add(ANN, "coordinator", subject_id=cop.id, by=ADMIN, at=T0)
        await uow.roles.add(ANN, "management", advisory_group="TSAG", by=ADMIN, at=T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        active = await uow.roles.active(at=LATER)
        assert [(a.role, a.matrix_id) for a in active] == [
            ("coordinator", ANN),
            ("focal_point", BOB),
            ("management", ANN),
        ]
        assert [a.role for a in await uow.roles.active(at=LATER, matrix_id=ANN)] == [
            "coordinator",
            "management",
        ]
        coordinators = await uow.roles.active(at=LATER, role="coordinator", subject_id=cop.id)
        assert [a.matrix_id for a in coordinators] == [ANN]
        assert [a.matrix_id for a in await uow.roles.active(at=LATER, sector="ITU-T")] == [BOB]
        assert [a.matrix_id for a in await uow.roles.active(at=LATER, advisory_group="TSAG")] == [ANN]
        assert await uow.roles.active(at=LATER, role="chair") == []

        await uow.roles.end(coordinators[0], by=ADMIN, at=LATER)
        await uow.roles.end(coordinators[0], by=BOB, at=LATER + timedelta(days=1))  # already ended: no change
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        assert [a.role for a in await uow.roles.active(at=LATER, matrix_id=ANN)] == ["management"]
        history = await uow.roles.history(subject_id=cop.id)
        assert [(a.role, a.matrix_id) for a in history] == [("focal_point", BOB), ("coordinator", ANN)]
        ended = history[1]
        assert (ended.ended_at, ended.ended_by, ended.assigned_by, ended.assigned_at) == (
            LATER,
            ADMIN,
            ADMIN,
            T0,
        )
        assert [a.role for a in await uow.roles.history(matrix_id=ANN)] == ["coordinator", "management"]
        assert len(await uow.roles.history()) == 3


async def test_a_role_is_active_only_within_its_term(database: Database) -> None:
    def year(y: int) -> datetime:
        return datetime(y, 1, 1, tzinfo=UTC)

    async with UnitOfWork(database.sessions) as uow:
        await uow.roles.add(ANN, "chair", term_start=year(2022), term_end=year(2026), by=ADMIN, at=T0)
        await uow.roles.add(BOB, "chair", term_start=year(2026), term_end=year(2030), by=ADMIN, at=T0)
        await uow.roles.add(ADMIN, "chair", term_start=year(2030), by=ADMIN, at=T0)  # not started yet
        await uow.commit()

    async def chairs(at: datetime) -> list[str]:
        async with UnitOfWork(database.sessions) as uow:
            return [a.matrix_id for a in await uow.roles.active(at=at, role="chair")]

    assert await chairs(datetime(2027, 1, 15, tzinfo=UTC)) == [BOB]  # Ann's term is over, Admin's to come
    assert await chairs(year(2026) - timedelta(seconds=1)) == [ANN]
    assert await chairs(year(2026)) == [BOB]  # a term starts at term_start and is over at term_end
    assert await chairs(year(2031)) == [ADMIN]


@pytest.mark.parametrize(
    ("constraint", "role", "sector", "advisory_group"),
    [
        ("role", "president", None, None),
        ("sector", "focal_point", "ITU-X", None),
        ("advisory_group", "management", None, "XAG"),
    ],
    ids=["role", "sector", "advisory_group"],
)
async def test_the_database_refuses_an_unknown_role_sector_or_advisory_group(
    database: Database, constraint: str, role: str, sector: str | None, advisory_group: str | None
) -> None:
    async with UnitOfWork(database.sessions) as uow:
        with pytest.raises(IntegrityError, match=f"ck_role_assignments_{constraint}"):
            await uow.roles.add(ANN, role, sector=sector, advisory_group=advisory_group, by=ADMIN, at=T0)


async def test_a_role_needs_an_existing_subject_and_keeps_it_from_being_deleted(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        with pytest.raises(IntegrityError):
            await uow.roles.add(ANN, "coordinator", subject_id=404, by=ADMIN, at=T0)

    async with UnitOfWork(database.sessions) as uow:
        cop = await create_subject(uow, "cop", COP_ROOM)
        assignment = await uow.roles.add(ANN, "coordinator", subject_id=cop.id, by=ADMIN, at=T0)
        await uow.roles.end(assignment, by=ADMIN, at=LATER)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        with pytest.raises(IntegrityError):  # ON DELETE RESTRICT: the history outlives nothing it names
            await uow.session.execute(delete(Subject).where(Subject.id == cop.id))


# --- room members ----------------------------------------------------------------------------------------


async def test_room_members_are_upserted_and_a_join_without_a_name_keeps_the_known_one(
    database: Database,
) -> None:
    async with UnitOfWork(database.sessions) as uow:
        await uow.members.record(COP_ROOM, ANN, "join", "Ann (ITU-T)", T0)
        await uow.members.record(COP_ROOM, BOB, "invite", "Bob", T0)
        await uow.members.record(AI_ROOM, BOB, "join", "Robert", T0)
        assert [m.matrix_id for m in await uow.members.joined(COP_ROOM)] == [ANN]

        await uow.members.record(COP_ROOM, BOB, "join", None, LATER)  # joined, no displayname: keep "Bob"
        await uow.members.record(COP_ROOM, ANN, "join", "Ann", LATER)  # renamed
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        joined = await uow.members.joined(COP_ROOM)
        assert [(m.matrix_id, m.display_name, m.updated_at) for m in joined] == [
            (ANN, "Ann", LATER),
            (BOB, "Bob", LATER),
        ]
        assert await uow.members.display_name(AI_ROOM, BOB) == "Robert"  # names are per room
        assert await uow.members.display_name(AI_ROOM, ANN) is None

        await uow.members.record(COP_ROOM, BOB, "leave", None, LATER)  # not a join: None is stored
        assert [m.matrix_id for m in await uow.members.joined(COP_ROOM)] == [ANN]
        assert await uow.members.display_name(COP_ROOM, BOB) is None
        bob = await uow.session.get(RoomMember, (COP_ROOM, BOB))
        assert bob is not None and bob.membership == "leave"  # the instance already loaded is refreshed


async def test_a_display_name_longer_than_the_column_is_cut(database: Database) -> None:
    long_name = "N" * 300  # Synapse allows 256 characters, other servers may send more
    async with UnitOfWork(database.sessions) as uow:
        await uow.members.record(COP_ROOM, ANN, "join", long_name, T0)
        person = await uow.people.set_display_name(ANN, long_name, T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        assert await uow.members.display_name(COP_ROOM, ANN) == "N" * 255
    assert person.display_name == "N" * 255


async def test_the_database_refuses_an_unknown_membership(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        with pytest.raises(IntegrityError):
            await uow.members.record(COP_ROOM, ANN, "lurk", None, T0)


# --- people ----------------------------------------------------------------------------------------------


async def test_a_person_has_an_email_and_many_are_read_at_once(database: Database) -> None:
    async with UnitOfWork(database.sessions) as uow:
        created = await uow.people.set_email(ANN, "ann@example.org", T0)
        assert (created.email, created.timezone) == ("ann@example.org", None)
        await uow.people.set_timezone(ANN, "Asia/Tokyo", LATER)
        await uow.people.set_display_name(BOB, "Bob", T0)
        await uow.commit()

    async with UnitOfWork(database.sessions) as uow:
        people = await uow.people.many([ANN, BOB, "@nobody:example.org", ANN])
        assert await uow.people.many([]) == {}
    assert sorted(people) == [ANN, BOB]
    assert (people[ANN].email, people[ANN].timezone, people[ANN].updated_at) == (
        "ann@example.org",
        "Asia/Tokyo",
        LATER,
    )
    assert people[BOB].email is None


# --- migrating up from the previous schema ---------------------------------------------------------------

# people as 0001_initial made it: the Person model has columns that did not exist yet.
PEOPLE_0001 = table(
    "people",
    column("matrix_id"),
    column("display_name"),
    column("timezone"),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)
NEW_TABLES = (Subject, RoleAssignment, RoomMember)


async def test_migrating_from_0001_keeps_the_data_and_can_go_back(unmigrated_database: Database) -> None:
    database = unmigrated_database
    await database.migrate("0001_initial")
    async with UnitOfWork(database.sessions) as uow:
        await uow.session.execute(
            insert(PEOPLE_0001).values(
                matrix_id=ANN, display_name="Ann", timezone="Asia/Tokyo", created_at=T0, updated_at=LATER
            )
        )
        await uow.events.record("$before", COP_ROOM, T0)
        await uow.session.commit()  # an old schema: no data_versions to raise

    await database.migrate("0002_subjects_roles")
    assert await database.current_revision() == "0002_subjects_roles"
    async with UnitOfWork(database.sessions) as uow:  # people with 0002's columns (the model has more)
        ann = (await uow.session.execute(select(PEOPLE_0002).where(PEOPLE_0002.c.matrix_id == ANN))).one()
        assert await uow.events.seen("$before")
        for model in NEW_TABLES:
            assert await uow.session.scalar(select(func.count()).select_from(model)) == 0
    assert (ann.display_name, ann.timezone, ann.email, ann.created_at, ann.updated_at) == (
        "Ann",
        "Asia/Tokyo",
        None,
        T0,
        LATER,
    )

    await database.downgrade("0001_initial")
    async with database.engine.connect() as conn:
        people_columns = await conn.run_sync(
            lambda sync_conn: [c["name"] for c in inspect(sync_conn).get_columns("people")]
        )
        tables = await conn.run_sync(lambda sync_conn: set(inspect(sync_conn).get_table_names()))
        kept = (await conn.execute(select(PEOPLE_0001.c.display_name))).scalars().all()
    assert people_columns == ["matrix_id", "display_name", "timezone", "created_at", "updated_at"]
    assert tables.isdisjoint(model.__tablename__ for model in NEW_TABLES)
    assert kept == ["Ann"]

    await database.migrate()
    async with UnitOfWork(database.sessions) as uow:
        await uow.people.set_email(ANN, "ann@example.org", LATER)
        await create_subject(uow, "cop", COP_ROOM)
        await uow.commit()


async def test_the_database_fills_in_a_subject_s_defaults(database: Database) -> None:
    # As a hand-written INSERT (or a later migration) would: only the columns without a default.
    async with UnitOfWork(database.sessions) as uow:
        await uow.session.execute(
            insert(SUBJECTS_0002).values(
                slug="cop",
                title="t",
                timezone="UTC",
                room_id=COP_ROOM,
                created_by=ADMIN,
                created_at=T0,
                updated_at=T0,
            )
        )
        subject = await uow.subjects.by_slug("cop")
    assert subject is not None
    assert (subject.description, subject.archived, subject.room_active) == ("", False, True)
