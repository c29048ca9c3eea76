"""The router through chat stories: what a user types, what the bot answers.

`Chat` drives the real router (parse, then execute each invocation with its own Context, as the dispatcher
does) with a frozen clock and an in-memory `uow.people`. The story bot's commands exercise every kind of
argument (tests/support/story_router.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import pytest

from iscg_bot.chat.events import Message, Reaction
from iscg_bot.chat.router import (
    ADMIN,
    ANYONE,
    Context,
    Flag,
    Keyword,
    Refusal,
    Requirement,
    Rest,
    Router,
)
from iscg_bot.core.formatting import bullets, lines, text
from tests.support.story_router import (
    ADMIN_ID,
    ALICE,
    CHAIR,
    CHAIRS,
    NOW,
    ROOM,
    STORY_SCHEDULE_USAGE,
    Chat,
    build_story_router,
    make_services,
    ran,
)

HELP_HINT = "Type !help for the list of commands."


@pytest.fixture
def chat() -> Chat:
    ran.clear()
    return Chat(build_story_router())


def is_usage_error(reply: str, usage: str) -> bool:
    """Exactly one sentence, then the usage line."""
    sentence, _, usage_line = reply.partition("\n")
    one_sentence = re.fullmatch(r"[^\n]+[.?]", sentence) and not re.search(r"[.?!] [A-Z]", sentence)
    return bool(one_sentence) and usage_line == f"Usage: {usage}"


# ---- words and quotes ------------------------------------------------------------------------------------


async def test_words_and_quoted_words(chat: Chat) -> None:
    assert await chat("!echo hello") == "hello"
    assert await chat('!echo "hello world" 2') == "hello world hello world"
    assert await chat("!echo   spaced    3") == "spaced spaced spaced"


async def test_typographic_quotes_as_element_users_type_them(chat: Chat) -> None:
    assert await chat("!echo “Child Online Protection — call”") == "Child Online Protection — call"
    assert await chat("!echo „Hallo Welt“") == "Hallo Welt"
    assert await chat("!echo «bonjour tout le monde»") == "bonjour tout le monde"


async def test_an_unterminated_quote_is_a_usage_error(chat: Chat) -> None:
    reply = await chat('!echo "never closed')
    assert reply == 'The quote opened before "never closed" is never closed.\nUsage: !echo <word> [times]'


async def test_an_unclosed_quote_in_text_taken_as_typed_is_fine(chat: Chat) -> None:
    assert await chat('!meeting cancel M1 he said "see you', sender=CHAIR) == 'M1 cancelled: he said "see you'
    assert await chat('!echo hi "2') == (
        'The quote opened before "2" is never closed.\nUsage: !echo <word> [times]'
    )


async def test_an_apostrophe_is_not_a_quote(chat: Chat) -> None:
    assert await chat("!echo O'Brien") == "O'Brien"


async def test_commands_are_case_insensitive_but_arguments_are_kept(chat: Chat) -> None:
    assert await chat("!ECHO Hello") == "Hello"
    assert await chat("!Meeting LIST Past") == "past meetings"


async def test_a_prefix_alone_or_followed_by_a_space_is_not_a_command(chat: Chat) -> None:
    for body in ("!", "! echo hi", "!!!", "!?", "hello !echo hi", ""):
        assert chat.router.parse(body) == [], body


async def test_the_prefix_is_configurable() -> None:
    chat = Chat(build_story_router(prefix="?"))
    assert await chat("?echo hi") == "hi"
    assert await chat("!echo hi") == ""
    assert chat.router.usage(chat.router.find(["echo"])) == "?echo <word> [times]"


# ---- argument types --------------------------------------------------------------------------------------


async def test_optional_arguments_take_their_defaults(chat: Chat) -> None:
    assert await chat("!echo once") == "once"
    assert await chat("!meeting list") == "upcoming meetings"


async def test_a_choice_is_case_insensitive_and_refuses_other_words(chat: Chat) -> None:
    assert await chat("!rsvp M12 YES") == "M12: yes"
    reply = await chat("!rsvp M12 perhaps")
    assert reply == '"perhaps" is not one of yes, no or maybe.\nUsage: !rsvp <meeting> yes|no|maybe'


async def test_missing_and_extra_arguments(chat: Chat) -> None:
    assert await chat("!rsvp M12") == "Missing one of yes, no or maybe.\nUsage: !rsvp <meeting> yes|no|maybe"
    assert await chat("!echo") == 'Missing <word> (a word or "quoted text").\nUsage: !echo <word> [times]'
    assert await chat("!echo hi 2 3") == 'I did not expect "3".\nUsage: !echo <word> [times]'
    assert await chat("!echo hi two") == '"two" is not a whole number.\nUsage: !echo <word> [times]'


async def test_a_multi_word_type_and_a_keyword_clause_anywhere_after_it(chat: Chat) -> None:
    expected = "Call | 2026-12-03 14:00 | 90 min | force"
    assert await chat('!meeting schedule "Call" 2026-12-03 14:00 for 90m force') == expected
    assert await chat('!meeting schedule "Call" 2026-12-03 14:00 force for 90m') == expected
    assert await chat('!meeting schedule for 90m "Call" force 2026-12-03 14:00') == expected
    assert await chat('!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich') == (
        "Call | 2026-12-03 14:00 Europe/Zurich | 60 min"
    )


async def test_a_quoted_keyword_is_an_ordinary_word(chat: Chat) -> None:
    assert await chat('!echo "for"') == "for"
    assert await chat('!meeting schedule "force" 2026-12-03 14:00') == "force | 2026-12-03 14:00 | 60 min"


async def test_keyword_clause_mistakes(chat: Chat) -> None:
    usage = STORY_SCHEDULE_USAGE
    reply = await chat('!meeting schedule "Call" 2026-12-03 14:00 for')
    assert reply == f'"for" needs <duration> after it.\nUsage: {usage}'
    reply = await chat('!meeting schedule "Call" 2026-12-03 14:00 for 90m for 30m')
    assert reply == f'"for" is given twice.\nUsage: {usage}'
    reply = await chat('!meeting schedule "Call" 2026-12-03 14:00 for ever')
    assert reply == f'"ever" is not a duration like 90m.\nUsage: {usage}'


async def test_extra_words_become_list_items(chat: Chat) -> None:
    reply = await chat('!schedule "Call" 2026-12-03 14:00 "Q3 outputs" workshop force')
    assert reply == "Call | 2026-12-03 14:00 | 60 min | force\n- Q3 outputs\n- workshop"


async def test_rest_keeps_the_text_as_typed_including_newlines(chat: Chat) -> None:
    body = '!say first line,  two spaces\n    indented "second"\n\nthird after a blank line   '
    assert await chat(body) == 'first line,  two spaces\n    indented "second"\n\nthird after a blank line'
    assert await chat('!say "just this"') == "just this"
    assert await chat('!say an "unclosed quote is fine here') == 'an "unclosed quote is fine here'
    assert await chat("!say") == "Missing <message…>.\nUsage: !say <message…>"


async def test_an_optional_rest(chat: Chat) -> None:
    assert await chat("!meeting cancel M1", sender=CHAIR) == "M1 cancelled"
    reply = await chat("!meeting cancel M1 the chair\nis ill", sender=CHAIR)
    assert reply == "M1 cancelled: the chair\nis ill"


async def test_matrix_user_ids_and_time_zones(chat: Chat) -> None:
    assert await chat("!invite @bob:example.org") == "invited @bob:example.org"
    assert await chat("!invite https://matrix.to/#/@bob:example.org asia/tokyo") == (
        "invited @bob:example.org (Asia/Tokyo)"
    )
    assert await chat("!invite bob") == (
        '"bob" is not a Matrix user ID like @alice:example.org.\nUsage: !invite <user> [zone]'
    )
    assert await chat("!present @bob:example.org @carol:matrix.org:8448") == (
        "@bob:example.org, @carol:matrix.org:8448"
    )
    reply = await chat("!present")
    assert reply.startswith("Missing <people…> (a Matrix user ID like @alice:example.org).")


# ---- several words, aliases, groups ----------------------------------------------------------------------


async def test_multi_word_commands_and_aliases(chat: Chat) -> None:
    assert await chat("!meeting list all") == "all meetings"
    assert await chat('!schedule "Call" 2026-12-03 14:00') == "Call | 2026-12-03 14:00 | 60 min"


async def test_a_group_word_alone_lists_its_subcommands(chat: Chat) -> None:
    assert await chat("!meeting") == (
        "The !meeting commands:\n"
        "• !meeting list [upcoming|past|all] — List meetings.\n"
        "• !meeting schedule <title> <when> [for <duration>] [link <join-link>] [force] [agenda…]"
        " — Schedule a meeting."
    )
    assert "!meeting cancel" in await chat("!meeting", sender=CHAIR)


async def test_unknown_commands_get_a_suggestion_when_one_is_close(chat: Chat) -> None:
    assert await chat("!ehco hi") == f"Unknown command !ehco. Did you mean !echo?\n{HELP_HINT}"
    assert await chat("!meeting shedule x") == (
        f"Unknown command !meeting shedule. Did you mean !meeting schedule?\n{HELP_HINT}"
    )
    reply = await chat("!meetign list")
    assert reply == f"Unknown command !meetign. Did you mean !meeting list?\n{HELP_HINT}"
    assert await chat("!xyzzy") == f"Unknown command !xyzzy.\n{HELP_HINT}"
    assert "secret" not in await chat("!secre")


async def test_a_command_that_is_also_a_group() -> None:
    router = Router()

    @router.command("subject")
    async def subject(ctx: Context) -> None:
        """Show this room's subject."""
        await ctx.reply("cop")

    @router.command("subject list")
    async def subject_list(ctx: Context) -> None:
        """List the subjects."""
        await ctx.reply("cop, ai4good")

    chat = Chat(router)
    assert await chat("!subject") == "cop"
    assert await chat("!subject list") == "cop, ai4good"
    assert await chat("!subject lst") == "Unknown command !subject lst. Did you mean !subject list?"


