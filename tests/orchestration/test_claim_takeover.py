"""Claims of a crashed run, under a real local Prefect server: a publisher inside a flow run
claims as `flow:<flow run id>`; once the server reports that run Crashed (or Failed, Cancelled,
Completed), the next run takes its post over at once instead of after `publish.lease_seconds`,
and reconciles it first like a lapsed claim, so a post already out is recorded, not sent again.
A claim of a run the server still has Running is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from prefect.states import Cancelled, Crashed, Failed, Running, State

from flows.publish import publish_due
from ifn_campaign.models import PostState
from ifn_campaign.publishing.flow_runs import claim_name, ended_on_server
from ifn_campaign.publishing.publisher import Publisher
from tests.support.publishing import World, approved, load

pytestmark = pytest.mark.slow


class Killed(BaseException):
    """The publisher's process dies here: nothing after this point runs or is committed."""


def flow_run_in(state: State | None) -> UUID:
    """A flow run of `publish_due` on the server, Running, then set to `state` if given."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.create_flow_run(publish_due, state=Running())
    if state is not None:
        set_state(run.id, state)
    return run.id


def set_state(run: UUID, state: State) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run, state, force=True)


def killed_at(world: World, run: UUID, point: str) -> None:
    """The publisher of flow run `run` dies at `point` of its first post's steps."""

    def reached(at: str) -> None:
        if at == point:
            raise Killed(at)

    publisher = Publisher(world.engine, world.settings, worker=claim_name(run), reached=reached)
    with pytest.raises(Killed):
        publisher.run()


def test_the_server_reports_which_runs_ended(prefect_server: None) -> None:
    running = flow_run_in(None)
    ended = {flow_run_in(state): state.type.value for state in (Crashed(), Failed(), Cancelled())}
    assert ended_on_server([running, *ended]) == {
        run: kind.capitalize() for run, kind in ended.items()
    }


def test_a_crashed_runs_claim_is_taken_over_at_once_and_sent_once(
    prefect_server: None, world: World
) -> None:
    now = datetime.now(UTC)
    crashed_post, running_post = approved(
        world, "instagram", [now - timedelta(minutes=2), now - timedelta(minutes=1)]
    )
    crashed, running = flow_run_in(None), flow_run_in(None)
    # each run's publisher dies after Instagram published its post, before it was recorded
    killed_at(world, crashed, "called:publish")
    killed_at(world, running, "called:publish")
    assert len(world.platforms.graph.media()) == 2
    for post_id, run in ((crashed_post, crashed), (running_post, running)):
        post, _ = load(world, post_id)
        assert post.state == PostState.PUBLISHING and post.claimed_by == claim_name(run)
    # the worker's crash is reported: that run's claim goes at once, well within the lease...
    set_state(crashed, Crashed())
    # ...once untouched for prefect.lost_after_seconds (the time the server takes to notice a
    # run whose heartbeats stopped): a claim renewed just now may have a call in flight
    assert Publisher(world.engine, world.settings).run().published == []
    quiet = timedelta(seconds=world.settings.prefect.lost_after_seconds + 1)
    later = Publisher(world.engine, world.settings, clock=lambda: datetime.now(UTC) + quiet)

    report = later.run()

    assert report.published == [crashed_post], report
    post, events = load(world, crashed_post)
    assert post.state == PostState.PUBLISHED and post.takeovers == 1
    assert any(f"its flow run {crashed} ended (Crashed)" in (e.note or "") for e in events)
    assert len(world.platforms.graph.media()) == 2  # found on Instagram, not sent again
    still, _ = load(world, running_post)  # its run is Running: it waits for its lease
    assert still.state == PostState.PUBLISHING and still.claimed_by == claim_name(running)
