"""Lost flow runs are marked Crashed: Prefect's own means, heartbeats and an automation.

A flow run whose worker or process dies (SIGKILL, the OOM killer, a lost machine) reports
nothing: without help it stays Running for ever, its deployment's one-at-a-time slot stays taken
(the next run is cancelled as "already running") and whatever waits for it waits. So every run
of ours sends a heartbeat event every `prefect.heartbeat_seconds`
(`deployments.run_environment`, `serve`'s heartbeat), and the server holds one automation, made
here: after a heartbeat of one of our runs, expect another heartbeat or a final state within
`prefect.lost_after_seconds`; when neither comes, set that run Crashed. The Crashed state frees
the deployment's slot at once; the sync lock's lease (`deployments.sync_lock`) lapses within the
same time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from ifn_campaign.config import Settings

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.events.schemas.automations import AutomationCore

__all__ = [
    "AUTOMATION_NAME",
    "LostRunWatch",
    "ensure_lost_run_automation",
    "lost_run_automation",
    "lost_run_problem",
]

AUTOMATION_NAME = "ifn-campaign: lost flow runs"
HEARTBEAT = "prefect.flow-run.heartbeat"
# a run that ends says so with one of these; after one, no heartbeat is expected any more
FINAL_EVENTS = ("Completed", "Failed", "Cancelled", "Crashed")

TRIGGERS_ON = "turn it on (PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED=true) and restart the server"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LostRunWatch:
    """What `ensure_lost_run_automation` found and did; `problem` says why lost runs will not
    be marked Crashed on this server (then status is "unavailable" or the automation is not
    evaluated)."""

    name: str
    status: Literal["created", "updated", "unchanged", "unavailable"]
    problem: str | None = None


def crash_message(cfg: Settings) -> str:
    """The message of the Crashed state a lost run gets."""
    return (
        f"no heartbeat for {cfg.prefect.lost_after_seconds} s: its worker or flow process died "
        f"(killed, out of memory, machine lost); marked Crashed by the '{AUTOMATION_NAME}' "
        "automation so the next run can start"
    )


def lost_run_automation(cfg: Settings) -> AutomationCore:
    """The automation that marks our lost runs Crashed: a proactive trigger per flow run (its
    `prefect.resource.id`) of the runs tagged with our deployments' tags."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    from ifn_campaign.orchestration.deployments import TAGS

    return AutomationCore(
        name=AUTOMATION_NAME,
        description=(
            "Marks an ifn-campaign flow run Crashed when its heartbeat stops (its worker or "
            "process died), so its deployment's next run is not cancelled as already running. "
            "Made by `ifn-campaign deploy` and `serve` from prefect.lost_after_seconds."
        ),
        enabled=True,
        trigger=EventTrigger(
            after={HEARTBEAT},
            expect={HEARTBEAT, *(f"prefect.flow-run.{name}" for name in FINAL_EVENTS)},
            match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
            match_related=ResourceSpecification(
                {
                    "prefect.resource.role": "tag",
                    "prefect.resource.id": [f"prefect.tag.{tag}" for tag in TAGS],
                }
            ),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=cfg.prefect.lost_after_seconds),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message=crash_message(cfg))],
    )


def _comparable(automation: AutomationCore) -> dict[str, Any]:
    """What makes two versions of the automation the same (not the trigger's generated id, nor
    the order its sets of events and labels come in)."""
    data = automation.model_dump(
        mode="json", include={"name", "description", "enabled", "trigger", "actions"}
    )
    trigger = data["trigger"]
    trigger.pop("id", None)
    for key in ("after", "expect", "for_each"):  # sets, listed in no fixed order
        trigger[key] = sorted(trigger.get(key) or [])
    return data


