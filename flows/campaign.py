"""`campaign`: the whole pipeline once, in order: sync, plan, compose, publish, reconcile.

For a one-off run (a new installation, after an outage); the schedules run the same flows on
their own. Each stage is a subflow with its own summary artifact. A stage that fails does not
stop the later ones (publishing what is due matters even when the registry is down); the run
ends failed, naming every stage that failed and why.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.compose import compose
from flows.plan import plan_campaign
from flows.publish import publish_due, reconcile_posts
from flows.sync import sync_registry
from ifn_campaign.errors import OrchestrationError
from ifn_campaign.pipeline import campaign_markdown


@flow(name="campaign", retries=0)
def campaign(
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
        state = stage(**arguments, config_path=config_path, return_state=True)
        try:
            outcomes[name] = state.result()
        except Exception as exc:  # the stage failed (or was cancelled): say why, go on
            outcomes[name] = f"{type(exc).__name__}: {exc}"
            logger.error("%s failed: %s", name, outcomes[name])
    create_markdown_artifact(key="campaign-summary", markdown=campaign_markdown(outcomes))
    failed = {name: why for name, why in outcomes.items() if isinstance(why, str)}
    if failed:
        raise OrchestrationError(
            "; ".join(f"{name} failed: {why}" for name, why in failed.items())
            + " (the other stages ran)"
        )
    return outcomes
