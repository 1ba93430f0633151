"""Instagram specifics over real HTTP against the Graph sandbox: a carousel of the card and the
member's other photos, alt text on every image, the member's consented handle tagged on the
card, and the publishing limit read once per run rather than before every post."""

# ruff: noqa: F811  (pytest fixtures imported from tests.test_publisher)
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ifn_campaign.models import MediaRole, Member, MemberMedia, Post, PostState
from ifn_campaign.publisher import Publisher
from tests.test_compose_review import synced_db  # noqa: F401  (fixture)
from tests.test_publisher import World, approved_posts, world  # noqa: F401  (fixture)


def members_by_photos(world: World) -> dict[int, list[str]]:
    """Promotable Instagram members by how many stored (usable) photos they have."""
    with Session(world.engine) as session:
        rows = session.execute(
            select(Member, func.count(MemberMedia.asset_sha256))
            .join(MemberMedia, MemberMedia.member_id == Member.id, isouter=True)
            .where(
                Member.status == "active",
                Member.consent_withdrawn_at.is_(None),
                MemberMedia.role == MediaRole.PHOTO,
            )
            .group_by(Member.id)
        ).all()
    found: dict[int, list[str]] = {}
    for member, photos in rows:
        if "instagram" in (member.consent_channels or []):
            found.setdefault(int(photos), []).append(member.id)
    return found


def set_handle(world: World, member_id: str, handle: str | None) -> None:
    with Session(world.engine) as session:
        member = session.get(Member, member_id)
        assert member is not None
        member.socials = {**(member.socials or {}), "instagram": handle}
        if handle is None:
            member.socials.pop("instagram")
        session.commit()


def test_a_member_with_several_photos_gets_a_carousel(world: World) -> None:
    several = next(ids for n, ids in sorted(members_by_photos(world).items()) if n >= 2)
    member_id = several[0]
    set_handle(world, member_id, "sepatu.cibaduyut")
    now = datetime.now(UTC)
    post_id = approved_posts(
        world, {"instagram": now - timedelta(minutes=1)}, {"instagram": member_id}
    )["instagram"]
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.slides and post.alt_text
        slides = list(post.slides)
        assert all(Path(s["path"]).is_file() and s["alt"] for s in slides)
        assert post.user_tags == ["sepatu.cibaduyut"]

    report = Publisher(world.engine, world.settings).run()
    assert report.published == [post_id], report

    graph = world.platforms.graph
    (media,) = graph.media()
    assert media.media_type == "CAROUSEL_ALBUM"
    containers = {c.id: c for c, _ in graph.containers()}
    parent = containers[media.container_id]
    assert parent.params["caption"] and len(parent.children) == 1 + len(slides)
    items = [containers[i] for i in parent.children]
    assert all(i.is_carousel_item and "caption" not in i.params for i in items)
    assert [i.params.get("alt_text") for i in items] == [
        post.alt_text,
        *[s["alt"] for s in slides],
    ]
    tags = [json.loads(i.params["user_tags"]) if "user_tags" in i.params else None for i in items]
    assert tags[0] == [{"username": "sepatu.cibaduyut", "x": 0.5, "y": 0.75}]
    assert tags[1:] == [None] * len(slides)  # the handle is tagged once, on the card
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.PUBLISHED
        assert post.slide_container_ids == list(parent.children)


def test_one_photo_is_a_single_image_with_alt_text_and_no_tag_without_a_handle(
    world: World,
) -> None:
    single = members_by_photos(world)[1][0]
    set_handle(world, single, None)
    now = datetime.now(UTC)
    post_id = approved_posts(
        world, {"instagram": now - timedelta(minutes=1)}, {"instagram": single}
    )["instagram"]
    Publisher(world.engine, world.settings).run()
    graph = world.platforms.graph
    (media,) = graph.media()
    assert media.media_type == "IMAGE"
    container = next(c for c, _ in graph.containers() if c.id == media.container_id)
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.slides is None and post.user_tags is None
        assert container.params["alt_text"] == post.alt_text
    assert "user_tags" not in container.params
    assert post.alt_text.startswith("Kartu promosi") and len(post.alt_text) <= 1000


def test_the_publishing_limit_is_read_once_per_run_and_counted_down(world: World) -> None:
    now = datetime.now(UTC)
    members = members_by_photos(world)[1][:3]
    for i, member_id in enumerate(members):
        approved_posts(
            world,
            {"instagram": now - timedelta(minutes=10 - i)},
            {"instagram": member_id},
        )
    graph = world.platforms.graph
    with graph._lock:  # room for two more posts in the rolling day
        graph.publish_quota = 2 + len(graph._media)
    report = Publisher(world.engine, world.settings).run()
    assert len(report.published) == 2
    assert len(report.moved) == 1  # the third waits for the next free hour, not sent
    reads = [r for r in graph.requests if r.path.endswith("/content_publishing_limit")]
    assert len(reads) == 1
    publishes = [r for r in graph.requests if r.path.endswith("/media_publish")]
    assert len(publishes) == 2
