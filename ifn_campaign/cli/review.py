"""Review commands: `compose`, `review`, `approve`, `reject`, `edit-caption`, `move`, `cancel`,
`status`. Each parses, calls the staff action in ifn_campaign.posts.actions (the console calls
the same) and prints; every change is logged with who made it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, Progress, TextColumn
from sqlalchemy.orm import Session

from ifn_campaign.cli.base import (
    PLAN,
    PUBLISH,
    ROW_ID_MAX,
    App,
    app,
    out,
    resources,
    settings,
    shown,
    staff,
)
from ifn_campaign.cli.notices import print_overdue
from ifn_campaign.cli.plan import STORED, local_day
from ifn_campaign.cli.tables import Col, print_table
from ifn_campaign.errors import FileAccessError, InvalidValueError, OptionsError
from ifn_campaign.members.feedback import post_answers
from ifn_campaign.models import utcnow
from ifn_campaign.notices.staff import overdue
from ifn_campaign.orchestration.stages import compose_stage
from ifn_campaign.posts import actions
from ifn_campaign.publishing.blocks import active_blocks, describe

_By = Annotated[
    str | None,
    typer.Option("--by", metavar="NAME", help="Your name for the log (default: login name)."),
]
_Ids = Annotated[
    list[int],
    typer.Argument(
        metavar="POST_ID", min=1, max=ROW_ID_MAX, help="Post ids (see `ifn-campaign review`)."
    ),
]
_Reason = Annotated[str, typer.Option(metavar="TEXT", help="Why (kept on the post).")]


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().planner.display_timezone)


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(_zone()):%a %Y-%m-%d %H:%M}"


@app.command("compose", rich_help_panel=PLAN)
def compose(
    weeks: Annotated[
        int,
        typer.Option(min=1, max=104, metavar="N", help="Slots this many weeks ahead (1 to 104)."),
    ] = 2,
) -> None:
    """Make cards, captions and Shorts for the coming posts.

    Every planned post in the coming weeks, and the Short of every YouTube post that has none
    yet (as the scheduled compose does); a campaign that approves its own posts approves
    them."""
    with Progress(
        TextColumn("compose"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=out,
        transient=True,
    ) as progress:
        task = progress.add_task("compose", total=None)
        run = compose_stage(
            resources(),
            weeks=weeks,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    result = run.summary
    for post_id, reason in result.failed:
        out.print(f"[red]post {post_id}:[/] {shown(reason)}", soft_wrap=True)
    for post_id, reason in result.video_failed:
        out.print(f"[yellow]post {post_id}:[/] {shown(reason)}", soft_wrap=True)
    for post_id, reason in result.skipped:
        out.print(f"[yellow]post {post_id} skipped:[/] {shown(reason)}", soft_wrap=True)
    out.print(
        f"{len(result.composed)} composed ({len(result.approved)} approved automatically), "
        f"{len(result.failed)} failed, {len(result.skipped)} skipped, "
        f"{len(result.videos)} Shorts made; review them with `ifn-campaign review`"
    )
    if run.stopped is not None:
        raise run.stopped


@app.command("review", rich_help_panel=PLAN)
def review(
    campaign: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this campaign.", callback=STORED)
    ] = None,
    english: Annotated[bool, typer.Option("--english", help="Reasons in English.")] = False,
) -> None:
    """Posts awaiting approval: card, caption and reason.

    Each with its card files, caption (and YouTube title) and the reason for its pick."""
    cfg = settings()
    with Session(resources().engine) as session:
        rows = actions.awaiting_review(session, campaign)
        answers = post_answers(session, [post.id for post, _name in rows if post.id is not None])
    if not rows:
        out.print("nothing awaits review: `ifn-campaign compose` makes posts ready")
        return
    for post, name in rows:
        # the rule holds only what is short (a rule cuts a long title with an ellipsis); the
        # member's name, which can be any length, wraps on the line below, after the id
        out.rule(f"post {post.id}, {_when(post.slot_at)}")
        out.print(f"{post.channel}/{shown(post.account)}, {shown(post.member_id)}: {shown(name)}")
        out.print(f"[dim]why:[/] {shown(post.reason_en if english else post.reason_id)}")
        # a path on one line, never folded: staff copy it to open the card
        card = str(cfg.path(post.card_path)) if post.card_path else ""
        out.print(f"[dim]card:[/] {shown(card)}", soft_wrap=True)
        if post.thumbnail_path:
            thumbnail = str(cfg.path(post.thumbnail_path))
            out.print(f"[dim]thumbnail:[/] {shown(thumbnail)}", soft_wrap=True)
        if post.title:
            out.print(f"[dim]title:[/] {shown(post.title)}")
        # line by line: `shown` writes a line break as the two characters \n, and a caption
        # has several
        out.print("\n".join(map(shown, (post.caption or "").splitlines())), soft_wrap=True)
        for remark in post.compose_notes or []:
            out.print(f"[yellow]note:[/] {shown(remark)}")
        said = answers.get(post.id or 0)
        if said is not None and said.change_at is not None:
            out.print(
                f"[yellow]member asked for a change (Mohon diubah), {_when(said.change_at)}:[/] "
                f"{shown(said.change_comment or '')}",
                soft_wrap=True,
            )
        if said is not None and said.fine_at is not None:
            out.print(f"[green]member: fine as it is (Sudah sesuai), {_when(said.fine_at)}[/]")
    out.print(
        f"{len(rows)} posts await review: `ifn-campaign approve ID ...`, `reject`, "
        "`edit-caption`, `move`"
    )


def _act(ids: list[int], action: Callable[..., object], actor: str, **kw: object) -> list[int]:
    """One action on a selection, committed whole: a refusal changes none of them."""
    with Session(resources().engine) as session:
        action(session, ids, actor=actor, now=utcnow(), settings=settings(), **kw)
        session.commit()
    return ids


@app.command("approve", rich_help_panel=PLAN)
def approve(
    ids: Annotated[
        list[int] | None, typer.Argument(metavar="POST_ID", min=1, max=ROW_ID_MAX, help="Post ids.")
    ] = None,
    all_composed: Annotated[
        bool, typer.Option("--all", help="Every post awaiting review (of --campaign).")
    ] = False,
    campaign: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="With --all: only this campaign.", callback=STORED),
    ] = None,
    by: _By = None,
) -> None:
    """Approve composed posts for publishing at their slot."""
    if all_composed:
        with Session(resources().engine) as session:
            ids = sorted(row.post.id or 0 for row in actions.awaiting_review(session, campaign))
        if not ids:
            out.print("nothing awaits review")
            return
    if not ids:
        raise OptionsError("name the posts to approve, or use --all")
    posts = _act(ids, actions.approve, staff(by))
    out.print(f"approved {len(posts)} post(s): {', '.join(map(str, posts))}")


@app.command("reject", rich_help_panel=PLAN)
def reject(ids: _Ids, reason: _Reason, by: _By = None) -> None:
    """Reject posts; the next `plan` refills their slots.

    They are cancelled with the reason."""
    posts = _act(ids, actions.reject, staff(by), reason=reason)
    out.print(f"rejected {len(posts)} post(s); run `ifn-campaign plan` to refill their slots")


@app.command("cancel", rich_help_panel=PLAN)
def cancel(ids: _Ids, reason: _Reason, by: _By = None) -> None:
    """Cancel posts that are not out yet."""
    posts = _act(ids, actions.cancel, staff(by), reason=reason)
    out.print(f"cancelled {len(posts)} post(s)")


@app.command("edit-caption", rich_help_panel=PLAN)
def edit_caption(
    post_id: Annotated[
        int, typer.Argument(metavar="POST_ID", min=1, max=ROW_ID_MAX, help="Post id.")
    ],
    text: Annotated[
        str | None, typer.Option(metavar="TEXT", help="The new caption (or --file).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Read the caption from this UTF-8 file.")
    ] = None,
    title: Annotated[
        str | None, typer.Option(metavar="TEXT", help="YouTube: the new title.")
    ] = None,
    by: _By = None,
) -> None:
    """Replace a post's caption (and YouTube title).

    The new text is held to the platform's rules."""
    if (text is None) == (file is None):
        raise OptionsError("give the caption with --text or --file (one of them)")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FileAccessError(f"cannot read {file}: {exc}") from None
    assert text is not None
    with Session(resources().engine) as session:
        actions.edit_caption(
            session,
            post_id,
            text,
            title=title,
            actor=staff(by),
            now=utcnow(),
            settings=settings(),
        )
        session.commit()
    out.print(f"caption of post {post_id} replaced")


