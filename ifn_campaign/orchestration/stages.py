"""The pipeline's stages: sync, plan, compose (in chunks), publish, reconcile and report, and the
markdown summaries every stage leaves for staff.

Each stage takes the `Resources` of the run (settings, engine, secrets, clients), works through
every member, campaign or post it concerns and returns a summary (counts, and each failure with
its reason) that renders as markdown for the Prefect UI. One post's failure is recorded on that
post and the others go on; a stage that cannot proceed at all (settings, card templates, the
database) raises an `IFNError` that says so. The flows (`flows/`) and the CLI's commands are thin
doors over these same functions, so the two cannot drift. Nothing here imports Prefect; tests
call the stages directly.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings
from ifn_campaign.errors import (
    DatabaseUnavailable,
    IFNError,
    InvalidValueError,
    PlanError,
    UnknownValueError,
)
from ifn_campaign.models import Post, PostState, SyncRun, utcnow
from ifn_campaign.orchestration.worker_pool import WorkerPool
from ifn_campaign.reports.markdown import escape_markdown as _md
from ifn_campaign.wiring import Resources

if TYPE_CHECKING:
    from ifn_campaign.planner.plan import PlanResult
    from ifn_campaign.publishing.publisher import PublishReport, ReconcileReport, TakedownReport
    from ifn_campaign.registry.source import MemberSource
    from ifn_campaign.registry.sync import SyncResult
    from ifn_campaign.reports.page import CampaignReport

__all__ = [
    "ComposeRun",
    "ComposeSummary",
    "PlanSummary",
    "PublishRun",
    "campaign_markdown",
    "chunked",
    "compose_chunk",
    "compose_stage",
    "compose_work",
    "plan_stage",
    "publish_markdown",
    "publish_stage",
    "reconcile_markdown",
    "reconcile_stage",
    "report_pdf",
    "report_stage",
    "sync_stage",
    "window_report",
]

SyncLock = Callable[[str, float], AbstractContextManager[None]]

_VIDEO_STATES = (PostState.COMPOSED, PostState.APPROVED)


def _database_failed(stage: str, exc: SQLAlchemyError) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"{stage}: the database failed ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
        "check database.url and that the server is up, then run the stage again"
    )


# --- sync --------------------------------------------------------------------------------------


def sync_stage(
    res: Resources,
    *,
    source: MemberSource | None = None,
    full: bool | None = None,
    fetch_media: bool = True,
    resume: bool = True,
    lock: SyncLock | None = None,
    wait_seconds: float = 3600,
    progress: Callable[[SyncRun, int], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> SyncResult:
    """Sync members from `source`, by default the configured registry (with its token from the
    secret lookup, `on_retry` told of each wait); media are fetched when `fetch_media` and
    `sync.fetch_media` allow. `lock(source name, wait_seconds)` is held for the whole sync: the
    flows pass `deployments.sync_lock`, the CLI `shared_sync_lock`, so two syncs of one
    registry never overlap. `progress(run, records)` after each page."""
    from ifn_campaign.registry.sync import sync_members

    engine = res.engine  # the database first: nothing is fetched without it
    fetcher = res.media_fetcher(fetch_media)
    try:
        with ExitStack() as held:
            if source is None:
                source = held.enter_context(res.registry_client(on_retry))
            if lock is not None:
                held.enter_context(lock(source.name, wait_seconds))
            return sync_members(
                engine,
                source,
                fetcher,
                full=full,
                resume=resume,
                media_workers=res.settings.media.workers,
                progress=progress,
            )
    finally:
        if fetcher is not None:
            fetcher.close()


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
        swaps = [(r.campaign, s) for r in self.results for s in r.slot_swaps]
        if swaps:  # campaigns with replace_weakest_slot: what the slot advice did
            lines += ["", "## Weekly slots from reach", ""]
            lines += ["| campaign | account | what was done |", "|---|---|---|"]
            lines += [
                f"| {_md(c)} | {s.channel}/{_md(s.account)} | {_md(s.reason_en)} |"
                for c, s in swaps
            ]
        if self.failed:
            lines += ["", "## Campaigns not planned", "", "| campaign | reason |", "|---|---|"]
            lines += [f"| {_md(name)} | {_md(why)} |" for name, why in self.failed]
        return "\n".join(lines) + "\n"


def plan_stage(
    res: Resources,
    *,
    weeks: int = 4,
    start: datetime | None = None,
    campaigns: Sequence[str] | None = None,
    seed: int | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PlanSummary:
    """Plan the campaigns on file (`campaigns` names some; default: all) for `weeks` from
    `start` (default: today's midnight in `planner.display_timezone`).

    Campaigns are planned one after the other, so each sees the posts the others put on shared
    accounts; each is committed on its own, and one that cannot be planned is listed and the
    rest go on. A dry run plans the same way and writes nothing (one transaction, rolled back at
    the end). Unreadable campaign files (only the named ones when `campaigns` names some), an
    unknown campaign name or a failing database stop the stage.
    """
    from ifn_campaign.planner.budget import limits_from
    from ifn_campaign.planner.campaign import campaign_paths, load_campaign, load_campaigns
    from ifn_campaign.planner.plan import plan_campaign

    if weeks < 1:
        raise InvalidValueError(f"plan {weeks} weeks ahead? give at least 1")
    cfg = res.settings
    engine = res.engine  # the database first: nothing is planned without it
    if campaigns:
        # only the named files are read: a broken file of another campaign does not stop these
        paths = campaign_paths(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
        for name in campaigns:
            if name not in paths:  # the CLI's wording for a refused value
                raise UnknownValueError(
                    f"unknown campaign {name!r}; valid: {', '.join(sorted(paths)) or 'none'}"
                )
        chosen = [load_campaign(paths[name]) for name in campaigns]
    else:
        on_file = load_campaigns(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
        chosen = list(on_file.values())
    zone = ZoneInfo(cfg.planner.display_timezone)
    now = now or utcnow()
    start = start or datetime.combine(now.astimezone(zone).date(), time(), zone)
    summary = PlanSummary(start, start + timedelta(weeks=weeks))
    limits = limits_from(cfg)
    try:
        with Session(engine) as session:
            for campaign in chosen:
                try:
                    result = plan_campaign(
                        session,
                        campaign,
                        limits,
                        start,
                        summary.end,
                        now,
                        seed=seed,
                        insights=cfg.insights,
                    )
                    if dry_run:
                        session.flush()  # the next campaign sees these posts; nothing is kept
                    else:
                        session.commit()
                except SQLAlchemyError:
                    raise
                except IFNError as exc:
                    if not dry_run:
                        session.rollback()
                    summary.failed.append((campaign.name, str(exc)))
                    continue
                summary.results.append(result)
            if dry_run:
                session.rollback()
    except IntegrityError:
        raise PlanError(
            "another plan wrote to the same slots meanwhile; plan again "
            "(`ifn-campaign plan`, or the next scheduled run)"
        ) from None
    except SQLAlchemyError as exc:
        raise _database_failed("plan", exc) from exc
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


def _needs_video(post: Post, cfg: Settings) -> bool:
    return (
        post.channel == Channel.YOUTUBE
        and post.state in _VIDEO_STATES
        and post.remote_id is None
        and not (post.video_path and cfg.path(post.video_path).is_file())
    )


def compose_work(res: Resources, *, now: datetime, until: datetime) -> list[int]:
    """Posts with a slot between `now` and `until` that compose has work on: planned ones (card
    and caption), and composed or approved YouTube posts whose Short is not made yet."""
    try:
        with res.session() as session:
            in_window = (Post.slot_at > now) & (Post.slot_at < until)
            planned = session.scalars(
                select(Post.id).where(Post.state == PostState.PLANNED, in_window)
            ).all()
            waiting = session.scalars(
                select(Post).where(
                    Post.channel == Channel.YOUTUBE,
                    Post.state.in_([s.value for s in _VIDEO_STATES]),
                    Post.remote_id.is_(None),
                    in_window,
                )
            ).all()
            ids = {*planned, *(p.id for p in waiting if _needs_video(p, res.settings))}
            order = session.execute(
                select(Post.id).where(Post.id.in_(ids)).order_by(Post.slot_at, Post.id)
            )
            return [row[0] for row in order]
    except SQLAlchemyError as exc:
        raise _database_failed("compose", exc) from exc


def _note(session: Session, post_id: int, text: str) -> None:
    """Keep `text` on the post, where `ifn-campaign review` shows it."""
    session.rollback()
    post = session.get(Post, post_id)
    if post is not None:
        post.compose_notes = [*(post.compose_notes or []), text]
        session.commit()


def compose_chunk(
    res: Resources,
    post_ids: Sequence[int],
    *,
    now: datetime,
    on_post: Callable[[int], None] | None = None,
) -> ComposeSummary:
    """Compose the planned posts among `post_ids` (card, caption, auto-approval) and make the
    Shorts of the YouTube ones, each post committed on its own.

    Runs in this process, a worker process or on a Dask worker, each with its own `Resources`.
    A post that cannot be composed, or whose Short cannot be made, keeps the reason in its notes
    and the chunk goes on; unusable settings or card templates, or a failing database, raise.
    `on_post(post_id)` before each post, for progress.
    """
    from ifn_campaign.captions.writer import CaptionWriter
    from ifn_campaign.cards.brand import BrandKit
    from ifn_campaign.cards.render import Renderer
    from ifn_campaign.cards.shorts import post_video, video_folder
    from ifn_campaign.cards.template import load_all
    from ifn_campaign.planner.campaign import load_campaigns
    from ifn_campaign.posts.compose import compose_posts

    cfg = res.settings
    engine = res.engine
    brand = BrandKit.load()
    templates = load_all(palette=brand.palette, templates_dir=cfg.templates.dir)
    renderer = Renderer(brand, templates, cfg.cards.cache_dir)
    writer = CaptionWriter.from_settings(cfg)
    campaigns = load_campaigns(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
    videos = video_folder(cfg.cards.cache_dir)
    summary = ComposeSummary()
    try:
        with Session(engine) as session:
            for post_id in post_ids:
                if on_post is not None:  # progress: the post being worked on
                    on_post(post_id)
                try:
                    done = compose_posts(
                        session,
                        renderer,
                        writer,
                        campaigns,
                        now,
                        stored=cfg.stored,
                        file=cfg.path,
                        post_ids=[post_id],
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
                if post is None or not _needs_video(post, cfg):
                    continue
                try:
                    post.video_path = cfg.stored(
                        post_video(
                            post,
                            videos,
                            profile_url=cfg.captions.profile_url,
                            templates_dir=cfg.templates.dir,
                            file=cfg.path,
                        )
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
    return summary


def compose_workers(cfg: Settings, jobs: int) -> int:
    """How many processes compose draws in: `prefect.card_workers` (0: one per core), no more
    than there are chunks. One means this process: starting a process would cost more."""
    return min(cfg.prefect.card_workers or os.cpu_count() or 1, max(jobs, 1))


def compose_in_worker(settings: Settings, post_ids: list[int], now: datetime) -> ComposeSummary:
    """compose_chunk in a worker process (or on a Dask worker), with Resources of its own from
    the settings it was handed."""
    with Resources(settings) as res:
        return compose_chunk(res, post_ids, now=now)


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
    res: Resources,
    chunks: Sequence[Sequence[int]],
    *,
    now: datetime,
    on_chunk: Callable[[int, int], None] | None = None,
    on_post: Callable[[int], None] | None = None,
) -> tuple[ComposeSummary, IFNError | None]:
    """Compose every chunk on this machine, in `compose_workers` plain worker processes
    (`WorkerPool`), each handed the settings; see `gather_chunks` for the result. With one
    worker the chunks are composed in this process (and `on_post` is told of each post).
    Prefect stays out of the workers: importing it there and a task run per chunk cost the
    campaign about 2 s (bench/RESULTS.md)."""
    workers = compose_workers(res.settings, len(chunks))
    if workers <= 1:
        results = [
            functools.partial(compose_chunk, res, ids, now=now, on_post=on_post) for ids in chunks
        ]
        return gather_chunks(chunks, results, on_chunk)
    with WorkerPool(workers) as pool:  # workers die with this process; a lost chunk runs again
        results = [pool.submit(compose_in_worker, res.settings, list(ids), now) for ids in chunks]
        return gather_chunks(chunks, results, on_chunk)


# Composes the chunks elsewhere (a Dask cluster: `flows.compose`): (settings, chunks, now,
# on_chunk) -> the merged summary and the error that stopped the stage, as `compose_chunks`.
ChunkRunner = Callable[
    [Settings, list[list[int]], datetime, Callable[[int, int], None]],
    tuple[ComposeSummary, IFNError | None],
]


@dataclass
class ComposeRun:
    """One compose stage: what it did, in how many chunks, and the error that stopped it (the
    caller reports the summary, then raises it)."""

    summary: ComposeSummary
    chunks: int
    stopped: IFNError | None = None


def compose_stage(
    res: Resources,
    *,
    weeks: int = 2,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    runner: ChunkRunner | None = None,
) -> ComposeRun:
    """Compose every planned post with a slot in the coming `weeks` and make the Shorts of
    YouTube posts that have none yet (`compose_work`), in chunks of `prefect.chunk_size`: in
    worker processes on this machine, or through `runner` (a Dask cluster).

    `progress(posts_done, posts_total)` as the work goes (after each chunk; after each post
    when the chunks are composed in this process)."""
    now = now or utcnow()
    work = compose_work(res, now=now, until=now + timedelta(weeks=weeks))
    chunks = chunked(work, res.settings.prefect.chunk_size)
    ends = [sum(len(c) for c in chunks[:i]) for i in range(len(chunks) + 1)]
    told = started = 0

    def tell(done: int) -> None:
        nonlocal told
        if progress is not None and done > told:
            told = done
            progress(done, len(work))

    def on_post(_: int) -> None:  # the post before this one is done
        nonlocal started
        tell(started)
        started += 1

    def on_chunk(done: int, _total: int) -> None:
        tell(ends[done])

    if runner is not None:
        summary, stopped = runner(res.settings, chunks, now, on_chunk)
    else:
        summary, stopped = compose_chunks(res, chunks, now=now, on_chunk=on_chunk, on_post=on_post)
    return ComposeRun(summary, len(chunks), stopped)


# --- publish, reconcile and report ---------------------------------------------------------


@dataclass
class PublishRun:
    """One publish stage: the run's report and the take-downs before and after it, merged."""

    report: PublishReport
    removed: TakedownReport


def publish_stage(res: Resources, *, worker: str | None = None) -> PublishRun:
    """Publish every approved post that is due. Consent first: cancelled or withdrawn posts
    already on a platform are taken down before the run, and what the run itself cancelled
    (consent withdrawn at the last moment) after it. With a Prefect server, each account's
    limits are held around each post across every worker (`gates.gate_for`)."""
    from ifn_campaign.orchestration.gates import gate_for
    from ifn_campaign.publishing.publisher import take_down

    publisher = res.publisher(worker=worker, gate=gate_for(res.settings))
    removed = take_down(publisher)
    report = publisher.run()
    later = take_down(publisher)
    removed.removed += later.removed
    removed.problems += later.problems
    removed.left_to_staff += later.left_to_staff
    return PublishRun(report, removed)


def reconcile_stage(res: Resources, *, worker: str | None = None) -> ReconcileReport:
    """Confirm natively scheduled posts went live, fetch missing links, notice removed posts
    (`publisher.reconcile`: reads only, posts nothing)."""
    from ifn_campaign.publishing.publisher import reconcile

    return reconcile(res.publisher(worker=worker))


def window_report(
    res: Resources, *, since: datetime, until: datetime, now: datetime | None = None
) -> CampaignReport:
    """The campaign report of the slots in [since, until), its waits measured at `now`."""
    from ifn_campaign.reports.page import collect

    with res.session() as session:
        return collect(
            session,
            since=since,
            until=until,
            as_of=now or utcnow(),
            file=res.settings.path,
            display_timezone=res.settings.planner.display_timezone,
        )


def report_stage(
    res: Resources,
    *,
    since: datetime,
    until: datetime,
    out_dir: Path,
    now: datetime | None = None,
    lang: str = "id",
    progress: Callable[[str], None] | None = None,
) -> tuple[CampaignReport, Path]:
    """The campaign report of [since, until) as a page in both languages, `out_dir/index.html`
    and `out_dir/index.en.html`; the report and the path of `lang`'s page. `progress` hears
    one line per step."""
    from ifn_campaign.reports.page import write_html

    say = progress or (lambda _line: None)
    now = now or utcnow()
    say("reading the period's posts, reach and ledger from the database")
    made = window_report(res, since=since, until=until, now=now)
    say(f"writing the pages of {len(made.posts)} posts to {out_dir}")
    page = write_html(
        made,
        out_dir,
        display_timezone=res.settings.planner.display_timezone,
        made_at=now,
        templates_dir=res.settings.templates.dir,
        lang=lang,
    )
    return made, page


def report_pdf(
    settings: Settings,
    report: CampaignReport,
    page: Path,
    target: Path,
    *,
    now: datetime,
    lang: str = "id",
    progress: Callable[[str], None] | None = None,
) -> Path:
    """`report_stage`'s `page` (made at `now`) printed to `target`, its gallery capped at
    `report.pdf_cards` (`ifn_campaign.reports.page.print_html`); `progress` hears one line
    per step."""
    from ifn_campaign.reports.page import print_html
    from ifn_campaign.reports.pdf import write_pdf

    say = progress or (lambda _line: None)
    html, printed = print_html(
        report,
        page.parent,
        display_timezone=settings.planner.display_timezone,
        made_at=now,
        templates_dir=settings.templates.dir,
        lang=lang,
        cards=settings.report.pdf_cards,
    )
    if printed is not None:
        say(
            f"the PDF's gallery shows {printed.shown} of {printed.total} posts, the "
            f"best-reaching per channel (report.pdf_cards); the page has them all"
        )
    return write_pdf(page, target, html=html, progress=say)


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
