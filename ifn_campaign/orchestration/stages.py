"""The pipeline's stages as the scheduled runs do them: plan, compose (in chunks), and the
markdown summaries every stage leaves for staff.

Each stage takes the settings, works through every campaign or post it concerns and returns a
summary (counts, and each failure with its reason) that renders as markdown for the Prefect UI.
One post's failure is recorded on that post and the others go on; a stage that cannot proceed at
all (settings, card templates, the database) raises an `IFNError` that says so. Nothing here
imports Prefect: `flows/` wraps these functions, and tests call them directly.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.errors import IFNError, StoreError
from ifn_campaign.models import Post, PostState, utcnow
from ifn_campaign.orchestration.worker_pool import WorkerPool
from ifn_campaign.reports.markdown import escape_markdown as _md

if TYPE_CHECKING:
    from ifn_campaign.planner.plan import PlanResult
    from ifn_campaign.publishing.publisher import PublishReport, ReconcileReport, TakedownReport

__all__ = [
    "ComposeSummary",
    "PlanSummary",
    "campaign_markdown",
    "chunked",
    "compose_chunk",
    "compose_work",
    "plan_stage",
    "publish_markdown",
    "reconcile_markdown",
]

_VIDEO_STATES = (PostState.COMPOSED, PostState.APPROVED)


def _database_failed(stage: str, exc: SQLAlchemyError) -> StoreError:
    return StoreError(
        f"{stage}: the database failed ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
        "check database.url and that the server is up, then run the stage again"
    )


# --- plan --------------------------------------------------------------------------------------


@dataclass
class PlanSummary:
    """Every campaign's plan for the period, and the campaigns that could not be planned."""

    start: datetime
    end: datetime
    results: list[PlanResult] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "campaigns": len(self.results),
            "planned": sum(r.count("planned") for r in self.results),
            "pinned": sum(r.count("pinned") for r in self.results),
            "replaced": sum(r.count("replaced") for r in self.results),
            "kept": sum(r.count("kept") for r in self.results),
            "gaps": sum(r.count("gap") for r in self.results),
            "cancelled": sum(len(r.cancelled) for r in self.results),
            "skipped_slots": sum(len(r.skipped) for r in self.results),
            "failed_campaigns": len(self.failed),
        }

    def markdown(self, zone: ZoneInfo) -> str:
        """A summary for the Prefect UI: counts per campaign, open slots and failures."""
        head = ("planned", "pinned", "replaced", "kept", "gap")
        lines = [
            f"# Plan {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}",
            "",
            "| campaign | " + " | ".join(head) + " | cancelled | skipped slots |",
            "|---|" + "---:|" * (len(head) + 2),
        ]
        for r in self.results:
            counts = " | ".join(str(r.count(a)) for a in head)  # type: ignore[arg-type]
            lines.append(
                f"| {_md(r.campaign)} | {counts} | {len(r.cancelled)} | {len(r.skipped)} |"
            )
        gaps = [
            (r.campaign, line) for r in self.results for line in r.lines if line.action == "gap"
        ]
        if gaps:
            lines += ["", "## Slots nobody could take", "", "| campaign | slot | reason |"]
            lines.append("|---|---|---|")
            lines += [
                f"| {_md(c)} | {line.slot.at.astimezone(zone):%a %Y-%m-%d %H:%M} "
                f"{line.slot.channel} | {_md(line.reason_en)} |"
                for c, line in gaps
            ]
        if self.failed:
            lines += ["", "## Campaigns not planned", "", "| campaign | reason |", "|---|---|"]
            lines += [f"| {_md(name)} | {_md(why)} |" for name, why in self.failed]
        return "\n".join(lines) + "\n"