@app.command("move", rich_help_panel=PLAN)
def move_post(
    post_id: Annotated[
        int, typer.Argument(metavar="POST_ID", min=1, max=ROW_ID_MAX, help="Post id.")
    ],
    at: Annotated[
        str,
        typer.Option("--at", metavar="TIME", help="New time 'YYYY-MM-DD HH:MM' (display zone)."),
    ],
    by: _By = None,
) -> None:
    """Move a post not yet out to another time.

    The time must be free on its account and within the budget; a missed post goes out at that
    time instead."""
    zone = _zone()
    try:
        new_at = datetime.strptime(at, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    except ValueError:
        raise InvalidValueError(f"--at {at!r}: write the time as 'YYYY-MM-DD HH:MM'") from None
    local_day(new_at.date().isoformat(), zone)  # the same date range checks as --from
    now = utcnow()
    if new_at <= now:
        raise InvalidValueError(f"--at {at}: that time has passed")
    with Session(resources().engine) as session:
        actions.move_post(session, post_id, new_at, actor=staff(by), now=now, settings=settings())
        session.commit()
    out.print(f"post {post_id} moved to {at}")


@app.command("status", rich_help_panel=PUBLISH)
def status() -> None:
    """The queue per account, and posts that need staff.

    Failed and missed posts and accounts waiting for re-authorisation, with what to do; member
    notices waiting too long (a mail server down or mistyped), with the last reason."""
    now = utcnow()
    with Session(resources().engine) as session:
        counts = actions.queue_counts(session, now)
        stuck = actions.needs_staff(session)
        blocks = active_blocks(session, now)
        late = overdue(session, settings(), now)
    print_table(
        [
            Col("account", keep=True),
            *(Col(state.value, keep=True, justify="right") for state in actions.QUEUE_STATES),
        ],
        [
            (
                f"{channel}/{shown(account)}",
                *(str(by_state[s.value]) for s in actions.QUEUE_STATES),
            )
            for (channel, account), by_state in counts.items()
        ],
        title="Queue per account (future slots)",
    )
    for post, name in stuck:
        out.print(
            f"[red]post {post.id} {post.state}[/] {shown(name)} {post.channel}/"
            f"{shown(post.account)} {_when(post.slot_at)}: {shown(post.last_error or '')}\n"
            f"  what to do: {shown(post.error_action or 'approve it again, or cancel it')}",
            soft_wrap=True,
        )
    for block in blocks:  # every run and worker leaves these alone until the end shown
        out.print(
            f"[yellow]blocked until {_when(block.blocked_until)}[/] {shown(describe(block))}",
            soft_wrap=True,
        )
    if not stuck:
        out.print("no failed or missed posts and no account waiting for re-authorisation")
    print_overdue(late, ZoneInfo(settings().planner.display_timezone))


missed_app = App(
    help="Posts held back because their slot passed too long ago.\n\n"
    "The publisher came round more than `publish.max_lateness` after the slot (an outage, a "
    "re-authorisation): publish each now, move it, or cancel it.",
    invoke_without_command=True,
)
app.add_typer(missed_app, name="missed", rich_help_panel=PUBLISH)


@missed_app.callback()
def missed(ctx: typer.Context) -> None:
    """Posts held back because their slot passed too long ago.

    Not sent because their slot passed more than `publish.max_lateness` ago (an outage, a
    re-authorisation): publish now, move, or cancel each."""
    if ctx.invoked_subcommand is not None:
        return
    with Session(resources().engine) as session:
        found = actions.missed_posts(session)
    if not found:
        out.print("no missed posts")
        return
    for post, name in found:
        out.print(
            f"[red]post {post.id}[/] {shown(name)} {post.channel}/{shown(post.account)} "
            f"{_when(post.slot_at)}: {shown(post.last_error or '')}\n"
            f"  what to do: {shown(post.error_action or '')}",
            soft_wrap=True,
        )


@missed_app.command("publish-now")
def publish_now(ids: _Ids, by: _By = None) -> None:
    """Send missed posts at the next publish run.

    Their slot keeps its time for the record."""
    _act(ids, actions.publish_now, staff(by))
    out.print(
        f"{len(ids)} missed post(s) go out at the next publish run: {', '.join(map(str, ids))}"
    )
