"""`ifn-campaign`: a thin door into the library. Parse, call, print; expected failures are one line.

Every command loads the settings once (`--config`, IFN_CONFIG or ./ifn-campaign.toml, then IFN_...
variables) and opens a migrated database; domain errors (`IFNError`) become `error: ...` on stderr
and exit status 1, never a traceback. Any other exception does too, and its traceback goes to the
log file (`log.file`).
"""

from __future__ import annotations

import functools
import importlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.channels.channel import Channel
from ifn_campaign.cli import console as _console  # noqa: F401  (registers its commands)
from ifn_campaign.cli import doctor as _doctor  # noqa: F401  (registers its commands)
from ifn_campaign.cli import insights as _insights  # noqa: F401  (registers its commands)
from ifn_campaign.cli import ledger as _ledger  # noqa: F401  (registers its commands)
from ifn_campaign.cli import members as _members  # noqa: F401  (registers its commands)
from ifn_campaign.cli import notices as _notices  # noqa: F401  (registers its commands)
from ifn_campaign.cli import plan as _plan  # noqa: F401  (registers its commands)
from ifn_campaign.cli import publish as _publish  # noqa: F401  (registers its commands)
from ifn_campaign.cli import report as _report  # noqa: F401  (registers its commands)
from ifn_campaign.cli import review as _review  # noqa: F401  (registers its commands)
from ifn_campaign.cli import serve as _serve  # noqa: F401  (registers its commands)
from ifn_campaign.cli import showcase as _showcase  # noqa: F401  (registers its commands)
from ifn_campaign.cli import slots as _slots  # noqa: F401  (registers its commands)
from ifn_campaign.cli.base import (
    MEMBERS,
    OPERATIONS,
    SETUP,
    App,
    app,  # re-exported on purpose: `cli.app.app` is the app with every command registered
    choices,
    err,
    local_time,
    one_of,
    out,
    resources,
    settings,
    shown,
    unknown,
    zone_abbr,
)
from ifn_campaign.cli.logfile import log_unexpected, redact, secret_values
from ifn_campaign.cli.tables import Col, Wide, print_table
from ifn_campaign.config import Settings
from ifn_campaign.errors import (
    IFNError,
    LedgerError,
    NoCardMade,
    NotInstalledError,
    OptionsError,
    ProblemsFound,
)
from ifn_campaign.models import (
    Member,
    MemberMedia,
    MemberStatus,
    QuarantinedRecord,
    SyncRun,
    utcnow,
)
from ifn_campaign.orchestration.stages import sync_stage
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.consent import ConsentState, consent_at, describe, promotable
from ifn_campaign.registry.csv_source import CsvSource
from ifn_campaign.registry.source import MemberSource
from ifn_campaign.registry.sync import SyncResult
from ifn_campaign.secrets import values_in_environment
from ifn_campaign.wiring import Resources

if TYPE_CHECKING:
    from ifn_campaign.cards.batch import Batch

db_app = App(help="Create and migrate the database.", no_args_is_help=True)
sandbox_app = App(help="Local stand-ins for the registry and platforms.", no_args_is_help=True)
app.add_typer(db_app, name="db", rich_help_panel=SETUP)
captions_app = App(help="Caption templates: check them, see a member's copy.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox", rich_help_panel=OPERATIONS)
app.add_typer(captions_app, name="captions", rich_help_panel=MEMBERS)

CHANNELS = tuple(Channel)
LANGUAGES = ("id", "en")  # as captions.writer.LANGUAGES


def _card_templates() -> list[str]:
    """Card template names: the files in templates/cards and the user's templates.dir/cards
    (formats.toml is not one)."""
    from ifn_campaign.cards.template import template_files

    return sorted(template_files(settings().templates.dir))


def _card_formats() -> list[str]:
    """Card format names, from templates/cards/formats.toml."""
    from ifn_campaign.cards.template import formats

    return list(formats())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to this version's schema."""
    url = settings().database.url
    before, after = store.upgrade(store.make_engine(url))
    if before == after:
        out.print(f"database {store.safe_url(url)} is up to date (revision {after})")
    else:
        out.print(f"database {store.safe_url(url)} migrated from {before or 'empty'} to {after}")


