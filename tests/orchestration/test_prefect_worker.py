"""Our deployments on a real Prefect server run by a real process worker (tests/support/
prefect_worker.py): registered as `ifn-campaign deploy` registers them, picked up by `prefect
worker start`, run in a process of the worker's own, in a temporary folder of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.models import Member, SyncRun
from ifn_sandbox.registry import RegistrySandbox
from tests.support.prefect_worker import PrefectWorkerServer, worker_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectWorkerServer]:
    """One Prefect server subprocess for the module's tests."""
    with worker_server(tmp_path_factory.mktemp("prefect-worker"), pool="ifn-worker-test") as server:
        yield server


def test_a_sync_runs_on_a_process_worker(prefect: PrefectWorkerServer, tmp_path: Path) -> None:
    """`sync_registry/ifn-campaign`, registered and started on the server, is run by the worker
    (not by this process) with the settings of the worker's environment, and completes."""
    from prefect.client.schemas.objects import StateType

    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    engine = store.make_engine(url)
    store.upgrade(engine)
    with RegistrySandbox(generated=5, seed=3) as sandbox:
        cfg = Settings(
            data_dir=tmp_path,  # deploy hands it to every run: the worker's folder is temporary
            registry={"base_url": sandbox.url},
            prefect={"work_pool": prefect.pool},
        )
        registration = prefect.register(cfg)
        assert "sync_registry" in registration.deployments
        worker = prefect.start_worker(
            {
                "IFN_DATABASE__URL": url,
                "IFN_REGISTRY__BASE_URL": sandbox.url,
                "IFN_MEDIA__DIR": str(tmp_path / "media"),
                "IFN_MEDIA__ALLOW_HOSTS": f'["{sandbox.url.removeprefix("http://")}"]',
            }
        )
        run_id = prefect.run("sync_registry")
        done = prefect.wait_for(run_id, StateType.COMPLETED, timeout=180)
    assert worker.process.poll() is None  # the worker ran it and is still polling
    assert done.work_pool_name == prefect.pool
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 5
        assert session.scalars(select(SyncRun.status)).all() == ["completed"]
