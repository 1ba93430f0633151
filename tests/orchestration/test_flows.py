"""The Prefect flow under a real local Prefect server: proves the pinned prefect/fastapi pair
runs a flow, and that the sync flow records its summary artifact."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ifn_campaign import store
from ifn_campaign.wiring import Resources
from ifn_sandbox.registry import RegistrySandbox, generate_members
from tests.support.publishing import approved_posts

pytestmark = pytest.mark.slow


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
    assert Resources(load_settings()).registry_token() == "tok-from-block-123"
    monkeypatch.setenv("IFN_REGISTRY__TOKEN_SECRET_BLOCK", "no-such-block")
    with pytest.raises(ConfigError, match="no-such-block"):
        Resources(load_settings()).registry_token()


def test_publish_and_reconcile_flows_with_a_secret_block(
    prefect_server: None,
    world: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flows publish through settings from the environment; the Graph token comes from a
    Prefect Secret block (only its name is in the settings)."""
    from prefect.blocks.system import Secret

    from flows.publish import publish_due, reconcile_posts
    from ifn_campaign.secrets import env_name
    from ifn_sandbox.graph import GraphAccount

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


def _env_for(
    monkeypatch: pytest.MonkeyPatch, sandbox: RegistrySandbox, tmp_path: Path, **more: str
) -> str:
    """Point the flows (and their worker processes) at this sandbox and a fresh database."""
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    store.upgrade(store.make_engine(url))
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    monkeypatch.setenv("IFN_REGISTRY__BASE_URL", sandbox.url)
    monkeypatch.setenv("IFN_MEDIA__DIR", str(tmp_path / "media"))
    monkeypatch.setenv("IFN_MEDIA__ALLOW_HOSTS", f'["{sandbox.url.removeprefix("http://")}"]')
    for key, value in more.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return url


def test_two_syncs_of_one_registry_never_overlap(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one sync holds the registry's lock, a second waits and then syncs after it (never
    beside it), and one that may not wait long gives up having done nothing."""
    import threading
    import time

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from flows.sync import sync_registry
    from ifn_campaign.errors import OrchestrationError
    from ifn_campaign.models import SyncRun
    from ifn_sandbox.http import Fault

    with RegistrySandbox(generated=6, seed=3) as sandbox:
        url = _env_for(monkeypatch, sandbox, tmp_path, IFN_REGISTRY__PAGE_SIZE="2")
        monkeypatch.setenv("IFN_SYNC__FETCH_MEDIA", "false")
        sandbox.faults.add(Fault("/api/v1/members", "slow", delay=1.0, times=None))
        outcome: dict[str, Any] = {}

        def run(name: str, wait: float) -> None:
            try:
                outcome[name] = sync_registry(full=True, wait_seconds=wait)
            except Exception as exc:
                outcome[name] = exc

        engine = store.make_engine(url)
        first = threading.Thread(target=run, args=("first", 60))
        first.start()
        deadline = time.monotonic() + 60
        with Session(engine) as session:  # the first sync has started: it holds the lock
            while session.scalar(select(SyncRun.id)) is None and time.monotonic() < deadline:
                time.sleep(0.1)
        later = [
            threading.Thread(target=run, args=("second", 60)),
            threading.Thread(target=run, args=("impatient", 0.5)),
        ]
        for thread in later:
            thread.start()
        for thread in [first, *later]:
            thread.join(timeout=120)
    assert isinstance(outcome["impatient"], OrchestrationError), outcome
    assert "another sync of registry:http://127.0.0.1" in str(outcome["impatient"])
    assert outcome["first"]["new"] == 6 and outcome["second"]["new"] == 0
    with Session(engine) as session:
        runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
    assert [r.status for r in runs] == ["completed", "completed"]  # none taken over
    assert runs[0].finished_at is not None and runs[0].finished_at <= runs[1].started_at


def test_a_sync_by_hand_waits_for_the_scheduled_one(
    prefect_server: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`ifn-campaign sync` holds the same lock as the flow when a Prefect server is configured:
    while a sync runs, the one by hand gives up after `--wait` having done nothing."""
    from ifn_campaign.cli.app import main
    from ifn_campaign.orchestration.deployments import sync_lock

    with RegistrySandbox(generated=3, seed=4) as sandbox:
        url = _env_for(monkeypatch, sandbox, tmp_path)
        store.upgrade(store.make_engine(url))
        with sync_lock(f"registry:{sandbox.url}", 5):
            assert main(["sync", "--no-media", "--wait", "0.5"]) == 1
            assert "another sync of registry:" in " ".join(capsys.readouterr().err.split())
        assert main(["sync", "--no-media"]) == 0  # the lock is free again


