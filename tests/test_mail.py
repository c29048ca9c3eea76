"""iMIP invitations: queued with the meeting change, delivered to a real SMTP server (aiosmtpd, loopback)."""

from __future__ import annotations

import asyncio
import email
import socket
from email.policy import default as default_policy
from typing import Any

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, inspect, select

from iscg_bot.calendar.mail import MailSender
from iscg_bot.core.config import ConfigError, MailSettings, load_settings
from iscg_bot.storage import Database, MailMessage, UnitOfWork
from tests.chat import ADMIN, COORD, COP, Chat, said
from tests.support.mail import FROM, LIST, calendar_of, mail_settings, open_chat, parts, rows
from tests.support.polling import eventually


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def start_smtp(port: int) -> tuple[Controller, Collector]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, collector


def sender(chat: Chat, mail: MailSettings) -> MailSender:
    return MailSender(chat.database.sessions, mail, chat.clock)


def events(cal: icalendar.Calendar) -> list[Any]:
    return [c for c in cal.walk("VEVENT")]


@pytest.fixture
async def smtp():
    port = free_port()
    controller, collector = start_smtp(port)
    try:
        yield port, collector
    finally:
        controller.stop()


async def test_schedule_move_cancel_sends_request_request_cancel(tmp_path, smtp):
    port, collector = smtp
    mail = mail_settings(port)
    chat = await open_chat(tmp_path, mail)
    try:
        await said(chat, '!meeting schedule "Coordination call" 2026-12-03 14:00 Europe/Zurich for 90m')
        await said(chat, "!meeting move M1 2026-12-03 15:00 Europe/Zurich")
        await said(chat, "!meeting cancel M1 holidays")
        assert [r.sent_at for r in await rows(chat)] == [None, None, None]  # the commands only queue
        assert await sender(chat, mail).send_pending() == (3, 0)
    finally:
        await chat.close()

    assert len(collector.messages) == 3
    seen = []
    for mail_from, rcpts, raw in collector.messages:
        assert (mail_from, rcpts) == (FROM, [LIST])
        method, body, cal = calendar_of(raw)
        assert f"\r\nMETHOD:{method}\r\n".encode() in body
        [event] = events(cal)
        assert str(event["UID"]) == "meeting-1@iscg-bot"  # the feed's UID
        organizer = event["ORGANIZER"]
        assert str(organizer) == f"mailto:{FROM}" and organizer.params["CN"] == "ISCG bot"
        attendee = event["ATTENDEE"]
        assert str(attendee) == f"mailto:{LIST}"
        assert dict(attendee.params) == {
            "CUTYPE": "GROUP",
            "ROLE": "REQ-PARTICIPANT",
            "PARTSTAT": "NEEDS-ACTION",
            "RSVP": "FALSE",
        }
        assert cal.walk("VTIMEZONE")[0]["TZID"] == "Europe/Zurich"
        message = email.message_from_bytes(raw, policy=default_policy)
        seen.append((method, int(event["SEQUENCE"]), str(event["STATUS"]), message["Subject"]))
    assert seen == [
        (
            "REQUEST",
            0,
            "CONFIRMED",
            "Invitation: M1 · Coordination call — Thu 3 Dec 2026 14:00 Europe/Zurich",
        ),
        (
            "REQUEST",
            1,
            "CONFIRMED",
            "Invitation: M1 · Coordination call — Thu 3 Dec 2026 15:00 Europe/Zurich",
        ),
        ("CANCEL", 2, "CANCELLED", "Cancelled: M1 · Coordination call — Thu 3 Dec 2026 15:00 Europe/Zurich"),
    ]
    first = email.message_from_bytes(collector.messages[0][2], policy=default_policy)
    assert first["Message-ID"] == "<iscg.meeting-1.seq-0.request@itu.int>"
    assert first["From"] == f"ISCG bot <{FROM}>" and first["To"] == LIST
    _, by_type = parts(collector.messages[2][2])
    assert "Reason: holidays" in by_type["text/plain"].get_content()


