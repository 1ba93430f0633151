"""Notices as members read them: the dates in their language and zone, the parts of each kind,
member data escaped in HTML and never template code, and templates staff may change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from ifn_campaign.config import Settings
from ifn_campaign.errors import TemplateError
from ifn_campaign.models import NoticeKind, NoticeMedium
from ifn_campaign.notices.compose import NoticeFacts, NoticeWriter, when
from tests.support.console_review import HOSTILE_CAPTION, HOSTILE_NAME
from tests.support.notice_outbox import SLOT, make_card

JAKARTA = ZoneInfo("Asia/Jakarta")
CID = "card.12@bpipi.id"
PAGE = "https://ifn.example.org/anggota/7.c2lnbmF0dXJl"
STOP = "https://ifn.example.org/anggota/berhenti/aWZu.email.c2ln"


def facts(kind: NoticeKind = NoticeKind.BEFORE, **kw: object) -> NoticeFacts:
    values: dict[str, object] = {
        "kind": kind,
        "business_name": "Sepatu Kulit Cibaduyut",
        "channel": "instagram",
        "slot_at": SLOT,
        "page_url": PAGE,
        "unsubscribe_url": STOP,
        "caption": "Sepatu kulit buatan tangan.",
    }
    values.update(kw)
    return NoticeFacts(**values)  # type: ignore[arg-type]


@pytest.fixture
def writer(tmp_path: Path) -> NoticeWriter:
    return NoticeWriter(Settings(data_dir=tmp_path))


# --- dates -----------------------------------------------------------------------------------


def test_the_indonesian_date_reads_exactly_as_members_say_it() -> None:
    assert when(SLOT, "id", JAKARTA) == "Selasa, 8 Desember 2026 pukul 19.00 WIB"
    assert when(SLOT, "en", JAKARTA) == "Tuesday, 8 December 2026 at 19:00 WIB"


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Makassar", "Selasa, 8 Desember 2026 pukul 20.00 WITA"),
        ("Asia/Jayapura", "Selasa, 8 Desember 2026 pukul 21.00 WIT"),
        ("Europe/Amsterdam", "Selasa, 8 Desember 2026 pukul 13.00 CET"),
    ],
)
def test_other_display_zones_name_their_own_zone(zone: str, expected: str) -> None:
    assert when(SLOT, "id", ZoneInfo(zone)) == expected


def test_every_day_and_month_has_its_indonesian_name() -> None:
    days = {
        when(datetime(2026, 12, d, 3, tzinfo=UTC), "id", JAKARTA).split(",")[0]
        for d in range(7, 14)
    }
    assert days == {"Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"}
    months = [
        when(datetime(2027, m, 1, 3, tzinfo=UTC), "id", JAKARTA).split()[2] for m in range(1, 13)
    ]
    assert months == [
        "Januari", "Februari", "Maret", "April", "Mei", "Juni",
        "Juli", "Agustus", "September", "Oktober", "November", "Desember",
    ]  # fmt: skip


def test_the_writer_shows_times_in_the_display_zone(tmp_path: Path) -> None:
    writer = NoticeWriter(
        Settings(data_dir=tmp_path, planner={"display_timezone": "Asia/Makassar"})
    )
    message = writer.compose(facts(), "id", NoticeMedium.EMAIL, cid=CID)
    assert message.subject.endswith("pada Selasa, 8 Desember 2026 pukul 20.00 WITA")


# --- each kind, both languages ---------------------------------------------------------------


@pytest.mark.parametrize("kind", list(NoticeKind))
@pytest.mark.parametrize("language", ["id", "en"])
def test_every_message_carries_the_page_and_unsubscribe_links(
    writer: NoticeWriter, kind: NoticeKind, language: str
) -> None:
    shown = facts(kind, permalink="https://www.instagram.com/p/X1/", previous_slot_at=SLOT)
    message = writer.compose(shown, language, NoticeMedium.EMAIL, cid=CID)
    assert message.html is not None
    for part in (message.text, message.html):
        assert PAGE in part and STOP in part
    assert f'<html lang="{language}">' in message.html
    assert "\n" not in message.subject and message.subject
    short = writer.compose(shown, language, NoticeMedium.APPRISE, cid=CID)
    assert short.html is None and short.attachments == []
    assert PAGE in short.text and STOP in short.text
    assert len(short.text) < 600


def test_before_in_english_and_indonesian(writer: NoticeWriter) -> None:
    indonesian = writer.compose(facts(), "id", NoticeMedium.EMAIL, cid=CID)
    assert indonesian.subject == (
        "Profil Anda akan ditampilkan di Instagram BPIPI pada Selasa, 8 Desember 2026 pukul "
        "19.00 WIB"
    )
    assert "Yth. Sepatu Kulit Cibaduyut," in indonesian.text
    assert "Sepatu kulit buatan tangan." in indonesian.text
    english = writer.compose(facts(), "en", NoticeMedium.EMAIL, cid=CID)
    assert english.subject == (
        "Your profile will be featured on BPIPI's Instagram on Tuesday, 8 December 2026 at "
        "19:00 WIB"
    )
    assert "Dear Sepatu Kulit Cibaduyut," in english.text
    unknown = writer.compose(facts(), "fr", NoticeMedium.EMAIL, cid=CID)
    assert unknown.subject == indonesian.subject  # Indonesian first


def test_the_card_goes_inline_by_its_content_id(writer: NoticeWriter, tmp_path: Path) -> None:
    card = make_card(tmp_path / "cards")
    message = writer.compose(facts(card=card), "id", NoticeMedium.EMAIL, cid=CID)
    assert message.attachments == [{"path": str(card), "mime": "image/jpeg", "cid": CID}]
    assert message.html is not None and f'src="cid:{CID}"' in message.html
    assert "Kartu yang akan dimuat terlampir." in message.text
    gone = writer.compose(facts(card=tmp_path / "missing.jpg"), "id", NoticeMedium.EMAIL, cid=CID)
    assert gone.attachments == []
    assert gone.html is not None and "cid:" not in gone.html
    assert "terlampir" not in gone.text


@pytest.mark.parametrize(
    ("previous", "caption_changed", "says", "not_says"),
    [
        (
            datetime(2026, 12, 7, 12, tzinfo=UTC),
            False,
            "Jadwal berubah: sebelumnya Senin, 7 Desember 2026 pukul 19.00 WIB, "
            "kini Selasa, 8 Desember 2026 pukul 19.00 WIB.",
            "Keterangan diubah",
        ),
        (SLOT, True, "Keterangan diubah. Keterangan yang baru:", "Jadwal berubah"),
        (datetime(2026, 12, 7, 12, tzinfo=UTC), True, "Keterangan diubah", "Jadwal tetap"),
    ],
)
def test_an_update_says_what_changed(
    writer: NoticeWriter, previous: datetime, caption_changed: bool, says: str, not_says: str
) -> None:
    shown = facts(NoticeKind.UPDATE, previous_slot_at=previous, caption_changed=caption_changed)
    message = writer.compose(shown, "id", NoticeMedium.EMAIL, cid=CID)
    assert says in message.text and not_says not in message.text
    if previous != SLOT:
        assert message.subject == (
            "Perubahan: profil Anda di Instagram BPIPI kini pada Selasa, 8 Desember 2026 pukul "
            "19.00 WIB"
        )
    else:
        assert message.subject == "Perubahan: profil Anda di Instagram BPIPI, keterangan diperbarui"


def test_cancelled_and_after(writer: NoticeWriter) -> None:
    cancelled = writer.compose(facts(NoticeKind.CANCELLED), "en", NoticeMedium.EMAIL, cid=CID)
    assert cancelled.subject == (
        "Cancelled: your profile will not be featured on BPIPI's Instagram on Tuesday, "
        "8 December 2026 at 19:00 WIB"
    )
    after = writer.compose(
        facts(NoticeKind.AFTER, channel="youtube", permalink="https://youtu.be/abc"),
        "id",
        NoticeMedium.EMAIL,
        cid=CID,
    )
    assert after.subject == "Profil Anda sudah tampil di YouTube BPIPI"
    assert "https://youtu.be/abc" in after.text
    assert after.html is not None and '<a href="https://youtu.be/abc">' in after.html


# --- member data is data ---------------------------------------------------------------------


@pytest.mark.parametrize("language", ["id", "en"])
def test_member_data_is_escaped_in_html_and_never_template_code(
    writer: NoticeWriter, language: str
) -> None:
    shown = facts(business_name=HOSTILE_NAME, caption=HOSTILE_CAPTION)
    message = writer.compose(shown, language, NoticeMedium.EMAIL, cid=CID)
    assert message.html is not None
    assert "<script>" not in message.html and "<img src=x" not in message.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in message.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in message.html
    assert "{{ 7*7 }}" in message.text and "49" not in message.text  # shown, not run
    assert "{{ config }}" in message.text
    assert HOSTILE_NAME in message.text and HOSTILE_CAPTION in message.text
    assert HOSTILE_NAME not in message.subject  # the shipped subjects name no member data


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=80), caption=st.text(max_size=200))
def test_any_name_and_caption_go_into_the_html_escaped(
    tmp_path_factory: pytest.TempPathFactory, name: str, caption: str
) -> None:
    """Marked at both ends, each value is found in the HTML exactly as escaped: nothing of it
    became markup, and the subject stays one line."""
    writer = NoticeWriter(Settings(data_dir=tmp_path_factory.getbasetemp()))
    marked_name, marked_caption = f"\u27e6{name}\u27e7", f"\u27e6{caption}\u27e7"
    message = writer.compose(
        facts(business_name=marked_name, caption=marked_caption),
        "id",
        NoticeMedium.EMAIL,
        cid=CID,
    )
    assert message.html is not None
    assert str(escape(marked_name)) in message.html
    assert str(escape(marked_caption)) in message.html
    assert "\r" not in message.subject and "\n" not in message.subject


# --- templates staff change ------------------------------------------------------------------


def _own(tmp_path: Path, name: str, text: str) -> Settings:
    folder = tmp_path / "own" / "notices"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return Settings(data_dir=tmp_path, templates={"dir": tmp_path / "own"})


def test_a_staff_template_replaces_the_shipped_one_file_by_file(tmp_path: Path) -> None:
    settings = _own(
        tmp_path,
        "id/before.txt.j2",
        "{% block subject %}Segera: {{ business_name }}\r\nBcc: x@y.z{% endblock %}"
        "{% block body %}Halo {{ business_name }} {{ when }}{% endblock %}"
        "{% block short %}Singkat{% endblock %}",
    )
    writer = NoticeWriter(settings)
    message = writer.compose(
        facts(business_name="Toko\r\nX-Evil: 1"), "id", NoticeMedium.EMAIL, cid=CID
    )
    # a subject is one header line whatever the template and the data hold
    assert message.subject == "Segera: Toko X-Evil: 1 Bcc: x@y.z"
    assert message.text == "Halo Toko\nX-Evil: 1 Selasa, 8 Desember 2026 pukul 19.00 WIB\n"
    assert message.html is not None and "Profil Anda akan ditampilkan" in message.html  # shipped
    english = writer.compose(facts(), "en", NoticeMedium.EMAIL, cid=CID)
    assert english.subject.startswith("Your profile will be featured")


def test_a_staff_html_without_the_card_leaves_the_text_saying_nothing_is_attached(
    tmp_path: Path,
) -> None:
    """Staff's own before.html.j2 shows no card: the card is not attached, so the plain text
    must not tell the member 'the card ... is attached' either."""
    settings = _own(tmp_path, "en/before.html.j2", "<p>Dear {{ business_name }}</p>")
    card = make_card(tmp_path / "cards")
    message = NoticeWriter(settings).compose(facts(card=card), "en", NoticeMedium.EMAIL, cid=CID)
    assert message.attachments == []
    assert "attached" not in message.text, message.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{% block subject %}{{ x }{% endblock %}", "line 1"),
        ("{% block subject %}{{ nothing_such }}{% endblock %}", "nothing_such"),
        ("{% block subject %}{{ ''.__class__.__mro__ }}{% endblock %}", "__class__"),
        ("{% block body %}x{% endblock %}", "no {% block subject %}"),
        ("{% block subject %}  {% endblock %}", "the subject is empty"),
        # Python errors of staff code: they stopped the whole run, every member's notices
        ("{% block subject %}{{ 1 // 0 }}{% endblock %}", "ZeroDivisionError"),
        ("{% block subject %}{{ business_name|truncate('x') }}{% endblock %}", "TypeError"),
        ("{% block subject %}{{ '%d'|format(caption) }}{% endblock %}", "TypeError"),
    ],
)
def test_a_broken_staff_template_is_an_error_naming_its_file(
    tmp_path: Path, text: str, message: str
) -> None:
    writer = NoticeWriter(_own(tmp_path, "id/before.txt.j2", text))
    with pytest.raises(TemplateError, match=r"before\.txt\.j2") as caught:
        writer.compose(facts(), "id", NoticeMedium.EMAIL, cid=CID)
    assert message in str(caught.value)


def test_a_staff_template_not_in_utf8_is_an_error_naming_it(tmp_path: Path) -> None:
    """A staff file saved in another encoding: a TemplateError naming it (the outbox holds only
    its notices), not UnicodeDecodeError out of the whole run."""
    settings = _own(tmp_path, "id/before.txt.j2", "")
    path = tmp_path / "own" / "notices" / "id" / "before.txt.j2"
    path.write_bytes(b"{% block subject %}Profil \xe9{% endblock %}")  # Latin-1
    with pytest.raises(TemplateError, match=r"before\.txt\.j2.*cannot be read"):
        NoticeWriter(settings).compose(facts(), "id", NoticeMedium.EMAIL, cid=CID)


def test_the_shipped_templates_render_every_kind_for_every_medium(writer: NoticeWriter) -> None:
    for kind in NoticeKind:
        for language in ("id", "en"):
            for medium in NoticeMedium:
                shown = replace(facts(kind), previous_slot_at=SLOT, permalink="https://x.id/p")
                assert writer.compose(shown, language, medium, cid=CID).text.strip()
