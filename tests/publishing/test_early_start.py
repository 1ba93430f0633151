"""A publish run that starts early: workers start scheduled runs up to half a second before their
time (01:14:59.65 for 01:15), and a run that took only `slot_at <= now` left a 19:00 post to the
next run, five minutes late. A run takes the posts within `publish.lead_seconds` of their slot
and sends none before it: each test's publisher reads the sandboxes' clock and its wait moves
that clock on (nobody sleeps), so what the sandbox records is on the same clock as the slot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Post, PostState
from ifn_campaign.publishing.publisher import Publisher, PublishReport
from tests.support.publishing import World, approved, load, youtube_post


class SandboxTime:
    """The publisher's clock is the sandboxes' clock; its sleep moves both sandboxes on. The
    sandboxes' clocks stand still otherwise: on a loaded machine a run takes longer than the
    0.35 s a test starts it early, and real time would reach the slot before the wait."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.slept: list[float] = []
        for sandbox in (world.platforms.graph, world.platforms.youtube):
            if not getattr(sandbox, "_frozen", False):
                at = datetime.now(UTC)
                sandbox._clock = lambda at=at: at  # type: ignore[attr-defined]
                sandbox._frozen = True  # type: ignore[attr-defined]

    def now(self) -> datetime:
        return self.world.platforms.graph.now()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.world.platforms.graph.advance(seconds)
        self.world.platforms.youtube.advance(seconds)

    def advance_to(self, when: datetime) -> None:
        self.sleep((when - self.now()).total_seconds())
        self.slept.clear()


def with_lead(base: Settings, lead: float) -> Settings:
    return base.model_copy(
        update={"publish": base.publish.model_copy(update={"lead_seconds": lead})}
    )


def run_at(world: World, when: datetime, lead: float = 60) -> tuple[PublishReport, SandboxTime]:
    """One publish run starting at `when` by the sandboxes' clock."""
    time = SandboxTime(world)
    time.advance_to(when)
    settings = with_lead(world.settings, lead)
    publisher = Publisher(world.engine, settings, clock=time.now, sleep=time.sleep)
    return publisher.run(), time


def next_slot(world: World, ahead: timedelta = timedelta(hours=1)) -> datetime:
    """A slot on a whole minute, `ahead` or more from the sandboxes' now."""
    return (world.platforms.graph.now() + ahead).replace(second=0, microsecond=0)


def went_live_at(world: World, post: Post) -> datetime:
    """When the sandbox made the post public, by its own clock."""
    graph = world.platforms.graph
    if post.channel == "instagram":
        (media,) = [m for m in graph.media() if m.id == post.remote_id]
        return media.timestamp
    (page_post,) = [p for p in graph.posts() if p.id == post.remote_id]
    assert page_post.scheduled_publish_time is None, "live at the slot, not natively scheduled"
    return page_post.created_at


@pytest.mark.parametrize("early", [0.35, 59.0])
@pytest.mark.parametrize("channel", ["instagram", "facebook"])
def test_a_run_that_starts_early_publishes_at_the_slot(
    world: World, channel: str, early: float
) -> None:
    slot = next_slot(world)
    (post_id,) = approved(world, channel, [slot])

    report, time = run_at(world, slot - timedelta(seconds=early))

    assert report.published == [post_id], report
    assert time.slept and sum(time.slept) == pytest.approx(early, abs=0.2)  # it waited
    post, events = load(world, post_id)
    assert post.state == PostState.PUBLISHED
    live_at = went_live_at(world, post)
    assert slot <= live_at < slot + timedelta(seconds=5)  # at the slot, not before, not 5 min late
    assert (events[-1].from_state, events[-1].to_state) == (
        PostState.PUBLISHING,
        PostState.PUBLISHED,
    )


@pytest.mark.parametrize("channel", ["instagram", "facebook"])
def test_a_run_more_than_the_lead_early_leaves_the_post_to_the_next_run(
    world: World, channel: str
) -> None:
    slot = next_slot(world)
    (post_id,) = approved(world, channel, [slot])

    report, time = run_at(world, slot - timedelta(seconds=61))

    assert report == PublishReport() and time.slept == []
    post, _ = load(world, post_id)
    assert post.state == PostState.APPROVED and post.claimed_by is None
    assert world.platforms.graph.media() == [] and world.platforms.graph.posts() == []
    # the next run, started early too, takes it
    report, _ = run_at(world, slot - timedelta(seconds=0.35))
    assert report.published == [post_id]


