"""The dispatcher and the outbox through the real router and storage, with a fake gateway (fast)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event

from iscg_bot.chat.events import MembershipChange, Reaction, Undecryptable
from iscg_bot.chat.outbox import txn_id
from iscg_bot.chat.router import Context, UsageError
from iscg_bot.commands import build_router
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, ALICE, BOT, ROOM, Chat
from tests.support.outbox import run_outbox_until_empty
from tests.support.polling import eventually


async def test_ping(chat):
    assert await chat.say("!ping") == ["pong"]


async def test_a_reply_is_a_notice_in_reply_with_html_and_a_mention(chat):
    event = chat.message("!ping")
    [content] = await chat.deliver(event)
    assert content["msgtype"] == "m.notice"
    assert content["format"] == "org.matrix.custom.html"
    assert content["formatted_body"] == '<div dir="auto">pong</div>'
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": event.event_id}}
    assert content["m.mentions"] == {"user_ids": [ALICE]}


async def test_the_same_event_seen_twice_has_one_effect(chat):
    event = chat.message("!tz Asia/Tokyo")
    assert len(await chat.deliver(event)) == 1
    assert await chat.deliver(event) == []  # re-sync, gap fill or restart: the ledger knows it
    [shown] = await chat.say("!tz")
    assert "Asia/Tokyo" in shown


async def test_replies_get_deterministic_transaction_ids(chat):
    event = chat.message("!ping\n!ping")
    await chat.dispatcher.handle(event)
    rows = await chat.pending()
    assert [r.txn_id for r in rows] == [txn_id(event.event_id, 0), txn_id(event.event_id, 1)]


async def test_several_commands_in_one_message_run_in_order(chat):
    replies = await chat.say("!tz Europe/Zurich\n!ping\n!tz")
    assert replies[1] == "pong"
    assert "Europe/Zurich" in replies[2]


async def test_usage_errors_are_one_sentence_and_the_usage(chat):
    [reply] = await chat.say("!tz Mars/Olympus_Mons")
    sentence, usage = reply.split("\n")
    assert sentence.endswith(".") and "Mars/Olympus_Mons" in sentence
    assert usage == "Usage: !tz [zone]"


async def test_a_failing_command_is_rolled_back_and_apologised_for(tmp_path):
    router = build_router()

    @router.command("explode", hidden=True)
    async def explode(ctx: Context) -> None:
        """Set a zone, then fail.

        Example: !explode
        """
        await ctx.uow.people.set_timezone(ctx.sender, "Asia/Tokyo", ctx.now)
        raise RuntimeError("bug")

    chat = await Chat.open(tmp_path, router=router)
    try:
        replies = await chat.say("!tz Europe/Zurich\n!explode\n!ping")
        assert "Europe/Zurich" in replies[0]
        assert replies[1].startswith("Sorry, something went wrong")
        assert replies[2] == "pong"  # the message's other commands still ran
        [shown] = await chat.say("!tz")
        assert "Europe/Zurich" in shown and "Tokyo" not in shown  # only the failed command was undone
    finally:
        await chat.close()


async def test_edits_and_notices_do_not_run_commands(chat):
    assert await chat.deliver(chat.message("!ping", msgtype="m.notice")) == []
    assert await chat.deliver(chat.message("!ping", replaces="$original")) == []


async def test_ordinary_talk_gets_no_answer(chat):
    assert await chat.say("good morning, everyone") == []
    assert await chat.say("!") == []


def bot_membership(chat: Chat, event_id: str, previous: str) -> MembershipChange:
    return MembershipChange(
        event_id=event_id,
        room_id=ROOM,
        sender=BOT,
        server_time=chat.clock.now(),
        user_id=BOT,
        membership="join",
        previous=previous,
    )


async def test_the_bot_greets_once_when_it_joins(chat):
    joined = bot_membership(chat, "$join", previous="invite")
    [hello] = await chat.deliver(joined)
    assert "!help" in hello["body"] and "m.relates_to" not in hello
    assert await chat.deliver(joined) == []
    renamed = bot_membership(chat, "$rename", previous="join")
    assert await chat.deliver(renamed) == []  # a profile change is not a new arrival


async def test_the_bot_ignores_its_own_messages(chat):
    assert await chat.say("!ping", sender=BOT) == []


async def test_an_undecryptable_message_is_owned_up_to(chat):
    event = Undecryptable(event_id="$secret", room_id=ROOM, sender=ALICE, server_time=chat.clock.now())
    [sorry] = await chat.deliver(event)
    assert "could not decrypt" in sorry["body"]
    assert sorry["m.relates_to"]["m.in_reply_to"]["event_id"] == "$secret"


async def test_a_reaction_nobody_listens_to_is_not_recorded(chat):
    reaction = Reaction(
        event_id="$r", room_id=ROOM, sender=ALICE, server_time=chat.clock.now(), key="👍", relates_to="$x"
    )
    assert await chat.deliver(reaction) == []


@pytest.mark.parametrize(
    ("inviter", "joins"),
    [(ADMIN, True), ("@stranger:example.org", False), ("@friend:partner.org", True), ("@x:itu.int", True)],
)
async def test_invites_are_accepted_only_from_admins_and_the_allow_list(tmp_path, inviter, joins):
    chat = await Chat.open(tmp_path, invite_allowlist=["@friend:partner.org", "itu.int"])
    try:
        await chat.invite(inviter, "!room:example.org")
        assert chat.gateway.joined == (["!room:example.org"] if joins else [])
        assert chat.gateway.rejected == ([] if joins else ["!room:example.org"])
    finally:
        await chat.close()


async def test_oversized_messages_are_refused_in_one_sentence(chat):
    assert await chat.say("!tz " + "x" * 9000) == [
        "That message is too long for me: 9,004 characters, where I read at most 8,000."
    ]


async def test_the_outbox_sends_in_order_and_survives_a_refusing_room(chat):
    await chat.dispatcher.handle(chat.message("!ping"))
    await chat.dispatcher.handle(chat.message("!tz", room="!gone:example.org"))
    await chat.dispatcher.handle(chat.message("!help"))
    chat.gateway.refuse.add("!gone:example.org")
    await run_outbox_until_empty(chat)
    bodies = [o.content["body"] for o in chat.gateway.sent]
    assert bodies[0] == "pong" and bodies[1].startswith("Most useful here now:")
    assert [o.room_id for o in chat.gateway.sent] == [ROOM, ROOM]
    assert await chat.pending() == []  # the refused one is marked failed, not retried for ever


async def test_pending_replies_are_sent_after_a_restart(chat):
    await chat.dispatcher.handle(chat.message("!ping"))  # committed, then the bot "dies" before sending
    chat.gateway.ready.set()
    sender = chat.outbox_sender()  # a new process's sender finds it
    await sender.start()
    try:
        await eventually(
            lambda: chat.gateway.sent, what="the pending reply to be sent", timeout=2, interval=0.02
        )
    finally:
        await asyncio.wait_for(sender.stop(), 5)
    assert [o.content["body"] for o in chat.gateway.sent] == ["pong"]


async def test_a_process_that_lost_the_lead_sends_nothing_and_leaves_the_rows_for_the_new_leader(chat):
    await chat.dispatcher.handle(chat.message("!ping"))
    chat.gateway.ready.set()
    leading = [True, False]  # may send once: the first row goes, then the lease is lost
    sender = chat.outbox_sender()
    sender.may_send = lambda: leading.pop(0) if len(leading) > 1 else leading[0]
    await chat.dispatcher.handle(chat.message("!tz"))
    await sender.start()
    try:
        await eventually(lambda: chat.gateway.sent, what="the first reply", timeout=2, interval=0.02)
        await asyncio.sleep(0.1)  # time enough to send the second, were it allowed
    finally:
        await asyncio.wait_for(sender.stop(), 5)
    assert [o.content["body"] for o in chat.gateway.sent] == ["pong"]
    assert len(await chat.pending()) == 1  # the second reply waits in the outbox for the active bot


async def test_replies_handed_to_the_running_sender_go_once_without_being_read_back(chat):
    chat.gateway.ready.set()
    sender = chat.outbox_sender()
    chat.dispatcher.hand_off = sender.take  # as the app wires them
    await sender.start()
    try:
        await chat.dispatcher.handle(chat.message("!ping"))
        await chat.dispatcher.handle(chat.message("!ping"))
        await eventually(
            lambda: len(chat.gateway.sent) == 2 and not sender._in_flight,
            what="both replies to be sent",
            timeout=2,
            interval=0.02,
        )
        assert await chat.pending() == []  # both marked sent
        sender.wake()  # a read of the outbox now finds nothing to send again
        await asyncio.sleep(0.1)
    finally:
        await asyncio.wait_for(sender.stop(), 5)
    assert [o.content["body"] for o in chat.gateway.sent] == ["pong", "pong"]


async def test_a_long_batch_seen_before_is_skipped_with_one_ledger_query(chat):
    """A restart's first sync replays what was handled before: nothing happens twice, and the events already
    in the ledger cost one query, not a transaction each."""
    batch = [chat.message("!ping") for _ in range(25)]
    await chat.dispatcher.handle_batch(batch)
    assert [c["body"] for c in await chat.take_outbox()] == ["pong"] * 25
    transactions: list[str] = []
    engine = chat.database.engine.sync_engine
    listener = lambda connection: transactions.append("begin")  # noqa: E731
    event.listen(engine, "begin", listener)
    try:
        await chat.dispatcher.handle_batch(batch)
    finally:
        event.remove(engine, "begin", listener)
    assert await chat.take_outbox() == []
    assert transactions == ["begin"]


async def test_a_message_with_no_meeting_running_costs_no_savepoint(chat):
    """The minutes listen to every message, but only while a meeting runs: asked first, outside the
    listener's savepoint, a message in a quiet room is one read (the minutes' own tests log the meetings)."""
    statements: list[str] = []
    engine = chat.database.engine.sync_engine

    def heard(_conn, _cursor, statement, *_rest):
        statements.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", heard)
    try:
        assert await chat.say("hello, is anyone here?") == []
    finally:
        event.remove(engine, "before_cursor_execute", heard)
    assert "SAVEPOINT" not in statements
    # The message's transaction: its ledger row, then "is a meeting running here?" (then the chat driver
    # reads the outbox).
    assert statements[:3] == ["BEGIN", "INSERT", "SELECT"]


async def test_a_file_is_uploaded_once_then_sent_with_its_url(tmp_path):
    router = build_router()

    @router.command("handout")
    async def handout(ctx: Context) -> None:
        """Post a file."""
        await ctx.reply("Here it is.")
        await ctx.attach("report.md", "text/markdown", b"# Report\n")

    chat = await Chat.open(tmp_path, router=router)
    try:
        await chat.dispatcher.handle(chat.message("!handout"))
        async with UnitOfWork(chat.database.sessions) as uow:  # a crash after the upload, before the send
            [_, row] = await uow.outbox.pending()
            await uow.outbox.mark_uploaded(row.attachment_id, {"url": "mxc://example.org/earlier"})
            await uow.commit()
        await run_outbox_until_empty(chat)
        notice, file = [o.content for o in chat.gateway.sent]
        assert notice["body"] == "Here it is."
        assert file == {
            "msgtype": "m.file",
            "body": "report.md",
            "filename": "report.md",
            "info": {"mimetype": "text/markdown", "size": 9},
            "url": "mxc://example.org/earlier",
        }
        assert chat.gateway.uploads == []  # not uploaded a second time

        await chat.dispatcher.handle(chat.message("!handout"))
        await run_outbox_until_empty(chat)
        assert chat.gateway.uploads == [("report.md", "text/markdown", b"# Report\n")]
        assert chat.gateway.sent[-1].content["url"] == "mxc://example.org/upload1"
    finally:
        await chat.close()


async def test_passive_handlers_run_once_per_event(tmp_path):
    router = build_router()
    seen: list[str] = []

    @router.on_reaction(keys=("✅",))
    async def acknowledge(ctx: Context, reaction: Reaction) -> None:
        seen.append(reaction.relates_to)
        await ctx.react("👀")

    chat = await Chat.open(tmp_path, router=router)
    try:
        tick = Reaction(
            event_id="$tick",
            room_id=ROOM,
            sender=ALICE,
            server_time=chat.clock.now(),
            key="✅",
            relates_to="$m",
        )
        [answer] = await chat.deliver(tick)
        assert answer == {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$tick", "key": "👀"}}
        assert await chat.deliver(tick) == []
        assert seen == ["$m"]
    finally:
        await chat.close()


async def test_a_usage_error_raised_midway_leaves_nothing_behind(tmp_path):
    router = build_router()

    @router.command("half", hidden=True)
    async def half(ctx: Context) -> None:
        """Set a zone, then find a problem.

        Example: !half
        """
        await ctx.uow.people.set_timezone(ctx.sender, "Asia/Tokyo", ctx.now)
        raise UsageError("M99 does not exist.")

    chat = await Chat.open(tmp_path, router=router)
    try:
        assert await chat.say("!half") == ["M99 does not exist.\nUsage: !half"]
        [shown] = await chat.say("!tz")
        assert "not set a time zone" in shown
    finally:
        await chat.close()
