"""The review queue on both databases: previews of composed posts on all three channels, every
action and its refusals (roles, form token, version conflict, four eyes, caption limits), and
the card and Short routes that serve only what they must."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from sqlalchemy import Engine, event, update

from ifn_campaign.console.i18n import Formats, translations
from ifn_campaign.console.pages.media import card_url, feed_cut
from ifn_campaign.models import Member, Post, PostState, StaffUser
from tests.support.console import USERS, ConsoleWorld, console_world, settings_for
from tests.support.console_review import (
    FOUR_EYES,
    HOSTILE_CAPTION,
    HOSTILE_NAME,
    SHORT_BYTES,
    ReviewPosts,
    compose_review_posts,
    version,
    write_campaigns,
)

WIB = ZoneInfo("Asia/Jakarta")
CARD_SRC = re.compile(r'src="(/cards/[0-9a-f]{64}\.(?:jpg|png))"')


@dataclass
class Review:
    console: ConsoleWorld
    posts: ReviewPosts

    def post(self, post_id: int) -> Post:
        with self.console.session() as session:
            found = session.get(Post, post_id)
            assert found is not None
            session.expunge(found)
            return found

    def version(self, post_id: int) -> int:
        with self.console.session() as session:
            return version(session, post_id)

    def act(self, role: str, url: str, **data: Any) -> Any:
        return self.console.post(role, url, data)

    def approve(self, role: str, *ids: int, versions: dict[int, int] | None = None) -> Any:
        data: dict[str, Any] = {"post": [str(i) for i in ids]}
        for post_id in ids:
            data[f"version-{post_id}"] = str((versions or {}).get(post_id, self.version(post_id)))
        return self.act(role, "/review/approve", **data)

    def page(self, role: str = "viewer", url: str = "/review") -> str:
        answer = self.console.client(role).get(url)
        assert answer.status_code == 200, answer.text
        return answer.text


@pytest.fixture(scope="session")
def shared_cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("review-cards")


@pytest.fixture
def review(engine: Engine, db_url: str, tmp_path: Path, shared_cards: Path) -> Iterator[Review]:
    """The console over composed posts; its users read it in English (the catalogue is
    translated at the end), but for the test that reads it in Indonesian."""
    now = datetime.now(UTC)
    write_campaigns(tmp_path / "campaigns", now)
    settings = settings_for(db_url, tmp_path, planner={"campaigns_dir": tmp_path / "campaigns"})
    with console_world(settings) as world:
        with world.session() as session:
            posts = compose_review_posts(world.settings, session, now, shared_cards)
            session.execute(update(StaffUser).values(language="en"))
            session.commit()
        yield Review(world, posts)


def _articles(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="panel review-item" id="post-(\d+)"', page)]


def _article(page: str, post_id: int) -> str:
    start = page.index(f'id="post-{post_id}"')
    return page[start : page.index("</article>", start)]


# --- the queue -------------------------------------------------------------------------------


def test_the_queue_previews_each_post_as_its_network_shows_it(review: Review) -> None:
    page = review.page()
    posts = review.posts
    assert _articles(page) == posts.all  # in slot order
    instagram = _article(page, posts.instagram)
    card = review.post(posts.instagram)
    assert f'src="{card_url(card.card_path)}"' in instagram
    assert len(CARD_SRC.findall(instagram)) == 3  # the card and two slides
    assert "Foto &lt;produk&gt; &#34;satu&#34;" in instagram  # a slide's alt, escaped
    head, rest = feed_cut(card.caption or "")
    assert rest, "the composed caption is longer than the feed shows"
    assert '<details class="pv-text">' in instagram and "… more" in instagram
    assert html.escape(head, quote=False) in instagram
    assert "giliran berikutnya &lt;ifn-ig&gt;" in instagram  # the reason in both languages
    assert "next in rotation &lt;ifn-ig&gt;" in instagram
    when = Formats("en", WIB).when(card.slot_at)
    assert f"{when} WIB" in instagram
    assert instagram.count('<li class="yes">') == 3  # consent to every channel
    facebook = _article(page, posts.facebook)
    assert "pv-facebook" in facebook
    fb = review.post(posts.facebook)
    assert html.escape(fb.caption or "", quote=False) in facebook  # the whole text
    youtube = _article(page, posts.youtube)
    yt = review.post(posts.youtube)
    assert f'<source src="/posts/{posts.youtube}/short.mp4" type="video/mp4">' in youtube
    assert html.escape(yt.title or "", quote=False) in youtube
    assert "Sepatu Hoki 鞋行" in youtube


def test_notes_and_consent_withdrawn_are_shown(review: Review) -> None:
    with review.console.session() as session:
        post = session.get(Post, review.posts.facebook)
        assert post is not None
        post.compose_notes = ["caption: left out phone", "text shortened to fit"]
        post.low_resolution = True
        found = session.get(Member, post.member_id)
        assert found is not None
        found.consent_withdrawn_at = datetime.now(UTC) - timedelta(hours=2)
        session.commit()
    item = _article(review.page(), review.posts.facebook)
    assert "caption: left out phone" in item and "text shortened to fit" in item
    assert "Low resolution" in item
    assert "Consent withdrawn on" in item
    assert item.count('<li class="no">') == 3


def test_hostile_member_text_is_escaped_everywhere(review: Review) -> None:
    for role, url in (
        ("viewer", "/review"),
        ("approver", "/review"),
        ("editor", f"/review/{review.posts.hostile}/edit"),
    ):
        page = review.page(role, url)
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "<b>bold</b>" not in page and '<i>"Barat"</i>' not in page
        assert f"<bdi>{escape(HOSTILE_NAME)}</bdi>" in page
        assert str(escape(HOSTILE_CAPTION)) in page
        assert "{{ 7*7 }}" in page and "{{ config }}" in page  # data, never a template


def test_indonesian_is_the_default_language_of_the_preview(review: Review) -> None:
    with review.console.session() as session:
        session.execute(update(StaffUser).values(language="id"))
        session.commit()
    page = review.page()
    assert translations("id").gettext("… more") in page
    when = Formats("id", WIB).when(review.post(review.posts.instagram).slot_at)
    assert when in page


def test_the_campaign_filter_and_the_pages_of_fifty(review: Review) -> None:
    only = review.page(url=f"/review?campaign={FOUR_EYES}")
    assert _articles(only) == [review.posts.four_eyes]
    extra = _bare_posts(review, 55)
    first = review.page()
    second = review.page(url="/review?page=2")
    assert len(_articles(first)) == 50
    assert _articles(first)[:5] == review.posts.all
    assert _articles(first) + _articles(second) == review.posts.all + extra
    assert "Page 2 of 2" in second
    assert _articles(review.page(url="/review?page=99")) == _articles(second)
    assert _articles(review.page(url="/review?page=x")) == _articles(first)


def _bare_posts(review: Review, n: int) -> list[int]:
    """Composed posts without content (no card yet), after the composed ones."""
    posts = [review.post(i) for i in review.posts.all]
    last = max(p.slot_at for p in posts)
    now = datetime.now(UTC)
    made = []
    with review.console.session() as session:
        for k in range(n):
            post = Post(
                campaign="uji",
                channel=posts[1].channel,
                account="bpipi",
                slot_at=last + timedelta(hours=k + 1),
                member_id=posts[1].member_id,
                template="sorotan",
                reason_id="isi",
                reason_en="filler",
                state=PostState.COMPOSED,
                state_changed_at=now,
                created_at=now,
                caption="Isi",
            )
            session.add(post)
            made.append(post)
        session.commit()
        return [p.id or 0 for p in made]


def test_the_queue_asks_the_database_the_same_number_of_times_for_more_posts(
    review: Review,
) -> None:
    engine = review.console.resources.engine
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    review.page()  # sign in first
    event.listen(engine, "before_cursor_execute", count)
    try:
        review.page()
        few = len(statements)
        _bare_posts(review, 20)
        statements.clear()
        review.page()
        many = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert many == few <= 6, statements


# --- roles and the form token ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("viewer", "approve"),
        ("editor", "approve"),
        ("viewer", "reject"),
        ("editor", "reject"),
        ("editor", "cancel"),
        ("viewer", "move"),
        ("viewer", "edit"),
    ],
)
def test_a_role_below_the_action_is_refused(review: Review, role: str, path: str) -> None:
    post_id = review.posts.instagram
    url = "/review/approve" if path == "approve" else f"/review/{post_id}/{path}"
    data = {
        "post": str(post_id),
        f"version-{post_id}": str(review.version(post_id)),
        "version": str(review.version(post_id)),
        "reason": "x",
        "at": "2099-01-01T10:00",
        "caption": "baru",
    }
    answer = review.act(role, url, **data)
    assert answer.status_code == 403
    after = review.post(post_id)
    assert (after.state, after.caption_edited_by) == (PostState.COMPOSED, None)


def test_pages_need_a_login_and_the_editor_page_an_editor(review: Review) -> None:
    anonymous = review.console.anonymous()
    for url in ("/review", f"/review/{review.posts.instagram}/edit"):
        answer = anonymous.get(url)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert (
        review.console.client("viewer").get(f"/review/{review.posts.instagram}/edit").status_code
        == 403
    )
    assert anonymous.post("/review/approve", data={"post": "1"}).status_code == 401


def test_a_form_without_or_with_a_wrong_token_is_refused(review: Review) -> None:
    client = review.console.client("approver")
    post_id = review.posts.instagram
    data = {"post": str(post_id), f"version-{post_id}": str(review.version(post_id))}
    assert client.post("/review/approve", data=data).status_code == 403
    assert client.post("/review/approve", data={**data, "csrf": "forged"}).status_code == 403
    assert review.post(post_id).state == PostState.COMPOSED


def test_viewers_see_no_action_and_editors_no_approval(review: Review) -> None:
    viewer = review.page("viewer")
    assert "/review/approve" not in viewer and "/move" not in viewer and "/edit" not in viewer
    editor = review.page("editor")
    assert "/review/approve" not in editor and "/reject" not in editor
    assert f"/review/{review.posts.instagram}/move" in editor
    approver = review.page("approver")
    assert 'form="approve-selection"' in approver and "/reject" in approver


# --- the actions -----------------------------------------------------------------------------


def test_approve_one(review: Review) -> None:
    answer = review.approve("approver", review.posts.instagram)
    assert answer.status_code == 303 and answer.headers["location"] == "/review"
    post = review.post(review.posts.instagram)
    assert post.state == PostState.APPROVED
    assert post.reviewed_by == f"staff:{USERS['approver']}"
    page = review.page("approver")
    assert f"Approved 1 post(s): {review.posts.instagram}." in page
    assert review.posts.instagram not in _articles(page)


def test_approve_a_selection_all_or_nothing(review: Review) -> None:
    posts = review.posts
    stale = {posts.facebook: review.version(posts.facebook) - 1}
    answer = review.approve("approver", posts.instagram, posts.facebook, versions=stale)
    assert answer.status_code == 409
    assert f"post {posts.facebook} was changed by compose at" in html.unescape(answer.text)
    assert {review.post(i).state for i in (posts.instagram, posts.facebook)} == {PostState.COMPOSED}
    for post_id in (posts.instagram, posts.facebook):  # the selection is kept ticked
        assert f'name="post" value="{post_id}" id="select-{post_id}" checked' in answer.text
    answer = review.approve("approver", posts.instagram, posts.facebook)
    assert answer.status_code == 303
    assert {review.post(i).state for i in (posts.instagram, posts.facebook)} == {PostState.APPROVED}


def test_approving_nothing_says_so(review: Review) -> None:
    answer = review.act("approver", "/review/approve")
    assert answer.status_code == 422 and "Choose the posts to approve." in answer.text


def test_reject_and_cancel_need_a_reason_and_keep_it(review: Review) -> None:
    posts = review.posts
    url = f"/review/{posts.instagram}/reject"
    empty = review.act("approver", url, reason="  ", version=review.version(posts.instagram))
    assert empty.status_code == 422 and "Give a reason" in empty.text
    assert review.post(posts.instagram).state == PostState.COMPOSED
    done = review.act(
        "approver", url, reason="foto <buram>", version=review.version(posts.instagram)
    )
    assert done.status_code == 303
    rejected = review.post(posts.instagram)
    assert rejected.state == PostState.CANCELLED
    assert rejected.cancel_reason == "ditolak staf / rejected: foto <buram>"
    url = f"/review/{posts.facebook}/cancel"
    done = review.act("approver", url, reason="acara batal", version=review.version(posts.facebook))
    assert done.status_code == 303
    cancelled = review.post(posts.facebook)
    assert cancelled.state == PostState.CANCELLED
    assert cancelled.cancel_reason == "dibatalkan / cancelled: acara batal"
    assert f"Post {posts.facebook} cancelled." in review.page("approver")


def test_a_stale_form_is_refused_with_who_changed_it_and_the_reason_kept(review: Review) -> None:
    post_id = review.posts.instagram
    read = review.version(post_id)
    moved = review.act("editor", f"/review/{post_id}/move", at=_local(days=20), version=read)
    assert moved.status_code == 303, moved.text
    answer = review.act("approver", f"/review/{post_id}/reject", reason="alasan saya", version=read)
    assert answer.status_code == 409
    text = html.unescape(answer.text)
    assert re.search(rf"post {post_id} was changed by staff:editor-user at \d\d:\d\d, reload", text)
    assert 'value="alasan saya"' in answer.text  # what was typed is still in the form
    assert review.post(post_id).state == PostState.COMPOSED


def _local(days: int, hour: int = 10) -> str:
    moment = datetime.now(UTC).astimezone(WIB) + timedelta(days=days)
    return f"{moment:%Y-%m-%d}T{hour:02d}:00"


def test_move_to_a_new_time_in_wib(review: Review) -> None:
    post_id = review.posts.youtube
    at = _local(days=25, hour=18)
    answer = review.act("editor", f"/review/{post_id}/move", at=at, version=review.version(post_id))
    assert answer.status_code == 303
    expected = datetime.strptime(at, "%Y-%m-%dT%H:%M").replace(tzinfo=WIB)
    assert review.post(post_id).slot_at == expected


def test_move_refusals_keep_the_time_typed(review: Review) -> None:
    post_id = review.posts.youtube
    url = f"/review/{post_id}/move"
    past = _local(days=-2)
    answer = review.act("editor", url, at=past, version=review.version(post_id))
    assert answer.status_code == 422
    assert "that time has passed" in answer.text
    assert f'name="at" required value="{past}"' in answer.text
    garbled = review.act("editor", url, at="besok", version=review.version(post_id))
    assert garbled.status_code == 422
    assert "'besok': write the time as 'YYYY-MM-DD HH:MM'" in html.unescape(garbled.text)
    assert review.act("editor", url, at=_local(3), version="x").status_code == 400


# --- the caption -----------------------------------------------------------------------------


def test_the_caption_form_puts_the_limits_on_the_page(review: Review) -> None:
    limits = review.console.settings.captions.limits()
    page = review.page("editor", f"/review/{review.posts.instagram}/edit")
    assert '<script src="/static/review.js" defer></script>' in page
    assert 'data-counters="caption-counters"' in page
    for unit, limit in (
        ("chars", limits.instagram_chars),
        ("hashtags", limits.instagram_hashtags),
        ("mentions", limits.instagram_mentions),
    ):
        assert f'data-unit="{unit}" data-limit="{limit}"' in page
    youtube = review.page("editor", f"/review/{review.posts.youtube}/edit")
    assert f'data-unit="chars" data-limit="{limits.youtube_title_chars}"' in youtube
    assert f'data-unit="bytes" data-limit="{limits.youtube_description_bytes}"' in youtube
    assert 'data-counters="title-counters"' in youtube
    assert review.console.client("editor").get("/review/999999/edit").status_code == 404


def test_edit_the_caption(review: Review) -> None:
    post_id = review.posts.instagram
    url = f"/review/{post_id}/edit"
    answer = review.act("editor", url, caption="Baru\r\n#Sepatu", version=review.version(post_id))
    assert answer.status_code == 303
    post = review.post(post_id)
    assert (post.caption, post.caption_edited_by) == ("Baru\n#Sepatu", "staff:editor-user")


def test_an_editors_caption_on_an_approved_post_waits_for_an_approver(review: Review) -> None:
    """Editors edit, approvers approve: an approved post whose caption an editor changes goes
    back to the queue (failed before: it stayed approved and the editor's text went out
    approved by nobody); an approver's edit keeps it approved."""
    posts = review.posts
    for post_id in (posts.instagram, posts.facebook):
        assert review.approve("approver", post_id).status_code == 303
    url = f"/review/{posts.instagram}/edit"
    answer = review.act(
        "editor", url, caption="Teks editor", version=review.version(posts.instagram)
    )
    assert answer.status_code == 303
    assert review.post(posts.instagram).state == PostState.COMPOSED
    url = f"/review/{posts.facebook}/edit"
    answer = review.act(
        "approver", url, caption="Teks penyetuju", version=review.version(posts.facebook)
    )
    assert answer.status_code == 303
    assert review.post(posts.facebook).state == PostState.APPROVED


