"""`iscg-bot migrate-data`: a group's year moved from SQLite to PostgreSQL (and to another SQLite file) row
for row; the report and the feeds come out byte for byte the same; the bot carries on there without
answering anything twice; a target that holds anything is refused."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from iscg_bot.commands import build_router
from iscg_bot.core.clock import FrozenClock
from iscg_bot.domain.reports import compile_report
from iscg_bot.render import report_render
from iscg_bot.storage import ActionItem, Database, OutboxFile, ProcessedEvent, UnitOfWork
from iscg_bot.storage.data_copy import CopyRefused, copy_data
from iscg_bot.web.feed_cache import FeedCache
from tests.chat import COORD, COP, Chat, run_cli, settings
from tests.fixtures_bot import _toml
from tests.fixtures_storage import BACKENDS, open_test_database
from tests.support.conversation import barrier, room_with_bot
from tests.support.every_table import SYNC_TOKEN, rows_of, the_rest_of_the_year
from tests.support.matrix_user import body_of, is_message, is_reply_to
from tests.support.private_postgres import private_databases
from tests.support.year_story import BASE, MEMBER, NOW, Y2027, seed

AFTER = itertools.count(1)


async def published(database: Database, token: str) -> list[bytes]:
    """The year's report in its three formats and every feed (group, subjects, personal), as served."""
    async with UnitOfWork(database.sessions) as uow:
        report = await compile_report(uow, period=Y2027, now=NOW, base_url=BASE)
    feeds = FeedCache(database.sessions, FrozenClock(NOW), BASE)
    bodies = [(await feeds.group()).body, (await feeds.personal(token) or pytest.fail("no feed")).body]
    for slug in ("cop", "ai", "emf", "old"):
        bodies.append((await feeds.subject(slug) or pytest.fail(f"no {slug} feed")).body)
    return [*(report_render.render_as(report, kind) for kind in ("md", "html", "docx")), *bodies]


def bot_on(database: Database) -> Chat:
    """A bot (the chat driver) started on `database`, its clock where the story left it."""
    config = settings()
    chat = Chat(database, build_router(config.bot.command_prefix), config)
    chat.clock.set(NOW)
    return chat


async def new_message(chat: Chat, body: str, *, by: str = COORD) -> list[str]:
    """A message the bot never saw (the driver of a new bot would reuse the first one's event IDs)."""
    event = replace(chat.message(body, sender=by, room=COP), event_id=f"$after-the-move-{next(AFTER)}")
    return [content["body"] for content in await chat.deliver(event)]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_year_moves_row_for_row_and_publishes_the_same_bytes(chat, tmp_path, backend):
    await seed(chat)
    token = await the_rest_of_the_year(chat)
    # A8 removed (as a later version might): its number is never handed out again, there as here.
    async with UnitOfWork(chat.database.sessions) as uow:
        await uow.session.execute(delete(ActionItem).where(ActionItem.id == 8))
        await uow.commit()
    before = await rows_of(chat.database)
    empty = {name for name, rows in before.items() if not rows}
    assert empty <= {"leader_lease"}, f"the story leaves {empty} empty: the copy is not checked on them"
    uploaded = list(OutboxFile.__table__.columns.keys()).index("uploaded")
    assert {(row[uploaded], row[-1]) for row in before["outbox_files"]} >= {(None, True), (None, False)}

    async with open_test_database(backend, tmp_path / "target") as target:
        copied = await copy_data(chat.database, target, chunk_rows=7)  # small chunks: many pages per table
        assert {t.name: t.rows for t in copied} == {name: len(rows) for name, rows in before.items()}
        assert await rows_of(target) == before
        assert await published(target, token) == await published(chat.database, token)

        moved = bot_on(target)
        async with UnitOfWork(target.sessions) as uow:
            assert await uow.state.get("sync_token") == SYNC_TOKEN
        assert await new_message(moved, f"!action {MEMBER} After the move") == [
            f"A9 for {MEMBER}: After the move"
        ]
        [scheduled] = await new_message(moved, '!meeting schedule "After the move" 2028-02-01 10:00 UTC')
        assert scheduled.startswith("Scheduled M7")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_bot_answers_nothing_twice_after_the_move_and_sends_what_was_waiting(
    chat, tmp_path, backend
):
    pings = [chat.message("!ping", sender=COORD, room=COP) for _ in range(3)]
    for ping in pings:
        assert [c["body"] for c in await chat.deliver(ping)] == ["pong"]
    waiting = chat.message("!ping", sender=COORD, room=COP)
    await chat.dispatcher.handle(waiting)  # answered, the answer not sent yet: it waits in the outbox

    async with open_test_database(backend, tmp_path / "target") as target:
        await copy_data(chat.database, target)
        moved = bot_on(target)
        assert [c["body"] for c in await moved.take_outbox()] == ["pong"]  # what waited goes out, there
        # The homeserver replays what the bot handled before (a sync from an older token): no answer.
        for event in [*pings, waiting]:
            assert await moved.deliver(event) == []
        async with UnitOfWork(target.sessions) as uow:
            handled = await uow.session.scalar(select(func.count()).select_from(ProcessedEvent))
        assert handled == 4
        assert await new_message(moved, "!ping") == ["pong"]