def _artifact(key: str) -> str:
    import anyio
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async def latest() -> str:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )
            return str(found[0].data)

    return anyio.run(latest)


def test_campaign_runs_every_stage_in_order(
    prefect_server: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One run from an empty database: sync, plan, compose (two chunks in a process pool, with
    a real Short), publish to the platform sandboxes, reconcile; each stage leaves its summary.
    The Graph token comes from a Prefect Secret block, read from the stages' worker thread
    (where Prefect would hand a plain `Secret.load` an un-awaited coroutine: the async flow)."""
    from prefect.blocks.system import Secret

    from ifn_campaign.config import Settings
    from ifn_campaign.secrets import env_name
    from ifn_sandbox.graph import GraphAccount
    from ifn_sandbox.platforms import PlatformSandboxes
    from tests.support.orchestration import write_campaign

    soon = datetime.now(UTC) + timedelta(hours=3)
    write_campaign(tmp_path / "campaigns", "uji", soon, ("facebook", "youtube"), auto_approve=True)
    with (
        RegistrySandbox() as sandbox,
        PlatformSandboxes(tmp_path / "cards", container_ready_after=0.0) as platforms,
    ):
        url = _env_for(
            monkeypatch,
            sandbox,
            tmp_path,
            IFN_PLANNER__CAMPAIGNS_DIR=str(tmp_path / "campaigns"),
            IFN_PREFECT__CHUNK_SIZE="1",
            IFN_PREFECT__CARD_WORKERS="2",
        )
        base = Settings(database={"url": url}, cards={"cache_dir": tmp_path / "cards"})
        for key, value in platforms.environ(platforms.settings(base)).items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv(env_name("sandbox-graph-token"))
        Secret(value=GraphAccount().token).save("sandbox-graph-token", overwrite=True)
        from flows.campaign import campaign

        outcome = asyncio.run(campaign(plan_weeks=1))
        assert len(platforms.graph.posts()) == 1 and len(platforms.youtube.videos()) == 1
    assert outcome["sync_registry"]["new"] > 0
    assert outcome["plan_campaign"]["planned"] == 2
    assert outcome["compose"] == {
        "composed": 2,
        "approved": 2,
        "failed": 0,
        "skipped": 0,
        "videos": 1,
        "videos_failed": 0,
    }
    assert len(outcome["publish_due"]["scheduled"]) == 2 and not outcome["publish_due"]["failed"]
    assert outcome["reconcile"]["problems"] == []
    assert (tmp_path / "cards" / "videos").is_dir()
    assert "| 2 | 2 | 0 | 0 | 1 | 0 |" in _artifact("compose-summary")
    assert "| uji | 2 |" in _artifact("plan-summary")
    assert "| 0 | 2 | 0 | 0 | 0 | 0 | 0 | 0 |" in _artifact("publish-summary")
    assert "# Reconcile" in _artifact("reconcile-summary")
    assert "| publish_due | published 0, scheduled 2," in _artifact("campaign-summary")
    table = _artifact("campaign-window-posts")  # the window's posts: member, channel, time, reason
    assert (
        table.count('"channel": "facebook/bpipi"') == table.count('"channel": "youtube/bpipi"') == 1
    )
    assert "cards" in _artifact("campaign-window-cards") and "file://" in _artifact(
        "campaign-window-cards"
    )

    # the monthly report flow, for the month of those posts: its page and the same artifacts
    from flows.report import report

    month = soon.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%Y-%m")
    made = report(month=month, out_dir=str(tmp_path / "reports"))
    assert made["posts"] == 2 and made["month"] == month
    assert (tmp_path / "reports" / month / "index.html").is_file()
    assert '"state": "scheduled"' in _artifact("report-posts")
    assert "scheduled" in _artifact("report-summary")
    assert made["pdf"] and Path(made["pdf"]).read_bytes().startswith(b"%PDF-")  # Indonesian
    files = _artifact("report-files")
    assert Path(made["pdf"]).resolve().as_uri() in files and "index.en.html" in files


def test_campaign_goes_on_past_a_failed_stage_and_ends_failed_naming_it(
    prefect_server: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The registry down for the whole run: the sync fails, the later stages still run (in the
    async flow's worker thread, with their artifacts), and the run ends failed naming the sync."""
    from ifn_campaign.errors import OrchestrationError
    from ifn_sandbox.http import Fault

    with RegistrySandbox(generated=3, seed=5) as sandbox:
        _env_for(monkeypatch, sandbox, tmp_path, IFN_REGISTRY__RETRIES="0")
        monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(tmp_path / "no-campaigns-yet"))
        (tmp_path / "no-campaigns-yet").mkdir()
        sandbox.faults.add(Fault("/api/v1/members", "status", status=503, times=None))
        from flows.campaign import campaign

        with pytest.raises(OrchestrationError) as failed:
            asyncio.run(campaign(plan_weeks=1))
    message = str(failed.value)
    assert message.startswith("sync_registry failed: ") and "503" in message
    assert message.endswith("(the other stages ran)")
    assert "plan_campaign failed" not in message and "publish_due failed" not in message
    summary = _artifact("campaign-summary")
    assert "sync_registry" in summary and "503" in summary
    assert "| publish_due | published 0, scheduled 0," in summary
    assert "# Reconcile" in _artifact("reconcile-summary")


