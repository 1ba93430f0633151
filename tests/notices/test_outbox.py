"""The outbox: which notices are due, rendered and queued, once; on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.members.links import member_key, verify_link, verify_unsubscribe
from ifn_campaign.models import (
    Member,
    MemberLink,
    MemberPreference,
    MemberWithdrawal,
    NoticeContact,
    NoticeKind,
    NoticeMedium,
    NoticeState,
    PostState,
)
from ifn_campaign.notices.outbox import (
    AFTER_WINDOW,
    QueueReport,
    Said,
    caption_hash,
    queue_due,
    said_of,
)
from tests.support.notice_outbox import (
    CAPTION,
    NOW,
    SLOT,
    NoticeWorld,
    make_card,
    settings_for,
)


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> NoticeWorld:
    return NoticeWorld(engine, settings_for(db_url, tmp_path), make_card(tmp_path / "cards"))


def _link_token(text: str, prefix: str) -> str:
    start = text.index(prefix) + len(prefix)
    return text[start:].split()[0]


# --- before ----------------------------------------------------------------------------------


def test_an_approved_post_in_the_window_gets_one_before_notice_rendered_and_linked(
    world: NoticeWorld,
) -> None:
    member = world.member("ifn-0001")
    post_id = world.post(member)
    report = world.queue()
    assert (report.before, report.queued, report.skipped) == (1, 1, [])
    [notice] = world.notices()
    assert (notice.kind, notice.medium, notice.state) == ("before", "email", "pending")
    assert notice.post_id == post_id and notice.member_id == member
    assert notice.to_address == "ifn-0001@sepatu.co.id"
    assert notice.dedupe_key == f"before:post:{post_id}:email"
    assert notice.next_attempt_at == NOW and notice.created_at == NOW
    assert notice.language == "id"
    assert notice.subject == (
        "Profil Anda akan ditampilkan di Instagram BPIPI pada Selasa, 8 Desember 2026 pukul "
        "19.00 WIB"
    )
    assert CAPTION in notice.text_body and notice.html_body is not None
    # the Message-ID is the sender's domain, and says what the notice told
    assert notice.message_id.startswith("<") and notice.message_id.endswith("@bpipi.id>")
    assert said_of(notice) == Said(SLOT, caption_hash(CAPTION))
    # the card inline, by Content-ID, as an absolute path
    [card] = notice.attachments
    assert card["path"] == str(world.card) and card["mime"] == "image/jpeg"
    assert f'src="cid:{card["cid"]}"' in notice.html_body
    # a new member-page link of its own, and the unsubscribe link, both ours
    token = _link_token(notice.text_body, "https://ifn.example.org/anggota/")
    key = member_key(world.settings)
    with world.session() as session:
        link = verify_link(session, key, token, now=NOW)
        assert (link.id, link.member_id) == (notice.link_id, member)
        assert link.expires_at == NOW + timedelta(days=30)
    stop = _link_token(notice.text_body, "https://ifn.example.org/anggota/berhenti/")
    unsubscribe = verify_unsubscribe(key, stop)
    assert (unsubscribe.member_id, unsubscribe.medium) == (member, NoticeMedium.EMAIL)
    assert f'href="https://ifn.example.org/anggota/berhenti/{stop}"' in notice.html_body


def test_queuing_twice_queues_nothing_new(world: NoticeWorld) -> None:
    for n in range(3):
        world.post(world.member(f"ifn-{n:04}"))
    assert world.queue().before == 3
    again = world.queue(NOW + timedelta(minutes=15))
    assert (again.queued, again.dropped) == (0, 0)
    assert len(world.notices()) == 3
    with world.session() as session:  # no link issued for nothing
        assert len(session.scalars(select(MemberLink)).all()) == 3


@pytest.mark.parametrize(
    ("state", "slot", "why"),
    [
        (PostState.COMPOSED, SLOT, "not approved yet"),
        (PostState.PLANNED, SLOT, "not approved yet"),
        (PostState.APPROVED, NOW + timedelta(days=3, minutes=1), "beyond days_ahead"),
        (PostState.APPROVED, NOW - timedelta(minutes=1), "slot past"),
        (PostState.FAILED, SLOT, "waits for staff"),
    ],
)
def test_no_before_notice_outside_its_rule(
    world: NoticeWorld, state: str, slot: object, why: str
) -> None:
    world.post(world.member("ifn-0001"), state, slot_at=slot)  # type: ignore[arg-type]
    assert world.queue().queued == 0, why
    assert world.notices() == []


@pytest.mark.parametrize("state", [PostState.APPROVED, PostState.SCHEDULED, PostState.PUBLISHING])
def test_approved_scheduled_and_publishing_posts_are_told(world: NoticeWorld, state: str) -> None:
    world.post(world.member("ifn-0001"), state, slot_at=NOW + timedelta(days=3))
    assert world.queue().before == 1


def test_the_window_follows_days_ahead(world: NoticeWorld) -> None:
    world.post(world.member("ifn-0001"), slot_at=NOW + timedelta(days=6))
    assert world.queue().before == 0
    wider = world.settings.model_copy(
        update={"notices": world.settings.notices.model_copy(update={"days_ahead": 7})}
    )
    assert world.queue(settings=wider).before == 1


def test_notices_disabled_queue_nothing(world: NoticeWorld) -> None:
    world.post(world.member("ifn-0001"))
    off = world.settings.model_copy(
        update={"notices": world.settings.notices.model_copy(update={"enabled": False})}
    )
    assert world.queue(settings=off).queued == 0
    assert world.notices() == []


def test_the_member_language_is_their_page_preference(world: NoticeWorld) -> None:
    world.post(world.member("ifn-en"))
    world.post(world.member("ifn-id"))
    with world.session() as session:
        session.add(MemberPreference(member_id="ifn-en", language="en", updated_at=NOW))
        session.commit()
    world.queue()
    by_member = {n.member_id: n for n in world.notices()}
    english = by_member["ifn-en"]
    assert english.language == "en"
    assert english.subject == (
        "Your profile will be featured on BPIPI's Instagram on Tuesday, 8 December 2026 at "
        "19:00 WIB"
    )
    assert by_member["ifn-id"].language == "id"
    assert by_member["ifn-id"].subject.startswith("Profil Anda akan ditampilkan")


# --- who may be told -------------------------------------------------------------------------


def test_members_without_a_usable_contact_are_skipped_with_the_reason(world: NoticeWorld) -> None:
    world.post(world.member("ifn-0007", consent_fields_allowed=["owner_name"]))
    world.post(world.member("ifn-0008", contact={"email": "x@y.co\r\nBcc: all@bpipi.id"}))
    world.post(world.member("ifn-0009", contact={}))
    report = world.queue()
    assert report.queued == 0
    assert report.skipped[0] == "ifn-0007: no e-mail allowed"
    assert report.skipped[1].startswith("ifn-0008: e-mail address with a control character")
    assert report.skipped[2] == "ifn-0009: no e-mail address"
    assert world.notices() == []


def test_whatsapp_only_with_an_apprise_url_and_the_member_s_consent(
    world: NoticeWorld,
) -> None:
    both = world.member("ifn-both")
    mail_only = world.member("ifn-mail", consent_fields_allowed=["email"])
    for member in (both, mail_only):
        world.post(member)
    assert world.queue().before == 2  # no Apprise URL: e-mail only
    assert {n.medium for n in world.notices()} == {"email"}
    apprise = world.settings.model_copy(
        update={
            "notices": world.settings.notices.model_copy(
                update={"apprise_url_secret": "apprise-url"}
            )
        }
    )
    report = world.queue(settings=apprise)
    assert report.before == 1
    assert "ifn-mail: no WhatsApp allowed" in report.skipped
    [message] = [n for n in world.notices() if n.medium == "apprise"]
    assert message.member_id == both
    assert message.to_address == "6281234567890"  # 0812-... as an international number
    assert message.html_body is None and message.attachments == []
    assert message.dedupe_key.endswith(":apprise")
    assert "Selasa, 8 Desember 2026 pukul 19.00 WIB" in message.text_body
    assert "/anggota/berhenti/" in message.text_body


def test_no_notice_on_a_medium_the_member_left_or_at_an_address_refused_for_good(
    world: NoticeWorld,
) -> None:
    world.post(world.member("ifn-left"))
    world.post(world.member("ifn-refused"))
    with world.session() as session:
        session.add(NoticeContact(member_id="ifn-left", medium="email", unsubscribed_at=NOW))
        session.add(
            NoticeContact(
                member_id="ifn-refused",
                medium="email",
                refused_address="ifn-refused@sepatu.co.id",
                refused_at=NOW,
                refused_reason="550 no such user",
            )
        )
        session.commit()
    report = world.queue()
    assert report.queued == 0
    assert "ifn-left: unsubscribed from e-mail" in report.skipped
    assert "ifn-refused: e-mail address refused by the server (550 no such user)" in (
        report.skipped
    )
    # the registry gives a new address: that one is tried
    with world.session() as session:
        member = session.get(Member, "ifn-refused")
        assert member is not None
        member.contact = {"email": "baru@sepatu.co.id"}
        session.commit()
    assert world.queue().before == 1
    assert [n.to_address for n in world.notices()] == ["baru@sepatu.co.id"]


# --- update ----------------------------------------------------------------------------------


def test_a_moved_slot_after_the_notice_sends_one_update_saying_so(world: NoticeWorld) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    [before] = world.notices()
    world.mark(before.id or 0)
    moved = SLOT + timedelta(days=1)
    world.change(post_id, slot_at=moved)
    report = world.queue(NOW + timedelta(minutes=15))
    assert (report.update, report.queued) == (1, 1)
    update = world.notices()[-1]
    assert update.kind == "update"
    assert update.dedupe_key.startswith(f"update:post:{post_id}:20261209T120000Z.")
    assert update.dedupe_key.endswith(":email")
    assert said_of(update) == Said(moved, caption_hash(CAPTION))
    assert "Rabu, 9 Desember 2026 pukul 19.00 WIB" in update.subject
    assert "sebelumnya Selasa, 8 Desember 2026 pukul 19.00 WIB" in update.text_body
    assert "Keterangan diubah" not in update.text_body
    assert world.queue(NOW + timedelta(minutes=30)).queued == 0  # told already


def test_an_edited_caption_sends_an_update_with_the_new_caption(world: NoticeWorld) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    world.mark(world.notices()[0].id or 0)
    world.change(post_id, caption="Keterangan baru <b>tebal</b> & rapi")
    report = world.queue()
    assert report.update == 1
    update = world.notices()[-1]
    assert "Jadwal tetap: Selasa, 8 Desember 2026 pukul 19.00 WIB" in update.text_body
    assert "Keterangan diubah" in update.text_body
    assert "Keterangan baru <b>tebal</b> & rapi" in update.text_body
    assert update.html_body is not None
    assert "Keterangan baru &lt;b&gt;tebal&lt;/b&gt; &amp; rapi" in update.html_body


def test_a_post_sent_back_to_review_is_not_updated_until_approved_again(
    world: NoticeWorld,
) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    world.mark(world.notices()[0].id or 0)
    world.change(post_id, state=PostState.COMPOSED, caption="Diubah atas permintaan anggota")
    assert world.queue().queued == 0
    world.change(post_id, state=PostState.APPROVED)
    assert world.queue().update == 1


def test_a_newer_update_replaces_an_older_pending_one(world: NoticeWorld) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    world.mark(world.notices()[0].id or 0)
    world.change(post_id, slot_at=SLOT + timedelta(hours=1))
    world.queue()
    first_update = world.notices()[-1]
    world.change(post_id, slot_at=SLOT + timedelta(hours=2))
    report = world.queue()
    assert (report.update, report.dropped) == (1, 1)
    rows = {n.id: n for n in world.notices()}
    old = rows[first_update.id]
    assert old.state == NoticeState.DROPPED
    assert old.last_error is not None and old.last_error.startswith("replaced by notice")
    newest = world.notices()[-1]
    assert newest.state == NoticeState.PENDING
    # it compares with what reached the member (the before notice), not the update that never
    # went: 19.00 before, 21.00 now
    assert "pukul 21.00 WIB" in newest.subject
    assert "sebelumnya Selasa, 8 Desember 2026 pukul 19.00 WIB" in newest.text_body
    assert "20.00" not in newest.text_body
    assert world.queue().queued == 0


def test_a_change_undone_before_its_update_went_sends_nothing(world: NoticeWorld) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    world.mark(world.notices()[0].id or 0)
    world.change(post_id, slot_at=SLOT + timedelta(hours=1))
    assert world.queue().update == 1
    world.change(post_id, slot_at=SLOT)  # back to what the member was told
    report = world.queue()
    assert (report.queued, report.dropped) == (0, 1)
    update = world.notices()[-1]
    assert update.state == NoticeState.DROPPED
    assert update.last_error == "the post is back to what the member was told"
    assert world.queue().queued == 0


def test_a_pending_before_notice_is_replaced_by_the_update_when_the_post_changes(
    world: NoticeWorld,
) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    world.change(post_id, slot_at=SLOT + timedelta(days=1))
    report = world.queue()
    assert (report.update, report.dropped) == (1, 1)
    before, update = world.notices()
    assert before.state == NoticeState.DROPPED and update.state == NoticeState.PENDING
    # the member never got the first: the update reads as the notice before, with the new time
    assert update.kind == NoticeKind.UPDATE
    assert update.subject == (
        "Profil Anda akan ditampilkan di Instagram BPIPI pada Rabu, 9 Desember 2026 pukul 19.00 WIB"
    )
    assert "sebelumnya" not in update.text_body
    assert world.queue().queued == 0


def test_a_slot_moved_back_and_forth_gets_an_update_each_time(world: NoticeWorld) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    for slot in (SLOT + timedelta(hours=1), SLOT, SLOT + timedelta(hours=1)):
        world.mark(world.notices()[-1].id or 0)
        world.change(post_id, slot_at=slot)
        assert world.queue().update == 1
    keys = [n.dedupe_key for n in world.notices()]
    assert len(keys) == len(set(keys)) == 4


# --- cancelled -------------------------------------------------------------------------------


@pytest.mark.parametrize("went", [NoticeState.SENT, NoticeState.UNCERTAIN])
def test_a_told_post_cancelled_gets_one_cancellation(world: NoticeWorld, went: str) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    world.mark(world.notices()[0].id or 0, went)
    world.change(post_id, state=PostState.CANCELLED, slot_at=SLOT)
    report = world.queue()
    assert report.cancelled == 1
    cancelled = world.notices()[-1]
    assert cancelled.dedupe_key == f"cancelled:post:{post_id}:email"
    assert cancelled.subject == (
        "Batal: profil Anda tidak jadi ditampilkan di Instagram BPIPI pada Selasa, "
        "8 Desember 2026 pukul 19.00 WIB"
    )
    assert world.queue().queued == 0


def test_a_post_cancelled_before_its_notice_went_drops_it_and_sends_no_cancellation(
    world: NoticeWorld,
) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    world.change(post_id, state=PostState.CANCELLED)
    report = world.queue()
    assert (report.queued, report.dropped) == (0, 1)
    [notice] = world.notices()
    assert notice.state == NoticeState.DROPPED
    assert notice.last_error == "the post was cancelled before this notice went: none sent"


def test_a_notice_claimed_by_the_sender_is_not_dropped_under_it(world: NoticeWorld) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    world.mark(world.notices()[0].id or 0, NoticeState.SENDING)
    world.change(post_id, state=PostState.CANCELLED)
    report = world.queue()
    assert report.dropped == 0 and report.cancelled == 1  # it may have gone: say so
    assert world.notices()[0].state == NoticeState.SENDING


# --- after -----------------------------------------------------------------------------------


def test_a_published_post_gets_its_permalink_once_even_without_a_before_notice(
    world: NoticeWorld,
) -> None:
    post_id = world.post(world.member("ifn-0001"), slot_at=NOW - timedelta(hours=2))
    world.publish(post_id, "https://www.instagram.com/p/ABC123/", at=NOW - timedelta(hours=2))
    report = world.queue()
    assert (report.after, report.queued) == (1, 1)
    [after] = world.notices()
    assert after.dedupe_key == f"after:post:{post_id}:email"
    assert after.subject == "Profil Anda sudah tampil di Instagram BPIPI"
    assert "https://www.instagram.com/p/ABC123/" in after.text_body
    # when it went out (10.00 WIB less two hours), as the member reads it
    assert "(Minggu, 6 Desember 2026 pukul 08.00 WIB)" in after.text_body
    assert after.html_body is not None
    assert 'href="https://www.instagram.com/p/ABC123/"' in after.html_body
    assert world.queue().queued == 0


def test_a_told_post_goes_out_and_its_pending_before_is_dropped_for_the_after(
    world: NoticeWorld,
) -> None:
    post_id = world.post(world.member("ifn-0001"))
    world.queue()
    world.publish(post_id, "https://www.facebook.com/123_456", at=SLOT)
    report = world.queue(SLOT + timedelta(minutes=5))
    assert (report.after, report.dropped) == (1, 1)
    before, after = world.notices()
    assert before.state == NoticeState.DROPPED and after.kind == NoticeKind.AFTER


def test_no_after_notice_without_a_link_for_old_posts_or_for_a_hostile_link(
    world: NoticeWorld,
) -> None:
    member = world.member("ifn-0001")
    no_link = world.post(member, slot_at=NOW - timedelta(hours=1))
    world.publish(no_link, None)
    old = world.post(member, slot_at=NOW - AFTER_WINDOW - timedelta(days=1))
    world.publish(
        old, "https://www.instagram.com/p/OLD/", at=NOW - AFTER_WINDOW - timedelta(days=1)
    )
    hostile = world.post(member, slot_at=NOW - timedelta(hours=3))
    world.publish(hostile, "javascript:alert(1)")
    report = world.queue()
    assert report.queued == 0
    assert report.skipped == [f"ifn-0001: post {hostile}: no usable permalink"]


# --- withdrawal and unsubscribing ------------------------------------------------------------


def test_a_withdrawn_member_is_told_nothing_but_cancellations(world: NoticeWorld) -> None:
    member = world.member("ifn-0001")
    told = world.post(member)
    pending = world.post(member, slot_at=SLOT + timedelta(hours=12))
    world.queue()
    first, _ = world.notices()
    world.mark(first.id or 0)
    with world.session() as session:
        session.add(MemberWithdrawal(member_id=member, at=NOW, source="member page"))
        session.commit()
    report = world.queue()
    assert report.dropped == 1 and report.queued == 0
    assert world.notices(pending)[0].last_error == (
        "the member withdrew consent or is no longer promoted"
    )
    world.change(told, state=PostState.CANCELLED)
    world.change(pending, state=PostState.CANCELLED)
    report = world.queue()
    assert report.cancelled == 1
    assert world.notices()[-1].post_id == told
    assert world.queue().queued == 0


def test_consent_withdrawn_in_the_registry_or_a_suspended_member_gets_no_before(
    world: NoticeWorld,
) -> None:
    world.post(world.member("ifn-w", consent_withdrawn_at=NOW - timedelta(days=1)))
    world.post(world.member("ifn-s", status="suspended"))
    assert world.queue().queued == 0


def test_unsubscribing_drops_what_is_pending_on_that_medium(world: NoticeWorld) -> None:
    world.post(world.member("ifn-0001"))
    world.queue()
    with world.session() as session:
        session.add(NoticeContact(member_id="ifn-0001", medium="email", unsubscribed_at=NOW))
        session.commit()
    report = world.queue()
    assert report.dropped == 1
    [notice] = world.notices()
    assert (notice.state, notice.last_error) == ("dropped", "unsubscribed from e-mail")


# --- set-based -------------------------------------------------------------------------------


def test_a_run_asks_as_many_statements_for_many_posts_as_for_few(world: NoticeWorld) -> None:
    """Nothing due: the statements of a run do not grow with the posts it looks at."""

    def statements(count: int, start: int) -> int:
        for n in range(start, start + count):
            member = world.member(f"ifn-{n:04}")
            world.post(member, slot_at=SLOT + timedelta(minutes=n))
        world.queue()  # queue them; then count a run with nothing new
        seen: list[str] = []

        def listen(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(world.engine, "before_cursor_execute", listen)
        try:
            assert world.queue().queued == 0
        finally:
            event.remove(world.engine, "before_cursor_execute", listen)
        return len(seen)

    few = statements(3, 0)
    many = statements(40, 100)
    assert many == few


# --- templates staff change ------------------------------------------------------------------


def test_a_broken_staff_template_holds_its_notices_and_lets_the_others_go(
    world: NoticeWorld, tmp_path: Path
) -> None:
    world.post(world.member("ifn-en"))
    world.post(world.member("ifn-id"))
    with world.session() as session:
        session.add(MemberPreference(member_id="ifn-en", language="en", updated_at=NOW))
        session.commit()
    own = tmp_path / "own"
    broken = own / "notices" / "en" / "before.txt.j2"
    broken.parent.mkdir(parents=True)
    broken.write_text("{% block subject %}{{ when }{% endblock %}", encoding="utf-8")
    staff = world.settings.model_copy(
        update={"templates": world.settings.templates.model_copy(update={"dir": own})}
    )
    report = world.queue(settings=staff)
    assert report.before == 1
    [held] = report.skipped
    assert held.startswith("ifn-en: post ") and "before notice not written" in held
    assert str(broken) in held and "line 1" in held
    assert [n.member_id for n in world.notices()] == ["ifn-id"]
    with world.session() as session:  # no page link left behind for the notice not written
        assert len(session.scalars(select(MemberLink)).all()) == 1
    broken.unlink()  # fixed: the next run queues it
    assert world.queue(settings=staff).before == 1


# --- hostile contact values ------------------------------------------------------------------

_VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.lists(st.text(max_size=5), max_size=2),
    st.text(max_size=300),
    st.sampled_from(
        [
            "x@y.co\r\nBcc: semua@bpipi.id",
            '"BPIPI" <ifn@bpipi.id>',
            "a@b.co, c@d.co",
            "info@sepatü.id",
            "0812-3456-7890\nX: y",
            "+62 812 3456 7890",
            "info@sepatu.co.id",
        ]
    ),
)
_serial = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(email=_VALUES, whatsapp=_VALUES)
def test_any_contact_value_is_queued_clean_or_skipped_never_a_crash(
    world: NoticeWorld, email: object, whatsapp: object
) -> None:
    member = world.member(f"ifn-h{next(_serial)}", contact={"email": email, "whatsapp": whatsapp})
    post_id = world.post(member)
    apprise = world.settings.model_copy(
        update={
            "notices": world.settings.notices.model_copy(
                update={"apprise_url_secret": "apprise-url"}
            )
        }
    )
    report = world.queue(settings=apprise)
    rows = world.notices(post_id)
    assert report.queued == len(rows)
    assert len(rows) + sum(line.startswith(f"{member}: ") for line in report.skipped) == 2
    for row in rows:
        assert parseaddr(row.to_address)[1] == row.to_address or row.to_address.isdigit()
        assert not any(c in row.to_address for c in '\r\n ,<>"')
        assert "\n" not in row.subject


@pytest.mark.parametrize(
    ("column", "stored"),
    [
        ("contact", "[1, 2]"),
        ("contact", '"ifn-x@sepatu.co.id"'),
        ("contact", "5"),
        ("consent_fields_allowed", '"no-email, no-whatsapp"'),
        ("consent_fields_allowed", '{"email": false, "whatsapp": false}'),
        ("consent_fields_allowed", "7"),
        ("consent_fields_allowed", "null"),
    ],
)
def test_a_member_row_no_sync_writes_is_skipped_and_the_others_are_told(
    world: NoticeWorld, column: str, stored: str
) -> None:
    """A hand-edited or old row with something else than a map of contacts or a list of allowed
    fields: that member is told nothing (a string or a map is no consent: "email" is in
    "no-email", and in {"email": false} as a key) and the run queues everyone else; before, a
    list or a string as `contact` stopped the whole run with AttributeError, and a consent
    string or map sent the e-mail the member had not allowed."""
    broken = world.member(f"ifn-broken-{next(_serial)}")
    fine = world.member(f"ifn-fine-{next(_serial)}")
    broken_post, fine_post = world.post(broken), world.post(fine)
    with world.session() as session:
        session.execute(
            text(f"UPDATE member SET {column} = :v WHERE id = :id"), {"v": stored, "id": broken}
        )
        session.commit()
    apprise = world.settings.model_copy(
        update={
            "notices": world.settings.notices.model_copy(
                update={"apprise_url_secret": "apprise-url"}
            )
        }
    )
    report = world.queue(settings=apprise)
    assert world.notices(broken_post) == []
    assert len([line for line in report.skipped if line.startswith(f"{broken}: ")]) == 2
    assert {row.medium for row in world.notices(fine_post)} == {"email", "apprise"}


# --- two runs at once ------------------------------------------------------------------------


@pytest.mark.postgres
def test_two_runs_at_once_queue_each_notice_once(pg_url: str, tmp_path: Path) -> None:
    """The second run waits on the first's dedupe key, then sees it taken and leaves it
    (PostgreSQL: SQLite lets one writer in at a time, so the second never gets this far)."""
    engine = store.make_engine(pg_url)
    store.upgrade(engine)
    try:
        world = NoticeWorld(engine, settings_for(pg_url, tmp_path), make_card(tmp_path / "c"))
        world.post(world.member("ifn-0001"))
        answers: dict[str, object] = {}

        def second_run() -> None:
            with Session(engine) as other:
                answers["report"] = queue_due(other, world.settings, now=NOW)
                other.commit()

        with Session(engine) as first:
            report = queue_due(first, world.settings, now=NOW)  # flushed, not committed
            thread = threading.Thread(target=second_run)
            thread.start()
            thread.join(1.5)
            assert thread.is_alive()  # waiting on the first run's row
            first.commit()
        thread.join(30)
        assert not thread.is_alive()
        other_report = answers["report"]
        assert isinstance(other_report, QueueReport)
        assert (report.before, other_report.before) == (1, 0)
        assert len(world.notices()) == 1
        with world.session() as session:  # the second run's page link went with its row
            assert len(session.scalars(select(MemberLink)).all()) == 1
    finally:
        engine.dispose()
