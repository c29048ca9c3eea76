"""Feeds assembled from each meeting's rendered VEVENTs, kept per meeting: a change re-renders that meeting.

    blocks = FeedBlocks(prodid_domain="bot.example")
    body = blocks.render(rows, info=info, subjects=by_id, minutes_url=url_of)   # rows: FeedRows.meetings()

The bytes equal `feeds.render_feed` on the same meetings. Each meeting's block (its VEVENTs, folded, CRLF) is
kept under the meeting's ID together with everything it was rendered from: the meeting's row (its columns,
agenda and overrides, see `iscg_bot.storage.repositories.feed_rows`), its subject's slug and title and its
minutes URL. A block is reused only when all of that compares equal, so it cannot be stale whatever changed
and however (no stamp has to be raised by the change); the feed around the blocks is joined anew each time.
Blocks are kept per language (a block's DESCRIPTION is written in its feed's), so feeds in two languages
do not take turns re-rendering the same meetings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from iscg_bot.calendar.feeds import FeedInfo, SubjectNames, feed_bytes, meeting_block, meeting_years
from iscg_bot.core.language import speaking
from iscg_bot.storage.repositories.feed_rows import no_collection

if TYPE_CHECKING:
    from iscg_bot.storage.repositories.feed_rows import MeetingRow

__all__ = ["FeedBlocks"]


class _Names(NamedTuple):
    """A subject's names as a value: read once per render (not once per meeting from the stored subject),
    and compared with what a kept block was rendered from."""

    slug: str
    title: str


class _Block(NamedTuple):
    source: tuple[MeetingRow, _Names | None, str | None]  # row, subject's names, minutes URL
    body: bytes
    span: tuple[str, int, int]  # zone, first and last year: what the feed's VTIMEZONEs must cover


class FeedBlocks:
    def __init__(self, *, prodid_domain: str = "iscg-bot") -> None:
        self.prodid_domain = prodid_domain
        self._blocks: dict[str, dict[int, _Block]] = {}  # language → meeting ID → its block
        self.rendered = 0  # meetings rendered (not reused) so far: for tests and the bench

    def render(
        self,
        meetings: Iterable[MeetingRow],
        *,
        info: FeedInfo,
        subjects: Mapping[int, SubjectNames],
        minutes_url: Callable[[MeetingRow], str | None] = lambda m: None,
        complete: bool = False,
        language: str | None = None,
    ) -> bytes:
        """The feed of these meetings (in ID order), rendering only the meetings not kept as they are now.
        `complete`: these are all the meetings there are; the blocks of any other (deleted) are dropped.
        `language`: what the meetings' texts are written in (None: the language being written)."""
        ordered = sorted(meetings, key=lambda m: m.id)
        names = {key: _Names(s.slug, s.title) for key, s in subjects.items()}
        with speaking(language) as written, no_collection():  # the blocks live on, and make no cycle
            kept = self._blocks.setdefault(written, {})
            blocks = [self._block(kept, m, names, minutes_url) for m in ordered]
        if complete:
            self._blocks[written] = {m.id: block for m, block in zip(ordered, blocks, strict=True)}
            present = self._blocks[written].keys()
            for other in self._blocks.values():  # a deleted meeting's blocks in the other languages too
                for gone in other.keys() - present:
                    del other[gone]
        return feed_bytes(
            info, self.prodid_domain, spans=[b.span for b in blocks], blocks=[b.body for b in blocks]
        )

    def _block(
        self,
        kept_blocks: dict[int, _Block],
        meeting: MeetingRow,
        subjects: dict[int, _Names],
        minutes_url: Callable[[MeetingRow], str | None],
    ) -> _Block:
        url = minutes_url(meeting)
        source = (meeting, subjects.get(meeting.subject_id) if meeting.subject_id is not None else None, url)
        kept = kept_blocks.get(meeting.id)
        if kept is not None and kept.source == source:
            return kept
        body = meeting_block(
            meeting, subjects=subjects, prodid_domain=self.prodid_domain, minutes_url=lambda m: url
        )
        block = _Block(source, body, (meeting.timezone, *meeting_years(meeting)))
        kept_blocks[meeting.id] = block
        self.rendered += 1
        return block