def plan_stage(cfg: Settings, *, weeks: int = 4, now: datetime | None = None) -> PlanSummary:
    """Plan every campaign on file for `weeks` from today (in `planner.display_timezone`).

    Campaigns are planned one after the other, each in its own transaction, so each sees the
    posts the others put on shared accounts; one that cannot be planned is listed and the rest
    go on. Unreadable campaign files or a failing database stop the stage.
    """
    from ifn_campaign.planner.budget import limits_from
    from ifn_campaign.planner.campaign import load_campaigns
    from ifn_campaign.planner.plan import plan_campaign

    if weeks < 1:
        raise IFNError(f"plan {weeks} weeks ahead? give at least 1")
    engine = store.open_store(cfg.database.url)
    campaigns = load_campaigns(cfg.planner.campaigns_dir)
    zone = ZoneInfo(cfg.planner.display_timezone)
    now = now or utcnow()
    start = datetime.combine(now.astimezone(zone).date(), time(), zone)
    summary = PlanSummary(start, start + timedelta(weeks=weeks))
    limits = limits_from(cfg)
    try:
        with Session(engine) as session:
            for campaign in campaigns.values():
                try:
                    result = plan_campaign(session, campaign, limits, start, summary.end, now)
                    session.commit()
                except SQLAlchemyError:
                    raise
                except IFNError as exc:
                    session.rollback()
                    summary.failed.append((campaign.name, str(exc)))
                    continue
                summary.results.append(result)
    except SQLAlchemyError as exc:
        raise _database_failed("plan", exc) from exc
    finally:
        engine.dispose()
    return summary


# --- compose -----------------------------------------------------------------------------------


@dataclass
class ComposeSummary:
    """What composing did to each post; chunks composed apart are merged into one."""

    composed: list[int] = field(default_factory=list)
    approved: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    videos: list[int] = field(default_factory=list)
    video_failed: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def merge(cls, parts: Iterable[ComposeSummary]) -> ComposeSummary:
        total = cls()
        for part in parts:
            for name in ("composed", "approved", "failed", "skipped", "videos", "video_failed"):
                getattr(total, name).extend(getattr(part, name))
        return total

    def counts(self) -> dict[str, int]:
        return {
            "composed": len(self.composed),
            "approved": len(self.approved),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "videos": len(self.videos),
            "videos_failed": len(self.video_failed),
        }

    def markdown(self) -> str:
        """A summary for the Prefect UI: counts, then every failure and skip with its reason."""
        counts = self.counts()
        lines = [
            "# Compose: cards, captions and Shorts",
            "",
            "| " + " | ".join(c.replace("_", " ") for c in counts) + " |",
            "|" + "---:|" * len(counts),
            "| " + " | ".join(str(v) for v in counts.values()) + " |",
        ]
        for title, rows in (
            ("Posts not composed (they stay planned)", self.failed),
            ("Shorts not made yet (the publisher tries again)", self.video_failed),
            ("Posts skipped", self.skipped),
        ):
            if rows:
                lines += ["", f"## {title}", "", "| post | reason |", "|---:|---|"]
                lines += [f"| {post_id} | {_md(why)} |" for post_id, why in rows]
        return "\n".join(lines) + "\n"


