"""The publisher against the `ChannelAdapter` interface alone: a fake adapter, written here
against the interface and recording its calls, stands in for the Instagram account. The
publisher must drive it through the same recorded steps as the real channels (each step
committed before its remote call, each id the moment it is remembered, every crash point
reached in order), hand a rerun what was recorded, keep its claim, cap and outcome table, and
record the ending `publish` reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.channels.adapter import (
    Again,
    ChannelAdapter,
    Outgoing,
    RemoteCopy,
    Sent,
    Sought,
    Steps,
)
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.clients import ChannelClients
from ifn_campaign.config import Settings
from ifn_campaign.errors import ChannelNotFound
from ifn_campaign.models import Feature, Post, PostState
from ifn_campaign.publishing.publisher import Publisher, PublishReport
from tests.support.publishing import World, approved_posts


class Killed(BaseException):
    """Stands for SIGKILL at a crash point: nothing after it runs, nothing more is committed."""


class RecordingAdapter:
    """A two-step channel (a draft, then the post made from it), holding its copies itself.
    Each remote call checks, in a session of its own, that the step was committed before it."""

    channel = Channel.INSTAGRAM
    can_take_down = True

    def __init__(self, world: World, *, again: bool = False) -> None:
        self.world = world
        self.again = again
        self.calls: list[str] = []
        self.copies: dict[str, str] = {}  # remote id -> caption
        self.drafts: list[str] = []
        self.steps_seen: list[str] = []

    def publish(self, outgoing: Outgoing, steps: Steps) -> Sent:
        self.calls.append(f"publish from {steps.recorded('publish_step')}")
        if self.again:
            raise Again("the draft expired: start over")
        if steps.recorded("remote_id") is None and steps.recorded("publish_step") == "go":
            found = self.find(Sought(outgoing.caption, outgoing.since))
            steps.remember(remote_id=found.remote_id if found else None)
        if steps.recorded("remote_id") is None:
            if steps.recorded("remote_container_id") is None:
                steps.step("draft")
                draft = self._remote("draft", outgoing.caption)
                steps.called("draft")
                steps.remember("draft", remote_container_id=draft)
            steps.step("go")
            made = self._remote("go", outgoing.caption)
            steps.called("go")
            steps.remember("go", remote_id=made)
        media = steps.recorded("remote_id")
        return Sent(live=True, link=lambda: f"http://127.0.0.1/p/{media}")

    def _remote(self, step: str, caption: str) -> str:
        with Session(self.world.engine) as session:
            committed = session.scalars(
                select(Post.publish_step).where(Post.caption == caption)
            ).one()
        self.steps_seen.append(committed or "none")
        self.calls.append(step)
        if step == "draft":
            self.drafts.append(f"d-{len(self.drafts) + 1}")
            return self.drafts[-1]
        made = f"m-{len(self.copies) + 1}"
        self.copies[made] = caption
        return made

    def find(self, sought: Sought) -> RemoteCopy | None:
        self.calls.append("find")
        for remote_id, caption in self.copies.items():
            if caption == sought.caption:
                return RemoteCopy(remote_id, live=True, link=f"http://127.0.0.1/p/{remote_id}")
        return None

    def read_back(self, remote_id: str) -> RemoteCopy:
        self.calls.append("read_back")
        if remote_id not in self.copies:
            raise ChannelNotFound(f"{remote_id} is gone")
        return RemoteCopy(remote_id, live=True, link=f"http://127.0.0.1/p/{remote_id}")

    def take_down(self, remote_id: str) -> None:
        self.calls.append("take_down")
        self.copies.pop(remote_id)


class Clients(ChannelClients):
    """The configured clients, except that the Instagram account is the fake adapter."""

    def __init__(self, settings: Settings, adapter: RecordingAdapter) -> None:
        super().__init__(settings)
        self.adapter = adapter

    def __getitem__(self, key: tuple[Channel, str]) -> ChannelAdapter:
        if Channel(key[0]) == Channel.INSTAGRAM:
            return self.adapter
        return super().__getitem__(key)


def post_due(world: World) -> int:
    return approved_posts(world, {"instagram": datetime.now(UTC) - timedelta(minutes=1)})[
        "instagram"
    ]


def lapse_claim(world: World, post_id: int) -> None:
    """The dead worker's claim grows older than `publish.lease_seconds`."""
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.claimed_at is not None
        post.claimed_at -= timedelta(seconds=world.settings.publish.lease_seconds + 5)
        session.commit()


