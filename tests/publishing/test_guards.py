"""Guards found by review: consent checked again at the last moment, a claim taken over while a
worker waited is never used, a half-sent post cannot be edited, and a missing upload file fails
its post only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from ifn_campaign.cli.app import main
from ifn_campaign.models import Member, Post, PostState
from ifn_campaign.posts.lifecycle import reopen
from ifn_campaign.publishing.publisher import Publisher, PublishReport, take_down
from ifn_sandbox.http import Fault
from tests.support.publishing import World, approved_posts


def withdraw(world: World, post_id: int) -> None:
    """The member withdraws consent; the sync that would cancel the post has not run."""
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        member = session.get(Member, post.member_id)
        assert member is not None
        member.consent_withdrawn_at = datetime.now(UTC)
        session.commit()


def test_consent_withdrawn_after_approval_is_checked_before_any_call(world: World) -> None:
    now = datetime.now(UTC)
    post_id = approved_posts(world, {"instagram": now - timedelta(minutes=1)})["instagram"]
    withdraw(world, post_id)
    report = Publisher(world.engine, world.settings).run()
    assert report.published == [] and [p for p, _ in report.failed] == [post_id]
    assert world.platforms.graph.media() == []
    assert world.platforms.graph.requests.matching("/", "POST") == []  # not even a container
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.CANCELLED
        assert "consent withdrawn" in (post.cancel_reason or "")


def test_a_withdrawal_during_a_replacement_removes_the_old_copy_too(world: World) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    post_id = approved_posts(world, {"facebook": now + timedelta(days=2)})["facebook"]
    assert Publisher(world.engine, world.settings).run().scheduled == [post_id]
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        reopen(session, post, actor="staff:test", now=now, why="moved")
        post.slot_at = now + timedelta(days=3)
        session.commit()
    withdraw(world, post_id)
    Publisher(world.engine, world.settings).run()
    removed = take_down(Publisher(world.engine, world.settings))
    assert removed.removed == [post_id]
    assert world.platforms.graph.posts() == []  # neither the old copy nor a new one


def test_a_claim_taken_over_while_waiting_is_not_used(world: World) -> None:
    """Worker A claimed the post, then waited (account limits) past the lease; worker B took it
    over. A must send nothing for it; B publishes it once."""
    now = datetime.now(UTC)
    post_id = approved_posts(world, {"instagram": now - timedelta(minutes=1)})["instagram"]
    a = Publisher(world.engine, world.settings, worker="A")
    lease = timedelta(seconds=world.settings.publish.lease_seconds + 1)
    b = Publisher(world.engine, world.settings, worker="B", clock=lambda: now + lease)
    with Session(world.engine) as mine, Session(world.engine) as theirs:
        (held,) = a.claim(mine, now)
        (taken,) = b.claim(theirs, now + lease)
        assert taken.id == held.id == post_id
        report = PublishReport()
        a.publish(mine, held, report)
        assert report.retry_later == [(post_id, "taken over by another worker")]
        assert world.platforms.graph.requests.matching("/", "POST") == []
        done = PublishReport()
        b.publish(theirs, taken, done)
    assert done.published == [post_id]
    assert len(world.platforms.graph.media()) == 1


def test_a_half_sent_post_cannot_be_edited_or_moved(cli: World) -> None:
    world = cli
    now = datetime.now(UTC)
    post_id = approved_posts(world, {"facebook": now + timedelta(days=2)})["facebook"]
    with Session(world.engine) as session:  # a lost answer: released with its step kept
        post = session.get(Post, post_id)
        assert post is not None
        post.publish_step = "fb_post"
        session.commit()
    assert main(["edit-caption", str(post_id), "--text", "Teks lain."]) == 1
    at = (now + timedelta(days=3)).astimezone().strftime("%Y-%m-%d %H:%M")
    assert main(["move", str(post_id), "--at", at]) == 1
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.caption != "Teks lain."


def test_a_missing_card_fails_its_post_only_when_uploading(world: World) -> None:
    now = datetime.now(UTC)
    ids = approved_posts(
        world, {"facebook": now - timedelta(minutes=2), "instagram": now - timedelta(minutes=1)}
    )
    with Session(world.engine) as session:
        post = session.get(Post, ids["facebook"])
        assert post is not None and post.card_path
        Path(post.card_path).unlink()
    settings = world.settings.model_copy(
        update={"facebook": world.settings.facebook.model_copy(update={"photo_upload": "file"})}
    )
    report = Publisher(world.engine, settings).run()
    assert [p for p, _ in report.failed] == [ids["facebook"]]
    assert "is missing" in report.failed[0][1]
    assert report.published == [ids["instagram"]]  # the run went on


def test_a_withdrawal_while_an_outcome_is_unknown_only_looks_and_sends_nothing_more(
    world: World,
) -> None:
    """The photo post's answer was lost (it did not arrive: the Page has nothing), then the
    member withdrew. Consent is checked before any call: the next run only asks the Page what
    the lost call left, and sends no new post to take down afterwards."""
    now = datetime.now(UTC)
    post_id = approved_posts(world, {"facebook": now - timedelta(minutes=1)})["facebook"]
    graph = world.platforms.graph
    graph.faults.add(Fault("/v25.0/", "drop", method="POST"))  # the request, never an answer
    first = Publisher(world.engine, world.settings).run()
    assert [p for p, _ in first.retry_later] == [post_id], first
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.publish_step == "fb_post"
        post.next_attempt_at = None  # due again at once
        session.commit()
    withdraw(world, post_id)
    posts_sent = len(graph.requests.matching("/", "POST"))

    report = Publisher(world.engine, world.settings).run()

    assert report.published == [] and [p for p, _ in report.failed] == [post_id], report
    assert len(graph.requests.matching("/", "POST")) == posts_sent  # only reads went out
    assert graph.posts() == []
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.CANCELLED
        assert "consent withdrawn" in (post.cancel_reason or "")


def test_a_withdrawal_while_an_outcome_is_unknown_takes_down_what_the_lost_call_made(
    world: World,
) -> None:
    """The same, but the lost call did make the post: it is found, recorded and marked for
    takedown (take_down deletes it), and nothing is sent again."""
    now = datetime.now(UTC)
    post_id = approved_posts(world, {"facebook": now - timedelta(minutes=1)})["facebook"]
    graph = world.platforms.graph
    graph.faults.add(Fault("/v25.0/", "truncate", method="POST"))  # made, answer cut
    Publisher(world.engine, world.settings).run()
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.publish_step == "fb_post" and post.remote_id is None
        post.next_attempt_at = None
        session.commit()
    withdraw(world, post_id)
    posts_sent = len(graph.requests.matching("/", "POST"))

    Publisher(world.engine, world.settings).run()

    assert len(graph.requests.matching("/", "POST")) == posts_sent
    (made,) = graph.posts()
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.remote_id == made.id
    assert take_down(Publisher(world.engine, world.settings)).removed == [post_id]
    assert graph.posts() == []