def test_a_caption_past_the_limit_is_refused_and_kept(review: Review) -> None:
    post_id = review.posts.instagram
    before = review.post(post_id).caption
    typed = "Terlalu <banyak> " + " ".join(f"#tag{i}" for i in range(6))
    answer = review.act(
        "editor", f"/review/{post_id}/edit", caption=typed, version=review.version(post_id)
    )
    assert answer.status_code == 422
    assert "caption refused for instagram: caption: 6 hashtags; Instagram allows 5" in answer.text
    assert f">{html.escape(typed, quote=False)}</textarea>" in answer.text.replace("&#34;", '"')
    assert '<li class="counter over" data-unit="hashtags"' in answer.text
    assert review.post(post_id).caption == before
    long = "a" * 2201
    answer = review.act(
        "editor", f"/review/{post_id}/edit", caption=long, version=review.version(post_id)
    )
    assert answer.status_code == 422 and "2,201 characters; Instagram allows 2,200" in answer.text
    assert f">{long}</textarea>" in answer.text


def test_a_youtube_title_is_held_to_its_rules(review: Review) -> None:
    post_id = review.posts.youtube
    url = f"/review/{post_id}/edit"
    answer = review.act(
        "editor", url, caption="Isi", title="x" * 101, version=review.version(post_id)
    )
    assert answer.status_code == 422 and "title: 101 characters; YouTube allows 100" in answer.text
    assert f'value="{"x" * 101}"' in answer.text
    answer = review.act(
        "editor", url, caption="Isi", title="Judul baru", version=review.version(post_id)
    )
    assert answer.status_code == 303
    assert (review.post(post_id).title, review.post(post_id).caption) == ("Judul baru", "Isi")


