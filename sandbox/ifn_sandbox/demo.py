"""The demo (`ifn-campaign demo`) and `ifn-campaign sandbox registry`: they run against the
sandboxes, so they live in the sandbox distribution; the product's CLI keeps thin doors that import
this module when the command runs, and says to install ifn-campaign-sandbox when it is missing.

The demo is the whole campaign on embedded defaults, no account needed: the sample registry,
SQLite, sync, cards, a plan of the next two weeks, compose, publishing the calendar to the local
platform sandboxes on a clock moved forward slot by slot, reconcile, an HTML report, and the
members' notices (before a post, after it went out, and a week later its reach) sent to a local
mail server whose messages stay in var/demo/mail.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, get_args

from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli.app import member_progress, print_summary, report_cards, run_sync
from ifn_campaign.cli.base import err, out, settings, shown, unknown
from ifn_campaign.cli.tables import Col, print_table
from ifn_campaign.config import Settings
from ifn_campaign.errors import InvalidValueError
from ifn_campaign.insights.reader import InsightsReport
from ifn_campaign.models import Member, MemberStatus, Post, PostState, SyncRun
from ifn_campaign.publishing.publisher import PublishReport
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.consent import ConsentState, consent_at
from ifn_campaign.wiring import Resources
from ifn_sandbox.bundled import assets
from ifn_sandbox.http import Fault, FaultKind
from ifn_sandbox.mail import MailSandbox
from ifn_sandbox.registry import RegistrySandbox

__all__ = ["DEMO_CAMPAIGNS", "DEMO_PORT", "DEMO_WEEKS", "demo_numbers", "run", "serve_registry"]

DEMO_PORT = 8765
DEMO_WEEKS = 2
DEMO_CAMPAIGN = "sorotan-demo"  # approves its own posts: the demo publishes them
REVIEW_CAMPAIGN = "pilihan-staf-demo"  # its week after the window waits for staff review
CONSOLE_USER = "staf-demo"  # the console user the demo makes (an admin), a new password each run
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
    _demo_cards(cfg, engine, data_dir)
    cfg = cfg.model_copy(
        update={
            "planner": cfg.planner.model_copy(update={"campaigns_dir": DEMO_CAMPAIGNS}),
            "cards": cfg.cards.model_copy(update={"cache_dir": data_dir / "cards"}),
        }
    )
    with MailSandbox(data_dir / "mail") as mail:  # any free ports, no login (loopback only)
        cfg = _with_mail(cfg, mail)
        config_file = _demo_settings(cfg, data_dir)
        until = _demo_plan(cfg)
        _demo_compose(cfg, until)
        notices = DemoNotices(engine, cfg, mail)
        _demo_publish(engine, cfg, until, on_step=notices.run)
        notices.run(until)  # the posts reconcile found live: their members get the links
        _demo_report(engine, cfg, until, data_dir / "report")
        with Session(engine) as session:
            for line in demo_numbers(session, result.run, until):
                out.print(line, soft_wrap=True)
        _demo_review_queue(cfg, until)
        notices.tell(data_dir)
    _demo_console(cfg, data_dir, config_file)
    out.print("to look at the demo's data with members, review, calendar, ..., run:")
    out.print(f"export IFN_CONFIG={config_file}", soft_wrap=True)


def _with_mail(cfg: Settings, mail: MailSandbox) -> Settings:
    """The demo's settings with member notices going to `mail` (plain SMTP on loopback, its
    Sent folder over IMAP for a send cut off) and member-page links to the console's address."""
    notices = cfg.notices.model_copy(
        update={
            "enabled": True,
            "smtp_host": mail.host,
            "smtp_port": mail.smtp_port,
            "smtp_security": "none",
            "smtp_user": None,
            "smtp_password_secret": None,
            "imap_host": mail.host,
            "imap_port": mail.imap_port,
            "imap_security": "none",
            "imap_user": None,
            "imap_password_secret": None,
            "imap_sent_folder": mail.sent_folder,
            "apprise_url_secret": None,  # no WhatsApp from a demo
        }
    )
    base_url = f"http://{cfg.console.host}:{cfg.console.port}"
    member_page = cfg.member_page.model_copy(update={"base_url": base_url})
    return cfg.model_copy(update={"notices": notices, "member_page": member_page})


