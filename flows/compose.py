"""`compose`: cards, captions and Shorts for the planned posts of the coming weeks.

The posts are cut into chunks (`prefect.chunk_size`), one Prefect task each, run in a process
pool on this machine or on a Dask cluster (`ifn_campaign.deployments.card_task_runner`): a task
per post would cost more in Prefect than drawing its card.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from ifn_campaign.config import load_settings
from ifn_campaign.deployments import card_task_runner
from ifn_campaign.errors import IFNError
from ifn_campaign.models import utcnow
from ifn_campaign.pipeline import ComposeSummary, chunked, compose_chunk, compose_work


@task(name="compose_chunk", retries=0)
def compose_posts_task(
    post_ids: list[int], now: datetime, config_path: str | None = None
) -> ComposeSummary:
    """Compose one chunk of posts; runs in a worker process, so it reads the settings itself."""
    return compose_chunk(
        load_settings(Path(config_path) if config_path else None), post_ids, now=now
    )


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
    parts: list[ComposeSummary] = []
    stopped: IFNError | None = None
    with card_task_runner(cfg, len(chunks)) as runner:
        futures = [
            runner.submit(
                compose_posts_task, {"post_ids": ids, "now": now, "config_path": config_path}
            )
            for ids in chunks
        ]
        for ids, future in zip(chunks, futures, strict=True):
            try:
                parts.append(future.result())
            except IFNError as exc:  # settings, templates or the database: the stage stops
                stopped = stopped or exc
            except Exception as exc:  # the worker died: these posts stay planned for next time
                why = f"the task for this chunk failed: {type(exc).__name__}: {exc}"
                parts.append(ComposeSummary(failed=[(post_id, why) for post_id in ids]))
    summary = ComposeSummary.merge(parts)
    for post_id, why in summary.failed + summary.video_failed:
        logger.error("post %s: %s", post_id, why)
    create_markdown_artifact(
        key="compose-summary",
        markdown=summary.markdown(),
        description=f"Compose: {len(chunks)} chunks",
    )
    if stopped is not None:
        raise stopped
    logger.info("compose finished: %s", summary.counts())
    return summary.counts()
