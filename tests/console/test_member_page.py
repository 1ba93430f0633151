"""The member's own page through the console's app (FastAPI's TestClient): every route, what a
member sees and may answer, hostile and foreign links, other members' posts, CSRF, the rate
limits, one-click unsubscribe, the language switch, and the headers; on both databases."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from ifn_campaign.console.app import CSP
from ifn_campaign.console.pages.member_page import HideMemberToken
from ifn_campaign.console.sessions import COOKIE
from ifn_campaign.members.links import (
    issue_link,
    member_key,
    revoke_links,
    unsubscribe_token,
)
from ifn_campaign.models import (
    Feature,
    LoginFailure,
    Member,
    MemberAnswer,
    MemberPreference,
    MemberWithdrawal,
    NoticeContact,
    NoticeMedium,
    Post,
    PostEvent,
    PostState,
)
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.ledger import add_member, add_post

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # Saturday 10.00 WIB
SLOT = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)  # Tuesday 19.00 WIB
HOSTILE = '<script>alert("x")</script> Sepatu & "Putra" {{ 7*7 }}'
CAPTION = 'Kenalan dengan <b>Sepatu Kulit</b> & "Putra" dari Cibaduyut! {{ config }}'
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Page:
    """The console, a member with three upcoming posts and a past one, another member."""

    world: ConsoleWorld
    token: str
    posts: dict[str, int]  # "instagram", "facebook", "scheduled", "published", "theirs"
    card: bytes

    @property
    def url(self) -> str:
        return f"/anggota/{self.token}"

    def client(self) -> TestClient:
        return self.world.anonymous()

    def csrf(self, client: TestClient) -> str:
        found = _CSRF.search(client.get(self.url).text)
        assert found
        return found.group(1)

    def answer(self, client: TestClient, **data: str) -> object:
        return client.post(f"{self.url}/jawab", data={"csrf": self.csrf(client), **data})

    def post(self, post_id: int) -> Post:
        with self.world.session() as session:
            found = session.get(Post, post_id)
            assert found is not None
            session.expunge(found)
            return found

    def count(self, table: type) -> int:
        with self.world.session() as session:
            return session.scalar(select(func.count()).select_from(table)) or 0


def _card(cache: Path, content: bytes) -> str:
    key = hashlib.sha256(content).hexdigest()
    path = cache / key[:2] / f"{key}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path)


@pytest.fixture
def page(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Page]:
    settings = settings_for(
        db_url, tmp_path, member_page={"answers_per_hour": 6, "requests_per_address": 12}
    )
    card = b"\x89PNG\r\n\x1a\n member card"
    path = _card(settings.cards.cache_dir, card)
    other_card = _card(settings.cards.cache_dir, b"\x89PNG\r\n\x1a\n another member")
    with console_world(settings, clock=lambda: NOW) as world:
        with world.session() as s:
            add_member(
                s,
                "m1",
                business_name=HOSTILE,
                owner_name="Ibu Sari Wulandari",
                contact={"phone": "+62 22 555 0101", "email": "sari@example.test"},
                consent_fields_allowed=["phone"],
            )
            add_member(s, "m2", business_name="Sandal Rahasia Lain", owner_name="Pak Rahasia")
            posts = {
                "instagram": add_post(
                    s, "m1", PostState.APPROVED, slot_at=SLOT, caption=CAPTION, card_path=path
                ),
                "facebook": add_post(
                    s,
                    "m1",
                    PostState.COMPOSED,
                    "facebook",
                    slot_at=SLOT + timedelta(days=1),
                    caption="Sepatu kulit dari Bandung.",
                    card_path=path,
                ),
                "scheduled": add_post(
                    s,
                    "m1",
                    PostState.SCHEDULED,
                    "youtube",
                    slot_at=SLOT + timedelta(days=2),
                    caption="Short",
                    title="Sepatu kulit",
                    remote_id="yt-1",
                    card_path=path,
                ),
                "published": add_post(
                    s,
                    "m1",
                    PostState.PUBLISHED,
                    slot_at=NOW - timedelta(days=9),
                    featured_at=NOW - timedelta(days=9),
                    permalink="https://www.instagram.com/p/ABC123/",
                    card_path=path,
                ),
                "theirs": add_post(
                    s,
                    "m2",
                    PostState.APPROVED,
                    slot_at=SLOT + timedelta(days=3),
                    caption="Rahasia anggota lain",
                    card_path=other_card,
                ),
            }
            token = issue_link(s, settings, "m1", now=NOW - timedelta(days=1))
            s.commit()
        yield Page(world, token, posts, card)


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_the_members_features_profile_and_answers(page: Page) -> None:
    client = page.client()
    answer = client.get(page.url)
    assert answer.status_code == 200, answer.text
    html = answer.text
    assert '<html lang="id">' in html
    # the member's name, escaped; their three upcoming posts in WIB, Indonesian first
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Sepatu &amp;" in html
    assert "<script>" not in html
    assert "Selasa, 8 Desember 2026 pukul 19.00 WIB" in html
    assert "Rabu, 9 Desember 2026 pukul 19.00 WIB" in html
    assert "Kenalan dengan &lt;b&gt;Sepatu Kulit&lt;/b&gt;" in html
    for name in ("instagram", "facebook", "scheduled"):
        assert f'id="post-{page.posts[name]}"' in html
        assert f'src="{page.url}/kartu/{page.posts[name]}"' in html
    assert "Sudah sesuai" in html and "Mohon diubah" in html
    assert "Jangan tampilkan saya lagi" in html
    # the past feature with its permalink; the profile with public and left-out fields
    assert 'href="https://www.instagram.com/p/ABC123/"' in html
    assert "+62 22 555 0101" in html and "Ibu Sari Wulandari" in html
    assert html.count('class="public"') == 1 and html.count('class="left-out"') == 2
    assert "ditampilkan publik: Anda mengizinkannya" in html
    # nothing of the other member, nor of the staff console
    # (the other member's id is checked as a word: the link's random signature may hold "m2")
    for foreign in ("Sandal Rahasia", "Pak Rahasia", "Rahasia anggota lain"):
        assert foreign not in html
    assert not re.search(r"(?<![A-Za-z0-9_-])m2(?![A-Za-z0-9_-])", html)
    for staff in ('href="/review"', 'href="/members', "/logout", "giliran berikutnya"):
        assert staff not in html


def test_the_headers_keep_the_token_to_the_page(page: Page) -> None:
    client = page.client()
    for url in (page.url, f"{page.url}/kartu/{page.posts['instagram']}", "/anggota/nope"):
        answer = client.get(url)
        assert answer.headers["cache-control"] == "no-store", url
        assert answer.headers["referrer-policy"] == "no-referrer", url
        assert answer.headers["content-security-policy"] == CSP, url
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert COOKIE not in answer.cookies  # no staff cookie for a member
    assert "style=" not in client.get(page.url).text  # nothing inline for the CSP to refuse
    assert "<script" not in client.get(page.url).text


def test_the_card_route_serves_only_this_members_posts(page: Page) -> None:
    client = page.client()
    mine = client.get(f"{page.url}/kartu/{page.posts['instagram']}")
    assert mine.status_code == 200 and mine.content == page.card
    assert mine.headers["content-type"] == "image/png"
    for other in (str(page.posts["theirs"]), "99999", "-1", "1e3", "٣", "x" * 300, "2147483648"):
        answer = client.get(f"{page.url}/kartu/{other}")
        assert answer.status_code == 404, other
        assert "Sandal" not in answer.text
    # the staff route needs a login
    key = hashlib.sha256(page.card).hexdigest()
    assert client.get(f"/cards/{key}.png").status_code == 303


@pytest.mark.parametrize(
    "token_of",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "9" + t,  # another id
        lambda t: t.split(".")[0],  # no signature
        lambda t: "",
        lambda t: "%2e%2e%2fetc%2fpasswd",
        lambda t: t + "/lagi",
    ],
)
def test_a_bad_link_is_one_friendly_page(page: Page, token_of: object) -> None:
    client = page.client()
    answer = client.get(f"/anggota/{token_of(page.token)}")  # type: ignore[operator]
    assert answer.status_code == 404
    assert "Tautan ini tidak berlaku lagi" in answer.text
    assert "BPIPI" in answer.text
    assert HOSTILE not in answer.text and "Sepatu" not in answer.text


def test_expired_and_revoked_links_say_the_same_as_a_forged_one(page: Page) -> None:
    forged = page.client().get(f"/anggota/{page.token[:-2]}xx").text
    with page.world.session() as s:
        expired = issue_link(s, page.world.settings, "m1", now=NOW - timedelta(days=31))
        s.commit()
    assert page.client().get(f"/anggota/{expired}").text == forged
    with page.world.session() as s:
        revoke_links(s, "m1", actor="staff:admin-user", now=NOW)
        s.commit()
    revoked = page.client().get(page.url)
    assert revoked.status_code == 404 and revoked.text == forged
    answered = page.client().post(f"{page.url}/jawab", data={"kind": "withdraw", "confirm": "yes"})
    assert answered.status_code == 404
    assert page.count(MemberWithdrawal) == 0


@pytest.mark.slow
@given(token=st.text(max_size=200))
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_tokens_never_fail(page: Page, token: str) -> None:
    # "." and ".." are dot segments: every client (browsers, httpx) removes them from the path
    # before asking, so no server ever sees them as a token (/anggota/.. is the console's home)
    assume(token not in (".", ".."))
    client = page.client()
    quoted = quote(token, safe="")
    for url in (f"/anggota/{quoted}", f"/anggota/berhenti/{quoted}"):
        answer = client.get(url)
        assert answer.status_code in (400, 404, 429), (token, answer.status_code)
    answer = client.post(f"/anggota/{quoted}/jawab")
    assert answer.status_code in (400, 404, 429), (token, answer.status_code)


@pytest.mark.slow
@given(comment=st.text(max_size=2100), post=st.text(max_size=30), kind=st.text(max_size=12))
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_answers_never_fail(page: Page, comment: str, post: str, kind: str) -> None:
    client = page.client()
    for chosen in (kind, "change"):
        answer = client.post(
            f"{page.url}/jawab",
            data={"csrf": page.csrf(client), "kind": chosen, "post": post, "comment": comment},
        )
        assert answer.status_code in (303, 400, 409, 429), (chosen, post, answer.status_code)
    assert page.post(page.posts["theirs"]).state == PostState.APPROVED


# --- the answers -----------------------------------------------------------------------------


def test_fine_is_recorded_and_confirmed(page: Page) -> None:
    client = page.client()
    post_id = page.posts["instagram"]
    answer = page.answer(client, kind="fine", post=str(post_id))
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert answer.headers["location"] == f"{page.url}?ok=fine"  # type: ignore[attr-defined]
    shown = client.get(f"{page.url}?ok=fine").text
    assert "Terima kasih" in shown and 'role="status"' in shown
    with page.world.session() as s:
        row = s.scalars(select(MemberAnswer)).one()
        assert (row.kind, row.post_id, row.member_id, row.address) == (
            "fine",
            post_id,
            "m1",
            "testclient",
        )
    assert page.post(post_id).state == PostState.APPROVED


def test_a_change_goes_back_to_review_with_the_comment(page: Page) -> None:
    client = page.client()
    post_id = page.posts["scheduled"]
    comment = 'Mohon ganti foto <img src=x> "lama" dengan yang baru'
    answer = page.answer(client, kind="change", post=str(post_id), comment=comment)
    assert answer.status_code == 303  # type: ignore[attr-defined]
    post = page.post(post_id)
    assert post.state == PostState.COMPOSED and post.replaces_remote_id == "yt-1"
    with page.world.session() as s:
        note = s.scalars(
            select(PostEvent.note).where(PostEvent.post_id == post_id).order_by(PostEvent.id)
        ).all()[-1]
    assert note == f"member asked for a change: {comment}"
    shown = client.get(f"{page.url}?ok=change").text
    assert "Mohon ganti foto &lt;img src=x&gt;" in shown  # their answer, escaped
    # the staff review queue holds it now
    review = page.world.client("viewer").get("/review")
    assert f'id="post-{post_id}"' in review.text


def test_an_empty_comment_keeps_the_page_and_changes_nothing(page: Page) -> None:
    client = page.client()
    post_id = page.posts["instagram"]
    answer = page.answer(client, kind="change", post=str(post_id), comment="   ")
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert "Tuliskan apa yang perlu diubah" in answer.text  # type: ignore[attr-defined]
    # the language switch leads back to the page, not to the form's address
    assert f'href="{page.url}?lang=en"' in answer.text  # type: ignore[attr-defined]
    too_long = "x" * 2001
    answer = page.answer(client, kind="change", post=str(post_id), comment=too_long)
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert too_long in answer.text  # type: ignore[attr-defined]  # the text is kept
    assert page.post(post_id).state == PostState.APPROVED
    assert page.count(MemberAnswer) == 0


def test_another_members_post_cannot_be_answered(page: Page) -> None:
    client = page.client()
    theirs = page.posts["theirs"]
    for data in (
        {"kind": "fine", "post": str(theirs)},
        {"kind": "change", "post": str(theirs), "comment": "batalkan"},
        {"kind": "fine", "post": str(page.posts["published"])},
        {"kind": "fine", "post": "99999999999999999999"},
        {"kind": "fine", "post": "abc"},
        {"kind": "sesuatu"},
        {"kind": "fine", "post": "1\x00"},
    ):
        answer = page.answer(client, **data)
        assert answer.status_code in (400, 409), (data, answer.status_code)  # type: ignore[attr-defined]
        assert "Sandal Rahasia" not in answer.text  # type: ignore[attr-defined]
    assert page.post(theirs).state == PostState.APPROVED
    assert page.count(MemberAnswer) == 0


def test_withdrawal_needs_the_box_then_cancels_everything(page: Page) -> None:
    client = page.client()
    unticked = page.answer(client, kind="withdraw")
    assert unticked.status_code == 400  # type: ignore[attr-defined]
    assert page.count(MemberWithdrawal) == 0
    answer = page.answer(client, kind="withdraw", confirm="yes")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    for name in ("instagram", "facebook", "scheduled"):
        assert page.post(page.posts[name]).state == PostState.CANCELLED
    assert page.post(page.posts["theirs"]).state == PostState.APPROVED
    with page.world.session() as s:
        assert s.get(Member, "m1").consent_withdrawn_at == NOW  # type: ignore[union-attr]
        withdrawal = s.scalars(select(MemberWithdrawal)).one()
        assert withdrawal.source == "member page" and withdrawal.answer_id is not None
    shown = client.get(f"{page.url}?ok=withdraw").text
    assert "tidak akan ditampilkan lagi" in shown
    assert 'name="kind"' not in shown  # no answer forms any more
    for language in ("id", "en"):
        later = client.get(f"{page.url}?lang={language}").text
        # a member who asked to stop is not promised a next feature
        assert "sebelum penampilan berikutnya" not in later
        assert "before the next one" not in later


def test_a_form_from_elsewhere_is_refused(page: Page) -> None:
    client = page.client()
    post_id = str(page.posts["instagram"])
    with page.world.session() as s:
        other = issue_link(s, page.world.settings, "m1", now=NOW)
        s.commit()
    other_csrf = _CSRF.search(client.get(f"/anggota/{other}").text)
    assert other_csrf
    for csrf in ("", "0" * 64, other_csrf.group(1)):  # another link's token does not do
        answer = client.post(
            f"{page.url}/jawab", data={"csrf": csrf, "kind": "fine", "post": post_id}
        )
        assert answer.status_code == 403
        assert "Buka halaman" in answer.text
        assert f'href="{page.url}?lang=en"' in answer.text
    assert page.count(MemberAnswer) == 0


def test_answers_are_rate_limited_per_link(page: Page) -> None:
    client = page.client()
    for _ in range(6):
        answer = page.answer(client, kind="fine", post=str(page.posts["instagram"]))
        assert answer.status_code == 303  # type: ignore[attr-defined]
    answer = page.answer(client, kind="fine", post=str(page.posts["instagram"]))
    assert answer.status_code == 429  # type: ignore[attr-defined]
    assert page.count(MemberAnswer) == 6


def test_bad_links_are_rate_limited_per_address(page: Page) -> None:
    client = page.client()
    for attempt in range(12):
        assert client.get(f"/anggota/{attempt}.{'A' * 43}").status_code == 404
    with page.world.session() as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 12
    answer = client.get(page.url)  # even the right link, for the hour
    assert answer.status_code == 429
    assert "Terlalu banyak" in answer.text


# --- unsubscribe and language ----------------------------------------------------------------


def _unsubscribe_url(page: Page, medium: NoticeMedium = NoticeMedium.EMAIL) -> str:
    token = unsubscribe_token(member_key(page.world.settings), "m1", medium)
    return f"/anggota/berhenti/{token}"


def test_unsubscribe_asks_then_stops_the_notices(page: Page) -> None:
    client = page.client()
    url = _unsubscribe_url(page)
    asked = client.get(url)
    assert asked.status_code == 200 and f'action="{url}"' in asked.text
    assert page.count(NoticeContact) == 0  # a GET changes nothing (link checkers follow links)
    done = client.post(url)
    assert done.status_code == 200 and "tidak akan menerima" in done.text
    with page.world.session() as s:
        contact = s.get(NoticeContact, ("m1", "email"))
        assert contact is not None and contact.unsubscribed_at == NOW
        assert s.get(NoticeContact, ("m1", "apprise")) is None
    assert "tidak akan menerima" in client.get(url).text  # says so when opened again
    assert "no more notices" in client.get(f"{url}?lang=en").text


def test_one_click_unsubscribe_needs_nothing_but_the_link(page: Page) -> None:
    client = page.client()
    url = _unsubscribe_url(page, NoticeMedium.APPRISE)
    answer = client.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    with page.world.session() as s:
        contact = s.get(NoticeContact, ("m1", "apprise"))
        assert contact is not None and contact.unsubscribed_at == NOW
    forged = client.post(url[:-3] + "abc", content=b"List-Unsubscribe=One-Click")
    assert forged.status_code == 404


def test_the_language_switch_is_remembered_for_the_notices(page: Page) -> None:
    client = page.client()
    english = client.get(f"{page.url}?lang=en").text
    assert '<html lang="en">' in english
    assert "Tuesday, 8 December 2026 at 19:00 WIB" in english  # as the notice e-mail says it
    assert "Looks right" in english and "Don't show me again" in english
    with page.world.session() as s:
        preference = s.get(MemberPreference, "m1")
        assert preference is not None and preference.language == "en"
    assert '<html lang="en">' in client.get(page.url).text  # kept
    assert '<html lang="id">' in client.get(f"{page.url}?lang=id").text
    assert '<html lang="id">' in client.get(f"{page.url}?lang=xx").text  # unknown: ignored
    gone = client.get("/anggota/nope?lang=en")
    assert "This link no longer works" in gone.text


def test_past_features_link_only_to_web_addresses(page: Page) -> None:
    with page.world.session() as s:
        feature = s.scalars(select(Feature)).one()
        feature.permalink = "javascript:alert(1)"
        s.commit()
    html = page.client().get(page.url).text
    assert "javascript:" not in html


def test_every_address_under_the_page_counts_toward_the_limit(page: Page) -> None:
    """Bad links through the card route or any other address under /anggota/ are as slow to
    guess as on the page: counted, then refused for the hour (no row written once refused)."""
    client = page.client()
    for attempt in range(6):
        assert client.get(f"/anggota/{attempt}.{'A' * 43}/kartu/1").status_code == 404
        assert client.get(f"/anggota/{attempt}/x/y").status_code == 404
    for url in (f"/anggota/99.{'A' * 43}/kartu/1", "/anggota/1/x/y", page.url):
        assert client.get(url).status_code == 429, url
    assert client.get(f"{page.url}/kartu/{page.posts['instagram']}").status_code == 429
    with page.world.session() as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 12


def test_a_head_request_on_a_good_link_is_not_a_bad_link(page: Page) -> None:
    """Mail scanners and link checkers ask HEAD first: a good link answers as with GET and is
    never counted against their address."""
    client = page.client()
    card = f"{page.url}/kartu/{page.posts['instagram']}"
    for url in (page.url, card, _unsubscribe_url(page)):
        answer = client.head(url)
        assert answer.status_code == 200, url
        assert answer.headers["referrer-policy"] == "no-referrer", url
    assert client.head("/anggota/nope").status_code == 404
    with page.world.session() as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 1


def test_an_error_page_under_the_page_sends_no_referer_either(page: Page) -> None:
    """A form too big for the parser is the console's 400 page, which loads /static/ and links
    home: under /anggota/<token> it must not let the Referer carry the token (a proxy logs it)."""
    client = page.client()
    answer = client.post(f"{page.url}/jawab", data={"csrf": "x", "comment": "a" * 20000})
    assert answer.status_code == 400
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    assert COOKIE not in answer.cookies


def test_a_signature_or_form_token_in_other_letters_is_refused_not_a_crash(page: Page) -> None:
    """hmac.compare_digest raises TypeError on text that is not ASCII: a page link, an
    unsubscribe link or a form token of 'é's was a 500 instead of the refusal."""
    client = page.client()
    foreign = quote("é" * 43)
    head = page.token.split(".")[0]
    for url in (f"/anggota/{head}.{foreign}", f"/anggota/1.{foreign}"):
        assert client.get(url).status_code == 404, url
    unsubscribe = _unsubscribe_url(page).rsplit(".", 1)[0] + "." + foreign
    assert client.get(unsubscribe).status_code == 404
    assert client.post(unsubscribe).status_code == 404
    answer = client.post(f"{page.url}/jawab", data={"csrf": "é" * 64, "kind": "fine"})
    assert answer.status_code == 403
    assert page.count(MemberAnswer) == 0


@pytest.mark.parametrize(
    "path,kept",
    [
        ("/anggota/12.s3cr3tSignatureAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?lang=en", "?lang=en"),
        ("/anggota/12.s3cr3tSignatureAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/jawab", "/jawab"),
        ("/anggota/12.s3cr3tSignatureAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/kartu/7", "/kartu/7"),
        ("/anggota/berhenti/bTE.email.s3cr3tSignatureAAAAAAAAAAAAAAAAAAAAAAAAAA", "berhenti/***"),
    ],
)
def test_the_access_log_never_shows_a_members_token(path: str, kept: str) -> None:
    """Uvicorn's access log (on when the console runs at info level, or under another server)
    writes every path: the member's token in it is their login."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )
    assert HideMemberToken().filter(record)
    line = record.getMessage()
    assert "s3cr3t" not in line and "/anggota/" in line and kept in line
    assert any(isinstance(f, HideMemberToken) for f in logging.getLogger("uvicorn.access").filters)