@pytest.mark.filterwarnings("ignore:Couldn't detect a suitable IP address:RuntimeWarning")
def test_compose_on_a_dask_cluster(
    prefect_server: None,
    synced_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With prefect.dask_address set, the chunks run on that Dask cluster's workers."""
    distributed = pytest.importorskip("distributed")
    import sqlite3

    import flows.compose
    from ifn_campaign.config import load_settings
    from ifn_campaign.orchestration import stages
    from ifn_campaign.orchestration.stages import plan_stage
    from tests.support.orchestration import write_campaign

    with sqlite3.connect(synced_db / "ifn.db") as src, sqlite3.connect(tmp_path / "ifn.db") as dst:
        src.backup(dst)
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    write_campaign(tmp_path / "campaigns", "uji", datetime.now(UTC) + timedelta(hours=3))
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    monkeypatch.setenv("IFN_MEDIA__DIR", str(synced_db / "media"))
    monkeypatch.setenv("IFN_CARDS__CACHE_DIR", str(tmp_path / "cards"))
    monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(tmp_path / "campaigns"))
    monkeypatch.setenv("IFN_PREFECT__CHUNK_SIZE", "1")
    plan_stage(Resources(load_settings()), weeks=1)
    real = stages.compose_chunk
    seen = tmp_path / "ran-on-dask"  # the task is sent by value: a file, not a list, tells

    def compose_chunk(*args: Any, **kwargs: Any) -> Any:
        try:
            distributed.get_worker()
            where = "dask\n"
        except ValueError:
            where = "elsewhere\n"
        with seen.open("a") as log:
            log.write(where)
        return real(*args, **kwargs)

    monkeypatch.setattr(stages, "compose_chunk", compose_chunk)
    monkeypatch.setattr(
        "ifn_campaign.cards.shorts.post_video", lambda post, folder, **_: Path(post.card_path)
    )
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("IFN_PREFECT__DASK_ADDRESS", cluster.scheduler_address)
        counts = flows.compose.compose(weeks=2)
    assert counts["composed"] == 2 and counts["videos"] == 1
    assert seen.read_text().split() == ["dask", "dask"]


