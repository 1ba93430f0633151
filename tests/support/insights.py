"""Insight readings written straight to the database, for tests of what reads figures (the
ledger, a member's history, the console, advice): "a reading of post P at mark M with figures F"
without running the reader against a sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from ifn_campaign.config import mark_delta
from ifn_campaign.models import InsightMetric, InsightReading, Post, ReadingState


def add_reading(
    session: Session,
    post: Post | int,
    mark: str,
    reach: int | None,
    metrics: Mapping[str, int] | None = None,
    read_at: datetime | None = None,
    *,
    state: str = ReadingState.READ,
) -> InsightReading:
    """A reading of `post` at `mark` (due `mark` after it went live: published_at, else its
    slot) with `reach` and one InsightMetric row per entry of `metrics`, exactly as given (the
    reach figure is not added to `metrics` for you). `read_at` defaults to the due time for a
    read reading and stays empty for the other states."""
    row = session.get(Post, post) if isinstance(post, int) else post
    if row is None or row.id is None:
        raise ValueError(f"no stored post {post!r} to read")
    due_at = (row.published_at or row.slot_at) + mark_delta(mark)
    if read_at is None and state == ReadingState.READ:
        read_at = due_at
    reading = InsightReading(
        post_id=row.id,
        mark=mark,
        due_at=due_at,
        state=state,
        read_at=read_at,
        attempts=1,
        reach=reach,
    )
    session.add(reading)
    session.flush()
    assert reading.id is not None
    for metric, value in (metrics or {}).items():
        session.add(
            InsightMetric(reading_id=reading.id, metric=metric, post_id=row.id, value=value)
        )
    session.flush()
    return reading
