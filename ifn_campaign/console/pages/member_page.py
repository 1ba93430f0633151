"""The member's own page: public, no login, reached only by the signed link in a notice.

    GET  /anggota/<token>                  the page (?lang=en|id switches and remembers)
    POST /anggota/<token>/jawab            an answer: fine, change (with a comment), withdraw
    GET  /anggota/<token>/kartu/<post>     the card of one of this member's posts
    GET  /anggota/berhenti/<token>         stop the notices on one medium: a confirm button
    POST /anggota/berhenti/<token>         ... done (also RFC 8058's one-click POST)

The link names one member (ifn_campaign/members/links.py): nothing of any other member is
reachable from it, the card route included (the staff `/cards/<hash>` needs a login). A bad,
expired or revoked link is one friendly 404 page that never says which, and counts against
the client's address (members.answers.note_bad_link). Forms carry a token that is an HMAC of
the link's token with the member-page key, so a form on another site cannot post an answer.
The pages have their own frame (no staff navigation, no staff cookie), the console's security
headers, and never go into a cache or a Referer header: the token is in the address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_datetime
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.captions.context import DATE_PATTERNS
from ifn_campaign.console.i18n import LANGUAGES, Formats
from ifn_campaign.console.pages.media import TYPES, card_file, card_url
from ifn_campaign.console.pages.members import _profile
from ifn_campaign.console.web import DB, state, whole_number
from ifn_campaign.errors import AnswerRefused
from ifn_campaign.members.answers import (
    ANSWERABLE_STATES,
    MAX_COMMENT,
    address_over_limit,
    answer_fine,
    ask_change,
    note_bad_link,
    withdraw_all,
)
from ifn_campaign.members.links import (
    PAGE_PATH,
    UNSUBSCRIBE_PATH,
    LinkRefused,
    member_key,
    verify_link,
    verify_unsubscribe,
)
from ifn_campaign.members.withdrawal import holding_withdrawal_at
from ifn_campaign.models import (
    Feature,
    Member,
    MemberAnswer,
    MemberLink,
    MemberPreference,
    NoticeContact,
    Post,
    PostState,
)

__all__ = ["PAGE_HEADERS", "HideMemberToken", "form_token", "long_when", "router"]

router = APIRouter()

# the token is in the address: no cache keeps the page, no Referer carries it anywhere
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
ANSWERS = ("fine", "change", "withdraw")
_FORM_TOKEN = b"ifn-member-page-form:"
# The most a member-page form's body may hold: a 2,000-character comment of 4-byte letters,
# percent-encoded, is 24 KiB. Anything larger is refused unread (413), not taken into memory.
MAX_FORM_BYTES = 64 * 1024


def form_token(key: bytes, token: str) -> str:
    """The answer form's token for a page link: an HMAC of the link's token with the key."""
    return hmac.new(key, _FORM_TOKEN + token.encode(), hashlib.sha256).hexdigest()


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _choice(lang: str) -> str | None:
    return lang if lang in LANGUAGES else None


# a slot as a notice says it: "Selasa, 8 Desember 2026 pukul 19.00 WIB"
# as the notices and the captions say it: the member reads the same time in the e-mail and here
_LONG = {lang: pattern.removesuffix(" z") for lang, pattern in DATE_PATTERNS.items()}


def long_when(fmt: Formats, language: str, moment: datetime) -> str:
    """A time in full words in the display zone, with the zone's name (WIB)."""
    moment = fmt.shown(moment)
    day = format_datetime(moment, _LONG[language], tzinfo=fmt.zone, locale=fmt.locale)
    return f"{day} {fmt.zone_name(moment)}"


