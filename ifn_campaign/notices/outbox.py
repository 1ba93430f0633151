"""Which member notices are due, rendered and queued as `Notice` rows (the outbox).

`queue_due` looks at the posts a notice may be owed for, all at once (a handful of set-based
queries, however many posts), and queues, per post and medium:

- `before`: an approved, scheduled or publishing post whose slot is at most `notices.days_ahead`
  days away and not past, once ("before:post:12:email");
- `update`: a post the member was told about (a before or update notice, not dropped) whose slot
  or caption is no longer what the last of them said, once it is approved again (a post sent
  back to review waits); the key holds what it says ("update:post:12:20261208T120000Z.<caption
  hash>:email"), and it drops the older ones still pending. Its text compares with the last
  notice that went out (if none did, it reads as the before notice); a post changed back to
  what that notice said drops the pending ones and sends nothing;
- `cancelled`: a cancelled post whose before or update notice went out, once (one that had not
  gone is dropped instead, and no cancellation is sent);
- `after`: a published post with its permalink (the feature's or the post's), once, within
  `AFTER_WINDOW` of going out, with or without a before notice (auto-approved posts may be late);
- `receipt`: `notices.receipt_days` after a feature went live, once, with its link and figures
  (which features, when, and with what: `receipts.due_receipts`); not for a post taken down,
  and dropped if it is taken down before the receipt goes. An after notice not queued by the
  time the receipt is due is not queued at all: the receipt carries the link.

What a before or update notice said (the slot and the caption's hash) is also written into its
Message-ID (`<time.pid.random.before.12.20261208T120000Z.3f9a0c1d2e4b@domain>`), so the next run
compares with it without storing anything more. A pending notice that no longer applies is
DROPPED with `last_error` saying why: the post cancelled or already out, the member unsubscribed,
withdrew or may no longer be told there. Withdrawn members get nothing but cancellations.

Each row is rendered here (subject, text, HTML, the card inline) with a new member-page link,
so a retry sends the same bytes under the same Message-ID; a staff template that cannot be used
leaves the notices that need it unqueued (the report says which file and line) and the others
go. Queuing is idempotent: the unique
`dedupe_key` turns a second run (or a concurrent one) into a no-op. Flushes, never commits.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid, parseaddr

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from ifn_campaign.config import Settings
from ifn_campaign.errors import SettingsError, TemplateError
from ifn_campaign.members.links import issue_link, page_url, unsubscribe_url
from ifn_campaign.models import (
    Feature,
    Member,
    Notice,
    NoticeKind,
    NoticeMedium,
    NoticeState,
    Post,
    PostState,
)
from ifn_campaign.notices.compose import NoticeFacts, NoticeWriter
from ifn_campaign.notices.contacts import Contacts, Recipient, load_contacts, sending_media
from ifn_campaign.notices.receipts import RECEIPT_WINDOW, Receipt, due_receipts, receipt_due_at

__all__ = [
    "AFTER_WINDOW",
    "CANCELLED_WINDOW",
    "NOTIFY_STATES",
    "TOO_LATE",
    "QueueReport",
    "Said",
    "caption_hash",
    "dedupe_key",
    "no_longer_applies",
    "queue_due",
    "said_of",
]

# a post in one of these is going out as it stands: its member is told, and told of changes
NOTIFY_STATES = (PostState.APPROVED, PostState.SCHEDULED, PostState.PUBLISHING)
TOLD_KINDS = (NoticeKind.BEFORE, NoticeKind.UPDATE)
# a notice in one of these may have reached the member (an uncertain one is taken as reached)
WENT_STATES = (NoticeState.SENT, NoticeState.SENDING, NoticeState.UNCERTAIN)
# an `after` notice is owed for posts out at most this long: enabling notices on a database of
# years of features does not mail every member about every old post
AFTER_WINDOW = timedelta(days=7)
# a cancellation still goes this long after the time the member was told (it says why nothing
# appeared); later it would only puzzle them
CANCELLED_WINDOW = timedelta(days=7)
# how the reason of a notice dropped because its moment passed begins (staff count them)
TOO_LATE = "too late"
CHUNK = 500  # ids per IN (...) query
# what a before or update notice said, and what a cancellation calls off (the time told)
_SAID = re.compile(r"\.(?:before|update|cancelled)\.\d+\.(\d{8}T\d{6}Z)\.([0-9a-f]{12})@")


@dataclass(frozen=True)
class Said:
    """What a before or update notice told the member: the slot, and the caption's hash."""

    slot_at: datetime
    caption_hash: str

    @classmethod
    def of(cls, post: Post) -> Said:
        return cls(post.slot_at.astimezone(UTC).replace(microsecond=0), caption_hash(post.caption))

    @property
    def text(self) -> str:
        return f"{self.slot_at:%Y%m%dT%H%M%SZ}.{self.caption_hash}"


