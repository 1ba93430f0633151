"""A post the publisher itself would send after its slot goes out only within
`publish.max_lateness`; past it, it is `missed` and nothing is sent until staff decide: publish
now, move, or cancel. Natively scheduled posts are not late. Counted on the sandboxes over HTTP."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.config import Settings
from ifn_campaign.errors import TransitionError
from ifn_campaign.models import Member, Post, PostEvent, PostState
from ifn_campaign.posts.lifecycle import release_missed
from ifn_campaign.posts.withdrawal import cancel_disallowed
from ifn_campaign.publishing.publisher import Publisher
from ifn_campaign.reports.page import collect, summary_markdown
from tests.support.publishing import World, approved, load, youtube_post

LATE = timedelta(hours=7)  # past the default cut-off of 6 hours


def _calls(world: World) -> int:
    return len(world.platforms.graph.requests) + len(world.platforms.youtube.requests)


def _missed_state(world: World, post_id: int) -> Post:
    post, events = load(world, post_id)
    assert post.state == PostState.MISSED, (post.state, post.last_error)
    assert [(e.from_state, e.to_state) for e in events][-1] == (
        PostState.PUBLISHING,
        PostState.MISSED,
    )
    return post


def test_within_the_cut_off_it_publishes_past_it_nothing_is_sent(world: World) -> None:
    now = datetime.now(UTC)
    assert world.settings.publish.max_lateness == timedelta(hours=6)
    on_time, too_late = approved(world, "instagram", [now - timedelta(hours=5), now - LATE])
    before = _calls(world)

    report = Publisher(world.engine, world.settings).run()

    assert report.published == [on_time]
    assert [pid for pid, _ in report.missed] == [too_late]
    assert len(world.platforms.graph.media()) == 1
    post = _missed_state(world, too_late)
    assert "missed its slot by 7 h" in (post.last_error or "")
    assert f"ifn-campaign missed publish-now {too_late}" in (post.error_action or "")
    assert f"ifn-campaign move {too_late}" in (post.error_action or "")
    assert f"ifn-campaign cancel {too_late}" in (post.error_action or "")
    calls = _calls(world)
    assert calls > before
    # a missed post is not queued for the platform: later runs send nothing for it
    assert Publisher(world.engine, world.settings).run().published == []
    assert _calls(world) == calls


@pytest.mark.slow
@pytest.mark.parametrize("channel", ["facebook", "youtube"])
def test_every_channel_the_publisher_sends_itself_is_held(world: World, channel: str) -> None:
    now = datetime.now(UTC)
    if channel == "youtube":
        post_id = youtube_post(world, now - LATE)
    else:
        (post_id,) = approved(world, channel, [now - LATE])
    before = _calls(world)
    report = Publisher(world.engine, world.settings).run()
    assert [pid for pid, _ in report.missed] == [post_id]
    assert _calls(world) == before  # not even a token refresh
    _missed_state(world, post_id)


def test_natively_scheduled_posts_are_not_late(world: World) -> None:
    """Facebook and YouTube posts handed to the platform ahead of their slot go out there on
    time; the publisher does not send them after their slot, so the cut-off never applies."""
    now = datetime.now(UTC)
    (fb,) = approved(world, "facebook", [now + timedelta(days=2)])
    yt = youtube_post(world, now + timedelta(hours=3))
    report = Publisher(world.engine, world.settings).run()
    assert sorted(report.scheduled) == sorted([fb, yt]) and report.missed == []
    days_later = now + timedelta(days=3)
    later = Publisher(world.engine, world.settings, clock=lambda: days_later).run()
    assert later.missed == [] and later.published == []
    for post_id in (fb, yt):
        assert load(world, post_id)[0].state == PostState.SCHEDULED


def test_lateness_is_judged_at_the_publishers_clock(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now + timedelta(minutes=1)])
    late_clock = now + LATE + timedelta(minutes=1)
    report = Publisher(world.engine, world.settings, clock=lambda: late_clock).run()
    assert [pid for pid, _ in report.missed] == [post_id]


def test_the_cut_off_is_a_setting(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - LATE])
    publish = world.settings.publish.model_copy(update={"max_lateness": timedelta(hours=8)})
    relaxed = world.settings.model_copy(update={"publish": publish})
    assert Publisher(world.engine, relaxed).run().published == [post_id]


def test_publish_now_sends_a_missed_post_once(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(hours=20)])
    Publisher(world.engine, world.settings).run()
    _missed_state(world, post_id)
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        release_missed(session, post, actor="staff:rina", now=datetime.now(UTC))
        session.commit()
        assert post.state == PostState.APPROVED
        assert post.slot_at == now - timedelta(hours=20)  # the slot keeps its time (history)
    report = Publisher(world.engine, world.settings).run()
    assert report.published == [post_id]
    assert len(world.platforms.graph.media()) == 1
    calls = _calls(world)
    assert Publisher(world.engine, world.settings).run().published == []
    assert _calls(world) == calls  # once
    _, events = load(world, post_id)
    decided = [e for e in events if e.from_state == PostState.MISSED]
    assert [(e.to_state, e.actor) for e in decided] == [(PostState.APPROVED, "staff:rina")]
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        with pytest.raises(TransitionError, match="not missed"):
            release_missed(session, post, actor="staff:rina", now=datetime.now(UTC))


def test_publish_now_then_another_outage_is_missed_again(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(hours=20)])
    Publisher(world.engine, world.settings).run()
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        release_missed(session, post, actor="staff:rina", now=now)
        session.commit()
    before = _calls(world)
    outage = now + LATE
    report = Publisher(world.engine, world.settings, clock=lambda: outage).run()
    assert [pid for pid, _ in report.missed] == [post_id]
    assert _calls(world) == before


def test_a_withdrawal_cancels_a_missed_post(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - LATE])
    Publisher(world.engine, world.settings).run()
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.MISSED
        member = session.get(Member, post.member_id)
        assert member is not None
        member.consent_withdrawn_at = now
        report = cancel_disallowed(session, [member.id], now)
        session.commit()
        assert [c.post_id for c in report.cancelled] == [post_id]
        assert session.get(Post, post_id).state == PostState.CANCELLED  # type: ignore[union-attr]


@pytest.fixture
def cli_on(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """The CLI on the world's database (the sandboxes' secrets stay in the environment)."""
    for key in list(os.environ):
        if key.startswith("IFN_") and not key.startswith("IFN_SECRET_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATABASE__URL", world.settings.database.url)
    monkeypatch.setattr(base.out, "width", 250)
    return world.settings


def test_staff_see_missed_posts_and_decide_from_the_cli(
    world: World, cli_on: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    first, second, third = approved(
        world, "instagram", [now - timedelta(hours=h) for h in (12, 11, 10)]
    )
    Publisher(world.engine, world.settings).run()
    capsys.readouterr()

    assert main(["missed"]) == 0
    listed = " ".join(capsys.readouterr().out.split())
    for post_id in (first, second, third):
        assert f"post {post_id}" in listed
    assert "missed publish-now" in listed and "move" in listed and "cancel" in listed
    assert main(["status"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert f"post {first} missed" in shown and "missed publish-now" in shown
    with Session(world.engine) as session:
        report = collect(
            session,
            since=now - timedelta(days=3),
            until=now + timedelta(days=1),
            as_of=now,
            file=Path,
        )
    markdown = summary_markdown(report)
    assert "missed" in markdown and f"ifn-campaign missed publish-now {first}" in markdown

    assert main(["missed", "publish-now", str(first), "--by", "rina"]) == 0
    later = (now + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    assert main(["move", str(second), "--at", later]) == 0
    assert main(["cancel", str(third), "--reason", "sudah basi"]) == 0
    assert main(["missed", "publish-now", str(third)]) == 1  # cancelled: no longer missed
    capsys.readouterr()
    states = {pid: load(world, pid)[0] for pid in (first, second, third)}
    assert states[first].state == PostState.APPROVED
    assert states[second].state == PostState.APPROVED
    assert states[second].slot_at > now + timedelta(days=1)
    assert states[third].state == PostState.CANCELLED

    report_run = Publisher(world.engine, world.settings).run()
    assert report_run.published == [first] and report_run.missed == []
    assert main(["missed"]) == 0
    assert "no missed posts" in capsys.readouterr().out
    with Session(world.engine) as session:
        actors = set(
            session.scalars(select(PostEvent.actor).where(PostEvent.from_state == PostState.MISSED))
        )
    assert "staff:rina" in actors
