"""The console's Failures and takedowns page: failed, missed and needs-re-authorisation posts
with the platform's reason and the next step, accounts to re-authorise, posts to take down;
each action's effect in the database, its role, its form token and its refusal message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from ifn_campaign.models import AccountState, Post, PostEvent, PostState
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.console_today import (
    ACTION,
    ERROR,
    HOSTILE,
    NOW,
    PERMALINK,
    TEMPLATE_NAME,
    Seeded,
    in_english,
    page_text,
    section,
    seed,
)

S = PostState


@pytest.fixture
def failures(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[tuple[ConsoleWorld, Seeded]]:
    """The console at NOW on the seeded data (tests/support/console_today.py), in English."""
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            seeded = seed(session)
            in_english(session)
        yield world, seeded


def _post(world: ConsoleWorld, post_id: int) -> Post:
    with world.session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        session.expunge(post)
        return post


def _events(world: ConsoleWorld, post_id: int) -> list[tuple[str | None, str, str]]:
    with world.session() as session:
        return [
            (e.from_state, e.to_state, e.actor)
            for e in session.scalars(
                select(PostEvent).where(PostEvent.post_id == post_id).order_by(PostEvent.id)
            )
        ]


def _flash(world: ConsoleWorld, role: str) -> str:
    """The messages the last action left, as the next page shows them."""
    html = world.client(role).get("/failures").text
    found = re.search(r'<ul class="flash" role="status">(.*?)</ul>', html, flags=re.S)
    return page_text(found.group(1)) if found else ""


def _act(world: ConsoleWorld, role: str, url: str, **data: object) -> str:
    answer = world.post(role, url, {k: str(v) for k, v in data.items()})
    assert answer.status_code == 303, answer.text
    return _flash(world, role)


def test_the_page_lists_what_waits_for_staff(failures: tuple[ConsoleWorld, Seeded]) -> None:
    world, seeded = failures
    answer = world.client("viewer").get("/failures")
    assert answer.status_code == 200
    html = answer.text
    posts = section(html, "posts")
    for state in (S.FAILED, S.MISSED, S.NEEDS_REAUTH):
        assert f'id="post-{seeded.today[state]}"' in posts
    assert f'id="post-{seeded.reauth_waiting}"' in posts
    for state in (S.PLANNED, S.PUBLISHED, S.CANCELLED, S.COMPOSED):
        assert f'id="post-{seeded.today[state]}"' not in posts
    text = page_text(posts)
    assert "1 failed 1 missed 2 needs re-authorisation" in text
    assert ERROR in text and ACTION in text
    # a viewer sees no forms; the account, the takedown and its link are listed
    assert "<form" not in html.split("<main", 1)[1]
    assert "Error validating access token" in page_text(section(html, "reauth"))
    takedowns = section(html, "takedowns")
    assert f'<a href="{PERMALINK}" rel="noopener noreferrer">' in takedowns
    assert HOSTILE in page_text(takedowns)


def test_each_role_sees_its_forms(failures: tuple[ConsoleWorld, Seeded]) -> None:
    world, seeded = failures
    missed, failed = seeded.today[S.MISSED], seeded.today[S.FAILED]
    editor = world.client("editor").get("/failures").text
    assert f'action="/failures/{missed}/move"' in editor
    assert f'action="/failures/{failed}/move"' not in editor  # a failed post cannot move
    assert "/retry" not in editor and "/cancel" not in editor and "reauthorised" not in editor
    approver = world.client("approver").get("/failures").text
    for action in ("retry", "cancel", "publish-now", "move"):
        assert f'action="/failures/{missed}/{action}"' in approver
    assert f'action="/failures/{failed}/publish-now"' not in approver
    assert 'action="/failures/reauthorised"' in approver
    assert f'action="/failures/takedowns/{seeded.takedown}/done"' in approver


def test_hostile_text_is_escaped(failures: tuple[ConsoleWorld, Seeded]) -> None:
    world, _ = failures
    html = world.client("admin").get("/failures").text
    assert "<script>" not in html and 'onerror="alert(1)"' not in html
    assert "<bdi>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert f"<bdi>{TEMPLATE_NAME}</bdi>" in html


def test_pages_of_fifty(failures: tuple[ConsoleWorld, Seeded]) -> None:
    """More than 50 waiting: the first page has 50, the second the rest, in slot order."""
    world, seeded = failures
    with world.session() as session:
        template = session.get(Post, seeded.today[S.FAILED])
        assert template is not None
        for n in range(50):
            session.add(
                Post(
                    campaign="sorotan",
                    channel=template.channel,
                    account="lain",
                    slot_at=NOW.replace(year=2027, hour=n % 24, minute=n),
                    member_id=template.member_id,
                    template="sorotan",
                    reason_id="x",
                    reason_en="x",
                    state=S.FAILED,
                    state_changed_at=NOW,
                    created_at=NOW,
                )
            )
        session.commit()
    client = world.client("viewer")
    first = section(client.get("/failures").text, "posts")
    assert first.count('<li id="post-') == 50
    assert "Page 1 of 2" in page_text(first) and 'href="/failures?page=2"' in first
    second = section(client.get("/failures?page=2").text, "posts")
    assert second.count('<li id="post-') == 4
    assert section(client.get("/failures?page=9").text, "posts") == second  # past the end


# --- the actions ------------------------------------------------------------------------------


def test_retry_approves_again(failures: tuple[ConsoleWorld, Seeded]) -> None:
    world, seeded = failures
    post_id = seeded.today[S.FAILED]
    version = _post(world, post_id).version
    said = _act(world, "approver", f"/failures/{post_id}/retry", version=version, page=1)
    assert f"Post {post_id} approved again" in said
    post = _post(world, post_id)
    assert post.state == S.APPROVED and post.version == version + 1
    assert post.reviewed_by == "staff:approver-user"
    assert _events(world, post_id)[-1] == (S.FAILED, S.APPROVED, "staff:approver-user")


def test_retry_with_a_stale_version_changes_nothing(failures: tuple[ConsoleWorld, Seeded]) -> None:
    """Someone changed the post after the page was read: refused with who and when."""
    world, seeded = failures
    post_id = seeded.today[S.MISSED]
    version = _post(world, post_id).version
    _act(world, "approver", f"/failures/{post_id}/publish-now", version=version)
    said = _act(world, "admin", f"/failures/{post_id}/retry", version=version)
    assert f"post {post_id} was changed by staff:approver-user at 10:00, reload" in said
    assert _post(world, post_id).version == version + 1
    assert [e[2] for e in _events(world, post_id)] == ["staff:approver-user"]


def test_publish_now_sends_a_missed_post(failures: tuple[ConsoleWorld, Seeded]) -> None:
    world, seeded = failures
    post_id = seeded.today[S.MISSED]
    post = _post(world, post_id)
    said = _act(world, "approver", f"/failures/{post_id}/publish-now", version=post.version)
    assert f"Post {post_id} goes out at the next publish run." in said
    after = _post(world, post_id)
    assert after.state == S.APPROVED and after.slot_at == post.slot_at
    # a failed post is not missed: the library refuses, nothing changes
    failed = seeded.today[S.FAILED]
    said = _act(
        world, "approver", f"/failures/{failed}/publish-now", version=_post(world, failed).version
    )
    assert f"post {failed} is failed, not missed" in said
    assert _post(world, failed).state == S.FAILED


def test_move_a_missed_post(failures: tuple[ConsoleWorld, Seeded]) -> None:
    """An editor moves a missed post to a later time (WIB): approved at the new slot."""
    world, seeded = failures
    post_id = seeded.today[S.MISSED]
    version = _post(world, post_id).version
    said = _act(
        world, "editor", f"/failures/{post_id}/move", version=version, at="2026-12-09T19:00"
    )
    assert f"Post {post_id} moved to Wed, 9 Dec 2026 19.00." in said
    post = _post(world, post_id)
    assert post.state == S.APPROVED
    assert post.slot_at.isoformat() == "2026-12-09T12:00:00+00:00"


def test_move_refusals(failures: tuple[ConsoleWorld, Seeded]) -> None:
    world, seeded = failures
    missed, failed = seeded.today[S.MISSED], seeded.today[S.FAILED]
    version = _post(world, missed).version
    said = _act(world, "editor", f"/failures/{missed}/move", version=version, at="2026-12-08T09:00")
    assert f"post {missed} cannot move to 2026-12-08 09:00: that time has passed" in said
    said = _act(world, "editor", f"/failures/{missed}/move", version=version, at="tomorrow")
    assert "write the time as 'YYYY-MM-DD HH:MM'" in said
    said = _act(
        world,
        "editor",
        f"/failures/{failed}/move",
        version=_post(world, failed).version,
        at="2026-12-09T19:00",
    )
    assert f"post {failed} is failed: it can no longer be moved" in said
    assert _post(world, missed).state == S.MISSED and _post(world, failed).state == S.FAILED


def test_cancel_with_a_reason(failures: tuple[ConsoleWorld, Seeded]) -> None:
    world, seeded = failures
    post_id = seeded.today[S.NEEDS_REAUTH]
    version = _post(world, post_id).version
    said = _act(world, "approver", f"/failures/{post_id}/cancel", version=version, reason="  ")
    assert "Give a reason" in said
    assert _post(world, post_id).state == S.NEEDS_REAUTH
    said = _act(
        world, "approver", f"/failures/{post_id}/cancel", version=version, reason="anggota minta"
    )
    assert f"Post {post_id} cancelled." in said
    post = _post(world, post_id)
    assert post.state == S.CANCELLED
    assert post.cancel_reason == "dibatalkan / cancelled: anggota minta"


def test_reauthorised(failures: tuple[ConsoleWorld, Seeded]) -> None:
    """The account may publish again and both its posts waiting for it are approved again;
    a second time is refused in the CLI's words."""
    world, seeded = failures
    data = {"channel": "instagram", "account": "bpipi"}
    said = _act(world, "approver", "/failures/reauthorised", **data)
    assert "instagram/bpipi re-authorised; 2 post(s) approved again." in said
    with world.session() as session:
        state = session.get(AccountState, ("instagram", "bpipi"))
        assert state is not None and state.needs_reauth_since is None
    for post_id in (seeded.today[S.NEEDS_REAUTH], seeded.reauth_waiting):
        assert _post(world, post_id).state == S.APPROVED
    said = _act(world, "approver", "/failures/reauthorised", **data)
    assert "instagram account 'bpipi' is not waiting for re-authorisation" in said
    said = _act(world, "approver", "/failures/reauthorised", channel="youtube", account="x")
    assert "youtube account 'x' is not waiting for re-authorisation" in said
    answer = world.post("approver", "/failures/reauthorised", {"channel": "tiktok", "account": "x"})
    assert answer.status_code == 400


