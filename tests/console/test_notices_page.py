"""The console's member notices page, on SQLite and PostgreSQL: every state counted and shown,
uncertain and failed notices first with what to check, refused addresses and unsubscribes, the
filtered and paged list; "it arrived", "send again" and "try again" change the row as
`notices resolve` and `notices retry` do; a viewer is refused; a decided or unknown notice is a
message and changes nothing; whatever a row holds is escaped."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ifn_campaign.models import Notice, NoticeContact, NoticeState, PostState, StaffUser
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.console_routes import database_rows
from tests.support.ledger import add_member, add_post
from tests.support.member_rows import add_notice

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # Tuesday 09:00 WIB
CUT_OFF = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)  # Monday 20:05 WIB
ROW = '<td><span class="state state-notice-'  # one per row of the list
HOSTILE = '<script>alert("x")</script> & "kutip" <img src=x onerror=alert(1)>'


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as found:
        with found.session() as s:
            s.execute(update(StaffUser).values(language="en"))
            s.commit()
        yield found


def _notice(s: Session, member: str, key: str, state: str, **values: object) -> int:
    notice_id = add_notice(s, member, key, state)
    if values:
        s.execute(update(Notice).where(Notice.id == notice_id).values(**values))
    return notice_id


def _outbox(world: ConsoleWorld) -> dict[str, int]:
    """A notice in every state, the uncertain and failed ones with what staff check."""
    with world.session() as s:
        add_member(s, "ifn-1", business_name="Sepatu Satu")
        add_member(s, "ifn-2", business_name=HOSTILE)
        post = add_post(s, "ifn-1", PostState.APPROVED, slot_at=NOW + timedelta(days=2))
        ids = {
            state.value: _notice(s, "ifn-1", f"k-{state.value}", state.value, post_id=post)
            for state in NoticeState
            if state not in (NoticeState.UNCERTAIN, NoticeState.FAILED)
        }
        ids["uncertain"] = _notice(
            s,
            "ifn-1",
            "k-uncertain",
            "uncertain",
            step="data",
            state_changed_at=CUT_OFF,
            last_error="the connection broke after the end of the message",
        )
        ids["failed"] = _notice(
            s,
            "ifn-2",
            "k-failed",
            "failed",
            attempts=1,
            to_address="salah@example.test",
            last_error="550 " + HOSTILE,
            state_changed_at=CUT_OFF,
        )
        s.add(
            NoticeContact(
                member_id="ifn-2",
                medium="email",
                refused_address="salah@example.test",
                refused_at=CUT_OFF,
                refused_reason="550 no such user " + HOSTILE,
            )
        )
        s.add(NoticeContact(member_id="ifn-1", medium="apprise", unsubscribed_at=CUT_OFF))
        s.commit()
    return ids


def _row(world: ConsoleWorld, notice_id: int) -> Notice:
    with world.session() as s:
        found = s.get(Notice, notice_id)
        assert found is not None
        s.expunge(found)
        return found


def _section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</section>", start)]


def test_every_state_is_counted_and_the_ones_for_staff_come_first(world: ConsoleWorld) -> None:
    ids = _outbox(world)
    answer = world.client("viewer").get("/notices")
    assert answer.status_code == 200
    page = answer.text
    counts = page[page.index('class="notices-counts"') : page.index('id="needs-staff"')]
    for label in ("waiting to be sent", "sending", "sent", "failed", "uncertain", "not sent"):
        assert f"1 {label}</a>" in counts, label
    needs = _section(page, "needs-staff")
    uncertain = needs[needs.index(f'id="notice-{ids["uncertain"]}"') :]
    assert "&lt;k-uncertain@ifn.test&gt;" in uncertain  # the Message-ID to look for
    assert "Mon, 7 Dec 2026 20.05" in uncertain  # when it was cut off, in WIB
    assert "It arrived" not in needs  # a viewer reads, approvers decide
    failed = needs[needs.index(f'id="notice-{ids["failed"]}"') :]
    assert 'href="/members/ifn-2"' in failed and "550 &lt;script&gt;" in failed
    assert needs.index(f"notice-{ids['uncertain']}") < needs.index(f"notice-{ids['failed']}")
    for other in ("pending", "sent", "dropped", "sending"):
        assert f'id="notice-{ids[other]}"' not in needs
    contacts = _section(page, "contacts")
    assert "salah@example.test" in contacts and "no such user" in contacts
    assert "unsubscribed" in contacts and "WhatsApp (Apprise)" in contacts
    listed = _section(page, "list")
    for notice_id in ids.values():
        assert f'<td class="n">{notice_id}</td>' in listed
    assert "/activity?post=" in listed  # the post's history


def test_approvers_see_the_buttons_and_today_counts_what_waits(world: ConsoleWorld) -> None:
    today = world.client("viewer").get("/").text
    assert "/notices#needs-staff" not in today  # nothing waits: nothing said
    _outbox(world)
    page = world.client("approver").get("/notices").text
    assert page.count('action="/notices/') == 3  # arrived, send again, try again
    assert "It did not arrive: send again" in page and "Try again" in page
    today = world.client("viewer").get("/").text
    assert '<a href="/notices#needs-staff"><strong>2</strong>' in today


def test_it_arrived_marks_the_notice_sent(world: ConsoleWorld) -> None:
    ids = _outbox(world)
    answer = world.post("approver", f"/notices/{ids['uncertain']}/resolve", {"outcome": "sent"})
    assert answer.status_code == 303 and answer.headers["location"] == "/notices#needs-staff"
    row = _row(world, ids["uncertain"])
    assert row.state == NoticeState.SENT and row.sent_at == NOW
    assert row.last_error == "marked sent by staff" and row.claimed_by is None
    page = world.client("approver").get(answer.headers["location"]).text
    assert f"Notice {ids['uncertain']} marked sent." in page
    assert f'id="notice-{ids["uncertain"]}"' not in _section(page, "needs-staff")


def test_it_did_not_arrive_sends_it_again_with_the_same_message_id(world: ConsoleWorld) -> None:
    ids = _outbox(world)
    before = _row(world, ids["uncertain"])
    back = "state=uncertain&page=1"
    answer = world.post(
        "approver",
        f"/notices/{ids['uncertain']}/resolve",
        {"outcome": "not-sent", "back": back},
    )
    assert answer.headers["location"] == f"/notices?{back}#needs-staff"
    row = _row(world, ids["uncertain"])
    assert row.state == NoticeState.PENDING and row.step is None and row.next_attempt_at == NOW
    assert row.message_id == before.message_id and row.sent_at is None
    page = world.client("approver").get(answer.headers["location"]).text
    assert "goes again at the next send, with the same Message-ID" in page


def test_try_again_makes_a_failed_notice_pending_and_lifts_the_refusal(
    world: ConsoleWorld,
) -> None:
    ids = _outbox(world)
    answer = world.post("approver", f"/notices/{ids['failed']}/retry")
    assert answer.status_code == 303
    row = _row(world, ids["failed"])
    assert row.state == NoticeState.PENDING and row.attempts == 0 and row.next_attempt_at == NOW
    with world.session() as s:
        contact = s.get(NoticeContact, ("ifn-2", "email"))
        assert contact is not None and contact.refused_address is None
    page = world.client("approver").get("/notices").text
    assert f"Notice {ids['failed']} goes again at the next send." in page
    assert "address is lifted: it is tried again" in page


def test_a_viewer_is_refused_and_nothing_changes(world: ConsoleWorld) -> None:
    ids = _outbox(world)
    with world.session() as s:
        before = database_rows(s)
    for path, data in (
        (f"/notices/{ids['uncertain']}/resolve", {"outcome": "sent"}),
        (f"/notices/{ids['failed']}/retry", {}),
    ):
        for role in ("viewer", "editor"):
            assert world.post(role, path, data).status_code == 403, (role, path)
    with world.session() as s:
        assert database_rows(s) == before


@pytest.mark.parametrize("language", ["en", "id"])
def test_a_decided_or_unknown_notice_is_a_message_and_nothing_changes(
    world: ConsoleWorld, language: str
) -> None:
    ids = _outbox(world)
    with world.session() as s:
        s.execute(update(StaffUser).values(language=language))
        s.commit()
    with world.session() as s:
        before = database_rows(s)
    tries = [
        (f"/notices/{ids['sent']}/resolve", {"outcome": "sent"}, ids["sent"]),
        (f"/notices/{ids['pending']}/retry", {}, ids["pending"]),
        ("/notices/999999/resolve", {"outcome": "not-sent"}, 999999),
        ("/notices/999999/retry", {}, 999999),
    ]
    client = world.client("approver")
    messages = []
    for path, data, notice_id in tries:
        answer = world.post("approver", path, data)
        assert answer.status_code == 303, path
        page = client.get(answer.headers["location"]).text
        flash = page[page.index('class="flash"') : page.index("</ul>", page.index('class="flash"'))]
        assert 'class="error"' in flash and str(notice_id) in flash, flash
        messages.append(html.unescape(flash))
    if language == "en":
        assert "is sent now, not uncertain" in messages[0] and "nothing changed" in messages[0]
        assert "is waiting to be sent now, not failed" in messages[1]
        assert "There is no notice 999999: nothing changed." in messages[2]
    else:
        assert "tidak ada yang berubah" in messages[0].lower()
        assert "Tidak ada pemberitahuan 999999" in messages[2]
    with world.session() as s:
        assert database_rows(s) == before


def test_a_forged_outcome_or_id_is_refused(world: ConsoleWorld) -> None:
    ids = _outbox(world)
    path = f"/notices/{ids['uncertain']}/resolve"
    for outcome in ("", "yes", "sent\n", "SENT"):
        assert world.post("approver", path, {"outcome": outcome}).status_code == 400
    for bad in ("-1", "abc", str(2**31), "1.5"):
        assert world.post("approver", f"/notices/{bad}/retry").status_code == 400, bad
    assert _row(world, ids["uncertain"]).state == NoticeState.UNCERTAIN


def test_hostile_values_are_escaped(world: ConsoleWorld) -> None:
    _outbox(world)
    with world.session() as s:
        add_member(s, "ifn-3", business_name="Sepatu Tiga")
        _notice(
            s,
            "ifn-3",
            "k-hostile",
            "uncertain",
            to_address=HOSTILE,
            subject=HOSTILE,
            message_id=f"<{HOSTILE}@x>",
            last_error=HOSTILE,
        )
        s.commit()
    page = world.client("approver").get("/notices").text
    assert "<script>" not in page and "<img src=x" not in page
    assert str(escape(HOSTILE)) in page
    hostile_query = "/notices?member=" + "%3Cscript%3E" + "&state=%22%3E%3Cb%3E"
    answer = world.client("viewer").get(hostile_query)
    assert answer.status_code == 200 and "<b>" not in answer.text
    assert "Unknown State: that filter was left out." in answer.text
    assert 'value="&lt;script&gt;"' in answer.text


def test_the_list_filters_and_pages(world: ConsoleWorld) -> None:
    ids = _outbox(world)
    client = world.client("viewer")
    listed = _section(client.get("/notices?state=failed&medium=email").text, "list")
    assert f'<td class="n">{ids["failed"]}</td>' in listed
    assert f'<td class="n">{ids["sent"]}</td>' not in listed
    listed = _section(client.get("/notices?member=ifn-2").text, "list")
    assert listed.count(ROW) == 1
    assert "No notice matches these filters." in client.get("/notices?kind=after").text
    with world.session() as s:
        for number in range(60):
            _notice(
                s,
                "ifn-1",
                f"many-{number}",
                "sent",
                created_at=NOW - timedelta(minutes=number),
            )
        s.commit()
    first = _section(client.get("/notices?state=sent").text, "list")
    assert first.count(ROW) == 50 and "Page 1 of 2" in first
    assert 'href="/notices?state=sent&amp;page=2#list"' in first
    second = _section(client.get("/notices?state=sent&page=2").text, "list")
    assert second.count(ROW) == 11  # 60 and the first sent one
    assert "Page 2 of 2" in client.get("/notices?state=sent&page=99").text
    assert client.get("/notices?page=%C2%B2").status_code == 200


@pytest.mark.parametrize("configured", [False, True])
def test_without_smtp_host_the_page_says_what_to_set(
    engine: Engine, db_url: str, tmp_path: Path, configured: bool
) -> None:
    mail = {"smtp_host": "mail.example.test", "imap_host": "imap.example.test"}
    settings = settings_for(db_url, tmp_path, notices=mail if configured else {})
    with console_world(settings, clock=lambda: NOW) as world:
        with world.session() as s:
            s.execute(update(StaffUser).values(language="en"))
            s.commit()
        page = world.client("viewer").get("/notices").text
        setup = page[page.index("<main") : page.index('class="notices-counts"')]
        for says in ("E-mail is not set up", "notices.smtp_host", "docs/how-to/member-notices.md"):
            assert (says in setup) is not configured, says
