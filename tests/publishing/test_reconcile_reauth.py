"""Reconcile leaves an account that awaits re-authorisation alone, as the publisher does: its
dead token is not offered to the platform once per post (15 refused calls for one token), and
the report says which posts wait and what staff do. Counted on the sandboxes over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from ifn_campaign.models import AccountState, Post, PostState
from ifn_campaign.orchestration.stages import reconcile_markdown
from ifn_campaign.publishing.publisher import Publisher, reconcile
from ifn_sandbox.platforms import SECRETS
from tests.support.publishing import TOKEN, World, approved, youtube_post


def _states(world: World, ids: list[int]) -> set[str]:
    with Session(world.engine) as session:
        return {session.get(Post, i).state for i in ids}  # type: ignore[union-attr]


def test_reconcile_sends_nothing_for_a_graph_account_awaiting_reauthorisation(
    world: World,
) -> None:
    now = datetime.now(UTC)
    out = approved(world, "instagram", [now - timedelta(minutes=m) for m in (9, 8, 7)])
    video = youtube_post(world, now - timedelta(minutes=6))
    assert len(Publisher(world.engine, world.settings).run().published) == 4
    (late,) = approved(world, "instagram", [now - timedelta(minutes=1)])
    graph, youtube = world.platforms.graph, world.platforms.youtube
    graph.invalidate_token(TOKEN, subcode=460)  # the password was changed
    assert Publisher(world.engine, world.settings).run().needs_reauth  # the account waits
    assert _states(world, [late]) == {PostState.NEEDS_REAUTH}
    graph_calls, youtube_calls = len(graph.requests), len(youtube.requests)

    report = reconcile(Publisher(world.engine, world.settings))

    assert len(graph.requests) == graph_calls  # not one call with the dead token
    assert len(youtube.requests) > youtube_calls  # the healthy account is still reconciled
    assert report.problems == []
    assert sorted(pid for pid, _ in report.awaiting_reauth) == sorted(out)
    why = report.awaiting_reauth[0][1]
    assert "instagram account 'bpipi' awaits re-authorisation" in why
    assert "accounts reauthorised instagram bpipi" in why
    assert "awaits re-authorisation" in reconcile_markdown(report)
    assert _states(world, [*out, video]) == {PostState.PUBLISHED}

    # staff said the account is re-authorised: reconcile reads it again
    with Session(world.engine) as session:
        state = session.get(AccountState, ("instagram", "bpipi"))
        assert state is not None
        state.needs_reauth_since = None
        session.commit()
    again = reconcile(Publisher(world.engine, world.settings))
    assert again.awaiting_reauth == []
    assert len(graph.requests) > graph_calls


def test_reconcile_sends_nothing_for_a_youtube_account_awaiting_reauthorisation(
    world: World,
) -> None:
    now = datetime.now(UTC)
    videos = [youtube_post(world, now - timedelta(minutes=m)) for m in (9, 8)]
    scheduled = youtube_post(world, now + timedelta(hours=3))
    shown = approved(world, "instagram", [now - timedelta(minutes=5)])
    assert len(Publisher(world.engine, world.settings).run().published) == 3
    graph, youtube = world.platforms.graph, world.platforms.youtube
    youtube.revoke(SECRETS["sandbox-yt-refresh"])
    late = youtube_post(world, now - timedelta(minutes=1))
    assert Publisher(world.engine, world.settings).run().needs_reauth
    assert _states(world, [late]) == {PostState.NEEDS_REAUTH}
    graph_calls, youtube_calls = len(graph.requests), len(youtube.requests)

    later = now + timedelta(hours=4)  # the scheduled Short's time has come as well
    report = reconcile(Publisher(world.engine, world.settings, clock=lambda: later))

    assert len(youtube.requests) == youtube_calls  # no token refresh, no videos.list
    assert len(graph.requests) > graph_calls
    assert sorted(pid for pid, _ in report.awaiting_reauth) == sorted([*videos, scheduled])
    assert "youtube account 'bpipi' awaits re-authorisation" in report.awaiting_reauth[0][1]
    assert report.problems == [] and report.went_live == []
    assert _states(world, shown) == {PostState.PUBLISHED}