@db_app.command("status")
def db_status() -> None:
    """The schema revision and whether `db upgrade` is needed."""
    url = settings().database.url
    current = store.current_revision(store.existing_engine(url))
    head = store.head_revision()
    state = "up to date" if current == head else "needs `ifn-campaign db upgrade`"
    out.print(f"{store.safe_url(url)}: revision {current or 'none'}, latest {head}: {state}")


@contextmanager
def _sync_progress(label: str) -> Iterator[tuple[Progress, int]]:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    with progress:
        task = progress.add_task(label, total=None, status="starting")
        yield progress, task


def run_sync(
    res: Resources,
    source: MemberSource | None = None,
    *,
    full: bool | None,
    fetch_media: bool,
    resume: bool = True,
    wait: float = 600,
) -> SyncResult:
    """The sync stage with a live progress line; shared by `sync` (the configured registry,
    holding the lock the scheduled sync holds when a Prefect server is configured, up to
    `wait` seconds), `import-csv` and `demo` (their own `source`)."""
    from ifn_campaign.orchestration.deployments import shared_sync_lock

    _ = res.engine  # the database first: a missing one is one error line, before any progress
    started = time.monotonic()
    with ExitStack() as held:
        lock = None
        if source is None:
            source = held.enter_context(res.registry_client())
            # a killed sync's lock lapses as a lost scheduled sync's does
            lease = res.settings.prefect.lost_after_seconds
            lock = functools.partial(shared_sync_lock, lease_seconds=lease)
        progress, task = held.enter_context(_sync_progress(f"sync {source.name}"))
        seen = 0

        def on_page(run: SyncRun, records: int) -> None:
            nonlocal seen
            seen += records
            rate = seen / max(time.monotonic() - started, 1e-6)
            progress.update(
                task,
                advance=records,
                status=(
                    f"{run.pages} pages, {seen} records ({rate:.0f}/s): {run.new} new, "
                    f"{run.updated} updated, {run.unchanged} unchanged, "
                    f"{run.quarantined} quarantined, media {run.media_fetched} fetched"
                ),
            )

        if isinstance(source, RegistryClient):  # show each wait above the progress line
            source.on_retry = lambda msg: progress.console.print(
                f"[yellow]registry:[/] {escape(msg)}"
            )
        result = sync_stage(
            res,
            source=source,
            full=full,
            fetch_media=fetch_media,
            resume=resume,
            lock=lock,
            wait_seconds=wait,
            progress=on_page,
        )
        progress.update(task, total=seen or 1, completed=seen or 1)
    return result


def print_summary(result: SyncResult, console: Console = out) -> None:
    run = result.run
    print_table(
        [Col("", keep=True), Col("count", keep=True, justify="right")],
        [(name.replace("_", " "), str(value)) for name, value in result.counts().items()],
        title=f"Sync {run.id} ({run.mode}) of {shown(run.source)}: {run.status}",
        console=console,
    )
    if result.quarantined:  # every reason, whole: this is what staff fix in the registry
        print_table(
            [Col("member", keep=True), Col("reasons", lines=0, min_width=24)],
            [
                (shown(entry.member_id or "(no id)"), shown("; ".join(entry.reasons)))
                for entry in result.quarantined
            ],
            title="Quarantined records (not stored; fix them in the registry)",
            console=console,
        )
    if result.media_refusals:
        print_table(
            [
                Col("member", keep=True),
                Col("reason", lines=0, min_width=20),
                Col("url", 1, lines=1, min_width=24),
            ],
            [
                (shown(member_id), shown(reason), shown(url))
                for member_id, url, reason in result.media_refusals
            ],
            title="Media refused (the member is stored without them)",
            console=console,
        )
    if result.withdrawn:
        console.print(f"consent withdrawn by: {shown(', '.join(result.withdrawn))}")
    if summary := result.withdrawal_summary():
        console.print(escape(summary), soft_wrap=True)