async def test_a_cancelled_occurrence_carries_its_recurrence_id(tmp_path, smtp):
    port, collector = smtp
    mail = mail_settings(port)
    chat = await open_chat(tmp_path, mail)
    try:
        await said(
            chat,
            '!meeting schedule "Series" 2026-12-03 14:00 Europe/Zurich for 60m'
            " every 2 weeks until 2027-06-30",
        )
        await said(chat, "!meeting move M1 2027-01-14 16:00 Europe/Zurich occurrence 2026-12-31")
        await said(chat, "!meeting cancel M1 occurrence 2026-12-17 holidays")
        assert await sender(chat, mail).send_pending() == (3, 0)
    finally:
        await chat.close()
    (m1, _, c1), (m2, _, c2), (m3, b3, c3) = (calendar_of(raw) for _, _, raw in collector.messages)
    assert (m1, m2, m3) == ("REQUEST", "REQUEST", "CANCEL")
    assert "RRULE" in events(c1)[0]
    master, moved = events(c2)
    assert moved["RECURRENCE-ID"].dt.replace(tzinfo=None).isoformat() == "2026-12-31T14:00:00"
    assert int(master["SEQUENCE"]) == int(moved["SEQUENCE"]) == 1
    [cancelled] = events(c3)
    assert cancelled["RECURRENCE-ID"].dt.replace(tzinfo=None).isoformat() == "2026-12-17T14:00:00"
    assert str(cancelled["STATUS"]) == "CANCELLED" and int(cancelled["SEQUENCE"]) == 2
    assert "RRULE" not in cancelled
    assert b"\r\nRECURRENCE-ID;TZID=Europe/Zurich:20261217T140000\r\n" in b3
    subject = email.message_from_bytes(collector.messages[2][2], policy=default_policy)["Subject"]
    assert subject == "Cancelled: M1 · Series — Thu 17 Dec 2026 14:00 Europe/Zurich"


