"""Review commands: `compose`, `review`, `approve`, `reject`, `edit-caption`, `move`, `cancel`,
`status`. Staff act on one post or a selection; every change is logged with who made it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.captions.writer import check_edit
from ifn_campaign.channels.channel import Channel
from ifn_campaign.cli.base import PLAN, PUBLISH, App, app, out, resources, settings, staff
from ifn_campaign.cli.plan import STORED, local_day
from ifn_campaign.cli.tables import Col, print_table
from ifn_campaign.errors import (
    CaptionRefused,
    FileAccessError,
    InvalidValueError,
    LedgerError,
    OptionsError,
    PlanError,
    TransitionError,
)
from ifn_campaign.models import LIVE_STATES, Member, Post, PostState, utcnow
from ifn_campaign.orchestration.stages import compose_stage
from ifn_campaign.planner.budget import Budgets, limits_from
from ifn_campaign.posts.lifecycle import (
    can_move,
    move,
    note,
    release_missed,
    reopen,
)
from ifn_campaign.publishing.blocks import active_blocks, describe

_By = Annotated[
    str | None,
    typer.Option("--by", metavar="NAME", help="Your name for the log (default: login name)."),
]
_Ids = Annotated[
    list[int], typer.Argument(metavar="POST_ID", help="Post ids (see `ifn-campaign review`).")
]
_Reason = Annotated[str, typer.Option(metavar="TEXT", help="Why (kept on the post).")]


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().planner.display_timezone)


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(_zone()):%a %Y-%m-%d %H:%M}"


def _load(session: Session, ids: list[int]) -> list[Post]:
    posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_(ids)))}
    missing = [str(i) for i in ids if i not in posts]
    if missing:
        raise LedgerError(f"no post {', '.join(missing)}: see `ifn-campaign calendar`")
    return [posts[i] for i in ids]


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
        out.print(f"[red]post {post_id}:[/] {escape(reason)}", soft_wrap=True)
    for post_id, reason in result.video_failed:
        out.print(f"[yellow]post {post_id}:[/] {escape(reason)}", soft_wrap=True)
    for post_id, reason in result.skipped:
        out.print(f"[yellow]post {post_id} skipped:[/] {escape(reason)}", soft_wrap=True)
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
    engine = resources().engine
    with Session(engine) as session:
        query = (
            select(Post, Member.business_name)
            .join(Member, Member.id == Post.member_id)
            .where(Post.state == PostState.COMPOSED)
            .order_by(Post.slot_at, Post.id)
        )
        if campaign:
            query = query.where(Post.campaign == campaign)
        rows = session.execute(query).all()
    if not rows:
        out.print("nothing awaits review: `ifn-campaign compose` makes posts ready")
        return
    for post, name in rows:
        # the rule holds only what is short (a rule cuts a long title with an ellipsis); the
        # member's name, which can be any length, wraps on the line below, after the id
        out.rule(f"post {post.id}, {_when(post.slot_at)}")
        out.print(f"{post.channel}/{escape(post.account)}, {post.member_id}: {escape(name)}")
        out.print(f"[dim]why:[/] {escape(post.reason_en if english else post.reason_id)}")
        # a path on one line, never folded: staff copy it to open the card
        card = str(cfg.path(post.card_path)) if post.card_path else ""
        out.print(f"[dim]card:[/] {escape(card)}", soft_wrap=True)
        if post.thumbnail_path:
            thumbnail = str(cfg.path(post.thumbnail_path))
            out.print(f"[dim]thumbnail:[/] {escape(thumbnail)}", soft_wrap=True)
        if post.title:
            out.print(f"[dim]title:[/] {escape(post.title)}")
        out.print(escape(post.caption or ""), soft_wrap=True)
        for remark in post.compose_notes or []:
            out.print(f"[yellow]note:[/] {escape(remark)}")
    out.print(
        f"{len(rows)} posts await review: `ifn-campaign approve ID ...`, `reject`, "
        "`edit-caption`, `move`"
    )


def _act(ids: list[int], to: str, actor: str, note: str | None) -> list[int]:
    """Move every post or none: one refused move stops the whole selection."""
    engine = resources().engine
    now = utcnow()
    with Session(engine) as session:
        posts = _load(session, ids)
        refused = [p for p in posts if not can_move(p, to)]
        if refused:
            raise TransitionError(
                "; ".join(f"post {p.id} is {p.state} and cannot become {to}" for p in refused)
                + " (nothing was changed)"
            )
        for post in posts:
            move(session, post, to, actor=actor, now=now, note=note)
            if to == PostState.APPROVED:
                post.reviewed_by, post.reviewed_at = actor, now
        session.commit()
    return ids


@app.command("approve", rich_help_panel=PLAN)
def approve(
    ids: Annotated[list[int] | None, typer.Argument(metavar="POST_ID", help="Post ids.")] = None,
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
        engine = resources().engine
        with Session(engine) as session:
            query = select(Post.id).where(Post.state == PostState.COMPOSED)
            if campaign:
                query = query.where(Post.campaign == campaign)
            ids = list(session.scalars(query.order_by(Post.id)))
        if not ids:
            out.print("nothing awaits review")
            return
    if not ids:
        raise OptionsError("name the posts to approve, or use --all")
    posts = _act(ids, PostState.APPROVED, staff(by), None)
    out.print(f"approved {len(posts)} post(s): {', '.join(map(str, posts))}")


@app.command("reject", rich_help_panel=PLAN)
def reject(ids: _Ids, reason: _Reason, by: _By = None) -> None:
    """Reject posts; the next `plan` refills their slots.

    They are cancelled with the reason."""
    posts = _act(ids, PostState.CANCELLED, staff(by), f"ditolak staf / rejected: {reason}")
    out.print(f"rejected {len(posts)} post(s); run `ifn-campaign plan` to refill their slots")


@app.command("cancel", rich_help_panel=PLAN)
def cancel(ids: _Ids, reason: _Reason, by: _By = None) -> None:
    """Cancel posts that are not out yet."""
    posts = _act(ids, PostState.CANCELLED, staff(by), f"dibatalkan / cancelled: {reason}")
    out.print(f"cancelled {len(posts)} post(s)")


def _refuse_half_sent(post: Post) -> None:
    """An approved post an earlier publish attempt left half-way (a lost answer, a release) may
    already be on the platform: the publisher finds it by its caption and slot, so neither may
    change until it has looked (the next publish run) and the post is scheduled or out."""
    if post.state == PostState.APPROVED and (
        post.publish_step or post.remote_container_id or post.upload_session_url
    ):
        raise TransitionError(
            f"post {post.id}: an earlier publish attempt ({post.publish_step}) may already have "
            "reached the platform; run `ifn-campaign publish` (or wait for the next run) so it "
            "is reconciled, then edit or move it"
        )


@app.command("edit-caption", rich_help_panel=PLAN)
def edit_caption(
    post_id: Annotated[int, typer.Argument(metavar="POST_ID", help="Post id.")],
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
    cfg = settings()
    engine = resources().engine
    now = utcnow()
    actor = staff(by)
    with Session(engine) as session:
        (post,) = _load(session, [post_id])
        if post.state not in (PostState.COMPOSED, PostState.APPROVED, PostState.SCHEDULED):
            raise TransitionError(
                f"post {post.id} is {post.state}: only composed, approved or scheduled posts "
                "can be edited"
            )
        new_title = title if title is not None else (post.title or "")
        problems = check_edit(
            post.channel, text, cfg.captions.limits(), title=new_title, tags=post.tags or []
        )
        if problems:
            raise CaptionRefused(
                f"caption refused for {post.channel}: "
                + "; ".join(f"{p.field}: {p.reason}" for p in problems)
            )
        _refuse_half_sent(post)
        if post.state == PostState.SCHEDULED:
            reopen(session, post, actor=actor, now=now, why="caption edited")
        post.caption = text
        if post.channel == Channel.YOUTUBE:
            post.title = new_title
        post.caption_edited_by = actor
        note(session, post, actor=actor, now=now, text="caption edited")
        session.commit()
    out.print(f"caption of post {post_id} replaced")


@app.command("move", rich_help_panel=PLAN)
def move_post(
    post_id: Annotated[int, typer.Argument(metavar="POST_ID", help="Post id.")],
    at: Annotated[
        str,
        typer.Option("--at", metavar="TIME", help="New time 'YYYY-MM-DD HH:MM' (display zone)."),
    ],
    by: _By = None,
) -> None:
    """Move a post not yet out to another time.

    The time must be free on its account and within the budget; a missed post goes out at that
    time instead."""
    cfg = settings()
    zone = _zone()
    try:
        new_at = datetime.strptime(at, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    except ValueError:
        raise InvalidValueError(f"--at {at!r}: write the time as 'YYYY-MM-DD HH:MM'") from None
    local_day(new_at.date().isoformat(), zone)  # the same date range checks as --from
    now = utcnow()
    if new_at <= now:
        raise InvalidValueError(f"--at {at}: that time has passed")
    engine = resources().engine
    actor = staff(by)
    with Session(engine) as session:
        (post,) = _load(session, [post_id])
        movable = (
            PostState.PLANNED,
            PostState.COMPOSED,
            PostState.APPROVED,
            PostState.SCHEDULED,
            PostState.MISSED,
        )
        if post.state not in movable:
            raise TransitionError(f"post {post.id} is {post.state}: it can no longer be moved")
        _refuse_half_sent(post)
        live = [s.value for s in LIVE_STATES]
        taken = session.scalars(
            select(Post.id).where(
                Post.campaign == post.campaign,
                Post.channel == post.channel,
                Post.account == post.account,
                Post.slot_at == new_at,
                Post.state.in_(live),
                Post.id != post.id,
            )
        ).first()
        if taken is not None:
            raise PlanError(f"post {taken} already holds {post.channel}/{post.account} at {at}")
        budgets = Budgets(limits_from(cfg))
        budgets.load(
            (p.channel, p.account, p.slot_at)
            for p in session.scalars(
                select(Post).where(
                    Post.channel == post.channel,
                    Post.account == post.account,
                    Post.state.in_(live),
                    Post.id != post.id,
                )
            )
        )
        if not budgets.account(post.channel, post.account).fits(new_at):
            raise PlanError(f"{post.channel}/{post.account} has no room left around {at}")
        before = post.slot_at
        if post.state == PostState.SCHEDULED:
            reopen(session, post, actor=actor, now=now, why=f"moved to {new_at.isoformat()}")
        if post.state == PostState.MISSED:
            release_missed(session, post, actor=actor, now=now, at=new_at)
        post.slot_at = new_at
        note(
            session,
            post,
            actor=actor,
            now=now,
            text=f"moved from {before.isoformat()} to {new_at.isoformat()}",
        )
        session.commit()
    out.print(f"post {post_id} moved to {at}")


@app.command("status", rich_help_panel=PUBLISH)
def status() -> None:
    """The queue per account, and posts that need staff.

    Failed and missed posts and accounts waiting for re-authorisation, with what to do."""
    engine = resources().engine
    now = utcnow()
    with Session(engine) as session:
        future = session.execute(
            select(Post.channel, Post.account, Post.state).where(Post.slot_at > now)
        ).all()
        stuck = session.execute(
            select(Post, Member.business_name)
            .join(Member, Member.id == Post.member_id)
            .where(Post.state.in_([PostState.FAILED, PostState.NEEDS_REAUTH, PostState.MISSED]))
            .order_by(Post.slot_at)
        ).all()
        blocks = active_blocks(session, now)
    counts = Counter((c, a, s) for c, a, s in future)
    states = [
        PostState.PLANNED,
        PostState.COMPOSED,
        PostState.APPROVED,
        PostState.SCHEDULED,
        PostState.PUBLISHING,
    ]
    print_table(
        [
            Col("account", keep=True),
            *(Col(state.value, keep=True, justify="right") for state in states),
        ],
        [
            (
                f"{channel}/{escape(account)}",
                *(str(counts[(channel, account, s.value)]) for s in states),
            )
            for channel, account in sorted({(c, a) for c, a, _ in counts})
        ],
        title="Queue per account (future slots)",
    )
    for post, name in stuck:
        out.print(
            f"[red]post {post.id} {post.state}[/] {escape(name)} {post.channel}/"
            f"{escape(post.account)} {_when(post.slot_at)}: {escape(post.last_error or '')}\n"
            f"  what to do: {escape(post.error_action or 'approve it again, or cancel it')}",
            soft_wrap=True,
        )
    for block in blocks:  # every run and worker leaves these alone until the end shown
        out.print(
            f"[yellow]blocked until {_when(block.blocked_until)}[/] {escape(describe(block))}",
            soft_wrap=True,
        )
    if not stuck:
        out.print("no failed or missed posts and no account waiting for re-authorisation")


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
    engine = resources().engine
    with Session(engine) as session:
        found = session.execute(
            select(Post, Member.business_name)
            .join(Member, Member.id == Post.member_id)
            .where(Post.state == PostState.MISSED)
            .order_by(Post.slot_at, Post.id)
        ).all()
    if not found:
        out.print("no missed posts")
        return
    for post, name in found:
        out.print(
            f"[red]post {post.id}[/] {escape(name)} {post.channel}/{escape(post.account)} "
            f"{_when(post.slot_at)}: {escape(post.last_error or '')}\n"
            f"  what to do: {escape(post.error_action or '')}",
            soft_wrap=True,
        )


@missed_app.command("publish-now")
def publish_now(ids: _Ids, by: _By = None) -> None:
    """Send missed posts at the next publish run.

    Their slot keeps its time for the record."""
    engine = resources().engine
    now = utcnow()
    actor = staff(by)
    with Session(engine) as session:
        for post in _load(session, ids):
            release_missed(session, post, actor=actor, now=now)
            post.reviewed_by, post.reviewed_at = actor, now
        session.commit()  # all or nothing: a refusal above rolls every one back
    out.print(
        f"{len(ids)} missed post(s) go out at the next publish run: {', '.join(map(str, ids))}"
    )
