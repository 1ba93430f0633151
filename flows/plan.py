"""`plan_campaign`: the weekly planning run as a Prefect flow, with a markdown summary artifact."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from flows.artifacts import markdown_artifact
from ifn_campaign.orchestration.stages import plan_stage
from ifn_campaign.wiring import Resources


@flow(name="plan_campaign", retries=0)
def plan_campaign(weeks: int = 4, config_path: str | None = None) -> dict[str, int]:
    """Plan every campaign on file for the coming `weeks`; returns the counts."""
    logger = get_run_logger()
    with Resources.load(config_path) as res:
        summary = plan_stage(res, weeks=weeks)
    for campaign, why in summary.failed:
        logger.error("campaign %s not planned: %s", campaign, why)
    markdown_artifact(
        key="plan-summary",
        markdown=summary.markdown(ZoneInfo(res.settings.planner.display_timezone)),
        description=f"Plan {summary.start:%Y-%m-%d} to {summary.end:%Y-%m-%d}",
    )
    logger.info("plan finished: %s", summary.counts())
    return summary.counts()
