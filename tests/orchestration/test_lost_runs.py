"""A flow run whose worker dies is marked Crashed by the server (heartbeats and the lost-run
automation, ifn_campaign/orchestration/lost_runs.py), and the next run of its deployment goes
ahead: not cancelled as "already running", not held by the dead run's sync lock."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.models import Member, SyncRun
from ifn_campaign.orchestration.doctor import check_lost_runs
from ifn_campaign.orchestration.lost_runs import (
    AUTOMATION_NAME,
    TRIGGERS_ON,
    ensure_lost_run_automation,
    lost_run_automation,
)
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox
from tests.support.broken_prefect import broken_prefect_server
from tests.support.prefect_worker import wait_until, worker_server

pytestmark = pytest.mark.slow


def test_the_automation_is_made_once_and_follows_the_settings(prefect_server: None) -> None:
    """`ensure_lost_run_automation` creates it, leaves it alone when it matches the settings,
    brings it to changed settings, and leaves exactly one of its name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState

    with get_client(sync_client=True) as client:
        for found in client.read_automations_by_name(AUTOMATION_NAME):  # another test's
            client.delete_automation(found.id)
        first = ensure_lost_run_automation(client, Settings())
        again = ensure_lost_run_automation(client, Settings())
        shorter = Settings(prefect={"lost_after_seconds": 60})
        changed = ensure_lost_run_automation(client, shorter)
        client.create_automation(lost_run_automation(Settings()))  # a second one, e.g. by hand
        doubled = ensure_lost_run_automation(client, shorter)
        [automation] = client.read_automations_by_name(AUTOMATION_NAME)
    assert (first.status, again.status, changed.status) == ("created", "unchanged", "updated")
    assert doubled.status == "updated" and first.problem is None
    assert automation.enabled and automation.trigger.within.total_seconds() == 60
    [action] = automation.actions
    assert isinstance(action, ChangeFlowRunState) and action.state == StateType.CRASHED
    assert action.message and "no heartbeat for 60 s" in action.message


def test_ensure_limits_makes_the_automation(prefect_server: None) -> None:
    """`deploy` and `serve` make it where they make the limits (`ensure_limits`)."""
    from prefect.client.orchestration import get_client

    from ifn_campaign.orchestration.deployments import ensure_limits

    cfg = Settings(prefect={"lost_after_seconds": 90})
    with get_client(sync_client=True) as client:
        ensure_limits(client, cfg)
        [automation] = client.read_automations_by_name(AUTOMATION_NAME)
    assert automation.trigger.within.total_seconds() == 90


def test_doctor_says_whether_lost_runs_are_marked(prefect_server: None) -> None:
    """`doctor` warns while the automation is missing or made with other settings, with what
    to do, and says it is in place once `deploy` made it from the settings."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from ifn_campaign.orchestration.doctor import check_lost_runs, run_checks

    url = str(PREFECT_API_URL.value())
    cfg = Settings(prefect={"lost_after_seconds": 75})
    with get_client(sync_client=True) as client:
        for found in client.read_automations_by_name(AUTOMATION_NAME):
            client.delete_automation(found.id)
        missing = check_lost_runs(url, cfg)
        ensure_lost_run_automation(client, Settings())
        other = check_lost_runs(url, cfg)
        ensure_lost_run_automation(client, cfg)
        fine = check_lost_runs(url, cfg)
    assert missing.line() == (
        f"warn lost runs: no '{AUTOMATION_NAME}' automation: a run whose worker dies stays "
        "Running -> run `ifn-campaign deploy` (or `serve`) again"
    )
    assert other.status == "warn" and "it waits 120 s, prefect.lost_after_seconds is 75 s" in (
        other.message
    )
    assert fine.line() == (
        f"ok   lost runs: a run silent for 75 s is marked Crashed (automation '{AUTOMATION_NAME}')"
    )
    assert [c.status for c in run_checks(cfg) if c.name == "lost runs"] == ["ok"]


def test_a_server_with_triggers_off_gets_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that will never evaluate automations is named in a warning saying what to turn
    on; the automation is still made, for when it is."""
    off = {"PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false"}
    with worker_server(tmp_path / "prefect", extra=off) as prefect, prefect.client() as client:
        with caplog.at_level(logging.WARNING, logger="ifn_campaign.orchestration.lost_runs"):
            watch = ensure_lost_run_automation(client, Settings())
        assert client.read_automations_by_name(AUTOMATION_NAME)
        doctor = check_lost_runs(prefect.api_url, Settings())
    assert watch.status == "created"
    assert doctor.status == "warn" and doctor.fix == TRIGGERS_ON
    assert watch.problem and "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED" in watch.problem
    assert [r.getMessage() for r in caplog.records] == [watch.problem]


