"""The Matrix gateway: `MatrixGateway`, the one object through which the bot talks to the homeserver.

It logs in (reusing its device), runs the sync loop, back-fills gaps, keeps the encryption keys current,
and sends events with deterministic transaction IDs. Beside it in this package, the only one that imports
nio: `events` translates nio's events into `iscg_bot.chat.events`; `retries` bounds every request with a
timeout, waits out rate limits and rides out outages with backoff, so callers see either success or a
`PermanentSendError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MessageDirection,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendError,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.exceptions import SendRetryError

from iscg_bot.chat.events import IncomingEvent, Invite, MembershipChange, Outgoing, PermanentSendError
from iscg_bot.core.clock import Clock
from iscg_bot.core.config import MatrixSettings
from iscg_bot.core.workers import Backoff, Stopping
from iscg_bot.matrix.crypto_store import QuietStore
from iscg_bot.matrix.events import invites, is_own_join, split_at_own_join, translate
from iscg_bot.matrix.retries import TRANSIENT_ERRORS, Retrier, is_transient
from iscg_bot.matrix.rooms import RoomStates

log = logging.getLogger(__name__)


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
        self,
        settings: MatrixSettings,
        sessions: SessionStore,
        stopping: asyncio.Event,
        clock: Clock,
        *,
        crypto_store: type[QuietStore] = QuietStore,
    ) -> None:
        self.settings = settings
        # nio's encryption store: its file in store_path, or on PostgreSQL the bot's database (so that a
        # standby taking over has the device's keys; see crypto_store_pg).
        self.crypto_store = crypto_store
        self.clock = clock
        self.sessions = sessions
        self.stopping = stopping
        self.user_id = settings.user_id
        self.ready = asyncio.Event()  # set once the first sync has been handled
        self.last_sync_at: datetime | None = None
        self.client: AsyncClient | None = None
        self.rooms: RoomStates | None = None  # with the client: the rooms whose state nio holds
        # nio's key bookkeeping (query, claim, share) is not safe to run from two tasks at once: the sync
        # loop's housekeeping and a send into an encrypted room take turns.
        self._crypto_lock = asyncio.Lock()
        # Counters for tests, benchmarks and /metrics (read at scrape time by core.metrics.SyncCollector).
        self.syncs = 0  # completed and handled
        self.sync_failures = 0  # failed attempts: they never move last_sync_at
        self.last_sync_error: str | None = None  # why the latest attempt failed, until a sync succeeds
        self.limited_timelines = 0
        self.backfilled_events = 0
        self.retrier = Retrier(settings, stopping)

    @property
    def rate_limited(self) -> int:
        """Requests the homeserver refused with M_LIMIT_EXCEEDED (and that were waited out)."""
        return self.retrier.rate_limited

    # ---- connection ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Log in, then publish the device's keys before anything is handled: a room joined before they
        are published gets messages the bot cannot decrypt (senders encrypt only for devices they find)."""
        await self._login()
        client = self.client
        if client is not None and client.olm is not None and client.should_upload_keys:
            await self.retrier.run(client.keys_upload, "keys upload")

    async def _login(self) -> None:
        """Log in, keeping the device: an access token from config, else the stored one, else a password."""
        self.settings.store_path.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=self.settings.encryption,
            store=self.crypto_store,  # nio's store, without its write on every sync (a file or PostgreSQL)
            store_sync_tokens=False,  # our database holds the sync token, stored after handling
            max_limit_exceeded=0,  # we wait out 429s ourselves (see send), so nio must hand them back
            max_timeouts=0,
            request_timeout=self.settings.request_timeout_seconds,
        )
        self.client = AsyncClient(
            self.settings.homeserver, self.user_id, store_path=str(self.settings.store_path), config=config
        )
        self.rooms = RoomStates(self.client, self.retrier.run)
        if self.settings.access_token is not None:
            token = self.settings.access_token.get_secret_value()
            whoami = await self.retrier.run(lambda: self._whoami(token), "whoami")
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
            whoami = await self.retrier.run(lambda: self._whoami(token), "whoami")
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
        response = await self.retrier.run(
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
        return response  # anything else is retried by the retrier

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            if self.client.store is not None:
                self.client.store.database.close()  # nio never closes it (on PostgreSQL: a connection)

    # ---- sync -----------------------------------------------------------------------------------

    async def batches(self, since: str | None) -> AsyncIterator[SyncBatch]:
        """Yield one batch per sync until `stopping` is set. The caller stores `next_batch` after handling.

        A restart resumes with an incremental sync, not a full-state one: what changed in a room while the
        bot was down comes in that sync's state and timeline, and nio learns a room's full state when the
        bot first sends there (`RoomStates`)."""
        assert self.client is not None and self.rooms is not None
        initial = since is None
        first = True  # the first sync of this process does not wait: what is waiting is answered at once
        try:
            while not self.stopping.is_set():
                response = await self._sync(since, timeout=0 if first else None)
                if response is None:
                    raise LoginError("the homeserver refused the bot's session (was its device logged out?)")
                if first:
                    log.info(
                        "first sync: %d rooms with news, %d invitations",
                        len(response.rooms.join) + len(response.rooms.leave),
                        len(response.rooms.invite),
                    )
                self.rooms.synced_in_full(self._rooms_in_full(response, since))
                batch = SyncBatch(next_batch=response.next_batch, initial=initial)
                batch.invites = invites(response, self.user_id)
                batch.events = await self._room_events(response, since, history=not initial)
                yield batch
                self.last_sync_at = self.clock.now()
                self.syncs, self.last_sync_error = self.syncs + 1, None
                self.ready.set()
                await self._crypto_housekeeping()
                since, initial, first = response.next_batch, False, False
        except Stopping:
            return

    def _rooms_in_full(self, response: SyncResponse, since: str | None) -> list[str]:
        """The rooms this sync brought the full state of: all of them on a first sync ever; else those
        the bot has joined since `since` (the homeserver sends a newly joined room's state in full)."""
        joined = response.rooms.join
        if since is None:
            return list(joined)
        return [
            room_id
            for room_id, info in joined.items()
            if any(is_own_join(event, self.user_id) for event in info.timeline.events)
        ]

    async def _sync(self, since: str | None, timeout: float | None) -> SyncResponse | None:
        client = self.client
        assert client is not None
        wait_ms = int((self.settings.sync_timeout_seconds if timeout is None else timeout) * 1000)
        response = await self.retrier.run(
            lambda: client.sync(timeout=wait_ms, since=since),
            "sync",
            on_failure=self._sync_failed,
        )
        return response if isinstance(response, SyncResponse) else None

    def _sync_failed(self, why: str) -> None:
        self.sync_failures += 1
        self.last_sync_error = why

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
                joined_here = any(is_own_join(e, self.user_id) for e in timeline)
                if info.timeline.limited and since is not None and not joined_here:
                    gap = await self._backfill(room_id, info.timeline.prev_batch, since)
                    self.limited_timelines += 1
                    self.backfilled_events += len(gap)
                    log.info("room %s: timeline was limited, back-filled %d events", room_id, len(gap))
                    timeline = gap + timeline
            past, present = split_at_own_join(timeline, self.user_id) if history else (timeline, [])
            for event in [*(getattr(info, "state", None) or ()), *past]:
                member = translate(room_id, event)
                # Our own join comes through the present, where it greets the room once.
                if isinstance(member, MembershipChange) and member.user_id != self.user_id:
                    events.append(member)
            for event in present:
                translated = translate(room_id, event)
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
            response = await self.retrier.run(
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
            if (
                any(is_own_join(e, self.user_id) for e in response.chunk)
                or not response.end
                or response.end == token
            ):
                break
            token = response.end
        return list(reversed(newest_first))

    async def _crypto_housekeeping(self) -> None:
        """What nio's sync_forever does between syncs: keep our keys and our view of others' keys current."""
        client = self.client
        if client is None or client.olm is None:
            return
        try:
            async with self._crypto_lock:
                # Not retried, but bounded by the request timeout: a stop must not wait that long.
                await self.retrier.unless_stopping(self._keep_keys_current(client))
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
        backoff = Backoff()
        while True:
            try:
                response = await self._room_send(outgoing)
            except LocalProtocolError as error:
                raise PermanentSendError(str(error)) from error
            except (SendRetryError, *TRANSIENT_ERRORS) as error:
                await self.retrier.wait_out_outage(
                    backoff.next_delay(), f"send to {outgoing.room_id} failed ({error!r})", unreachable=True
                )
                continue
            if isinstance(response, RoomSendResponse):
                return response.event_id
            if response.status_code == "M_LIMIT_EXCEEDED":
                await self.retrier.wait_out_rate_limit(response, f"rate limited in {outgoing.room_id}")
                continue
            if is_transient(response):
                await self.retrier.wait_out_outage(
                    backoff.next_delay(), f"send to {outgoing.room_id}: {response.message}", unreachable=False
                )
                continue
            raise PermanentSendError(f"{response.status_code}: {response.message}")

    async def _room_send(self, outgoing: Outgoing) -> RoomSendResponse | RoomSendError:
        """One attempt, not retried. In an encrypted room it takes its turn with the key bookkeeping."""
        client = self.client
        assert client is not None
        if client.olm is not None:  # nio encrypts only for a room it knows (encrypted? who is in it?)
            await self._known(outgoing.room_id)
        async with self._crypto_lock if client.olm is not None else contextlib.nullcontext():
            # Someone who just joined must get the room key too: learn their devices first.
            await self._query_keys_if_needed()
            return await client.room_send(
                outgoing.room_id,
                outgoing.event_type,
                outgoing.content,
                tx_id=outgoing.txn_id,
                ignore_unverified_devices=True,
            )

    async def upload(self, room_id: str, data: bytes, *, mimetype: str, filename: str) -> dict[str, Any]:
        """Upload a file for a message in `room_id`; return the message fields naming it: `url`, or in an
        encrypted room `file` (the upload is encrypted and its keys travel inside the encrypted event)."""
        assert self.client is not None
        client = self.client
        if client.olm is not None:
            await self._known(room_id)
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

        response = await self.retrier.run(attempt, f"upload of {filename}")
        if not isinstance(response, UploadResponse):
            raise PermanentSendError(
                f"upload of {filename} refused: {response.status_code}: {response.message}"
            )
        if encrypt:
            return {"file": {**keys, "url": response.content_uri}}
        return {"url": response.content_uri}

    async def _known(self, room_id: str) -> None:
        """nio holds `room_id`'s state (fetched the first time it is needed)."""
        assert self.rooms is not None
        await self.rooms.ensure(room_id)

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
            await self._known(room_id)
            room = client.rooms.get(room_id)
            if room is not None and (user_id in room.users or user_id in room.invited_users):
                return room_id
            log.info("direct room %s with %s is gone; making a new one", room_id, user_id)
        response = await self.retrier.run(
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
        response = await self.retrier.run(lambda: client.join(room_id), "join")
        if not isinstance(response, JoinResponse):
            log.warning("could not join %s: %s", room_id, getattr(response, "message", response))
            return False
        return True

    async def reject_invite(self, room_id: str) -> None:
        client = self.client
        assert client is not None
        await self.retrier.run(lambda: client.room_leave(room_id), "leave")

    async def wait_stopping(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early when the bot stops. True when stopping."""
        return await self.retrier.wait_stopping(seconds)