@pytest.mark.parametrize(
    ("body", "usage"),
    [
        ("!echo", "!echo <word> [times]"),
        ("!echo a b c", "!echo <word> [times]"),
        ('!echo "open', "!echo <word> [times]"),
        ("!echo a 99", "!echo <word> [times]"),
        ("!rsvp M1 perhaps", "!rsvp <meeting> yes|no|maybe"),
        ("!invite @bob", "!invite <user> [zone]"),
        ("!invite @bob:example.org CST", "!invite <user> [zone]"),
        ("!meeting list tomorrow", "!meeting list [upcoming|past|all]"),
        ("!meeting schedule Call 2026-12-03", STORY_SCHEDULE_USAGE),
        ("!meeting schedule Call 2026-12-03 14:00 for 2h", STORY_SCHEDULE_USAGE),
        ("!meeting schedule Call 2026-12-03 14:00 force force", STORY_SCHEDULE_USAGE),
        ("!meeting schedule\ntitle: Call\nwhen: 2026-12-03 14:00\nforce: maybe", STORY_SCHEDULE_USAGE),
        ("!meeting schedule\ntitle: Call\n- stray item\nwhen: tomorrow", STORY_SCHEDULE_USAGE),
        ("!meeting schedule\n- stray item", STORY_SCHEDULE_USAGE),
        ("!find M2", "!find <meeting>"),
        ("!ping now\nplease", "!ping"),
        ("!ping\nnote: hi", "!ping"),
    ],
)
async def test_every_usage_error_is_one_sentence_and_the_usage(chat: Chat, body: str, usage: str) -> None:
    reply = await chat(body, sender=CHAIR)
    assert is_usage_error(reply, usage), reply
    assert ran == []


