"""A member withdraws on their page while the publisher is sending their post: the publisher's
consent check has passed, the withdrawal finds the post `publishing` and leaves it to the
publisher (the page keeps no list of such posts). Whatever went out must not stay up: a post
published or scheduled after the withdrawal is taken down or cancelled like any withdrawn one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from ifn_campaign.members.withdrawal import MEMBER_PAGE, withdraw
from ifn_campaign.models import Post, PostState
from ifn_campaign.publishing.publisher import Publisher, take_down
from tests.support.publishing import World, approved_posts


@pytest.mark.parametrize(
    ("channel", "point", "offset"),
    [
        ("instagram", "before:container", timedelta(minutes=-1)),
        ("instagram", "before:publish", timedelta(minutes=-1)),
        ("facebook", "before:fb_post", timedelta(days=2)),
    ],
)
def test_a_page_withdrawal_while_the_post_is_being_sent_does_not_leave_it_up(
    world: World, channel: str, point: str, offset: timedelta
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    post_id = approved_posts(world, {channel: now + offset})[channel]
    seen: list[str] = []

    def reached(at: str) -> None:
        seen.append(at)
        if at == point:
            with Session(world.engine) as session:
                post = session.get(Post, post_id)
                assert post is not None and post.state == PostState.PUBLISHING
                withdraw(session, post.member_id, source=MEMBER_PAGE, answer_id=None, now=utcnow())
                session.commit()

    Publisher(world.engine, world.settings, reached=reached).run()
    assert point in seen, seen
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        if post.state == PostState.PUBLISHED:
            assert post.takedown_requested_at is not None, "published after the withdrawal"
        else:
            assert post.state == PostState.CANCELLED, post.state
    take_down(Publisher(world.engine, world.settings))
    if channel == "facebook":
        assert world.platforms.graph.posts() == []  # the scheduled copy is deleted


def utcnow() -> datetime:
    return datetime.now(UTC)
