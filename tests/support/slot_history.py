"""An account's history for slot advice: published posts at given local weekdays and times, each
with a reach reading (tests/support/insights.py `add_reading`), written straight to the
database."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.models import Member, Post, PostState
from tests.support.insights import add_reading

WIB = ZoneInfo("Asia/Jakarta")


def weekly(first_week: dt.date, weeks: int, weekday: int, time: str) -> list[dt.datetime]:
    """The UTC times of a weekly local (WIB) slot: `weeks` weeks from the Monday of
    `first_week`."""
    monday = first_week - dt.timedelta(days=first_week.weekday())
    hour, minute = (int(part) for part in time.split(":"))
    return [
        dt.datetime.combine(
            monday + dt.timedelta(weeks=w, days=weekday), dt.time(hour, minute), WIB
        ).astimezone(dt.UTC)
        for w in range(weeks)
    ]


def add_history(
    session: Session,
    slots: Iterable[dt.datetime],
    reach: Callable[[dt.datetime], int],
    *,
    channel: str = "instagram",
    account: str = "bpipi",
    mark: str = "7d",
    state: str = PostState.PUBLISHED,
    campaign: str = "riwayat",
) -> list[int]:
    """One post per slot (members taken in turn), published at its slot, with a reading at
    `mark` of `reach(slot)`; the post ids."""
    members = itertools.cycle(session.scalars(select(Member.id).order_by(Member.id)).all())
    ids = []
    for at in slots:
        post = Post(
            campaign=campaign,
            channel=channel,
            account=account,
            slot_at=at,
            member_id=next(members),
            template="sorotan",
            reason_id="riwayat",
            reason_en="history",
            state=state,
            state_changed_at=at,
            created_at=at - dt.timedelta(days=7),
            published_at=at if state == PostState.PUBLISHED else None,
            remote_id=f"r{at:%Y%m%d%H%M}{channel}{account}",
        )
        session.add(post)
        session.flush()
        assert post.id is not None
        add_reading(session, post, mark, reach(at))
        ids.append(post.id)
    session.commit()
    return ids
