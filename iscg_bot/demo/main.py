"""`iscg-bot demo` (what `make run` starts): the newcomer's first look.

Starts a throwaway Synapse on 127.0.0.1, registers the bot, the demo Chair and the rest of a small group
(`iscg_bot.demo.seed`), creates the group room and two subject rooms with everyone in them, seeds the
group's history into the bot's database, runs the bot on SQLite, and prints how to log in and five
commands to try. Ctrl-C stops everything it started.

It speaks `--lang` (one of ITU's six languages), else the terminal's (`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`,
`LANG`, as gettext reads them; `make run LANGUAGE=fr`), else English: what it prints, the group's default
language, and the seeded group's texts.

With `--workdir` the demo keeps its files and can be started again: it reuses its users, rooms, data and
ports (`demo.json` keeps the bot's password, the room IDs and the ports; the database remembers that it was
seeded). `--port` and `--web-port` fix the addresses, so a Matrix client stays pointed from run to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from iscg_bot.core.config import Settings
from iscg_bot.core.formatting import enumeration
from iscg_bot.core.language import (
    LANGUAGES,
    SOURCE,
    UnknownLanguage,
    _,
    language_code,
    language_name,
    speaking,
)
from iscg_bot.demo.seed import (
    AI,
    CHAIR,
    COP,
    GROUP_PEOPLE,
    GROUP_ROOM_NAME,
    GROUP_ROOM_TOPIC,
    SUBJECTS,
    DemoRooms,
    Member,
    seed_group,
)
from iscg_bot.domain.roles import shown_body

if TYPE_CHECKING:
    from iscg_bot.demo.homeserver import LocalSynapse
from iscg_bot.logs import setup_logging

log = logging.getLogger(__name__)

DEMO_USER = CHAIR.localpart
DEMO_PASSWORD = "iscg-demo"  # every demo user's: log in as a coordinator to try what they may do
BOT_LOCALPART = "iscg-bot"
STATE_FILE = "demo.json"
BOT_READY_SECONDS = 120  # the bot logs in, syncs and joins the three rooms well within this


class DemoError(RuntimeError):
    """Why the demo cannot start, in one sentence for the person who typed `make run`."""


def run_demo(
    workdir: Path | None, port: int | None, web_port: int | None = None, language: str | None = None
) -> int:
    setup_logging("INFO")
    language = language or terminal_language(os.environ)
    with speaking(language):  # what the demo prints; the bot's tasks start from it too
        try:
            asyncio.run(_demo(workdir.resolve() if workdir is not None else None, port, web_port, language))
        except KeyboardInterrupt:
            pass
        except DemoError as error:
            print(_("The demo cannot start: {error}", error=error), file=sys.stderr, flush=True)
            return 1
    return 0


def terminal_language(environ: Mapping[str, str]) -> str:
    """The language the terminal asks for: the first of `LANGUAGE`'s list (gettext's), then `LC_ALL`,
    `LC_MESSAGES` or `LANG` (the first set), that names one of ITU's six ("fr_FR.UTF-8" → "fr"); English
    when none does ("C.UTF-8", "de_DE.UTF-8")."""
    locale = next((environ[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(name)), "")
    for wanted in (*environ.get("LANGUAGE", "").split(":"), locale):
        with contextlib.suppress(UnknownLanguage):
            if wanted:
                return language_code(wanted.split(".", 1)[0])
    return SOURCE


@dataclass
class DemoState:
    """What a restart with the same work directory needs and cannot find elsewhere."""

    path: Path
    bot_password: str = ""
    rooms: dict[str, str] = field(default_factory=dict)  # "group" and each subject's slug → room ID
    rooms_language: str = SOURCE  # what the rooms' names were written in
    port: int | None = None  # the homeserver's, last time
    web_port: int | None = None

    @classmethod
    def load(cls, path: Path) -> DemoState:
        if not path.exists():
            return cls(path, bot_password=secrets.token_urlsafe(16))
        saved = json.loads(path.read_text())
        return cls(
            path,
            bot_password=saved["bot_password"],
            rooms=dict(saved.get("rooms", {})),
            rooms_language=saved.get("rooms_language", SOURCE),
            port=saved.get("port"),
            web_port=saved.get("web_port"),
        )

    def save(self) -> None:
        saved = {
            "bot_password": self.bot_password,
            "rooms": self.rooms,
            "rooms_language": self.rooms_language,
            "port": self.port,
            "web_port": self.web_port,
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(saved, indent=2))
        temporary.replace(self.path)

    def demo_rooms(self) -> DemoRooms | None:
        if "group" not in self.rooms or any(plan.slug not in self.rooms for plan in SUBJECTS):
            return None
        return DemoRooms(
            self.rooms["group"],
            {plan.slug: self.rooms[plan.slug] for plan in SUBJECTS},
            self.rooms_language,
        )


async def _demo(workdir: Path | None, port: int | None, web_port: int | None, language: str) -> None:
    from iscg_bot.app import BotApp
    from iscg_bot.demo.homeserver import LocalSynapse

    temporary = workdir is None
    root = Path(tempfile.mkdtemp(prefix="iscg-demo-")) if workdir is None else workdir
    for asked, name in ((port, "PORT (--port)"), (web_port, "WEB_PORT (--web-port)")):
        if asked is not None and _still_free(asked) is None:
            raise DemoError(
                _(
                    "port {port} on 127.0.0.1 is in use; choose another {name}, or stop what holds it.",
                    port=asked,
                    name=name,
                )
            )
    root.mkdir(parents=True, exist_ok=True)
    state = DemoState.load(root / STATE_FILE)
    # Asked for, else last run's (while still free), else any free one.
    state.port = port or _still_free(state.port) or _free_port()
    state.web_port = web_port or _still_free(state.web_port) or _free_port()
    state.save()  # the bot's password first: a run stopped halfway can still log the bot in next time
    synapse = LocalSynapse(root / "synapse", port=state.port, log_level="WARNING")
    app: BotApp | None = None
    bot_task: asyncio.Task[None] | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(_("Starting a local Synapse homeserver…"), flush=True)
        await synapse.start()
        bot_id = await _bot_account(synapse, state.bot_password)
        chair = await synapse.register_or_login(
            DEMO_USER, DEMO_PASSWORD, admin=True, displayname=_(CHAIR.name)
        )
        rooms = state.demo_rooms()
        if rooms is None:
            rooms = await _create_rooms(synapse, chair.access_token, bot_id, language)
            state.rooms, state.rooms_language = {"group": rooms.group, **rooms.subjects}, rooms.language
            state.save()
        settings = demo_settings(
            synapse.base_url,
            bot_id,
            state.bot_password,
            chair.user_id,
            root,
            state.web_port,
            language,
        )
        app = BotApp(settings)
        await app.database.migrate()
        seeded = await seed_group(
            app.database.sessions,
            rooms=rooms,
            server_name=synapse.server_name,
            now=app.clock.now(),
            default_zone=settings.bot.default_timezone,
            base_url=settings.web.public_base_url,
            prefix=settings.bot.command_prefix,
            reminder_offsets=settings.reminders.offsets_minutes,
            language=language,
        )
        log.info("demo group %s", "seeded" if seeded else "already seeded: kept as it is")
        bot_task = asyncio.create_task(app.run(), name="bot")
        in_rooms = await _bot_in_rooms(synapse, chair.access_token, bot_id, rooms, bot_task, stop)
        # The set-up session is done: no stray device per run in the Chair's list (Element shows them all).
        await synapse.logout(chair.access_token)
        if in_rooms:
            _print_welcome(synapse.base_url, chair.user_id, rooms, root, settings)
            stop_wait = asyncio.create_task(stop.wait())
            await asyncio.wait({stop_wait, bot_task}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
        print("\n" + _("Stopping…"), flush=True)
    finally:
        if app is not None:
            app.stop()
        if bot_task is not None:
            with contextlib.suppress(Exception):
                await bot_task
        await synapse.stop()
        if temporary:
            shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _still_free(port: int | None) -> int | None:
    """`port` if nothing listens on it now."""
    if port is None:
        return None
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: a closed one's
        try:  # connections waiting out TIME_WAIT do not count
            probe.bind(("127.0.0.1", port))
        except OSError:
            return None
    return port


def demo_settings(
    homeserver: str,
    bot_id: str,
    bot_password: str,
    admin: str,
    root: Path,
    web_port: int,
    language: str = SOURCE,
) -> Settings:
    return Settings.model_validate(
        {
            "web": {"listen_port": web_port, "public_base_url": f"http://127.0.0.1:{web_port}"},
            "matrix": {
                "homeserver": homeserver,
                "user_id": bot_id,
                "password": bot_password,
                "store_path": str(root / "crypto-store"),
                "sync_timeout_seconds": 10,
            },
            "bot": {"admins": [admin], "default_language": language},
            "database": {"url": f"sqlite+aiosqlite:///{root / 'iscg-bot.db'}"},
        }
    )


async def _bot_account(synapse: LocalSynapse, password: str) -> str:
    """The bot's user ID, registered on the first run (the bot logs itself in, reusing its device)."""
    from iscg_bot.demo.homeserver import AdminRequestError

    try:
        return (await synapse.register(BOT_LOCALPART, password, displayname="ISCG bot")).user_id
    except AdminRequestError as error:
        if not isinstance(error.body, dict) or error.body.get("errcode") != "M_USER_IN_USE":
            raise
    return synapse.user_id(BOT_LOCALPART)


