"""A test-side Matrix user: a nio client that behaves like a person's client (Element) would.

It syncs continuously in a background task (so device keys, key claims and to-device messages flow as in a
real client), records every room timeline event as its raw JSON dict (after decryption) in arrival order,
accepts no invitation by itself, and sends content shaped the way Element shapes it.
"""

# The wait_* helpers are deadlines by nature, so they take a `timeout` (ASYNC109 wants callers to wrap them).

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

from nio import (
    Api,
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    MegolmEvent,
    MessageDirection,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
    SyncError,
    SyncResponse,
)
from nio.exceptions import EncryptionError, LocalProtocolError

from iscg_bot.demo.homeserver import RegisteredUser

log = logging.getLogger(__name__)

EventPredicate = Callable[[dict[str, Any]], bool]
T = TypeVar("T")

MEGOLM = "m.megolm.v1.aes-sha2"
# Long-poll like a real client: the server answers as soon as something happens.
SYNC_TIMEOUT_MS = 30_000
# Synapse caps a filter's timeline limit at filter_timeline_limit (100); bigger bursts leave gaps we fill.
SYNC_FILTER = {"room": {"timeline": {"limit": 100}}}
MAX_GAP_PAGES = 50


class MatrixUserError(RuntimeError):
    """The homeserver refused something the test user asked for."""


def _checked(response: T, what: str) -> T:
    if isinstance(response, ErrorResponse):
        raise MatrixUserError(f"{what} failed: {response}")
    return response


def matches(predicate: EventPredicate, event: dict[str, Any]) -> bool:
    # Predicates are usually quick lambdas over nested keys: a missing key just means "not this one".
    try:
        return bool(predicate(event))
    except (KeyError, TypeError, AttributeError, IndexError):
        return False


# --- predicates ------------------------------------------------------------------------------------------