async def test_empty_form_values_and_items(chat: Chat) -> None:
    assert await chat("!present\npeople:\n- \n- @bob:example.org\n-") == "@bob:example.org"
    assert (await chat("!present\npeople:\n- ")).startswith("Missing <people…>")
    assert await chat("!echo\nword: hi\ntimes:") == "hi"


async def test_a_flag_in_a_form_reads_yes_and_no(chat: Chat) -> None:
    form = "!meeting schedule\ntitle: Call\nwhen: 2026-12-03 14:00\nforce: {}"
    assert await chat(form.format("yes")) == "Call | 2026-12-03 14:00 | 60 min | force"
    assert await chat(form.format("No")) == "Call | 2026-12-03 14:00 | 60 min"


# ---- messages: forms, several commands, replies, size ----------------------------------------------------


async def test_a_command_as_a_form(chat: Chat) -> None:
    body = """!meeting schedule
Title: Child Online Protection — coordination call
when: 2026-12-03 14:00 Europe/Zurich
Duration: 90m
join-link: https://meet.example.org/cop
Force:
agenda:
- Review of the Q3 outputs
- Joint workshop planning
"""
    assert await chat(body) == (
        "Child Online Protection — coordination call | 2026-12-03 14:00 Europe/Zurich | 90 min"
        " | link https://meet.example.org/cop | force\n- Review of the Q3 outputs\n- Joint workshop planning"
    )