def caption_hash(caption: str | None) -> str:
    """The first 12 hex digits of the caption's SHA-256: enough to see it changed."""
    return hashlib.sha256((caption or "").encode()).hexdigest()[:12]


def said_of(notice: Notice) -> Said | None:
    """What a stored before or update notice said (a cancellation: what it calls off), read
    back from its Message-ID."""
    match = _SAID.search(notice.message_id)
    if match is None:
        return None
    slot = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return Said(slot, match.group(2))


def dedupe_key(kind: NoticeKind, post_id: int, medium: NoticeMedium, said: Said | None) -> str:
    """ "before:post:12:email", "update:post:12:20261208T120000Z.3f9a0c1d2e4b:email", ..."""
    middle = f":{said.text}" if kind is NoticeKind.UPDATE and said is not None else ""
    return f"{kind.value}:post:{post_id}{middle}:{medium.value}"


@dataclass
class QueueReport:
    """What one run queued (per kind), dropped, and left out with why ("ifn-0007: no e-mail
    allowed")."""

    before: int = 0
    update: int = 0
    cancelled: int = 0
    after: int = 0
    receipt: int = 0
    dropped: int = 0
    skipped: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def queued(self) -> int:
        return self.before + self.update + self.cancelled + self.after + self.receipt

    def count(self, kind: NoticeKind) -> None:
        setattr(self, kind.value, getattr(self, kind.value) + 1)

    def skip(self, member_id: str, reason: str) -> None:
        line = f"{member_id}: {reason}"
        if line not in self._seen:
            self._seen.add(line)
            self.skipped.append(line)


@dataclass(frozen=True)
class _Due:
    """One notice to queue: its kind, post and recipient, and what it is to say."""

    kind: NoticeKind
    post: Post
    recipient: Recipient
    previous: Said | None = None  # update and cancelled: what the member was told last
    permalink: str | None = None  # after
    featured_at: datetime | None = None  # after
    receipt: Receipt | None = None  # receipt


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def sender_domain(settings: Settings) -> str:
    """The domain of `notices.sender`: Message-IDs are made under it."""
    address = parseaddr(settings.notices.sender)[1]
    domain = address.rpartition("@")[2].strip()
    if "@" not in address or not domain or not re.fullmatch(r"[A-Za-z0-9.-]+", domain):
        raise SettingsError(
            f"notices.sender {settings.notices.sender!r} has no usable domain: write it as "
            "'Name <user@example.org>'"
        )
    return domain.lower()


def _web_link(value: str | None) -> str | None:
    """A permalink as a notice may link it: http(s) only, one line."""
    if value is None:
        return None
    text = value.strip()
    ok = text.startswith(("https://", "http://")) and not any(c.isspace() for c in text)
    return text if ok else None