def test_two_editors_on_one_caption_the_second_sees_the_first_and_loses_nothing(
    review: Review,
) -> None:
    post_id = review.posts.facebook
    url = f"/review/{post_id}/edit"
    read = review.version(post_id)
    first = review.act("approver", url, caption="Teks pertama", version=read)
    assert first.status_code == 303
    second = review.act("editor", url, caption="Teks kedua", version=read)
    assert second.status_code == 409
    text = html.unescape(second.text)
    assert re.search(
        rf"post {post_id} was changed by staff:approver-user at \d\d:\d\d, reload", text
    )
    assert ">Teks kedua</textarea>" in second.text  # what the editor typed
    assert "Teks pertama" in second.text  # and the caption as saved now, beside it
    assert review.post(post_id).caption == "Teks pertama"
    current = re.search(r'name="version" value="(\d+)"', second.text)
    assert current and int(current.group(1)) == review.version(post_id)
    again = review.act("editor", url, caption="Teks kedua", version=current.group(1))
    assert again.status_code == 303 and review.post(post_id).caption == "Teks kedua"


def test_four_eyes_the_caption_editor_cannot_approve(review: Review) -> None:
    post_id = review.posts.four_eyes
    edited = review.act(
        "approver", f"/review/{post_id}/edit", caption="Saya ubah", version=review.version(post_id)
    )
    assert edited.status_code == 303
    refused = review.approve("approver", post_id)
    assert refused.status_code == 422
    assert (
        f"post {post_id}: you edited its caption; in campaign {FOUR_EYES} someone else "
        "approves it (four eyes)"
    ) in html.unescape(refused.text)
    assert review.post(post_id).state == PostState.COMPOSED
    assert review.approve("admin", post_id).status_code == 303
    assert review.post(post_id).state == PostState.APPROVED