class DemoNotices:
    """The `notices` flow's work, run by the demo at each step of its clock (as the flow would
    every 15 minutes): queue what is due, send it to the mail sandbox; then what went out."""

    def __init__(self, engine: Engine, cfg: Settings, mail: MailSandbox) -> None:
        from ifn_campaign.models import Notice, NoticeState

        self.engine, self.cfg, self.mail = engine, cfg, mail
        self.sent: list[int] = []
        self.problems: list[str] = []
        self.skipped: set[str] = set()
        with Session(engine) as session:  # what earlier demo runs sent
            self.earlier = session.scalar(
                select(func.count()).select_from(Notice).where(Notice.state == NoticeState.SENT)
            )

    def run(self, when: datetime, _step: object = None) -> None:
        """Queue and send what is due at `when` (a step of `publish_calendar`, or any time)."""
        from ifn_campaign.notices.delivery import send_due
        from ifn_campaign.notices.outbox import queue_due
        from ifn_campaign.secrets import secret

        with Session(self.engine) as session:
            queued = queue_due(session, self.cfg, now=when)
            session.commit()
            self.skipped.update(line.partition(":")[0] for line in queued.skipped)
            report = send_due(session, self.cfg, secrets=secret, now=when, worker="demo")
        self.sent += report.sent + report.found_sent
        for notice_id, why in report.failed + report.refused + report.uncertain:
            self.problems.append(f"notice {notice_id}: {why}")

    def tell(self, data_dir: Path) -> None:
        """How many notices went to how many members, where to read them (.eml copies a mail
        app opens), one member page link from a sent notice, and that none went twice."""
        from ifn_campaign.members.links import member_key, page_url, token_of
        from ifn_campaign.models import MemberLink, Notice, NoticeState

        with Session(self.engine) as session:
            notices = list(
                session.scalars(
                    select(Notice)
                    .where(Notice.id.in_(self.sent))  # type: ignore[union-attr]
                    .order_by(Notice.id)
                )
            )
            latest = session.scalars(
                select(Notice)
                .where(Notice.state == NoticeState.SENT, Notice.link_id.is_not(None))
                .order_by(Notice.sent_at.desc(), Notice.id.desc())  # type: ignore[union-attr]
                .limit(1)
            ).first()
            link = session.get(MemberLink, latest.link_id) if latest else None
        kinds = Counter(n.kind for n in notices)
        said = ", ".join(
            f"{kinds[kind]} {label}" for kind, label in _NOTICE_KINDS.items() if kinds[kind]
        )
        members = len({n.member_id for n in notices})
        out.print(
            f"member notices: {_count(len(notices), 'e-mail')} to {_count(members, 'member')}"
            + (f" ({said})" if said else "")
            + f", sent to the demo's mail server; {len(self.skipped)} featured members were not "
            "told (no e-mail allowed for notices, or none usable)",
            soft_wrap=True,
        )
        for line in self.problems:
            err.print(f"[yellow]{escape(line)}[/]", soft_wrap=True)
        if self.earlier:
            out.print(
                f"no notice sent twice: {self.earlier} went out in an earlier run "
                "(each is sent once, by its Message-ID)",
                soft_wrap=True,
            )
        folder = self._eml(data_dir, notices)
        mailbox = self.mail.maildir.resolve()
        if notices:
            out.print(
                f"read them as the members do: open a .eml file in {folder} with a mail app "
                f"(double-click), or the whole Maildir {mailbox} with a mail client "
                f"(mutt -f {mailbox})",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )
        if link is not None:
            url = page_url(self.cfg, token_of(link, member_key(self.cfg)))
            out.print(
                f"a member's own page, as the link in their notice opens it (with the console "
                f"running): {url}",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )

    def _eml(self, data_dir: Path, notices: list[Any]) -> Path:
        """Each message sent in this run as `mail/eml/notice-<id>-<kind>-<member>.eml`, the
        bytes the mail server stored."""
        from ifn_campaign.files import write_atomically

        folder = (data_dir / "mail" / "eml").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        stored = {}
        for raw in self.mail.raw_messages():
            message_id = BytesHeaderParser().parsebytes(raw).get("Message-ID", "").strip()
            stored[message_id] = raw
        for notice in notices:
            raw = stored.get(notice.message_id)
            if raw is not None:
                name = f"notice-{notice.id:04d}-{notice.kind}-{notice.member_id}.eml"
                write_atomically(folder / name, raw)
        return folder


