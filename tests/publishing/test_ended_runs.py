"""Which claims the publisher asks the Prefect server about, and what a server that does not
answer changes (nothing: the lease decides, as before). The takeover of a crashed run's claim
itself is tested against a real Prefect server in tests/orchestration/test_claim_takeover.py."""

from __future__ import annotations

import socket
import time
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy.orm import Session

from ifn_campaign.models import Post, PostState
from ifn_campaign.publishing import flow_runs
from ifn_campaign.publishing.flow_runs import (
    claim_name,
    claim_run,
    ended_on_server,
)
from ifn_campaign.publishing.publisher import Publisher
from tests.support.broken_prefect import broken_prefect_server
from tests.support.publishing import World, approved, load


def held_by(world: World, post_id: int, worker: str, since: datetime) -> None:
    """The post as a publisher named `worker` left it when it claimed it at `since`."""
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.state, post.claimed_by, post.claimed_at = PostState.PUBLISHING, worker, since
        session.commit()


def test_claim_names_round_trip() -> None:
    run = uuid4()
    assert claim_run(claim_name(run)) == run and claim_name(run) == f"flow:{run}"
    assert claim_run("publisher:host:123") is None and claim_run("flow:local") is None
    assert claim_run(None) is None


def test_only_other_runs_claims_within_their_lease_are_asked_about(world: World) -> None:
    now = datetime.now(UTC)
    ids = approved(world, "instagram", [now - timedelta(minutes=m) for m in (5, 4, 3, 2, 1)])
    quiet, lapsed, mine, busy = uuid4(), uuid4(), uuid4(), uuid4()
    # within the lease (15 min), untouched for longer than prefect.lost_after_seconds (2 min)
    held_by(world, ids[0], claim_name(quiet), now - timedelta(minutes=3))
    held_by(world, ids[1], claim_name(lapsed), now - timedelta(hours=1))  # lease over anyway
    held_by(world, ids[2], "publisher:elsewhere:42", now - timedelta(minutes=3))  # no flow run
    held_by(world, ids[3], claim_name(mine), now - timedelta(minutes=3))
    held_by(world, ids[4], claim_name(busy), now - timedelta(seconds=30))  # renewed just now
    asked: list[set[UUID]] = []

    def ended(runs: Collection[UUID]) -> dict[UUID, str]:
        asked.append(set(runs))
        return {}

    publisher = Publisher(world.engine, world.settings, worker=claim_name(mine), ended_runs=ended)
    report = publisher.run()

    assert asked and all(runs == {quiet} for runs in asked)
    assert report.published == [ids[1]]  # the lapsed claim, taken over as before
    for post_id in (ids[0], ids[2], ids[3], ids[4]):
        post, _ = load(world, post_id)
        assert post.state == PostState.PUBLISHING  # their leases still run


def test_a_prefect_server_that_does_not_answer_changes_nothing(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(minutes=2)])
    held_by(world, post_id, claim_name(uuid4()), now - timedelta(minutes=3))
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{closed}/api"}):
        report = Publisher(world.engine, world.settings).run()
    assert report.published == [] and report.failed == []
    post, _ = load(world, post_id)
    assert post.state == PostState.PUBLISHING and world.platforms.graph.media() == []


@pytest.mark.slow
@pytest.mark.parametrize("maintenance", [False, True])
def test_a_failing_prefect_server_holds_a_claim_seconds_not_minutes(
    world: World, maintenance: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked once per claim: a server answering 503 kept each claim about two minutes (Prefect's
    retries), and one saying it is in maintenance for ever. Now the lease decides after
    flow_runs.DEADLINE_SECONDS at most (2 s here, 15 s as shipped), and the publish run goes
    on."""
    monkeypatch.setattr(flow_runs, "DEADLINE_SECONDS", 2.0)
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(minutes=2)])
    held_by(world, post_id, claim_name(uuid4()), now - timedelta(minutes=3))
    failing = broken_prefect_server(  # Prefect's client retries it, for ever in maintenance
        503, headers={"Prefect-Maintenance": "true"} if maintenance else {}
    )
    with failing as api, temporary_settings(updates={PREFECT_API_URL: api}):
        started = time.monotonic()
        assert ended_on_server([uuid4()]) == {}
        assert time.monotonic() - started < flow_runs.DEADLINE_SECONDS + 2
        report = Publisher(world.engine, world.settings).run()
    assert report.published == [] and report.failed == []
    post, _ = load(world, post_id)
    assert post.state == PostState.PUBLISHING and world.platforms.graph.media() == []


def test_the_server_is_asked_once_for_a_run_of_many_posts(world: World) -> None:
    """Every claim looked for ended runs: a run of many due posts asked the server once per post
    (each up to its deadline when it is slow). The answer is kept for a while."""
    now = datetime.now(UTC)
    ids = approved(world, "instagram", [now - timedelta(minutes=m) for m in (6, 5, 4, 3, 2)])
    held_by(world, ids[0], claim_name(uuid4()), now - timedelta(minutes=3))
    asked: list[set[UUID]] = []

    def ended(runs: Collection[UUID]) -> dict[UUID, str]:
        asked.append(set(runs))
        return {}

    report = Publisher(world.engine, world.settings, ended_runs=ended).run()

    assert sorted(report.published) == ids[1:]
    assert len(asked) == 1, asked