def _page(
    request: Request, language: str, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A member page in `language`, with its headers."""
    app = state(request)
    fmt = Formats(language, app.zone)
    page = (
        app.templates[language]
        .get_template(template)
        .render(
            language=language,
            fmt=fmt,
            when=lambda moment: long_when(fmt, language, moment),
            now=app.clock(),
            max_comment=MAX_COMMENT,
            **context,
        )
    )
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)


def _gone(request: Request, session: Session, lang: str, *, count: bool = True) -> HTMLResponse:
    """The one answer to every link that does not open a page (which reason, never said)."""
    app = state(request)
    if count:
        note_bad_link(session, app.settings, _address(request), now=app.clock())
        session.commit()
    language = _choice(lang) or request.state.language
    return _page(request, language, "console/member_page_message.html.j2", status=404, kind="gone")


def _limited(request: Request, lang: str) -> HTMLResponse:
    language = _choice(lang) or request.state.language
    return _page(
        request, language, "console/member_page_message.html.j2", status=429, kind="limited"
    )


def _open(request: Request, session: Session, token: str) -> MemberLink | None:
    """The link a token names, if it opens a page now."""
    key = member_key(state(request).settings)
    try:
        link = verify_link(session, key, token, now=state(request).clock())
    except LinkRefused:
        return None
    return link if session.get(Member, link.member_id) is not None else None


def _language(session: Session, member_id: str, lang: str, now: datetime) -> str:
    """The page's language: the one just chosen (kept for later notices), else the member's."""
    chosen = _choice(lang)
    preference = session.get(MemberPreference, member_id)
    if chosen is not None:
        if preference is None:
            session.add(MemberPreference(member_id=member_id, language=chosen, updated_at=now))
        elif preference.language != chosen:
            preference.language = chosen
            preference.updated_at = now
        session.commit()
        return chosen
    if preference is not None and preference.language in LANGUAGES:
        return preference.language
    return LANGUAGES[0]


@dataclass(frozen=True)
class Upcoming:
    """An upcoming feature as the member sees it, with their last answer on it."""

    post: Post
    card: str | None  # the member-page address of its card
    answer: MemberAnswer | None


@dataclass(frozen=True)
class Past:
    channel: str
    featured_at: datetime
    permalink: str | None  # only an http(s) address is a link
    taken_down: bool


def _web_address(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _member_view(
    request: Request,
    session: Session,
    link: MemberLink,
    token: str,
    language: str,
    **extra: Any,
) -> HTMLResponse:
    now = state(request).clock()
    member = session.get(Member, link.member_id)
    assert member is not None  # _open checked it
    posts = session.scalars(
        select(Post)
        .where(
            Post.member_id == member.id,
            Post.state.in_([s.value for s in ANSWERABLE_STATES]),  # type: ignore[attr-defined]
            Post.slot_at > now,  # type: ignore[operator]
        )
        .order_by(Post.slot_at, Post.id)
    ).all()
    answers: dict[int, MemberAnswer] = {}
    if posts:
        for answer in session.scalars(
            select(MemberAnswer)
            .where(MemberAnswer.post_id.in_([p.id for p in posts]))  # type: ignore[union-attr]
            .order_by(MemberAnswer.at, MemberAnswer.id)
        ):
            answers[answer.post_id or 0] = answer  # the latest wins
    upcoming = [
        Upcoming(
            post=p,
            card=f"{PAGE_PATH}/{token}/kartu/{p.id}" if card_url(p.card_path) else None,
            answer=answers.get(p.id or 0),
        )
        for p in posts
    ]
    past = [
        Past(
            channel=feature.channel,
            featured_at=feature.featured_at,
            permalink=_web_address(feature.permalink),
            taken_down=taken_down is not None,
        )
        for feature, taken_down in session.execute(
            select(Feature, Post.taken_down_at)
            .join(Post, Post.id == Feature.post_id)
            .where(Feature.member_id == member.id)
            .order_by(Feature.featured_at.desc(), Feature.id.desc())  # type: ignore[union-attr]
        )
    ]
    key = member_key(state(request).settings)
    return _page(
        request,
        language,
        "console/member_page.html.j2",
        status=extra.pop("status", 200),
        member=member,
        profile=_profile(member, language),
        upcoming=upcoming,
        past=past,
        withdrawn=holding_withdrawal_at(session, member) is not None
        or member.consent_withdrawn_at is not None,
        action=f"{PAGE_PATH}/{token}/jawab",
        here=f"{PAGE_PATH}/{token}",
        csrf=form_token(key, token),
        done=extra.pop("done", None),
        refused=extra.pop("refused", None),
        refused_post=extra.pop("refused_post", None),
        comment=extra.pop("comment", ""),
    )


# --- unsubscribe (first: /anggota/berhenti/<token> is not a page link) ---------------------------


def _unsubscribe_language(session: Session, member_id: str, lang: str) -> str:
    chosen = _choice(lang)
    if chosen is not None:
        return chosen
    preference = session.get(MemberPreference, member_id)
    if preference is not None and preference.language in LANGUAGES:
        return preference.language
    return LANGUAGES[0]


# HEAD as GET: mail scanners and link checkers ask a link's HEAD before a member opens it, and a
# good link must not read as a bad one (a 404 counted against their address)
@router.api_route(UNSUBSCRIBE_PATH + "/{token}", methods=["GET", "HEAD"])
def unsubscribe_page(request: Request, session: DB, token: str, lang: str = "") -> Response:
    app = state(request)
    if address_over_limit(session, app.settings, _address(request), now=app.clock()):
        return _limited(request, lang)
    try:
        stop = verify_unsubscribe(member_key(app.settings), token)
    except LinkRefused:
        return _gone(request, session, lang)
    contact = session.get(NoticeContact, (stop.member_id, stop.medium.value))
    return _page(
        request,
        _unsubscribe_language(session, stop.member_id, lang),
        "console/member_page_unsubscribe.html.j2",
        medium=stop.medium.value,
        done=contact is not None and contact.unsubscribed_at is not None,
        action=f"{UNSUBSCRIBE_PATH}/{token}",
        here=f"{UNSUBSCRIBE_PATH}/{token}",
    )


async def _body_fits(request: Request) -> bool:
    """Read the request's body if it holds at most MAX_FORM_BYTES (then `request.form()`
    parses what was read); False, having read no more than that, if it is larger. Starlette
    reads a URL-encoded body whole, and these pages answer anyone without a login: a
    gigabyte posted to any /anggota/ address was taken into memory."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        return False
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return False
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette's cache of the body, which form() reads
    return True