def chunked(ids: Sequence[int], size: int) -> list[list[int]]:
    """`ids` in runs of `size`: one Prefect task per run, not per post (a task costs ~55 ms)."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, not {size}")
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def _needs_video(post: Post) -> bool:
    return (
        post.channel == "youtube"
        and post.state in _VIDEO_STATES
        and post.remote_id is None
        and not (post.video_path and Path(post.video_path).is_file())
    )


def compose_work(cfg: Settings, *, now: datetime, until: datetime) -> list[int]:
    """Posts with a slot between `now` and `until` that compose has work on: planned ones (card
    and caption), and composed or approved YouTube posts whose Short is not made yet."""
    engine = store.open_store(cfg.database.url)
    try:
        with Session(engine) as session:
            in_window = (Post.slot_at > now) & (Post.slot_at < until)
            planned = session.scalars(
                select(Post.id).where(Post.state == PostState.PLANNED, in_window)
            ).all()
            waiting = session.scalars(
                select(Post).where(
                    Post.channel == "youtube",
                    Post.state.in_([s.value for s in _VIDEO_STATES]),
                    Post.remote_id.is_(None),
                    in_window,
                )
            ).all()
            ids = {*planned, *(p.id for p in waiting if _needs_video(p))}
            order = session.execute(
                select(Post.id).where(Post.id.in_(ids)).order_by(Post.slot_at, Post.id)
            )
            return [row[0] for row in order]
    except SQLAlchemyError as exc:
        raise _database_failed("compose", exc) from exc
    finally:
        engine.dispose()


def _note(session: Session, post_id: int, text: str) -> None:
    """Keep `text` on the post, where `ifn-campaign review` shows it."""
    session.rollback()
    post = session.get(Post, post_id)
    if post is not None:
        post.compose_notes = [*(post.compose_notes or []), text]
        session.commit()


def compose_chunk(
    cfg: Settings,
    post_ids: Sequence[int],
    *,
    now: datetime,
    on_post: Callable[[int], None] | None = None,
) -> ComposeSummary:
    """Compose the planned posts among `post_ids` (card, caption, auto-approval) and make the
    Shorts of the YouTube ones, each post committed on its own.

    Runs in a worker process or on a Dask worker, so it opens everything itself from `cfg`. A post
    that cannot be composed, or whose Short cannot be made, keeps the reason in its notes and the
    chunk goes on; unusable settings or card templates, or a failing database, raise.
    """
    from ifn_campaign.captions.writer import CaptionWriter
    from ifn_campaign.cards.brand import BrandKit
    from ifn_campaign.cards.render import Renderer
    from ifn_campaign.cards.shorts import post_video, video_folder
    from ifn_campaign.cards.template import load_all
    from ifn_campaign.planner.campaign import load_campaigns
    from ifn_campaign.posts.compose import compose_posts

    engine = store.open_store(cfg.database.url)
    brand = BrandKit.load()
    renderer = Renderer(brand, load_all(palette=brand.palette), cfg.cards.cache_dir)
    writer = CaptionWriter(cfg.captions.limits(), profile_url=cfg.captions.profile_url)
    campaigns = load_campaigns(cfg.planner.campaigns_dir)
    videos = video_folder(cfg.cards.cache_dir)
    summary = ComposeSummary()
    try:
        with Session(engine) as session:
            for post_id in post_ids:
                if on_post is not None:  # progress: the post being worked on
                    on_post(post_id)
                try:
                    done = compose_posts(
                        session, renderer, writer, campaigns, now, post_ids=[post_id]
                    )
                except SQLAlchemyError:
                    raise
                except Exception as exc:  # an unforeseen failure: this post only
                    why = f"cannot compose: {type(exc).__name__}: {exc}"
                    _note(session, post_id, why)
                    summary.failed.append((post_id, why))
                    continue
                for name in ("composed", "approved", "failed", "skipped"):
                    getattr(summary, name).extend(getattr(done, name))
                post = session.get(Post, post_id)
                if post is None or not _needs_video(post):
                    continue
                try:
                    post.video_path = str(
                        post_video(post, videos, profile_url=cfg.captions.profile_url)
                    )
                    session.commit()
                except SQLAlchemyError:
                    raise
                except Exception as exc:  # VideoError, or anything else: this post only
                    why = f"Shorts video not made yet: {exc}"
                    _note(session, post_id, why)
                    summary.video_failed.append((post_id, why))
                    continue
                summary.videos.append(post_id)
    except SQLAlchemyError as exc:
        raise _database_failed("compose", exc) from exc
    finally:
        engine.dispose()
    return summary


def compose_workers(cfg: Settings, jobs: int) -> int:
    """How many processes compose draws in: `prefect.card_workers` (0: one per core), no more
    than there are chunks. One means this process: starting a process would cost more."""
    return min(cfg.prefect.card_workers or os.cpu_count() or 1, max(jobs, 1))


def _compose_in_worker(
    config_path: str | None, post_ids: list[int], now: datetime
) -> ComposeSummary:
    """compose_chunk in a worker process, which reads the settings itself."""
    from ifn_campaign.config import load_settings

    settings = load_settings(Path(config_path) if config_path else None)
    return compose_chunk(settings, post_ids, now=now)


def gather_chunks(
    chunks: Sequence[Sequence[int]],
    results: Iterable[Callable[[], ComposeSummary]],
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[ComposeSummary, IFNError | None]:
    """Wait for each chunk's result (a callable that returns it or raises, such as a future's
    `result`), in order. A chunk whose worker failed leaves its posts planned, with the reason
    in the summary, and the others count; an IFNError (settings, templates, the database: the
    stage cannot proceed) is returned beside the summary for the caller to raise once it has
    reported what was done. `on_chunk(done, total)` after each chunk, for progress."""
    parts: list[ComposeSummary] = []
    stopped: IFNError | None = None
    for done, (ids, result) in enumerate(zip(chunks, results, strict=True), start=1):
        try:
            parts.append(result())
        except IFNError as exc:
            stopped = stopped or exc
        except Exception as exc:  # the worker died or a bug: these posts stay planned
            why = f"the worker for this chunk failed: {type(exc).__name__}: {exc}"
            parts.append(ComposeSummary(failed=[(post_id, why) for post_id in ids]))
        if on_chunk is not None:
            on_chunk(done, len(chunks))
    return ComposeSummary.merge(parts), stopped


def compose_chunks(
    cfg: Settings,
    chunks: Sequence[Sequence[int]],
    *,
    now: datetime,
    config_path: str | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[ComposeSummary, IFNError | None]:
    """Compose every chunk on this machine, in `compose_workers` plain worker processes
    (`WorkerPool`) that read the settings from `config_path` and the environment; see
    `gather_chunks` for the result. Prefect stays out of the workers: importing it there and a
    task run per chunk cost the campaign about 2 s (bench/RESULTS.md)."""
    workers = compose_workers(cfg, len(chunks))
    if workers <= 1:
        results = [functools.partial(compose_chunk, cfg, ids, now=now) for ids in chunks]
        return gather_chunks(chunks, results, on_chunk)
    with WorkerPool(workers) as pool:  # workers die with this process; a lost chunk runs again
        results = [pool.submit(_compose_in_worker, config_path, list(ids), now) for ids in chunks]
        return gather_chunks(chunks, results, on_chunk)


# --- publish and reconcile -----------------------------------------------------------------


def _rows(title: str, rows: Sequence[tuple[int, object]], head: str = "reason") -> list[str]:
    if not rows:
        return []
    lines = ["", f"## {title}", "", f"| post | {head} |", "|---:|---|"]
    return lines + [f"| {post_id} | {_md(str(why))} |" for post_id, why in rows]


def publish_markdown(report: PublishReport, removed: TakedownReport) -> str:
    """The publish run for the Prefect UI: counts, then each post that needs attention."""
    counts = {
        "published": len(report.published),
        "scheduled": len(report.scheduled),
        "to retry": len(report.retry_later),
        "moved": len(report.moved),
        "failed": len(report.failed),
        "need re-authorisation": len(report.needs_reauth),
        "missed (staff decide)": len(report.missed),
        "taken down": len(removed.removed),
        "old copies replaced": len(report.replaced),
    }
    lines = [
        "# Publish",
        "",
        "| " + " | ".join(counts) + " |",
        "|" + "---:|" * len(counts),
        "| " + " | ".join(str(v) for v in counts.values()) + " |",
    ]
    lines += _rows("Failed (see `ifn-campaign status`)", report.failed)
    lines += _rows("Accounts to re-authorise", report.needs_reauth)
    lines += _rows("Missed: too late to send (`ifn-campaign missed`)", report.missed)
    lines += _rows("To retry", report.retry_later)
    lines += _rows(
        "Moved to the next free hour (limit reached)",
        [(p, f"{when:%Y-%m-%d %H:%M} UTC") for p, when in report.moved],
        "new slot",
    )
    lines += _rows("Not taken down", removed.problems)
    if removed.left_to_staff:
        lines += ["", f"Left to staff to take down: {', '.join(map(str, removed.left_to_staff))}"]
    return "\n".join(lines) + "\n"


def reconcile_markdown(report: ReconcileReport) -> str:
    """The reconcile run for the Prefect UI."""
    lines = [
        "# Reconcile",
        "",
        "| went live | links fetched | removed on the platform | problems |",
        "|---:|---:|---:|---:|",
        f"| {len(report.went_live)} | {len(report.links)} | {len(report.removed)} "
        f"| {len(report.problems)} |",
    ]
    lines += _rows("Problems", report.problems)
    lines += _rows("Left alone: account awaits re-authorisation", report.awaiting_reauth)
    if report.removed:
        lines += ["", f"Removed on the platform: {', '.join(map(str, report.removed))}"]
    return "\n".join(lines) + "\n"


def campaign_markdown(outcomes: dict[str, dict[str, Any] | str]) -> str:
    """A one-off run of every stage, for the Prefect UI: each stage's counts (lists are
    counted), or why it failed."""
    lines = ["# Campaign run", "", "| stage | outcome |", "|---|---|"]
    for stage, outcome in outcomes.items():
        if isinstance(outcome, str):
            shown = f"failed: {outcome}"
        else:
            shown = ", ".join(
                f"{key.replace('_', ' ')} {len(value) if isinstance(value, list) else value}"
                for key, value in outcome.items()
                if isinstance(value, int | list)
            )
        lines.append(f"| {stage} | {_md(shown)} |")
    return "\n".join(lines) + "\n"
