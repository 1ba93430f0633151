"""The publish_due flow under a real local Prefect server rebuilds the showcase in
`showcase.dir` and says so in its `publish-summary` artifact; a showcase that cannot be built
is said there too, and the publish run still completes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.showcase import slug
from tests.support.showcase import featured_members

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def prefect() -> Iterator[None]:
    """A Prefect test server for this module's flow runs."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _summary() -> str:
    """The newest publish-summary artifact's markdown."""
    import anyio
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async def read() -> str:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["publish-summary"])),
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )
            return str(found[0].data)

    return anyio.run(read)


def test_the_publish_run_rebuilds_the_showcase(
    prefect: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.publish import publish_due

    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    engine = store.make_engine(url)
    store.upgrade(engine)
    with Session(engine) as session:
        featured_members(session, Settings(data_dir=tmp_path))
        session.commit()
    engine.dispose()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    monkeypatch.setenv("IFN_SHOWCASE__DIR", "etalase")

    publish_due()
    assert (tmp_path / "etalase" / "anggota" / f"{slug('ifn-a')}.html").is_file()
    summary = _summary()
    assert "showcase: 2 member(s), 3 feature(s)" in summary

    # a folder that is someone else's: the publish run completes and says why
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("x", encoding="utf-8")
    monkeypatch.setenv("IFN_SHOWCASE__DIR", "taken")
    outcome = publish_due()
    assert outcome["failed"] == []
    summary = _summary()
    assert "showcase: not rebuilt in" in summary and "not a showcase folder" in summary
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["mine.txt"]
