"""Receipts: `notices.receipt_days` after a feature went live its member hears where it went
out, its link and how far it reached; queued by the outbox, sent by the sender over the mail
sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings
from ifn_campaign.insights.figures import REACH_METRIC, Figures
from ifn_campaign.members.withdrawal import MEMBER_PAGE, withdraw
from ifn_campaign.models import (
    Member,
    MemberPreference,
    Notice,
    NoticeContact,
    NoticeKind,
    NoticeMedium,
    NoticeState,
    Post,
    ReadingState,
)
from ifn_campaign.notices.compose import NoticeFacts, NoticeWriter
from ifn_campaign.notices.delivery import send_due
from ifn_campaign.notices.receipts import RECEIPT_GRACE, RECEIPT_WINDOW
from ifn_sandbox.mail import MailSandbox
from tests.support.insights import add_reading
from tests.support.notice_outbox import NoticeWorld, make_card, settings_for
from tests.support.notices_delivery import PASSWORD, USER, notice_settings, secrets

PUB = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # Minggu, 29 November 2026 19.00 WIB
DUE = PUB + timedelta(days=7)  # Minggu, 6 Desember 2026 19.00 WIB
LINK = "https://www.instagram.com/p/RCPT123/"
FULL = {"reach": 12345, "likes": 321, "comments": 12}


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> NoticeWorld:
    return NoticeWorld(engine, settings_for(db_url, tmp_path), make_card(tmp_path / "cards"))


def _feature(
    world: NoticeWorld,
    member_id: str = "ifn-0001",
    *,
    channel: str = "instagram",
    link: str | None = LINK,
    at: datetime = PUB,
    **member: Any,
) -> int:
    """A member's post, published at `at` with its link; its `after` notice queued and sent
    (as the notices run an hour later leaves it), so only the receipt is left to come."""
    world.member(member_id, **member)
    post_id = world.post(member_id, slot_at=at, channel=channel)
    world.publish(post_id, link, at=at)
    world.queue(at + timedelta(hours=1))
    for notice in world.notices(post_id):
        world.mark(notice.id or 0)
    return post_id


def _read(
    world: NoticeWorld,
    post_id: int,
    mark: str,
    figures: dict[str, int] | None,
    *,
    read_at: datetime | None = None,
    state: str = ReadingState.READ,
) -> None:
    with world.session() as session:
        metrics = dict(figures or {})
        reach = next((metrics[name] for name in REACH_METRIC.values() if name in metrics), None)
        add_reading(session, post_id, mark, reach, metrics, read_at, state=state)
        session.commit()


def _receipts(world: NoticeWorld, post_id: int | None = None) -> list[Notice]:
    return [n for n in world.notices(post_id) if n.kind == NoticeKind.RECEIPT]


def _gone(world: NoticeWorld, post_id: int, at: datetime) -> None:
    world.change(post_id, remote_gone_at=at)


# --- when it is due -------------------------------------------------------------------------


def test_the_receipt_is_due_seven_days_after_the_feature_with_its_7_day_figures(
    world: NoticeWorld,
) -> None:
    post_id = _feature(world)
    _read(world, post_id, "1d", {"reach": 900, "likes": 40, "comments": 1})
    _read(world, post_id, "7d", FULL)
    assert world.queue(DUE - timedelta(minutes=1)).receipt == 0
    report = world.queue(DUE)
    assert (report.receipt, report.queued, report.skipped) == (1, 1, [])
    [receipt] = _receipts(world)
    assert receipt.dedupe_key == f"receipt:post:{post_id}:email"
    assert (receipt.medium, receipt.state, receipt.language) == ("email", "pending", "id")
    assert receipt.subject == "Hasil penampilan Anda di Instagram BPIPI: menjangkau 12.345 orang"
    text = receipt.text_body
    assert "tampil di Instagram BPIPI (akun bpipi-instagram) pada Minggu, 29 November 2026" in text
    assert "Orang yang dijangkau: 12.345 orang" in text
    assert "Suka: 321" in text and "Komentar: 12" in text
    assert "Angka dibaca Minggu, 6 Desember 2026 pukul 19.00 WIB." in text
    assert "sementara" not in text and "belum tersedia" not in text
    assert LINK in text and "https://ifn.example.org/anggota/" in text
    assert "https://ifn.example.org/anggota/berhenti/" in text
    html = receipt.html_body or ""
    assert f'href="{LINK}"' in html and "12.345 orang" in html and "cid:" not in html
    # nothing attached: the receipt shows no card, and says of none
    assert receipt.attachments == []
    assert "lampir" not in text and "lampir" not in html


def test_a_receipt_waits_for_the_7_day_reading_and_goes_once_it_is_read(
    world: NoticeWorld,
) -> None:
    post_id = _feature(world)
    _read(world, post_id, "1d", {"reach": 900})
    for at in (DUE, DUE + timedelta(days=1), DUE + RECEIPT_GRACE - timedelta(minutes=1)):
        assert world.queue(at).receipt == 0, at
    late = DUE + timedelta(days=1, hours=3)
    _read(world, post_id, "7d", FULL, read_at=late)
    assert world.queue(late).receipt == 1
    [receipt] = _receipts(world)
    assert "12.345 orang" in receipt.text_body and "sementara" not in receipt.text_body


def test_after_the_grace_it_goes_with_the_latest_figures_said_to_be_partial(
    world: NoticeWorld,
) -> None:
    post_id = _feature(world)
    _read(world, post_id, "1d", {"reach": 900, "likes": 40, "comments": 1})
    _read(world, post_id, "7d", None, state=ReadingState.RETRY)  # the platform had no data yet
    assert world.queue(DUE + RECEIPT_GRACE - timedelta(minutes=1)).receipt == 0
    assert world.queue(DUE + RECEIPT_GRACE).receipt == 1
    [receipt] = _receipts(world)
    assert "Orang yang dijangkau: 900 orang" in receipt.text_body
    assert (
        "Angka sementara, dibaca Senin, 30 November 2026 pukul 19.00 WIB: angka 7 hari sesudah "
        "tayang belum tersedia." in receipt.text_body
    )
    assert "Angka sementara" in (receipt.html_body or "")
    # figures read later send nothing more
    _read(world, post_id, "28d", {"reach": 5000})
    assert world.queue(DUE + timedelta(days=3)).receipt == 0
    assert len(_receipts(world, post_id)) == 1


def test_with_no_figures_at_all_it_says_they_are_not_available_yet(world: NoticeWorld) -> None:
    post_id = _feature(world)
    apprise = world.settings.model_copy(
        update={
            "notices": world.settings.notices.model_copy(
                update={"apprise_url_secret": "apprise-url"}
            )
        }
    )
    assert world.queue(DUE + RECEIPT_GRACE, settings=apprise).receipt == 2
    [short] = [n for n in _receipts(world, post_id) if n.medium == NoticeMedium.APPRISE]
    assert "WIB): angkanya belum tersedia." in short.text_body
    [receipt] = [n for n in _receipts(world, post_id) if n.medium == NoticeMedium.EMAIL]
    assert receipt.subject == "Hasil penampilan Anda di Instagram BPIPI"
    assert "Orang yang dijangkau: belum tersedia" in receipt.text_body
    assert "Instagram belum memberikan angkanya." in receipt.text_body
    assert "Suka" not in receipt.text_body and "Angka dibaca" not in receipt.text_body
    assert "belum tersedia" in (receipt.html_body or "")


def test_no_wait_when_no_reading_mark_reaches_the_receipt(
    world: NoticeWorld, db_url: str, tmp_path: Path
) -> None:
    """With readings at 1h, 1d and 28d only, a 7-day reading never comes: the receipt goes
    when due, with the 1-day figures said to be partial."""
    post_id = _feature(world)
    _read(world, post_id, "1d", {"reach": 900})
    marks = settings_for(db_url, tmp_path, insights={"read_after": ["1h", "1d", "28d"]})
    assert world.queue(DUE, settings=marks).receipt == 1
    [receipt] = _receipts(world, post_id)
    assert "900 orang" in receipt.text_body and "Angka sementara" in receipt.text_body


def test_a_receipt_days_setting_moves_the_due_time(
    world: NoticeWorld, db_url: str, tmp_path: Path
) -> None:
    post_id = _feature(world)
    _read(world, post_id, "1d", {"reach": 900})
    one_day = settings_for(db_url, tmp_path, notices={"receipt_days": 1})
    assert world.queue(PUB + timedelta(hours=23), settings=one_day).receipt == 0
    assert world.queue(PUB + timedelta(days=1), settings=one_day).receipt == 1
    [receipt] = _receipts(world, post_id)
    assert "Angka dibaca Senin, 30 November 2026" in receipt.text_body


def test_an_after_notice_never_queued_gives_way_to_the_receipt(world: NoticeWorld) -> None:
    """Notices switched on a week after a feature: the member gets the receipt, which carries
    the link, not an after notice and a receipt a quarter of an hour apart."""
    world.member("ifn-0001")
    post_id = world.post("ifn-0001", slot_at=PUB)
    world.publish(post_id, LINK, at=PUB)
    _read(world, post_id, "7d", FULL)
    report = world.queue(DUE)
    assert (report.after, report.receipt) == (0, 1)
    assert world.queue(DUE + timedelta(minutes=15)).queued == 0
    [receipt] = world.notices(post_id)
    assert receipt.kind == NoticeKind.RECEIPT and LINK in receipt.text_body


# --- gone, taken down, old, switched off ---------------------------------------------------


def test_a_post_gone_from_the_platform_gets_a_receipt_without_links_saying_so(
    world: NoticeWorld,
) -> None:
    post_id = _feature(world)
    _read(world, post_id, "1d", {"reach": 900})
    _read(world, post_id, "7d", None, state=ReadingState.GONE)
    _gone(world, post_id, PUB + timedelta(days=3))
    assert world.queue(DUE).receipt == 1  # no waiting: it will not be read again
    [receipt] = _receipts(world, post_id)
    text, html = receipt.text_body, receipt.html_body or ""
    assert LINK not in text and LINK not in html and "instagram.com" not in text + html
    assert "Pos ini sudah tidak ada lagi di Instagram" in text
    assert "sudah tidak ada lagi di Instagram" in html
    # its last figures, said to be the last (not "not available yet": they never will be)
    assert "900 orang" in text and "Angka sementara" not in text
    assert "Angka terakhir, dibaca Senin, 30 November 2026 pukul 19.00 WIB sebelum posnya " in text


def test_no_receipt_for_a_post_taken_down(world: NoticeWorld) -> None:
    asked = _feature(world, "ifn-0001")
    done = _feature(world, "ifn-0002")
    _read(world, asked, "7d", FULL)
    _read(world, done, "7d", FULL)
    world.change(asked, takedown_requested_at=PUB + timedelta(days=2))
    world.change(done, takedown_requested_at=PUB + timedelta(days=2), taken_down_at=DUE)
    assert world.queue(DUE + RECEIPT_GRACE).receipt == 0
    assert _receipts(world) == []


def test_old_features_get_no_receipt_and_the_window_s_edge_does(world: NoticeWorld) -> None:
    """Receipts due more than RECEIPT_WINDOW ago (notices switched on late, an upgrade) are
    not sent; one due exactly that long ago still is."""
    edge = _feature(world, "ifn-0001")
    older = _feature(world, "ifn-0002", at=PUB - timedelta(minutes=1))
    now = DUE + RECEIPT_WINDOW
    assert world.queue(now).receipt == 1
    assert [n.post_id for n in _receipts(world)] == [edge]
    assert _receipts(world, older) == []


def test_no_receipt_while_insights_are_switched_off(
    world: NoticeWorld, db_url: str, tmp_path: Path
) -> None:
    post_id = _feature(world)
    _read(world, post_id, "7d", FULL)
    off = settings_for(db_url, tmp_path, insights={"enabled": False})
    assert world.queue(DUE + RECEIPT_GRACE, settings=off).receipt == 0
    assert world.queue(DUE + RECEIPT_GRACE).receipt == 1


def test_a_hand_edited_mark_or_link_is_no_crash(world: NoticeWorld) -> None:
    """A reading whose mark is no mark counts as not the 7-day one (the receipt waits, then goes
    as partial); a link that is not http(s) is not printed."""
    post_id = _feature(world, link="javascript:alert(1)")
    _read(world, post_id, "1d", {"reach": 900})
    with world.session() as session:
        add_reading(session, post_id, "2d", 5000, {"reach": 5000}).mark = "zz"
        session.commit()
    assert world.queue(DUE).receipt == 0
    assert world.queue(DUE + RECEIPT_GRACE).receipt == 1
    [receipt] = _receipts(world, post_id)
    assert "javascript" not in receipt.text_body and "javascript" not in (receipt.html_body or "")
    assert "Angka sementara" in receipt.text_body


# --- who gets one ---------------------------------------------------------------------------


def test_withdrawn_and_unsubscribed_members_get_no_receipt(world: NoticeWorld) -> None:
    withdrawn = _feature(world, "ifn-0001")
    unsubscribed = _feature(world, "ifn-0002")
    no_email = _feature(world, "ifn-0003")
    told = _feature(world, "ifn-0004")
    for post_id in (withdrawn, unsubscribed, no_email, told):
        _read(world, post_id, "7d", FULL)
    with world.session() as session:
        withdraw(session, "ifn-0001", source=MEMBER_PAGE, answer_id=None, now=DUE)
        session.add(NoticeContact(member_id="ifn-0002", medium="email", unsubscribed_at=DUE))
        member = session.get(Member, "ifn-0003")
        assert member is not None
        member.consent_fields_allowed = ["owner_name"]
        session.commit()
    report = world.queue(DUE)
    assert [n.post_id for n in _receipts(world)] == [told]
    assert report.receipt == 1
    assert "ifn-0002: unsubscribed from e-mail" in report.skipped
    assert "ifn-0003: no e-mail allowed" in report.skipped


def test_queued_twice_or_again_later_it_is_one_receipt(world: NoticeWorld) -> None:
    post_id = _feature(world)
    _read(world, post_id, "7d", FULL)
    assert world.queue(DUE).receipt == 1
    assert world.queue(DUE).receipt == 0
    [receipt] = _receipts(world)
    world.mark(receipt.id or 0)
    _read(world, post_id, "28d", {"reach": 20000})
    assert world.queue(DUE + timedelta(days=1)).receipt == 0
    assert len(_receipts(world, post_id)) == 1


# --- languages and channels -----------------------------------------------------------------


def _english(world: NoticeWorld, member_id: str) -> None:
    with world.session() as session:
        session.add(MemberPreference(member_id=member_id, language="en", updated_at=PUB))
        session.commit()


def test_english_receipts_say_numbers_the_english_way(world: NoticeWorld) -> None:
    many = _feature(world, "ifn-en")
    one = _feature(world, "ifn-one")
    _english(world, "ifn-en")
    _english(world, "ifn-one")
    _read(world, many, "7d", {"reach": 1234567, "likes": 4321, "comments": 12})
    _read(world, one, "7d", {"reach": 1})
    assert world.queue(DUE).receipt == 2
    many_receipt, one_receipt = _receipts(world)
    assert many_receipt.language == "en"
    assert many_receipt.subject == "Your feature on BPIPI's Instagram: 1,234,567 people reached"
    text = many_receipt.text_body
    assert "featured on BPIPI's Instagram (account bpipi-instagram) on Sunday, 29 November" in text
    assert "People reached: 1,234,567" in text and "Likes: 4,321" in text
    assert "Figures read on Sunday, 6 December 2026 at 19:00 WIB." in text
    assert "1.234.567" not in text
    assert one_receipt.subject == "Your feature on BPIPI's Instagram: 1 person reached"


def test_youtube_counts_views_and_facebook_reactions(world: NoticeWorld) -> None:
    video = _feature(world, "ifn-0001", channel="youtube", link="https://youtu.be/abc")
    page = _feature(world, "ifn-0002", channel="facebook", link="https://facebook.com/1_2")
    _read(world, video, "7d", {"views": 45678, "likes": 900, "comments": 31})
    _read(world, page, "7d", {"post_total_media_view_unique": 2500, "reactions": 75})
    assert world.queue(DUE).receipt == 2
    by_post = {n.post_id: n for n in _receipts(world)}
    youtube, facebook = by_post[video], by_post[page]
    assert youtube.subject == "Hasil penampilan Anda di YouTube BPIPI: ditonton 45.678 kali"
    assert "Ditonton: 45.678 kali" in youtube.text_body and "Suka: 900" in youtube.text_body
    assert "orang" not in youtube.subject
    assert "Orang yang dijangkau: 2.500 orang" in facebook.text_body
    assert "Reaksi: 75" in facebook.text_body and "Suka" not in facebook.text_body
    assert "Komentar" not in facebook.text_body  # the reading had no comments figure


def test_whatsapp_gets_a_short_receipt_with_the_figures(world: NoticeWorld) -> None:
    post_id = _feature(world)
    _read(world, post_id, "7d", FULL)
    apprise = world.settings.model_copy(
        update={
            "notices": world.settings.notices.model_copy(
                update={"apprise_url_secret": "apprise-url"}
            )
        }
    )
    assert world.queue(DUE, settings=apprise).receipt == 2
    [message] = [n for n in _receipts(world) if n.medium == NoticeMedium.APPRISE]
    assert message.html_body is None and message.attachments == []
    assert message.text_body.startswith(
        "Hasil penampilan Sepatu ifn-0001 di Instagram BPIPI (Minggu, 29 November 2026 pukul "
        "19.00 WIB): menjangkau 12.345 orang, 321 suka, 12 komentar."
    )
    assert LINK in message.text_body and "Berhenti menerima" in message.text_body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reach=st.integers(min_value=0, max_value=10**10),
    likes=st.integers(min_value=0, max_value=10**7),
)
def test_numbers_read_the_members_way_in_each_language(reach: int, likes: int) -> None:
    """Whatever the figures, Indonesian groups thousands with dots and English with commas,
    and the number read back is the number stored."""
    writer = NoticeWriter(Settings(member_page={"base_url": "https://ifn.example.org"}))
    facts = NoticeFacts(
        kind=NoticeKind.RECEIPT,
        business_name="Sepatu <b>Kulit</b> {{ 7*7 }}",
        channel=Channel.INSTAGRAM,
        slot_at=PUB,
        page_url="https://ifn.example.org/anggota/1.x",
        unsubscribe_url="https://ifn.example.org/anggota/berhenti/x",
        permalink=LINK,
        account="bpipi",
        figures=Figures(1, "7d", DUE, reach, {"reach": reach, "likes": likes}),
    )
    for language, sep in (("id", "."), ("en", ",")):
        message = writer.compose(facts, language, NoticeMedium.EMAIL, cid="c@x")
        label = "Orang yang dijangkau: " if language == "id" else "People reached: "
        line = next(ln for ln in message.text.splitlines() if ln.startswith(label))
        shown = line.removeprefix(label).removesuffix(" orang")
        assert shown.replace(sep, "") == str(reach)
        assert all(len(group) == 3 for group in shown.split(sep)[1:])
        assert "{{ 7*7 }}" in message.text and "<b>" not in (message.html or "")


# --- sending: the send-time checks hold for receipts -----------------------------------------


@pytest.fixture
def mailed(db_url: str, tmp_path: Path) -> Iterator[tuple[NoticeWorld, MailSandbox]]:
    engine = store.make_engine(db_url)
    store.upgrade(engine)
    with MailSandbox(tmp_path / "maildir", user=USER, password=PASSWORD) as mail:
        settings = notice_settings(db_url, tmp_path, mail)
        yield NoticeWorld(engine, settings, make_card(tmp_path / "cards")), mail
    engine.dispose()


def _send(world: NoticeWorld, now: datetime) -> None:
    with world.session() as session:
        send_due(session, world.settings, secrets=secrets(), now=now, worker="w1")


def _receipt_mail(mail: MailSandbox) -> list[EmailMessage]:
    return [m for m in mail.messages() if str(m["Subject"]).startswith("Hasil penampilan")]


def test_a_receipt_goes_out_as_text_and_html_with_nothing_attached(
    mailed: tuple[NoticeWorld, MailSandbox],
) -> None:
    world, mail = mailed
    post_id = _feature(world)
    _read(world, post_id, "7d", FULL)
    world.queue(DUE)
    _send(world, DUE)
    [message] = _receipt_mail(mail)
    assert message["To"] == "ifn-0001@sepatu.co.id"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert list(message.iter_attachments()) == []
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert "12.345 orang" in plain.get_content() and "12.345 orang" in html.get_content()
    [receipt] = _receipts(world, post_id)
    assert receipt.state == NoticeState.SENT


def _withdraw(session: Session, member_id: str, post_id: int) -> None:
    withdraw(session, member_id, source=MEMBER_PAGE, answer_id=None, now=DUE)


def _unsubscribe(session: Session, member_id: str, post_id: int) -> None:
    session.add(NoticeContact(member_id=member_id, medium="email", unsubscribed_at=DUE))


def _no_email(session: Session, member_id: str, post_id: int) -> None:
    member = session.get(Member, member_id)
    assert member is not None
    member.consent_fields_allowed = ["whatsapp"]


def _take_down(session: Session, member_id: str, post_id: int) -> None:
    post = session.get(Post, post_id)
    assert post is not None
    post.takedown_requested_at = DUE


CHANGES = {
    "page withdrawal": _withdraw,
    "unsubscribed": _unsubscribe,
    "no e-mail allowed": _no_email,
    "takedown requested": _take_down,
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_change_between_queue_and_send_stops_the_receipt(
    mailed: tuple[NoticeWorld, MailSandbox], name: str
) -> None:
    world, mail = mailed
    kept = _feature(world, "ifn-0001")
    stopped = _feature(world, "ifn-0002")
    for post_id in (kept, stopped):
        _read(world, post_id, "7d", FULL)
    assert world.queue(DUE).receipt == 2
    with world.session() as session:
        CHANGES[name](session, "ifn-0002", stopped)
        session.commit()
    _send(world, DUE + timedelta(minutes=1))
    assert [m["To"] for m in _receipt_mail(mail)] == ["ifn-0001@sepatu.co.id"], name
    [dropped] = _receipts(world, stopped)
    assert dropped.state == NoticeState.DROPPED and dropped.last_error
    [sent] = _receipts(world, kept)
    assert sent.state == NoticeState.SENT
    # and the next run does not make it again
    assert world.queue(DUE + timedelta(hours=1)).receipt == 0


def test_english_says_one_like_one_comment_one_reaction(world: NoticeWorld) -> None:
    """The English short message counts in words that agree with the number: '1 like', not
    '1 likes' (as the subject already says '1 person')."""
    photo = _feature(world, "ifn-en")
    page = _feature(world, "ifn-fb", channel="facebook", link="https://facebook.com/1_2")
    _english(world, "ifn-en")
    _english(world, "ifn-fb")
    _read(world, photo, "7d", {"reach": 1, "likes": 1, "comments": 1})
    _read(world, page, "7d", {"post_total_media_view_unique": 2, "reactions": 1, "comments": 2})
    apprise = world.settings.model_copy(
        update={
            "notices": world.settings.notices.model_copy(
                update={"apprise_url_secret": "apprise-url"}
            )
        }
    )
    assert world.queue(DUE, settings=apprise).receipt == 4
    short = {n.post_id: n.text_body for n in _receipts(world) if n.medium == NoticeMedium.APPRISE}
    assert "1 person reached, 1 like, 1 comment." in short[photo], short[photo]
    assert "2 people reached, 1 reaction, 2 comments." in short[page], short[page]


def test_a_post_gone_before_any_reading_says_no_figures_came_not_that_they_will(
    world: NoticeWorld,
) -> None:
    """Deleted on the platform before its first reading: its figures will never come, so the
    receipt does not promise them ('belum tersedia', 'not available yet') in any part."""
    post_id = _feature(world)
    english = _feature(world, "ifn-en")
    _english(world, "ifn-en")
    for gone in (post_id, english):
        _read(world, gone, "1h", None, state=ReadingState.GONE)
        _gone(world, gone, PUB + timedelta(hours=1))
    apprise = world.settings.model_copy(
        update={
            "notices": world.settings.notices.model_copy(
                update={"apprise_url_secret": "apprise-url"}
            )
        }
    )
    assert world.queue(DUE, settings=apprise).receipt == 4
    for notice in _receipts(world):
        parts = f"{notice.subject}\n{notice.text_body}\n{notice.html_body or ''}"
        for promise in ("belum tersedia", "belum memberikan", "not available yet", "yet"):
            assert promise not in parts, (notice.language, notice.medium, parts)
    [text] = [n.text_body for n in _receipts(world, post_id) if n.medium == NoticeMedium.EMAIL]
    assert "Instagram tidak memberikan angka sebelum posnya dihapus." in text
    [short] = [n.text_body for n in _receipts(world, english) if n.medium == NoticeMedium.APPRISE]
    assert "no figures" in short and "no longer on Instagram" in short


@pytest.mark.parametrize("kind", ["receipt", "after"])
def test_a_medium_held_back_by_a_broken_template_gets_its_notice_once_it_is_mended(
    world: NoticeWorld, db_url: str, tmp_path: Path, kind: str
) -> None:
    """Staff's HTML template of a kind is broken: the e-mail waits (the report names the file)
    while the WhatsApp message, which has no HTML, goes. Once the file is mended the e-mail is
    queued too: one notice per feature and medium, not one per feature."""
    own = tmp_path / "own"
    (own / "notices" / "id").mkdir(parents=True)
    (own / "notices" / "id" / f"{kind}.html.j2").write_text("{{ x }", encoding="utf-8")
    both = {"apprise_url_secret": "apprise-url"}
    broken = settings_for(db_url, tmp_path, notices=both, templates={"dir": own})
    mended = settings_for(db_url, tmp_path, notices=both)
    world.member("ifn-0001")
    post_id = world.post("ifn-0001", slot_at=PUB)
    world.publish(post_id, LINK, at=PUB)
    now = PUB + timedelta(hours=1)
    if kind == "receipt":
        _read(world, post_id, "7d", FULL)
        now = DUE
    first = world.queue(now, settings=broken)
    assert any(f"{kind}.html.j2" in why for why in first.skipped), first.skipped
    media = lambda: sorted(n.medium for n in world.notices(post_id) if n.kind == kind)  # noqa: E731
    assert media() == ["apprise"]
    assert getattr(world.queue(now + timedelta(minutes=15), settings=mended), kind) == 1
    assert media() == ["apprise", "email"]
    assert world.queue(now + timedelta(minutes=30), settings=mended).queued == 0
