"""Feeds assembled from each meeting's rendered VEVENTs, kept per meeting: a change re-renders that meeting.

    blocks = FeedBlocks(prodid_domain="bot.example")
    body = blocks.render(rows, info=info, subjects=by_id, minutes_url=url_of)   # rows: FeedRows.meetings()

The bytes equal `feeds.render_feed` on the same meetings. Each meeting's block (its VEVENTs, folded, CRLF) is
kept under the meeting's ID together with everything it was rendered from: the meeting's row (its columns,
agenda and overrides, see `iscg_bot.storage.repositories.feed_rows`), its subject's slug and title and its
minutes URL. A block is reused only when all of that compares equal, so it cannot be stale whatever changed
and however (no stamp has to be raised by the change); the feed around the blocks is joined anew each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iscg_bot.calendar.feeds import FeedInfo, feed_bytes, meeting_block, meeting_years

if TYPE_CHECKING:
    from iscg_bot.storage.models import Subject
    from iscg_bot.storage.repositories.feed_rows import MeetingRow

__all__ = ["FeedBlocks"]


@dataclass(frozen=True, slots=True)
class _Block:
    source: tuple[MeetingRow, tuple[str, str] | None, str | None]  # row, subject (slug, title), minutes URL
    body: bytes
    span: tuple[str, int, int]  # zone, first and last year: what the feed's VTIMEZONEs must cover


class FeedBlocks:
    def __init__(self, *, prodid_domain: str = "iscg-bot") -> None:
        self.prodid_domain = prodid_domain
        self._blocks: dict[int, _Block] = {}
        self.rendered = 0  # meetings rendered (not reused) so far: for tests and the bench

    def render(
        self,
        meetings: Iterable[MeetingRow],
        *,
        info: FeedInfo,
        subjects: Mapping[int, Subject],
        minutes_url: Callable[[MeetingRow], str | None] = lambda m: None,
        complete: bool = False,
    ) -> bytes:
        """The feed of these meetings (in ID order), rendering only the meetings not kept as they are now.
        `complete`: these are all the meetings there are; the blocks of any other (deleted) are dropped."""
        ordered = sorted(meetings, key=lambda m: m.id)
        blocks = [self._block(m, subjects, minutes_url) for m in ordered]
        if complete:
            self._blocks = {m.id: block for m, block in zip(ordered, blocks, strict=True)}
        return feed_bytes(
            info, self.prodid_domain, spans=[b.span for b in blocks], blocks=[b.body for b in blocks]
        )

    def _block(
        self,
        meeting: MeetingRow,
        subjects: Mapping[int, Subject],
        minutes_url: Callable[[MeetingRow], str | None],
    ) -> _Block:
        subject = subjects.get(meeting.subject_id) if meeting.subject_id is not None else None
        source = (
            meeting,
            (subject.slug, subject.title) if subject is not None else None,
            minutes_url(meeting),
        )
        kept = self._blocks.get(meeting.id)
        if kept is not None and kept.source == source:
            return kept
        body = meeting_block(
            meeting,
            subjects=subjects,
            prodid_domain=self.prodid_domain,
            minutes_url=lambda m: source[2],
        )
        block = _Block(source, body, (meeting.timezone, *meeting_years(meeting)))
        self._blocks[meeting.id] = block
        self.rendered += 1
        return block
