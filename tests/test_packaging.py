"""What `pip install .` puts into site-packages: one package, `iscg_bot`, with the top-level `commands/` and
`storage/` folders inside it as `iscg_bot.commands` and `iscg_bot.storage` (through the symlinks in
`iscg_bot/`), and every file the bot reads at run time. A bare `commands` or `storage` package would clash
with any other distribution's."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_one_package_with_commands_storage_and_their_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("iscg_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {name.split("/")[0] for name in names} == {
        "iscg_bot",
        wheel.name.split("-")[0] + "-0.1.0.dist-info",
    }
    expected = {f"iscg_bot/commands/{path.name}" for path in (ROOT / "commands").glob("*.py")}
    expected |= {f"iscg_bot/{path.relative_to(ROOT)}" for path in (ROOT / "storage").rglob("*.py")}
    expected |= {"iscg_bot/storage/migrations/script.py.mako", "iscg_bot/render/report.css"}
    expected |= {
        f"iscg_bot/web/{path.relative_to(ROOT / 'iscg_bot/web')}"
        for path in (ROOT / "iscg_bot/web").rglob("*.*")
        if path.suffix in {".html", ".css", ".js", ".svg"}
    }
    assert expected - names == set()
