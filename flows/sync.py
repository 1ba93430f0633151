"""`sync_registry`: the daily member sync as a Prefect flow, with a markdown summary artifact.

Two syncs of one registry never overlap: the flow holds the source's global concurrency limit
(`ifn_campaign.orchestration.deployments.sync_lock`) for the whole sync, whichever deployment,
`campaign` run
or worker started it; a second one waits for it (up to `wait_seconds`), then syncs what changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.artifacts import markdown_artifact
from ifn_campaign import store
from ifn_campaign.config import load_settings
from ifn_campaign.orchestration.deployments import sync_lock
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.media import MediaFetcher
from ifn_campaign.registry.sync import sync_members


@flow(name="sync_registry", retries=0)
def sync_registry(
    full: bool | None = None, config_path: str | None = None, wait_seconds: float = 3600
) -> dict[str, Any]:
    """Sync members from the registry; returns the run's counts."""
    logger = get_run_logger()
    cfg = load_settings(Path(config_path) if config_path else None)
    engine = store.open_store(cfg.database.url)

    def on_page(run: Any, records: int) -> None:
        logger.info(
            "page %s: %s records (%s new, %s updated, %s unchanged, %s quarantined so far)",
            run.pages,
            records,
            run.new,
            run.updated,
            run.unchanged,
            run.quarantined,
        )

    fetcher = MediaFetcher(cfg.media) if cfg.sync.fetch_media else None
    try:
        with (
            RegistryClient(cfg.registry, cfg.registry_token(), on_retry=logger.warning) as client,
            sync_lock(client.name, wait_seconds),
        ):
            result = sync_members(
                engine,
                client,
                fetcher,
                full=full,
                media_workers=cfg.media.workers,
                progress=on_page,
            )
    finally:
        if fetcher is not None:
            fetcher.close()
    markdown_artifact(
        key="sync-summary",
        markdown=result.markdown(),
        description=f"Member sync {result.run.id} ({result.run.mode})",
    )
    logger.info("sync %s finished: %s", result.run.id, result.counts())
    return result.counts()