def is_reply_to(event_id: str, *, sender: str | None = None) -> EventPredicate:
    """A message answering `event_id` (a rich reply, as the bot sends them)."""

    def predicate(event: dict[str, Any]) -> bool:
        in_reply_to = event["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
        return in_reply_to == event_id and (sender is None or event["sender"] == sender)

    return predicate


def is_message(
    *, sender: str | None = None, contains: str | None = None, msgtype: str | None = None
) -> EventPredicate:
    """An m.room.message, optionally from `sender`, whose body contains `contains`; edits are excluded."""

    def predicate(event: dict[str, Any]) -> bool:
        content = event["content"]
        return (
            event["type"] == "m.room.message"
            and content.get("m.relates_to", {}).get("rel_type") != "m.replace"
            and (sender is None or event["sender"] == sender)
            and (contains is None or contains in content["body"])
            and (msgtype is None or content["msgtype"] == msgtype)
        )

    return predicate


def is_membership(user_id: str, membership: str = "join") -> EventPredicate:
    def predicate(event: dict[str, Any]) -> bool:
        return (
            event["type"] == "m.room.member"
            and event["state_key"] == user_id
            and event["content"]["membership"] == membership
        )

    return predicate


def body_of(event: dict[str, Any]) -> str:
    return event.get("content", {}).get("body", "")


def _describe(event: dict[str, Any]) -> str:
    content = event.get("content", {})
    detail = content.get("body") or content.get("membership") or ""
    return f"{event.get('sender')} {event.get('type')} {detail!r}"[:200]


# --- the user --------------------------------------------------------------------------------------------


class MatrixUser:
    """A logged-in, continuously syncing user; create with `await MatrixUser.start(...)`."""

    def __init__(self, client: AsyncClient, encryption: bool):
        self.client = client
        self.encryption = encryption
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._arrivals: list[dict[str, Any]] = []  # every room's events, in arrival order
        self._event_ids: set[str] = set()
        self._invites: dict[str, list[dict[str, Any]]] = {}
        self._undecrypted: list[tuple[MegolmEvent, dict[str, Any]]] = []
        self._changed = asyncio.Condition()
        self._sync_task: asyncio.Task[None] | None = None
        self._first_sync_done = False
        self._stopped = False
        self.gaps_filled = 0

    @classmethod
    async def start(
        cls,
        base_url: str,
        registered_user: RegisteredUser,
        store_dir: Path,
        encryption: bool,
        *,
        timeout: float = 30,
    ) -> MatrixUser:
        await asyncio.to_thread(store_dir.mkdir, parents=True, exist_ok=True)
        client = AsyncClient(
            base_url,
            registered_user.user_id,
            device_id=registered_user.device_id,
            store_path=str(store_dir) if encryption else "",
            config=AsyncClientConfig(
                encryption_enabled=encryption, store_sync_tokens=encryption, request_timeout=60
            ),
        )
        # Also loads (or creates) the encryption store when encryption is on.
        client.restore_login(registered_user.user_id, registered_user.device_id, registered_user.access_token)
        user = cls(client, encryption)
        client.add_response_callback(user._on_sync, SyncResponse)
        client.add_response_callback(user._on_sync_error, SyncError)
        user._start_sync(full_state=True)
        try:
            # Our device keys must be on the server before anyone else can encrypt for us.
            await user._wait_until(
                lambda: (user._first_sync_done and not client.should_upload_keys) or None,
                timeout,
                "the first sync and key upload",
            )
        except BaseException:
            await user.stop()
            raise
        return user

    def _start_sync(self, *, full_state: bool) -> None:
        self._sync_task = asyncio.create_task(self._sync_loop(full_state), name=f"sync {self.client.user_id}")
        # Waiters must hear of a dead sync loop rather than time out.
        self._sync_task.add_done_callback(lambda _task: asyncio.ensure_future(self._notify()))

    async def _sync_loop(self, full_state: bool) -> None:
        while True:
            try:
                await self.client.sync_forever(
                    timeout=SYNC_TIMEOUT_MS, sync_filter=SYNC_FILTER, full_state=full_state
                )
            except LocalProtocolError as error:
                # nio's loop and our pre-send key query (_share_room_key) can race for the same pending
                # query; the loser finds nothing left to do. Carry on syncing.
                if "No key" not in str(error):
                    raise
                full_state = False

    async def _cancel_sync(self) -> None:
        task = self._sync_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def pause_sync(self) -> None:
        """Go offline (stop syncing) until resume_sync(): what happens meanwhile arrives in one go later."""
        await self._cancel_sync()

    async def resume_sync(self) -> None:
        if self._sync_task is None or self._sync_task.done():
            self._start_sync(full_state=False)

    @property
    def user_id(self) -> str:
        return self.client.user_id

    @property
    def device_id(self) -> str:
        return self.client.device_id

    @property
    def access_token(self) -> str:
        return self.client.access_token

    # --- recording ----------------------------------------------------------------------------------

    async def _on_sync(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and self._events.get(room_id) and info.timeline.prev_batch:
                events = await self._fetch_gap(room_id, info.timeline.prev_batch) + events
            for event in events:
                self._record(room_id, event)
        for room_id, info in response.rooms.leave.items():
            for event in info.timeline.events:
                self._record(room_id, event)
        for room_id, info in response.rooms.invite.items():
            self._invites[room_id] = [event.source for event in info.invite_state]
        for room_id in response.rooms.join:
            self._invites.pop(room_id, None)
        self._retry_decryption()
        self._first_sync_done = True
        await self._notify()

    async def _on_sync_error(self, response: SyncError) -> None:
        # sync_forever retries at once; don't spin against a server that keeps refusing.
        log.warning("%s: sync failed: %s", self.user_id, response)
        await asyncio.sleep(0.5)

    async def _fetch_gap(self, room_id: str, prev_batch: str) -> list[Any]:
        """Page back from a limited timeline to the last event we recorded, as a client scrolling up would."""
        known = {event.get("event_id") for event in self._events.get(room_id, [])}
        self.gaps_filled += 1
        missing: list[Any] = []
        token: str | None = prev_batch
        for _page in range(MAX_GAP_PAGES):
            page = await self.client.room_messages(
                room_id, start=token, direction=MessageDirection.back, limit=100
            )
            if not isinstance(page, RoomMessagesResponse):
                log.warning("%s: could not fill a gap in %s: %s", self.user_id, room_id, page)
                break
            for event in page.chunk:
                if event.event_id in known:
                    return list(reversed(missing))
                missing.append(event)
            if not page.chunk or not page.end or page.end == token:
                break
            token = page.end
        return list(reversed(missing))

    def _record(self, room_id: str, event: Any) -> None:
        source = dict(event.source)
        event_id = source.get("event_id")
        if event_id in self._event_ids:
            return
        if event_id:
            self._event_ids.add(event_id)
        source.setdefault("room_id", room_id)
        self._events.setdefault(room_id, []).append(source)
        self._arrivals.append(source)
        if isinstance(event, MegolmEvent):
            self._undecrypted.append((event, source))

    def _retry_decryption(self) -> None:
        """Decrypt events whose room key arrived after them (a real client retries too)."""
        still_undecrypted = []
        for encrypted, recorded in self._undecrypted:
            try:
                decrypted = self.client.decrypt_event(encrypted)
            except EncryptionError:
                still_undecrypted.append((encrypted, recorded))
                continue
            # Replace in place: the same dict sits in the room's list and in the arrival list.
            room_id = recorded["room_id"]
            recorded.clear()
            recorded.update(decrypted.source)
            recorded.setdefault("room_id", room_id)
        self._undecrypted = still_undecrypted

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- waiting ------------------------------------------------------------------------------------

    def _raise_if_sync_died(self) -> None:
        task = self._sync_task
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            raise MatrixUserError(f"{self.user_id}: the sync loop died") from task.exception()

    async def _wait_until(
        self, check: Callable[[], T | None], timeout: float, what: str | Callable[[], str]
    ) -> T:
        result: T | None = None

        def ready() -> bool:
            nonlocal result
            self._raise_if_sync_died()
            result = check()
            return result is not None

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        except TimeoutError:
            description = what() if callable(what) else what
            raise TimeoutError(f"{self.user_id}: no {description} within {timeout} s") from None
        assert result is not None
        return result

    def events(self, room_id: str) -> list[dict[str, Any]]:
        """The room's timeline events recorded so far, oldest first."""
        return list(self._events.get(room_id, []))

    def _candidates(self, room_id: str | None) -> list[dict[str, Any]]:
        return self._events.get(room_id, []) if room_id is not None else self._arrivals

    def _timeout_report(self, room_id: str | None, what: str) -> Callable[[], str]:
        def report() -> str:
            recent = self._candidates(room_id)[-15:]
            lines = "\n".join(f"  {_describe(event)}" for event in recent) or "  (nothing)"
            where = f"in {room_id}" if room_id else "in any room"
            return f"{what} {where}; last events seen:\n{lines}"

        return report

    async def wait_for(
        self, predicate: EventPredicate, *, room_id: str | None = None, timeout: float = 20
    ) -> dict[str, Any]:
        """The first recorded event (already seen or still to come) that matches `predicate`."""

        def first_match() -> dict[str, Any] | None:
            return next((e for e in self._candidates(room_id) if matches(predicate, e)), None)

        return await self._wait_until(first_match, timeout, self._timeout_report(room_id, "matching event"))

    async def wait_for_count(
        self,
        predicate: EventPredicate,
        n: int,
        *,
        room_id: str | None = None,
        timeout: float = 30,
    ) -> list[dict[str, Any]]:
        """Wait until at least `n` recorded events match; returns all the matches (oldest first)."""
        counts = [0]

        def enough() -> list[dict[str, Any]] | None:
            found = [e for e in self._candidates(room_id) if matches(predicate, e)]
            counts[0] = len(found)
            return found if len(found) >= n else None

        return await self._wait_until(
            enough, timeout, lambda: self._timeout_report(room_id, f"{n} matching events (saw {counts[0]})")()
        )

    def _is_joined(self, room_id: str, user_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users and user_id not in room.invited_users

    async def wait_joined(self, room_id: str, user_id: str, timeout: float = 20) -> None:
        """Wait until this client's view of the room has `user_id` joined (from timeline or state)."""
        await self._wait_until(
            lambda: self._is_joined(room_id, user_id) or None, timeout, f"join of {user_id} in {room_id}"
        )

    async def wait_invited(self, room_id: str | None = None, timeout: float = 20) -> str:
        """Wait for a pending invitation (to `room_id`, or to any room) and return the room's id."""

        def invited_room() -> str | None:
            if room_id is not None:
                return room_id if room_id in self._invites else None
            return next(iter(self._invites), None)

        return await self._wait_until(invited_room, timeout, f"invitation to {room_id or 'any room'}")

    def invitations(self) -> dict[str, list[dict[str, Any]]]:
        """Pending invitations: room id -> the stripped state the invite carried."""
        return dict(self._invites)

    async def _wait_room_ready(self, room_id: str, *, encrypted: bool = False, timeout: float = 20) -> None:
        await self.wait_joined(room_id, self.user_id, timeout)
        if encrypted:
            await self._wait_until(
                lambda: self.client.rooms[room_id].encrypted or None,
                timeout,
                f"encryption state in {room_id}",
            )

    # --- room membership ----------------------------------------------------------------------------

    async def create_room(
        self,
        *,
        name: str | None = None,
        invite: Iterable[str] = (),
        encrypted: bool = False,
        room_version: str | None = None,
        is_direct: bool = False,
    ) -> str:
        """Create a private room the way Element does (a DM uses trusted_private_chat); returns its id."""
        initial_state = []
        if encrypted:
            initial_state.append(
                {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
            )
        response = _checked(
            await self.client.room_create(
                name=name,
                invite=list(invite),
                room_version=room_version,
                is_direct=is_direct,
                preset=RoomPreset.trusted_private_chat if is_direct else RoomPreset.private_chat,
                initial_state=initial_state,
            ),
            "createRoom",
        )
        assert isinstance(response, RoomCreateResponse)
        await self._wait_room_ready(response.room_id, encrypted=encrypted)
        return response.room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        _checked(await self.client.room_invite(room_id, user_id), f"invite {user_id} to {room_id}")

    async def join(self, room_id: str) -> None:
        _checked(await self.client.join(room_id), f"join {room_id}")
        await self._wait_room_ready(room_id)

    async def leave(self, room_id: str) -> None:
        _checked(await self.client.room_leave(room_id), f"leave {room_id}")

    # --- sending ------------------------------------------------------------------------------------

    async def _share_room_key(self, room_id: str) -> None:
        """What nio's room_send does before encrypting, plus a key query for members who just joined."""
        client = self.client
        if not client.rooms[room_id].members_synced:
            _checked(await client.joined_members(room_id), f"members of {room_id}")
        # nio queries new members' devices from the sync loop only: a send right after a join would race it.
        if client.should_query_keys:
            with contextlib.suppress(LocalProtocolError):  # the sync loop's own query got there first
                _checked(await client.keys_query(), "keys/query")
        if client.olm is not None and client.olm.should_share_group_session(room_id):
            sharing = client.sharing_session.get(room_id)
            if sharing is not None:
                await sharing.wait()
            else:
                _checked(
                    await client.share_group_session(room_id, ignore_unverified_devices=True), "key sharing"
                )

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send any room event (encrypted when the room is, reactions included, as Element does)."""
        room = self.client.rooms.get(room_id)
        if room is None or not self._is_joined(room_id, self.user_id):
            await self._wait_room_ready(room_id)
            room = self.client.rooms[room_id]
        if room.encrypted and self.client.olm is not None:
            await self._share_room_key(room_id)
            # nio's room_send would leave m.reaction in clear, so encrypt and send ourselves.
            encrypted_type, encrypted_content = self.client.encrypt(room_id, event_type, content)
            method, path, data = Api.room_send(
                self.client.access_token, room_id, encrypted_type, encrypted_content, uuid4()
            )
            response = await self.client._send(RoomSendResponse, method, path, data, (room_id,))
        else:
            response = await self.client.room_send(room_id, event_type, content)
        response = _checked(response, f"send {event_type} to {room_id}")
        return response.event_id

    def _sender_of(self, room_id: str, event_id: str) -> str | None:
        return next(
            (e["sender"] for e in self._events.get(room_id, []) if e.get("event_id") == event_id), None
        )

    async def send_text(
        self,
        room_id: str,
        body: str,
        *,
        formatted_body: str | None = None,
        reply_to: str | None = None,
        mentions: list[str] | None = None,
        msgtype: str = "m.text",
    ) -> str:
        """Send an Element-shaped message: `m.mentions` always there; a reply mentions whom it answers."""
        user_ids = list(mentions or [])
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        if formatted_body is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = formatted_body
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
            replied_sender = self._sender_of(room_id, reply_to)
            if replied_sender and replied_sender != self.user_id and replied_sender not in user_ids:
                user_ids.append(replied_sender)
        content["m.mentions"] = {"user_ids": user_ids} if user_ids else {}
        return await self.send_event(room_id, "m.room.message", content)

    async def edit(self, room_id: str, event_id: str, new_body: str) -> str:
        """Edit a message as Element does: " * " fallback body, full new content in m.new_content."""
        content = {
            "msgtype": "m.text",
            "body": f" * {new_body}",
            "m.new_content": {"msgtype": "m.text", "body": new_body, "m.mentions": {}},
            "m.mentions": {},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        return await self.send_event(room_id, "m.room.message", content)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self.send_event(room_id, "m.reaction", content)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> str:
        response = _checked(
            await self.client.room_redact(room_id, event_id, reason=reason),
            f"redact {event_id}",
        )
        return response.event_id

    # --- shutting down ------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop syncing and close the HTTP session; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            await self._cancel_sync()
        finally:
            await self.client.close()
