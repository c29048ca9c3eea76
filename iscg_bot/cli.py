"""`iscg-bot`: run, web, demo, migrate, migrate-data, backup, check-config, minutes regenerate, report."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from iscg_bot.core.config import ConfigError, Settings, describe_settings, load_settings
from iscg_bot.core.language import LANGUAGES
from iscg_bot.domain.roles import AdvisoryGroup
from iscg_bot.logs import setup_logging

EXIT_USAGE = 1
EXIT_CONFIG = 2
EXIT_NOT_MIGRATED = 3
EXIT_LOGIN = 4
EXIT_LOST_LEAD = 5  # another process took the lead over: a supervisor restarts this one as a standby

WITHOUT_MATRIX = {"web"}  # a web replica logs in nowhere: its machine need not hold the bot's password

CONFIG_HELP = "TOML file (default: $ISCG_CONFIG or ./config.toml)"
_Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # what add_subparsers returns


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand `argv` names (default: the command line's); the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "demo":  # brings its own configuration
        from iscg_bot.demo.main import run_demo

        return run_demo(args.workdir, args.port, args.web_port, args.lang)
    if args.command == "migrate-data":  # both databases are named on the command line
        copied = asyncio.run(_migrate_data(args.source, args.target, args.chunk_rows))
        if copied != 0 or args.crypto_store is None:
            return copied
        return asyncio.run(_copy_device_keys(args.crypto_store, args.target))
    path, named_by = _config_path(args.config)
    try:
        if path is not None and not path.is_file():
            raise ConfigError([f"config file {path} not found (from {named_by}); copy config.example.toml"])
        settings = load_settings(path, matrix_needed=args.command not in WITHOUT_MATRIX)
    except ConfigError as error:
        for problem in _explained(error.problems, path):
            print(f"config error: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        print(f"configuration is valid ({path or 'no config file: from ISCG_* variables and defaults'}):")
        for row in describe_settings(settings):
            print(f"  {row}")
        return 0
    setup_logging(settings.logging.level, settings.logging.format)
    return _COMMANDS[args.command](settings, args)


# The subcommands that need the configuration and logging, each run in its own event loop.
_COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "migrate": lambda settings, args: asyncio.run(_migrate(settings)),
    "minutes": lambda settings, args: asyncio.run(_regenerate(settings, args.reference)),
    "report": lambda settings, args: asyncio.run(_report(settings, args)),
    "backup": lambda settings, args: _backup(settings, args.file),
    "run": lambda settings, args: asyncio.run(
        _run(settings, migrate_first=args.migrate, test_clock_file=args.test_clock_file)
    ),
    "web": lambda settings, args: asyncio.run(_web(settings)),
}


# ---- the command line ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    """The parser of `iscg-bot`'s subcommands, in the order its help lists them."""
    parser = argparse.ArgumentParser(prog="iscg-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub)
    web = sub.add_parser(
        "web",
        help="serve the pages, feeds, minutes and reports from the database alone (a web replica: "
        "no Matrix login; run as many as wanted beside the bot)",
    )
    web.add_argument("--config", type=Path, help=CONFIG_HELP)
    for name, help_text in (
        ("migrate", "bring the database schema up to date"),
        ("check-config", "validate the configuration and print it, secrets masked"),
    ):
        sub.add_parser(name, help=help_text).add_argument("--config", type=Path, help=CONFIG_HELP)
    _add_migrate_data(sub)
    _add_backup(sub)
    _add_minutes(sub)
    _add_report(sub)
    _add_demo(sub)
    return parser


def _add_run(sub: _Subparsers) -> None:
    run = sub.add_parser("run", help="run the bot")
    run.add_argument("--config", type=Path, help=CONFIG_HELP)
    run.add_argument("--migrate", action="store_true", help="apply pending migrations before starting")
    run.add_argument(
        "--test-clock-file",
        type=Path,
        help="for tests only: read the current time from this file (an ISO 8601 timestamp) instead of the "
        "system clock",
    )


def _add_migrate_data(sub: _Subparsers) -> None:
    copy = sub.add_parser(
        "migrate-data",
        help="copy every row of a database into an empty one (SQLite to PostgreSQL); stop the bot first",
    )
    source_help = "the database to copy, e.g. sqlite+aiosqlite:///data/iscg-bot.db"
    target_help = "an empty database, migrated first, e.g. postgresql+asyncpg://iscg:secret@db/iscg"
    copy.add_argument("--from", dest="source", metavar="URL", required=True, help=source_help)
    copy.add_argument("--to", dest="target", metavar="URL", required=True, help=target_help)
    copy.add_argument("--chunk-rows", type=_positive, default=2000, metavar="N", help="rows at a time")
    copy.add_argument(
        "--crypto-store",
        type=Path,
        metavar="DIR",
        help="the bot's matrix.store_path: its device's encryption keys move into PostgreSQL too, where "
        "the bot keeps them there (without them it cannot read its encrypted rooms)",
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number above 0, not {text!r}")
    return int(text)


def _add_backup(sub: _Subparsers) -> None:
    backup = sub.add_parser(
        "backup", help="write a consistent copy of the database to FILE, safe while the bot runs"
    )
    file_help = "a new file (SQLite: a database file; PostgreSQL: pg_dump's custom format)"
    backup.add_argument("file", type=Path, metavar="FILE", help=file_help)
    backup.add_argument("--config", type=Path, help=CONFIG_HELP)


def _add_minutes(sub: _Subparsers) -> None:
    minutes = sub.add_parser("minutes", help="the meetings' minutes")
    minutes_sub = minutes.add_subparsers(dest="minutes_command", required=True)
    regenerate = minutes_sub.add_parser(
        "regenerate",
        help="rebuild the minutes of a meeting (M12: all its sessions) or a session (S7) from the log",
    )
    regenerate.add_argument("reference", help="M12 or S7")
    regenerate.add_argument("--config", type=Path, help=CONFIG_HELP)


def _add_report(sub: _Subparsers) -> None:
    report = sub.add_parser("report", help="compile the report to the advisory groups into a file")
    report.add_argument("--year", type=int, required=True, help="the calendar year reported on")
    scope = report.add_mutually_exclusive_group()
    scope.add_argument("--subject", help="one subject, by its slug (default: every subject)")
    groups = [group.value for group in AdvisoryGroup]
    scope.add_argument("--advisory-group", choices=groups, help="that group's subjects")
    report.add_argument("--format", choices=["md", "html", "docx"], default="docx")
    report.add_argument(
        "--lang",
        choices=list(LANGUAGES),
        help="the language the report is written in (default: the group's, bot.default_language)",
    )
    report.add_argument("-o", "--output", type=Path, help="the file to write (default: a name here)")
    report.add_argument("--config", type=Path, help=CONFIG_HELP)


def _add_demo(sub: _Subparsers) -> None:
    demo = sub.add_parser(
        "demo",
        help="a throwaway local homeserver and the bot, with a seeded group: you as its Chair, two subjects",
    )
    demo.add_argument(
        "--workdir",
        type=Path,
        help="keep the demo's files here, and reuse them when started again (default: a temporary folder)",
    )
    demo.add_argument(
        "--port", type=int, default=None, help="homeserver port on 127.0.0.1 (default: a free port)"
    )
    demo.add_argument(
        "--web-port", type=int, default=None, help="web pages' port on 127.0.0.1 (default: a free port)"
    )
    demo.add_argument(
        "--lang",
        choices=list(LANGUAGES),
        help="the demo's language: what it prints, the group's default and its seeded texts (default: the "
        "terminal's, from LANGUAGE, LC_ALL, LC_MESSAGES or LANG; else English)",
    )


# ---- the configuration -----------------------------------------------------------------------------------


def _config_path(given: Path | None) -> tuple[Path | None, str]:
    """The config file and what named it; (None, "") when there is none: the environment must do."""
    if given is not None:
        return given, "--config"
    if os.environ.get("ISCG_CONFIG"):
        return Path(os.environ["ISCG_CONFIG"]), "$ISCG_CONFIG"
    default = Path("config.toml")
    return (default, "./config.toml") if default.exists() else (None, "")


def _explained(problems: list[str], path: Path | None) -> list[str]:
    """With no config file, say so first and how to give one: else "matrix.homeserver: missing" alone
    leaves a newcomer guessing where the bot looked."""
    if path is not None:
        return problems
    return [
        f"no config file: ./config.toml was not found (in {Path.cwd()}), "
        "and neither --config nor $ISCG_CONFIG names one",
        *problems,
        "give a file with --config FILE or ISCG_CONFIG=FILE (start from config.example.toml), "
        "or set the required keys as ISCG_<SECTION>_<KEY> variables (ISCG_MATRIX_HOMESERVER, …)",
    ]


async def _migrate(settings: Settings) -> int:
    from iscg_bot.storage import Database

    database = Database(settings.database.url.get_secret_value())
    try:
        before = await database.current_revision()
        await database.migrate()
        after = await database.current_revision()
    finally:
        await database.dispose()
    print(
        f"database migrated: {before or 'empty'} → {after}"
        if before != after
        else f"database is up to date ({after})"
    )
    return 0


async def _migrate_data(source_url: str, target_url: str, chunk_rows: int) -> int:
    """Copy every table into an empty database and say, table by table, how many rows it verified."""
    import time

    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from iscg_bot.storage import Database, NotMigratedError, data_copy
    from iscg_bot.storage.data_copy import CopyFailed, CopyRefused, TableCopied

    def shown(url: str) -> str:
        return make_url(url).render_as_string(hide_password=True)

    def report(table: TableCopied) -> None:
        print(
            f"  {table.name}: {table.rows:,} rows" + (f", next id {table.next_id}" if table.next_id else "")
        )

    try:
        data_copy.check_source_exists(source_url)
        source, target = Database(source_url), Database(target_url)
    except (CopyRefused, ArgumentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    started = time.perf_counter()
    try:
        print(f"copying {shown(source_url)} → {shown(target_url)}")
        copied = await data_copy.copy_data(source, target, chunk_rows=chunk_rows, on_table=report)
    except NotMigratedError as error:
        print(f"error: the source {error}", file=sys.stderr)
        return EXIT_NOT_MIGRATED
    except (CopyRefused, CopyFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (DBAPIError, OSError) as error:  # a server that does not answer, a login refused
        said = str(error.orig if isinstance(error, DBAPIError) else error)
        print(f"error: {said.splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        await source.dispose()
        await target.dispose()
    rows = sum(table.rows for table in copied)
    print(
        f"copied {rows:,} rows in {len(copied)} tables in {time.perf_counter() - started:.1f} s; "
        "every table's row count verified in the target"
    )
    return 0


def _backup(settings: Settings, file: Path) -> int:
    from iscg_bot.storage.backup import BackupError, backup

    try:
        done = backup(settings.database.url.get_secret_value(), file)
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if done.kind == "pg_dump":
        print(f"{done.path}: {done.size:,} bytes (pg_dump's custom format: restore with pg_restore)")
    else:
        print(
            f"{done.path}: {done.size:,} bytes, integrity ok, schema at {done.revision or 'no revision'}, "
            f"{done.handled_events or 0:,} handled events"
        )
    return 0


async def _copy_device_keys(store_path: Path, target_url: str) -> int:
    """After migrate-data: the bot's device's keys, from nio's file in `store_path` into PostgreSQL."""
    from iscg_bot.app import DEVICE_ID
    from iscg_bot.storage import Database, UnitOfWork

    database = Database(target_url)
    try:
        async with UnitOfWork(database.sessions) as uow:
            device_id = await uow.state.get(DEVICE_ID)
    finally:
        await database.dispose()
    if database.is_sqlite or device_id is None:
        why = "the target is SQLite" if database.is_sqlite else "the bot never logged in (no device)"
        print(f"error: no encryption keys to copy: {why}; the rows are copied", file=sys.stderr)
        return EXIT_USAGE
    try:
        from iscg_bot.matrix.crypto_store_pg import CryptoStoreCopyError, copy_file_store, file_store_user
    except ImportError as error:
        print(
            f'error: copying the keys needs {error.name}: pip install "iscg-bot[postgresql]"', file=sys.stderr
        )
        return EXIT_USAGE
    try:
        user_id = file_store_user(store_path, device_id)
        sessions = await asyncio.to_thread(copy_file_store, store_path, user_id, device_id, target_url)
    except CryptoStoreCopyError as error:
        print(f"error: {error}; the rows are copied", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"copied the encryption keys of {user_id} (device {device_id}): its account and {sessions:,} sessions"
    )
    return 0


async def _regenerate(settings: Settings, reference: str) -> int:
    """Rebuild stored minutes from the raw log (after a renderer fix, say); approved minutes come out as
    they were approved."""
    from iscg_bot.core.clock import SystemClock
    from iscg_bot.domain import minutes
    from iscg_bot.render import minutes_files
    from iscg_bot.storage import Database, NotMigratedError, UnitOfWork

    database = Database(settings.database.url.get_secret_value())
    try:
        await database.check_migrated()
        async with UnitOfWork(database.sessions) as uow:
            try:
                sessions = await minutes.sessions_named(uow, reference)
            except minutes.MinutesError as error:
                print(f"error: {error}", file=sys.stderr)
                return EXIT_USAGE
            for session in sessions:
                subject = await uow.subjects.by_room(session.room_id)
                document = await minutes_files.render(
                    uow,
                    session,
                    zone=subject.timezone if subject is not None else settings.bot.default_timezone,
                    base_url=settings.web.public_base_url,
                    now=SystemClock().now(),
                    prefix=settings.bot.command_prefix,
                    language=(subject.language if subject is not None else None)
                    or settings.bot.default_language,
                )
                print(f"S{session.id} ({document.reference}, {document.status}): {len(document.log)} lines")
            await uow.commit()
    except NotMigratedError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NOT_MIGRATED
    finally:
        await database.dispose()
    return 0


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    """Compile and write a report, with a progress bar on a terminal (one step per subject)."""
    from rich.console import Console
    from rich.progress import Progress

    from iscg_bot.core.clock import SystemClock
    from iscg_bot.core.i18n import speaking
    from iscg_bot.domain import reports
    from iscg_bot.render import report_render
    from iscg_bot.storage import Database, NotMigratedError, UnitOfWork

    database = Database(settings.database.url.get_secret_value())
    console = Console(stderr=True)
    try:
        await database.check_migrated()
        with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("compiling", total=None)
            async with UnitOfWork(database.sessions) as uow:
                compiled = await reports.compile_report(
                    uow,
                    period=reports.year(args.year),
                    subject_slug=args.subject,
                    advisory_group=args.advisory_group,
                    now=SystemClock().now(),
                    base_url=settings.web.public_base_url,
                    default_zone=settings.bot.default_timezone,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
    except reports.ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except NotMigratedError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NOT_MIGRATED
    finally:
        await database.dispose()
    output = args.output or Path(report_render.filename(compiled, args.format))
    with speaking(args.lang or settings.bot.default_language):
        output.write_bytes(report_render.render_as(compiled, args.format))
        print(f"{output}: {report_render.headline(compiled)}")
    return 0


async def _run(settings: Settings, *, migrate_first: bool, test_clock_file: Path | None = None) -> int:
    from iscg_bot.app import BotApp, SetupError
    from iscg_bot.core.clock import FileClock
    from iscg_bot.matrix.gateway import LoginError
    from iscg_bot.storage import NotMigratedError

    log = logging.getLogger(__name__)
    # Listen for a stop before anything else: `docker stop` (SIGTERM) or Ctrl-C (SIGINT) may come while
    # migrating or logging in, and must end the bot quietly with status 0 whatever it was doing.
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    if migrate_first:
        log.info("migrating the database")
        migration = asyncio.create_task(_migrate(settings))
        heard = asyncio.create_task(stopping.wait())
        await asyncio.wait({migration, heard}, return_when=asyncio.FIRST_COMPLETED)
        heard.cancel()
        if not migration.done():
            # The migration runs in one transaction: cancelled, it is rolled back.
            migration.cancel()
            await asyncio.wait({migration})
            log.info("stopped before the migration finished: the database is unchanged")
            return 0
        migration.result()  # its errors are reported as before
    if stopping.is_set():
        log.info("stopped")
        return 0
    try:
        if test_clock_file is None:
            app = BotApp(settings, stopping=stopping)
        else:  # a clock the test moves: check reminders every second, not every few
            clock = FileClock(test_clock_file)
            app = BotApp(settings, clock=clock, reminder_tick_seconds=1.0, stopping=stopping)
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        await app.run()
    except NotMigratedError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NOT_MIGRATED
    except LoginError as error:
        print(f"error: cannot log in to {settings.matrix.homeserver}: {error}", file=sys.stderr)
        return EXIT_LOGIN
    if app.leadership.lost.is_set():
        print("error: another process took over as the active bot; stopped", file=sys.stderr)
        return EXIT_LOST_LEAD
    return 0


async def _web(settings: Settings) -> int:
    from iscg_bot.replica import WebReplica
    from iscg_bot.storage import NotMigratedError

    replica = WebReplica(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, replica.stop)
    try:
        await replica.run()
    except NotMigratedError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NOT_MIGRATED
    return 0


if __name__ == "__main__":
    sys.exit(main())
