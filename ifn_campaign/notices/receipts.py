"""Which features are owed their receipt now, and with which figures.

A receipt tells a member, `notices.receipt_days` (7) after their feature went live, where it went
out, its link and how far it reached. It is due at the feature's time plus `receipt_days`, and
waits for the post's figures at that mark (a reading at a `insights.read_after` mark of at least
`receipt_days`: the "7d" reading) for up to `RECEIPT_GRACE`; then it goes with the latest figures
there are, said to be partial, or without figures ("belum tersedia"). It waits for nothing when
no configured mark falls between `receipt_days` and the grace's end (no reading would come in
time) or the post is gone from the platform (it will not be read again): a gone post's receipt
has no link and says the post is no longer there.

No receipt at all for a post taken down (staff asked for it off the platform), for features
whose receipt was due more than `RECEIPT_WINDOW` ago (switching receipts on, or an upgrade,
does not mail every member about old features), or while `insights.enabled` is false (no reach
is read: a receipt would have nothing to say that the `after` notice did not). Members who
withdrew, unsubscribed or may no longer be told are left out by the outbox, as for every notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings, mark_delta
from ifn_campaign.insights.figures import Figures, latest_figures
from ifn_campaign.models import Feature, Notice, NoticeKind, Post, PostState
from ifn_campaign.notices.contacts import sending_media

__all__ = ["RECEIPT_GRACE", "RECEIPT_WINDOW", "Receipt", "due_receipts", "receipt_due_at"]

# how long a receipt waits past its due time for the reading at its mark before going without it
RECEIPT_GRACE = timedelta(days=2)
# a receipt due longer ago than this is not sent at all (an old feature, notices switched on late)
RECEIPT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Receipt:
    """What one feature's receipt says: when it went out, its link (none once the post is gone
    from the platform) and its latest figures (None: not read yet), partial when they are not
    from the receipt's mark."""

    post_id: int
    featured_at: datetime
    permalink: str | None
    gone: bool
    figures: Figures | None
    partial: bool


def receipt_due_at(featured_at: datetime, settings: Settings) -> datetime:
    """When a feature's receipt is due: `notices.receipt_days` after it went live."""
    return featured_at + timedelta(days=settings.notices.receipt_days)


def _waits_for_reading(settings: Settings) -> bool:
    """Whether a configured reading is due between the receipt and the end of its grace (with
    marks 1d and 28d only, the receipt at 7 days has nothing to wait for)."""
    least = timedelta(days=settings.notices.receipt_days)
    return any(
        least <= mark_delta(mark) <= least + RECEIPT_GRACE for mark in settings.insights.read_after
    )


def _utc(moment: datetime) -> datetime:
    """A time read back from SQLite's coalesce may have lost its zone: UTC, as stored."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _candidates(
    session: Session, settings: Settings, now: datetime
) -> list[tuple[Post, datetime, str | None]]:
    """Published posts, not taken down, whose receipt is due and within the window and not yet
    queued on every medium: the post, its feature's time and its link."""
    days = timedelta(days=settings.notices.receipt_days)
    # queued on every medium this deployment sends on (one held back, by a staff template that
    # could not be used, say, is queued once it can be: one receipt per feature and medium)
    queued = (
        select(func.count(func.distinct(Notice.medium)))
        .where(Notice.post_id == Post.id, Notice.kind == NoticeKind.RECEIPT)
        .scalar_subquery()
    )
    link = func.coalesce(Feature.permalink, Post.permalink)
    rows = session.execute(
        select(Post, Feature.featured_at, link)
        .join(Feature, Feature.post_id == Post.id)
        .where(
            Post.state == PostState.PUBLISHED,
            Post.takedown_requested_at.is_(None),  # type: ignore[union-attr]
            Post.taken_down_at.is_(None),  # type: ignore[union-attr]
            Feature.featured_at <= now - days,
            Feature.featured_at >= now - days - RECEIPT_WINDOW,
            queued < len(sending_media(settings)),
        )
        .order_by(Post.id)
    )
    return [(post, _utc(at), permalink) for post, at, permalink in rows]


def _at_mark(figures: Figures | None, least: timedelta) -> bool:
    """Whether figures are from a reading at `least` after going live or later (a mark stored
    by an older version or a hand edit that is no mark counts as not)."""
    if figures is None:
        return False
    try:
        return mark_delta(figures.mark) >= least
    except ValueError:
        return False


def due_receipts(session: Session, settings: Settings, now: datetime) -> dict[int, Receipt]:
    """The receipts owed at `now`, by post id (one per feature; the outbox makes one per
    medium). A receipt still waiting for its reading is not in it."""
    if not settings.insights.enabled:
        return {}
    found = _candidates(session, settings, now)
    figures = latest_figures(
        session, [post.id for post, _at, _link in found if post.id is not None]
    )
    least = timedelta(days=settings.notices.receipt_days)
    waits = _waits_for_reading(settings)
    receipts: dict[int, Receipt] = {}
    for post, featured_at, permalink in found:
        assert post.id is not None
        latest = figures.get(post.id)
        gone = post.remote_gone_at is not None
        complete = _at_mark(latest, least)
        grace_ends = receipt_due_at(featured_at, settings) + RECEIPT_GRACE
        if not complete and not gone and waits and now < grace_ends:
            continue  # the reading at the mark may still come
        receipts[post.id] = Receipt(
            post_id=post.id,
            featured_at=featured_at,
            permalink=None if gone else permalink,
            gone=gone,
            figures=latest,
            partial=latest is not None and not complete,
        )
    return receipts
