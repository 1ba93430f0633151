"""Deployments: built from the settings (cron strings in WIB, one run at a time where it matters),
registered by `ifn-campaign deploy` to a work pool on a real Prefect server (on PostgreSQL when
IFN_TEST_DATABASE_URL is set), run by two workers at once without sending any post twice, and
served on this machine by `ifn-campaign serve`, which starts its own Prefect server."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.deployments import DEPLOYMENTS
from ifn_campaign import store
from ifn_campaign.cli.app import main
from ifn_campaign.config import Settings
from ifn_campaign.errors import ConfigError
from ifn_campaign.orchestration.deployments import (
    dask_task_runner,
    file_parameters,
    run_environment,
    runner_deployments,
    sync_lock_name,
)
from ifn_campaign.orchestration.prefect_server import server_answers

PG_URL = os.environ.get("IFN_TEST_DATABASE_URL")
PREFECT = [sys.executable, "-m", "prefect"]


# --- built from the settings (no server) -------------------------------------------------------


def test_deployments_follow_the_settings() -> None:
    cfg = Settings(schedules={"compose": "30 5 * * *", "reconcile": ""})
    made = {d.flow_name: d for d in runner_deployments(DEPLOYMENTS, cfg, parameters={"x": 1})}
    assert list(made) == [
        "sync_registry",
        "plan_campaign",
        "compose",
        "publish_due",
        "reconcile",
        "notices",
        "insights",
        "report",
        "campaign",
    ]
    crons = {
        name: [(s.schedule.cron, s.schedule.timezone) for s in d.schedules]
        for name, d in made.items()
    }
    assert crons == {
        "sync_registry": [("0 2 * * *", "Asia/Jakarta")],
        "plan_campaign": [("0 3 * * 1", "Asia/Jakarta")],
        "compose": [("30 5 * * *", "Asia/Jakarta")],
        "publish_due": [("*/5 * * * *", "Asia/Jakarta")],
        "reconcile": [],  # empty in the settings: run by hand
        "notices": [("*/15 * * * *", "Asia/Jakarta")],
        "insights": [("40 * * * *", "Asia/Jakarta")],
        "report": [("0 6 1 * *", "Asia/Jakarta")],
        "campaign": [],  # one-off
    }
    assert made["sync_registry"].entrypoint == "flows.sync.sync_registry"
    assert made["sync_registry"].parameters == {}  # only parameters the flow takes
    for name, deployment in made.items():
        options = deployment.concurrency_options
        if name == "publish_due":  # several at once are safe (claims)
            assert deployment.concurrency_limit is None
        else:
            assert deployment.concurrency_limit == 1
            assert options is not None and options.collision_strategy == "CANCEL_NEW"


def test_every_run_gets_the_data_folder_and_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker runs each flow in a temporary folder of its own: the deployments pin the data
    folder (IFN_DATA_DIR, beside the heartbeat) and the settings file, both absolute."""
    monkeypatch.chdir(tmp_path)
    cfg = Settings(data_dir=Path("data"))
    (tmp_path / "ifn.toml").write_text("")
    parameters = file_parameters(Path("ifn.toml"))
    assert parameters == {"config_path": str(tmp_path / "ifn.toml")}
    assert file_parameters(None) == {}
    for made in runner_deployments(DEPLOYMENTS, cfg, parameters=parameters):
        env = made.job_variables["env"]
        assert env == {**run_environment(cfg), "IFN_DATA_DIR": str(tmp_path / "data")}
        assert made.parameters["config_path"] == str(tmp_path / "ifn.toml")


def test_a_bad_cron_string_names_its_setting() -> None:
    with pytest.raises(ConfigError, match=r"schedules\.compose = '61 \* \* \* \*'"):
        runner_deployments(DEPLOYMENTS, Settings(schedules={"compose": "61 * * * *"}))
    with pytest.raises(ValueError, match="five-field cron"):
        Settings(schedules={"compose": "0 0 4 * * *"})


def test_cards_are_drawn_in_local_processes_or_on_dask() -> None:
    import os

    from ifn_campaign.orchestration.stages import compose_workers

    assert compose_workers(Settings(), 1) == 1  # one chunk: in the flow's own process
    assert compose_workers(Settings(prefect={"card_workers": 4}), 3) == 3  # no idle workers
    assert compose_workers(Settings(prefect={"card_workers": 4}), 9) == 4
    assert compose_workers(Settings(), 99) == os.cpu_count()
    pytest.importorskip("prefect_dask")
    from prefect_dask import DaskTaskRunner

    dask = dask_task_runner(Settings(prefect={"dask_address": "tcp://127.0.0.1:8786"}))
    assert isinstance(dask, DaskTaskRunner)


