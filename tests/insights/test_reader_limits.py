"""The insights reader within the publisher's limits, over the sandboxes on both databases: a
Graph rate limit is stored as the publisher stores it and the account is left alone until it
ends; an account blocked before the run, or awaiting re-authorisation, is not called; YouTube
readings spend at most insights' share of the day's quota (counted in quota_use) and wait for
the next quota day once it is spent, or once YouTube says quotaExceeded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.channels.youtube import quota_resets_at
from ifn_campaign.config import AccountSettings, Settings
from ifn_campaign.insights.reader import quota_day, quota_key
from ifn_campaign.models import AccountState, PlatformBlock, Post, QuotaUse
from ifn_campaign.publishing.blocks import block_for, record_block
from ifn_sandbox.http import Fault
from tests.support.insight_sandboxes import IG, Sandboxed, asked_ids, dump, sandboxed


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[Sandboxed]:
    with sandboxed(engine, tmp_path, read_after=["1h", "7d"]) as made:
        yield made


def asked(world: Sandboxed, since: int) -> list[str]:
    return [i for r in world.reads()[since:] for i in asked_ids(r)]


def test_a_rate_limit_is_kept_and_the_account_left_alone_until_it_ends(world: Sandboxed) -> None:
    fb = world.publish("facebook", 2)
    ig = world.publish("instagram", 2)
    world.advance(timedelta(hours=1, minutes=1))
    graph = world.platforms.graph
    # Facebook is read first (accounts in order), then Instagram meets its account's limit
    graph.faults.add(graph.rate_limit_fault(80002, path="/v25.0/", object_id=IG, after=1))
    report = world.read()
    assert {o.post_id for o in report.outcomes if o.state == "read"} == set(fb), dump(report)
    assert not any(o.post_id in ig for o in report.outcomes)  # no attempt counted
    assert any("instagram bpipi: stopped until" in w for w in report.waiting)
    with Session(world.engine) as session:
        block = block_for(session, world.settings, "instagram", "bpipi", world.now())
        # the fault's x-app-usage says 100%: the client takes the whole app as limited, as the
        # publisher does, so the Page of the same app waits too
        assert block is not None and block.code == 80002
        assert (block.scope, block.key) == ("app", "graph:default")
        until = block.blocked_until
    calls = len(world.reads())
    again = world.read()
    assert len(world.reads()) == calls  # blocked: not called at all
    assert any("instagram bpipi: not called until" in w for w in again.waiting)
    world.advance(until - world.now() + timedelta(seconds=1))
    after = world.read()
    assert {(o.post_id, o.state) for o in after.outcomes} == {(p, "read") for p in ig}


def test_an_app_block_and_reauthorisation_stop_the_reader_too(world: Sandboxed) -> None:
    fb = world.publish("facebook")
    yt = world.publish("youtube")
    world.advance(timedelta(hours=1, minutes=1))
    now = world.now()
    with Session(world.engine) as session:
        record_block(
            session,
            "app",
            "graph:default",
            now + timedelta(minutes=30),
            code=4,
            reason="app limit",
            now=now,
        )
        session.add(AccountState(channel="youtube", account="bpipi", needs_reauth_since=now))
        session.commit()
    calls = len(world.reads())
    report = world.read()
    assert report.outcomes == [] and len(world.reads()) == calls
    assert any(w.startswith("facebook bpipi: not called until") for w in report.waiting)
    assert any("youtube bpipi: awaits re-authorisation" in w for w in report.waiting)
    with Session(world.engine) as session:
        session.delete(session.get(AccountState, ("youtube", "bpipi")))
        session.commit()
    world.advance(timedelta(minutes=31))
    assert {o.post_id for o in world.read().outcomes} == {*fb, *yt}


def share_of(world: Sandboxed, units: int, batch: int = 1) -> Settings:
    """Settings whose insights share of YouTube's day is `units` units, `batch` videos a call."""
    s = world.settings
    per_day = s.youtube.quota_units_per_day
    return s.model_copy(
        update={
            "insights": s.insights.model_copy(
                update={"youtube_quota_share": units / per_day, "batch": batch}
            )
        }
    )