def test_without_four_eyes_the_editor_may_approve(review: Review) -> None:
    post_id = review.posts.instagram
    url = f"/review/{post_id}/edit"
    assert (
        review.act(
            "approver", url, caption="Saya ubah", version=review.version(post_id)
        ).status_code
        == 303
    )
    assert review.approve("approver", post_id).status_code == 303


def test_a_post_no_longer_editable_says_so_and_keeps_what_was_typed(review: Review) -> None:
    post_id = review.posts.instagram
    read = review.version(post_id)
    review.act("approver", f"/review/{post_id}/cancel", reason="x", version=read)
    page = review.page("editor", f"/review/{post_id}/edit")
    assert "only composed, approved or scheduled posts can be edited" in page
    assert "<textarea" not in page
    late = review.act("editor", f"/review/{post_id}/edit", caption="Teks saya", version=read)
    assert late.status_code == 409
    assert "only composed, approved or scheduled posts can be edited" in late.text
    assert '<textarea id="caption" rows="14" readonly>Teks saya</textarea>' in late.text


# --- cards and Shorts ------------------------------------------------------------------------


def test_a_card_is_served_by_its_hash_and_kept_by_the_browser(review: Review) -> None:
    url = card_url(review.post(review.posts.instagram).card_path)
    assert url
    client = review.console.client("viewer")
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert "immutable" in answer.headers["cache-control"]
    assert answer.content[:3] == b"\xff\xd8\xff"
    assert review.console.anonymous().get(url).status_code == 303


