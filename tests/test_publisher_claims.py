"""Claims, takeovers and platform blocks, with real SIGKILLed publisher processes (the harness of
tests/test_publisher_crash.py) and the sandboxes over loopback.

- A killed publisher holds only the post it had in flight: the others are claimed one at a time,
  so the next run takes them at once instead of after the lease.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.test_publisher)
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ifn_campaign.models import Post, PostState
from tests.test_compose_review import synced_db  # noqa: F401  (fixture)
from tests.test_publisher import World, world  # noqa: F401  (fixture)
from tests.test_publisher_crash import run_publisher
from tests.test_publisher_errors import approved, load

pytestmark = pytest.mark.slow


def report_of(run: Any) -> dict[str, Any]:
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_killed_publisher_strands_only_the_post_in_flight(world: World) -> None:
    now = datetime.now(UTC)
    ids = approved(world, "instagram", [now - timedelta(minutes=5 - i) for i in range(4)])

    killed = run_publisher(world, crash_at="before:container")
    assert killed.returncode == -9, killed.stderr[-3000:]
    in_flight, _ = load(world, ids[0])
    assert in_flight.state == PostState.PUBLISHING and in_flight.claimed_by
    for post_id in ids[1:]:  # never started: never claimed
        post, _ = load(world, post_id)
        assert post.state == PostState.APPROVED and post.claimed_by is None

    # the next run, at once (no lease has passed): every other post goes out
    report = report_of(run_publisher(world))
    assert sorted(report["published"]) == ids[1:]
    with Session(world.engine) as session:
        post = session.get(Post, ids[0])
        assert post is not None and post.state == PostState.PUBLISHING  # its lease still runs
    assert len(world.platforms.graph.media()) == 3