def test_the_fake_is_a_channel_adapter(world: World) -> None:
    assert isinstance(RecordingAdapter(world), ChannelAdapter)


def test_the_publisher_drives_an_adapter_through_recorded_steps(world: World) -> None:
    post_id = post_due(world)
    fake = RecordingAdapter(world)
    points: list[str] = []
    report = Publisher(
        world.engine, world.settings, clients=Clients(world.settings, fake), reached=points.append
    ).run()

    assert report.published == [post_id] and report.failed == []
    assert fake.calls == ["publish from None", "draft", "go"]
    assert fake.steps_seen == ["draft", "go"]  # committed before each remote call
    assert points == [
        "before:draft",
        "called:draft",
        "after:draft",
        "before:go",
        "called:go",
        "after:go",
    ]
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        assert post.state == PostState.PUBLISHED
        assert (post.remote_container_id, post.remote_id) == ("d-1", "m-1")
        assert post.permalink == "http://127.0.0.1/p/m-1"
        assert post.claimed_by is None
        (feature,) = session.scalars(select(Feature).where(Feature.post_id == post_id)).all()
        assert feature.permalink == post.permalink


# killed after the draft call: its id was lost, a new draft is made (a draft is harmless);
# killed after the post call: the platform is asked (find) and nothing is made again
@pytest.mark.parametrize(
    ("point", "calls", "draft"),
    [("called:draft", ["draft", "go"], "d-2"), ("called:go", ["find"], "d-1")],
)
def test_a_rerun_resumes_from_what_was_recorded(
    world: World, point: str, calls: list[str], draft: str
) -> None:
    """Killed right after a remote call returned (its id not stored): the rerun is handed the
    step reached and the ids stored, and the copy is made once."""
    post_id = post_due(world)
    fake = RecordingAdapter(world)

    def kill(at: str) -> None:
        if at == point:
            raise Killed(at)

    with pytest.raises(Killed):
        Publisher(
            world.engine, world.settings, clients=Clients(world.settings, fake), reached=kill
        ).run()
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.PUBLISHING
        assert post.publish_step == point.split(":")[1] and post.remote_id is None

    fake.calls.clear()
    lapse_claim(world, post_id)
    report = Publisher(world.engine, world.settings, clients=Clients(world.settings, fake)).run()
    assert report.published == [post_id], report
    step = point.split(":")[1]
    assert fake.calls == [f"publish from {step}", *calls]
    assert len(fake.copies) == 1
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.PUBLISHED
        assert (post.remote_container_id, post.remote_id) == (draft, "m-1")


def test_over_the_attempt_cap_the_adapter_cannot_begin_a_step(world: World) -> None:
    post_id = post_due(world)
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.attempts = world.settings.publish.max_attempts
        post.publish_step, post.remote_container_id = "draft", "d-0"
        session.commit()
    fake = RecordingAdapter(world)
    report = Publisher(world.engine, world.settings, clients=Clients(world.settings, fake)).run()
    assert [post for post, _ in report.failed] == [post_id]
    assert fake.calls == ["publish from draft"]  # `step` refused: no remote call
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.FAILED
        assert post.last_error and post.last_error.startswith("gave up")


def test_again_gives_the_post_back_at_once(world: World) -> None:
    post_id = post_due(world)
    fake = RecordingAdapter(world, again=True)
    before = datetime.now(UTC)
    publisher = Publisher(world.engine, world.settings, clients=Clients(world.settings, fake))
    report = PublishReport()
    with Session(world.engine) as session:
        (claimed,) = publisher.claim(session, publisher.clock(), 1)
        publisher.publish(session, claimed, report)
    assert report.retry_later == [(post_id, "the draft expired: start over")]
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.APPROVED
        assert post.attempts == 1 and post.claimed_by is None
        assert post.next_attempt_at is not None
        assert before <= post.next_attempt_at.replace(tzinfo=UTC) <= datetime.now(UTC)