@app.command("sync", rich_help_panel=MEMBERS)
def sync(
    full: Annotated[
        bool | None,
        typer.Option(
            "--full/--incremental",
            help=(
                "Full sync (also marks vanished members) or only changes since the last "
                "sync. Default: incremental once a full sync has run."
            ),
        ),
    ] = None,
    media: Annotated[
        bool, typer.Option(help="Fetch logos and photos of new or changed members.")
    ] = True,
    restart: Annotated[
        bool, typer.Option("--restart", help="Do not resume an interrupted sync; start over.")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="With a Prefect server: seconds to wait for a running sync of the registry.",
        ),
    ] = 600,
) -> None:
    """Sync member profiles and media from the IFN registry.

    Never beside another sync of the registry when a Prefect server is configured: it holds the
    same lock as the scheduled sync."""
    result = run_sync(resources(), full=full, fetch_media=media, resume=not restart, wait=wait)
    print_summary(result)


@app.command("import-csv", rich_help_panel=MEMBERS)
def import_csv(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="CSV export (UTF-8, comma or semicolon, lists split by |)."
        ),
    ],
    media: Annotated[
        bool, typer.Option(help="Fetch logos and photos of new or changed members.")
    ] = True,
) -> None:
    """Import members from a staff spreadsheet export.

    The columns are described in docs/reference/registry-contract.md (the CSV format)."""
    source = CsvSource(file)
    unknown = source.unknown_columns()
    if unknown:
        err.print(f"[yellow]ignoring unknown columns:[/] {escape(', '.join(unknown))}")
    result = run_sync(resources(), source, full=None, fetch_media=media)
    print_summary(result)


@app.command("member", rich_help_panel=MEMBERS)
def member(
    member_id: Annotated[
        str, typer.Argument(metavar="MEMBER_ID", help="Registry id, e.g. ifn-0007.")
    ],
    wide: Wide = False,
) -> None:
    """One member: profile, consent, media and quarantine.

    Media with the reasons any was refused; a newer version of the record in quarantine."""
    engine = resources().engine
    with Session(engine) as session:
        m = session.get(Member, member_id)
        if m is None:
            raise LedgerError(
                f"no member {member_id!r} stored: check the id, or run `ifn-campaign sync`"
            )
        now = utcnow()
        zone = ZoneInfo(settings().planner.display_timezone)
        rows = {
            "status": f"{m.status}{'' if promotable(m, now) else ' (not promotable)'}",
            "actor types": ", ".join(m.actor_types),
            "categories": ", ".join(m.categories),
            "place": ", ".join(p for p in (m.sentra, m.city, m.province) if p),
            "consent channels": ", ".join(m.consent_channels) or "none",
            "consent fields": ", ".join(m.consent_fields_allowed) or "none",
            "consent": describe(m, now, zone),
            "registry updated": f"{local_time(m.updated_at, zone)} {zone_abbr(zone)}",
            "first seen": f"{local_time(m.first_seen_at, zone)} {zone_abbr(zone)}",
            "last seen": f"{local_time(m.last_seen_at, zone)} {zone_abbr(zone)}",
        }
        query = select(MemberMedia).where(MemberMedia.member_id == m.id)
        media = [
            (
                row.role,
                str(row.position),
                (row.asset_sha256 or "")[:12],
                shown(f"{row.refused_reason}: {row.refused_detail}" if row.refused_reason else ""),
                shown(row.source_url),
            )
            for row in session.scalars(query.order_by(MemberMedia.role, MemberMedia.position))
        ]
        open_quarantine = session.scalars(
            select(QuarantinedRecord).where(
                QuarantinedRecord.member_id == m.id, QuarantinedRecord.resolved_at.is_(None)
            )
        ).all()
    print_table(
        [Col("field", keep=True), Col("value", lines=0, min_width=20)],
        [(field, shown(value)) for field, value in rows.items()],
        title=f"{shown(m.business_name)} ({shown(m.id)})",
        show_header=False,
        wide=wide,
    )
    for note in m.notes or []:  # what the sync changed in or left out of the registry's values
        out.print(f"[cyan]note:[/] {shown(note)}", soft_wrap=True)
    print_table(
        [
            Col("role", keep=True),
            Col("#", keep=True, justify="right"),
            Col("stored", 1, keep=True),
            Col("refused", lines=0, min_width=16),
            Col("source", 2, lines=1, min_width=20),
        ],
        media,
        title="Media",
        wide=wide,
    )
    for q in open_quarantine:
        out.print(f"[yellow]newer version quarantined:[/] {shown('; '.join(q.reasons))}")