async def _create_rooms(synapse: LocalSynapse, chair_token: str, bot_id: str, language: str) -> DemoRooms:
    """The group room and each subject's, made by the Chair, the bot invited and the group's people joined."""
    tokens = {CHAIR.localpart: chair_token}
    everyone = {
        member.localpart: member for member in (*GROUP_PEOPLE, *(m for p in SUBJECTS for m in p.people))
    }
    for localpart, member in everyone.items():
        if localpart not in tokens:
            user = await synapse.register_or_login(localpart, DEMO_PASSWORD, displayname=_(member.name))
            tokens[localpart] = user.access_token

    async def room(name: str, topic: str, people: tuple[Member, ...], encrypted: bool) -> str:
        others = [m for m in people if m.localpart != CHAIR.localpart]
        invite = [bot_id, *(synapse.user_id(m.localpart) for m in others)]
        room_id = await synapse.create_room(
            chair_token, name=name, topic=topic, invite=invite, encrypted=encrypted
        )
        for member in others:
            await synapse.join(tokens[member.localpart], room_id)
        return room_id

    group = await room(_(GROUP_ROOM_NAME), _(GROUP_ROOM_TOPIC), GROUP_PEOPLE, False)
    subjects = {
        plan.slug: await room(
            _(plan.room_name),
            _("Subject of common interest: {title}", title=_(plan.title)),
            plan.people,
            plan.encrypted,
        )
        for plan in SUBJECTS
    }
    for localpart, token in tokens.items():
        if localpart != CHAIR.localpart:  # the caller still needs the Chair's
            await synapse.logout(token)
    return DemoRooms(group, subjects, language)


