"""The staff side of members' answers, on SQLite and PostgreSQL: the review queue shows a
member's "Mohon diubah" comment with its time and "Sudah sesuai" as a badge (in one query for
the page's posts), the staff member page lists answers, notices and refused or unsubscribed
contacts with a "revoke the links" button for editors, and approvers export the page's
withdrawals for the registry's owner."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from ifn_campaign.members.withdrawal import MEMBER_PAGE, withdraw
from ifn_campaign.models import (
    MemberAnswer,
    MemberLink,
    MemberWithdrawal,
    Notice,
    NoticeContact,
    PostState,
    StaffUser,
)
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.ledger import add_member, add_post

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # Tuesday 09:00 WIB
ASKED = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)  # Monday 20:05 WIB
HOSTILE = 'Fotonya kurang jelas <script>alert("x")</script>\nmohon ganti & "perbaiki"'


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as found:
        with found.session() as s:
            s.execute(update(StaffUser).values(language="en"))
            s.commit()
        yield found


def _answer(
    s: Session, member: str, post: int | None, kind: str, at: datetime, comment: str | None = None
) -> None:
    s.add(
        MemberAnswer(
            member_id=member, post_id=post, kind=kind, comment=comment, address="127.0.0.1", at=at
        )
    )


def _article(page: str, post_id: int) -> str:
    start = page.index(f'id="post-{post_id}"')
    return page[start : page.index("</article>", start)]


def _queue(world: ConsoleWorld) -> dict[str, int]:
    with world.session() as s:
        add_member(s, "ifn-1", business_name="Sepatu Satu")
        slot = NOW + timedelta(days=2)
        ids = {
            name: add_post(
                s, "ifn-1", PostState.COMPOSED, slot_at=slot + timedelta(hours=i), caption="Halo"
            )
            for i, name in enumerate(("change", "fine", "fine-then-change", "change-then-fine"))
        }
        ids["silent"] = add_post(s, "ifn-1", PostState.COMPOSED, slot_at=slot + timedelta(hours=9))
        _answer(s, "ifn-1", ids["change"], "change", ASKED, HOSTILE)
        _answer(s, "ifn-1", ids["fine"], "fine", ASKED)
        _answer(s, "ifn-1", ids["fine-then-change"], "fine", ASKED - timedelta(hours=1))
        _answer(s, "ifn-1", ids["fine-then-change"], "change", ASKED, "ganti judulnya")
        _answer(s, "ifn-1", ids["change-then-fine"], "change", ASKED - timedelta(hours=1), "lama")
        _answer(s, "ifn-1", ids["change-then-fine"], "fine", ASKED)
        s.commit()
    return ids


def test_the_review_queue_shows_the_members_answers(world: ConsoleWorld) -> None:
    ids = _queue(world)
    page = world.client("viewer").get("/review").text
    change = _article(page, ids["change"])
    assert "Asked for a change" in change and "Mon, 7 Dec 2026 20.05" in change
    assert '<script>alert("x")</script>' not in change  # member text is escaped
    assert html.escape(HOSTILE, quote=False) in html.unescape(change).replace(
        HOSTILE, html.escape(HOSTILE, quote=False)
    )
    assert "Fine as it is" not in change
    fine = _article(page, ids["fine"])
    assert "Fine as it is" in fine and "Asked for a change" not in fine
    later = _article(page, ids["fine-then-change"])
    assert "ganti judulnya" in later and "Fine as it is" not in later
    both = _article(page, ids["change-then-fine"])  # the comment stays, with the newer badge
    assert "lama" in both and "Fine as it is" in both
    assert "The member says" not in _article(page, ids["silent"])


def test_the_queue_in_indonesian(world: ConsoleWorld) -> None:
    ids = _queue(world)
    with world.session() as s:
        s.execute(update(StaffUser).values(language="id"))
        s.commit()
    page = world.client("viewer").get("/review").text
    assert "Mohon diubah" in _article(page, ids["change"])
    assert "Sudah sesuai" in _article(page, ids["fine"])


def test_the_review_page_reads_answers_in_one_query(world: ConsoleWorld) -> None:
    """As many statements with 2 answered posts as with 30."""

    def statements() -> int:
        client = world.client("admin")
        client.get("/me")
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        engine = world.resources.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/review").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    def add(first: int, last: int) -> None:
        with world.session() as s:
            for n in range(first, last):
                member = f"ifn-{n:03d}"
                add_member(s, member)
                post = add_post(s, member, PostState.COMPOSED, slot_at=NOW + timedelta(hours=n + 1))
                _answer(s, member, post, "change", ASKED, f"komentar {n}")
                _answer(s, member, post, "fine", ASKED + timedelta(minutes=1))
            s.commit()

    add(0, 2)
    few = statements()
    add(2, 30)
    assert statements() == few


def test_the_cli_review_shows_the_comment(
    world: ConsoleWorld,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ifn_campaign.cli import base
    from ifn_campaign.cli.app import main

    ids = _queue(world)
    for key in [k for k in __import__("os").environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("IFN_DATABASE__URL", db_url)
    monkeypatch.setattr(base.out, "_width", 250)
    assert main(["review"]) == 0
    shown = capsys.readouterr().out
    part = shown[shown.index(f"post {ids['change']},") : shown.index(f"post {ids['fine']},")]
    assert "member asked for a change (Mohon diubah), Mon 2026-12-07 20:05:" in part
    assert "<script>" in part and "\\n" in part  # as text, its line break shown as an escape
    fine = shown[shown.index(f"post {ids['fine']},") :]
    assert "member: fine as it is (Sudah sesuai), Mon 2026-12-07 20:05" in fine


# --- the staff member page --------------------------------------------------------------------


def _member_page(world: ConsoleWorld) -> None:
    with world.session() as s:
        add_member(s, "ifn-7", business_name="Sepatu Tujuh")
        post = add_post(s, "ifn-7", PostState.APPROVED, slot_at=NOW + timedelta(days=3))
        _answer(s, "ifn-7", post, "change", ASKED, HOSTILE)
        _answer(s, "ifn-7", None, "withdraw", ASKED + timedelta(minutes=5))
        for key, state, sent, error in (
            ("before:1", "sent", ASKED - timedelta(days=1), None),
            ("before:2", "failed", None, "550 5.1.1 <bad@x.test>: no such user"),
            ("update:3", "pending", None, None),  # dropped by the withdrawal
        ):
            s.add(
                Notice(
                    member_id="ifn-7",
                    post_id=post,
                    kind="before",
                    medium="email",
                    to_address="pemilik@x.test",
                    dedupe_key=key,
                    message_id=f"<{key}@ifn.test>",
                    subject="s",
                    text_body="t",
                    state=state,
                    sent_at=sent,
                    last_error=error,
                    next_attempt_at=ASKED,
                    created_at=ASKED - timedelta(days=2),
                    state_changed_at=ASKED - timedelta(days=1),
                )
            )
        s.add(
            NoticeContact(
                member_id="ifn-7",
                medium="email",
                refused_address="bad@x.test",
                refused_at=ASKED,
                refused_reason="550 no such user",
            )
        )
        s.add(NoticeContact(member_id="ifn-7", medium="apprise", unsubscribed_at=ASKED))
        for _ in range(2):
            s.add(
                MemberLink(member_id="ifn-7", created_at=ASKED, expires_at=NOW + timedelta(days=9))
            )
        s.add(MemberLink(member_id="ifn-7", created_at=ASKED, expires_at=NOW - timedelta(days=1)))
        s.commit()
        withdraw(s, "ifn-7", source=MEMBER_PAGE, answer_id=None, now=ASKED + timedelta(minutes=5))
        s.commit()


def test_the_member_page_lists_answers_notices_and_contacts(world: ConsoleWorld) -> None:
    _member_page(world)
    page = world.client("viewer").get("/members/ifn-7").text
    section = page[page.index('id="answers-h"') : page.index('id="pins-h"')]
    assert "Asked for a change" in section and "Withdrew consent: do not feature me" in section
    assert "<script>" not in section and "&lt;script&gt;" in section
    assert "Mon, 7 Dec 2026 20.05" in section
    assert "not yet reported to the registry" in section
    assert "<td>sent<br>" in section and "<td>refused<br>" in section
    assert "<td>not sent<br>" in section and "the member withdrew consent" in section
    assert "550 5.1.1 &lt;bad@x.test&gt;: no such user" in section
    assert "email address refused" in section and "bad@x.test" in section
    assert "apprise: unsubscribed" in section
    assert "Links still valid: 2." in section
    assert "/revoke-links" not in section  # a viewer gets no button
    assert "/revoke-links" in world.client("editor").get("/members/ifn-7").text


def test_the_member_page_in_indonesian_has_no_english_source(world: ConsoleWorld) -> None:
    """The withdrawals are listed under "Penarikan di halaman anggota": their stored source,
    "member page" (English, for the export), is not shown in an Indonesian sentence."""
    _member_page(world)
    with world.session() as s:
        s.execute(update(StaffUser).values(language="id"))
        s.commit()
    page = world.client("viewer").get("/members/ifn-7").text
    section = page[page.index('id="answers-h"') : page.index('id="notices-h"')]
    assert "Penarikan di halaman anggota" in section
    assert "belum dilaporkan ke registri" in section
    assert "member page" not in section


def test_revoke_links_needs_an_editor_and_the_form_token(world: ConsoleWorld) -> None:
    _member_page(world)
    assert world.post("viewer", "/members/ifn-7/revoke-links").status_code == 403
    no_token = world.client("editor").post("/members/ifn-7/revoke-links", data={})
    assert no_token.status_code == 403
    with world.session() as s:
        assert s.scalars(select(MemberLink.revoked_at)).all() == [None, None, None]
    answer = world.post("editor", "/members/ifn-7/revoke-links")
    assert answer.status_code == 303 and answer.headers["location"] == "/members/ifn-7"
    page = world.client("editor").get("/members/ifn-7").text
    # every link not yet revoked, the expired one too (links.revoke_links)
    assert "Links to the member&#39;s page revoked: 3." in page
    assert "Notices not yet sent, to be made again with a new link: 0." in page
    assert "Links still valid: 0." in page and "/revoke-links" not in page
    with world.session() as s:
        revoked = s.scalars(select(MemberLink.revoked_by).where(MemberLink.revoked_at.is_not(None)))
        assert sorted(revoked) == ["staff:editor-user"] * 3
    assert world.post("editor", "/members/nobody/revoke-links").status_code == 404


# --- the export for the registry's owner ------------------------------------------------------


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_approvers_export_and_mark_the_withdrawals(world: ConsoleWorld) -> None:
    _member_page(world)
    with world.session() as s:
        add_member(s, "ifn-8", business_name="@SUM(A1) Sepatu")
        withdraw(s, "ifn-8", source=MEMBER_PAGE, answer_id=None, now=ASKED + timedelta(hours=1))
        s.commit()
    assert world.client("editor").get("/exports/withdrawals.csv").status_code == 403
    members = world.client("approver").get("/members").text
    assert "Not yet reported to the registry: 2." in members
    assert "/members" in members and "/exports/withdrawals/reported" in members
    assert "/exports/withdrawals/reported" not in world.client("editor").get("/members").text
    got = world.client("approver").get("/exports/withdrawals.csv?unreported=1")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert got.headers["cache-control"] == "no-store"
    rows = _rows(got.content)
    assert rows[0][1:] == [
        "member_id",
        "member",
        "withdrawn (WIB)",
        "withdrawn (UTC)",
        "source",
        "reported (UTC)",
    ]
    assert [r[1:] for r in rows[1:]] == [
        [
            "ifn-7",
            "Sepatu Tujuh",
            "2026-12-07T20:10:00+07:00",
            "2026-12-07T13:10:00Z",
            MEMBER_PAGE,
            "",
        ],
        [
            "ifn-8",
            "'@SUM(A1) Sepatu",
            "2026-12-07T21:05:00+07:00",
            "2026-12-07T14:05:00Z",
            MEMBER_PAGE,
            "",
        ],
    ]
    assert world.client("approver").get("/exports/withdrawals.csv?unreported=x").status_code == 400
    # the page showed ifn-8's as the newest; one made after it is not marked unseen
    with world.session() as s:
        through = max(s.scalars(select(MemberWithdrawal.id)))
        add_member(s, "ifn-9")
        withdraw(s, "ifn-9", source=MEMBER_PAGE, answer_id=None, now=ASKED + timedelta(hours=2))
        s.commit()
    assert (
        world.post("editor", "/exports/withdrawals/reported", {"through": through}).status_code
        == 403
    )
    answer = world.post("approver", "/exports/withdrawals/reported", {"through": str(through)})
    assert answer.status_code == 303
    with world.session() as s:
        marked = dict(
            s.execute(select(MemberWithdrawal.member_id, MemberWithdrawal.reported_at)).all()
        )
    assert marked == {"ifn-7": NOW, "ifn-8": NOW, "ifn-9": None}
    assert (
        "Withdrawals marked as reported to the registry: 2."
        in world.client("approver").get("/members").text
    )
    left = _rows(world.client("approver").get("/exports/withdrawals.csv?unreported=1").content)
    assert [r[1] for r in left[1:]] == ["ifn-9"]
    every = _rows(world.client("approver").get("/exports/withdrawals.csv").content)
    assert [r[6] for r in every[1:]] == ["2026-12-08T02:00:00Z", "2026-12-08T02:00:00Z", ""]
    garbled = world.post("approver", "/exports/withdrawals/reported", {"through": "x1"})
    assert garbled.status_code == 303
    with world.session() as s:
        assert (
            s.scalar(
                select(MemberWithdrawal.reported_at).where(MemberWithdrawal.member_id == "ifn-9")
            )
            is None
        )
