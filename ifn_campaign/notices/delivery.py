"""Sending the outbox exactly once: claim, record the step, send, mark (as publisher.py does).

`send_due` takes due pending notices (`next_attempt_at <= now`) in batches of `notices.batch`
with a compare-and-set on their state (pending -> sending, `claimed_by`/`claimed_at`; `FOR
UPDATE SKIP LOCKED` on PostgreSQL), commits the claim, sends each, and commits its outcome, so
two workers never send the same notice. The send itself (smtp.py, apprise_send.py) commits
`step = "data"` just before the point after which the message may have arrived.

A claim older than `notices.lease_seconds` belongs to a dead worker: without a step it is
pending again (nothing can have arrived); with step "data" it becomes `uncertain`. An uncertain
e-mail is looked up by its Message-ID in the Sent folder (imap.py) when `notices.imap_host` is
set: found -> sent; not found -> pending (sent again with the same Message-ID), the cut-off send
counted as a try (failed at `max_attempts`); IMAP not answering -> still uncertain, asked
again later. Without IMAP, and always for Apprise (which
gives no id), staff decide: `resolve(..., sent=True|False)`.

Temporary failures (4xx, refused or broken connection, timeout, Apprise saying no) wait
`min(retry_base * 2**attempts, retry_max)` plus up to a tenth more, up to `max_attempts`, then
the notice fails. A server that cannot be connected to, or refuses for now before any message
is started (a 421 greeting, EHLO or login: `SmtpDown`), costs no try: the notice waits
`retry_base` and goes when the server is back, however long the outage (so do the run's other
notices, untried once the server is found away). A 5xx at RCPT fails the notice and is
recorded on the member's `NoticeContact` (`refused_address`), which staff see and the outbox
skips. Our own SMTP configuration refused (sender, login, TLS) raises `SettingsError` after
giving every claimed notice back untouched. No secret is ever written to a row or a log.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select, true, update
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.errors import SettingsError, TransitionError
from ifn_campaign.members.links import unsubscribe_url
from ifn_campaign.models import (
    Member,
    Notice,
    NoticeContact,
    NoticeKind,
    NoticeMedium,
    NoticeState,
    Post,
    PostState,
)
from ifn_campaign.notices import apprise_send
from ifn_campaign.notices.contacts import ContactRefused, email_address, load_contacts
from ifn_campaign.notices.imap import ImapUnavailable, in_sent_folder, searchable
from ifn_campaign.notices.outbox import (
    NOTIFY_STATES,
    TOLD_KINDS,
    WENT_STATES,
    QueueReport,
    no_longer_applies,
    queue_due,
)
from ifn_campaign.notices.smtp import (
    SmtpAddressRefused,
    SmtpClaimLost,
    SmtpConnection,
    SmtpDown,
    SmtpMessageRefused,
    SmtpTemporary,
    SmtpUncertain,
    SmtpUnreachable,
    bare_address,
    build_message,
)
from ifn_campaign.reports.markdown import escape_markdown as _md

if TYPE_CHECKING:  # staff.py reads `waiting` from here
    from ifn_campaign.notices.staff import Overdue

__all__ = [
    "SendReport",
    "backoff",
    "notices_markdown",
    "resolve",
    "retry",
    "run_notices",
    "send_due",
    "send_markdown",
    "waiting",
    "worker_name",
]

_log = logging.getLogger("ifn_campaign.notices")
STEP_DATA = "data"
Reached = Callable[[str], None]


@dataclass
class SendReport:
    """What one `send_due` run did, notice by notice (ids, and why for all but `sent`)."""

    sent: list[int] = field(default_factory=list)
    retry_later: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # the address, for good
    uncertain: list[tuple[int, str]] = field(default_factory=list)
    found_sent: list[int] = field(default_factory=list)  # uncertain, found in the Sent folder
    resent: list[int] = field(default_factory=list)  # uncertain, not found: sent again
    dropped: list[tuple[int, str]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # why a medium's notices wait
    # why the mail server could not be used in this run (its e-mails wait): the flow's run
    # then fails, and the summary says so first, instead of a green "0 sent"
    mail_server: str | None = None


def worker_name() -> str:
    return f"notices:{socket.gethostname()}:{os.getpid()}"


def backoff(settings: Settings, attempts: int, *, jitter: float | None = None) -> timedelta:
    """The wait after the `attempts`-th failed try (1 for the first): retry_base doubled per
    earlier failure, at most retry_max, plus up to a tenth more so failed notices spread."""
    cfg = settings.notices
    wait = min(cfg.retry_base_seconds * 2 ** max(attempts - 1, 0), cfg.retry_max_seconds)
    share = random.random() if jitter is None else jitter  # noqa: S311 (spreading, not secrecy)
    return timedelta(seconds=wait * (1 + share / 10))


class _Sender:
    """One run's sending: the claimed rows, the SMTP session, the outcome commits."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        secrets: Callable[[str], str],
        now: datetime,
        worker: str,
        reached: Reached | None,
        report: SendReport,
        clock: Callable[[], datetime],
    ) -> None:
        self.session = session
        self.settings = settings
        self.secrets = secrets
        self.now = now
        self.clock = clock
        self.worker = worker
        self.reached = reached
        self.report = report
        self._smtp: SmtpConnection | None = None
        self._apprise_template: str | None = None
        self.unreachable: str | None = None  # why the SMTP server could not be reached

    # --- outcome commits (compare-and-set on our claim) ------------------------------------

    def _set(self, notice_id: int, *, commit: bool = True, **values: Any) -> bool:
        """Update our claimed row and commit; False if the claim is no longer ours."""
        values.setdefault("state_changed_at", self.now)
        done = self.session.execute(
            update(Notice)
            .where(
                Notice.id == notice_id,
                Notice.state == NoticeState.SENDING,
                Notice.claimed_by == self.worker,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if commit:
            self.session.commit()
        return done == 1

    def _release(self, notice_id: int, *, commit: bool = True, **values: Any) -> bool:
        """An outcome: the values, and the claim let go (every outcome but the step does)."""
        return self._set(notice_id, commit=commit, claimed_by=None, claimed_at=None, **values)

    def _step(self, notice_id: int) -> bool:
        """Record that the end is about to go, renewing the claim with the time it is now: a
        run may outlast the lease, and a claim dated from its start would let another worker
        take this notice over and send it again while its end goes out here."""
        at = self.clock()
        return self._set(notice_id, step=STEP_DATA, claimed_at=at, state_changed_at=at)

    def sent(self, notice: Notice) -> None:
        if self._release(
            notice.id,
            state=NoticeState.SENT,
            sent_at=self.now,
            last_error=None,
        ):
            self.report.sent.append(notice.id)

    def temporary(self, notice: Notice, why: str) -> None:
        """Pending again after a wait, or failed after `max_attempts` tries."""
        attempts = notice.attempts + 1
        if attempts >= self.settings.notices.max_attempts:
            why = f"{why} (gave up after {attempts} tries)"
            if self._release(
                notice.id,
                state=NoticeState.FAILED,
                attempts=attempts,
                step=None,
                last_error=why,
            ):
                self.report.failed.append((notice.id, why))
            return
        if self._release(
            notice.id,
            state=NoticeState.PENDING,
            attempts=attempts,
            step=None,
            last_error=why,
            next_attempt_at=self.now + backoff(self.settings, attempts),
        ):
            self.report.retry_later.append((notice.id, why))

    def failed(self, notice: Notice, why: str) -> None:
        if self._release(
            notice.id,
            state=NoticeState.FAILED,
            attempts=notice.attempts + 1,
            step=None,
            last_error=why,
        ):
            self.report.failed.append((notice.id, why))

    def refused(self, notice: Notice, why: str) -> None:
        """The address is refused for good: the notice fails, the member's contact says so."""
        if not self._release(
            notice.id,
            commit=False,
            state=NoticeState.FAILED,
            attempts=notice.attempts + 1,
            step=None,
            last_error=f"address refused: {why}",
        ):
            self.session.rollback()
            return
        contact = self.session.get(NoticeContact, (notice.member_id, notice.medium))
        if contact is None:
            contact = NoticeContact(member_id=notice.member_id, medium=notice.medium)
            self.session.add(contact)
        contact.refused_address = notice.to_address
        contact.refused_at = self.now
        contact.refused_reason = why
        self.session.commit()
        self.report.refused.append((notice.id, why))

    def uncertain(self, notice: Notice, why: str) -> None:
        """Cut off after the end went out: asked about in the Sent folder after a while."""
        if self._release(
            notice.id,
            state=NoticeState.UNCERTAIN,
            last_error=why,
            next_attempt_at=self.now + backoff(self.settings, 1, jitter=0),
        ):
            self.report.uncertain.append((notice.id, why))

    def held(self, notice: Notice, why: str) -> None:
        """Pending again, asked about at a later run; no try counted (also a message never
        started because the server was away: a whole outage, however long, costs no tries)."""
        if self._release(
            notice.id,
            state=NoticeState.PENDING,
            step=None,
            last_error=why,
            next_attempt_at=self.now + backoff(self.settings, 1, jitter=0),
        ):
            self.report.retry_later.append((notice.id, why))

    def dropped(self, notice: Notice, why: str) -> None:
        if self._release(
            notice.id,
            state=NoticeState.DROPPED,
            last_error=why,
        ):
            self.report.dropped.append((notice.id, why))

    def give_back(self, notices: list[Notice], why: str | None = None) -> None:
        """Claimed notices not sent (the run stopped on our configuration): pending as they
        were, no try counted; with `why` (our settings refused), that is their last error, so
        staff see why they wait (on Today, in `notices list`)."""
        reason = {} if why is None else {"last_error": why, "state_changed_at": self.now}
        self.session.execute(
            update(Notice)
            .where(
                Notice.id.in_([notice.id for notice in notices]),
                Notice.state == NoticeState.SENDING,
                Notice.claimed_by == self.worker,
                Notice.step.is_(None),  # a row past its step stays for the lease to decide
            )
            .values(state=NoticeState.PENDING, claimed_by=None, claimed_at=None, **reason)
            .execution_options(synchronize_session=False)
        )
        self.session.commit()

    # --- sending -------------------------------------------------------------------------

    def send(self, notice: Notice) -> None:
        why = self._not_applicable(notice)
        if why is not None:
            self.dropped(notice, why)
        elif (why := self._in_review(notice)) is not None:
            self.held(notice, why)
        elif notice.medium == NoticeMedium.EMAIL:
            self._email(notice)
        else:
            self._apprise(notice)

    def _not_applicable(self, notice: Notice) -> str | None:
        """Why the notice must not go after all, read afresh just before sending it: a claimed
        batch waits while others are sent, and the member may withdraw, unsubscribe or stop
        allowing this contact, or staff cancel the post, after it was queued or claimed."""
        member = self.session.get(Member, notice.member_id, populate_existing=True)
        post = (
            self.session.get(Post, notice.post_id, populate_existing=True)
            if notice.post_id is not None
            else None
        )
        contacts = load_contacts(self.session, self.settings, [notice.member_id])
        why = no_longer_applies(contacts, notice, member, post, self.now)
        if why is not None:
            return why
        if notice.kind == NoticeKind.CANCELLED and not self._told(notice):
            # queued while its before notice was claimed, which its sender then dropped (the
            # post cancelled meanwhile): nothing to call off
            return "the member was never told of this post: no cancellation"
        contact = contacts.contacts.get((notice.member_id, notice.medium))
        if contact is None:
            return None
        if contact.unsubscribed_at is not None:
            return "the member unsubscribed from this medium"
        if contact.refused_address is not None and contact.refused_address == notice.to_address:
            return "the address was refused before: waiting for another from the registry"
        return None

    def _told(self, notice: Notice) -> bool:
        """Whether a before or update notice of the notice's post, on its medium, went (or may
        have: being sent, uncertain)."""
        return (
            self.session.scalar(
                select(func.count())
                .select_from(Notice)
                .where(
                    Notice.post_id == notice.post_id,
                    Notice.medium == notice.medium,
                    Notice.kind.in_(TOLD_KINDS),
                    Notice.state.in_(WENT_STATES),
                )
            )
            or 0
        ) > 0

    def _in_review(self, notice: Notice) -> str | None:
        """Why a before or update notice waits: its post went back to review (the member's
        "Mohon diubah", staff) since it was queued, so what it says may change. It is neither
        sent (the member would read the text they asked to change) nor dropped (once approved
        again, the outbox queues an update that replaces it, or it goes as it is)."""
        if notice.post_id is None or notice.kind not in TOLD_KINDS:
            return None
        state = self.session.scalar(select(Post.state).where(Post.id == notice.post_id))
        if state is None or state in NOTIFY_STATES:
            return None
        if state in (PostState.CANCELLED, PostState.PUBLISHED):
            return None  # `no_longer_applies` drops those
        return f"its post is {state} (back in review): it waits until approved again"

    def _connection(self) -> SmtpConnection:
        if self._smtp is None:
            cfg = self.settings.notices
            name = cfg.smtp_password_secret
            password = self.secrets(name) if name else None
            self._smtp = SmtpConnection(cfg, password)
        return self._smtp

    def _email(self, notice: Notice) -> None:
        assert notice.id is not None
        try:
            email_address(notice.to_address)  # the outbox checked it; a hand edit may not have
        except ContactRefused as exc:
            self.refused(notice, str(exc))
            return
        try:
            message = build_message(
                notice,
                self.settings,
                unsubscribe=unsubscribe_url(self.settings, notice.member_id, NoticeMedium.EMAIL),
                now=self.now,
            )
        except (ValueError, TypeError) as exc:
            self.failed(notice, f"the message cannot be built: {exc}")
            return
        notice_id = notice.id
        if self.unreachable is not None:  # this run already found the server away
            self.held(notice, self.unreachable)
            return
        try:
            self._connection().send(
                message,
                bare_address(self.settings.notices.sender),
                notice.to_address,
                commit_step=lambda: self._step(notice_id),
                reached=self.reached,
            )
        except SmtpDown as exc:  # never connected: the message was not tried
            self.unreachable = str(exc)
            self.held(notice, str(exc))
        except SmtpUnreachable as exc:
            self.unreachable = str(exc)
            self.temporary(notice, str(exc))
        except SmtpTemporary as exc:
            self.temporary(notice, str(exc))
        except SmtpAddressRefused as exc:
            self.refused(notice, str(exc))
        except SmtpMessageRefused as exc:
            self.failed(notice, str(exc))
        except SmtpUncertain as exc:
            self.uncertain(notice, str(exc))
        except SmtpClaimLost:
            _log.warning(
                "notice %s: no longer ours (taken over, or dropped by a withdrawal); its "
                "message was abandoned before its end",
                notice_id,
            )
        else:
            self.sent(notice)

    def _apprise(self, notice: Notice) -> None:
        assert notice.id is not None
        if self._apprise_template is None:
            name = self.settings.notices.apprise_url_secret
            if not name:  # claimed only when set; a setting changed meanwhile
                raise SettingsError("notices.apprise_url_secret is not set")
            self._apprise_template = self.secrets(name)
        try:
            url = apprise_send.apprise_url(self._apprise_template, notice.to_address)
        except apprise_send.AppriseRefused as exc:
            self.refused(notice, str(exc))
            return
        sender = apprise_send.prepare(url)
        if not self._step(notice.id):
            return  # another worker holds it
        self._at("step")
        try:
            ok = apprise_send.notify(sender, title=notice.subject, body=notice.text_body)
        except Exception as exc:  # Apprise caught nothing: the call may have gone out
            self.uncertain(notice, f"Apprise stopped mid-call ({type(exc).__name__})")
            return
        self._at("dot")
        if ok:
            self.sent(notice)
        else:
            self.temporary(notice, "the Apprise service did not take the message")

    def _at(self, point: str) -> None:
        if self.reached is not None:
            self.reached(point)

    def close(self, ok: bool) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            if ok:
                smtp.__exit__(None, None, None)
            else:
                smtp.close()


# --- the run --------------------------------------------------------------------------------


def waiting(settings: Settings) -> list[str]:
    """Why notices of a medium wait with these settings (nothing is sent on it), if they do."""
    cfg = settings.notices
    why = []
    if not cfg.enabled:
        why.append("notices are off (notices.enabled = false)")
    if not cfg.smtp_host:
        why.append("e-mail notices wait: notices.smtp_host is not set")
    if not cfg.apprise_url_secret:
        why.append("Apprise notices wait: notices.apprise_url_secret is not set")
    return why


def _media(settings: Settings, report: SendReport) -> list[str]:
    """The media that can be sent with these settings; why the others wait goes in the report."""
    cfg = settings.notices
    report.waiting.extend(why for why in waiting(settings) if "enabled" not in why)
    media = []
    if cfg.smtp_host:
        media.append(NoticeMedium.EMAIL.value)
    if cfg.apprise_url_secret:
        media.append(NoticeMedium.APPRISE.value)
    return media


def _take_over_lapsed(session: Session, settings: Settings, now: datetime) -> None:
    """Claims older than the lease: a dead worker's. Before the end of the message nothing
    can have arrived (pending again, the try counted); after it, uncertain."""
    lapsed = now - timedelta(seconds=settings.notices.lease_seconds)
    stale = (Notice.state == NoticeState.SENDING) & (Notice.claimed_at < lapsed)
    session.execute(
        update(Notice)
        .where(stale, Notice.step == STEP_DATA)
        .values(
            state=NoticeState.UNCERTAIN,
            claimed_by=None,
            claimed_at=None,
            state_changed_at=now,
            next_attempt_at=now,
            last_error="the sender stopped after the end of the message went out: it may have "
            "arrived",
        )
        .execution_options(synchronize_session=False)
    )
    # a notice that stopped its sender `max_attempts` times (one that kills it, say) fails like
    # one refused that often, instead of being taken over once per lease for ever
    stopped = "the sender stopped before the end of the message: nothing arrived"
    gives_up = Notice.attempts + 1 >= settings.notices.max_attempts
    session.execute(
        update(Notice)
        .where(stale, Notice.step.is_(None))
        .values(
            state=case((gives_up, NoticeState.FAILED.value), else_=NoticeState.PENDING.value),
            claimed_by=None,
            claimed_at=None,
            attempts=Notice.attempts + 1,
            state_changed_at=now,
            next_attempt_at=now,
            last_error=case(
                (gives_up, stopped + " (gave up after as many tries as notices.max_attempts)"),
                else_=stopped,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _look_up_uncertain(
    session: Session,
    settings: Settings,
    secrets: Callable[[str], str],
    now: datetime,
    report: SendReport,
) -> None:
    """Uncertain e-mails, due to be asked about, looked up in the Sent folder by Message-ID."""
    rows = session.execute(
        select(Notice.id, Notice.message_id, Notice.attempts)
        .where(
            Notice.state == NoticeState.UNCERTAIN,
            Notice.medium == NoticeMedium.EMAIL,
            Notice.next_attempt_at <= now,
        )
        .order_by(Notice.next_attempt_at, Notice.id)
        .limit(settings.notices.batch)
    ).all()
    session.rollback()
    odd = [notice_id for notice_id, message_id, _ in rows if not searchable(message_id)]
    if odd:
        # a Message-ID no one here made (a hand edit): it cannot be searched for, and raised
        # ValueError out of every run; staff decide it (`resolve`), the others are asked
        why = "still uncertain: its Message-ID cannot be searched for; staff decide"
        session.execute(
            update(Notice)
            .where(Notice.id.in_(odd), Notice.state == NoticeState.UNCERTAIN)
            .values(next_attempt_at=now + timedelta(days=3650), last_error=why)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        report.uncertain.extend((i, why) for i in odd)
        rows = [row for row in rows if row[0] not in odd]
    if not rows:
        return
    try:
        found = in_sent_folder(settings.notices, secrets, [message_id for _, message_id, _ in rows])
    except (ImapUnavailable, SettingsError) as exc:
        why = f"still uncertain, the Sent folder could not be searched: {exc}"
        session.execute(
            update(Notice)
            .where(Notice.id.in_([i for i, _, _ in rows]), Notice.state == NoticeState.UNCERTAIN)
            .values(next_attempt_at=now + backoff(settings, 1, jitter=0), last_error=why)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        report.uncertain.extend((i, why) for i, _, _ in rows)
        return
    for notice_id, message_id, attempts in rows:
        if message_id in found:
            values: dict[str, Any] = {
                "state": NoticeState.SENT,
                "sent_at": now,
                "step": None,
                "last_error": "found in the Sent folder by its Message-ID",
            }
        else:
            # the try that ended uncertain counts: a message the server drops after its end
            # every time, never filing it, fails at max_attempts instead of going round for ever
            tries = attempts + 1
            gives_up = tries >= settings.notices.max_attempts
            values = {
                "state": NoticeState.FAILED if gives_up else NoticeState.PENDING,
                "attempts": tries,
                "step": None,
                "next_attempt_at": now,
                "last_error": (
                    f"not in the Sent folder after its last try (gave up after {tries} tries)"
                    if gives_up
                    else "not in the Sent folder: sent again with the same Message-ID"
                ),
            }
        done = session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.state == NoticeState.UNCERTAIN)
            .values(state_changed_at=now, **values)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if done != 1:
            continue
        if message_id in found:
            report.found_sent.append(notice_id)
        elif values["state"] is NoticeState.FAILED:
            report.failed.append((notice_id, values["last_error"]))
        else:
            report.resent.append(notice_id)


def _claim(
    session: Session,
    settings: Settings,
    media: list[str],
    now: datetime,
    worker: str,
    waiting_too: bool = False,
) -> list[Notice]:
    """Up to `notices.batch` due pending notices (with `waiting_too`, those waiting to be
    tried again as well), claimed by compare-and-set and committed."""
    query = (
        select(Notice.id)
        .where(
            Notice.state == NoticeState.PENDING,
            true() if waiting_too else Notice.next_attempt_at <= now,
            Notice.medium.in_(media),
        )
        .order_by(Notice.next_attempt_at, Notice.id)
        .limit(settings.notices.batch)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed: list[int] = []
    for notice_id in session.scalars(query).all():
        fresh = session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.state == NoticeState.PENDING)
            .values(
                state=NoticeState.SENDING,
                step=None,
                claimed_by=worker,
                claimed_at=now,
                state_changed_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if fresh == 1:
            claimed.append(notice_id)
    session.commit()
    if not claimed:
        return []
    notices = list(
        session.scalars(select(Notice).where(Notice.id.in_(claimed)).order_by(Notice.id))
    )
    for notice in notices:
        session.expunge(notice)  # plain values: the outcome commits go through `_set`
    return notices


def send_due(
    session: Session,
    settings: Settings,
    *,
    secrets: Callable[[str], str],
    now: datetime,
    worker: str | None = None,
    reached: Reached | None = None,
    waiting_too: bool = False,
    clock: Callable[[], datetime] | None = None,
    report: SendReport | None = None,
) -> SendReport:
    """Send the due notices (see the module's docstring); commits as it goes. `waiting_too`
    also tries pending notices whose next try is later (staff, after fixing the server).
    `reached` is called at the points of a send (`body`, `step`, `dot`) so tests can stop the
    process there. `clock` tells the time during the run (each step renews its claim with it);
    by default `now` plus the time the run has taken. Raises SettingsError, with every claimed
    notice given back, when the SMTP server or Apprise refuses our own configuration (`report`,
    when given, is filled all the same: the flow's summary says what happened). Either way, or
    when the server could not be reached, `report.mail_server` says why e-mail waits."""
    report = SendReport() if report is None else report
    if clock is None:
        started = time.monotonic()

        def clock() -> datetime:
            return now + timedelta(seconds=time.monotonic() - started)

    worker = worker or worker_name()
    if not settings.notices.enabled:
        report.waiting.append("notices are off (notices.enabled = false)")
        return report
    _take_over_lapsed(session, settings, now)
    media = _media(settings, report)
    if settings.notices.imap_host and NoticeMedium.EMAIL.value in media:
        _look_up_uncertain(session, settings, secrets, now, report)
    if not media:
        return report
    notices = _claim(session, settings, media, now, worker, waiting_too)
    sender = _Sender(session, settings, secrets, now, worker, reached, report, clock)
    ok = False
    refused: dict[str, SettingsError] = {}  # a medium whose settings were refused: why
    try:
        for notice in notices:
            if notice.medium in refused:
                continue  # given back below, untried
            try:
                sender.send(notice)
            except SettingsError as exc:
                # our configuration of this medium refused: its notices wait, the other
                # medium's go on (a missing Apprise secret held back every e-mail after it)
                session.rollback()
                refused[notice.medium] = exc
            except Exception:
                # anything unforeseen: the claimed notices not past their step go back
                # untouched now, not after the lease
                session.rollback()
                sender.give_back(notices)
                raise
        ok = True
    finally:
        sender.close(ok)
    report.mail_server = sender.unreachable
    if NoticeMedium.EMAIL.value in refused:
        report.mail_server = str(refused[NoticeMedium.EMAIL.value])
    if refused:
        for medium, exc in refused.items():
            sender.give_back([n for n in notices if n.medium == medium], str(exc))
        errors = list(refused.values())
        raise errors[0] if len(errors) == 1 else SettingsError("; ".join(map(str, errors)))
    for notice_id, why in report.failed + report.refused:
        _log.error("notice %s failed: %s", notice_id, why)
    return report


def run_notices(
    session: Session,
    settings: Settings,
    *,
    secrets: Callable[[str], str],
    now: datetime,
    worker: str | None = None,
    waiting_too: bool = False,
    queued: QueueReport | None = None,
    sent: SendReport | None = None,
) -> tuple[QueueReport, SendReport]:
    """What the `notices` flow and `ifn-campaign notices send` do: queue what is due
    (outbox.queue_due, committed), then send (`send_due`). `queued` and `sent`, when given, are
    filled in place, so a caller still has them when sending raises SettingsError."""
    queued = queue_due(session, settings, now=now, report=queued)
    session.commit()
    sent = send_due(
        session,
        settings,
        secrets=secrets,
        now=now,
        worker=worker,
        waiting_too=waiting_too,
        report=sent,
    )
    return queued, sent


# --- staff ----------------------------------------------------------------------------------


def resolve(session: Session, notice_id: int, *, sent: bool, now: datetime) -> Notice:
    """Staff decide an uncertain notice: it arrived (`sent`), or not (pending, sent again with
    the same Message-ID at the next run). Commits; TransitionError if it is not uncertain."""
    values: dict[str, Any] = (
        {"state": NoticeState.SENT, "sent_at": now, "last_error": "marked sent by staff"}
        if sent
        else {
            "state": NoticeState.PENDING,
            "step": None,
            "next_attempt_at": now,
            "last_error": "marked not sent by staff: to be sent again",
        }
    )
    return _staff_change(session, notice_id, NoticeState.UNCERTAIN, values, now)


def retry(session: Session, notice_id: int, *, now: datetime) -> tuple[Notice, bool]:
    """A failed notice pending again, its tries counted from zero; if its address had been
    refused, that refusal is lifted (staff say the address is worth trying). Returns the
    notice and whether a refusal was lifted. Commits; TransitionError if it is not failed."""
    notice = _staff_change(
        session,
        notice_id,
        NoticeState.FAILED,
        {"state": NoticeState.PENDING, "step": None, "attempts": 0, "next_attempt_at": now},
        now,
    )
    contact = session.get(NoticeContact, (notice.member_id, notice.medium))
    lifted = contact is not None and contact.refused_address == notice.to_address
    if lifted and contact is not None:
        contact.refused_address = contact.refused_at = contact.refused_reason = None
        session.commit()
    return notice, lifted


def _staff_change(
    session: Session, notice_id: int, expected: NoticeState, values: dict[str, Any], now: datetime
) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise TransitionError(f"no notice {notice_id}")
    done = session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.state == expected)
        .values(claimed_by=None, claimed_at=None, state_changed_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        state = notice.state
        session.rollback()
        raise TransitionError(f"notice {notice_id} is {state}, not {expected}: nothing changed")
    session.commit()
    session.refresh(notice)
    return notice


def counts(session: Session) -> dict[str, int]:
    """Notices per state, for the CLI and the flow's summary."""
    rows = session.execute(select(Notice.state, func.count()).group_by(Notice.state)).all()
    return {str(state): int(n) for state, n in rows}


def notices_markdown(
    queued: QueueReport, report: SendReport, overdue: Overdue | None = None
) -> str:
    """The flow's summary artifact: the mail server's trouble and what waits too long
    (`staff.Overdue`) first, then what was queued, then what was sent (`send_markdown`)."""
    lines = ["# Member notices", ""]
    if report.mail_server is not None:
        lines += [f"**The mail server could not be used:** {_md(report.mail_server)}", ""]
    if overdue is not None:
        lines += [f"**Waiting too long:** {_md(overdue.line())}", ""]
    lines += [
        f"- queued: {queued.queued} (before {queued.before}, update {queued.update}, "
        f"cancelled {queued.cancelled}, after {queued.after}, receipt {queued.receipt}); "
        f"{queued.dropped} dropped",
    ]
    lines += [f"- not told: {_md(why)}" for why in queued.skipped[:50]]
    if len(queued.skipped) > 50:
        lines.append(f"- and {len(queued.skipped) - 50} more not told")
    return "\n".join(lines) + "\n\n" + send_markdown(report)


def send_markdown(report: SendReport) -> str:
    """The sending's summary: counts, then each notice that did not simply go out."""
    lines = [
        "## Sent",
        "",
        f"- sent: {len(report.sent)}",
        f"- to retry: {len(report.retry_later)}",
        f"- failed: {len(report.failed)}",
        f"- address refused: {len(report.refused)}",
        f"- uncertain: {len(report.uncertain)}",
        f"- found in the Sent folder: {len(report.found_sent)}",
        f"- not found there, sent again: {len(report.resent)}",
        f"- dropped: {len(report.dropped)}",
    ]
    lines += [f"- {why}" for why in report.waiting]  # our own words (setting names)
    rows = [
        (what, notice_id, why)
        for what, items in (
            ("failed", report.failed),
            ("refused", report.refused),
            ("uncertain", report.uncertain),
            ("retry", report.retry_later),
            ("dropped", report.dropped),
        )
        for notice_id, why in items
    ]
    if rows:
        lines += ["", "| notice | outcome | why |", "|---|---|---|"]
        # member ids, addresses and servers' replies: literal text in one cell (Prefect renders
        # markdown: a member's '![x](https://...)' would otherwise load an image, or be a link)
        lines += [f"| {i} | {what} | {_md(why)} |" for what, i, why in rows]
    return "\n".join(lines) + "\n"
