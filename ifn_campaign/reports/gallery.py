"""The PDF's gallery: which posts' cards a printed report shows when the month has more posts
than `report.pdf_cards`.

A printed month of 2,000 cards is 450 pages nobody reads and minutes of WeasyPrint; the HTML
page keeps every card. The print shows, per channel, the posts that reached furthest, the cap
shared among the channels in turn (a channel with few posts leaves its share to the others),
so each network's best work is there. Posts not read yet come after every read one, then by
slot and id: the same data always picks the same posts in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ifn_campaign.reports.page import PostLine

__all__ = ["PrintGallery", "print_gallery"]


@dataclass(frozen=True)
class PrintGallery:
    """The posts the PDF shows, per channel (`by_channel`: channel, its posts in the month,
    the ones shown best-reaching first), out of `total` in the month."""

    total: int
    by_channel: list[tuple[str, int, list[PostLine]]]

    @property
    def shown(self) -> int:
        return sum(len(posts) for _, _, posts in self.by_channel)

    @property
    def left_out(self) -> int:
        return self.total - self.shown


def _rank(post: PostLine, reach: Mapping[int, int | None]) -> tuple[bool, int, datetime, int]:
    value = reach.get(post.post_id)
    return (value is None, -(value or 0), post.slot_at, post.post_id)


def print_gallery(
    posts: Sequence[PostLine],
    reach: Mapping[int, int | None],
    channels: Sequence[str],
    cap: int,
) -> PrintGallery | None:
    """The selection for a gallery capped at `cap` cards, `channels` in the order the report
    lists them (any other channel after them); None when every post fits (the print shows
    the page's whole gallery)."""
    if len(posts) <= cap:
        return None
    order = list(dict.fromkeys([*channels, *sorted({p.channel for p in posts})]))
    ranked = {
        channel: sorted((p for p in posts if p.channel == channel), key=lambda p: _rank(p, reach))
        for channel in order
    }
    taken = dict.fromkeys(ranked, 0)
    shown = 0
    while shown < cap:
        before = shown
        for channel, ranked_posts in ranked.items():
            if shown < cap and taken[channel] < len(ranked_posts):
                taken[channel] += 1
                shown += 1
        if shown == before:
            break
    return PrintGallery(
        total=len(posts),
        by_channel=[
            (channel, len(ranked_posts), ranked_posts[: taken[channel]])
            for channel, ranked_posts in ranked.items()
            if taken[channel]
        ],
    )
