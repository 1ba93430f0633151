"""`publish_due` and `reconcile`: thin Prefect flows over ifn_campaign.publishing.publisher.

`publish_due` runs every few minutes (Instagram has no native scheduling, so we publish at the
slot ourselves); several runs or workers at once are safe (claims, see publisher.py).
`reconcile` confirms natively scheduled Facebook and YouTube posts went live and records them.
Each leaves a markdown summary artifact (`publish-summary`, `reconcile-summary`).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context

from flows.artifacts import markdown_artifact
from ifn_campaign import store
from ifn_campaign.config import load_settings
from ifn_campaign.orchestration.gates import gate_for
from ifn_campaign.orchestration.stages import publish_markdown, reconcile_markdown
from ifn_campaign.publishing.publisher import Publisher, reconcile, take_down


def _worker() -> str:
    try:
        return f"flow:{get_run_context().flow_run.id}"  # type: ignore[union-attr]
    except Exception:  # outside a flow run (tests calling .fn)
        return "flow:local"


@flow(name="publish_due", retries=0)
def publish_due(config_path: str | None = None) -> dict[str, Any]:
    """Publish every approved post that is due; returns what happened to each."""
    logger = get_run_logger()
    cfg = load_settings(Path(config_path) if config_path else None)
    engine = store.open_store(cfg.database.url)
    try:
        # per-account limits held around each post, shared by every worker on the Prefect server
        publisher = Publisher(engine, cfg, worker=_worker(), gate=gate_for(cfg))
        removed = take_down(publisher)  # consent first: cancelled posts leave the platforms first
        report = publisher.run()
        # and what this run cancelled (consent withdrawn at the last moment) goes at once
        later = take_down(publisher)
    finally:
        engine.dispose()
    removed.removed += later.removed
    removed.problems += later.problems
    removed.left_to_staff += later.left_to_staff
    for post_id, why in removed.problems:
        logger.error("post %s could not be taken down: %s", post_id, why)
    for post_id, why in report.failed:
        logger.error("post %s failed: %s", post_id, why)
    for post_id, why in report.needs_reauth:
        logger.error("post %s needs re-authorisation: %s", post_id, why)
    markdown_artifact(
        key="publish-summary", markdown=publish_markdown(report, removed), description="Publish"
    )
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
    cfg = load_settings(Path(config_path) if config_path else None)
    engine = store.open_store(cfg.database.url)
    try:
        report = reconcile(Publisher(engine, cfg, worker=_worker()))
    finally:
        engine.dispose()
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