_NOTICE_KINDS = {  # NoticeKind values, in the order a member gets them
    "before": "before a post",
    "update": "of a change",
    "cancelled": "of a cancellation",
    "after": "with the links once live",
    "receipt": "with the reach a week later",
}


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _demo_review_queue(cfg: Settings, until: datetime) -> None:
    """The staff-picks campaign planned and composed for the week after the published window,
    left for staff to review (it does not approve its own posts)."""
    from datetime import timedelta

    from ifn_campaign.models import utcnow
    from ifn_campaign.orchestration.stages import compose_chunk, compose_work, plan_stage

    with Resources(cfg) as res:
        _demo_staff_pick(res, until)
        plan_stage(res, weeks=1, start=until, campaigns=[REVIEW_CAMPAIGN])
        now = utcnow()
        work = compose_work(res, now=now, until=until + timedelta(weeks=1))
        with member_progress("compose", len(work)) as advance:
            compose_chunk(res, work, now=now, on_post=advance)
        with res.session() as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(Post)
                .where(Post.campaign == REVIEW_CAMPAIGN, Post.state == PostState.COMPOSED)
            )
    out.print(
        f"{waiting} posts of campaign {REVIEW_CAMPAIGN} (the week after) wait for staff review"
    )


def _demo_staff_pick(res: Resources, until: datetime) -> None:
    """Staff pin a member to the review week's first Instagram slot: one never featured, with
    photos enough for a carousel, so the queue shows a pin and a carousel whatever the date."""
    from datetime import timedelta

    from ifn_campaign.channels.channel import Channel
    from ifn_campaign.models import Feature, MediaRole, MemberMedia, utcnow
    from ifn_campaign.planner.campaign import load_campaign
    from ifn_campaign.planner.pins import pin
    from ifn_campaign.planner.slots import campaign_slots
    from ifn_campaign.registry.consent import promotable

    campaign = load_campaign(res.settings.planner.campaigns_dir / f"{REVIEW_CAMPAIGN}.toml")
    now = utcnow()
    slots = campaign_slots(campaign, until, until + timedelta(weeks=1)).slots
    slot = next(s for s in slots if s.channel == Channel.INSTAGRAM)
    with res.session() as session:
        photos = (
            select(MemberMedia.member_id)
            .where(MemberMedia.role == MediaRole.PHOTO, MemberMedia.asset_sha256.is_not(None))
            .group_by(MemberMedia.member_id)
            .having(func.count() >= 2)
        )
        candidates = session.scalars(
            select(Member)
            .where(Member.id.in_(photos), Member.id.not_in(select(Feature.member_id)))
            .order_by(Member.id)
        )
        chosen = next(
            (m for m in candidates if promotable(m, slot.at, Channel.INSTAGRAM.value)), None
        )
        if chosen is None:  # the bundled registry always has one; say so if it ever does not
            out.print("no member with two photos left to pin for the review week")
            return
        pin(
            session,
            campaign,
            Channel.INSTAGRAM,
            slot.account,
            slot.local,
            chosen.id,
            note="Demo: pilihan staf (carousel foto produk)",
            now=now,
        )
        session.commit()


def _demo_console(cfg: Settings, data_dir: Path, config_file: Path) -> None:
    """A console admin for the demo's data, with a new password each run (only its hash is
    kept), and how to open the console."""
    import secrets

    from ifn_campaign.console.users import add_user, set_password
    from ifn_campaign.models import StaffRole, StaffUser, utcnow

    password = secrets.token_urlsafe(9)
    with Resources(cfg) as res, res.session() as session:
        now = utcnow()
        if session.scalars(select(StaffUser).where(StaffUser.name == CONSOLE_USER)).first():
            set_password(session, CONSOLE_USER, password, now=now)
        else:
            add_user(session, CONSOLE_USER, StaffRole.ADMIN, password, now=now)
        session.commit()
    command = (
        "ifn-campaign console --demo"
        if data_dir == (Path.cwd() / "var" / "demo").resolve()
        else f"ifn-campaign --config {config_file} console"
    )
    out.print(
        f"the staff console on the demo's data: run {command} (or make console), open "
        f"http://{cfg.console.host}:{cfg.console.port}/ and sign in as {CONSOLE_USER} with "
        f"the password {password} (new at each demo run)",
        soft_wrap=True,
    )


