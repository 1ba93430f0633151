"""`publish_due` and `reconcile`: thin Prefect flows over the publish and reconcile stages.

`publish_due` runs every few minutes (Instagram has no native scheduling, so we publish at the
slot ourselves; a run started a little early takes the posts within `publish.lead_seconds` and
waits for their slot); several runs or workers at once are safe (claims, see publisher.py), and
a run the Prefect server reports crashed leaves its claims to the next run.
`reconcile` confirms natively scheduled Facebook and YouTube posts went live and records them.
Each leaves a markdown summary artifact (`publish-summary`, `reconcile-summary`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context

from flows.artifacts import markdown_artifact
from ifn_campaign.orchestration.stages import (
    publish_markdown,
    publish_stage,
    reconcile_markdown,
    reconcile_stage,
)
from ifn_campaign.reports.markdown import escape_markdown
from ifn_campaign.showcase import rebuild_after_publish
from ifn_campaign.wiring import Resources


def _worker() -> str:
    """The actor the publisher records and its claims' holder: this flow run (`flow:<id>`), so
    once the Prefect server reports the run ended (crashed) its claims are taken over at once;
    outside a flow run (tests calling .fn) this process (`publisher:<host>:<pid>`)."""
    from ifn_campaign.publishing.flow_runs import claim_name
    from ifn_campaign.publishing.publisher import worker_name

    try:
        run = get_run_context().flow_run  # type: ignore[union-attr]
    except Exception:  # no run context at all
        run = None
    return claim_name(run.id) if run is not None else worker_name()


@flow(name="publish_due", retries=0)
def publish_due(config_path: str | None = None) -> dict[str, Any]:
    """Publish every approved post that is due; returns what happened to each."""
    logger = get_run_logger()
    with Resources.load(config_path) as res:
        run = publish_stage(res, worker=_worker())
        showcase = rebuild_after_publish(res)  # with showcase.dir set; a failure is only logged
    report, removed = run.report, run.removed
    for post_id, why in removed.problems:
        logger.error("post %s could not be taken down: %s", post_id, why)
    for post_id, why in report.failed:
        logger.error("post %s failed: %s", post_id, why)
    for post_id, why in report.needs_reauth:
        logger.error("post %s needs re-authorisation: %s", post_id, why)
    summary = publish_markdown(report, removed)
    if showcase is not None:
        (logger.info if showcase.built else logger.error)("%s", showcase.line)
        summary += f"\n\n{escape_markdown(showcase.line)}\n"
    markdown_artifact(key="publish-summary", markdown=summary, description="Publish")
    logger.info(
        "%s published, %s scheduled, %s to retry",
        len(report.published),
        len(report.scheduled),
        len(report.retry_later),
    )
    return asdict(report)


@flow(name="reconcile", retries=0)
def reconcile_posts(config_path: str | None = None) -> dict[str, Any]:
    """Confirm scheduled posts went live, fetch missing links, notice removed posts."""
    with Resources.load(config_path) as res:
        report = reconcile_stage(res, worker=_worker())
    markdown_artifact(
        key="reconcile-summary", markdown=reconcile_markdown(report), description="Reconcile"
    )
    get_run_logger().info(
        "%s went live, %s links, %s removed",
        len(report.went_live),
        len(report.links),
        len(report.removed),
    )
    return asdict(report)