def _too_large(request: Request, lang: str) -> Response:
    """413 with the page that says the answer was not taken: open the page again."""
    language = _choice(lang) or request.state.language
    return _page(request, language, "console/member_page_message.html.j2", status=413, kind="form")


@router.post(UNSUBSCRIBE_PATH + "/{token}")
async def unsubscribe(request: Request, session: DB, token: str, lang: str = "") -> Response:
    """The confirm button's POST, or a mail client's RFC 8058 one-click POST (its body
    `List-Unsubscribe=One-Click`): the token is all it needs, no login, no form token."""
    app = state(request)
    now = app.clock()
    if address_over_limit(session, app.settings, _address(request), now=now):
        return _limited(request, lang)
    if not await _body_fits(request):
        return _too_large(request, lang)
    await request.form(max_files=0, max_fields=10, max_part_size=1024)  # read, not needed
    try:
        stop = verify_unsubscribe(member_key(app.settings), token)
    except LinkRefused:
        return _gone(request, session, lang)
    if session.get(Member, stop.member_id) is None:
        return _gone(request, session, lang)
    contact = session.get(NoticeContact, (stop.member_id, stop.medium.value))
    if contact is None:
        session.add(
            NoticeContact(member_id=stop.member_id, medium=stop.medium.value, unsubscribed_at=now)
        )
    elif contact.unsubscribed_at is None:
        contact.unsubscribed_at = now
    session.commit()
    return _page(
        request,
        _unsubscribe_language(session, stop.member_id, lang),
        "console/member_page_unsubscribe.html.j2",
        medium=stop.medium.value,
        done=True,
        action=f"{UNSUBSCRIBE_PATH}/{token}",
        here=f"{UNSUBSCRIBE_PATH}/{token}",
    )


# --- the page ----------------------------------------------------------------------------------


@router.api_route(PAGE_PATH + "/{token}", methods=["GET", "HEAD"])
def member_page(
    request: Request, session: DB, token: str, lang: str = "", ok: str = ""
) -> Response:
    app = state(request)
    if address_over_limit(session, app.settings, _address(request), now=app.clock()):
        return _limited(request, lang)
    link = _open(request, session, token)
    if link is None:
        return _gone(request, session, lang)
    language = _language(session, link.member_id, lang, app.clock())
    return _member_view(request, session, link, token, language, done=ok if ok in ANSWERS else None)