def test_takedown_done(failures: tuple[ConsoleWorld, Seeded]) -> None:
    world, seeded = failures
    url = f"/failures/takedowns/{seeded.takedown}/done"
    said = _act(world, "approver", url)
    assert f"Post {seeded.takedown} marked as taken down." in said
    assert _post(world, seeded.takedown).taken_down_at == NOW
    assert "Nothing to take down." in page_text(
        section(world.client("viewer").get("/failures").text, "takedowns")
    )
    said = _act(world, "approver", url)
    assert f"Post {seeded.takedown} was already marked as taken down." in said
    other = seeded.today[S.PUBLISHED]
    said = _act(world, "approver", f"/failures/takedowns/{other}/done")
    assert f"post {other} has no takedown request (state published)" in said
    assert _post(world, other).taken_down_at is None


# --- who may, and the form token -----------------------------------------------------------------

ROUTES = [
    ("retry", "approver"),
    ("publish-now", "approver"),
    ("cancel", "approver"),
    ("move", "editor"),
]


@pytest.mark.parametrize(("action", "needed"), ROUTES)
def test_roles_below_are_refused(
    failures: tuple[ConsoleWorld, Seeded], action: str, needed: str
) -> None:
    world, seeded = failures
    post_id = seeded.today[S.MISSED]
    data = {"version": "0", "reason": "x", "at": "2026-12-09T19:00"}
    below = ["viewer"] if needed == "editor" else ["viewer", "editor"]
    for role in below:
        assert world.post(role, f"/failures/{post_id}/{action}", data).status_code == 403
    assert world.anonymous().post(f"/failures/{post_id}/{action}", data=data).status_code == 401
    assert _post(world, post_id).state == S.MISSED and _post(world, post_id).version == 0