def no_longer_applies(
    contacts: Contacts, notice: Notice, member: Member | None, post: Post | None, now: datetime
) -> str | None:
    """Why a notice not yet sent must not go now, or None: the member withdrew, unsubscribed or
    may no longer be told there, or its post was cancelled or is out. The outbox drops pending
    notices with it, and the sender asks it again just before each send (what changed after
    the queuing or the claim). A hand-edited kind or medium is left to the sender."""
    try:
        kind, medium = NoticeKind(notice.kind), NoticeMedium(notice.medium)
    except ValueError:
        return None
    if member is None:
        return None
    if kind is not NoticeKind.CANCELLED and contacts.withdrawn(member, now):
        return "the member withdrew consent or is no longer promoted"
    where = contacts.recipient(member, medium)
    if isinstance(where, str):
        return where
    if post is not None and kind is NoticeKind.RECEIPT:
        if post.takedown_requested_at is not None or post.taken_down_at is not None:
            return "the post was taken down: no receipt"
        if post.state != PostState.PUBLISHED:
            return "the post is no longer published: no receipt"
    if post is None:
        return None
    return _too_late(contacts.settings, kind, post, now, said_of(notice))


def _too_late(
    settings: Settings, kind: NoticeKind, post: Post, now: datetime, said: Said | None
) -> str | None:
    """Why a notice's moment has passed (a mail server down for days), or None. A before or
    update notice must arrive before the post's time (after it the after notice tells the
    member); an after notice and a receipt go within the windows they are queued in
    (`AFTER_WINDOW` after the post went out; `RECEIPT_WINDOW` after the receipt was due), a
    cancellation within `CANCELLED_WINDOW` of the time the member was told (`said`, from its
    Message-ID: the post may have moved since, by an update that never reached them; a
    cancellation queued without it there falls back to the post's slot). A late notice is
    dropped, never sent, with a reason starting with `TOO_LATE`."""
    out_at = post.published_at or post.slot_at
    if kind in TOLD_KINDS:
        if post.state == PostState.CANCELLED:
            return "the post was cancelled before this notice went: none sent"
        if post.state == PostState.PUBLISHED or post.slot_at < now:
            return (
                f"{TOO_LATE}: the post's time came before this notice could go (the after "
                "notice tells the member once it is out)"
            )
    elif kind is NoticeKind.AFTER and now > out_at + AFTER_WINDOW:
        return (
            f"{TOO_LATE}: the post went out more than {AFTER_WINDOW.days} days ago (its "
            "receipt carries the link)"
        )
    elif kind is NoticeKind.RECEIPT and now > receipt_due_at(out_at, settings) + RECEIPT_WINDOW:
        return f"{TOO_LATE}: the receipt was due more than {RECEIPT_WINDOW.days} days ago"
    elif (
        kind is NoticeKind.CANCELLED
        and now > (said.slot_at if said is not None else post.slot_at) + CANCELLED_WINDOW
    ):
        return (
            f"{TOO_LATE}: the time the member was told passed more than "
            f"{CANCELLED_WINDOW.days} days ago"
        )
    return None