def ensure_lost_run_automation(client: SyncPrefectClient, cfg: Settings) -> LostRunWatch:
    """The lost-run automation on the server `client` talks to, created, or brought to the
    settings (and enabled) when it differs; a second one of the same name is removed. A server
    without automations, or with its triggers service off, gets a warning (logged and in the
    result), not an error: the flows run as before, only lost runs stay Running."""
    import httpx

    wanted = lost_run_automation(cfg)
    try:
        found = client.read_automations_by_name(AUTOMATION_NAME)
    except httpx.HTTPStatusError as exc:
        problem = ": ".join(_no_automations(exc))
        _log.warning("%s", problem)
        return LostRunWatch(AUTOMATION_NAME, "unavailable", problem)
    if not found:
        client.create_automation(wanted)
        status: Literal["created", "updated", "unchanged"] = "created"
    else:
        keep, *extra = found  # newest first
        for duplicate in extra:
            client.delete_automation(duplicate.id)
        if _comparable(keep) == _comparable(wanted):
            status = "unchanged"
        else:
            client.update_automation(keep.id, wanted)
            status = "updated"
    problem = _triggers_problem(client)
    if problem:
        problem += f": {TRIGGERS_ON}"
        _log.warning("%s", problem)
    return LostRunWatch(AUTOMATION_NAME, status, problem)


def lost_run_problem(client: SyncPrefectClient, cfg: Settings) -> tuple[str, str] | None:
    """Why a lost run would not be marked Crashed after `prefect.lost_after_seconds` on the
    server `client` talks to, and what to do (for `doctor`); None when it would."""
    import httpx

    again = "run `ifn-campaign deploy` (or `serve`) again"
    try:
        found = client.read_automations_by_name(AUTOMATION_NAME)
    except httpx.HTTPStatusError as exc:
        return _no_automations(exc)
    if not found:
        return f"no '{AUTOMATION_NAME}' automation: a run whose worker dies stays Running", again
    automation = found[0]
    if not automation.enabled:
        return f"the '{AUTOMATION_NAME}' automation is paused: lost runs stay Running", again
    wanted = lost_run_automation(cfg)
    if _comparable(automation) != _comparable(wanted):
        within = getattr(automation.trigger, "within", None)
        if within is not None and within.total_seconds() != cfg.prefect.lost_after_seconds:
            made = f"it waits {within.total_seconds():g} s"
        else:
            made = "changed by hand or made by another ifn-campaign version"
        return (
            f"the '{AUTOMATION_NAME}' automation differs from the settings ({made}, "
            f"prefect.lost_after_seconds is {cfg.prefect.lost_after_seconds} s)",
            again,
        )
    problem = _triggers_problem(client)
    if problem is not None:
        return problem, TRIGGERS_ON
    return None


def _no_automations(exc: Exception) -> tuple[str, str]:
    """The problem and the fix when the server refuses the automations API (`exc`): a server
    without it answers 404 (or 405); any other answer is the server failing, not its version."""
    status = getattr(getattr(exc, "response", None), "status_code", "?")
    if status not in (404, 405):
        return (
            f"the Prefect server failed (HTTP {status}) when asked for its automations, so it "
            f"is not known whether the '{AUTOMATION_NAME}' automation marks lost runs Crashed",
            "see the Prefect server's log, then run `ifn-campaign deploy` (or `doctor`) again",
        )
    return (
        f"the Prefect server has no automations API (HTTP {status}), so a flow run whose worker "
        "dies stays Running",
        "use a Prefect server 3.1.8 or later",
    )


def _triggers_problem(client: SyncPrefectClient) -> str | None:
    """Why the server will not evaluate the automation, read from its own settings
    (`/admin/settings`): its triggers service is off. None when it is on or cannot be read."""
    import httpx

    try:
        settings = client.request("GET", "/admin/settings").json()
        enabled = settings["server"]["services"]["triggers"]["enabled"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    if enabled is False:
        return (
            "the Prefect server's triggers service is off (PREFECT_SERVER_SERVICES_TRIGGERS_"
            "ENABLED=false), so the lost-run automation is never evaluated and a flow run whose "
            "worker dies stays Running"
        )
    return None
