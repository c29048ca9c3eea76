"""The README's permission table is the one generated from the commands' declarations (issue 13).

Each command says who may run it where it is declared (`allow=`); `iscg_bot.commands.permission_table` renders
every declaration as the table, so the README cannot fall behind a change of rule, nor omit a command.
"""

from __future__ import annotations

from pathlib import Path

from iscg_bot.chat.policy import OFFICERS, permission_table
from iscg_bot.chat.router import Context, Router, Rule
from iscg_bot.commands import build_router
from iscg_bot.commands.permission_table import generated, readme_table, with_table

README = Path(__file__).resolve().parent.parent / "README.md"
REGENERATE = "python -m iscg_bot.commands.permission_table --write README.md"


def test_the_readme_table_is_the_generated_one():
    expected = generated()
    assert readme_table(README.read_text(encoding="utf-8")) == expected, (
        f"README.md's permission table is stale; regenerate it with `{REGENERATE}`. Expected:\n\n{expected}"
    )


def test_every_visible_command_has_a_row():
    table = generated()
    for command in build_router().commands:
        if not command.hidden:
            assert f"`!{command.name}`" in table, command.name


def test_a_rule_on_the_object_shows_its_own_words_and_a_bar_is_escaped():
    async def nothing(ctx: Context, arguments: object) -> None:
        return None

    async def never(ctx: Context, found: object) -> str:
        return "no"

    router = Router()

    @router.command("open door", allow=Rule("the door's keeper | its guard", nothing, never))
    async def open_door(ctx: Context) -> None:
        """Open the door."""

    @router.command("close door", allow=OFFICERS)
    async def close_door(ctx: Context) -> None:
        """Close the door."""

    assert permission_table(router).splitlines()[2:] == [
        r"| `!open door` | the door's keeper \| its guard |",
        "| `!close door` | admin, Chair, management, secretariat |",
    ]


def test_regenerating_replaces_only_the_table():
    readme = README.read_text(encoding="utf-8")
    stale = with_table(readme, "| command | who may run it |\n|---|---|\n| `!ping` | nobody |\n")
    assert readme_table(stale) != generated()
    assert with_table(stale, generated()) == readme
