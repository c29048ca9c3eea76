"""`!help`, `!ping`, `!tz` through the real router, and the rule that every command is documented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from iscg_bot.chat.router import Context, Router
from iscg_bot.commands import build_router
from iscg_bot.commands.general import reflow, utc_offset, zone_and_time
from tests.support.story_router import ADMIN_ID, ALICE, CHAIR, Chat, build_story_router


def general_router() -> Router:
    router = Router()
    router.load("iscg_bot.commands.general")
    return router


@pytest.fixture
def chat() -> Chat:
    return Chat(general_router())


@pytest.fixture
def stories() -> Chat:
    return Chat(build_story_router())


async def test_ping(chat: Chat) -> None:
    assert await chat("!ping") == "pong"


# ---- help ------------------------------------------------------------------------------------------------


async def test_help_lists_the_commands_with_their_first_line(chat: Chat) -> None:
    assert await chat("!help") == (
        "Commands you can run here:\n"
        "• !help [topic…] — Show the commands you most likely need here, and the areas to explore.\n"
        "• !lang [language] — Show the language the bot writes to you in, or choose it: ar, zh, en, fr, ru "
        "or es (`default`: the room's).\n"
        "• !ping — Check that the bot is alive: it answers pong.\n"
        "• !tz [zone] — Show your time zone, or set it.\n"
        "Type !help <command> for details."
    )
    html = chat.last.replies[0].html
    assert "<code>!tz [zone]</code>" in html and "<li>" in html


async def test_help_lists_only_what_the_sender_may_run_here(stories: Chat) -> None:
    mine = await stories("!help all")
    assert "!meeting list" in mine
    assert "!meeting cancel" not in mine and "!shutdown" not in mine
    assert "!secret" not in mine  # hidden
    assert "!meeting cancel" in await stories("!help all", sender=CHAIR)
    everything = await stories("!help all", sender=ADMIN_ID)
    assert "!shutdown now|later" in everything
    assert "!secret" not in everything
    # Beyond a handful, the bare `!help` is an index of areas (commands included without one: "other").
    assert (await stories("!help")).startswith("Areas: basics, other.\n")
    assert "!shutdown" not in await stories("!help other") and "!shutdown" in await stories(
        "!help other", sender=ADMIN_ID
    )


async def test_help_for_one_command(chat: Chat) -> None:
    assert await chat("!help tz") == (
        "!tz [zone]\n"
        "Show your time zone, or set it.\n"
        "\n"
        "The bot gives every time in the meeting's zone and in yours. "
        "Use a name such as Europe/Zurich, America/New_York or Asia/Tokyo: "
        "abbreviations such as CST or IST name several zones and are refused. "
        "Until you set one, the bot's default zone is used for you.\n"
        "\n"
        "Example: !tz Asia/Tokyo\n"
        "Also: !timezone"
    )
    assert "<code>!tz Asia/Tokyo</code>" in chat.last.replies[0].html
    assert await chat("!help TIMEZONE") == await chat("!help tz")
    assert await chat("!help !tz") == await chat("!help tz")


async def test_help_for_multi_word_commands_groups_and_unknown_names(stories: Chat) -> None:
    assert (await stories("!help meeting schedule")).startswith(
        "!meeting schedule <title> <when> [for <duration>] [link <join-link>] [force] [agenda…]\n"
        "Schedule a meeting."
    )
    assert (await stories("!help meeting")).startswith("The !meeting commands:\n• !meeting list")
    assert (await stories("!help shutdown")).endswith("Who may run it: a bot administrator.")
    assert await stories("!help pnig") == (
        "Unknown command !pnig. Did you mean !ping?\nType !help for the list of commands."
    )


def undocumented(router: Router) -> list[str]:
    """Commands whose help would be empty or lack an example."""
    return [
        command.name
        for command in router.commands
        if not command.summary or not any(line.startswith("Example: ") for line in command.doc.split("\n"))
    ]


def test_every_command_has_a_summary_and_an_example() -> None:
    assert undocumented(build_router()) == []
    assert undocumented(build_story_router()) == []


def test_the_documentation_check_catches_a_command_without_docs() -> None:
    router = Router()

    @router.command("silent")
    async def silent(ctx: Context) -> None:
        pass

    @router.command("terse")
    async def terse(ctx: Context) -> None:
        """Does a thing, but shows no example."""

    assert undocumented(router) == ["silent", "terse"]


def test_every_example_is_the_command_it_documents() -> None:
    router = build_router()
    for command in router.commands:
        lines = command.doc.split("\n")
        examples = [line.removeprefix("Example:").strip() for line in lines if line.startswith("Example:")]
        for example in examples:
            (invocation,) = router.parse(example)
            assert invocation.command is command, example


def test_reflow_joins_wrapped_lines_only() -> None:
    doc = "Summary.\n\nA paragraph\nwrapped here.\n- item one\n- item two\nExample: !x\nExample: !x y"
    assert reflow(doc) == [
        "Summary.",
        "",
        "A paragraph wrapped here.",
        "- item one",
        "- item two",
        "Example: !x",
        "Example: !x y",
    ]


# ---- tz --------------------------------------------------------------------------------------------------


async def test_tz_without_a_zone_set_says_which_zone_is_used(chat: Chat) -> None:
    assert await chat("!tz") == (
        "You have not set a time zone, so I use Europe/Zurich (UTC+01:00) for you; it is 15:04 there. "
        "Set yours with !tz <zone>, e.g. !tz Asia/Tokyo."
    )


async def test_tz_sets_and_shows_your_zone(chat: Chat) -> None:
    assert await chat("!tz asia/TOKYO") == "Your time zone is now Asia/Tokyo (UTC+09:00), it is 23:04 there."
    assert chat.uow.people.zones == {ALICE: "Asia/Tokyo"}
    assert await chat("!tz") == "Your time zone is Asia/Tokyo (UTC+09:00), it is 23:04 there."
    assert await chat("!timezone America/St_Johns") == (
        "Your time zone is now America/St_Johns (UTC-03:30), it is 10:34 there."
    )


async def test_tz_refuses_what_is_not_an_iana_zone(chat: Chat) -> None:
    assert await chat("!tz Zurich") == (
        '"Zurich" is not a time zone I know; did you mean Europe/Zurich?\nUsage: !tz [zone]'
    )
    assert await chat("!tz Narnia/Cair_Paravel") == (
        '"Narnia/Cair_Paravel" is not a time zone I know.\nUsage: !tz [zone]'
    )
    assert await chat("!tz UTC+3") == (
        '"UTC+3" is a UTC offset, not a time zone; use a name such as Europe/Zurich, so that daylight saving '
        "is followed.\nUsage: !tz [zone]"
    )
    assert chat.uow.people.zones == {}


@pytest.mark.parametrize(
    ("typed", "reply"),
    [
        (
            "CST",
            '"CST" is an abbreviation shared by several time zones; use the full name, '
            "such as America/Chicago, Asia/Shanghai or America/Havana.",
        ),
        (
            "ist",
            '"ist" is an abbreviation shared by several time zones; use the full name, '
            "such as Asia/Kolkata, Europe/Dublin or Asia/Jerusalem.",
        ),
        ("JST", '"JST" is an abbreviation, not a time zone; use Asia/Tokyo.'),
    ],
)
async def test_tz_refuses_abbreviations_with_the_zones_meant(chat: Chat, typed: str, reply: str) -> None:
    assert await chat(f"!tz {typed}") == f"{reply}\nUsage: !tz [zone]"


async def test_tz_accepts_utc(chat: Chat) -> None:
    assert await chat("!tz utc") == "Your time zone is now UTC (UTC+00:00), it is 14:04 there."


def test_offsets_follow_daylight_saving() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert zone_and_time("America/New_York", summer) == "America/New_York (UTC-04:00), it is 08:00 there"
    assert zone_and_time("Asia/Kolkata", summer) == "Asia/Kolkata (UTC+05:30), it is 17:30 there"
    assert utc_offset(timedelta(hours=-9, minutes=-30)) == "UTC-09:30"
    assert utc_offset(None) == "UTC+00:00"