async def test_a_target_already_migrated_but_empty_is_filled(chat, database):
    """`iscg-bot migrate` (or `run --migrate`) run on the new database first: the copy goes ahead."""
    assert await chat.say("!ping", sender=COORD, room=COP) == ["pong"]
    copied = await copy_data(chat.database, database)
    assert {t.name: t.rows for t in copied if t.rows} == {"processed_events": 1, "outbox": 1}
    assert await rows_of(database) == await rows_of(chat.database)


async def test_a_target_that_holds_anything_is_refused(chat, tmp_path):
    await chat.say("!ping", sender=COORD, room=COP)
    source, target = tmp_path / "chat.db", tmp_path / "target.db"
    first = await run_cli(tmp_path, "migrate-data", "--from", url(source), "--to", url(target))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert "  processed_events: 1 rows" in lines and "  outbox: 1 rows, next id 2" in lines
    assert lines[-1].startswith("copied ") and lines[-1].endswith(
        "every table's row count verified in the target"
    )

    await chat.say("!ping", sender=COORD, room=COP)
    again = await run_cli(tmp_path, "migrate-data", "--from", url(source), "--to", url(target))
    assert again.returncode != 0 and again.stdout.count("\n") <= 1
    assert again.stderr.splitlines() == [
        "error: the target is not empty (processed_events, outbox hold rows): give an empty database"
    ]
    moved = Database(url(target))
    try:
        assert len((await rows_of(moved))["processed_events"]) == 1  # untouched by the refused run
        with pytest.raises(CopyRefused):
            await copy_data(chat.database, moved)
    finally:
        await moved.dispose()


async def test_a_missing_or_unmigrated_source_is_refused_without_creating_anything(tmp_path):
    missing = tmp_path / "typo.db"
    run = await run_cli(tmp_path, "migrate-data", "--from", url(missing), "--to", url(tmp_path / "t.db"))
    assert (run.returncode, run.stderr) == (1, f"error: no database at {missing}\n")
    assert not missing.exists() and not (tmp_path / "t.db").exists()

    old = Database(url(tmp_path / "old.db"))
    await old.migrate("0008_minutes_record")
    await old.dispose()
    run = await run_cli(
        tmp_path, "migrate-data", "--from", url(tmp_path / "old.db"), "--to", url(tmp_path / "t.db")
    )
    assert run.returncode == 3
    assert run.stderr.startswith(
        "error: the source database at revision 0008_minutes_record, this version needs"
    )


def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.mark.e2e
@pytest.mark.postgres
async def test_through_synapse_the_bot_moves_to_postgresql_and_answers_every_command_once(
    matrix_user_factory, bot_process, synapse, tmp_path
):
    """In an encrypted room: the device's keys move with `--crypto-store`, so the bot on PostgreSQL reads
    what was said while it moved and its answers are read."""
    alice = await matrix_user_factory("alice", encryption=True)
    process, account = await bot_process(admins=[alice.user_id])
    bot = account.user_id
    async with private_databases(1) as [postgresql]:
        process.start()
        try:
            room_id = await room_with_bot(alice, bot, encrypted=True)
            before = [await alice.send_text(room_id, "!ping") for _ in range(3)]
            for event_id in before:
                await alice.wait_for(is_reply_to(event_id, sender=bot), room_id=room_id, timeout=30)
            assert process.terminate() == 0

            # Said while the bot is stopped and its data moves: answered once it is back, on PostgreSQL.
            meanwhile = [await alice.send_text(room_id, "!ping") for _ in range(3)]
            sqlite = f"sqlite+aiosqlite:///{account.workdir / 'bot.db'}"
            store = str(account.workdir / "crypto-store")
            moved = await run_cli(
                tmp_path, "migrate-data", "--from", sqlite, "--to", postgresql, "--crypto-store", store
            )
            assert moved.returncode == 0, moved.stderr
            assert "copied the encryption keys of " + bot in moved.stdout
            settings = account.settings(synapse, admins=[alice.user_id])
            settings["database"]["url"] = postgresql
            process.config_path.write_text(_toml(settings), encoding="utf-8")
            process.start()

            for event_id in meanwhile:
                await alice.wait_for(is_reply_to(event_id, sender=bot), room_id=room_id, timeout=60)
            ping = await barrier(alice, room_id, bot)  # anything doubled has arrived by its pong
            answered = Counter(
                e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
                for e in alice.events(room_id)
                if is_message(sender=bot)(e) and "m.relates_to" in e["content"]
            )
            assert answered == Counter([*before, *meanwhile, ping]), answered
            replies = [body_of(e) for e in alice.events(room_id) if is_message(sender=bot)(e)]
            assert all(reply == "pong" for reply in replies[-7:]), replies  # read: decrypted
            assert process.terminate() == 0
        except BaseException:
            print(process.output()[-5000:])
            raise
        finally:
            process.kill()
