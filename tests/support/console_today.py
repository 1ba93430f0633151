"""Data for the console's Today and Failures pages (tests/console/test_today.py,
test_failures.py): members with hostile and odd names, a post in every state today, posts later
this week, an account waiting for re-authorisation, a platform block and a takedown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape

from sqlalchemy import update
from sqlalchemy.orm import Session

from ifn_campaign.models import (
    AccountState,
    Feature,
    Member,
    PlatformBlock,
    Post,
    PostState,
    StaffUser,
)
from ifn_sandbox.sample import member_from_record, sample_members
from tests.support.records import BASE, valid, with_changes

# Tuesday 8 December 2026, 10.00 WIB: the console's clock in these tests
NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> & <b>Sepatu</b>'
TEMPLATE_NAME = "Sepatu {{ config }} Jaya"  # ifn-0034 of the sample registry
CJK_NAME = "Sepatu Hoki 鞋行"  # ifn-0049
ERROR = 'Instagram said: media <img src=x onerror="alert(1)"> could not be fetched (code 9004)'
ACTION = "host the card again, then approve the post again"
PERMALINK = "https://www.instagram.com/p/Cx-taken/"


@dataclass
class Seeded:
    """What `seed` stored: post ids by state (today's), this week's, and the special ones."""

    today: dict[str, int] = field(default_factory=dict)
    week: list[int] = field(default_factory=list)
    takedown: int = 0
    reauth_waiting: int = 0  # a needs_reauth post of the waiting account, later this week
    members: dict[str, str] = field(default_factory=dict)  # member id -> business name


def _members(session: Session) -> list[Member]:
    """Three sample members (the template-looking name, the Chinese one, a plain one) and one
    with markup in its name, stored."""
    wanted = {"ifn-0034", "ifn-0049", "ifn-0001"}
    found = [m for m in sample_members() if m.id in wanted]
    hostile = member_from_record(valid(with_changes(BASE, id="ifn-9001", business_name=HOSTILE)))
    members = [*sorted(found, key=lambda m: m.id), hostile]
    for member in members:
        session.add(member)
    session.flush()
    return members


def _post(
    member: Member,
    slot: datetime,
    state: str,
    *,
    channel: str = "instagram",
    account: str = "bpipi",
    **extra: object,
) -> Post:
    return Post(
        campaign="sorotan",
        channel=channel,  # type: ignore[arg-type]
        account=account,
        slot_at=slot,
        member_id=member.id,
        template="sorotan",
        reason_id="giliran",
        reason_en="their turn",
        state=state,
        state_changed_at=NOW - timedelta(hours=2),
        created_at=NOW - timedelta(days=3),
        caption="Sepatu kulit dari Cibaduyut #IFN",
        **extra,
    )


def seed(session: Session) -> Seeded:
    """Every post state once today on instagram/bpipi (each an hour apart from 07.00 WIB, the
    hostile member on the failed one), posts on facebook/bpipi later this week and one beyond
    it, instagram/bpipi waiting for re-authorisation, facebook/bpipi blocked for two hours,
    and a published post of last week to take down. Committed."""
    members = _members(session)
    plain, template, cjk, hostile = members
    done = Seeded(members={m.id: m.business_name for m in members})
    start = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)  # 07.00 WIB
    who = {
        PostState.FAILED: hostile,
        PostState.MISSED: template,
        PostState.NEEDS_REAUTH: cjk,
    }
    posts: dict[str, Post] = {}
    for hour, state in enumerate(PostState):
        extra: dict[str, object] = {}
        if state in (PostState.FAILED, PostState.MISSED, PostState.NEEDS_REAUTH):
            extra = {"last_error": ERROR, "error_action": ACTION, "attempts": 2}
        if state == PostState.PUBLISHED:
            extra = {"permalink": "https://www.instagram.com/p/Cx-today/", "published_at": start}
        if state == PostState.CANCELLED:
            extra = {"cancel_reason": "dibatalkan / cancelled: test"}
        posts[state] = _post(who.get(state, plain), start + timedelta(hours=hour), state, **extra)
    week = [
        _post(plain, NOW + timedelta(days=1), PostState.APPROVED, channel="facebook"),
        _post(template, NOW + timedelta(days=2), PostState.COMPOSED, channel="facebook"),
        _post(cjk, NOW + timedelta(days=3), PostState.PLANNED, channel="facebook"),
        _post(plain, NOW + timedelta(days=12), PostState.PLANNED, channel="facebook"),
    ]
    waiting = _post(
        cjk,
        NOW + timedelta(days=2, hours=5),
        PostState.NEEDS_REAUTH,
        last_error="token expired (code 190)",
        error_action="store a new token, then re-authorise the account",
    )
    gone = _post(
        hostile,
        NOW - timedelta(days=6),
        PostState.PUBLISHED,
        permalink=PERMALINK,
        published_at=NOW - timedelta(days=6),
        takedown_requested_at=NOW - timedelta(days=1),
    )
    session.add_all([*posts.values(), *week, waiting, gone])
    session.flush()
    session.add(
        Feature(
            post_id=gone.id or 0,
            member_id=hostile.id,
            campaign="sorotan",
            channel="instagram",  # type: ignore[arg-type]
            account="bpipi",
            featured_at=gone.slot_at,
            permalink=PERMALINK,
            created_at=gone.slot_at,
        )
    )
    session.add(
        AccountState(
            channel="instagram",  # type: ignore[arg-type]
            account="bpipi",
            needs_reauth_since=NOW - timedelta(hours=1),
            message="Error validating access token: the session has been invalidated",
        )
    )
    session.add(
        PlatformBlock(
            scope="account",
            key="facebook:bpipi",
            blocked_until=NOW + timedelta(hours=2),
            code=4,
            reason="application request limit reached",
            recorded_at=NOW - timedelta(minutes=10),
        )
    )
    session.commit()
    done.today = {state: post.id or 0 for state, post in posts.items()}
    done.week = [p.id or 0 for p in week]
    done.takedown = gone.id or 0
    done.reauth_waiting = waiting.id or 0
    return done


def in_english(session: Session) -> None:
    """Every console user reads English: the tests read the source text, whatever the
    Indonesian catalogue says (dates and numbers follow the language too)."""
    session.execute(update(StaffUser).values(language="en"))
    session.commit()


_INLINE = re.compile(r"</?(?:bdi|span|strong|a|small|em|b|abbr)\b[^>]*>")
_TAG = re.compile(r"<[^>]+>")


def page_text(html: str) -> str:
    """A page's text as a reader sees it: inline tags dropped, the others a space, entities
    read, spaces collapsed."""
    return " ".join(unescape(_TAG.sub(" ", _INLINE.sub("", html))).split())


def section(html: str, ident: str) -> str:
    """The HTML of the <section id="ident"> of a page (its first closing tag ends it)."""
    start = html.index(f'<section id="{ident}"')
    return html[start : html.index("</section>", start)]
