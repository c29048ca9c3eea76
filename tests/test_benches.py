"""Every benchmark in bench/ still runs: each is started with `--quick` (a few seconds, small sizes) as its
own process, as `make bench` starts it, and must exit 0 having printed its figures.

The benches are found by globbing bench/*.py, so a new bench is covered the day it is added; an API change
that breaks one breaks this test (`make bench` itself runs them in full and is not part of the suite).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHES = sorted((ROOT / "bench").glob("*.py"))
QUICK_TIMEOUT = 120  # seconds; the slowest quick run (a Synapse, two bots, a handful of pings) takes ~10 s
# A measured figure: a number with its unit ("77.9 ms", "1.4 s", "0.2 MB", "2,036 requests/s", "1.27×").
FIGURE = re.compile(r"\d[\d,]*(\.\d+)?\s*(ms|s|MB|MiB|requests/s|×)(?![A-Za-z])")


def test_the_benches_are_found() -> None:
    assert {b.name for b in BENCHES} >= {"feed_render.py", "ping_roundtrip.py", "report_compile.py"}


@pytest.mark.parametrize("bench", BENCHES, ids=[b.stem for b in BENCHES])
def test_the_bench_runs_in_its_quick_mode_and_prints_its_figures(bench: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(bench), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=QUICK_TIMEOUT,
    )
    assert done.returncode == 0, f"{bench.name} --quick exited {done.returncode}:\n{done.stderr[-3000:]}"
    figures = [line for line in done.stdout.splitlines() if FIGURE.search(line)]
    assert len(figures) >= 3, f"{bench.name} --quick printed no figures:\n{done.stdout}"