class _Run:
    """One `queue_due` run: what it loaded, and what it decided."""

    def __init__(
        self, session: Session, settings: Settings, now: datetime, report: QueueReport
    ) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self.report = report
        self.domain = sender_domain(settings)
        self.writer = NoticeWriter(settings)
        self.posts: dict[int, Post] = {}
        self.permalinks: dict[int, tuple[str | None, datetime | None]] = {}
        self.receipts: dict[int, Receipt] = {}
        self.members: dict[str, Member] = {}
        self.notices: dict[tuple[int, str], list[Notice]] = defaultdict(list)
        self.pending: list[Notice] = []
        self.contacts: Contacts | None = None

    # -- loading: a fixed number of queries per 500 posts ------------------------------------

    def _candidates(self) -> set[int]:
        now, session = self.now, self.session
        horizon = now + timedelta(days=self.settings.notices.days_ahead)
        ids = set(
            session.scalars(
                select(Post.id).where(
                    Post.state.in_(NOTIFY_STATES),  # type: ignore[attr-defined]
                    Post.slot_at >= now,
                    Post.slot_at <= horizon,
                )
            )
        )
        # posts told about that may still change or be cancelled: not out yet, and not a
        # cancelled one whose cancellation is already queued
        said = aliased(Notice)
        told = select(Notice.post_id).where(
            Notice.post_id.is_not(None),  # type: ignore[union-attr]
            Notice.kind.in_(TOLD_KINDS),  # type: ignore[attr-defined]
            Notice.state != NoticeState.DROPPED,
        )
        cancel_queued = exists().where(said.post_id == Post.id, said.kind == NoticeKind.CANCELLED)
        ids.update(
            session.scalars(
                select(Post.id).where(
                    Post.id.in_(told),  # type: ignore[union-attr]
                    Post.state != PostState.PUBLISHED,
                    or_(Post.state != PostState.CANCELLED, ~cancel_queued),
                )
            )
        )
        # published posts with a link, recently out, with no after notice yet
        link = func.coalesce(Feature.permalink, Post.permalink)
        out_at = func.coalesce(Feature.featured_at, Post.published_at, Post.slot_at)
        # queued on every medium sent on (one held back by a staff template goes once it can)
        after_queued = (
            select(func.count(func.distinct(said.medium)))
            .where(said.post_id == Post.id, said.kind == NoticeKind.AFTER)
            .scalar_subquery()
        )
        for post_id, permalink, featured_at in session.execute(
            select(Post.id, link, out_at)
            .outerjoin(Feature, Feature.post_id == Post.id)
            .where(
                Post.state == PostState.PUBLISHED,
                link.is_not(None),
                out_at >= now - AFTER_WINDOW,
                after_queued < len(sending_media(self.settings)),
            )
        ):
            ids.add(post_id)
            at = featured_at
            if isinstance(at, datetime) and at.tzinfo is None:  # a coalesce loses the type
                at = at.replace(tzinfo=UTC)
            self.permalinks[post_id] = (permalink, at)
        # features whose receipt is due (and whose figures are in, or waited for long enough)
        self.receipts = due_receipts(session, self.settings, now)
        ids.update(self.receipts)
        return ids

    def load(self) -> None:
        session = self.session
        post_ids = self._candidates()
        self.pending = list(
            session.scalars(
                select(Notice).where(Notice.state == NoticeState.PENDING).order_by(Notice.id)
            )
        )
        post_ids.update(n.post_id for n in self.pending if n.post_id is not None)
        for chunk in _chunks(post_ids):
            for post in session.scalars(select(Post).where(Post.id.in_(chunk))):  # type: ignore[union-attr]
                assert post.id is not None
                self.posts[post.id] = post
            for notice in session.scalars(
                select(Notice).where(Notice.post_id.in_(chunk)).order_by(Notice.id)  # type: ignore[union-attr]
            ):
                assert notice.post_id is not None
                self.notices[(notice.post_id, notice.medium)].append(notice)
        member_ids = {p.member_id for p in self.posts.values()}
        member_ids.update(n.member_id for n in self.pending)
        for chunk in _chunks(member_ids):  # type: ignore[arg-type]
            for member in session.scalars(select(Member).where(Member.id.in_(chunk))):  # type: ignore[attr-defined]
                self.members[member.id] = member
        self.contacts = load_contacts(session, self.settings, member_ids)

    # -- deciding ------------------------------------------------------------------------------

    def _drop(self, notices: Sequence[Notice], why: str) -> None:
        """Pending -> dropped, only while still pending (a sender may have claimed one since)."""
        ids = [n.id for n in notices if n.state == NoticeState.PENDING and n.id is not None]
        if not ids:
            return
        for chunk in _chunks(ids):  # type: ignore[arg-type]
            result = self.session.execute(
                update(Notice)
                .where(Notice.id.in_(chunk), Notice.state == NoticeState.PENDING)  # type: ignore[union-attr]
                .values(state=NoticeState.DROPPED, last_error=why, state_changed_at=self.now)
                .execution_options(synchronize_session=False)
            )
            self.report.dropped += int(result.rowcount or 0)  # type: ignore[attr-defined]
        # what the database now holds (a sender's claim included), in one query per chunk
        by_id = {n.id: n for n in notices}
        for chunk in _chunks(ids):  # type: ignore[arg-type]
            for notice_id, state, error in self.session.execute(
                select(Notice.id, Notice.state, Notice.last_error).where(Notice.id.in_(chunk))  # type: ignore[union-attr]
            ):
                set_committed_value(by_id[notice_id], "state", state)
                set_committed_value(by_id[notice_id], "last_error", error)

    def drop_stale(self) -> None:
        """Pending notices that no longer apply, grouped by why, one statement per reason."""
        assert self.contacts is not None
        by_reason: dict[str, list[Notice]] = defaultdict(list)
        for notice in self.pending:
            member = self.members.get(notice.member_id)
            post = self.posts.get(notice.post_id) if notice.post_id is not None else None
            why = no_longer_applies(self.contacts, notice, member, post, self.now)
            if why is not None:
                by_reason[why].append(notice)
        for why, notices in by_reason.items():
            self._drop(notices, why)

    def due(self) -> list[_Due]:
        """Every notice owed now, in post order; the members left out, with why, reported."""
        assert self.contacts is not None
        contacts = self.contacts
        horizon = self.now + timedelta(days=self.settings.notices.days_ahead)
        found: list[_Due] = []
        for post_id in sorted(self.posts):
            post = self.posts[post_id]
            member = self.members.get(post.member_id)
            if member is None:
                continue
            withdrawn = contacts.withdrawn(member, self.now)
            for medium in contacts.media():
                rows = self.notices.get((post_id, medium.value), [])
                kinds = {n.kind for n in rows}
                told = [n for n in rows if n.kind in TOLD_KINDS and n.state != NoticeState.DROPPED]
                went = [n for n in told if n.state in WENT_STATES]
                kind: NoticeKind | None = None
                previous: Said | None = None
                permalink: str | None = None
                at: datetime | None = None
                if post.state == PostState.CANCELLED:
                    if went and NoticeKind.CANCELLED not in kinds:
                        kind, previous = NoticeKind.CANCELLED, said_of(went[-1])
                elif withdrawn:
                    continue
                elif post.state == PostState.PUBLISHED:
                    # a receipt due says all an after notice would (the link): it goes alone
                    after_owed = post_id in self.permalinks and post_id not in self.receipts
                    if NoticeKind.AFTER not in kinds and after_owed:
                        stored, at = self.permalinks[post_id]
                        permalink = _web_link(stored)
                        if permalink is None:
                            self.report.skip(member.id, f"post {post_id}: no usable permalink")
                            continue
                        kind = NoticeKind.AFTER
                    elif NoticeKind.RECEIPT not in kinds and post_id in self.receipts:
                        kind = NoticeKind.RECEIPT
                elif post.state in NOTIFY_STATES and post.slot_at >= self.now:
                    if NoticeKind.BEFORE not in kinds:
                        if post.slot_at <= horizon:
                            kind = NoticeKind.BEFORE
                    elif told and said_of(told[-1]) not in (None, Said.of(post)):
                        # the message compares with what reached the member: the last notice
                        # that went (none went: the update reads as the first notice)
                        previous = said_of(went[-1]) if went else None
                        if previous == Said.of(post):  # back to what they were told
                            self._drop(told, "the post is back to what the member was told")
                            continue
                        kind = NoticeKind.UPDATE
                if kind is None:
                    continue
                where = contacts.recipient(member, medium)
                if isinstance(where, str):
                    self.report.skip(member.id, where)
                    continue
                receipt = self.receipts.get(post_id) if kind is NoticeKind.RECEIPT else None
                found.append(_Due(kind, post, where, previous, permalink, at, receipt))
        return found

    # -- queuing -------------------------------------------------------------------------------

    def queue(self, due: _Due) -> None:
        post, recipient = due.post, due.recipient
        assert post.id is not None
        member = self.members[post.member_id]
        medium = recipient.medium
        said = Said.of(post)
        key = dedupe_key(due.kind, post.id, medium, said)
        taken = {n.dedupe_key for n in self.notices.get((post.id, medium.value), [])}
        suffix = 2
        base = key
        while key in taken:  # back to what an earlier update said: a new key all the same
            key = base.replace(f":{medium.value}", f".{suffix}:{medium.value}")
            suffix += 1
        idstring = f"{due.kind.value}.{post.id}"
        if due.kind in TOLD_KINDS:
            idstring += f".{said.text}"
        elif due.kind is NoticeKind.CANCELLED and due.previous is not None:
            idstring += f".{due.previous.text}"  # what it calls off: its window runs from there
        message_id = make_msgid(idstring=idstring, domain=self.domain)
        slot_at = post.slot_at
        if due.kind is NoticeKind.CANCELLED and due.previous is not None:
            slot_at = due.previous.slot_at  # the time the member was told
        if due.kind is NoticeKind.AFTER and due.featured_at is not None:
            slot_at = due.featured_at
        receipt = due.receipt
        if receipt is not None:
            slot_at = receipt.featured_at
        try:
            with self.session.begin_nested():
                token = issue_link(self.session, self.settings, member.id, now=self.now)
                facts = NoticeFacts(
                    # an update of a post whose first notice never went reads as that notice
                    kind=(
                        NoticeKind.BEFORE
                        if due.kind is NoticeKind.UPDATE and due.previous is None
                        else due.kind
                    ),
                    business_name=member.business_name,
                    channel=post.channel,
                    slot_at=slot_at,
                    page_url=page_url(self.settings, token),
                    unsubscribe_url=unsubscribe_url(self.settings, member.id, medium),
                    caption=post.caption,
                    # a receipt shows no card (nothing is attached that it does not show)
                    card=(
                        self.settings.path(post.card_path)
                        if post.card_path and receipt is None
                        else None
                    ),
                    permalink=_web_link(receipt.permalink) if receipt else due.permalink,
                    previous_slot_at=due.previous.slot_at if due.previous else None,
                    caption_changed=(
                        due.previous is not None and due.previous.caption_hash != said.caption_hash
                    ),
                    account=post.account,
                    figures=receipt.figures if receipt else None,
                    figures_partial=receipt.partial if receipt else False,
                    post_gone=receipt.gone if receipt else False,
                )
                cid = make_msgid(idstring=f"card.{post.id}", domain=self.domain)[1:-1]
                message = self.writer.compose(facts, recipient.language, medium, cid=cid)
                notice = Notice(
                    member_id=member.id,
                    post_id=post.id,
                    kind=due.kind.value,
                    medium=medium.value,
                    to_address=recipient.address,
                    language=recipient.language,
                    dedupe_key=key,
                    message_id=message_id,
                    subject=message.subject,
                    text_body=message.text,
                    html_body=message.html,
                    attachments=message.attachments,
                    link_id=int(token.partition(".")[0]),
                    state=NoticeState.PENDING,
                    next_attempt_at=self.now,
                    created_at=self.now,
                    state_changed_at=self.now,
                )
                self.session.add(notice)
                self.session.flush()
        except IntegrityError:  # queued meanwhile by another run: its row stands
            return
        except TemplateError as exc:  # a staff template slip: this notice waits, others go
            self.report.skip(
                member.id, f"post {post.id}: {due.kind.value} notice not written: {exc}"
            )
            return
        self.notices[(post.id, medium.value)].append(notice)
        self.report.count(due.kind)
        if due.kind is NoticeKind.UPDATE:
            older = [
                n
                for n in self.notices[(post.id, medium.value)]
                if n.id != notice.id and n.kind in TOLD_KINDS
            ]
            self._drop(older, f"replaced by notice {notice.id}: the slot or caption changed")


def queue_due(
    session: Session, settings: Settings, *, now: datetime, report: QueueReport | None = None
) -> QueueReport:
    """Queue every notice due at `now` and drop the pending ones that no longer apply; what it
    did (in `report`, when given). Nothing with `notices.enabled = false`. Flushes, never
    commits (the caller does)."""
    report = QueueReport() if report is None else report
    if not settings.notices.enabled:
        return report
    run = _Run(session, settings, now, report)
    run.load()
    run.drop_stale()
    for due in run.due():
        run.queue(due)
    session.flush()
    return run.report