@pytest.mark.slow
@pytest.mark.parametrize("early", [0.35, 59.0])
def test_a_youtube_short_taken_early_is_public_from_its_slot(world: World, early: float) -> None:
    """YouTube keeps the time itself (`publishAt`): the Short is uploaded at once, private, and
    the sandbox makes it public at the slot, never before."""
    slot = next_slot(world)
    post_id = youtube_post(world, slot)
    report, time = run_at(world, slot - timedelta(seconds=early))

    assert report.scheduled == [post_id] and time.slept == []  # nothing to wait for
    post, _ = load(world, post_id)
    (video,) = world.platforms.youtube.videos()
    assert video.id == post.remote_id
    assert datetime.fromisoformat(video.status["publishAt"]) == slot
    assert video.privacy_at(slot - timedelta(microseconds=1)) == "private"
    assert video.privacy_at(slot) == "public" and video.published_at(slot) == slot


def test_a_youtube_slot_between_seconds_is_not_public_before_it(world: World) -> None:
    """publishAt is whole seconds: a slot half a second past one is rounded up, not down."""
    slot = next_slot(world) + timedelta(milliseconds=500)
    post_id = youtube_post(world, slot)
    report, _ = run_at(world, slot - timedelta(seconds=0.35))
    assert report.scheduled == [post_id]
    (video,) = world.platforms.youtube.videos()
    publish_at = datetime.fromisoformat(video.status["publishAt"])
    assert publish_at == slot + timedelta(milliseconds=500)
    assert video.privacy_at(slot) == "private"


def test_a_facebook_post_30_seconds_ahead_goes_live_at_its_slot_once(world: World) -> None:
    """Too close to schedule natively (Facebook wants 10 minutes), so it is posted live, and
    not before its slot; a second run meanwhile finds it claimed or done and sends nothing."""
    slot = next_slot(world)
    (post_id,) = approved(world, "facebook", [slot])
    report, time = run_at(world, slot - timedelta(seconds=30))
    assert report.published == [post_id] and sum(time.slept) == pytest.approx(30, abs=0.2)
    again, _ = run_at(world, slot + timedelta(seconds=1))
    assert again == PublishReport()
    (page_post,) = world.platforms.graph.posts()
    assert page_post.is_published(slot) and page_post.created_at >= slot


def test_a_clock_that_does_not_move_never_sends_before_the_slot(world: World) -> None:
    """A clock that a sleep does not move on (a test or demo clock given without its sleep)
    cannot reach the slot: the post is given back for its slot, not sent early."""
    slot = next_slot(world)
    (post_id,) = approved(world, "instagram", [slot])
    start = slot - timedelta(seconds=2)
    slept: list[float] = []
    publisher = Publisher(world.engine, world.settings, clock=lambda: start, sleep=slept.append)
    report = publisher.run()
    assert report.published == [] and [p for p, _ in report.retry_later] == [post_id]
    assert slept and world.platforms.graph.media() == []
    post, _ = load(world, post_id)
    assert post.state == PostState.APPROVED and post.attempts == 0
    assert post.next_attempt_at == slot  # the next run at or after the slot sends it


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    channel=st.sampled_from(["instagram", "facebook"]),
    lead=st.floats(min_value=0, max_value=600),
    early=st.floats(min_value=0, max_value=700),
)
def test_nothing_is_published_before_its_slot(
    world: World, channel: str, lead: float, early: float
) -> None:
    """For any lead and any early start: a post within the lead goes out at its slot, one
    further out is left alone, and nothing this world ever published went out before its slot
    (posts of earlier examples left alone are taken by later ones, as time moves on)."""
    slot = next_slot(world)
    (post_id,) = approved(world, channel, [slot])
    report, _ = run_at(world, slot - timedelta(seconds=early), lead)
    if early <= lead:
        assert post_id in report.published, report
    elif early > lead + 1:  # (a run takes a moment: a post a hair beyond the lead may go too)
        assert post_id not in report.published, report
    with Session(world.engine, expire_on_commit=False) as session:
        published = session.scalars(select(Post).where(Post.state == PostState.PUBLISHED)).all()
    for post in published:
        assert went_live_at(world, post) >= post.slot_at, post.id


