"""The `insights` flow under a real local Prefect server: it reads the posts due against the
platform sandboxes, leaves its summary artifact, and is an hourly deployment on
`schedules.insights`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Post, utcnow
from tests.support.insight_sandboxes import sandboxed


def test_the_deployment_runs_hourly() -> None:
    from flows.deployments import DEPLOYMENTS
    from ifn_campaign.orchestration.deployments import runner_deployments

    made = {d.flow_name: d for d in runner_deployments(DEPLOYMENTS, Settings())}
    deployment = made["insights"]
    assert deployment.entrypoint == "flows.insights.insights"
    assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [
        ("40 * * * *", "Asia/Jakarta")
    ]
    assert deployment.concurrency_limit == 1


@pytest.fixture(scope="module")
def prefect() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.slow
def test_the_flow_reads_and_leaves_a_summary(
    prefect: None,
    sqlite_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import anyio
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.insights import insights

    with sandboxed(sqlite_engine, tmp_path) as world:
        posts = world.publish("instagram", 2) + world.publish("youtube")
        world.advance(timedelta(hours=2))
        with Session(world.engine) as session:  # the flow reads at the real now
            session.execute(update(Post).values(published_at=utcnow() - timedelta(hours=2)))
            session.commit()
        for key in [k for k in os.environ if k.startswith("IFN_") and "SECRET" not in k]:
            monkeypatch.delenv(key)
        (tmp_path / "none.toml").write_text("")
        env = world.platforms.environ(world.settings) | {
            "IFN_CONFIG": str(tmp_path / "none.toml"),
            "IFN_DATA_DIR": str(tmp_path),
            "IFN_DATABASE__URL": str(world.settings.database.url),
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)
        outcome = insights()
        readings = world.readings()
    assert outcome["read"] == 3 and outcome["youtube_units"] == 1, outcome
    assert sorted((r.post_id, r.mark, r.state) for r in readings) == [
        (p, "1h", "read") for p in posts
    ]

    async def artifacts() -> list[str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["insights-summary"]))
            )
            return [str(a.data) for a in found]

    [markdown] = anyio.run(artifacts)
    assert "- read: 3" in markdown and "YouTube units: 1" in markdown
