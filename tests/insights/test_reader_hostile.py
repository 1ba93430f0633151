"""The insights reader against platform answers a strict fake would not give but a broken or
hostile one does (an answer is material to check, never to trust), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ifn_campaign.insights.platforms import INSTAGRAM_METRICS
from ifn_sandbox.http import Fault
from tests.support.insight_sandboxes import Sandboxed, sandboxed


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[Sandboxed]:
    with sandboxed(engine, tmp_path) as made:
        yield made


def test_a_metric_not_asked_for_is_left_out(world: Sandboxed) -> None:
    post = world.publish("instagram")[0]
    remote = world.post(post).remote_id
    assert remote is not None
    world.advance(timedelta(hours=1, minutes=5))
    data = [
        {"name": name, "period": "lifetime", "values": [{"value": 10 + i}]}
        for i, name in enumerate(INSTAGRAM_METRICS)
    ]
    data.append({"name": "x" * 65, "period": "lifetime", "values": [{"value": 1}]})
    data.append({"name": "[red]boom[/]", "period": "lifetime", "values": [{"value": 2}]})
    body = {remote: {"id": remote, "insights": {"data": data}}}
    world.platforms.graph.faults.add(Fault("/", "status", status=200, body=body))
    report = world.read()
    assert [(o.post_id, o.state) for o in report.outcomes] == [(post, "read")]
    (reading,) = world.readings()
    assert set(world.metrics(reading.id or 0)) == set(INSTAGRAM_METRICS)
