"""`sync_registry`: the daily member sync as a Prefect flow, with a markdown summary artifact.

Two syncs of one registry never overlap: the flow holds the source's global concurrency limit
(`ifn_campaign.orchestration.deployments.sync_lock`) for the whole sync, whichever deployment,
`campaign` run or worker started it; a second one waits for it (up to `wait_seconds`), then
syncs what changed. The lock's lease lapses `prefect.lost_after_seconds` after a sync's process
dies, when the server marks the lost run Crashed.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from prefect import flow, get_run_logger

from flows.artifacts import markdown_artifact
from ifn_campaign.models import SyncRun
from ifn_campaign.orchestration.deployments import sync_lock
from ifn_campaign.orchestration.stages import sync_stage
from ifn_campaign.wiring import Resources


@flow(name="sync_registry", retries=0)
def sync_registry(
    full: bool | None = None, config_path: str | None = None, wait_seconds: float = 3600
) -> dict[str, Any]:
    """Sync members from the registry; returns the run's counts."""
    logger = get_run_logger()

    def on_page(run: SyncRun, records: int) -> None:
        logger.info(
            "page %s: %s records (%s new, %s updated, %s unchanged, %s quarantined so far)",
            run.pages,
            records,
            run.new,
            run.updated,
            run.unchanged,
            run.quarantined,
        )

    with Resources.load(config_path) as res:
        result = sync_stage(
            res,
            full=full,
            # the lock lapses when the server marks this run Crashed, should its process die
            lock=partial(sync_lock, lease_seconds=res.settings.prefect.lost_after_seconds),
            wait_seconds=wait_seconds,
            progress=on_page,
            on_retry=logger.warning,
        )
    markdown_artifact(
        key="sync-summary",
        markdown=result.markdown(),
        description=f"Member sync {result.run.id} ({result.run.mode})",
    )
    logger.info("sync %s finished: %s", result.run.id, result.counts())
    return result.counts()