def test_account_and_takedown_actions_need_an_approver(
    failures: tuple[ConsoleWorld, Seeded],
) -> None:
    world, seeded = failures
    for role in ("viewer", "editor"):
        answer = world.post(
            role, "/failures/reauthorised", {"channel": "instagram", "account": "bpipi"}
        )
        assert answer.status_code == 403
        assert world.post(role, f"/failures/takedowns/{seeded.takedown}/done").status_code == 403
    with world.session() as session:
        state = session.get(AccountState, ("instagram", "bpipi"))
        assert state is not None and state.needs_reauth_since is not None
    assert _post(world, seeded.takedown).taken_down_at is None


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_post_without_the_form_token_is_refused(
    failures: tuple[ConsoleWorld, Seeded], token: str | None
) -> None:
    world, seeded = failures
    post_id = seeded.today[S.FAILED]
    client = world.client("admin")
    data = {"version": "0"} | ({"csrf": token} if token else {})
    for url in (
        f"/failures/{post_id}/retry",
        f"/failures/{post_id}/cancel",
        "/failures/reauthorised",
        f"/failures/takedowns/{seeded.takedown}/done",
    ):
        assert client.post(url, data=data).status_code == 403, url
    assert _post(world, post_id).state == S.FAILED
    assert _post(world, seeded.takedown).taken_down_at is None


def test_a_version_that_is_not_a_number(failures: tuple[ConsoleWorld, Seeded]) -> None:
    world, seeded = failures
    post_id = seeded.today[S.FAILED]
    assert world.post("approver", f"/failures/{post_id}/retry", {"version": "x"}).status_code == 400
    assert world.post("approver", f"/failures/{post_id}/retry", {}).status_code == 400