def test_a_lapsed_claim_taken_over_minutes_before_its_slot_waits_for_a_run_near_it(
    world: World,
) -> None:
    """A Facebook post claimed to schedule natively whose publisher died before sending
    anything: taken over when its slot is 4 minutes away (too close to schedule natively), it
    is not posted early, nor held in a wait for minutes: it goes back for a run near the slot."""
    slot = next_slot(world)
    (post_id,) = approved(world, "facebook", [slot])
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.state, post.claimed_by = PostState.PUBLISHING, "publisher:gone:1"
        post.claimed_at = slot - timedelta(minutes=40)
        session.commit()

    report, time = run_at(world, slot - timedelta(minutes=4))

    assert [p for p, _ in report.retry_later] == [post_id] and time.slept == []
    post, _ = load(world, post_id)
    assert post.state == PostState.APPROVED and post.takeovers == 1
    assert post.next_attempt_at == slot - timedelta(seconds=60)
    assert world.platforms.graph.posts() == []
    report, _ = run_at(world, slot - timedelta(seconds=50))
    assert report.published == [post_id]
    assert went_live_at(world, load(world, post_id)[0]) >= slot


class TickingTime(SandboxTime):
    """Time goes on while the run works: every reading of the clock moves it on a little."""

    def __init__(self, world: World, tick: float) -> None:
        super().__init__(world)
        self.tick = tick

    def now(self) -> datetime:
        moment = super().now()
        self.world.platforms.graph.advance(self.tick)
        self.world.platforms.youtube.advance(self.tick)
        return moment


@pytest.mark.parametrize("early", [0.05, 0.3])
def test_a_facebook_post_claimed_to_schedule_at_the_margin_is_not_posted_live_early(
    world: World, early: float
) -> None:
    """A run started a hair early, 15 minutes before a slot on the mark, claims the Facebook
    post to schedule it natively (slot at least FB_SCHEDULE_MARGIN ahead); by the time its
    adapter decides, the slot is a little less than the margin away. The post must not be
    posted live there, a quarter of an hour early: it is scheduled, or left for a run near the
    slot, and in the end it is public from its slot once."""
    slot = next_slot(world)
    (post_id,) = approved(world, "facebook", [slot])
    time = TickingTime(world, 0)
    time.advance_to(slot - timedelta(minutes=15, seconds=early))
    time.tick = 0.1
    publisher = Publisher(world.engine, world.settings, clock=time.now, sleep=time.sleep)

    report = publisher.run()

    assert report.published == [], report
    for page_post in world.platforms.graph.posts():
        assert page_post.scheduled_publish_time is not None, "posted live 15 minutes early"
    if report.retry_later:  # left for a run near the slot: that one posts it at the slot
        report, _ = run_at(world, slot - timedelta(seconds=0.35))
    (page_post,) = world.platforms.graph.posts()
    public_from = page_post.scheduled_publish_time or page_post.created_at
    assert slot <= public_from < slot + timedelta(seconds=5)
    post, _ = load(world, post_id)
    assert post.state in (PostState.PUBLISHED, PostState.SCHEDULED)


def test_a_post_cancelled_by_staff_during_the_wait_is_not_sent(world: World) -> None:
    """Staff cancel the post while the run waits for its slot: nothing is sent, and the run says
    the post changed, not that another worker took it over."""
    from ifn_campaign.posts.lifecycle import move

    slot = next_slot(world)
    (post_id,) = approved(world, "instagram", [slot])
    time = SandboxTime(world)
    time.advance_to(slot - timedelta(seconds=30))

    def sleep(seconds: float) -> None:
        with Session(world.engine) as session:
            post = session.get(Post, post_id)
            assert post is not None
            if post.state == PostState.PUBLISHING:
                move(session, post, PostState.CANCELLED, actor="staff:ana", now=time.now())
                session.commit()
        time.sleep(seconds)

    report = Publisher(world.engine, world.settings, clock=time.now, sleep=sleep).run()

    assert report.retry_later == [
        (post_id, "left alone: it became cancelled meanwhile, nothing was sent")
    ]
    assert world.platforms.graph.media() == []
    post, _ = load(world, post_id)
    assert post.state == PostState.CANCELLED
