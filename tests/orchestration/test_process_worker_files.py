"""Files written under a real process worker stay: a worker runs each flow in a temporary folder
it deletes afterwards, so cards and report pages must land in the data folder `deploy` pins
(issue 17, "Files vanish on workers")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import load_settings
from ifn_campaign.models import MediaAsset, Post
from ifn_campaign.orchestration.deployments import file_parameters, register, runner_deployments
from ifn_sandbox.registry import RegistrySandbox
from tests.support.prefect_worker import PrefectWorkerServer, worker_server

pytestmark = pytest.mark.slow

CAMPAIGN = """name = "uji-worker"
title = "Uji"
start = 2026-01-01
timezone = "Asia/Jakarta"
template = "sorotan"
hashtags = ["Uji"]
cooldown_days = 0
holidays = "ignore"
[[channels]]
channel = "instagram"
account = "bpipi"
[[channels.slots]]
days = ["senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu"]
time = "19:00"
"""


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectWorkerServer]:
    with worker_server(tmp_path_factory.mktemp("prefect-files"), pool="ifn-files-test") as server:
        yield server


def test_compose_and_report_on_a_worker_leave_every_file(
    prefect: PrefectWorkerServer, tmp_path: Path
) -> None:
    """Default path settings in a settings file: compose and report run by a process worker
    (which starts in a folder of its own and runs each flow in a temporary one) leave every
    post's card and the report page under the data folder."""
    from prefect.client.schemas.objects import StateType

    from flows.deployments import DEPLOYMENTS

    data = tmp_path / "data"
    (data / "campaigns").mkdir(parents=True)
    (data / "campaigns" / "uji-worker.toml").write_text(CAMPAIGN)
    with RegistrySandbox(generated=6, seed=5) as sandbox:
        host = sandbox.url.removeprefix("http://")
        file = data / "ifn-campaign.toml"
        file.write_text(
            f'[registry]\nbase_url = "{sandbox.url}"\n'
            f'[media]\nallow_hosts = ["{host}"]\n'
            f'[planner]\ncampaigns_dir = "campaigns"\n'
            f'[prefect]\nwork_pool = "{prefect.pool}"\ncard_workers = 1\n'
        )
        cfg = load_settings(file)
        assert cfg.data_dir == data and cfg.cards.cache_dir == data / "var" / "cards"
        store.upgrade(store.make_engine(cfg.database.url))
        with prefect.pointed():  # what `ifn-campaign deploy` does
            register(runner_deployments(DEPLOYMENTS, cfg, parameters=file_parameters(file)), cfg)
        prefect.start_worker()  # no IFN_ settings of its own: the deployments carry them
        for flow_name, parameters in (
            ("sync_registry", {}),
            ("plan_campaign", {"weeks": 1}),
            ("compose", {"weeks": 1}),
            ("report", {"month": datetime.now(UTC).strftime("%Y-%m")}),
        ):
            run = prefect.run(flow_name, parameters)
            prefect.wait_for(run, StateType.COMPLETED, timeout=300)
    with Session(store.make_engine(cfg.database.url)) as session:
        posts = session.scalars(select(Post).where(Post.card_path.is_not(None))).all()
        assert posts, "compose made no card"
        for post in posts:
            assert post.card_path is not None and not Path(post.card_path).is_absolute()
            assert (data / post.card_path).is_file(), post.card_path
        media = session.scalars(select(MediaAsset.path)).all()
        assert media, "sync fetched no logo or photo"
        for path in media:  # member logos and photos too
            assert not Path(path).is_absolute() and (data / path).is_file(), path
    pages = list((data / "var" / "report").glob("*/index.html"))
    assert len(pages) == 1 and pages[0].stat().st_size > 0