async def test_form_keys_ignore_case_dashes_underscores_and_spaces(chat: Chat) -> None:
    for key in ("join_link", "Join Link", "JOIN-LINK", "link"):
        reply = await chat(f"!meeting schedule\ntitle: Call\nwhen: 2026-12-03 14:00\n{key}: https://x.org")
        assert reply == "Call | 2026-12-03 14:00 | 60 min | link https://x.org", key


async def test_form_mistakes_are_usage_errors(chat: Chat) -> None:
    usage = STORY_SCHEDULE_USAGE
    reply = await chat("!meeting schedule\ntitle: Call\ncolour: blue\nwhen: 2026-12-03 14:00")
    assert reply == (
        'The form has no key "colour"; use title, when, duration, join-link, force or agenda.\n'
        f"Usage: {usage}"
    )
    assert ran == []
    assert await chat("!meeting schedule\ntitle: Call") == (
        f"Missing <when> (a date and time like 2026-12-03 14:00).\nUsage: {usage}"
    )
    assert await chat("!meeting schedule\ntitle: Call\nwhen: 2026-12-03 14:00\nwhen: 2026-12-04 14:00") == (
        f'The key "when" is given twice.\nUsage: {usage}'
    )
    assert await chat("!meeting schedule\ntitle: Call\nwhen: 2026-12-03 14:00 extra") == (
        f'I did not expect "extra".\nUsage: {usage}'
    )


async def test_lines_under_a_text_command_continue_the_text(chat: Chat) -> None:
    reply = await chat("!say\nNote: this is not a form\nsecond line")
    assert reply == "Note: this is not a form\nsecond line"


async def test_several_commands_in_one_message_run_in_order(chat: Chat) -> None:
    body = "!echo one\n!say two\n  and more\n!nope\n!echo three"
    assert await chat(body) == (f"one\n\ntwo\n  and more\n\nUnknown command !nope.\n{HELP_HINT}\n\nthree")


async def test_text_before_the_first_command_line_means_no_command(chat: Chat) -> None:
    assert chat.router.parse("Hello all,\n!echo one") == []
    assert [i.words for i in chat.router.parse("\n\n  !echo one")] == [("echo",)]


async def test_a_reply_fallback_is_stripped(chat: Chat) -> None:
    body = "> <@bob:example.org> when is the next call?\n> second quoted line\n\n!meeting list"
    assert await chat(body) == "upcoming meetings"
    assert chat.router.parse("> <@bob:example.org> !echo quoted\n\nthanks") == []


async def test_an_oversized_message_is_refused_in_one_sentence(chat: Chat) -> None:
    body = "!say " + "x" * 8000
    reply = await chat(body)
    assert reply == "That message is too long for me: 8,005 characters, where I read at most 8,000."
    assert chat.router.parse("x" * 100_000) == []


# ---- roles -----------------------------------------------------------------------------------------------


async def test_a_refusal_names_the_role_and_runs_nothing(chat: Chat) -> None:
    assert await chat("!meeting cancel M1") == "Only a meeting chair may run !meeting cancel."
    # The role is checked before the arguments: a stranger learns nothing from validation.
    assert await chat("!shutdown whenever") == "Only a bot administrator may run !shutdown."
    assert ran == []
    assert await chat("!meeting cancel M1", sender=CHAIR) == "M1 cancelled"


async def test_bot_administrators_may_run_everything(chat: Chat) -> None:
    assert await chat("!shutdown now", sender=ADMIN_ID) == "bye"
    assert await chat("!meeting cancel M1", sender=ADMIN_ID) == "M1 cancelled"


async def test_requirements_combine_and_read_well() -> None:
    secretariat = Requirement("the secretariat", lambda ctx: ctx.sender == "@sec:example.org")
    either = CHAIRS | secretariat | CHAIRS
    assert either.name == "a meeting chair or the secretariat"
    assert (ADMIN | either).name == "a bot administrator, a meeting chair or the secretariat"
    assert (either | ANYONE) == ANYONE
    ctx = Chat(Router()).context("@sec:example.org")
    assert await either.allows(ctx)
    assert not await either.allows(Chat(Router()).context(ALICE))


# ---- handlers --------------------------------------------------------------------------------------------


async def test_a_handler_may_raise_a_usage_error(chat: Chat) -> None:
    assert await chat("!find M1") == "M1 found"
    assert await chat("!find M99") == "M99 does not exist.\nUsage: !find <meeting>"