@app.command("quarantine", rich_help_panel=MEMBERS)
def quarantine(
    all_: Annotated[bool, typer.Option("--all", help="Include records fixed since.")] = False,
    wide: Wide = False,
) -> None:
    """List quarantined records with every reason."""
    engine = resources().engine
    zone = ZoneInfo(settings().planner.display_timezone)
    with Session(engine) as session:
        query = select(QuarantinedRecord).order_by(QuarantinedRecord.id)
        if not all_:
            query = query.where(QuarantinedRecord.resolved_at.is_(None))
        rows = [
            (
                str(q.id),
                shown(q.source),
                shown(q.member_id or ""),
                shown("; ".join(q.reasons)),
                local_time(q.last_seen_at, zone),
            )
            for q in session.scalars(query)
        ]
    print_table(
        [
            Col("id", keep=True, justify="right"),
            Col("source", 2, lines=1, min_width=20),
            Col("member", keep=True),
            Col("reasons", lines=0, min_width=24),  # every reason, whole
            Col(f"last seen ({zone_abbr(zone)})", 1, keep=True),
        ],
        rows,
        title="Quarantined records",
        wide=wide,
    )


@app.command("render", rich_help_panel=MEMBERS)
def render(
    member: Annotated[
        list[str] | None,
        typer.Option("--member", "-m", metavar="MEMBER_ID", help="Member id (repeatable)."),
    ] = None,
    all_members: Annotated[bool, typer.Option("--all", help="Every promotable member.")] = False,
    template: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Card template (default: cards.template).",
            callback=one_of("card template", _card_templates),
        ),
    ] = None,
    card_format: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="Only this format (repeatable); default: all.",
            callback=one_of("card format", _card_formats),
        ),
    ] = None,
    png: Annotated[bool, typer.Option(help="PNG instead of JPEG.")] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Folder for files and preview.html."),
    ] = None,
) -> None:
    """Draw promo cards for members, with an HTML preview.

    Every format unless --format names some."""
    from ifn_campaign.captions.writer import preview_captions
    from ifn_campaign.cards.batch import promotable_ids, render_members
    from ifn_campaign.cards.brand import BrandKit
    from ifn_campaign.cards.render import Renderer
    from ifn_campaign.cards.template import load_all

    cfg = settings()
    engine = resources().engine
    brand = BrandKit.load()
    templates = load_all(palette=brand.palette, templates_dir=cfg.templates.dir)
    name = template or cfg.cards.template
    if name not in templates:  # cards.template names one that is not on file
        raise unknown("card template", name, sorted(templates))
    with Session(engine) as session:
        ids = promotable_ids(session) if all_members else list(member or [])
        if not ids:
            raise OptionsError("name members with --member ID (repeatable) or use --all")
        renderer = Renderer(brand, templates, cfg.cards.cache_dir)
        with member_progress("render", len(ids)) as advance:
            batch = render_members(
                session,
                renderer,
                ids,
                name,
                card_format,
                png=png,
                on_member=advance,
                file=cfg.path,
            )
        writer = _caption_writer(cfg)
        captions = preview_captions(writer, session, list(batch.names), cfg.captions.language)
    # --out is the user's: relative to the working directory, `~` expanded (--out=~/x is not)
    folder = out_dir.expanduser() if out_dir is not None else cfg.cards.preview_dir
    report_cards(batch, folder, len(ids), captions)


@contextmanager
def member_progress(label: str, total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr counting members, advanced by the callable it yields (a stage's
    `on_member`): the CLI's display, also used by the demo."""
    with Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{label}"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed}/{task.total} members"),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda _member_id: progress.advance(task)