@router.post(PAGE_PATH + "/{token}/jawab")
async def answer(request: Request, session: DB, token: str) -> Response:
    app = state(request)
    now = app.clock()
    address = _address(request)
    if not await _body_fits(request):
        return _too_large(request, "")
    form = await request.form(max_files=0, max_fields=20, max_part_size=16 * 1024)
    if address_over_limit(session, app.settings, address, now=now):
        return _limited(request, "")
    link = _open(request, session, token)
    if link is None:
        return _gone(request, session, "")
    language = _language(session, link.member_id, "", now)
    sent = form.get("csrf")
    key = member_key(app.settings)
    if (
        not isinstance(sent, str)
        or not sent.isascii()  # compare_digest takes ASCII text only (else TypeError: a 500)
        or not hmac.compare_digest(sent, form_token(key, token))
    ):
        return _page(
            request,
            language,
            "console/member_page_message.html.j2",
            status=403,
            kind="form",
            here=f"{PAGE_PATH}/{token}",
        )
    values = {name: value for name, value in form.multi_items() if isinstance(value, str)}
    kind = values.get("kind", "")
    comment = values.get("comment", "")
    post_id = whole_number(values.get("post"))
    try:
        if any("\x00" in value for value in values.values()):
            raise AnswerRefused("a NUL character in the form", reason="not_understood")
        if kind == "fine" and post_id is not None:
            answer_fine(session, app.settings, link, post_id, address=address, now=now)
        elif kind == "change" and post_id is not None:
            ask_change(session, app.settings, link, post_id, comment, address=address, now=now)
        elif kind == "withdraw":
            if values.get("confirm") != "yes":
                raise AnswerRefused("the confirmation box is not ticked", reason="unconfirmed")
            withdraw_all(session, app.settings, link, address=address, now=now)
        else:
            raise AnswerRefused(f"not an answer: {kind[:20]!r}", reason="not_understood")
        session.commit()
    except AnswerRefused as exc:
        session.rollback()
        status = {"rate_limited": 429, "not_understood": 400}.get(exc.reason, 409)
        if exc.reason in ("empty", "too_long", "unconfirmed"):
            status = 400
        return _member_view(
            request,
            session,
            link,
            token,
            language,
            status=status,
            refused=exc.reason,
            refused_post=post_id,
            comment=comment if kind == "change" else "",
        )
    return RedirectResponse(f"{PAGE_PATH}/{token}?ok={kind}", status_code=303, headers=PAGE_HEADERS)


@router.api_route(PAGE_PATH + "/{token}/kartu/{post}", methods=["GET", "HEAD"])
def card(request: Request, session: DB, token: str, post: str) -> Response:
    """The card of one of the link's member's own posts; anything else is the 404 page."""
    app = state(request)
    if address_over_limit(session, app.settings, _address(request), now=app.clock()):
        return _limited(request, "")  # guessing links here is as slow as on the page
    link = _open(request, session, token)
    if link is None:
        return _gone(request, session, "")
    post_id = whole_number(post)
    found = session.get(Post, post_id) if post_id is not None else None
    if found is None or found.member_id != link.member_id or found.state == PostState.CANCELLED:
        return _gone(request, session, "", count=False)
    address = card_url(found.card_path)
    if address is None:
        return _gone(request, session, "", count=False)
    name = address.rsplit("/", 1)[1]
    key, _, ext = name.partition(".")
    path = card_file(state(request).settings.cards.cache_dir, key, ext)
    if path is None:
        return _gone(request, session, "", count=False)
    return FileResponse(path, media_type=TYPES[ext], headers=PAGE_HEADERS)


@router.api_route(PAGE_PATH + "/{rest:path}", methods=["GET", "POST", "HEAD"])
def anything_else(request: Request, session: DB, rest: str) -> Response:
    """Any other address under /anggota/: the same page as a bad link (counted, and refused
    once the address used up its requests, as every bad link is)."""
    app = state(request)
    if address_over_limit(session, app.settings, _address(request), now=app.clock()):
        return _limited(request, "")
    return _gone(request, session, "")


# --- keeping the token out of the access log ---------------------------------------------------

# a page link's or unsubscribe link's token: the path segment after /anggota/ or /anggota/berhenti/
_TOKEN_PATH = re.compile(r"(/anggota/(?:berhenti/)?)[^/\s?#\"]+")


class HideMemberToken(logging.Filter):
    """Writes /anggota/<token>... as /anggota/***... in uvicorn's access log lines: the token is
    the member's login (as the calendar feed's, exports.HideFeedToken)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(a, str) and "/anggota/" in a for a in record.args
        ):
            record.args = tuple(
                _TOKEN_PATH.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str) and "/anggota/" in record.msg:
            record.msg = _TOKEN_PATH.sub(r"\1***", record.msg)
        return True


def hide_member_tokens(logger: logging.Logger | None = None) -> None:
    """Install the filter on uvicorn's access logger (once)."""
    target = logger or logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideMemberToken) for f in target.filters):
        target.addFilter(HideMemberToken())


hide_member_tokens()