async def _bot_in_rooms(
    synapse: LocalSynapse,
    token: str,
    bot_id: str,
    rooms: DemoRooms,
    bot: asyncio.Task[None],
    stop: asyncio.Event,
) -> bool:
    """Wait until the bot has joined every demo room (so what the welcome says works at once); False when
    the demo is stopped first. Raises if the bot ends or takes too long."""
    waiting = [rooms.group, *rooms.subjects.values()]
    deadline = asyncio.get_running_loop().time() + BOT_READY_SECONDS
    while waiting:
        if stop.is_set():
            return False
        if bot.done():
            error = bot.exception()
            raise DemoError(
                _("the bot stopped before joining the demo rooms: {error}", error=error)
                if error
                else _("the bot stopped before joining the demo rooms: see the log above")
            )
        if asyncio.get_running_loop().time() > deadline:
            raise DemoError(
                _(
                    "the bot did not join the demo rooms within {seconds} s; see the log above",
                    seconds=BOT_READY_SECONDS,
                )
            )
        if bot_id in await synapse.joined_members(token, waiting[0]):
            waiting.pop(0)
        else:
            await asyncio.sleep(0.2)
    return True


def try_these(prefix: str, rooms: DemoRooms) -> list[tuple[str, str, str]]:
    """Five commands worth trying first: (command, room name, what it shows), in the language spoken."""
    group, cop = rooms.name(GROUP_ROOM_NAME), rooms.name(COP.room_name)
    return [
        (f"{prefix}roles", group, _("the Chair (you), the management team, the secretariat")),
        (f"{prefix}meeting list", group, _("every subject's meetings to come")),
        (f"{prefix}minutes", cop, _("last week's approved minutes: decisions, key issues, actions")),
        (f"{prefix}actions overdue", cop, _("the action item nobody finished in time")),
        (f"{prefix}report", group, _("this year's report to TSAG, RAG and TDAG, as a Word file")),
    ]