async def test_a_refusal_is_answered_as_given_and_reported_as_not_done() -> None:
    router = Router()

    @router.command("book")
    async def book(ctx: Context, room: str) -> None:
        """Book a room."""
        raise Refusal(lines([text(f"{room} is taken:"), bullets([text("M1 at 14:00")])]))

    ctx = Chat(router).context()
    (invocation,) = router.parse("!book Salle-A")
    assert await router.execute(ctx, invocation) is False  # the caller undoes it and counts it refused
    assert ctx.replies[0].plain == "Salle-A is taken:\n• M1 at 14:00"
    assert "<li>M1 at 14:00</li>" in ctx.replies[0].html


async def test_an_unexpected_error_propagates_to_the_caller() -> None:
    router = Router()

    @router.command("boom")
    async def boom(ctx: Context) -> None:
        """Fail."""
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        await Chat(router)("!boom")


async def test_handlers_only_collect_replies_and_reactions(chat: Chat) -> None:
    router = Router()

    @router.command("ack")
    async def ack(ctx: Context) -> None:
        """Acknowledge."""
        await ctx.react("✅")

    ctx = chat.context()
    assert await router.dispatch(ctx, "!ack\n!ack") is True
    assert (ctx.replies, ctx.reactions) == ([], ["✅", "✅"])
    assert ctx.router is router and ctx.command is not None and ctx.command.name == "ack"
    assert await router.dispatch(ctx, "no command") is False


# ---- passive handlers ------------------------------------------------------------------------------------


def reaction(key: str) -> Reaction:
    return Reaction("$r", ROOM, ALICE, NOW, key=key, relates_to="$announcement")


def message(body: str) -> Message:
    return Message("$m", ROOM, ALICE, NOW, body=body)


async def test_passive_handlers_run_in_order_on_what_they_listen_to(chat: Chat) -> None:
    router = chat.router
    assert router.has_passive(reaction("✅")) and router.has_passive(reaction("✅\ufe0f"))
    assert not router.has_passive(reaction("👍"))
    assert router.has_passive(message("hello"))

    ctx = chat.context()
    assert await router.handle_passive(ctx, reaction("❌")) == 1
    assert [r.plain for r in ctx.replies] == ["vote ❌ on $announcement"]

    ctx = chat.context()
    assert await router.handle_passive(ctx, message("the meeting starts")) == 2
    assert (ctx.reactions, [r.plain for r in ctx.replies]) == (["👀"], ["logged: the meeting starts"])
    assert await router.handle_passive(chat.context(), reaction("👍")) == 0


# ---- declarations ----------------------------------------------------------------------------------------


def test_usage_lines_come_from_the_signatures() -> None:
    router = build_story_router()
    usages = {c.name: router.usage(c) for c in router.commands}
    assert usages["meeting schedule"] == (
        "!meeting schedule <title> <when> [for <duration>] [link <join-link>] [force] [agenda…]"
    )
    assert usages["meeting cancel"] == "!meeting cancel <meeting> [reason…]"
    assert usages["present"] == "!present <people…>"
    assert usages["ping"] == "!ping"


def test_bad_declarations_fail_at_import_time() -> None:
    router = Router()

    def sync(ctx: Context) -> None: ...

    async def rest_first(ctx: Context, text: Rest, word: str) -> None: ...

    async def no_annotation(ctx: Context, word) -> None: ...  # type: ignore[no-untyped-def]

    async def unknown_type(ctx: Context, when: datetime) -> None: ...

    async def clash(ctx: Context, force: Flag = False, n: Annotated[int, Keyword("force")] = 1) -> None: ...

    for handler in (sync, rest_first, no_annotation, unknown_type, clash):
        with pytest.raises(TypeError):
            router.command("x")(handler)

    async def fine(ctx: Context) -> None: ...

    router.command("x")(fine)
    with pytest.raises(ValueError, match="declared twice"):
        router.command("y", aliases=("X",))(fine)
    with pytest.raises(ValueError, match="not a command name"):
        router.command("two  !words")(fine)


def test_a_context_needs_an_aware_time() -> None:
    with pytest.raises(ValueError):
        Context(ROOM, ALICE, "$e", datetime(2026, 1, 5, 14, 4), make_services())
    event = message("hi")
    ctx = Context.for_event(event, make_services())
    assert (ctx.room_id, ctx.sender, ctx.event_id, ctx.now) == (ROOM, ALICE, "$m", NOW)
    assert not ctx.is_admin
    assert Context.for_event(Message("$x", ROOM, ADMIN_ID, NOW, "hi"), make_services()).is_admin
