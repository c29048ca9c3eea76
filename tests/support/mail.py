"""Invitations by e-mail in tests: the bot's mail settings for an SMTP server on 127.0.0.1, a chat that queues
mail (with a subject and a coordinator), and reading what it queued: the rows, a message's parts and its
calendar (checked as a strict reader would)."""

from __future__ import annotations

import email
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path

import icalendar
from ical.calendar_stream import IcsCalendarStream

from iscg_bot.commands import build_router
from iscg_bot.core.config import MailSettings, Settings
from iscg_bot.storage import Database, MailMessage, UnitOfWork
from tests.chat import ADMIN, BOT, COORD, Chat, said

FROM = "iscg-bot@itu.int"
LIST = "int-sect-group@lists.itu.int"


def mail_settings(port: int, *, enabled: bool = True) -> MailSettings:
    return MailSettings(
        enabled=enabled,
        smtp_host="127.0.0.1",
        smtp_port=port,
        starttls=False,
        from_address=FROM,
        list_address=LIST,
        timeout_seconds=5,
    )


async def open_chat(tmp_path: Path, mail: MailSettings) -> Chat:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    await database.migrate()
    config = Settings.model_validate(
        {
            "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "x"},
            "bot": {"admins": [ADMIN]},
            "mail": mail.model_dump(),
        }
    )
    chat = Chat(database, build_router(config.bot.command_prefix), config)
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    return chat


async def rows(chat: Chat) -> list[MailMessage]:
    async with UnitOfWork(chat.database.sessions) as uow:
        return await uow.mail.all()


def parts(raw: bytes) -> tuple[Message, dict[str, Message]]:
    message = email.message_from_bytes(raw, policy=default_policy)
    assert message.get_content_type() == "multipart/alternative"
    children = list(message.iter_parts())
    assert [p.get_content_type() for p in children] == ["text/plain", "text/html", "text/calendar"]
    return message, {p.get_content_type(): p for p in children}


def calendar_of(raw: bytes) -> tuple[str, bytes, icalendar.Calendar]:
    _, by_type = parts(raw)
    part = by_type["text/calendar"]
    body = part.get_payload(decode=True)
    assert part.get_content_charset() == "utf-8"
    cal = icalendar.Calendar.from_ical(body)
    assert part.get_param("method") == str(cal["METHOD"])  # the MIME method is the calendar's METHOD
    IcsCalendarStream.calendar_from_ics(body.decode())  # `ical` reads it strictly
    return str(cal["METHOD"]), body, cal
