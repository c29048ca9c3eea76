"""The Matrix gateway: the only module that imports nio.

It logs in (reusing its device), runs the sync loop, back-fills gaps, translates nio's events into
`iscg_bot.chat.events`, and sends events with deterministic transaction IDs. Every request has a timeout;
rate limits are waited out and outages ridden out with backoff, so callers see either success or a
`PermanentSendError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MegolmEvent,
    MessageDirection,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.exceptions import SendRetryError

from iscg_bot.chat.events import (
    IncomingEvent,
    Invite,
    MembershipChange,
    Message,
    Outgoing,
    PermanentSendError,
    Reaction,
    Redaction,
    Tombstone,
    Undecryptable,
)
from iscg_bot.core.clock import Clock
from iscg_bot.core.config import MatrixSettings
from iscg_bot.core.workers import Backoff, Stopping

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, ConnectionError, OSError)
MESSAGE_TYPES = {"m.text", "m.notice", "m.emote"}
MEMBERSHIPS = {"join", "leave", "invite", "ban", "knock"}
# While backing off from an outage, ask the homeserver this often whether it is back: the backoff grows to
# 30 s, and without a probe the bot would stay away up to that long after the homeserver returned.
PROBE_EVERY_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 2.0  # a paused homeserver accepts the probe and never answers
PROBE_PATH = "/_matrix/client/versions"  # no auth, no database: the cheapest answer a homeserver gives


class LoginError(Exception):
    """The configured credentials do not work."""


class SessionStore(Protocol):
    """Where the bot keeps its device ID and access token between runs (the database)."""

    async def load(self) -> tuple[str, str] | None: ...

    async def save(self, device_id: str, access_token: str) -> None: ...

    async def direct_room(self, user_id: str) -> str | None:
        """The direct room the bot made with `user_id`, if any."""
        ...

    async def remember_direct_room(self, user_id: str, room_id: str) -> None: ...


@dataclass
class SyncBatch:
    """What one sync brought, in timeline order per room, gaps filled."""

    next_batch: str
    initial: bool  # the very first sync of a fresh deployment: its timeline is history
    events: list[IncomingEvent] = field(default_factory=list)
    invites: list[Invite] = field(default_factory=list)


class MatrixGateway:
    def __init__(
        self, settings: MatrixSettings, sessions: SessionStore, stopping: asyncio.Event, clock: Clock
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sessions = sessions
        self.stopping = stopping
        self.user_id = settings.user_id
        self.ready = asyncio.Event()  # set once the first sync has been handled: rooms are known
        self.last_sync_at: datetime | None = None
        self.client: AsyncClient | None = None
        # nio's key bookkeeping (query, claim, share) is not safe to run from two tasks at once: the sync
        # loop's housekeeping and a send into an encrypted room take turns.
        self._crypto_lock = asyncio.Lock()
        # Counters for tests, benchmarks and /metrics (read at scrape time by core.metrics.SyncCollector).
        self.syncs = 0  # completed and handled
        self.sync_failures = 0  # failed attempts: they never move last_sync_at
        self.last_sync_error: str | None = None  # why the latest attempt failed, until a sync succeeds
        self.limited_timelines = 0
        self.backfilled_events = 0
        self.rate_limited = 0

    # ---- connection ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Log in, then publish the device's keys before anything is handled: a room joined before they
        are published gets messages the bot cannot decrypt (senders encrypt only for devices they find)."""
        await self._login()
        client = self.client
        if client is not None and client.olm is not None and client.should_upload_keys:
            await self._retry(client.keys_upload, "keys upload")

    async def _login(self) -> None:
        """Log in, keeping the device: an access token from config, else the stored one, else a password."""
        self.settings.store_path.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=self.settings.encryption,
            store_sync_tokens=False,  # our database holds the sync token, stored after handling
            max_limit_exceeded=0,  # we wait out 429s ourselves (see send), so nio must hand them back
            max_timeouts=0,
            request_timeout=self.settings.request_timeout_seconds,
        )
        self.client = AsyncClient(
            self.settings.homeserver, self.user_id, store_path=str(self.settings.store_path), config=config
        )
        if self.settings.access_token is not None:
            token = self.settings.access_token.get_secret_value()
            whoami = await self._retry(lambda: self._whoami(token), "whoami")
            if whoami is None:
                raise LoginError("the configured access_token is not valid")
            self.client.restore_login(whoami.user_id, whoami.device_id, token)
            log.info(
                "logged in as %s with the configured token (device %s)", whoami.user_id, whoami.device_id
            )
            return
        saved = await self.sessions.load()
        if saved is not None:
            device_id, token = saved
            whoami = await self._retry(lambda: self._whoami(token), "whoami")
            if whoami is not None and whoami.device_id == device_id:
                self.client.restore_login(self.user_id, device_id, token)
                log.info("resumed session as %s (device %s)", self.user_id, device_id)
                return
            self.client.device_id = device_id  # log in again on the same device, keeping its keys
        await self._password_login()

    async def _password_login(self) -> None:
        client = self.client
        assert client is not None
        if self.settings.password is None:
            raise LoginError("no password configured and the stored session is no longer valid")
        password = self.settings.password.get_secret_value()
        response = await self._retry(
            lambda: client.login(password, device_name=self.settings.device_name), "login"
        )
        if not isinstance(response, LoginResponse):
            raise LoginError(f"login refused: {getattr(response, 'message', response)}")
        await self.sessions.save(response.device_id, response.access_token)
        log.info("logged in as %s (device %s)", response.user_id, response.device_id)

    async def _whoami(self, token: str) -> WhoamiResponse | ErrorResponse | None:
        assert self.client is not None
        self.client.access_token = token
        response = await self.client.whoami()
        if isinstance(response, WhoamiResponse):
            return response
        if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN"):
            return None
        return response  # anything else is retried by _retry

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    # ---- sync -----------------------------------------------------------------------------------

    async def batches(self, since: str | None) -> AsyncIterator[SyncBatch]:
        """Yield one batch per sync until `stopping` is set. The caller stores `next_batch` after handling."""
        assert self.client is not None
        initial = since is None
        full_state = True  # first sync of this process: learn every room (encryption state, members)
        try:
            while not self.stopping.is_set():
                response = await self._sync(since, full_state, timeout=0 if full_state else None)
                if response is None:
                    raise LoginError("the homeserver refused the bot's session (was its device logged out?)")
                batch = SyncBatch(next_batch=response.next_batch, initial=initial)
                batch.invites = self._invites(response)
                batch.events = await self._room_events(response, since, history=not initial)
                yield batch
                self.last_sync_at = self.clock.now()
                self.syncs, self.last_sync_error = self.syncs + 1, None
                self.ready.set()
                await self._crypto_housekeeping()
                since, initial, full_state = response.next_batch, False, False
        except Stopping:
            return

    async def _sync(self, since: str | None, full_state: bool, timeout: float | None) -> SyncResponse | None:
        client = self.client
        assert client is not None
        wait_ms = int((self.settings.sync_timeout_seconds if timeout is None else timeout) * 1000)
        response = await self._retry(
            lambda: client.sync(timeout=wait_ms, since=since, full_state=full_state or None),
            "sync",
            on_failure=self._sync_failed,
        )
        return response if isinstance(response, SyncResponse) else None

    def _sync_failed(self, why: str) -> None:
        self.sync_failures += 1
        self.last_sync_error = why

    def _invites(self, response: SyncResponse) -> list[Invite]:
        invites = []
        for room_id, info in response.rooms.invite.items():
            inviter = None
            for event in info.invite_state:
                source = getattr(event, "source", {}) or {}
                if getattr(event, "state_key", None) == self.user_id and source.get("type", "m.room.member"):
                    if getattr(event, "membership", None) == "invite":
                        inviter = event.sender
            if inviter is not None:
                invites.append(Invite(room_id=room_id, inviter=inviter))
        return invites

    async def _room_events(
        self, response: SyncResponse, since: str | None, *, history: bool
    ) -> list[IncomingEvent]:
        """Each room's members (from its state and from history: who was there before the bot), then
        the events since the last sync, gaps filled.

        On the very first sync (`history` False) the whole timeline is history: only membership is taken
        from it, since that is who is in the room now, not something to answer.
        """
        events: list[IncomingEvent] = []
        rooms = list(response.rooms.join.items()) + list(response.rooms.leave.items())
        for room_id, info in rooms:
            timeline = list(info.timeline.events)
            if history:
                # A room we just joined shows its history up to our join: that gap holds nothing for us.
                joined_here = any(self._is_own_join(e) for e in timeline)
                if info.timeline.limited and since is not None and not joined_here:
                    gap = await self._backfill(room_id, info.timeline.prev_batch, since)
                    self.limited_timelines += 1
                    self.backfilled_events += len(gap)
                    log.info("room %s: timeline was limited, back-filled %d events", room_id, len(gap))
                    timeline = gap + timeline
            past, present = self._split_at_own_join(timeline) if history else (timeline, [])
            for event in [*(getattr(info, "state", None) or ()), *past]:
                member = self._translate(room_id, event)
                # Our own join comes through the present, where it greets the room once.
                if isinstance(member, MembershipChange) and member.user_id != self.user_id:
                    events.append(member)
            for event in present:
                translated = self._translate(room_id, event)
                if translated is not None:
                    events.append(translated)
        return events

    async def _backfill(self, room_id: str, prev_batch: str | None, since: str) -> list[Any]:
        """Fetch the events a limited sync left out, back to the previous sync token (or our own join)."""
        client = self.client
        assert client is not None
        if not prev_batch:
            return []
        newest_first: list[Any] = []
        token = prev_batch
        while not self.stopping.is_set():
            response = await self._retry(
                functools.partial(
                    client.room_messages,
                    room_id,
                    start=token,
                    end=since,
                    direction=MessageDirection.back,
                    limit=100,
                ),
                "messages",
            )
            if not isinstance(response, RoomMessagesResponse) or not response.chunk:
                break
            newest_first.extend(response.chunk)
            if any(self._is_own_join(e) for e in response.chunk) or not response.end or response.end == token:
                break
            token = response.end
        return list(reversed(newest_first))

    def _is_own_join(self, event: Any) -> bool:  # noqa: ANN401 — nio's untyped event
        source = getattr(event, "source", {}) or {}
        content = source.get("content", {}) or {}
        prev = (source.get("unsigned", {}) or {}).get("prev_content", {}) or {}
        return (
            source.get("type") == "m.room.member"
            and source.get("state_key") == self.user_id
            and content.get("membership") == "join"
            and prev.get("membership") != "join"
        )

    def _split_at_own_join(self, timeline: list[Any]) -> tuple[list[Any], list[Any]]:
        """History (before the bot joined the room) and what came since its join. Of history, only who
        is a member matters; nothing said there is a command for the bot."""
        for index in range(len(timeline) - 1, -1, -1):
            if self._is_own_join(timeline[index]):
                return timeline[:index], timeline[index:]
        return [], timeline

    def _translate(self, room_id: str, event: Any) -> IncomingEvent | None:  # noqa: ANN401 — nio's untyped event
        source: dict[str, Any] = getattr(event, "source", {}) or {}
        event_id = source.get("event_id") or getattr(event, "event_id", None)
        sender = source.get("sender") or getattr(event, "sender", None)
        if not event_id or not sender:
            return None
        ts = source.get("origin_server_ts") or getattr(event, "server_timestamp", 0) or 0
        base = {
            "event_id": event_id,
            "room_id": room_id,
            "sender": sender,
            "server_time": datetime.fromtimestamp(ts / 1000, UTC),
        }
        if isinstance(event, MegolmEvent):
            return Undecryptable(**base)
        kind = source.get("type")
        content = source.get("content") or {}
        if not isinstance(content, dict):
            return None
        if kind == "m.room.message":
            return _message(base, content)
        if kind == "m.reaction":
            relation = content.get("m.relates_to") or {}
            if relation.get("rel_type") == "m.annotation" and relation.get("event_id"):
                return Reaction(**base, key=str(relation.get("key", "")), relates_to=relation["event_id"])
            return None
        if kind == "m.room.redaction":
            redacts = source.get("redacts") or content.get("redacts")
            return Redaction(**base, redacts=redacts) if redacts else None
        if kind == "m.room.member":
            prev = (source.get("unsigned") or {}).get("prev_content") or {}
            membership = content.get("membership")
            if membership not in MEMBERSHIPS or not str(source.get("state_key", "")).startswith("@"):
                return None
            name = content.get("displayname")
            return MembershipChange(
                **base,
                user_id=source["state_key"],
                membership=membership,
                previous=prev.get("membership") if isinstance(prev, dict) else None,
                display_name=name if isinstance(name, str) and name.strip() else None,
            )
        if kind == "m.room.tombstone" and content.get("replacement_room"):
            return Tombstone(**base, replacement_room=content["replacement_room"])
        return None

    async def _crypto_housekeeping(self) -> None:
        """What nio's sync_forever does between syncs: keep our keys and our view of others' keys current."""
        client = self.client
        if client is None or client.olm is None:
            return
        try:
            async with self._crypto_lock:
                # Not retried, but bounded by the request timeout: a stop must not wait that long.
                await self._unless_stopping(self._keep_keys_current(client))
        except (*TRANSIENT_ERRORS, LocalProtocolError) as error:
            log.warning("key maintenance failed, will retry after the next sync: %s", error)

    async def _keep_keys_current(self, client: AsyncClient) -> None:
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    # ---- actions ----------------------------------------------------------------------------------

    async def send(self, outgoing: Outgoing) -> str:
        """Send one event and return its event ID. Retries reuse the transaction ID, so nothing doubles."""
        assert self.client is not None
        backoff = Backoff()
        while True:
            try:
                async with self._crypto_lock if self.client.olm is not None else contextlib.nullcontext():
                    # Someone who just joined must get the room key too: learn their devices first.
                    await self._query_keys_if_needed()
                    response = await self.client.room_send(
                        outgoing.room_id,
                        outgoing.event_type,
                        outgoing.content,
                        tx_id=outgoing.txn_id,
                        ignore_unverified_devices=True,
                    )
            except LocalProtocolError as error:
                raise PermanentSendError(str(error)) from error
            except (SendRetryError, *TRANSIENT_ERRORS) as error:
                await self._wait_out_outage(
                    backoff.next_delay(), f"send to {outgoing.room_id} failed ({error!r})", unreachable=True
                )
                continue
            if isinstance(response, RoomSendResponse):
                return response.event_id
            if response.status_code == "M_LIMIT_EXCEEDED":
                self.rate_limited += 1
                wait = (response.retry_after_ms or 1000) / 1000
                await self._pause(wait, f"rate limited in {outgoing.room_id}")
                continue
            if _is_transient(response):
                await self._wait_out_outage(
                    backoff.next_delay(), f"send to {outgoing.room_id}: {response.message}", unreachable=False
                )
                continue
            raise PermanentSendError(f"{response.status_code}: {response.message}")

    async def upload(self, room_id: str, data: bytes, *, mimetype: str, filename: str) -> dict[str, Any]:
        """Upload a file for a message in `room_id`; return the message fields naming it: `url`, or in an
        encrypted room `file` (the upload is encrypted and its keys travel inside the encrypted event)."""
        assert self.client is not None
        client = self.client
        room = client.rooms.get(room_id)
        encrypt = bool(room is not None and room.encrypted and client.olm is not None)
        keys: dict[str, Any] = {}

        async def attempt() -> Any:  # noqa: ANN401 — nio's untyped upload response
            # In an encrypted room the name travels only inside the encrypted event, not to the media store.
            response, decryption = await client.upload(
                lambda *_: io.BytesIO(data),
                mimetype,
                None if encrypt else filename,
                encrypt=encrypt,
                filesize=len(data),
            )
            keys.update(decryption or {})
            return response

        response = await self._retry(attempt, f"upload of {filename}")
        if not isinstance(response, UploadResponse):
            raise PermanentSendError(
                f"upload of {filename} refused: {response.status_code}: {response.message}"
            )
        if encrypt:
            return {"file": {**keys, "url": response.content_uri}}
        return {"url": response.content_uri}

    async def _query_keys_if_needed(self) -> None:
        if self.client is not None and self.client.olm is not None and self.client.should_query_keys:
            with contextlib.suppress(LocalProtocolError):  # another task's query got there first
                await self.client.keys_query()

    async def direct_message(self, user_id: str, content: dict[str, Any], *, txn_id: str) -> str:
        """Send `content` to `user_id` alone: in the direct room the bot made with them (made and remembered
        on first use, made again if they left it). Same retries and idempotence as `send`."""
        room_id = await self._direct_room(user_id)
        return await self.send(Outgoing(room_id, "m.room.message", content, txn_id))

    async def _direct_room(self, user_id: str) -> str:
        client = self.client
        assert client is not None
        room_id = await self.sessions.direct_room(user_id)
        if room_id is not None:
            room = client.rooms.get(room_id)
            if room is not None and (user_id in room.users or user_id in room.invited_users):
                return room_id
            log.info("direct room %s with %s is gone; making a new one", room_id, user_id)
        response = await self._retry(
            lambda: client.room_create(
                is_direct=True, preset=RoomPreset.trusted_private_chat, invite=[user_id], name="ISCG bot"
            ),
            "create a direct room",
        )
        if not isinstance(response, RoomCreateResponse):
            raise PermanentSendError(f"cannot make a direct room with {user_id}: {response.message}")
        await self.sessions.remember_direct_room(user_id, response.room_id)
        await self._wait_known(response.room_id)
        return response.room_id

    async def _wait_known(self, room_id: str) -> None:
        """nio sends only into rooms a sync has shown it (it must know whether they are encrypted)."""
        assert self.client is not None
        if self.client.olm is None:
            return
        deadline = 2 * self.settings.sync_timeout_seconds + self.settings.request_timeout_seconds
        waited = 0.0
        while room_id not in self.client.rooms and waited < deadline:
            if await self.wait_stopping(0.1):
                raise Stopping
            waited += 0.1

    async def join(self, room_id: str) -> bool:
        client = self.client
        assert client is not None
        response = await self._retry(lambda: client.join(room_id), "join")
        if not isinstance(response, JoinResponse):
            log.warning("could not join %s: %s", room_id, getattr(response, "message", response))
            return False
        return True

    async def reject_invite(self, room_id: str) -> None:
        client = self.client
        assert client is not None
        await self._retry(lambda: client.room_leave(room_id), "leave")

    async def wait_stopping(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early when the bot stops. True when stopping."""
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    # ---- retry machinery ----------------------------------------------------------------------------

    async def _pause(self, seconds: float, why: str) -> None:
        log.warning("%s; retrying in %.1f s", why, seconds)
        if await self.wait_stopping(seconds):
            raise Stopping

    async def _wait_out_outage(self, seconds: float, why: str, *, unreachable: bool) -> None:
        """Back off `seconds`, but retry as soon as the homeserver, seen unreachable, answers again.

        `unreachable`: the request itself got no answer (refused, timed out). After an answer that was an
        error (a 500), the pause is cut short only once a probe has failed too (a proxy's 502 while the
        homeserver restarts), so a homeserver that answers probes but keeps failing requests still gets the
        full backoff instead of a retry every second.
        """
        log.warning("%s; retrying in %.1f s", why, seconds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (remaining := deadline - loop.time()) > 0:
            if await self.wait_stopping(min(PROBE_EVERY_SECONDS, remaining)):
                raise Stopping
            if loop.time() >= deadline:
                return
            if await self._unless_stopping(self._homeserver_answers()):
                if unreachable:
                    log.info("the homeserver answers again: retrying now")
                    return
                # It answers, so the failure was the request's own: the backoff stands, no more probing.
                if await self.wait_stopping(deadline - loop.time()):
                    raise Stopping
                return
            unreachable = True

    async def _unless_stopping(self, work: Awaitable[T]) -> T:
        """`await work`, unless the bot stops first: then `work` is cancelled and `Stopping` raised."""
        attempt = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({attempt, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not attempt.done():
            attempt.cancel()
            raise Stopping
        return attempt.result()

    async def _homeserver_answers(self) -> bool:
        """One cheap probe: does the homeserver answer `GET /_matrix/client/versions` with a 200?"""
        url = self.settings.homeserver.rstrip("/") + PROBE_PATH
        timeout = aiohttp.ClientTimeout(
            total=min(PROBE_TIMEOUT_SECONDS, self.settings.request_timeout_seconds)
        )
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                return response.status == 200
        except TRANSIENT_ERRORS:
            return False

    async def _retry(
        self,
        request: Callable[[], Awaitable[T]],
        what: str,
        *,
        on_failure: Callable[[str], None] = lambda why: None,
    ) -> T:
        """Run a request until it succeeds or fails for good; wait out rate limits and outages.

        Raises `Stopping` as soon as the bot stops, even in the middle of a long-polling sync. `on_failure`
        hears why each failed attempt (an outage, not a rate limit) failed, e.g. "ClientConnectorError".
        """
        backoff = Backoff()
        # A paused homeserver accepts the connection and never answers: bound every request.
        limit = self.settings.request_timeout_seconds + self.settings.sync_timeout_seconds
        while True:
            if self.stopping.is_set():
                raise Stopping
            try:
                response = await self._unless_stopping(asyncio.wait_for(request(), timeout=limit))
            except TRANSIENT_ERRORS as error:
                on_failure(type(error).__name__)
                await self._wait_out_outage(
                    backoff.next_delay(), f"{what} failed ({error!r})", unreachable=True
                )
                continue
            if isinstance(response, ErrorResponse):
                if response.status_code == "M_LIMIT_EXCEEDED":
                    self.rate_limited += 1
                    await self._pause((response.retry_after_ms or 1000) / 1000, f"{what} rate limited")
                    continue
                if _is_transient(response):
                    on_failure(f"{response.status_code or 'HTTP error'}: {response.message}")
                    await self._wait_out_outage(
                        backoff.next_delay(), f"{what}: {response.message}", unreachable=False
                    )
                    continue
            return response


def _is_transient(response: ErrorResponse) -> bool:
    """Server errors and unparsable answers (a proxy's 502 page) are worth retrying; M_* refusals are not."""
    status = getattr(getattr(response, "transport_response", None), "status", None)
    if isinstance(status, int) and status >= 500:
        return True
    return response.status_code is None


def _message(base: dict[str, Any], content: dict[str, Any]) -> Message | None:
    relation = content.get("m.relates_to") or {}
    replaces = None
    if isinstance(relation, dict) and relation.get("rel_type") == "m.replace" and relation.get("event_id"):
        replaces = relation["event_id"]
        new_content = content.get("m.new_content")
        if isinstance(new_content, dict):
            content = new_content
    msgtype = content.get("msgtype")
    body = content.get("body")
    if msgtype not in MESSAGE_TYPES or not isinstance(body, str):
        return None
    reply = relation.get("m.in_reply_to") if isinstance(relation, dict) else None
    mentions = content.get("m.mentions") or {}
    user_ids = mentions.get("user_ids") if isinstance(mentions, dict) else None
    formatted = content.get("formatted_body")
    return Message(
        **base,
        body=body,
        msgtype=msgtype,
        formatted_body=formatted if isinstance(formatted, str) else None,
        replaces=replaces,
        in_reply_to=reply.get("event_id") if isinstance(reply, dict) else None,
        mentions=tuple(u for u in user_ids if isinstance(u, str)) if isinstance(user_ids, list) else (),
    )
