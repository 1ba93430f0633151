"""A flow run whose worker dies is marked Crashed by the server (heartbeats and the lost-run
automation, ifn_campaign/orchestration/lost_runs.py), and the next run of its deployment goes
ahead: not cancelled as "already running", not held by the dead run's sync lock."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ifn_campaign.config import Settings
from ifn_campaign.orchestration.lost_runs import (
    AUTOMATION_NAME,
    ensure_lost_run_automation,
    lost_run_automation,
)
from tests.support.prefect_worker import worker_server

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
    assert watch.status == "created"
    assert watch.problem and "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED" in watch.problem
    assert [r.getMessage() for r in caplog.records] == [watch.problem]
