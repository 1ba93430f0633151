"""Signed links to a member's own page, and the unsubscribe links every notice carries.

A page link is `<member_page.base_url>/anggota/<id>.<signature>`: `id` names a `MemberLink` row
(member, expiry, revocation), the signature is an HMAC-SHA256 over the row's id, member and
expiry with the member-page key, so a link cannot be made, stretched or pointed at another
member without the key, and staff revoke it by marking the row. Nothing else of the member is
in the URL. An unsubscribe link (`/anggota/berhenti/<member>.<medium>.<signature>`) never
expires: a member can always stop the notices on a medium, whenever the message was sent.

The key is `member_page.secret`, else `<data_dir>/member-page.key` (mode 0600), made on first use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.errors import FileAccessError
from ifn_campaign.files import secret_key_file
from ifn_campaign.models import MemberLink, Notice, NoticeMedium, NoticeState

__all__ = [
    "KEY_FILE",
    "PAGE_PATH",
    "UNSUBSCRIBE_PATH",
    "LinkRefused",
    "Revoked",
    "Unsubscribe",
    "issue_link",
    "member_key",
    "page_url",
    "revoke_links",
    "token_of",
    "unsubscribe_token",
    "unsubscribe_url",
    "verify_link",
    "verify_unsubscribe",
]

KEY_FILE = "member-page.key"
PAGE_PATH = "/anggota"  # the member page's public path in the console's app
UNSUBSCRIBE_PATH = "/anggota/berhenti"
_SIGNATURE_CHARS = 43  # base64url of a whole SHA-256 (256 bits), unpadded


class LinkRefused(Exception):
    """A member link that does not open the page; `reason` is for logs and tests only: the
    member is shown one message whatever it is (nothing to learn by probing)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def member_key(settings: Settings) -> bytes:
    """`member_page.secret`, else the key in `<data_dir>/member-page.key`."""
    secret = settings.member_page.secret
    if secret is not None:
        value = secret.get_secret_value().encode()
        if len(value) < 32:
            raise FileAccessError(
                "member_page.secret is too short: at least 32 characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return value
    path = settings.base / KEY_FILE
    try:
        return secret_key_file(path)
    except OSError as exc:
        raise FileAccessError(
            f"cannot read or make the member-page key {path}: {exc.strerror or exc}; "
            "or set IFN_MEMBER_PAGE__SECRET"
        ) from None


def _sign(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _page_message(link: MemberLink) -> str:
    return f"page:{link.id}:{link.member_id}:{int(link.expires_at.timestamp())}"


def issue_link(session: Session, settings: Settings, member_id: str, *, now: datetime) -> str:
    """A new page link for `member_id`, valid `member_page.link_days` days: its token (the part
    after /anggota/). Flushes, never commits."""
    link = MemberLink(
        member_id=member_id,
        created_at=now,
        expires_at=(now + timedelta(days=settings.member_page.link_days)).replace(microsecond=0),
    )
    session.add(link)
    session.flush()
    return token_of(link, member_key(settings))


def token_of(link: MemberLink, key: bytes) -> str:
    """The token of a stored link (the same every time: it is made from the row and the key)."""
    return f"{link.id}.{_sign(key, _page_message(link))}"


def page_url(settings: Settings, token: str) -> str:
    return f"{settings.member_page.base_url}{PAGE_PATH}/{token}"


def verify_link(session: Session, key: bytes, token: str, *, now: datetime) -> MemberLink:
    """The link a token names, if its signature is right and it is neither expired nor revoked;
    else `LinkRefused`. The comparison takes the same time however much of it matches."""
    head, dot, signature = token.partition(".")
    if not dot or not head.isascii() or not head.isdigit() or len(head) > 18:
        raise LinkRefused("malformed")
    if len(signature) != _SIGNATURE_CHARS or not signature.isascii():
        raise LinkRefused("malformed")  # compare_digest takes ASCII text only (else TypeError)
    link = session.get(MemberLink, int(head))
    if link is None:
        # still compute a signature, so an unknown id costs what a known one does
        hmac.compare_digest(_sign(key, f"page:{head}"), signature)
        raise LinkRefused("unknown")
    if not hmac.compare_digest(_sign(key, _page_message(link)), signature):
        raise LinkRefused("bad signature")
    if link.revoked_at is not None:
        raise LinkRefused("revoked")
    if now >= link.expires_at:
        raise LinkRefused("expired")
    return link


@dataclass(frozen=True)
class Revoked:
    """What `revoke_links` did: links revoked, pending notices taken back to be re-made."""

    links: int
    notices: int


def revoke_links(session: Session, member_id: str, *, actor: str, now: datetime) -> Revoked:
    """Revoke every live link of a member (staff, e.g. a link forwarded to the wrong person),
    and take back the member's notices not yet sent that carry a revoked link: they are deleted
    (never sent, so nothing the member saw is lost) and the next outbox run
    (`notices.outbox.queue_due`) makes them again with a new link, as their dedupe keys are
    free again. Otherwise the member would get a dead link. A notice being sent (claimed), or
    past it, is left alone. Flushes, never commits."""
    result = session.execute(
        update(MemberLink)
        .where(MemberLink.member_id == member_id, MemberLink.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor)
    )
    revoked_links = select(MemberLink.id).where(
        MemberLink.member_id == member_id,
        MemberLink.revoked_at.is_not(None),  # type: ignore[union-attr]
    )
    taken_back = session.execute(
        delete(Notice)
        .where(
            Notice.member_id == member_id,
            Notice.state == NoticeState.PENDING,  # a sender's claim makes it 'sending' first
            Notice.step.is_(None),  # type: ignore[union-attr]
            Notice.link_id.in_(revoked_links),  # type: ignore[union-attr]
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return Revoked(int(result.rowcount or 0), int(taken_back.rowcount or 0))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Unsubscribe:
    member_id: str
    medium: NoticeMedium


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def unsubscribe_token(key: bytes, member_id: str, medium: NoticeMedium) -> str:
    return f"{_b64(member_id)}.{medium.value}.{_sign(key, f'unsubscribe:{member_id}:{medium}')}"


def unsubscribe_url(settings: Settings, member_id: str, medium: NoticeMedium) -> str:
    token = unsubscribe_token(member_key(settings), member_id, medium)
    return f"{settings.member_page.base_url}{UNSUBSCRIBE_PATH}/{token}"


def verify_unsubscribe(key: bytes, token: str) -> Unsubscribe:
    """Whom and which medium an unsubscribe token stops; `LinkRefused` if it is not ours."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[2]) != _SIGNATURE_CHARS or len(parts[0]) > 128:
        raise LinkRefused("malformed")
    if not parts[2].isascii():  # compare_digest takes ASCII text only (else TypeError)
        raise LinkRefused("malformed")
    try:
        member_id = _unb64(parts[0])
        medium = NoticeMedium(parts[1])
    except ValueError:  # bad base64, not UTF-8, unknown medium
        raise LinkRefused("malformed") from None
    expected = _sign(key, f"unsubscribe:{member_id}:{medium}")
    if not hmac.compare_digest(expected, parts[2]):
        raise LinkRefused("bad signature")
    return Unsubscribe(member_id, medium)