@pytest.mark.parametrize(
    "url",
    [
        "/cards/../../etc/passwd",
        "/cards/..%2F..%2Fetc%2Fpasswd",
        "/cards/%2Fetc%2Fpasswd",
        "/cards/" + "a" * 63 + ".jpg",
        "/cards/" + "a" * 65 + ".jpg",
        "/cards/" + "g" * 64 + ".jpg",
        "/cards/" + "A" * 64 + ".jpg",
        "/cards/" + "a" * 64 + ".gif",
        "/cards/" + "a" * 64,
        "/cards/" + "a" * 64 + ".jpg.jpg",
    ],
)
def test_anything_but_a_card_hash_is_not_found(review: Review, url: str) -> None:
    answer = review.console.client("viewer").get(url)
    assert answer.status_code == 404
    assert "root:" not in answer.text


def test_a_link_out_of_the_card_folder_is_not_followed(review: Review, tmp_path: Path) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8\xff secret")
    key = "ab" + "c" * 62
    folder = review.console.settings.cards.cache_dir / key[:2]
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink(secret, folder / f"{key}.jpg")
    answer = review.console.client("viewer").get(f"/cards/{key}.jpg")
    assert answer.status_code == 404 and b"secret" not in answer.content


def test_the_short_is_served_only_from_the_shorts_folder(review: Review, tmp_path: Path) -> None:
    client = review.console.client("viewer")
    answer = client.get(f"/posts/{review.posts.youtube}/short.mp4")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.content == SHORT_BYTES
    assert client.get(f"/posts/{review.posts.instagram}/short.mp4").status_code == 404
    assert client.get("/posts/999999/short.mp4").status_code == 404
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"not for you")
    for stored in (str(outside), "var/cards/videos/../../ifn.db", "/etc/passwd"):
        with review.console.session() as session:
            session.execute(
                update(Post).where(Post.id == review.posts.youtube).values(video_path=stored)
            )
            session.commit()
        answer = client.get(f"/posts/{review.posts.youtube}/short.mp4")
        assert answer.status_code == 404, stored