def test_youtube_spends_only_its_share_then_waits_for_the_next_quota_day(
    world: Sandboxed,
) -> None:
    posts = world.publish("youtube", 5)
    world.advance(timedelta(hours=1, minutes=1))
    cfg = share_of(world, 2)
    first = world.read(settings=cfg)
    assert [o.post_id for o in first.outcomes] == posts[:2] and first.youtube_units == 2
    assert any("share of the day's quota (2 units) is spent" in w for w in first.waiting)
    key = quota_key(cfg, "bpipi")
    assert key == f"youtube:{world.platforms.youtube.client_id}:insights"
    with Session(world.engine) as session:
        assert session.get(QuotaUse, (key, quota_day(world.now()))).units == 2  # type: ignore[union-attr]
    calls = len(world.reads())
    again = world.read(settings=cfg)
    assert again.outcomes == [] and len(world.reads()) == calls
    world.advance(quota_resets_at(world.now()) - world.now() + timedelta(minutes=1))
    later = world.read(settings=cfg)
    assert [o.post_id for o in later.outcomes] == posts[2:4], dump(later)
    with Session(world.engine) as session:
        days = session.scalars(select(QuotaUse).where(QuotaUse.key == key)).all()
        assert sorted(d.units for d in days) == [2, 2]


def test_quota_exceeded_blocks_youtube_until_the_reset(world: Sandboxed) -> None:
    posts = world.publish("youtube", 2)
    world.advance(timedelta(hours=1, minutes=1))
    body = {
        "error": {
            "code": 403,
            "message": "The request cannot be completed because you have exceeded your quota.",
            "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}],
        }
    }
    world.platforms.youtube.faults.add(
        Fault("/youtube/v3/videos", "status", status=403, body=body, times=None)
    )
    report = world.read()
    assert report.outcomes == [], dump(report)
    with Session(world.engine) as session:
        [block] = session.scalars(select(PlatformBlock)).all()
        assert (block.scope, block.key) == ("app", f"youtube:{world.platforms.youtube.client_id}")
        assert block.blocked_until == quota_resets_at(world.now())
    calls = len(world.reads())
    assert world.read().outcomes == [] and len(world.reads()) == calls
    world.platforms.youtube.faults.clear()
    world.advance(quota_resets_at(world.now()) - world.now() + timedelta(minutes=1))
    assert {o.post_id for o in world.read().outcomes if o.state == "read"} == set(posts)


def test_the_limit_and_a_hostile_remote_id(world: Sandboxed) -> None:
    posts = world.publish("facebook", 4)
    [bad] = world.store("facebook", ["1_2,3/../me"])
    world.advance(timedelta(hours=1, minutes=1))
    first = world.read(limit=2)
    assert len(first.outcomes) == 2 and all(o.state == "read" for o in first.outcomes)
    rest = world.read()
    states = {o.post_id: o.state for o in rest.outcomes}
    assert states == {posts[2]: "read", posts[3]: "read", bad: "failed"}, dump(rest)
    assert "1_2,3/../me" not in ",".join(asked(world, 0))


def test_an_account_without_its_secret_is_said_and_the_others_read(world: Sandboxed) -> None:
    fb = world.publish("facebook")
    accounts = dict(world.settings.accounts)
    accounts["instagram"] = {
        **accounts["instagram"],
        "lain": AccountSettings(ig_user_id="17841400000000999"),  # no token_secret
    }
    cfg = world.settings.model_copy(update={"accounts": accounts})
    [other] = world.store("instagram", ["17899999999999999"])
    with Session(world.engine) as session:
        session.get(Post, other).account = "lain"  # type: ignore[union-attr]
        session.commit()
    world.advance(timedelta(hours=1, minutes=1))
    report = world.read(settings=cfg)
    assert [(o.post_id, o.state) for o in report.outcomes] == [(fb[0], "read")], dump(report)
    assert any("instagram lain: accounts.instagram.lain.token_secret" in w for w in report.waiting)
