"""`campaign`: the whole pipeline once, in order: sync, plan, compose, publish, reconcile.

For a one-off run (a new installation, after an outage); the schedules run the same flows on
their own. Each stage runs inside this flow run (a subflow would cost a second each) and
leaves its own summary artifact. A stage that fails does not stop the later ones (publishing
what is due matters even when the registry is down); the run ends failed, naming every stage
that failed and why.

The flow is async only so that its run ends when its work does: Prefect 3.8 ends a sync flow
run by joining its heartbeat thread, which sleeps in 1 s steps (about a second a run: a tenth
of a 1,000-member campaign, bench/RESULTS.md); an async run does not wait for it. The stages
are sync and run one after another in a worker thread (their artifacts: `flows.artifacts`).
Call it with `asyncio.run(campaign(...))`; deployments and workers do that themselves.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from prefect import flow, get_run_logger

from flows.artifacts import markdown_artifact
from flows.compose import compose
from flows.plan import plan_campaign
from flows.publish import publish_due, reconcile_posts
from flows.report import report_artifacts
from flows.sync import sync_registry
from ifn_campaign.errors import OrchestrationError
from ifn_campaign.models import utcnow
from ifn_campaign.orchestration.stages import campaign_markdown, window_report
from ifn_campaign.wiring import Resources


@flow(name="campaign", retries=0)
async def campaign(
    full: bool | None = None,
    plan_weeks: int = 4,
    compose_weeks: int = 2,
    config_path: str | None = None,
) -> dict[str, Any]:
    """Run every stage once, in order; returns each stage's result."""
    logger = get_run_logger()
    stages: list[tuple[str, Any, dict[str, Any]]] = [
        ("sync_registry", sync_registry, {"full": full}),
        ("plan_campaign", plan_campaign, {"weeks": plan_weeks}),
        ("compose", compose, {"weeks": compose_weeks}),
        ("publish_due", publish_due, {}),
        ("reconcile", reconcile_posts, {}),
    ]
    outcomes: dict[str, dict[str, Any] | str] = {}
    for name, stage, arguments in stages:
        # the stage's body inside this flow run, not a subflow: a flow run costs about a second
        # in Prefect 3.8 (its heartbeat thread is joined in 1 s steps), five a campaign
        body = getattr(stage, "fn", stage)
        try:
            outcomes[name] = await asyncio.to_thread(body, **arguments, config_path=config_path)
        except Exception as exc:  # the stage failed: say why, go on
            outcomes[name] = f"{type(exc).__name__}: {exc}"
            logger.error("%s failed: %s", name, outcomes[name])
    markdown_artifact(key="campaign-summary", markdown=campaign_markdown(outcomes))
    await asyncio.to_thread(_window_artifacts, compose_weeks, config_path)
    failed = {name: why for name, why in outcomes.items() if isinstance(why, str)}
    if failed:
        raise OrchestrationError(
            "; ".join(f"{name} failed: {why}" for name, why in failed.items())
            + " (the other stages ran)"
        )
    return outcomes


def _window_artifacts(weeks: int, config_path: str | None) -> None:
    """The posts from yesterday to the end of the compose window: a table (member, channel,
    time, reason, link) and links to their cards, next to the stage summary."""
    now = utcnow()
    with Resources.load(config_path) as res:
        window = window_report(
            res, since=now - timedelta(days=1), until=now + timedelta(weeks=weeks), now=now
        )
    report_artifacts(window, res.settings.planner.display_timezone, "campaign-window")