def _demo_settings(cfg: Settings, data_dir: Path) -> Path:
    """`<data_dir>/ifn-campaign.toml`: the demo's data (database, media, cards, preview and
    campaigns, as absolute paths; no secrets) for the commands a newcomer tries next, which
    otherwise look at ./var and find no database."""
    import json

    def where(path: Path | None) -> str:
        return str(Path(path or ".").resolve())

    db = make_url(cfg.database.url).database or ""
    notices = cfg.notices
    sections: dict[str, dict[str, str | int | list[str]]] = {
        "": {"data_dir": where(data_dir)},  # top-level keys come before every section
        "database": {"url": f"sqlite:///{where(Path(db))}"},
        "media": {"dir": where(cfg.media.dir), "allow_hosts": [f"127.0.0.1:{DEMO_PORT}"]},
        "cards": {
            "cache_dir": where(cfg.cards.cache_dir),
            "preview_dir": where(data_dir / "preview"),
        },
        "planner": {"campaigns_dir": where(cfg.planner.campaigns_dir)},
        # the demo's mail server, up while the demo ran (a later `notices` run finds it gone
        # and waits), and the console address the links in its notices open
        "notices": {
            "sender": notices.sender,
            "smtp_host": notices.smtp_host or "",
            "smtp_port": notices.smtp_port,
            "smtp_security": notices.smtp_security,
            "imap_host": notices.imap_host or "",
            "imap_port": notices.imap_port,
            "imap_security": notices.imap_security,
            "imap_sent_folder": notices.imap_sent_folder,
        },
        "member_page": {"base_url": cfg.member_page.base_url},
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
        summary = plan_stage(res, weeks=DEMO_WEEKS, campaigns=[DEMO_CAMPAIGN])
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


def _demo_publish(
    engine: Engine,
    cfg: Settings,
    until: datetime,
    *,
    on_step: Callable[[datetime], None] | None = None,
) -> None:
    """Every approved post of the window, published to the sandboxes on a clock moved from slot
    to slot (Instagram at its slot, Facebook and YouTube scheduled natively), then reconciled;
    `on_step(when)` after each publish run and each insights run after the calendar (the
    demo's member notices: receipts go once the 7-day figures are in)."""
    from ifn_campaign.cli.publish import print_report
    from ifn_sandbox.platforms import PlatformSandboxes
    from ifn_sandbox.timeline import InsightsAlong, SimulatedClock, publish_calendar

    with PlatformSandboxes(cfg.cards.cache_dir) as platforms:
        clock = SimulatedClock(platforms)
        insights = InsightsAlong(engine, cfg, platforms)
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]publish[/] {task.description}"),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task("", total=None)

            def step(when: datetime, report: PublishReport) -> None:
                progress.update(task, description=f"clock at {when:%Y-%m-%d %H:%M} UTC")
                if on_step is not None:
                    on_step(when)
                insights.step(when, [*report.published, *report.scheduled])

            def between(moving: SimulatedClock, when: datetime) -> None:
                """The readings due before the next publish step, each at its time."""
                insights.catch_up(moving, when, on_step=on_step)

            try:
                timeline = publish_calendar(
                    engine, cfg, platforms, until, on_step=step, clock=clock, before_step=between
                )
                # on past the calendar until every post has its +1d and +7d figures
                progress.update(task, description="insights: the days after the calendar")
                insights.posts.update(timeline.posts)
                insights.follow(clock, "7d", on_step=on_step)
            finally:
                insights.close()
        graph, youtube = platforms.graph, platforms.youtube
        out.print(
            f"platform sandboxes after {timeline.steps} publish runs: {len(graph.media())} "
            f"Instagram posts, {len(graph.posts())} Facebook Page posts, "
            f"{len(youtube.videos())} YouTube Shorts"
        )
    print_report(timeline.report)
    _tell_insights(engine, insights.report)
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


def _tell_insights(engine: Engine, report: InsightsReport) -> None:
    """One line of what the insights runs along the clock gathered (every demo run's readings:
    a second run reads nothing twice), and what went wrong, if anything did."""
    from ifn_campaign.insights.figures import latest_reach
    from ifn_campaign.models import InsightReading, ReadingState

    for o in report.outcomes:
        if o.state in (ReadingState.FAILED, ReadingState.GONE, ReadingState.RETRY):
            err.print(
                f"[yellow]insights: post {o.post_id} {o.mark} {o.state}[/]: {shown(o.detail)}",
                soft_wrap=True,
            )
    with Session(engine) as session:
        read = list(
            session.execute(
                select(InsightReading.post_id).where(InsightReading.state == ReadingState.READ)
            ).scalars()
        )
        reach = sum(latest_reach(session, set(read)).values())
    out.print(
        f"insights: {len(read):,} readings of {len(set(read)):,} posts; total reach so far "
        f"{reach:,} (each post's latest figure, added up)"
        + (
            f" ({report.read:,} read now, {report.count('missed'):,} missed)"
            if report.outcomes
            else ""
        )
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


def _demo_cards(cfg: Settings, engine: Engine, data_dir: Path) -> None:
    """The next stage: every promotable member's cards, with a preview sheet to open. `cfg` is
    the demo's settings: its data folder is the one the members' media paths are stored
    relative to (the settings of the shell it runs in would look under the working directory)."""
    from ifn_campaign.captions.writer import CaptionWriter, preview_captions
    from ifn_campaign.cards.batch import promotable_ids, render_members
    from ifn_campaign.cards.brand import BrandKit
    from ifn_campaign.cards.render import Renderer
    from ifn_campaign.cards.template import load_all

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