def test_sync_lock_names_are_prefect_names() -> None:
    assert sync_lock_name("registry:http://10.0.0.5:8080/ifn") == (
        "ifn-sync:registry:http:_10.0.0.5:8080_ifn"
    )


def test_deploy_without_a_server_says_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert main(["deploy"]) == 1
    assert "no Prefect server configured: set PREFECT_API_URL" in capsys.readouterr().err


def test_deploy_to_a_server_that_does_not_answer_says_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert main(["deploy"]) == 1
    line = capsys.readouterr().err
    assert "Prefect server http://127.0.0.1:9/api does not answer" in line
    assert "start it, or correct PREFECT_API_URL" in line


# --- a real Prefect server ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 10) -> None:
    """Stop a process we started and everything it started (its own session)."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children left behind, if any


def _wait(what: str, ok: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ok()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _prefect_env(home: Path, **more: str) -> dict[str, str]:
    """This environment without Prefect or IFN settings (secrets kept), plus `more`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "IFN_")) or k.startswith("IFN_SECRET_")
    }
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    env.update(more)
    return env


class Server(NamedTuple):
    url: str
    log: Path

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start` on a free port: on a fresh PostgreSQL database (created and
    dropped here) when IFN_TEST_DATABASE_URL is set, else on SQLite; the scheduler every second."""
    home = tmp_path_factory.mktemp("prefect-home")
    env = _prefect_env(home, PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="1")
    database = None
    if PG_URL:
        import psycopg
        from sqlalchemy.engine import make_url

        database = f"ifn_prefect_{uuid.uuid4().hex[:10]}"
        admin = make_url(PG_URL).set(drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{database}"')
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = (
            admin.set(drivername="postgresql+asyncpg", database=database, query={})
        ).render_as_string(hide_password=False)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait("the Prefect server", lambda: server_answers(url) or server.poll() is not None)
        assert server.poll() is None, (home / "server.log").read_text()
        yield Server(url, home / "server.log")
    finally:
        _stop(server, wait=20)
        if database:
            with psycopg.connect(
                admin.render_as_string(hide_password=False), autocommit=True
            ) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def api(prefect_api: Server) -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_api.url}):
        yield prefect_api.url


@pytest.mark.slow
def test_deploy_registers_schedules_to_a_work_pool(
    api: str, prefect_api: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    Path("ifn-campaign.toml").write_text("")  # found in the working directory
    assert main(["deploy"]) == 0
    shown = capsys.readouterr().out
    assert "work pool ifn-campaign created (process workers)" in shown
    assert "prefect worker start --pool ifn-campaign" in shown
    here = Path.cwd()
    assert f"settings file: {here / 'ifn-campaign.toml'}" in shown
    assert f"data folder: {here} (IFN_DATA_DIR" in shown
    with pytest.MonkeyPatch.context() as mp:  # staff clear a schedule: deploy again
        mp.setenv("IFN_SCHEDULES__RECONCILE", "")
        assert main(["deploy"]) == 0  # updated in place, the pool kept
    assert "created" not in capsys.readouterr().out
    with get_client(sync_client=True) as client:
        pool = client.read_work_pool("ifn-campaign")
        assert pool.type == "process"
        found = {}
        for spec in DEPLOYMENTS:
            d = client.read_deployment_by_name(f"{spec.name}/ifn-campaign")
            found[spec.name] = d
            assert d.work_pool_name == "ifn-campaign"
            assert d.entrypoint.startswith("flows.")
            assert d.job_variables["env"]["IFN_DATA_DIR"] == str(here)
            assert d.parameters["config_path"] == str(here / "ifn-campaign.toml")
        assert [
            (s.schedule.cron, s.schedule.timezone, s.active)
            for s in found["sync_registry"].schedules
        ] == [("0 2 * * *", "Asia/Jakarta", True)]
        assert found["campaign"].schedules == found["reconcile"].schedules == []
        limit = found["sync_registry"].global_concurrency_limit
        assert limit is not None and limit.limit == 1
        assert found["publish_due"].global_concurrency_limit is None
        assert (
            client.read_global_concurrency_limit_by_name(
                "ifn-sync:registry:http:_127.0.0.1:8765"
            ).limit
            == 1
        )

        def scheduled() -> list[Any]:
            return client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=[found["sync_registry"].id]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["SCHEDULED"])),
                ),
            )

        try:
            runs = _wait("the scheduler to plan the daily sync", scheduled, timeout=30)
        except AssertionError:  # SQLAlchemy 2.1 breaks it: "Can't evaluate bulk DML statement"
            tail = prefect_api.log_tail()
            raise AssertionError(f"no scheduled runs; the server says:\n{tail}") from None
    # 02:00 WIB (UTC+7) is 19:00 UTC the day before
    assert {
        (r.expected_start_time.astimezone(UTC).hour, r.expected_start_time.minute) for r in runs
    } == {(19, 0)}


def _due_instagram_posts(world: Any, count: int) -> list[int]:
    """`count` approved Instagram posts of different members, all due now."""
    from ifn_campaign.captions.writer import CaptionWriter
    from ifn_campaign.cards.brand import BrandKit
    from ifn_campaign.cards.render import Renderer
    from ifn_campaign.cards.template import load_all
    from ifn_campaign.models import Member, Post, PostState
    from ifn_campaign.posts.compose import compose_posts
    from ifn_campaign.posts.lifecycle import move
    from tests.support.publishing import campaign

    brand = BrandKit.load()
    renderer = Renderer(brand, load_all(palette=brand.palette), world.settings.cards.cache_dir)
    c = campaign(channels=[{"channel": "instagram", "slots": [{"days": ["mon"], "time": "09:00"}]}])
    now = datetime.now(UTC)
    with Session(world.engine) as session:
        members = session.scalars(
            select(Member).where(Member.status == "active", Member.consent_withdrawn_at.is_(None))
        ).all()
        usable = [m for m in members if "instagram" in (m.consent_channels or [])][:count]
        assert len(usable) == count
        posts = [
            Post(
                campaign=c.name,
                channel="instagram",
                account="bpipi",
                slot_at=now - timedelta(minutes=i + 1),
                member_id=member.id,
                template="sorotan",
                reason_id="uji",
                reason_en="test",
                state_changed_at=now,
                created_at=now,
            )
            for i, member in enumerate(usable)
        ]
        session.add_all(posts)
        session.commit()
        ids = [p.id or 0 for p in posts]
        compose_posts(
            session,
            renderer,
            CaptionWriter(),
            {c.name: c},
            now - timedelta(days=1),
            stored=world.settings.stored,
            file=world.settings.path,
            post_ids=ids,
        )
        for post in session.scalars(select(Post).where(Post.id.in_(ids))):
            assert post.state == PostState.COMPOSED, post.compose_notes
            move(session, post, PostState.APPROVED, actor="staff:test", now=now)
        session.commit()
    return ids


@pytest.mark.slow
def test_two_workers_publish_each_due_post_once(
    api: str,
    world: Any,
    tmp_path: Path,
) -> None:
    """Three runs of publish_due at once, on two process workers: every due post goes out,
    none twice (the publisher's claims)."""
    from prefect.client.orchestration import get_client

    from ifn_campaign.models import Post, PostEvent, PostState

    ids = _due_instagram_posts(world, 6)
    settings = {
        **world.platforms.environ(world.settings),
        "IFN_DATABASE__URL": world.settings.database.url,
        "IFN_PUBLISH__ACCOUNT_POSTS_PER_MINUTE": "600",  # the account's rate, not the test's
    }
    with pytest.MonkeyPatch.context() as mp:  # deploy with the workers' settings (accounts)
        for key in [k for k in os.environ if k.startswith("IFN_") and "SECRET" not in k]:
            mp.delenv(key)
        for key, value in settings.items():
            mp.setenv(key, value)
        assert main(["deploy"]) == 0
    env = _prefect_env(  # the platform secrets (IFN_SECRET_*) come from the environment
        tmp_path / "worker-home",
        PREFECT_API_URL=api,
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_PREFETCH_SECONDS="1",
        **settings,
    )
    workers = [
        subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", "ifn-campaign", "--name", f"worker-{n}"],
            env=env,
            cwd=tmp_path,
            stdout=(tmp_path / f"worker-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for n in (1, 2)
    ]
    try:
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name("publish_due/ifn-campaign")
            runs = [client.create_flow_run_from_deployment(deployment.id) for _ in range(3)]

            def finished() -> list[Any]:
                states = [client.read_flow_run(r.id).state for r in runs]
                return states if all(s is not None and s.is_final() for s in states) else []

            states = _wait("three publish_due runs", finished, timeout=120)
    finally:
        for worker in workers:
            _stop(worker, signal.SIGKILL)
    logs = "\n".join((tmp_path / f"worker-{n}.log").read_text() for n in (1, 2))
    assert [s.type.value for s in states] == ["COMPLETED"] * 3, logs[-3000:]
    assert len(world.platforms.graph.media()) == len(ids)  # each post once on Instagram
    with Session(world.engine) as session:
        posts = session.scalars(select(Post).where(Post.id.in_(ids))).all()
        published = session.scalars(
            select(PostEvent.post_id).where(PostEvent.to_state == PostState.PUBLISHED)
        ).all()
    assert {p.state for p in posts} == {PostState.PUBLISHED}
    assert sorted(published) == sorted(ids)


@pytest.mark.slow
def test_serve_starts_a_local_server_and_runs_the_deployments(
    tmp_path: Path, sqlite_url: str
) -> None:
    """With no PREFECT_API_URL, `serve` starts a Prefect server (schedules need one), serves
    every deployment from it and stops both on Ctrl+C."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    store.upgrade(store.make_engine(sqlite_url))
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = _prefect_env(
        tmp_path / "serve-home", PREFECT_RUNNER_POLL_FREQUENCY="1", IFN_DATABASE__URL=sqlite_url
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "ifn_campaign.cli.app", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=(tmp_path / "serve.out").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            _wait("serve to start its server", lambda: server_answers(url), timeout=120)
            with get_client(sync_client=True) as client:

                def served() -> Any:
                    try:
                        return client.read_deployment_by_name("reconcile/ifn-campaign")
                    except Exception:
                        return None

                deployment = _wait("the served deployments", served)
                assert deployment.work_pool_name is None  # served, not in a work pool
                run = client.create_flow_run_from_deployment(deployment.id)

                def done() -> Any:
                    state = client.read_flow_run(run.id).state
                    return state if state is not None and state.is_final() else None

                state = _wait("serve to run reconcile", done, timeout=60)
        assert state.is_completed(), (tmp_path / "serve.out").read_text()[-3000:]
        serve.send_signal(signal.SIGINT)
        # Prefect 3.8's runner sometimes never returns from its shutdown on a loaded box;
        # serve then stops itself (and the server it started) after its 30 s grace
        serve.wait(timeout=90)
    finally:
        _stop(serve, wait=5)
    shown = (tmp_path / "serve.out").read_text()
    assert f"starting a Prefect server at {url}" in shown
    assert "sync_registry/ifn-campaign" in shown and "0 2 * * * (Asia/Jakarta)" in shown
    assert serve.returncode in (0, 130), shown[-3000:]  # 130: stopped by its grace timer
    assert not server_answers(url)  # the server it started is stopped with it


@pytest.mark.slow
def test_a_run_reads_the_heartbeat_and_wait_deploy_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The automation waits deploy's prefect.lost_after_seconds and the run beats at deploy's
    heartbeat: both reach the run together, so a worker whose own environment sets another
    heartbeat (here 60 s, valid with its own settings) neither breaks the run's settings
    (lost_after 60 needs a heartbeat of 30 at most) nor differs from what the run does."""
    from ifn_campaign.config import load_settings

    monkeypatch.chdir(tmp_path)  # no settings file: the environment alone
    monkeypatch.delenv("IFN_CONFIG", raising=False)
    deployed = Settings(prefect={"heartbeat_seconds": 30, "lost_after_seconds": 60})
    monkeypatch.setenv("IFN_PREFECT__HEARTBEAT_SECONDS", "60")  # the worker's own
    monkeypatch.setenv("IFN_PREFECT__LOST_AFTER_SECONDS", "180")
    for key, value in run_environment(deployed).items():  # the job variables win
        monkeypatch.setenv(key, value)
    run = load_settings().prefect
    assert (run.heartbeat_seconds, run.lost_after_seconds) == (30, 60)
