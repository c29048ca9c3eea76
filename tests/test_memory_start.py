"""Memory after start (issue 14): `iscg-bot run` loads what a chat start needs, and the heavy rest only with
its first use — the report compiler and renderers, the chart, the page templates, Word and matplotlib.

Each test runs the real command line in a fresh interpreter, up to the point where the bot would sync (on a
database that is not migrated, `run` stops there with status 3), and reads what that process imported.
"""

import json
import subprocess
import sys
from pathlib import Path

CONFIG = """
[matrix]
homeserver = "http://127.0.0.1:9"
user_id = "@iscg-bot:example.org"
password = "pw"
store_path = "{root}/crypto-store"

[database]
url = "sqlite+aiosqlite:///{root}/bot.db"
"""

PROBE = """
import json, sys
from iscg_bot.cli import main
status = main(["run", "--config", sys.argv[1]])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""

# Loaded only when a report, a chart, a page or a Word file is made; pydantic not at all.
LOADED_ON_FIRST_USE = (
    "pydantic",
    "pydantic_core",
    "matplotlib",
    "docx",
    "lxml",
    "jinja2",
    "iscg_bot.domain.reports",
    "iscg_bot.render.report_render",
    "iscg_bot.render.chart",
)


def started_modules(tmp_path: Path) -> set[str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(root=tmp_path), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no ISCG_* from the caller's environment
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 3, done.stderr[-3000:]  # EXIT_NOT_MIGRATED: built, stopped before syncing
    return set(result["modules"])


def test_a_chat_start_leaves_the_heavy_renderers_and_pydantic_unloaded(tmp_path):
    modules = started_modules(tmp_path)
    assert "iscg_bot.app" in modules and "iscg_bot.commands.reports" in modules  # it did get that far
    loaded = [name for name in LOADED_ON_FIRST_USE if name in modules]
    assert loaded == [], f"imported at start, needed only later: {loaded}"
