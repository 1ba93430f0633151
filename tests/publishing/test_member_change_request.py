"""'Mohon diubah' on a post already scheduled on Facebook: the post goes back to review and its
scheduled copy, with the old text, must be deleted from the platform at the next publish run,
not left to go live at its slot while staff have not yet looked at the member's comment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from ifn_campaign.members.answers import ask_change
from ifn_campaign.members.links import issue_link
from ifn_campaign.models import MemberLink, Post, PostState
from ifn_campaign.publishing.publisher import Publisher, take_down
from tests.support.publishing import World, approved_posts


def publish_stage(world: World) -> None:
    """What a publish run does (orchestration.stages.publish_stage): take-downs, the run, and
    take-downs again."""
    publisher = Publisher(world.engine, world.settings)
    take_down(publisher)
    publisher.run()
    take_down(publisher)


def test_a_change_request_takes_the_scheduled_copy_down_before_review(world: World) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    post_id = approved_posts(world, {"facebook": now + timedelta(days=2)})["facebook"]
    assert Publisher(world.engine, world.settings).run().scheduled == [post_id]
    (old,) = world.platforms.graph.posts()
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.SCHEDULED
        token = issue_link(session, world.settings, post.member_id, now=now)
        link = session.get(MemberLink, int(token.split(".")[0]))
        assert link is not None
        ask_change(
            session,
            world.settings,
            link,
            post_id,
            "Foto lama, mohon ganti.",
            address="192.0.2.7",
            now=now,
        )
        session.commit()
    publish_stage(world)
    assert world.platforms.graph.posts() == [], "the old text is still scheduled on Facebook"
    assert [p.id for p in world.platforms.graph.posts(deleted=True)] == [old.id]
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        assert post.state == PostState.COMPOSED  # still waiting for staff's review
        assert post.replaces_remote_id is None and post.remote_id is None
