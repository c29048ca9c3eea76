"""The README's permission table, generated from the commands' declarations (`allow=`, see `chat.policy`).

    python -m iscg_bot.commands.permission_table                     # print the table
    python -m iscg_bot.commands.permission_table --write README.md   # replace the README's table with it

`tests/test_permissions_table.py` fails when the README's table is not the one generated.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from iscg_bot.chat.policy import permission_table
from iscg_bot.commands import build_router

# The README's sentence the table follows (the first lines starting with `|` after it are the table).
LEAD = "Who may do what is declared with each command"


def generated() -> str:
    """The table of the built-in commands, named with the default prefix `!`."""
    return permission_table(build_router("!"))


def _table_span(readme: str) -> tuple[int, int]:
    """Where the table after `LEAD` starts and ends in the README's lines (end excluded)."""
    lines = readme.splitlines()
    lead = next((i for i, line in enumerate(lines) if line.startswith(LEAD)), None)
    if lead is None:
        raise ValueError(f"the README has no line starting with {LEAD!r}")
    start = next((i for i in range(lead + 1, len(lines)) if lines[i].startswith("|")), None)
    if start is None:
        raise ValueError(f"no table follows {LEAD!r} in the README")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def readme_table(readme: str) -> str:
    """The permission table as the README has it."""
    start, end = _table_span(readme)
    return "".join(line + "\n" for line in readme.splitlines()[start:end])


def with_table(readme: str, table: str) -> str:
    """The README with its permission table replaced by `table`."""
    start, end = _table_span(readme)
    lines = readme.splitlines()
    return "\n".join([*lines[:start], *table.splitlines(), *lines[end:]]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iscg_bot.commands.permission_table", description=__doc__)
    parser.add_argument("--write", metavar="README", type=Path, help="replace the table in this file")
    options = parser.parse_args(argv)
    table = generated()
    if options.write is None:
        sys.stdout.write(table)
        return 0
    readme = options.write.read_text(encoding="utf-8")
    updated = with_table(readme, table)
    if updated != readme:
        options.write.write_text(updated, encoding="utf-8")
        print(f"{options.write}: permission table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