def report_cards(
    batch: Batch,
    target: Path,
    asked: int,
    captions: dict[str, list[tuple[str, str]]] | None = None,
) -> Path:
    """Export the cards with a preview sheet and print what happened; the sheet's path. The
    CLI's display of a render batch, also used by the demo."""
    from ifn_campaign.cards.preview import export, write_preview

    failures, cards = batch.failures, batch.cards
    for member_id, message in failures:
        err.print(f"[red]{member_id}:[/] {escape(message)}", soft_wrap=True)
    if not cards:
        raise NoCardMade(f"no card could be made ({len(failures)} of {asked} members failed)")
    files = export(cards, target)
    sheet = write_preview(
        cards,
        files,
        batch.names,
        target,
        captions=captions,
        display_timezone=settings().planner.display_timezone,
        templates_dir=settings().templates.dir,
    )
    made = batch.drawn
    out.print(f"{len(cards)} cards ({made} drawn, {len(cards) - made} from cache) in {target}")
    shortened = 0
    for card in cards:
        for note in card.notes:
            if note.endswith("text shortened to fit"):
                shortened += 1  # routine for long taglines; the preview shows each
            else:
                out.print(f"[yellow]{card.member_id} {card.format}:[/] {escape(note)}")
    if shortened:
        out.print(f"{shortened} texts shortened to fit their box (see the preview)")
    out.print(f"preview: {sheet}")
    return sheet


def _caption_writer(cfg: Settings) -> Any:
    from ifn_campaign.captions.writer import CaptionWriter

    return CaptionWriter.from_settings(cfg)


@captions_app.command("lint")
def captions_lint() -> None:
    """Check every caption template against the sample members.

    Renders each template for every sample member and lists each problem with its template and
    line."""
    from ifn_campaign.captions.lint import lint, template_files

    sample = _sandbox("sample", "ifn-campaign captions lint")
    writer = _caption_writer(settings())
    members = sample.sample_members()
    problems = lint(writer, members)
    checked = len(template_files(writer))
    if not problems:
        out.print(f"{checked} caption templates checked against {len(members)} sample members: ok")
        return
    print_table(
        [
            Col("template", keep=True),
            Col("line", keep=True, justify="right"),
            Col("member", 1, keep=True),
            Col("reason", lines=0, min_width=24),
        ],
        [
            (escape(p.template), str(p.line or ""), escape(p.member or ""), escape(p.reason))
            for p in problems
        ],
        title=f"{len(problems)} problems in caption templates",
    )
    raise ProblemsFound(f"{len(problems)} problems in caption templates (listed above)")


@captions_app.command("show")
def captions_show(
    member_id: Annotated[
        str, typer.Argument(metavar="MEMBER_ID", help="Registry id, e.g. ifn-0007.")
    ],
    channel: Annotated[
        list[str] | None,
        typer.Option(
            "--channel",
            "-c",
            help="instagram, facebook or youtube (repeatable).",
            metavar="CHANNEL",
            callback=one_of("channel", CHANNELS),
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            help="id or en (default: captions.language).",
            metavar=choices(LANGUAGES),
            callback=one_of("language", LANGUAGES),
        ),
    ] = None,
    ignore_consent: Annotated[
        bool,
        typer.Option(
            "--ignore-consent",
            help="Also print the copy for channels the member cannot be posted on (labelled).",
        ),
    ] = False,
) -> None:
    """A member's captions as they would be posted.

    With what was left out and why, and the member's consent per channel: no copy for a channel
    they cannot be posted on."""
    cfg = settings()
    engine = resources().engine
    writer = _caption_writer(cfg)
    zone = ZoneInfo(cfg.planner.display_timezone)
    now = utcnow()
    with Session(engine) as session:
        member = session.get(Member, member_id)
        if member is None:
            raise LedgerError(f"no member {member_id!r} stored: check the id or run a sync")
        out.print(
            f"consent: {describe(member, now, zone)}; channels: "
            f"{shown(', '.join(member.consent_channels)) or 'none'}",
            soft_wrap=True,
        )
        names = channel or list(CHANNELS)
        reasons = {name: _not_postable(member, name, now, zone) for name in names}
        for name, why_not in reasons.items():  # the state per channel, before any copy
            state = f"[red]NOT POSTABLE[/]: {escape(why_not)}" if why_not else "postable"
            out.print(f"  {name}: {state}", soft_wrap=True)
        for name, why_not in reasons.items():
            if why_not and not ignore_consent:
                out.rule(f"{name}: not postable")
                out.print(
                    f"no caption: {escape(why_not)} (--ignore-consent prints it anyway)",
                    soft_wrap=True,
                )
                continue
            caption = writer.write(member, name, lang or cfg.captions.language)
            label = f"NOT POSTABLE: {why_not}; " if why_not else ""
            out.rule(
                f"{name} ({escape(label)}{caption.lang}, {caption.template})",
                style="red" if why_not else "rule.line",
            )
            if caption.title:  # labelled as `review` does: piped to a file, bold is gone
                out.print(f"title: [bold]{escape(caption.title)}[/]\n", soft_wrap=True)
            out.print(escape(caption.text), soft_wrap=True)
            if caption.tags:
                out.print(f"tags: {escape(', '.join(caption.tags))}")
            for field in caption.omitted:
                out.print(f"[yellow]left out without consent:[/] {field}")
            for cut in caption.cuts:
                out.print(
                    f"[yellow]shortened {cut.field} ({cut.reason}):[/] {escape(cut.removed[:80])}"
                )
            for violation in caption.violations:
                out.print(f"[red]{violation.field}:[/] {escape(violation.reason)}")