async def test_a_process_that_lost_the_lead_sends_no_mail_and_leaves_it_for_the_active_one(tmp_path):
    port = free_port()
    mail = mail_settings(port)
    chat = await open_chat(tmp_path, mail)
    controller, collector = start_smtp(port)
    try:
        await said(chat, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich')
        leading = False
        worker = MailSender(chat.database.sessions, mail, chat.clock, may_send=lambda: leading)
        assert await worker.send_pending() == (0, 0)
        [row] = await rows(chat)
        assert row.sent_at is None and collector.messages == []
        leading = True  # the process that leads sends it
        assert await worker.send_pending() == (1, 0)
        assert len(collector.messages) == 1
    finally:
        controller.stop()
        await chat.close()


async def test_smtp_down_keeps_the_row_pending_then_delivers_once(tmp_path):
    port = free_port()  # nothing listens there yet
    mail = mail_settings(port)
    chat = await open_chat(tmp_path, mail)
    try:
        await said(chat, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich')
        worker = sender(chat, mail)
        assert await worker.send_pending() == (0, 1)
        assert await worker.send_pending() == (0, 1)
        [row] = await rows(chat)
        assert row.sent_at is None and row.attempts == 2 and row.last_error
        controller, collector = start_smtp(port)
        try:
            assert await worker.send_pending() == (1, 0)
            assert await worker.send_pending() == (0, 0)  # nothing twice
        finally:
            controller.stop()
        [row] = await rows(chat)
        assert row.sent_at is not None and row.attempts == 3 and row.last_error is None
        assert len(collector.messages) == 1
    finally:
        await chat.close()


async def test_the_worker_retries_with_backoff(tmp_path):
    port = free_port()
    mail = mail_settings(port)
    chat = await open_chat(tmp_path, mail)
    worker = MailSender(chat.database.sessions, mail, chat.clock, first_delay=0.05, max_delay=0.2)
    await worker.start()
    controller = None
    try:
        await said(chat, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich')
        worker.wake()

        async def attempts() -> int:
            return (await rows(chat))[0].attempts

        await eventually(attempts, what="a first attempt, failed (no server yet)", timeout=5)
        assert (await rows(chat))[0].attempts >= 1
        controller, collector = start_smtp(port)
        await eventually(
            lambda: collector.messages, what="the mail delivered once the server is up", timeout=5
        )
        assert len(collector.messages) == 1
    finally:
        await asyncio.wait_for(worker.stop(), 5)
        if controller is not None:
            controller.stop()
        await chat.close()


async def test_line_breaks_in_a_title_inject_no_header(tmp_path):
    mail = mail_settings(25)
    chat = await open_chat(tmp_path, mail)
    try:
        from iscg_bot.calendar.mail import queue_invitation

        await said(chat, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich')
        async with UnitOfWork(chat.database.sessions) as uow:
            meeting = await uow.meetings.get(1)
            await uow.meetings.update(
                meeting, at=chat.clock.now(), title="Call\r\nBcc: evil@example.org\nX: y"
            )
            await uow.meetings.touch(meeting, chat.clock.now())
            await queue_invitation(uow, mail, meeting, method="REQUEST", at=chat.clock.now())
            await uow.commit()
        raw = (await rows(chat))[-1].message
    finally:
        await chat.close()
    message = email.message_from_bytes(raw, policy=default_policy)
    assert "Bcc" not in message and "X" not in message
    assert message["Subject"].startswith("Invitation: M1 · Call Bcc: evil@example.org X: y — ")
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in header_block and b"\nX: y" not in header_block
    _, _, cal = calendar_of(raw)
    assert str(events(cal)[0]["SUMMARY"]) == "M1 · Call\nBcc: evil@example.org\nX: y"


async def test_html_part_escapes_user_text(tmp_path):
    mail = mail_settings(25)
    chat = await open_chat(tmp_path, mail)
    try:
        await said(chat, '!meeting schedule "<b>Call</b> & co" 2026-12-03 14:00 Europe/Zurich')
        raw = (await rows(chat))[0].message
    finally:
        await chat.close()
    _, by_type = parts(raw)
    page = by_type["text/html"].get_content()
    assert "&lt;b&gt;Call&lt;/b&gt; &amp; co" in page and "<b>Call" not in page


async def test_disabled_mail_queues_nothing(tmp_path):
    chat = await open_chat(tmp_path, mail_settings(25, enabled=False))
    try:
        await said(chat, '!meeting schedule "Call" 2026-12-03 14:00 Europe/Zurich')
        await said(chat, "!meeting cancel M1")
        assert await rows(chat) == []
    finally:
        await chat.close()


def test_mail_config(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    config = tmp_path / "config.toml"
    config.write_text(
        '[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "@iscg-bot:example.org"\npassword = "x"\n'
        f'[mail]\nenabled = true\nusername = "bot"\npassword_file = "{secret}"\n'
    )
    settings = load_settings(config, environ={})
    assert settings.mail.password.get_secret_value() == "s3cret"
    assert (settings.mail.smtp_port, settings.mail.starttls) == (587, True)
    assert settings.mail.list_address == LIST
    with pytest.raises(ConfigError, match=r"mail\.from_address"):
        load_settings(config, environ={"ISCG_MAIL_FROM_ADDRESS": "bot@itu.int\r\nBcc: x@y.org"})
    with pytest.raises(ConfigError, match=r"mail\.list_address"):
        load_settings(config, environ={"ISCG_MAIL_LIST_ADDRESS": "not an address"})


async def test_migration_0005_up_and_down_keeps_data(unmigrated_database: Database) -> None:
    database = unmigrated_database
    await database.migrate("0004_calendar_tokens")
    async with UnitOfWork(database.sessions) as uow:
        await uow.calendar_tokens.issue(ADMIN, _now())
        await uow.session.commit()  # an old schema: no data_versions to raise

    async def tables() -> set[str]:
        async with database.engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))

    assert "mail_outbox" not in await tables()
    await database.migrate("0005_mail_outbox")
    assert "mail_outbox" in await tables()
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.calendar_tokens.has_live(ADMIN)
        assert await uow.session.scalar(select(func.count()).select_from(MailMessage)) == 0
    await database.downgrade("0004_calendar_tokens")
    assert "mail_outbox" not in await tables()
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.calendar_tokens.has_live(ADMIN)
    await database.migrate()


async def test_mail_outbox_roundtrip(database: Database) -> None:
    """The repository on both backends: queue once per Message-ID, pending, failed, sent."""
    from iscg_bot.storage.models import Meeting

    now = _now()
    async with UnitOfWork(database.sessions) as uow:
        meeting = Meeting(
            room_id=COP,
            title="Call",
            timezone="Europe/Zurich",
            start_local=now.replace(tzinfo=None),
            start_utc=now,
            duration_minutes=60,
            created_by=COORD,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(meeting)
        await uow.session.flush()
        args = dict(
            method="REQUEST", meeting_id=meeting.id, sequence=0, sender=FROM, recipients=[LIST], at=now
        )
        assert await uow.mail.queue(message_id="<a@itu.int>", message=b"x\r\n", **args) is not None
        assert await uow.mail.queue(message_id="<a@itu.int>", message=b"x\r\n", **args) is None
        await uow.commit()
    async with UnitOfWork(database.sessions) as uow:
        [row] = await uow.mail.pending()
        assert row.message == b"x\r\n"
        await uow.mail.mark_failed(row.id, "down")
        await uow.mail.mark_sent(row.id, now)
        await uow.commit()
    async with UnitOfWork(database.sessions) as uow:
        assert await uow.mail.pending() == []
        [row] = await uow.mail.all()
        assert row.attempts == 2 and row.sent_at == now


def _now():
    from tests.chat import START

    return START
