"""The demo (`ifn-campaign demo`) and `ifn-campaign sandbox registry`: they run against the
sandboxes, so they live in the sandbox distribution; the product's CLI keeps thin doors that import
this module when the command runs, and says to install ifn-campaign-sandbox when it is missing.

The demo is the whole campaign on embedded defaults, no account needed: the sample registry,
SQLite, sync, cards, a plan of the next two weeks, compose, publishing the calendar to the local
platform sandboxes on a clock moved forward slot by slot, reconcile, and an HTML report.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import get_args

from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli.app import member_progress, print_summary, report_cards, run_sync
from ifn_campaign.cli.base import err, out, settings, unknown
from ifn_campaign.cli.tables import Col, print_table
from ifn_campaign.config import Settings
from ifn_campaign.errors import InvalidValueError
from ifn_campaign.models import Member, MemberStatus, Post, PostState, SyncRun
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.consent import ConsentState, consent_at
from ifn_campaign.wiring import Resources
from ifn_sandbox.bundled import assets
from ifn_sandbox.http import Fault, FaultKind
from ifn_sandbox.registry import RegistrySandbox

__all__ = ["DEMO_CAMPAIGNS", "DEMO_PORT", "DEMO_WEEKS", "demo_numbers", "run", "serve_registry"]

DEMO_PORT = 8765
DEMO_WEEKS = 2
DEMO_CAMPAIGNS = assets("demo", "campaigns")


def serve_registry(host: str, port: int, generated: int | None, fault: list[str]) -> None:
    """`ifn-campaign sandbox registry`: serve the sample (or `generated` members) with the
    faults given as JSON, until Ctrl+C."""
    kinds = get_args(FaultKind)
    faults = []
    for text in fault or []:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidValueError(f"--fault {text!r}: not JSON: {exc}") from None
        if isinstance(data, dict) and data.get("kind") not in kinds:
            raise unknown("fault kind", str(data.get("kind")), kinds)
        try:
            faults.append(Fault.from_dict(data))
        except (ValueError, TypeError) as exc:
            raise InvalidValueError(f"--fault {text!r}: {exc}") from None
    with RegistrySandbox(host=host, port=port, generated=generated) as sandbox:
        sandbox.faults.extend(faults)
        out.print(f"registry sandbox on {sandbox.url} ({len(sandbox)} members; Ctrl+C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.print("stopped")


def run(data_dir: Path) -> None:
    """`ifn-campaign demo`: the whole campaign on embedded defaults against the sandboxes (the
    command's help says what it does), its data in `data_dir`, which is the data folder its
    posts' card paths are stored relative to."""
    # fixed once, as settings fix theirs: a relative --data-dir is under the working directory
    data_dir = data_dir.expanduser().resolve()
    cfg = settings()
    try:  # the default registry port keeps media URLs, and so the stored profiles, stable
        sandbox = RegistrySandbox(port=DEMO_PORT).start()
    except OSError:
        err.print(
            f"[yellow]port {DEMO_PORT} is busy[/]: media URLs change, members show as updated"
        )
        sandbox = RegistrySandbox().start()
    try:
        cfg = cfg.model_copy(
            update={
                "data_dir": data_dir,
                "database": cfg.database.model_copy(
                    update={"url": f"sqlite:///{data_dir / 'ifn-campaign.db'}"}
                ),
                "registry": cfg.registry.model_copy(
                    update={"base_url": sandbox.url, "token": None, "token_secret_block": None}
                ),
                "media": cfg.media.model_copy(
                    update={
                        "dir": data_dir / "media",
                        "allow_hosts": [sandbox.url.removeprefix("http://")],
                    }
                ),
            }
        )
        err.print(f"sample registry on {sandbox.url}")
        engine = store.make_engine(cfg.database.url)
        before, after = store.upgrade(engine)
        err.print(f"database {store.safe_url(cfg.database.url)}: {before or 'empty'} -> {after}")
        with Resources(cfg) as res, RegistryClient(cfg.registry) as client:
            result = run_sync(res, client, full=True, fetch_media=True)
    finally:
        sandbox.stop()
    print_summary(result)
    with Session(engine) as session:
        active = session.scalar(
            select(func.count()).select_from(Member).where(Member.status == "active")
        )
    out.print(
        f"{active} active members stored in {store.safe_url(cfg.database.url)}; "
        f"media in {cfg.media.dir}"
    )
    _demo_cards(engine, data_dir)
    cfg = cfg.model_copy(
        update={
            "planner": cfg.planner.model_copy(update={"campaigns_dir": DEMO_CAMPAIGNS}),
            "cards": cfg.cards.model_copy(update={"cache_dir": data_dir / "cards"}),
        }
    )
    config_file = _demo_settings(cfg, data_dir)
    until = _demo_plan(cfg)
    _demo_compose(cfg, until)
    _demo_publish(engine, cfg, until)
    _demo_report(engine, cfg, until, data_dir / "report")
    with Session(engine) as session:
        for line in demo_numbers(session, result.run, until):
            out.print(line, soft_wrap=True)
    out.print("to look at the demo's data with members, review, calendar, ..., run:")
    out.print(f"export IFN_CONFIG={config_file}", soft_wrap=True)


def _demo_settings(cfg: Settings, data_dir: Path) -> Path:
    """`<data_dir>/ifn-campaign.toml`: the demo's data (database, media, cards, preview and
    campaigns, as absolute paths; no secrets) for the commands a newcomer tries next, which
    otherwise look at ./var and find no database."""
    import json

    def where(path: Path | None) -> str:
        return str(Path(path or ".").resolve())

    db = make_url(cfg.database.url).database or ""
    sections: dict[str, dict[str, str | list[str]]] = {
        "": {"data_dir": where(data_dir)},  # top-level keys come before every section
        "database": {"url": f"sqlite:///{where(Path(db))}"},
        "media": {"dir": where(cfg.media.dir), "allow_hosts": [f"127.0.0.1:{DEMO_PORT}"]},
        "cards": {
            "cache_dir": where(cfg.cards.cache_dir),
            "preview_dir": where(data_dir / "preview"),
        },
        "planner": {"campaigns_dir": where(cfg.planner.campaigns_dir)},
    }
    path = data_dir / "ifn-campaign.toml"
    lines = [
        "# Written by `ifn-campaign demo`: the demo's data, for the commands you try next.",
        f"# export IFN_CONFIG={path.resolve()}",
    ]
    for section, values in sections.items():
        lines += ["", f"[{section}]"] if section else [""]
        # a JSON string or list of strings is a valid TOML value
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path.resolve()


def demo_numbers(session: Session, run: SyncRun, as_of: datetime) -> list[str]:
    """What the demo's counts mean, one line each, read from the data at `as_of` (a changed
    sample registry explains itself): new, active, with cards, never featured."""
    from collections import Counter

    from ifn_campaign.cards.batch import promotable_ids
    from ifn_campaign.models import Feature
    from ifn_campaign.posts.ledger import never_featured

    records = run.new + run.updated + run.unchanged + run.quarantined
    new = (
        f"{run.new} new: the registry sent {records} records, {run.quarantined} of them "
        "quarantined (not stored, listed above)"
    )
    if run.updated or run.unchanged:
        new += f", {run.updated} updated and {run.unchanged} unchanged since an earlier sync"
    statuses = Counter(session.scalars(select(Member.status)))
    total, active = sum(statuses.values()), statuses.pop(MemberStatus.ACTIVE, 0)
    others = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    members = session.scalars(select(Member).where(Member.status == MemberStatus.ACTIVE)).all()
    carded = set(promotable_ids(session))
    withdrew = sorted(m.id for m in members if m.id not in carded)
    not_yet = [
        m for m in members if m.id in carded and consent_at(m, as_of) is not ConsentState.IN_FORCE
    ]
    cards = (
        f"{len(carded)} with cards: the {active} active members less {len(withdrew)} who "
        f"withdrew consent" + (f" ({', '.join(withdrew)})" if withdrew else "")
    )
    if not_yet:
        cards += f"; {len(not_yet)} of them have no consent in force yet and are never posted"
    consenting = {m.id for m in members if consent_at(m, as_of) is ConsentState.IN_FORCE}
    featured = set(session.scalars(select(Feature.member_id).distinct())) & consenting
    waiting = len(never_featured(session, now=as_of))
    return [
        new,
        f"{active} active: {total} members stored, {total - active} of them not active"
        + (f" ({others})" if others else ""),
        cards,
        f"{waiting} never featured: {len(consenting)} active members with consent in force, "
        f"{len(featured)} of them featured by the posts published",
    ]


def _demo_plan(cfg: Settings) -> datetime:
    """The demo campaign (assets/demo/campaigns) planned for two weeks from today, with the
    reason for every pick; returns the end of the window."""
    from zoneinfo import ZoneInfo

    from ifn_campaign.cli.plan import print_plan
    from ifn_campaign.orchestration.stages import plan_stage

    with Resources(cfg) as res:
        summary = plan_stage(res, weeks=DEMO_WEEKS)
    for result in summary.results:
        if result.lines or result.skipped:
            print_plan(result, ZoneInfo(cfg.planner.display_timezone), english=False)
    for name, why in summary.failed:
        err.print(f"[red]campaign {escape(name)} not planned:[/] {escape(why)}")
    return summary.end


def _demo_compose(cfg: Settings, until: datetime) -> None:
    """Cards, captions and Shorts for the planned posts; the demo campaign approves them."""
    from ifn_campaign.models import utcnow
    from ifn_campaign.orchestration.stages import compose_chunk, compose_work

    now = utcnow()
    with Resources(cfg) as res:
        work = compose_work(res, now=now, until=until)
        with member_progress("compose", len(work)) as advance:
            summary = compose_chunk(res, work, now=now, on_post=advance)
    out.print(
        f"{len(summary.composed)} posts composed ({len(summary.approved)} approved by the demo "
        f"campaign), {len(summary.videos)} Shorts made, "
        f"{len(summary.failed) + len(summary.video_failed)} failed"
    )
    for post_id, why in summary.failed + summary.video_failed:
        err.print(f"[red]post {post_id}:[/] {escape(why)}", soft_wrap=True)


def _demo_publish(engine: Engine, cfg: Settings, until: datetime) -> None:
    """Every approved post of the window, published to the sandboxes on a clock moved from slot
    to slot (Instagram at its slot, Facebook and YouTube scheduled natively), then reconciled."""
    from ifn_campaign.cli.publish import print_report
    from ifn_sandbox.platforms import PlatformSandboxes
    from ifn_sandbox.timeline import publish_calendar

    with PlatformSandboxes(cfg.cards.cache_dir) as platforms:
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]publish[/] {task.description}"),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task("", total=None)

            def step(when: datetime, _report: object) -> None:
                progress.update(task, description=f"clock at {when:%Y-%m-%d %H:%M} UTC")

            timeline = publish_calendar(engine, cfg, platforms, until, on_step=step)
        graph, youtube = platforms.graph, platforms.youtube
        out.print(
            f"platform sandboxes after {timeline.steps} publish runs: {len(graph.media())} "
            f"Instagram posts, {len(graph.posts())} Facebook Page posts, "
            f"{len(youtube.videos())} YouTube Shorts"
        )
    print_report(timeline.report)
    reconciled = timeline.reconciled
    if reconciled is not None:
        out.print(
            f"reconcile: {len(reconciled.went_live)} scheduled posts went live, "
            f"{len(reconciled.problems)} problems"
        )
    if not timeline.posts:
        with Session(engine) as session:
            done = session.scalar(
                select(func.count())
                .select_from(Post)
                .where(Post.state == PostState.PUBLISHED, Post.slot_at <= until)
            )
        out.print(
            f"nothing new to publish: {done} posts of the window went out in an earlier run, "
            "and nothing was sent twice"
        )


