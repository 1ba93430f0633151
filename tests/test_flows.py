"""The Prefect flow under a real local Prefect server: proves the pinned prefect/fastapi pair
runs a flow, and that the sync flow records its summary artifact."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ifn_campaign import store
from ifn_campaign.sandbox.registry import RegistrySandbox, generate_members
from tests.test_publisher import approved_posts, synced_db, world  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_sync_flow_runs_and_writes_artifact(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.sync import sync_registry

    broken = {"id": "bad|<b>1</b>", "business_name": "Sepatu Rusak", "status": "active"}
    with RegistrySandbox(members=[*generate_members(6, seed=5), broken]) as sandbox:
        url = f"sqlite:///{tmp_path / 'ifn.db'}"
        store.upgrade(store.make_engine(url))
        for key in [k for k in os.environ if k.startswith("IFN_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("IFN_DATABASE__URL", url)
        monkeypatch.setenv("IFN_REGISTRY__BASE_URL", sandbox.url)
        monkeypatch.setenv("IFN_MEDIA__DIR", str(tmp_path / "media"))
        monkeypatch.setenv("IFN_MEDIA__ALLOW_HOSTS", f'["{sandbox.url.removeprefix("http://")}"]')
        monkeypatch.chdir(tmp_path)
        counts = sync_registry()
    assert counts["new"] == 6 and counts["quarantined"] == 1

    import anyio

    async def artifacts() -> list[str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["sync-summary"]))
            )
            return [str(a.data) for a in found]

    [markdown] = anyio.run(artifacts)
    assert "| 6 | 0 | 0 | 1 |" in markdown
    assert "<b>" not in markdown  # member-supplied text is escaped, it is data
    assert "bad\\|\\<b\\>1\\</b\\>" in markdown


def test_registry_token_from_a_prefect_secret_block(
    prefect_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret

    from ifn_campaign.config import load_settings
    from ifn_campaign.errors import ConfigError

    Secret(value="tok-from-block-123").save("ifn-registry-token", overwrite=True)
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("IFN_REGISTRY__TOKEN_SECRET_BLOCK", "ifn-registry-token")
    assert load_settings().registry_token() == "tok-from-block-123"
    monkeypatch.setenv("IFN_REGISTRY__TOKEN_SECRET_BLOCK", "no-such-block")
    with pytest.raises(ConfigError, match="no-such-block"):
        load_settings().registry_token()


def test_publish_and_reconcile_flows_with_a_secret_block(
    prefect_server: None,
    world: Any,  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flows publish through settings from the environment; the Graph token comes from a
    Prefect Secret block (only its name is in the settings)."""
    from prefect.blocks.system import Secret

    from flows.publish import publish_due, reconcile_posts
    from ifn_campaign.sandbox.graph import GraphAccount
    from ifn_campaign.secrets import env_name

    now = datetime.now(UTC)
    approved_posts(world, {"instagram": now - timedelta(minutes=1)})
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    for key, value in world.platforms.environ(world.settings).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IFN_DATABASE__URL", world.settings.database.url)
    monkeypatch.delenv(env_name("sandbox-graph-token"))
    Secret(value=GraphAccount().token).save("sandbox-graph-token", overwrite=True)
    report = publish_due()
    assert len(report["published"]) == 1 and not report["failed"]
    assert len(world.platforms.graph.media()) == 1
    assert reconcile_posts()["removed"] == []
