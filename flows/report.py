"""`report`: the monthly campaign report, and the artifacts every campaign run leaves.

The page (`ifn_campaign.reports.page.write_html`) goes to `<report.dir>/<YYYY-MM>/index.html` (an
absolute folder under the data folder, so a process worker's temporary working folder never
receives it; `out_dir` overrides report.dir, a relative one under the data folder); the
Prefect UI gets the summary (counts per state, failures with what to do, the ledger), a table of
the posts (member, channel, time, reason, link) and links to the rendered cards.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from flows.artifacts import markdown_artifact, table_artifact
from ifn_campaign.models import utcnow
from ifn_campaign.orchestration.stages import report_stage
from ifn_campaign.reports.page import (
    CampaignReport,
    card_links,
    month_window,
    posts_table,
    summary_markdown,
)
from ifn_campaign.wiring import Resources


def report_artifacts(report: CampaignReport, display_timezone: str, key: str) -> None:
    """The report in the Prefect UI: summary, posts table and card links (keys `key-...`)."""
    markdown_artifact(
        key=f"{key}-summary", markdown=summary_markdown(report, display_timezone=display_timezone)
    )
    table_artifact(
        key=f"{key}-posts",
        table=posts_table(report, display_timezone=display_timezone),
        description="Posts of the period: member, channel, time, reason, link",
    )
    markdown_artifact(
        key=f"{key}-cards", markdown=card_links(report, display_timezone=display_timezone)
    )


@flow(name="report", retries=0)
def report(
    month: str | None = None, out_dir: str | None = None, config_path: str | None = None
) -> dict[str, Any]:
    """The report of `month` (YYYY-MM; default: last month) as a page and as artifacts."""
    now = utcnow()
    with Resources.load(config_path) as res:
        zone = res.settings.planner.display_timezone
        since, until = month_window(month, ZoneInfo(zone), now)
        label = since.astimezone(ZoneInfo(zone)).strftime("%Y-%m")
        folder = res.settings.path(out_dir) if out_dir else res.settings.report.dir
        made, page = report_stage(res, since=since, until=until, out_dir=folder / label, now=now)
    report_artifacts(made, zone, "report")
    get_run_logger().info("report %s: %s posts, page %s", label, len(made.posts), page)
    return {"month": label, "posts": len(made.posts), "page": str(page)}
