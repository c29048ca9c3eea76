"""A bench's command line: its sizes, each with a full and a quick value, and `--quick`.

    quick, sizes = read_sizes(__doc__, meetings=Size(10_000, 300, "meetings seeded"))

`--quick` is the few seconds' run the suite makes of every bench (`tests/test_benches.py`), so a bench cannot
rot; it says so first, as its figures are not a measurement. A size given on the command line wins either way.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    full: int  # the measurement's
    quick: int  # --quick's
    help: str


def read_sizes(description: str | None, **sizes: Size) -> tuple[bool, dict[str, int]]:
    """Whether this is a quick run, and every size's value (given, else the full or the quick default)."""
    parser = argparse.ArgumentParser(description=description)
    for name, size in sizes.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=int,
            help=f"{size.help} (default {size.full:,}; {size.quick:,} with --quick)",
        )
    parser.add_argument("--quick", action="store_true", help="a few seconds' run that checks the bench works")
    arguments = parser.parse_args()
    if arguments.quick:
        print("quick run: the figures check that the bench works, they are not a measurement")
    values = {
        name: getattr(arguments, name) or (size.quick if arguments.quick else size.full)
        for name, size in sizes.items()
    }
    return arguments.quick, values