def _demo_report(engine: Engine, cfg: Settings, until: datetime, folder: Path) -> None:
    """The window's posts as a table and as the HTML report (cards, captions, reasons, links)."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from ifn_campaign.models import utcnow
    from ifn_campaign.reports.page import collect, when, write_html

    # publish_calendar moved the demo's clock forward to `until`: the data is as of then
    with Session(engine) as session:
        report = collect(
            session,
            since=until - timedelta(weeks=DEMO_WEEKS),
            until=until,
            as_of=until,
            file=cfg.path,
        )
    zone = cfg.planner.display_timezone
    print_table(
        [
            Col("slot", keep=True),
            Col("channel", 1, keep=True),
            Col("member"),
            Col("state", keep=True),
            Col("link", 2, keep=True),  # a link is whole or not shown: the HTML report has it
        ],
        [
            (
                when(line.slot_at, ZoneInfo(zone)),
                line.channel,
                escape(line.business_name),
                line.state,
                escape(line.permalink or ""),
            )
            for line in report.posts
        ],
        title=f"The next {DEMO_WEEKS} weeks",
    )
    page = write_html(
        report,
        folder,
        display_timezone=zone,
        made_at=utcnow(),
        data_clock="the demo's clock, moved forward",
    )
    out.print(f"report: {page.resolve()}", soft_wrap=True)


def _demo_cards(engine: Engine, data_dir: Path) -> None:
    """The next stage: every promotable member's cards, with a preview sheet to open."""
    from ifn_campaign.captions.writer import CaptionWriter, preview_captions
    from ifn_campaign.cards.batch import promotable_ids, render_members
    from ifn_campaign.cards.brand import BrandKit
    from ifn_campaign.cards.render import Renderer
    from ifn_campaign.cards.template import load_all

    cfg = settings()
    brand = BrandKit.load()
    templates = load_all(palette=brand.palette)
    renderer = Renderer(brand, templates, data_dir / "cards")
    with Session(engine) as session:
        ids = promotable_ids(session)
        with member_progress("cards", len(ids)) as advance:
            batch = render_members(
                session, renderer, ids, "sorotan", on_member=advance, file=cfg.path
            )
        writer = CaptionWriter.from_settings(cfg)
        captions = preview_captions(writer, session, list(batch.names), cfg.captions.language)
    report_cards(batch, data_dir / "preview", len(ids), captions)
