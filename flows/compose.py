"""`compose`: cards, captions and Shorts for the planned posts of the coming weeks.

The stage (`ifn_campaign.orchestration.stages.compose_stage`) cuts the posts into chunks
(`prefect.chunk_size`) and draws them in a pool of plain worker processes: Prefect in each
worker and a task run per chunk would cost more than they show. On a Dask cluster
(`prefect.dask_address`) each chunk is a Prefect task run by prefect-dask's task runner.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.artifacts import markdown_artifact
from ifn_campaign.config import Settings, load_settings
from ifn_campaign.errors import IFNError
from ifn_campaign.orchestration.deployments import dask_task_runner
from ifn_campaign.orchestration.stages import (
    ChunkRunner,
    ComposeSummary,
    compose_in_worker,
    compose_stage,
    gather_chunks,
)
from ifn_campaign.wiring import Resources


@task(name="compose_chunk", retries=0)
def compose_posts_task(
    post_ids: list[int], now: datetime, config_path: str | None = None, data_dir: str | None = None
) -> ComposeSummary:
    """Compose one chunk of posts on a Dask worker, which reads the settings itself (its
    machine's file and environment: no secret travels with the task), in the flow run's data
    folder `data_dir`: a Dask worker started on its own has no IFN_DATA_DIR of deploy's, and
    would draw the cards under another folder than the one their stored paths are read in."""
    folder = {"data_dir": Path(data_dir)} if data_dir else {}
    return compose_in_worker(
        load_settings(Path(config_path) if config_path else None, **folder), post_ids, now
    )


def _on_dask(config_path: str | None) -> ChunkRunner:
    """The chunks as Prefect tasks on the Dask cluster of `prefect.dask_address`."""

    def run(
        cfg: Settings,
        chunks: list[list[int]],
        now: datetime,
        on_chunk: Callable[[int, int], None],
    ) -> tuple[ComposeSummary, IFNError | None]:
        with dask_task_runner(cfg) as runner:
            futures = [
                runner.submit(
                    compose_posts_task,
                    {
                        "post_ids": ids,
                        "now": now,
                        "config_path": config_path,
                        "data_dir": str(cfg.base),
                    },
                )
                for ids in chunks
            ]
            return gather_chunks(chunks, [future.result for future in futures], on_chunk)

    return run


@flow(name="compose", retries=0)
def compose(weeks: int = 2, config_path: str | None = None) -> dict[str, int]:
    """Compose every planned post with a slot in the coming `weeks`, and make the Shorts of
    YouTube posts that have none yet; returns the counts."""
    logger = get_run_logger()

    with Resources.load(config_path) as res:
        every = res.settings.prefect.chunk_size

        def progress(done: int, total: int) -> None:
            if done % every == 0 or done == total:  # a line a chunk, not a post
                logger.info("compose: %s of %s posts done", done, total)

        dask = _on_dask(config_path) if res.settings.prefect.dask_address else None
        run = compose_stage(res, weeks=weeks, progress=progress, runner=dask)
    summary = run.summary
    for post_id, why in summary.failed + summary.video_failed:
        logger.error("post %s: %s", post_id, why)
    markdown_artifact(
        key="compose-summary",
        markdown=summary.markdown(),
        description=f"Compose: {run.chunks} chunks",
    )
    if run.stopped is not None:
        raise run.stopped
    logger.info("compose finished: %s", summary.counts())
    return summary.counts()