def _not_postable(member: Member, channel: str, now: datetime, zone: ZoneInfo) -> str | None:
    """Why `member` cannot be posted on `channel` now, or None when they can (the decision is
    consent.promotable's, the one rule the planner and the publisher follow too)."""
    if promotable(member, now, channel):
        return None
    if member.status != MemberStatus.ACTIVE:
        return f"member is {member.status}"
    if consent_at(member, now) is not ConsentState.IN_FORCE:
        said = describe(member, now, zone)  # "withdrawn on ...", "consent starts on ..."
        return said if said.startswith("consent") else f"consent {said}"
    return f"no consent for {channel}"


@sandbox_app.command("registry")
def sandbox_registry(
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port (0: any free port).")] = 8765,
    generated: Annotated[
        int | None,
        typer.Option(metavar="N", help="Serve N generated members instead of the sample."),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            metavar="JSON",
            help='Inject a fault, as JSON: \'{"path": "/api/v1/members", "kind": "status", '
            '"status": 429, "retry_after": 5, "times": 2}\'; kinds: slow, status, drop, truncate.',
        ),
    ] = None,
) -> None:
    """Serve the sample (or a generated) registry until Ctrl+C."""
    _sandbox("demo", "ifn-campaign sandbox registry").serve_registry(
        host, port, generated, fault or []
    )


@app.command("demo", rich_help_panel=SETUP)
def demo(
    data_dir: Annotated[
        Path, typer.Option(metavar="DIR", help="Where the demo keeps its database and media.")
    ] = Path("var/demo"),
) -> None:
    """The whole campaign on embedded defaults, no account needed.

    The sample registry, SQLite, sync, cards, a plan of the next two weeks, compose (cards,
    captions, Shorts), publishing the whole calendar to the local platform sandboxes on a clock
    moved forward slot by slot, reconcile, and an HTML report. Run it again: nothing is posted
    twice.

    It writes DIR/ifn-campaign.toml and ends with `export IFN_CONFIG=...`: run that line, and
    members, captions show, review, calendar, history and report look at the demo's data."""
    _sandbox("demo", "ifn-campaign demo").run(data_dir)


def _port(option: str, stand_in: str) -> Any:
    """A port option of `rehearse`."""
    return typer.Option(
        option, metavar="PORT", min=0, max=65535, help=f"The {stand_in}'s port (0: any free)."
    )


@sandbox_app.command("mail")
def sandbox_mail(
    maildir: Annotated[
        Path, typer.Option(metavar="DIR", help="The Maildir the messages are filed in.")
    ],
    host: Annotated[str, typer.Option(metavar="HOST", help="Loopback address.")] = "127.0.0.1",
    smtp_port: Annotated[int, _port("--smtp-port", "SMTP server")] = 8769,
    imap_port: Annotated[int, _port("--imap-port", "IMAP server")] = 8770,
) -> None:
    """Serve a local mail server (SMTP in, read-only IMAP of its Sent folder) until Ctrl+C."""
    _sandbox("mail", "ifn-campaign sandbox mail").serve(maildir, host, smtp_port, imap_port)