@pytest.mark.timeout(600)  # about two minutes; a loaded machine starts processes slowly
def test_a_killed_run_is_marked_crashed_and_the_next_one_runs(tmp_path: Path) -> None:
    """A sync on a process worker is killed with its worker (SIGKILL) while it holds the sync
    lock. Its heartbeats stop, the server marks it Crashed (lost_after_seconds 60), and the next
    run of the one-at-a-time deployment, on a new worker, is neither cancelled as "already
    running" nor held by the dead run's lock beyond the same time: it completes."""
    from prefect.client.schemas.objects import StateType

    from ifn_campaign.orchestration.deployments import sync_lock_name
    from ifn_campaign.registry.client import source_name

    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    engine = store.make_engine(url)
    store.upgrade(engine)
    with (
        RegistrySandbox(generated=5, seed=7) as sandbox,
        worker_server(tmp_path / "prefect", pool="ifn-lost-runs") as prefect,
    ):
        cfg = Settings(
            data_dir=tmp_path,
            registry={"base_url": sandbox.url},
            prefect={"work_pool": prefect.pool, "lost_after_seconds": 60},
        )
        prefect.register(cfg)
        env = {
            "IFN_DATABASE__URL": url,
            "IFN_REGISTRY__BASE_URL": sandbox.url,
            "IFN_MEDIA__ALLOW_HOSTS": f'["{sandbox.url.removeprefix("http://")}"]',
        }
        # each page takes 20 s: the first sync is still at it when its worker is killed
        sandbox.faults.add(Fault("/api/v1/members", "slow", delay=20, times=None))
        worker = prefect.start_worker(env)
        lost = prefect.run("sync_registry")
        prefect.wait_for(lost, StateType.RUNNING, timeout=120)
        lock = sync_lock_name(source_name(cfg.registry))

        def locked() -> bool:
            with prefect.client() as client:
                return client.read_global_concurrency_limit_by_name(lock).active_slots == 1

        wait_until(locked, timeout=60, what="the first sync to take the sync lock")
        worker.kill()
        sandbox.faults.clear()
        prefect.start_worker(env, name="worker-2")  # the operator's next worker
        crashed = prefect.wait_for(lost, StateType.CRASHED, timeout=240)
        assert crashed.state is not None and crashed.state.message
        assert "no heartbeat for 60 s" in crashed.state.message
        following = prefect.run("sync_registry")
        prefect.wait_for(following, StateType.COMPLETED, timeout=150)
    with Session(engine) as session:
        statuses = session.scalars(select(SyncRun.status).order_by(SyncRun.id)).all()
        assert session.scalar(select(func.count()).select_from(Member)) == 5
    assert statuses[-1] == "completed"


def test_a_server_without_automations_gets_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """`deploy` against a server that has no automations API warns instead of failing, and
    `doctor`'s check says the same with what to do."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from ifn_campaign.orchestration.lost_runs import lost_run_problem

    with (
        broken_prefect_server(404, b'{"detail": "Not Found"}', healthy=False) as url,
        temporary_settings(updates={PREFECT_API_URL: url}),
        get_client(sync_client=True) as client,
        caplog.at_level(logging.WARNING, logger="ifn_campaign.orchestration.lost_runs"),
    ):
        watch = ensure_lost_run_automation(client, Settings())
        problem = lost_run_problem(client, Settings())
    assert watch.status == "unavailable"
    assert watch.problem == (
        "the Prefect server has no automations API (HTTP 404), so a flow run whose worker dies "
        "stays Running: use a Prefect server 3.1.8 or later"
    )
    assert [r.getMessage() for r in caplog.records] == [watch.problem]
    assert problem is not None and problem[1] == "use a Prefect server 3.1.8 or later"


def test_a_server_failing_on_automations_is_not_told_to_upgrade(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server error (HTTP 500) is not a server without automations: `deploy`'s warning and
    `doctor`'s check say the server failed and point at its log, not at upgrading Prefect."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from ifn_campaign.orchestration.lost_runs import lost_run_problem

    with (
        broken_prefect_server(500, b"Internal Server Error", healthy=False) as url,
        temporary_settings(updates={PREFECT_API_URL: url}),
        get_client(sync_client=True) as client,
        caplog.at_level(logging.WARNING, logger="ifn_campaign.orchestration.lost_runs"),
    ):
        watch = ensure_lost_run_automation(client, Settings())
        problem = lost_run_problem(client, Settings())
    assert watch.status == "unavailable"
    assert watch.problem == (
        "the Prefect server failed (HTTP 500) when asked for its automations, so it is not "
        f"known whether the '{AUTOMATION_NAME}' automation marks lost runs Crashed: see the "
        "Prefect server's log, then run `ifn-campaign deploy` (or `doctor`) again"
    )
    assert [r.getMessage() for r in caplog.records] == [watch.problem]
    assert problem is not None and "3.1.8" not in " ".join(problem)
