"""Takedowns leave an account alone while the platform blocks it or its token awaits
re-authorisation (more calls lengthen a block, a dead token only repeats its refusal); the
posts are reported and the first run after the block or the re-authorisation deletes them.
Counted on the Graph sandbox over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from ifn_campaign.models import AccountState, Post, PostState
from ifn_campaign.publishing.blocks import ACCOUNT, account_key, record_block
from ifn_campaign.publishing.publisher import Publisher, take_down
from tests.support.publishing import World, approved_posts


def _scheduled_then_cancelled(world: World, now: datetime) -> int:
    post_id = approved_posts(world, {"facebook": now + timedelta(days=2)})["facebook"]
    assert Publisher(world.engine, world.settings).run().scheduled == [post_id]
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.state = PostState.CANCELLED
        session.commit()
    return post_id


def test_a_blocked_account_is_not_called_to_take_down_until_the_block_ends(world: World) -> None:
    now = datetime.now(UTC)
    post_id = _scheduled_then_cancelled(world, now)
    until = now + timedelta(minutes=30)
    with Session(world.engine) as session:
        key = account_key("facebook", "bpipi")
        record_block(session, ACCOUNT, key, until, code=32, reason="page limit", now=now)
        session.commit()
    graph = world.platforms.graph
    calls = len(graph.requests)

    held = take_down(Publisher(world.engine, world.settings, clock=lambda: now))

    assert len(graph.requests) == calls  # not one call during the block
    assert held.removed == []
    ((pid, why),) = held.problems
    assert pid == post_id and "not taken down yet" in why and "blocked" in why
    assert len(graph.posts()) == 1

    later = until + timedelta(seconds=1)
    done = take_down(Publisher(world.engine, world.settings, clock=lambda: later))
    assert done.removed == [post_id] and done.problems == []
    assert graph.posts() == []


def test_an_account_awaiting_reauthorisation_is_not_called_to_take_down(world: World) -> None:
    now = datetime.now(UTC)
    post_id = _scheduled_then_cancelled(world, now)
    with Session(world.engine) as session:
        session.add(
            AccountState(
                channel="facebook", account="bpipi", needs_reauth_since=now, message="token died"
            )
        )
        session.commit()
    graph = world.platforms.graph
    calls = len(graph.requests)

    held = take_down(Publisher(world.engine, world.settings))

    assert len(graph.requests) == calls
    ((pid, why),) = held.problems
    assert pid == post_id and "awaits re-authorisation" in why
    with Session(world.engine) as session:
        state = session.get(AccountState, ("facebook", "bpipi"))
        assert state is not None
        state.needs_reauth_since = None
        session.commit()
    assert take_down(Publisher(world.engine, world.settings)).removed == [post_id]
    assert graph.posts() == []


def test_an_account_gone_from_the_settings_holds_its_own_takedowns_not_the_others(
    world: World,
) -> None:
    """Consent first for everyone: a withdrawn post of an account no longer in the settings (or
    whose secret cannot be read) is reported with what to add, and every other account's
    takedowns still go; an Instagram post is listed for staff without building a client."""
    now = datetime.now(UTC)
    kept_id = _scheduled_then_cancelled(world, now)
    with Session(world.engine) as session:
        kept = session.get(Post, kept_id)
        assert kept is not None
        orphans = {}
        for channel, remote in (("facebook", "111_222"), ("instagram", "333")):
            orphan = Post(
                **{
                    column: getattr(kept, column)
                    for column in ("campaign", "member_id", "template", "reason_id", "reason_en")
                },
                channel=channel,
                account="old-page",
                slot_at=now - timedelta(days=1),
                state=PostState.CANCELLED,
                state_changed_at=now,
                created_at=now,
                remote_id=remote,
            )
            session.add(orphan)
            session.flush()
            orphans[channel] = orphan.id
        session.commit()

    report = take_down(Publisher(world.engine, world.settings))

    assert report.removed == [kept_id]
    assert world.platforms.graph.posts() == []
    ((pid, why),) = report.problems
    assert pid == orphans["facebook"] and "accounts.facebook.old-page" in why
    assert report.left_to_staff == [orphans["instagram"]]
