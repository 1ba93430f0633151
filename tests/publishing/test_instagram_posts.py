"""Instagram specifics over real HTTP against the Graph sandbox: a carousel of the card and the
member's other photos, alt text on every image, the member's consented handle tagged on the
card, and the publishing limit read once per run rather than before every post."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Member, Post, PostEvent, PostState
from ifn_campaign.publishing.publisher import Publisher
from tests.support.publishing import World, approved_posts, members_by_photos


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
    # the publisher's clock stays at `now`: run across a full hour, the wall clock would make
    # the moved post due again in the same run, and move it once more
    report = Publisher(world.engine, world.settings, clock=lambda: now).run()
    assert len(report.published) == 2
    assert len(report.moved) == 1  # the third waits for the next free hour, not sent
    reads = [r for r in graph.requests if r.path.endswith("/content_publishing_limit")]
    assert len(reads) == 1
    publishes = [r for r in graph.requests if r.path.endswith("/media_publish")]
    assert len(publishes) == 2


def _member(world: World, carousel: bool) -> str:
    photos = members_by_photos(world)
    return next(ids for n, ids in sorted(photos.items()) if (n >= 2) == carousel)[0]


def _events(world: World, post_id: int) -> list[str]:
    with Session(world.engine) as session:
        return [
            e.note or ""
            for e in session.scalars(select(PostEvent).where(PostEvent.post_id == post_id))
        ]


@pytest.mark.parametrize("carousel", [False, True], ids=["single", "carousel"])
def test_a_post_held_back_past_24_hours_gets_new_containers_and_goes_out_once(
    world: World, carousel: bool
) -> None:
    now = datetime.now(UTC)
    post_id = approved_posts(
        world, {"instagram": now - timedelta(minutes=1)}, {"instagram": _member(world, carousel)}
    )["instagram"]
    graph = world.platforms.graph
    ig_user = graph.accounts[0].ig_user_id
    graph.faults.add(  # Instagram's own count says no, though ours said yes (posts from the app)
        graph.error_fault(9, path=f"/v25.0/{ig_user}/media_publish", subcode=2207042)
    )
    first = Publisher(world.engine, world.settings).run()
    assert [p for p, _ in first.moved] == [post_id], first
    old = {c.id for c, _ in graph.containers()}
    assert old and not graph.media()

    later = now + timedelta(hours=25)  # the limit held it for more than a day
    graph.advance(25 * 3600)
    again = Publisher(world.engine, world.settings, clock=lambda: later).run()
    assert again.published == [post_id], again
    (media,) = graph.media()  # exactly once
    containers = {c.id: (c, code) for c, code in graph.containers()}
    assert media.container_id not in old
    assert all(containers[c][1] == "EXPIRED" for c in old)
    made = containers[media.container_id][0]
    assert not set(made.children) & old  # new items too: an expired child spoils a carousel
    assert any("expired" in n and all(c in n for c in old) for n in _events(world, post_id)), (
        _events(world, post_id)
    )


def test_no_container_is_made_for_a_post_over_the_publishing_limit(world: World) -> None:
    now = datetime.now(UTC)
    post_id = approved_posts(
        world, {"instagram": now - timedelta(minutes=1)}, {"instagram": _member(world, True)}
    )["instagram"]
    graph = world.platforms.graph
    with graph._lock:  # the rolling day is full
        graph.publish_quota = len(graph._media)
    report = Publisher(world.engine, world.settings).run()
    assert [p for p, _ in report.moved] == [post_id], report
    assert graph.containers() == []


def _slow_items(world: World) -> tuple[int, Settings, datetime]:
    """A carousel post whose items Instagram is slow to process; the publisher waits 0 s."""
    now = datetime.now(UTC)
    post_id = approved_posts(
        world, {"instagram": now - timedelta(minutes=1)}, {"instagram": _member(world, True)}
    )["instagram"]
    graph = world.platforms.graph
    with graph._lock:
        graph.carousel_item_ready_after = 600
    settings = world.settings.model_copy(
        update={
            "instagram": world.settings.instagram.model_copy(update={"container_wait_seconds": 0})
        }
    )
    return post_id, settings, now


def test_a_carousel_is_made_only_once_every_item_is_finished(world: World) -> None:
    post_id, settings, now = _slow_items(world)
    graph = world.platforms.graph
    first = Publisher(world.engine, settings).run()
    assert [p for p, _ in first.retry_later] == [post_id], first
    items = [c.id for c, code in graph.containers() if code == "IN_PROGRESS"]
    assert items and all(c.is_carousel_item for c, _ in graph.containers())  # no carousel yet
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.APPROVED
        assert post.slide_container_ids == items  # kept for the next run

    graph.advance(600)
    later = now + timedelta(hours=1)
    again = Publisher(world.engine, settings, clock=lambda: later).run()
    assert again.published == [post_id], again
    (media,) = graph.media()
    parent = next(c for c, _ in graph.containers() if c.id == media.container_id)
    assert list(parent.children) == items  # the stored items, none made twice
    refused = [r for r in graph.requests if r.status == 400 and r.path.endswith("/media")]
    assert refused == []


def test_an_item_instagram_could_not_process_fails_the_post_with_the_reason(
    world: World,
) -> None:
    post_id, settings, now = _slow_items(world)
    graph = world.platforms.graph
    Publisher(world.engine, settings).run()
    items = [c.id for c, _ in graph.containers()]
    graph.fail_container(items[1], 2207001)
    graph.advance(600)
    later = now + timedelta(hours=1)
    report = Publisher(world.engine, settings, clock=lambda: later).run()
    assert [p for p, _ in report.failed] == [post_id], report
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.FAILED
        assert items[1] in (post.last_error or "") and "2207001" in (post.last_error or "")
    assert not [c for c, _ in graph.containers() if not c.is_carousel_item]
