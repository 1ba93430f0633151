"""`insights`: a thin Prefect flow reading published posts' figures back from their platforms
(issue 20).

Every hour (`schedules.insights`) it takes the readings now due (each post at +1 hour, +1 day,
+7 days and +28 days after it went live: `insights.read_after`) and stores them batch by batch
(`ifn_campaign.insights.reader`), within the publisher's platform blocks and insights' share of
YouTube's daily quota. It leaves a markdown summary artifact (`insights-summary`).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.artifacts import markdown_artifact
from ifn_campaign.insights.reader import insights_markdown, run_insights
from ifn_campaign.wiring import Resources


@flow(name="insights", retries=0)
def insights(config_path: str | None = None) -> dict[str, Any]:
    """Read the insights now due and store them; returns how many readings ended how."""
    logger = get_run_logger()
    with Resources.load(config_path) as res:
        report = run_insights(res)
    for why in report.waiting:
        logger.warning("%s", why)
    for outcome in report.outcomes:
        if outcome.state == "failed":
            logger.error("post %s %s failed: %s", outcome.post_id, outcome.mark, outcome.detail)
    markdown_artifact(
        key="insights-summary",
        markdown=insights_markdown(report),
        description="Insights read back",
    )
    counts = {s: report.count(s) for s in ("read", "retry", "gone", "missed", "failed")}
    logger.info(
        "%s read, %s to retry, %s gone, %s missed, %s failed; calls %s, YouTube units %s",
        *counts.values(),
        report.calls,
        report.youtube_units,
    )
    return {**counts, "calls": report.calls, "youtube_units": report.youtube_units}
