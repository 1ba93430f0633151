"""Hostile member data for the console's escaping tests: the sample registry's awkward members
(`{{ config }}`, `javascript:` logo, Chinese characters) and members written straight to the
database with text no sync would let through (script tags, quotes, RTL overrides, very long
words, `javascript:` links), with posts, events, features and an account waiting for
re-authorisation about them. Every hostile text carries MARK, so a test can find each place a
page shows it; and `check_page` says what is wrong with a page's HTML."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from sqlalchemy.orm import Session

from ifn_campaign.models import AccountState, Feature, Post, PostEvent, PostState
from ifn_sandbox.sample import member_from_record, sample_members
from tests.support.records import FULL, valid, with_changes

MARK = "Zqx"  # in every hostile text: where a page shows member text
ATTACK = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
BAD_URL = "javascript:alert(1)"
RTL = "\u202e"
LONG = "Sepatu" + "kulit" * 80  # one word of 406 letters
CAMPAIGN = "sorotan-anggota"

# id -> fields written over the parsed record (as if a sync had let them through)
HOSTILE: dict[str, dict[str, object]] = {
    "ifn-9001": {
        "business_name": f"{MARK} Sepatu {ATTACK}",
        "city": f"{MARK} Bandung{RTL}lanoD",
        "province": f"{MARK} {{{{ 7*7 }}}} Jawa Barat",
        "owner_name": f"{MARK} <b onmouseover=alert(1)>Budi</b>",
        "description_id": f"{MARK} {ATTACK} {{% raw %}}",
        "contact": {"website": BAD_URL, "email": f'"{MARK}"@x.example'},
        "socials": {"instagram": BAD_URL, "facebook": f'https://x.example/"{MARK} onclick=a'},
    },
    "ifn-9002": {
        "business_name": f"{MARK}{RTL} Kasut {LONG}",
        "city": f"{MARK} {{{{ config }}}}",
        "description_id": f"{MARK} {LONG} {LONG}",
        "logo_url": BAD_URL,
        "socials": {"youtube": f"{BAD_URL}//{MARK}", "marketplaces": [BAD_URL]},
    },
    "ifn-9003": {
        "business_name": f"{MARK} '\"><svg onload=alert(1)> & Co",
        "categories": [f"{MARK}<i>sandal</i>"],
        "actor_types": ["brand"],
        "sentra": f"{MARK} </bdi><script>alert(2)</script>",
    },
}
# each state, with its slot in hours from now: published earlier today (Today shows its link),
# the rest spread over this week so Today, the calendar, review and failures all list some
STATES = {
    PostState.PUBLISHED: -1,
    PostState.FAILED: -2,
    PostState.MISSED: -5,
    PostState.NEEDS_REAUTH: -3,
    PostState.COMPOSED: 30,
    PostState.PLANNED: 54,
    PostState.APPROVED: 4,
    PostState.CANCELLED: 78,
}


@dataclass
class HostileData:
    member_ids: list[str] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)


def store_hostile(session: Session, now: datetime | None = None) -> HostileData:
    """The sample members and the hostile ones, with a post for a hostile member in every state
    (captions, reasons, errors, permalinks all hostile) around `now` (the wall clock, as the
    console's), their events and features; the last member withdrew consent and its published
    post waits to be taken down. Commits."""
    now = now or datetime.now(UTC)
    data = HostileData()
    for member in sample_members():
        session.add(member)
    for number, (member_id, fields) in enumerate(HOSTILE.items()):
        member = member_from_record(valid(with_changes(FULL, id=member_id)))
        for name, value in fields.items():
            setattr(member, name, value)
        member.consent_channels = ["instagram", "facebook", "youtube"]
        session.add(member)
        session.flush()
        data.member_ids.append(member_id)
        withdrawn = number == len(HOSTILE) - 1
        if withdrawn:
            member.consent_withdrawn_at = now - timedelta(hours=1)
        for index, (post_state, hours) in enumerate(STATES.items()):
            channel = ("instagram", "facebook", "youtube")[index % 3]
            slot = now + timedelta(hours=hours, minutes=7 * number)
            post = Post(
                campaign=CAMPAIGN,
                channel=channel,
                account="main",
                slot_at=slot,
                member_id=member_id,
                template="default",
                reason_id=f"{MARK} dipilih: {fields['business_name']}",
                reason_en=f"{MARK} picked: {ATTACK}",
                state=post_state,
                state_changed_at=now,
                created_at=now - timedelta(days=10),
                caption=f"{MARK} {fields['business_name']} {ATTACK} #sepatu",
                title=f"{MARK} {ATTACK}"[:90],
                caption_edited_by=f"staff:{MARK}<script>",
                compose_notes=[f"{MARK} note {ATTACK}"],
                alt_text=f"{MARK} {ATTACK}",
                cancel_reason=f"{MARK} {ATTACK}" if post_state == PostState.CANCELLED else None,
                last_error=f"{MARK} {ATTACK}" if post_state == PostState.FAILED else None,
                error_action=f"{MARK} retry {ATTACK}" if post_state == PostState.FAILED else None,
                permalink=BAD_URL if post_state == PostState.PUBLISHED else None,
                published_at=slot if post_state == PostState.PUBLISHED else None,
                remote_id=f"{MARK}-remote" if post_state == PostState.PUBLISHED else None,
                takedown_requested_at=(
                    now - timedelta(minutes=30)
                    if withdrawn and post_state == PostState.PUBLISHED
                    else None
                ),
            )
            session.add(post)
            session.flush()
            assert post.id is not None
            data.post_ids.append(post.id)
            session.add(
                PostEvent(
                    post_id=post.id,
                    at=now - timedelta(hours=1),
                    from_state=None,
                    to_state=post_state,
                    actor=f"staff:{MARK}<img src=x onerror=alert(3)>",
                    note=f"{MARK} {ATTACK}",
                )
            )
            if post_state == PostState.PUBLISHED:
                session.add(
                    Feature(
                        post_id=post.id,
                        member_id=member_id,
                        campaign=CAMPAIGN,
                        channel=channel,
                        account="main",
                        featured_at=slot,
                        permalink=BAD_URL,
                        created_at=slot,
                    )
                )
    session.add(
        AccountState(
            channel="instagram",
            account="main",
            needs_reauth_since=now - timedelta(hours=2),
            message=f"{MARK} {ATTACK}",
        )
    )
    session.commit()
    return data


# where member text may stand without <bdi>: elements that hold text only (HTML ones, and the
# text of a chart drawn as SVG, where HTML elements cannot go: escaping is what counts there)
_TEXT_ONLY = {"title", "textarea", "option", "desc", "text", "tspan"}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "srcset", "xlink:href"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
_VOID |= {"track", "wbr"}
_OWN_SCRIPT = re.compile(r"^/static/[\w.-]+\.js$")


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open and self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if MARK in data and not ({"bdi"} | _TEXT_ONLY) & set(self.open):
            self.problems.append(f"member text outside <bdi> (in {'>'.join(self.open)}): {data!r}")

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not _OWN_SCRIPT.match(values.get("src") or ""):
            self.problems.append(f"a script that is not the console's own: {attrs}")
        if tag in ("iframe", "object", "embed", "base"):
            self.problems.append(f"<{tag}> on a page: {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"an event handler attribute <{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"an inline style <{tag} style=...> (the CSP refuses it)")
            if name in _URL_ATTRIBUTES and value is not None:
                url = value.strip().lower()
                if re.match(r"^[\s\x00-\x20]*(javascript|data|vbscript):", url) and not (
                    tag == "img" and url.startswith("data:image/")
                ):
                    self.problems.append(f"a dangerous URL <{tag} {name}={value!r}>")
                if MARK in value and any(c in value for c in " <>\"'"):
                    self.problems.append(f"member text unencoded in <{tag} {name}={value!r}>")


def check_page(html: str) -> list[str]:
    """What is wrong with a page holding hostile member text: scripts not the console's own,
    event handler attributes, inline styles, javascript: URLs, member text outside <bdi> or
    unencoded in a URL. (Escaped text such as '&lt;img onerror=...&gt;' is harmless: it is
    parsed as text here, as a browser parses it.)"""
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker.problems
