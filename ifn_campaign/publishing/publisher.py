"""Publishing approved posts exactly once: claim, then one remote step at a time.

Before every remote call the step about to run is committed (`post.publish_step`); every id that
comes back (container, upload session, post, video) is committed the moment it arrives. A post
found half-way (a crash, a lost answer, a released retry) resumes from its step and first asks the
platform what happened: a container already PUBLISHED, a Page post already there, an upload
session that already has the bytes. Nothing irreversible is ever sent twice blindly.

Each channel's own sequence (Instagram's containers, Facebook's photo post, YouTube's upload
session and thumbnail) is its adapter's `publish` (channels/adapter.py); the publisher hands it a
`Steps` recorder over the claimed post (`_Record`) and keeps the claim, the consent and lateness
checks, the gates, the outcome table and the endings.

Claims: a due post moves approved -> publishing with a compare-and-set on its state (and
`FOR UPDATE SKIP LOCKED` on PostgreSQL), so two workers never hold the same post; a claim older
than `publish.lease_seconds` is taken over and reconciled like a crash, and so is the claim of
a flow run the Prefect server reports ended (crashed, failed, cancelled: flow_runs.py) once it
has been untouched for `prefect.lost_after_seconds` (`_lost`).

Slots: workers start scheduled runs a little early (01:14:59.65 for 01:15), so a run takes the
posts whose slot is at most `publish.lead_seconds` away. A post that goes live the moment it is
sent (Instagram, Facebook's live path) is sent no earlier than its slot: the run waits the
remaining seconds (`Publisher.sleep`), its claim held. Posts natively scheduled (Facebook 15
minutes or more ahead, YouTube with `publishAt`) are sent ahead: the platform keeps the time.

Errors: every channel failure arrives as a `ChannelError` kind (the clients wrap transport
errors), and `Publisher._settle` maps each kind to what becomes of the post, in one table.

`Publisher.reached` (None in production) is called at each point of a post's steps, so tests can
stop the process there (the crash matrix kills it with SIGKILL); points are `before:<step>`,
`called:<step>` (the call returned, nothing stored yet) and `after:<step>`.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Engine, or_, select, true, tuple_, update
from sqlalchemy.orm import Session

from ifn_campaign.channels import facebook
from ifn_campaign.channels.adapter import Again, ChannelAdapter, Outgoing
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.clients import ChannelClients, channel_clients
from ifn_campaign.channels.youtube import YouTubeClient
from ifn_campaign.config import Settings
from ifn_campaign.errors import (
    ChannelBlocked,
    ChannelError,
    ChannelNotFound,
    ChannelOutcomeUnknown,
    ChannelPublishLimit,
    ChannelReauthNeeded,
    ChannelTransient,
    ConfigError,
    GateUnavailable,
    IFNError,
    LedgerError,
    SettingsError,
)
from ifn_campaign.models import REPLANNABLE_STATES, AccountState, Member, Post, PostState, utcnow
from ifn_campaign.orchestration.gates import AccountGate
from ifn_campaign.posts.ledger import record_feature
from ifn_campaign.posts.lifecycle import REPLACE_MARGIN, miss, missed_by, move, note, record
from ifn_campaign.posts.withdrawal import consent_refusal
from ifn_campaign.publishing.blocks import (
    block_for,
    blocked_accounts,
    describe,
    keep_limit,
)
from ifn_campaign.publishing.flow_runs import EndedRuns, claim_run, ended_on_server
from ifn_campaign.publishing.media_host import public_url

_log = logging.getLogger(__name__)
FB_SCHEDULE_MARGIN = facebook.SCHEDULE_MARGIN  # what FacebookPage.publish schedules natively
# a scheduled copy is live on the platform within minutes of its time, or it never goes out
REPLACE_SETTLE = timedelta(minutes=5)
ASK_AGAIN = timedelta(seconds=30)  # how long the Prefect server's word on ended runs is kept


@dataclass
class PublishReport:
    published: list[int] = field(default_factory=list)
    scheduled: list[int] = field(default_factory=list)
    retry_later: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    needs_reauth: list[tuple[int, str]] = field(default_factory=list)
    moved: list[tuple[int, datetime]] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)
    missed: list[tuple[int, str]] = field(default_factory=list)  # held for staff: too late


class _ClaimLost(Exception):
    """Another worker took the post over (our claim lapsed while we waited): leave it alone."""


# steps after which nothing public can exist yet: a post resumed there may still be cancelled
_NOTHING_PUBLIC = frozenset({"container", "items", "items_wait", "wait", "yt_session", "replace"})


class _GiveUp(Exception):
    """Over `publish.max_attempts` (failed tries and takeovers): the platform was asked what
    the earlier attempts left, and the next remote step is not started."""


class _Release(Exception):
    """Give the post back (approved) to try again at `when`."""

    def __init__(self, why: str, when: datetime, *, count: bool = True) -> None:
        super().__init__(why)
        self.when = when
        self.count = count  # a try of the post (not: only given back for its slot)


def worker_name() -> str:
    return f"publisher:{socket.gethostname()}:{os.getpid()}"


class Publisher:
    """Publishes due approved posts; one instance per worker."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        clients: ChannelClients | None = None,
        worker: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        make_video: Callable[[Post, Path], Path] | None = None,
        gate: AccountGate | None = None,
        reached: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        ended_runs: EndedRuns = ended_on_server,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clients = clients if clients is not None else channel_clients(settings)
        self.worker = worker or worker_name()
        self.clock = clock
        self.sleep = sleep
        """Waits for a slot a few seconds ahead; goes with `clock` (a simulated clock moves
        itself forward here, so a test or the demo never really sleeps)."""
        self.ended_runs = ended_runs
        """Which flow runs holding claims have ended (the Prefect server; flow_runs.py)."""
        self._ended: dict[UUID, str] = {}  # what `ended_runs` said at the last claim
        # when `ended_runs` was last asked, about which runs, and its answer: each claim of a
        # run would ask again (a slow server held every post of the run that long)
        self._asked: tuple[datetime, frozenset[UUID], dict[UUID, str]] | None = None
        self.make_video = make_video or functools.partial(
            _post_video,
            profile_url=settings.captions.profile_url,
            templates_dir=settings.templates.dir,
            file=settings.path,
        )
        # what each account's adapter keeps over this publisher's run (`Steps.kept`)
        self._kept: dict[tuple[str, str], dict[str, Any]] = {}
        # per-account limits across workers (limits.PrefectGate); None: this process alone
        self.gate = gate
        self._capped = False  # the post in hand is over max_attempts: reconcile, send nothing
        self.reached = reached
        """Called with each point of a post's steps (`before:<step>`, `called:<step>`,
        `after:<step>`); tests stop the process there. None: nothing is called."""

    # --- claiming ----------------------------------------------------------------------------

    def due(
        self,
        session: Session,
        now: datetime,
        limit: int | None = None,
        *,
        lost: ColumnElement[bool] | None = None,
    ) -> list[int]:
        """Approved posts whose time has come or comes within `publish.lead_seconds` (Facebook
        and YouTube earlier, for native scheduling), and posts whose claim is lost (`_lost`),
        oldest slot first; at most `limit` (`publish.max_posts`), and on PostgreSQL only those
        rows are locked (SKIP LOCKED), so other workers take the next ones meanwhile."""
        fb_horizon = now + timedelta(days=self.settings.facebook.schedule_max_days)
        yt_horizon = now + timedelta(hours=self.settings.youtube.upload_ahead_hours)
        soon = now + timedelta(seconds=self.settings.publish.lead_seconds)
        lost = self._lost(session, now) if lost is None else lost
        blocked = list(blocked_accounts(session, self.settings, now))
        waiting = (
            select(AccountState.channel)
            .where(
                AccountState.channel == Post.channel,
                AccountState.account == Post.account,
                AccountState.needs_reauth_since.is_not(None),
            )
            .exists()
        )
        ready = or_(
            (Post.channel == Channel.INSTAGRAM) & (Post.slot_at <= soon),
            (Post.channel == Channel.FACEBOOK)
            & (
                (Post.slot_at <= soon)  # live at the slot (lead_seconds < FB_SCHEDULE_MARGIN)
                | ((Post.slot_at >= now + FB_SCHEDULE_MARGIN) & (Post.slot_at <= fb_horizon))
            ),
            (Post.channel == Channel.YOUTUBE) & (Post.slot_at <= yt_horizon),
        )
        query = (
            select(Post.id)
            .where(
                or_(
                    (Post.state == PostState.APPROVED)
                    # a moved or edited post's old platform copy goes at once, whatever the slot
                    & (ready | Post.replaces_remote_id.is_not(None))
                    & (Post.next_attempt_at.is_(None) | (Post.next_attempt_at <= now)),
                    (Post.state == PostState.PUBLISHING) & lost,
                ),
                ~waiting,
                ~tuple_(Post.channel, Post.account).in_(blocked) if blocked else true(),
            )
            .order_by(Post.slot_at, Post.id)
            .limit(limit or self.settings.publish.max_posts)
        )
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Post)
        return list(session.scalars(query))

    def claim(self, session: Session, now: datetime, limit: int = 10) -> list[Post]:
        """Take up to `limit` due posts in one short transaction: the rows are locked with
        SKIP LOCKED on PostgreSQL while they are claimed, and each claim is a compare-and-set,
        so two workers never hold the same post (on SQLite the single writer does the rest)."""
        lost = self._lost(session, now)
        claimed: list[tuple[int, str | None, str, str | None]] = []
        for post_id in self.due(session, now, limit, lost=lost):
            fresh = session.execute(
                update(Post)
                .where(Post.id == post_id, Post.state == PostState.APPROVED)
                .values(
                    state=PostState.PUBLISHING,
                    claimed_by=self.worker,
                    claimed_at=now,
                    version=Post.version + 1,
                )
            ).rowcount
            if fresh == 1:
                claimed.append((post_id, PostState.APPROVED, PostState.PUBLISHING, None))
                continue
            holder = session.scalar(select(Post.claimed_by).where(Post.id == post_id))
            lapsed_claim = session.execute(
                update(Post)
                .where(Post.id == post_id, Post.state == PostState.PUBLISHING, lost)
                .values(
                    claimed_by=self.worker,
                    claimed_at=now,
                    takeovers=Post.takeovers + 1,  # the vanished worker's try counts
                    attempts=Post.attempts + 1,
                    version=Post.version + 1,
                )
            ).rowcount
            if lapsed_claim == 1:
                note = self._takeover_note(session, post_id, holder)
                claimed.append((post_id, PostState.PUBLISHING, PostState.PUBLISHING, note))
        record(session, claimed, actor=self.worker, now=now)
        session.commit()
        ids = [post_id for post_id, *_ in claimed]
        return list(session.scalars(select(Post).where(Post.id.in_(ids)).order_by(Post.slot_at)))

    def _lost(self, session: Session, now: datetime) -> ColumnElement[bool]:
        """Which publishing posts another run may take over: a claim older than
        `publish.lease_seconds`, or one held by a flow run the Prefect server reports ended
        (asked only about other runs' claims within their lease). Such a claim must also be
        untouched for `prefect.lost_after_seconds`: a publisher renews its claim before every
        remote call, so one the server wrongly gave up on (heartbeats late, not dead) is not
        reconciled while its call is in flight; a dead run's claim is that old by the time the
        server marks it crashed."""
        lapsed = now - timedelta(seconds=self.settings.publish.lease_seconds)
        quiet = now - timedelta(seconds=self.settings.prefect.lost_after_seconds)
        held = session.scalars(
            select(Post.claimed_by)
            .distinct()
            .where(
                Post.state == PostState.PUBLISHING,
                Post.claimed_at >= lapsed,
                Post.claimed_at < quiet,
                Post.claimed_by != self.worker,
            )
        ).all()
        runs = {run: name for name in held if (run := claim_run(name)) is not None}
        self._ended = self._ended_among(frozenset(runs), now)
        ended = [runs[run] for run in self._ended if run in runs]
        return (Post.claimed_at < lapsed) | (Post.claimed_by.in_(ended) & (Post.claimed_at < quiet))

    def _ended_among(self, runs: frozenset[UUID], now: datetime) -> dict[UUID, str]:
        """`ended_runs` about `runs`, asked again only for runs not asked about in the last
        ASK_AGAIN (a run ended since is taken over that much later; its claim is quiet anyway)."""
        if not runs:
            return {}
        if self._asked is not None:
            at, asked, answer = self._asked
            if runs <= asked and at <= now < at + ASK_AGAIN:
                return {run: state for run, state in answer.items() if run in runs}
        answer = self.ended_runs(runs)
        self._asked = (now, runs, answer)
        return answer

    def _takeover_note(self, session: Session, post_id: int, holder: str | None) -> str:
        """What the takeover event says: why the claim was taken, where, and which try."""
        step, takeovers, attempts = session.execute(
            select(Post.publish_step, Post.takeovers, Post.attempts).where(Post.id == post_id)
        ).one()
        run = claim_run(holder)
        why = (
            f"its flow run {run} ended ({self._ended[run]})"
            if run is not None and run in self._ended
            else "claim lapsed"
        )
        return (
            f"{why}: taken over at step {step or 'start'} and reconciled "
            f"(takeover {takeovers}, attempt {attempts} of {self.settings.publish.max_attempts})"
        )

    # --- running -----------------------------------------------------------------------------

    def run(self, batch: int = 10) -> PublishReport:
        """Claim and publish due posts one at a time until none is left (or `max_posts`), so a
        worker killed mid-post strands that post alone until its lease ends, never posts it had
        not started. The account's slot (gate) is kept over up to `batch` consecutive posts of
        one account, then let go of for other workers; one post's failure never stops the
        others."""
        report = PublishReport()
        handled = 0
        try:
            with Session(self.engine) as session:
                misses = 0
                while handled < self.settings.publish.max_posts:
                    posts = self.claim(session, self.clock(), 1)
                    if not posts:
                        # another worker took these first; stop only when nothing is due any more
                        misses += 1
                        if misses > 3 or not self.due(session, self.clock(), 1):
                            session.rollback()
                            break
                        session.rollback()
                        continue
                    misses = 0
                    self.publish(session, posts[0], report)
                    self._keep_client_limits(session)
                    handled += 1
                    if handled % batch == 0:
                        self._let_go()  # other workers may want the account
        finally:
            self._let_go()
        return report

    # --- platform blocks (blocks.py) ----------------------------------------------------------

    def _keep_limit(
        self, session: Session, channel: str, account: str, error: Exception | None
    ) -> datetime | None:
        """Store a rate limit or spent quota for every run and worker (Graph: the account, or
        the app for an app-wide limit; YouTube's quota: the OAuth client's project) and defer
        the posts it covers; returns when it ends (None: not a limit)."""
        if not isinstance(error, ChannelBlocked):
            return None
        now = self.clock()
        session.rollback()
        until = error.blocked_until(now)
        keep_limit(session, self.settings, channel, account, error, now)
        session.commit()
        self._defer_blocked(session)
        return until

    def _keep_client_limits(self, session: Session) -> None:
        """A limit a Graph client set itself from the usage headers (no error raised yet) is
        stored too: the next run must not spend what is left of the budget."""
        for (channel, account), client in self.clients.graph_clients():
            error = client.blocked()
            if error is not None:
                self._keep_limit(session, channel, account, error)

    def _defer_blocked(self, session: Session) -> None:
        """Approved posts of a blocked account wait for the block's end, saying why."""
        now = self.clock()
        for (channel, account), block in blocked_accounts(session, self.settings, now).items():
            session.execute(
                update(Post)
                .where(
                    Post.channel == channel,
                    Post.account == account,
                    Post.state == PostState.APPROVED,
                    Post.slot_at <= block.blocked_until,
                    Post.next_attempt_at.is_(None) | (Post.next_attempt_at < block.blocked_until),
                )
                .values(next_attempt_at=block.blocked_until, last_error=describe(block))
                .execution_options(synchronize_session=False)
            )
        session.commit()

    def _let_go(self) -> None:
        """Release the account slot the gate keeps over a batch's posts. A failure (the Prefect
        server went away) is logged, not raised: the slot's lease runs out by itself, and the
        posts already sent must still be reported."""
        if self.gate is None:
            return
        try:
            self.gate.release()
        except Exception as exc:  # httpx, Prefect's own errors: nothing to do but say so
            _log.warning("the account slot could not be released (its lease runs out): %s", exc)

    def publish(self, session: Session, post: Post, report: PublishReport) -> None:
        try:
            not_yet = self._wait_for_slot(session, post)
        except _ClaimLost:
            report.retry_later.append((post.id or 0, self._claim_lost(session, post)))
            return
        if not_yet is not None:  # never sent before its slot
            why = f"not sent before its slot {post.slot_at:%Y-%m-%d %H:%M:%S} UTC"
            self._release(session, post, why, not_yet, report, count=False)
            return
        blocked = session.get(AccountState, (post.channel, post.account))
        if blocked is not None and blocked.needs_reauth_since is not None:
            # its token died (maybe for a post just before, in this batch): send nothing
            why = (
                f"not sent: the {post.channel} account {post.account!r} is waiting for "
                f"re-authorisation ({blocked.message or 'its token was refused'})"
            )
            self._reauth(session, post, why, report)
            return
        member = session.get(Member, post.member_id)
        gone = ("member no longer stored", True)
        refusal = consent_refusal(member, post.channel, self.clock()) if member else gone
        if refusal is not None and (
            post.publish_step is None or post.publish_step in _NOTHING_PUBLIC
        ):
            self._withdrawn(session, post, refusal[0], report)
            return
        late = self._late(session, post)
        if late is not None:
            self._missed(session, post, late, report)
            return
        block = block_for(session, self.settings, post.channel, post.account, self.clock())
        if block is not None:  # recorded by another worker since the claim: send nothing
            self._release(session, post, describe(block), block.blocked_until, report, count=False)
            return
        found_at = post.publish_step
        # over the attempt cap, or consent gone while an earlier call's outcome is unknown: the
        # platform is only asked what the earlier attempts left, and nothing new is sent
        self._capped = post.attempts >= self.settings.publish.max_attempts or refusal is not None
        nothing_out = post.remote_id is None and (found_at is None or found_at in _NOTHING_PUBLIC)
        if self._capped and nothing_out:
            self._capped = False
            self._gave_up(session, post, found_at, report)  # nothing of it can be out: no call
            return
        try:
            with self.gate.hold(post.channel, post.account) if self.gate else nullcontext():
                self._hold_claim(session, post)  # the wait may have outlasted the lease
                self._send(session, post, report)
            if refusal is None:  # consent withdrawn while the calls went out: undo them too
                refusal = self._refusal_after_send(session, post)
            if refusal is not None:  # the earlier call had gone out: undo it on the platform
                self._withdrawn(session, post, refusal[0], report)
        except _ClaimLost:
            report.retry_later.append((post.id or 0, self._claim_lost(session, post)))
        except _GiveUp:
            if refusal is not None:  # what the platform showed is recorded: cancelled, taken down
                self._withdrawn(session, post, refusal[0], report)
            else:
                self._gave_up(session, post, found_at, report)
        except _Release as release:
            self._release(session, post, str(release), release.when, report, count=release.count)
        except GateUnavailable as exc:
            self._release(session, post, str(exc), self.clock() + timedelta(minutes=1), report)
        except IFNError as exc:
            self._settle(session, post, exc, report)
        finally:
            self._capped = False

    def _settle(self, session: Session, post: Post, exc: IFNError, report: PublishReport) -> None:
        """What becomes of a post whose step failed, by the error's kind: the one table."""
        match exc:
            case ChannelReauthNeeded():  # the account waits for staff; its posts send nothing
                self._reauth(session, post, str(exc), report)
            case ChannelPublishLimit():  # the rolling limit: the next free hour
                self._next_slot(session, post, str(exc), report)
            case ChannelBlocked():  # kept for every worker; not a try of the post
                until = self._keep_limit(session, post.channel, post.account, exc) or self.clock()
                self._release(session, post, str(exc), until, report, count=False)
            case ChannelTransient() | ChannelOutcomeUnknown(reconcilable=True):
                # the step is stored: the next attempt asks the platform what happened first
                backoff = timedelta(minutes=2 ** min(post.attempts, 6))
                self._release(session, post, str(exc), self.clock() + backoff, report)
            case ChannelError():  # refused, not found, or an outcome only staff can settle
                self._fail(session, post, str(exc), exc.action, report)
            case _:  # ours (no card, a missing account): the message says what to fix
                self._fail(session, post, str(exc), ChannelError.action, report)

    def _send(self, session: Session, post: Post, report: PublishReport) -> None:
        if post.replaces_remote_id is not None:
            self._replace(session, post, report)
            return
        if post.channel not in set(Channel):
            raise SettingsError(f"unknown channel {post.channel!r}")
        adapter = self.clients[Channel(post.channel), post.account]
        outgoing = self._outgoing(post)
        if post.remote_id is None and self._goes_live_when_sent(post, outgoing.now):
            # time went on since the wait: a Facebook post claimed to schedule natively whose
            # slot is now inside the margin would be posted live, up to 15 minutes early
            lead = timedelta(seconds=self.settings.publish.lead_seconds)
            when = post.slot_at - lead if post.slot_at - outgoing.now > lead else post.slot_at
            why = f"not sent before its slot {post.slot_at:%Y-%m-%d %H:%M:%S} UTC"
            raise _Release(why, when, count=False)
        try:
            sent = adapter.publish(outgoing, _Record(self, session, post))
        except Again as again:
            raise _Release(str(again), self.clock()) from None
        if sent.live:
            self._done(session, post, client_permalink=sent.link)
        else:
            self._scheduled(session, post)
        if post.state == PostState.PUBLISHED:
            report.published.append(post.id or 0)
        elif post.state == PostState.SCHEDULED:
            report.scheduled.append(post.id or 0)

    # --- channels ----------------------------------------------------------------------------

    def _goes_live_when_sent(self, post: Post, now: datetime) -> bool:
        """Whether sending the post now makes it public now (Instagram; Facebook inside its
        scheduling margin), so it must not be sent before its slot. YouTube's `publishAt` and
        Facebook's native schedule keep the time themselves; a moved post's old copy is
        deleted at once and the post itself goes on a later run."""
        if post.replaces_remote_id is not None or post.slot_at <= now:
            return False
        if post.channel == Channel.INSTAGRAM:
            return True
        return post.channel == Channel.FACEBOOK and post.slot_at < now + FB_SCHEDULE_MARGIN

    def _wait_for_slot(self, session: Session, post: Post) -> datetime | None:
        """Wait (with `sleep`) for the slot of a post that would go live when sent and is at
        most `publish.lead_seconds` away, renewing the claim at least every third of the lease.
        Returns when to try again instead (None: go on now): a post taken over further ahead
        (its claim lapsed long before its slot) waits for a run near the slot, and one whose
        clock did not move while we slept for its slot. A post found half-way waits too: its
        adapter asks the platform first, and if the lost call left nothing, sends it live, so
        not before the slot (Facebook's scheduled copy, if it is there, goes live at the slot
        anyway). One whose platform id is stored sends nothing more: it goes on."""
        if post.remote_id is not None:
            return None
        lead = timedelta(seconds=self.settings.publish.lead_seconds)
        chunk = self.settings.publish.lease_seconds / 3
        for _ in range(int(lead.total_seconds() // chunk) + 3):
            now = self.clock()
            if not self._goes_live_when_sent(post, now):
                return None
            if post.slot_at - now > lead:
                return post.slot_at - lead
            self.sleep(min((post.slot_at - now).total_seconds(), chunk))
            self._hold_claim(session, post)
            session.commit()
        return post.slot_at if self._goes_live_when_sent(post, self.clock()) else None

    def _claim_lost(self, session: Session, post: Post) -> str:
        """Why our claim is gone: another worker took it over, or the post itself changed
        meanwhile (staff cancelled it during the wait for its slot)."""
        session.rollback()
        state = session.scalar(select(Post.state).where(Post.id == post.id))
        if state == PostState.PUBLISHING:
            return "taken over by another worker"
        return f"left alone: it became {state} meanwhile, nothing was sent"

    def _hold_claim(self, session: Session, post: Post) -> None:
        """Renew our claim by compare-and-set, or raise _ClaimLost if another worker holds it."""
        held = session.execute(
            update(Post)
            .where(
                Post.id == post.id,
                Post.state == PostState.PUBLISHING,
                Post.claimed_by == self.worker,
            )
            .values(claimed_at=self.clock())
            .execution_options(synchronize_session=False)
        ).rowcount
        if held != 1:
            raise _ClaimLost(post.id)

    def _step(self, session: Session, post: Post, step: str) -> None:
        if self._capped:  # whatever the platform showed has been taken: start nothing new
            raise _GiveUp(step)
        self._hold_claim(session, post)
        post.publish_step = step
        session.commit()
        self._at(f"before:{step}")

    def _stored(self, session: Session, step: str) -> None:
        session.commit()
        self._at(f"after:{step}")

    def _at(self, point: str) -> None:
        if self.reached is not None:
            self.reached(point)

    def _outgoing(self, post: Post) -> Outgoing:
        """What the adapter sends, read from the post once, with the clock at the start."""
        return Outgoing(
            name=f"post {post.id}",
            caption=post.caption or "",
            slot_at=post.slot_at,
            now=self.clock(),
            since=self._since(post),
            card_path=self._file(post.card_path),
            alt_text=post.alt_text,
            slides=tuple(
                (str(self.settings.path(slide["path"])), slide.get("alt"))
                for slide in post.slides or []
            ),
            user_tags=tuple(post.user_tags or []),
            title=post.title or "",
            tags=tuple(post.tags or []),
            thumbnail_path=self._file(post.thumbnail_path),
        )

    def _file(self, stored: str | None) -> str | None:
        """A stored card or thumbnail path as the file to read (under the data folder)."""
        return None if stored is None else str(self.settings.path(stored))

    def _media_url(self, session: Session, post: Post) -> str:
        if not post.card_path:
            raise LedgerError(f"post {post.id} has no card: run `ifn-campaign compose`")
        if post.media_url is None:
            post.media_url = self._public(self.settings.path(post.card_path))
            session.commit()
        return post.media_url

    def _public(self, path: Path) -> str:
        return public_url(self.settings.publish.media_base_url, self.settings.cards.cache_dir, path)

    def _replace(self, session: Session, post: Post, report: PublishReport) -> None:
        """Delete the copy scheduled before staff moved or edited the post, then give the post
        back (approved) to go out like any other. If the old copy went live meanwhile, the
        change came too late: that copy is the post, recorded as published."""
        old = post.replaces_remote_id or ""
        old_at, now = post.replaces_slot_at, self.clock()
        if old_at is not None and old_at - REPLACE_MARGIN <= now < old_at + REPLACE_SETTLE:
            # the old copy may be going out right now (staff changed the post in time, but
            # this run comes late): a delete could cross the platform publishing it, and the
            # new copy would go out as well. Look again once that moment has passed.
            self._release(
                session,
                post,
                f"the earlier copy {old} goes out at {old_at:%Y-%m-%d %H:%M} UTC: whether it "
                "did is checked after that, before anything is deleted or sent",
                old_at + REPLACE_SETTLE,
                report,
            )
            return
        self._step(session, post, "replace")
        try:
            live, link, live_at = _went_live(self, post.channel, post.account, old)
        except ChannelNotFound:
            live, link, live_at = False, None, None  # gone (deleted by hand, or our lost answer)
        if not live:
            _delete(self, post, old)
        self._at("called:replace")
        post.replaces_remote_id = post.replaces_slot_at = None
        if live:
            post.remote_id = old
            post.last_error = "moved or edited too late: the earlier copy had already gone out"
            self._done(
                session, post, client_permalink=functools.partial(_same, link), live_at=live_at
            )
            report.published.append(post.id or 0)
            return
        post.publish_step = None
        post.claimed_by = post.claimed_at = None
        move(
            session,
            post,
            PostState.APPROVED,
            actor=self.worker,
            now=self.clock(),
            note=f"the earlier copy {old} was deleted on {post.channel}",
        )
        self._stored(session, "replace")
        report.replaced.append(post.id or 0)

    # --- endings -----------------------------------------------------------------------------

    def _since(self, post: Post) -> datetime:
        # nothing goes out before its slot; the claim may be hours younger than the lost call
        return min(post.claimed_at or self.clock(), post.slot_at) - timedelta(hours=1)

    def _scheduled(self, session: Session, post: Post) -> None:
        _thumbnail_left(post)
        if post.state != PostState.SCHEDULED:
            move(
                session,
                post,
                PostState.SCHEDULED,
                actor=self.worker,
                now=self.clock(),
                note="scheduled on the platform",
            )
        post.claimed_by = post.claimed_at = None
        session.commit()

    def _done(
        self,
        session: Session,
        post: Post,
        *,
        client_permalink: Callable[[], str | None],
        live_at: datetime | None = None,
    ) -> None:
        """Published: the ledger's time is `live_at`, the platform's own time for a post it
        published on its schedule (reconcile may notice it hours later), else now."""
        _thumbnail_left(post)
        now = self.clock()
        try:
            post.permalink = client_permalink()
        except ChannelError as exc:
            post.last_error = f"published; the link could not be read yet: {exc}"
        post.published_at = post.published_at or min(live_at or now, now)
        move(session, post, PostState.PUBLISHED, actor=self.worker, now=now)
        post.claimed_by = post.claimed_at = None
        session.flush()
        record_feature(session, post, post.published_at, post.permalink)
        session.commit()

    def _release(
        self,
        session: Session,
        post: Post,
        why: str,
        when: datetime,
        report: PublishReport,
        *,
        count: bool = True,
    ) -> None:
        """Back to approved until `when`; `count`: a try of the post (not a platform block)."""
        session.rollback()
        post.attempts += 1 if count else 0
        # the outcome may be out there: the cap asks the platform first
        unknown = post.publish_step in ("publish", "fb_post", "replace", "yt_upload")
        if count and post.attempts >= self.settings.publish.max_attempts and not unknown:
            self._fail(
                session, post, why, "tried too often: check the account, then approve", report
            )
            return
        post.next_attempt_at = when
        post.last_error = why
        post.claimed_by = post.claimed_at = None
        move(session, post, PostState.APPROVED, actor=self.worker, now=self.clock(), note=why)
        session.commit()
        report.retry_later.append((post.id or 0, why))

    def _fail(
        self, session: Session, post: Post, why: str, action: str, report: PublishReport
    ) -> None:
        session.rollback()
        if post.replaces_remote_id is not None:
            action = (
                f"{action}. The earlier copy {post.replaces_remote_id} is still scheduled on "
                f"{post.channel}: delete it there if the new one will not go out"
            )
        post.last_error, post.error_action = why, action
        post.claimed_by = post.claimed_at = None
        _forget_containers(post)
        move(session, post, PostState.FAILED, actor=self.worker, now=self.clock(), note=why)
        session.commit()
        report.failed.append((post.id or 0, why))

    def _gave_up(
        self, session: Session, post: Post, step: str | None, report: PublishReport
    ) -> None:
        """Over `publish.max_attempts`: failed with its history, unless the platform showed it
        is already there (exactly once wins over the cap: recorded, the unfinished step left)."""
        session.rollback()
        where = f"at step {step or 'start'}"
        history = (
            f"taken over {post.takeovers} times {where} (its publisher died there)"
            if post.takeovers
            else f"tried {post.attempts} times, last {where}: {post.last_error or 'no answer'}"
        )
        why = f"gave up after {post.attempts} attempts: {history}"
        if post.remote_id is None:
            action = (
                f"look on {post.channel} ({post.account}) whether the post is there; if not, "
                "publish it by hand or approve it again once the cause is fixed (`ifn-campaign "
                "status` and the post's events show each try)"
            )
            self._fail(session, post, why, action, report)
            return
        post.last_error = f"{why}; it is on {post.channel} ({post.remote_id}), so it counts"
        if post.channel != Channel.INSTAGRAM and post.slot_at > self.clock():
            self._scheduled(session, post)
            report.scheduled.append(post.id or 0)
            return
        self._done(session, post, client_permalink=functools.partial(_current_link, self, post))
        report.published.append(post.id or 0)

    def _late(self, session: Session, post: Post) -> timedelta | None:
        """How late past `publish.max_lateness` a post with nothing of it sent yet is (None: on
        time). A post found half-way may already be out: it goes on, to be reconciled."""
        if post.remote_id is not None or post.replaces_remote_id is not None:
            return None
        if post.publish_step is not None and post.publish_step not in _NOTHING_PUBLIC:
            return None
        return missed_by(session, post, self.clock(), self.settings.publish.max_lateness)

    def _missed(self, session: Session, post: Post, late: timedelta, report: PublishReport) -> None:
        """Hold a post that would go out too late: nothing is sent, staff decide."""
        limit = self.settings.publish.max_lateness
        post.claimed_by = post.claimed_at = None
        _forget_containers(post)  # any container expires before staff decide
        miss(session, post, actor=self.worker, now=self.clock(), late=late, limit=limit)
        session.commit()
        report.missed.append((post.id or 0, post.last_error or ""))

    def _refusal_after_send(self, session: Session, post: Post) -> tuple[str, bool] | None:
        """Consent read again once a post is out or scheduled: a withdrawal committed after the
        last check (the member's page, a sync) found the post `publishing` and left it to us,
        and nobody else asks for its takedown."""
        if post.state not in (PostState.PUBLISHED, PostState.SCHEDULED):
            return None
        member = session.get(Member, post.member_id, populate_existing=True)
        if member is None:
            return ("member no longer stored", True)
        refusal = consent_refusal(member, post.channel, self.clock())
        if refusal is not None and post.state == PostState.PUBLISHED and not refusal[1]:
            return None  # a suspension alone leaves published posts up, as the sync does
        return refusal

    def _withdrawn(self, session: Session, post: Post, why: str, report: PublishReport) -> None:
        """Consent first, also at the last moment: the member withdrew (or was suspended) after
        the post was claimed. Nothing public yet: cancelled (an old scheduled copy it replaces
        goes with `take_down`); already out: scheduled copies are cancelled and published ones
        marked for takedown, like a withdrawal seen by the sync."""
        session.rollback()
        now = self.clock()
        note = f"not published: {why}"
        if post.state == PostState.PUBLISHED:
            post.takedown_requested_at = post.takedown_requested_at or now
            report.failed.append((post.id or 0, f"published, then taken down: {why}"))
        else:
            move(session, post, PostState.CANCELLED, actor=self.worker, now=now, note=note)
            report.failed.append((post.id or 0, note))
        post.claimed_by = post.claimed_at = None
        session.commit()

    def _reauth(self, session: Session, post: Post, why: str, report: PublishReport) -> None:
        session.rollback()
        now = self.clock()
        action = (
            f"re-authorise the {post.channel} account {post.account!r}, store the new secret, "
            f"then run `ifn-campaign accounts reauthorised {post.channel} {post.account}`"
        )
        post.last_error, post.error_action = why, action
        post.claimed_by = post.claimed_at = None
        _forget_containers(post)
        move(session, post, PostState.NEEDS_REAUTH, actor=self.worker, now=now, note=why)
        state = session.get(AccountState, (post.channel, post.account)) or AccountState(
            channel=post.channel, account=post.account
        )
        if state.needs_reauth_since is None:  # keep the first refusal and its message
            state.needs_reauth_since, state.message = now, why
        session.add(state)
        session.commit()
        report.needs_reauth.append((post.id or 0, why))

    def _next_slot(self, session: Session, post: Post, why: str, report: PublishReport) -> None:
        """Over the publishing limit: the post takes the next free hour on its account."""
        session.rollback()
        now = self.clock()
        taken = set(
            session.scalars(
                select(Post.slot_at).where(
                    Post.channel == post.channel,
                    Post.account == post.account,
                    Post.state.not_in([PostState.CANCELLED, PostState.FAILED]),
                    Post.id != post.id,
                )
            )
        )
        candidate = max(post.slot_at, now).replace(minute=0, second=0, microsecond=0)
        candidate += timedelta(hours=1)
        while candidate in taken:
            candidate += timedelta(hours=1)
        note = f"{why}; moved from {post.slot_at.isoformat()} to {candidate.isoformat()}"
        post.slot_at = candidate
        post.claimed_by = post.claimed_at = None
        post.last_error = why
        move(session, post, PostState.APPROVED, actor=self.worker, now=now, note=note)
        session.commit()
        report.moved.append((post.id or 0, candidate))


def _forget_containers(post: Post) -> None:
    """A post that failed before `media_publish` starts over when approved again: its
    containers expire in 24 h, and an errored or expired one can never be published."""
    if post.remote_id is None and post.publish_step != "publish":
        post.remote_container_id = post.slide_container_ids = None


def _post_video(
    post: Post,
    folder: Path,
    *,
    profile_url: str,
    templates_dir: Path | None,
    file: Callable[[str], Path],
) -> Path:
    """The Short as compose makes it (the same words and pace: the user's templates.dir too)."""
    from ifn_campaign.cards.shorts import post_video  # PyAV loads only when a Short is made

    return post_video(post, folder, profile_url=profile_url, templates_dir=templates_dir, file=file)


class _Record:
    """`Steps` over one claimed post and its session: what an adapter's `publish` records
    through. Each step is committed before it runs (the claim renewed, nothing begun over the
    attempt cap), each id the moment it arrives; `Publisher.reached` is called at each point."""

    def __init__(self, publisher: Publisher, session: Session, post: Post) -> None:
        self.publisher = publisher
        self.session = session
        self.post = post

    @property
    def capped(self) -> bool:
        return self.publisher._capped

    @property
    def kept(self) -> dict[str, Any]:
        return self.publisher._kept.setdefault((self.post.channel, self.post.account), {})

    def step(self, name: str) -> None:
        self.publisher._step(self.session, self.post, name)

    def called(self, name: str) -> None:
        self.publisher._at(f"called:{name}")

    def remember(self, name: str | None = None, **values: Any) -> None:
        for key, value in values.items():
            if key not in _REMEMBERED:
                raise ValueError(f"an adapter cannot store {key!r} on a post")
            setattr(self.post, key, value)
        if name is None:
            self.session.commit()
        else:
            self.publisher._stored(self.session, name)

    def recorded(self, key: str) -> Any:
        if key not in _REMEMBERED and key != "publish_step":
            raise ValueError(f"a post records no {key!r} for its adapter")
        return getattr(self.post, key)

    def forget(self, why: str, *keys: str) -> None:
        old: list[str] = []
        for key in keys:
            value = self.recorded(key)
            old += value if isinstance(value, list) else [value] if value else []
            setattr(self.post, key, None)
        note(
            self.session,
            self.post,
            actor=self.publisher.worker,
            now=self.publisher.clock(),
            text=f"{why} (old: {', '.join(old) or 'none'})",
        )
        self.post.publish_step = None
        self.session.commit()

    def media_url(self, path: str | None = None) -> str:
        if path is None:
            return self.publisher._media_url(self.session, self.post)
        return self.publisher._public(Path(path))

    def video(self) -> Path:
        post = self.post
        cfg = self.publisher.settings
        if not post.video_path or not cfg.path(post.video_path).is_file():
            from ifn_campaign.cards.shorts import video_folder

            folder = video_folder(cfg.cards.cache_dir)
            post.video_path = cfg.stored(self.publisher.make_video(post, folder))
            self.session.commit()
        return cfg.path(post.video_path)

    def aside(self, name: str, refused: Exception | None) -> None:
        """The thumbnail's outcome on the post ("set", "pending" for reconcile, "failed"),
        the step done (`yt_done`), and a spent quota kept as a platform block."""
        passing = _thumbnail_outcome(self.post, refused)
        self.post.publish_step = "yt_done"
        self.publisher._stored(self.session, name)
        self.publisher._keep_limit(self.session, self.post.channel, self.post.account, passing)


# what adapters store on a post through `Steps.remember` (and read back with `recorded`)
_REMEMBERED = frozenset(
    {
        "remote_id",
        "remote_container_id",
        "slide_container_ids",
        "remote_photo_id",
        "upload_session_url",
    }
)


@dataclass
class ReconcileReport:
    went_live: list[int] = field(default_factory=list)
    links: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    thumbnails: list[int] = field(default_factory=list)  # pending thumbnails set now
    # posts of accounts whose token died, left alone until staff re-authorise: (post, what to do)
    awaiting_reauth: list[tuple[int, str]] = field(default_factory=list)


def reconcile(
    publisher: Publisher, *, recent_days: int = 30, post_ids: Collection[int] | None = None
) -> ReconcileReport:
    """Confirm what the platforms did on their own: natively scheduled Facebook and YouTube
    posts whose time has come went live (feature and link recorded), published posts still
    lacking a link get it, and published posts of the last `recent_days` that the platform no
    longer has are marked as removed. Reads only: nothing is ever posted from here. `post_ids`
    narrows it to those posts (the demo: the posts its own sandboxes hold). Accounts awaiting
    re-authorisation are not called at all, as the publisher does (their posts are listed)."""
    report = ReconcileReport()
    now = publisher.clock()
    only = Post.id.in_(list(post_ids)) if post_ids is not None else true()
    with Session(publisher.engine) as session:
        waiting = _awaiting_reauth(session)
        due = session.scalars(
            select(Post)
            .where(Post.state == PostState.SCHEDULED, Post.slot_at <= now, only)
            .order_by(Post.slot_at)
        ).all()
        for post in _unblocked(publisher, session, _reachable(due, waiting, report), report):
            try:
                live, link, live_at = _went_live(
                    publisher, post.channel, post.account, post.remote_id or ""
                )
            except IFNError as exc:  # a ChannelError, or an account gone from the settings
                publisher._keep_limit(session, post.channel, post.account, exc)
                report.problems.append((post.id or 0, str(exc)))
                session.rollback()
                continue
            if live:
                publisher._done(
                    session, post, client_permalink=functools.partial(_same, link), live_at=live_at
                )
                report.went_live.append(post.id or 0)
        since = now - timedelta(days=recent_days)
        published = session.scalars(
            select(Post).where(
                Post.state == PostState.PUBLISHED,
                Post.published_at >= since,
                Post.taken_down_at.is_(None),
                Post.remote_id.is_not(None),
                only,
            )
        ).all()
        for post in _unblocked(publisher, session, _reachable(published, waiting, report), report):
            try:
                link = _current_link(publisher, post)
            except ChannelNotFound:
                post.taken_down_at = now
                post.last_error = f"no longer on {post.channel}: removed on the platform"
                session.commit()
                report.removed.append(post.id or 0)
                continue
            except IFNError as exc:  # a ChannelError, or an account gone from the settings
                publisher._keep_limit(session, post.channel, post.account, exc)
                report.problems.append((post.id or 0, str(exc)))
                continue
            if link and link != post.permalink:
                post.permalink = link
                record_feature(session, post, post.published_at or now, link)
                session.commit()
                report.links.append(post.id or 0)
        _retry_thumbnails(publisher, session, only, report)
    return report


def _unblocked(
    publisher: Publisher, session: Session, posts: Collection[Post], report: ReconcileReport
) -> Iterator[Post]:
    """The posts whose account no platform block covers, looked up as each comes (a limit met
    on one post stops the account's next ones); the others are reported, not called."""
    for post in posts:
        block = block_for(
            session, publisher.settings, post.channel, post.account, publisher.clock()
        )
        if block is None:
            yield post
            continue
        when = f"{block.blocked_until:%Y-%m-%d %H:%M} UTC"
        report.problems.append((post.id or 0, f"not checked until {when}: {describe(block)}"))


def _awaiting_reauth(session: Session) -> dict[tuple[str, str], str]:
    """Accounts whose token died, with what staff do: calling them only repeats the refusal."""
    return {
        (state.channel, state.account): (
            f"{state.channel} account {state.account!r} awaits re-authorisation: not called; "
            "store a new token, then run "
            f"`ifn-campaign accounts reauthorised {state.channel} {state.account}`"
        )
        for state in session.scalars(
            select(AccountState).where(AccountState.needs_reauth_since.is_not(None))
        )
    }


def _reachable(
    posts: Collection[Post], waiting: dict[tuple[str, str], str], report: ReconcileReport
) -> list[Post]:
    """The posts whose account may be called; the others go to the report with the reason."""
    for post in posts:
        why = waiting.get((post.channel, post.account))
        if why is not None:
            report.awaiting_reauth.append((post.id or 0, why))
    return [post for post in posts if (post.channel, post.account) not in waiting]


# a thumbnail refused for these reasons is tried again by reconcile (a spent quota is a
# ChannelBlocked, so transient too); any other refusal is final
_THUMBNAIL_PASSING = (ChannelTransient, ChannelReauthNeeded)
_THUMBNAIL_NOTE = "thumbnail not set"


def _set_thumbnail(client: YouTubeClient, post: Post, cfg: Settings) -> ChannelError | None:
    """A thumbnail never fails its video: a passing refusal (5xx, rate limit, timeout, quota,
    a token to renew) leaves it "pending" for reconcile, any other is "failed" with YouTube's
    reason. The post's note says which, replacing an earlier thumbnail note. Returns the
    passing refusal: a spent quota is kept as a platform block by the caller."""
    refused: Exception | None = None
    try:
        client.set_thumbnail(post.remote_id or "", cfg.path(post.thumbnail_path or ""))
    except (ChannelError, OSError) as exc:  # OSError: the thumbnail file cannot be read
        refused = exc
    return _thumbnail_outcome(post, refused)


def _thumbnail_outcome(post: Post, refused: Exception | None) -> ChannelError | None:
    """Record a thumbnail's outcome on the post (state and note, as `_set_thumbnail` says);
    returns the refusal when it is a passing one, for the caller to keep a spent quota."""
    notes = [n for n in post.compose_notes or [] if not n.startswith(_THUMBNAIL_NOTE)]
    passing: ChannelError | None = None
    if isinstance(refused, _THUMBNAIL_PASSING):
        passing = refused
        post.thumbnail_state = "pending"
        notes.append(f"{_THUMBNAIL_NOTE} yet: {refused}; retried by reconcile")
    elif isinstance(refused, ChannelError | OSError):
        post.thumbnail_state = "failed"
        notes.append(f"{_THUMBNAIL_NOTE}: {refused}")
    elif refused is not None:
        raise refused
    else:
        post.thumbnail_state = "set"
    post.compose_notes = notes or None  # a new list: JSON columns track assignment
    return passing


def _thumbnail_left(post: Post) -> None:
    """A video recorded without its thumbnail ever tried (a takeover over the attempt cap
    records what is up and sends nothing more) is left "pending" for reconcile, not forgotten."""
    if post.channel == Channel.YOUTUBE and post.thumbnail_path and post.thumbnail_state is None:
        post.thumbnail_state = "pending"
        why = "the publisher gave up before setting it; retried by reconcile"
        post.compose_notes = [*(post.compose_notes or []), f"{_THUMBNAIL_NOTE} yet: {why}"]


def _retry_thumbnails(
    publisher: Publisher, session: Session, only: ColumnElement[bool], report: ReconcileReport
) -> None:
    """Pending thumbnails of videos still up, once each; an account whose quota or token
    refused one is left for the next run, and one under a platform block (the quota spent
    until midnight Pacific) is not called."""
    pending = session.scalars(
        select(Post)
        .where(
            Post.channel == Channel.YOUTUBE,
            Post.thumbnail_state == "pending",
            Post.remote_id.is_not(None),
            Post.thumbnail_path.is_not(None),
            Post.taken_down_at.is_(None),
            Post.state.in_([PostState.SCHEDULED, PostState.PUBLISHED]),
            only,
        )
        .order_by(Post.id)
    ).all()
    held: set[str] = set()
    for post in _unblocked(publisher, session, pending, report):
        waiting = session.get(AccountState, (Channel.YOUTUBE, post.account))
        if post.account in held or (waiting is not None and waiting.needs_reauth_since):
            continue
        try:
            refused = _set_thumbnail(
                publisher.clients.youtube(post.account), post, publisher.settings
            )
        except ConfigError as exc:
            report.problems.append((post.id or 0, str(exc)))
            continue
        session.commit()
        publisher._keep_limit(session, post.channel, post.account, refused)
        if post.thumbnail_state == "set":
            report.thumbnails.append(post.id or 0)
        elif post.thumbnail_state == "pending":
            held.add(post.account)


def _same(value: str | None) -> str | None:
    return value


def _went_live(
    publisher: Publisher, channel: str, account: str, remote_id: str
) -> tuple[bool, str | None, datetime | None]:
    """Whether a natively scheduled copy is public by now, its link, and when it went public
    by the platform's clock (Facebook's scheduled or created time, YouTube's publishedAt)."""
    copy = publisher.clients[Channel(channel), account].read_back(remote_id)
    return copy.live, copy.link, copy.live_at


def _current_link(publisher: Publisher, post: Post) -> str | None:
    """The link of a published copy; `ChannelNotFound` when the platform no longer has it."""
    return (
        publisher.clients[Channel(post.channel), post.account].read_back(post.remote_id or "").link
    )


@dataclass
class TakedownReport:
    removed: list[int] = field(default_factory=list)
    left_to_staff: list[int] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def take_down(publisher: Publisher) -> TakedownReport:
    """Consent first, on the platforms too: a cancelled post that is already scheduled on
    Facebook or YouTube is deleted there before its time, and a published one whose member
    withdrew is deleted where the API allows (Facebook, YouTube). Instagram has no delete API:
    those stay listed for staff (`ifn-campaign takedowns`). A post sent back to review after it
    was scheduled (the member's "Mohon diubah", a staff rejection) has its old scheduled copy
    deleted too, at once: the publisher replaces only approved posts, and staff may not look
    before that copy's time. An account under a platform block or awaiting re-authorisation is
    not called (more calls lengthen a block; a dead token only repeats its refusal): its posts
    are reported and the next run deletes them."""
    report = TakedownReport()
    now = publisher.clock()
    with Session(publisher.engine) as session:
        waiting = _awaiting_reauth(session)
        posts = session.scalars(
            select(Post)
            .where(
                Post.remote_id.is_not(None) | Post.replaces_remote_id.is_not(None),
                Post.taken_down_at.is_(None),
                or_(
                    Post.state == PostState.CANCELLED,
                    (Post.state == PostState.PUBLISHED) & Post.takedown_requested_at.is_not(None),
                    Post.state.in_(REPLANNABLE_STATES) & Post.replaces_remote_id.is_not(None),
                ),
            )
            .order_by(Post.id)
        ).all()
        for post in posts:
            in_review = post.state in REPLANNABLE_STATES
            old_at = post.replaces_slot_at
            if (
                in_review
                and old_at is not None
                and old_at - REPLACE_MARGIN <= now < old_at + REPLACE_SETTLE
            ):
                continue  # it may be going live right now: as `_replace`, look once it has
            adapter: ChannelAdapter | None = None
            try:
                adapter = publisher.clients[Channel(post.channel), post.account]
            except IFNError as exc:  # gone from the settings, or its secret cannot be read:
                unusable = str(exc)  # its posts wait, the other accounts' still go
            able = adapter.can_take_down if adapter else ChannelClients.can_take_down(post.channel)
            if not able:
                report.left_to_staff.append(post.id or 0)
                continue
            if adapter is None:
                report.problems.append((post.id or 0, f"not taken down yet: {unusable}"))
                continue
            held = _why_not_called(publisher, session, post, waiting)
            if held is not None:
                report.problems.append((post.id or 0, f"not taken down yet: {held}"))
                continue
            # a moved post cancelled before its old copy was replaced: that copy goes too
            copies = [c for c in (post.remote_id, post.replaces_remote_id) if c]
            try:
                for copy in copies:
                    _delete(publisher, post, copy)
            except IFNError as exc:  # a ChannelError of any kind, or a missing account
                report.problems.append((post.id or 0, str(exc)))
                continue
            if in_review:  # the post itself goes on, through review
                post.replaces_remote_id = post.replaces_slot_at = None
            else:
                post.taken_down_at = now
            session.commit()
            report.removed.append(post.id or 0)
    return report


def _why_not_called(
    publisher: Publisher, session: Session, post: Post, waiting: dict[tuple[str, str], str]
) -> str | None:
    """Why this post's account must not be called now, or None when it may be."""
    why = waiting.get((post.channel, post.account))
    if why is not None:
        return why
    block = block_for(session, publisher.settings, post.channel, post.account, publisher.clock())
    if block is None:
        return None
    return f"{describe(block)}; the next run after {block.blocked_until:%Y-%m-%d %H:%M} UTC tries"


def _delete(publisher: Publisher, post: Post, remote_id: str) -> None:
    # already gone (ChannelNotFound): by a person, or an earlier attempt whose answer was lost
    with suppress(ChannelNotFound):
        publisher.clients[Channel(post.channel), post.account].take_down(remote_id)