@app.command("rehearse", rich_help_panel=SETUP)
def rehearse(
    data_dir: Annotated[
        Path,
        typer.Option(
            "--dir", metavar="DIR", help="Where the rehearsal keeps its settings and data."
        ),
    ] = Path("var/rehearse"),
    members: Annotated[
        int | None,
        typer.Option(metavar="N", min=1, help="Serve N generated members instead of the sample."),
    ] = None,
    registry_port: Annotated[int, _port("--registry-port", "registry stand-in")] = 8765,
    graph_port: Annotated[int, _port("--graph-port", "Graph API stand-in")] = 8766,
    youtube_port: Annotated[int, _port("--youtube-port", "YouTube API stand-in")] = 8767,
    media_port: Annotated[int, _port("--media-port", "media host")] = 8768,
    smtp_port: Annotated[int, _port("--smtp-port", "mail sandbox's SMTP server")] = 8769,
    imap_port: Annotated[int, _port("--imap-port", "mail sandbox's IMAP server")] = 8770,
) -> None:
    """Rehearse going live against local stand-ins.

    Starts the sample registry, the Graph API (Instagram, Facebook) and YouTube sandboxes, a
    media host and a mail server for member notices on the real clock, writes
    DIR/ifn-campaign.toml (the settings that point the app at them, no secrets) and
    DIR/rehearse.env (IFN_CONFIG and the sandbox credentials, mode 0600), prints what to run
    next, the registry's fault controls and where to see what the platforms and members
    received, and serves until Ctrl+C. Every other command then runs as in production:
    db upgrade, doctor, deploy and workers, sync, plan, compose, publish."""
    ports = {
        "registry": registry_port,
        "graph": graph_port,
        "youtube_api": youtube_port,
        "media": media_port,
        "smtp": smtp_port,
        "imap": imap_port,
    }
    _sandbox("rehearse", "ifn-campaign rehearse").run(data_dir, members, ports)


def _sandbox(module: str, command: str) -> ModuleType:
    """`ifn_sandbox.<module>`, imported when a command that needs the sandboxes runs: they are a
    distribution of their own (ifn-campaign-sandbox), absent from a production install, and then
    the command says so in one line instead of a traceback."""
    try:
        return importlib.import_module(f"ifn_sandbox.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != "ifn_sandbox" and not (exc.name or "").startswith("ifn_sandbox."):
            raise
        raise NotInstalledError(
            f"{command} needs the sandboxes, which are not installed: install "
            "ifn-campaign-sandbox (from a checkout: pip install ./sandbox)"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the CLI, turning expected failures into one line and a non-zero status."""
    try:
        app(
            args=list(argv) if argv is not None else None,
            prog_name="ifn-campaign",
            standalone_mode=True,
        )
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except IFNError as exc:  # its text may hold what a registry sent back, our token included
        message = " ".join(str(exc).split())  # one line, whatever another program's text held
        err.print(f"[bold red]error:[/] {escape(redact(message, _secrets()))}", soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]: run the same command again to resume")
        return 130
    except Exception as exc:  # a bug or a broken environment: never a traceback on the terminal
        return _unexpected(exc, list(argv) if argv is not None else sys.argv[1:])
    return 0


def _secrets() -> set[str]:
    """The secret values to blank in what is printed (the settings may be what is broken)."""
    try:
        return secret_values(settings(), values_in_environment())
    except Exception:
        return secret_values(None, values_in_environment())


def _unexpected(exc: Exception, args: list[str]) -> int:
    """One `error:` line; the traceback goes to the log file, secrets blanked in both."""
    try:
        cfg: Settings | None = settings()
    except Exception:  # the settings may be what is broken: log with the defaults
        cfg = None
    environment = values_in_environment()
    secrets = secret_values(cfg, environment)
    command = redact(" ".join(args), secrets)
    message = redact(" ".join(str(exc).split()), secrets)[:300]
    try:
        where = f"traceback in {log_unexpected(exc, cfg, command, environment)}"
    except OSError as log_error:
        where = f"no traceback kept: the log file cannot be written ({log_error.strerror})"
    err.print(
        f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(message)} ({where})",
        soft_wrap=True,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