@pytest.mark.filterwarnings("ignore:Couldn't detect a suitable IP address:RuntimeWarning")
def test_dask_workers_draw_in_the_flow_runs_data_folder(
    prefect_server: None,
    synced_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Dask worker started on its own (its own folder, no IFN_DATA_DIR: deploy pins that for
    the flow runs only) draws the cards in the flow run's data folder, where the posts' stored
    paths are read, not in its own."""
    distributed = pytest.importorskip("distributed")
    import sqlite3

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    import flows.compose
    from ifn_campaign.config import load_settings
    from ifn_campaign.models import Post
    from ifn_campaign.orchestration.stages import plan_stage
    from tests.support.orchestration import write_campaign

    data, elsewhere = tmp_path / "data", tmp_path / "dask-worker"
    data.mkdir()
    elsewhere.mkdir()
    with sqlite3.connect(synced_db / "ifn.db") as src, sqlite3.connect(data / "ifn.db") as dst:
        src.backup(dst)
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    write_campaign(data / "campaigns", "uji", datetime.now(UTC) + timedelta(hours=3))
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{data / 'ifn.db'}")
    monkeypatch.setenv("IFN_MEDIA__DIR", str(synced_db / "media"))
    monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(data / "campaigns"))
    monkeypatch.setenv("IFN_PREFECT__CHUNK_SIZE", "1")
    monkeypatch.chdir(elsewhere)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:  # started here, before the flow run's own setting below
        monkeypatch.setenv("IFN_DATA_DIR", str(data))
        monkeypatch.setenv("IFN_PREFECT__DASK_ADDRESS", cluster.scheduler_address)
        plan_stage(Resources(load_settings()), weeks=1)
        counts = flows.compose.compose(weeks=2)
    assert counts["composed"] == 2
    with Session(store.make_engine(f"sqlite:///{data / 'ifn.db'}")) as session:
        cards = [p.card_path for p in session.scalars(select(Post)) if p.card_path]
    assert len(cards) == 2
    for card in cards:
        assert not Path(card).is_absolute() and (data / card).is_file(), card
    assert not (elsewhere / "var").exists()


def test_compose_fails_as_a_whole_only_when_it_cannot_proceed(
    prefect_server: None,
    synced_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Campaign files gone: no post can be composed, so the flow fails with that one message
    (and still leaves its summary); the posts stay planned for the next run."""
    import shutil
    import sqlite3

    from flows.compose import compose
    from ifn_campaign.config import load_settings
    from ifn_campaign.errors import ConfigError
    from ifn_campaign.orchestration.stages import plan_stage
    from tests.support.orchestration import write_campaign

    with sqlite3.connect(synced_db / "ifn.db") as src, sqlite3.connect(tmp_path / "ifn.db") as dst:
        src.backup(dst)
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    write_campaign(tmp_path / "campaigns", "uji", datetime.now(UTC) + timedelta(hours=3))
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    monkeypatch.setenv("IFN_MEDIA__DIR", str(synced_db / "media"))
    monkeypatch.setenv("IFN_CARDS__CACHE_DIR", str(tmp_path / "cards"))
    monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(tmp_path / "campaigns"))
    assert plan_stage(Resources(load_settings()), weeks=1).counts()["planned"] == 2
    shutil.rmtree(tmp_path / "campaigns")
    with pytest.raises(ConfigError, match="campaigns directory not found"):
        compose(weeks=2)
    assert "| 0 | 0 | 0 | 0 | 0 | 0 |" in _artifact("compose-summary")
