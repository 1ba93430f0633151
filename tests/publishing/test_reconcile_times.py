"""The ledger's time for natively scheduled posts is the platform's own time (Facebook's
`scheduled_publish_time` / `created_time`, YouTube's `publishedAt`), not when `reconcile`
happened to notice them: a report period must count a feature in the hour it went live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.models import Feature, Post, PostState
from ifn_campaign.publishing.publisher import Publisher, reconcile
from tests.support.publishing import World, approved_posts


def test_reconcile_an_hour_late_records_the_platforms_time(world: World) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    slots = {"facebook": now + timedelta(days=2), "youtube": now + timedelta(hours=3)}
    ids = approved_posts(world, slots)
    report = Publisher(world.engine, world.settings).run()
    assert sorted(report.scheduled) == sorted(ids.values()), report
    late = slots["facebook"] + timedelta(hours=1)  # both went live; reconcile comes an hour late
    for sandbox in (world.platforms.graph, world.platforms.youtube):
        sandbox.advance((late - now).total_seconds())
    done = reconcile(Publisher(world.engine, world.settings, clock=lambda: late))
    assert sorted(done.went_live) == sorted(ids.values()), done
    with Session(world.engine) as session:
        for channel, post_id in ids.items():
            post = session.get(Post, post_id)
            assert post is not None and post.state == PostState.PUBLISHED
            feature = session.scalars(select(Feature).where(Feature.post_id == post_id)).one()
            assert feature.featured_at == slots[channel], channel
            assert post.published_at == slots[channel], channel


def test_the_sandboxes_report_when_a_scheduled_post_went_live(world: World) -> None:
    """Facebook's read-back and YouTube's snippet.publishedAt are the public time (YouTube
    gives the upload time while the video is private, as the real API does)."""
    now = datetime.now(UTC).replace(microsecond=0)
    slots = {"facebook": now + timedelta(days=2), "youtube": now + timedelta(hours=3)}
    ids = approved_posts(world, slots)
    Publisher(world.engine, world.settings).run()
    with Session(world.engine) as session:
        fb = session.get(Post, ids["facebook"])
        yt = session.get(Post, ids["youtube"])
        assert fb is not None and yt is not None
        fb_id, yt_id = fb.remote_id or "", yt.remote_id or ""
    publisher = Publisher(world.engine, world.settings)
    client = publisher.clients.youtube("bpipi")
    private = client.video_status(yt_id)
    assert private.privacy == "private" and private.publish_at == slots["youtube"]
    assert private.published_at is not None and private.published_at < slots["youtube"]
    world.platforms.youtube.advance(4 * 3600)
    public = client.video_status(yt_id)
    assert public.privacy == "public" and public.published_at == slots["youtube"]

    from ifn_campaign.channels import facebook

    world.platforms.graph.advance(3 * 86400)
    state = facebook.read_back(publisher.clients.graph("facebook", "bpipi"), fb_id)
    assert state.is_published and state.went_live_at == slots["facebook"]


def test_an_account_gone_from_the_settings_does_not_stop_reconcile_for_the_others(
    world: World,
) -> None:
    """A scheduled and a published post of an account no longer in the settings are reported
    with what to add; the configured account's scheduled post that went live is still
    recorded."""
    now = datetime.now(UTC).replace(microsecond=0)
    slot = now + timedelta(days=2)
    post_id = approved_posts(world, {"facebook": slot})["facebook"]
    assert Publisher(world.engine, world.settings).run().scheduled == [post_id]
    with Session(world.engine) as session:
        kept = session.get(Post, post_id)
        assert kept is not None
        orphans = []
        for state, remote in ((PostState.SCHEDULED, "111_222"), (PostState.PUBLISHED, "111_333")):
            orphan = Post(
                **{
                    column: getattr(kept, column)
                    for column in ("campaign", "member_id", "template", "reason_id", "reason_en")
                },
                channel="facebook",
                account="old-page",
                slot_at=now - timedelta(days=1, hours=len(orphans)),
                state=state,
                state_changed_at=now,
                created_at=now,
                published_at=now - timedelta(days=1) if state == PostState.PUBLISHED else None,
                remote_id=remote,
            )
            session.add(orphan)
            session.flush()
            orphans.append(orphan.id)
        session.commit()
    world.platforms.graph.advance((slot - now).total_seconds() + 60)
    later = slot + timedelta(minutes=1)

    done = reconcile(Publisher(world.engine, world.settings, clock=lambda: later))

    assert done.went_live == [post_id], done
    assert sorted(pid for pid, _ in done.problems) == sorted(orphans)
    assert all("accounts.facebook.old-page" in why for _, why in done.problems)