def test_card_url_takes_only_content_addressed_names() -> None:
    key = "0123456789abcdef" * 4
    assert card_url(f"var/cards/01/{key}.jpg") == f"/cards/{key}.jpg"
    assert card_url(f"/data/cards/01/{key}.png") == f"/cards/{key}.png"
    assert card_url(f"C:\\data\\cards\\01\\{key}.jpg") == f"/cards/{key}.jpg"
    for bad in (None, "", "var/cards/x.jpg", f"{key}.gif", f"{key[:-1]}.jpg", f"{key}.notes.json"):
        assert card_url(bad) is None


def test_the_feed_cut_keeps_whole_characters() -> None:
    assert feed_cut("pendek") == ("pendek", "")
    text = "a" * 124 + "e\u0301" + "z" * 10  # the accent is the 126th code point
    head, rest = feed_cut(text)
    assert head == "a" * 124 and rest.startswith("e\u0301") and head + rest == text


def test_move_takes_the_dates_and_forms_the_cli_and_the_calendar_take(review: Review) -> None:
    """The review page's move reads the time as the calendar's and the failures page's do:
    a date past the CLI's range is refused in its words (before: the post was moved to the
    year 9999, which `ifn-campaign move` refuses), and a field that sends whole seconds (':00')
    is a time like any other (before: refused as garbled)."""
    post_id = review.posts.youtube
    url = f"/review/{post_id}/move"
    far = review.act("editor", url, at="9999-12-31T23:59", version=review.version(post_id))
    assert far.status_code == 422, far.text
    assert "give a date between 1970-01-01 and 9000-12-31" in html.unescape(far.text)
    at = _local(days=26, hour=17)
    answer = review.act("editor", url, at=f"{at}:00", version=review.version(post_id))
    assert answer.status_code == 303, answer.text
    expected = datetime.strptime(at, "%Y-%m-%dT%H:%M").replace(tzinfo=WIB)
    assert review.post(post_id).slot_at == expected
    odd = review.act("editor", url, at=f"{at}:30", version=review.version(post_id))
    assert odd.status_code == 422 and "whole minutes" in html.unescape(odd.text)
