"""`compose`: cards, captions and Shorts for the planned posts of the coming weeks.

The posts are cut into chunks (`prefect.chunk_size`). On this machine the chunks are drawn in a
pool of plain worker processes (`ifn_campaign.orchestration.stages.compose_chunks`): Prefect in
each worker
and a task run per chunk would cost more than they show. On a Dask cluster
(`prefect.dask_address`) each chunk is a Prefect task run by prefect-dask's task runner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.artifacts import markdown_artifact
from ifn_campaign.config import Settings, load_settings
from ifn_campaign.errors import IFNError
from ifn_campaign.models import utcnow
from ifn_campaign.orchestration.deployments import dask_task_runner
from ifn_campaign.orchestration.stages import (
    ComposeSummary,
    chunked,
    compose_chunk,
    compose_chunks,
    compose_work,
    gather_chunks,
)


@task(name="compose_chunk", retries=0)
def compose_posts_task(
    post_ids: list[int], now: datetime, config_path: str | None = None
) -> ComposeSummary:
    """Compose one chunk of posts on a Dask worker, which reads the settings itself."""
    return compose_chunk(
        load_settings(Path(config_path) if config_path else None), post_ids, now=now
    )


def _on_dask(
    cfg: Settings, chunks: list[list[int]], now: datetime, config_path: str | None
) -> tuple[ComposeSummary, IFNError | None]:
    with dask_task_runner(cfg) as runner:
        futures = [
            runner.submit(
                compose_posts_task, {"post_ids": ids, "now": now, "config_path": config_path}
            )
            for ids in chunks
        ]
        return gather_chunks(chunks, [future.result for future in futures])


@flow(name="compose", retries=0)
def compose(weeks: int = 2, config_path: str | None = None) -> dict[str, int]:
    """Compose every planned post with a slot in the coming `weeks`, and make the Shorts of
    YouTube posts that have none yet; returns the counts."""
    logger = get_run_logger()
    cfg = load_settings(Path(config_path) if config_path else None)
    now = utcnow()
    chunks = chunked(
        compose_work(cfg, now=now, until=now + timedelta(weeks=weeks)), cfg.prefect.chunk_size
    )

    def progress(done: int, total: int) -> None:
        logger.info("compose: %s of %s chunks done", done, total)

    if cfg.prefect.dask_address:
        summary, stopped = _on_dask(cfg, chunks, now, config_path)
    else:
        summary, stopped = compose_chunks(
            cfg, chunks, now=now, config_path=config_path, on_chunk=progress
        )
    for post_id, why in summary.failed + summary.video_failed:
        logger.error("post %s: %s", post_id, why)
    markdown_artifact(
        key="compose-summary",
        markdown=summary.markdown(),
        description=f"Compose: {len(chunks)} chunks",
    )
    if stopped is not None:
        raise stopped
    logger.info("compose finished: %s", summary.counts())
    return summary.counts()