def welcome(base_url: str, user_id: str, rooms: DemoRooms, root: Path, settings: Settings) -> str:
    """What the demo prints once the bot is in its rooms: where to log in, as whom, and what to try; in the
    language spoken. The labels are padded to one width, whatever their language."""
    web = settings.web.public_base_url
    prefix = settings.bot.command_prefix
    server = user_id.split(":", 1)[1]
    named = [(GROUP_ROOM_NAME, rooms.group), *((p.room_name, rooms.subjects[p.slug]) for p in SUBJECTS)]
    commands = try_these(prefix, rooms)
    width = max(len(command) for command, _room, _what in commands)
    focal, sector = COP.focal_points[0]

    def who(member: Member) -> str:
        return f"@{member.localpart}:{server}"

    def reads(member: Member) -> str:
        return language_name(member.language or settings.bot.default_language)

    others = [
        _(
            "{user} (coordinator of {subject}; language: {language})",
            user=who(COP.coordinator),
            subject=_(COP.title),
            language=reads(COP.coordinator),
        ),
        _(
            "{user} (coordinator of {subject}; language: {language})",
            user=who(AI.coordinator),
            subject=_(AI.title),
            language=reads(AI.coordinator),
        ),
        _(
            "{user} (focal point for {sector}; language: {language})",
            user=who(focal),
            sector=shown_body(sector.value),
            language=reads(focal),
        ),
    ]
    labelled = [
        (_("Homeserver:"), base_url),
        (
            _("Log in as:"),
            _("{user}   password: {password}   (you are the Chair)", user=user_id, password=DEMO_PASSWORD),
        ),
        ("", _("or, with the same password:")),
        *(("", f"  {other}") for other in others),
        (_("Web pages:"), f"{web}/"),
        ("", _("calendar: {url}", url=f"{web}/calendar")),
        ("", _("a subject: {url}", url=f"{web}/subjects/{COP.slug}")),
        (_("Calendar:"), f"{web}/calendar/iscg.ics"),
        ("", _("health: {url}", url=f"{web}/healthz") + "   " + _("metrics: {url}", url=f"{web}/metrics")),
        (_("Files:"), str(root)),
    ]
    label_width = max(len(label) for label, _value in labelled) + 1
    lines = [
        "",
        _("The ISCG bot demo is running."),
        *(f"  {label:<{label_width}} {value}" for label, value in labelled),
        "  " + _("Rooms (you are in them, with the bot and the group's people):"),
        *(f"    {rooms.name(name)}  ({room_id})" for name, room_id in named),
        "",
        _("Try these, each in the room named:"),
        *(
            f"  {command:<{width}}  " + _("in “{room}”: {what}", room=room, what=what)
            for command, room, what in commands
        ),
        "",
        _(
            "Connect with any Matrix client (Element: “Sign in”, then “Edit” the homeserver: the URL above), "
            "then say {help} in a room.",
            help=f"{prefix}help",
        ),
        _("Press Ctrl-C to stop everything."),
        _(
            "In another language: {command}, with one of {choices}",
            command="make run LANGUAGE=…",
            choices=_choices(),
        ),
        "",
    ]
    return "\n".join(lines)


def _choices() -> str:
    """`ar (العربية), zh (中文), …`: each language's code and its own name (as a switcher shows them)."""
    return enumeration(f"{code} ({name})" for code, name in LANGUAGES.items()).plain


def _print_welcome(base_url: str, user_id: str, rooms: DemoRooms, root: Path, settings: Settings) -> None:
    print(welcome(base_url, user_id, rooms, root, settings), file=sys.stdout, flush=True)
