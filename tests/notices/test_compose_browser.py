"""Notice e-mails as a member's phone shows them: every kind in both languages rendered in
Debian's chromium at 390x844 with the card inline (its cid: swapped for the file's bytes, as a
mail app does), checked for sideways scrolling (a Facebook permalink is one long word), broken
images and contrast. And the HTML does not lean on what mail apps drop: no <style> (Gmail and
others strip it), no card attached that the HTML does not show (listed as a stray attachment)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ifn_campaign.config import Settings
from ifn_campaign.insights.figures import Figures
from ifn_campaign.models import NoticeKind, NoticeMedium
from ifn_campaign.notices.compose import Message, NoticeFacts, NoticeWriter
from tests.support.browser import chromium
from tests.support.notice_outbox import SLOT, make_card
from tests.support.page_checks import broken_images, contrast_rows, low_contrast, sideways

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CID = "card.12@bpipi.id"
PAGE = "https://ifn.example.org/anggota/7.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
STOP = "https://ifn.example.org/anggota/berhenti/aWZuLTAwMTI.email.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
# as the Graph API gives them: one word wider than a phone
PERMALINK = "https://www.facebook.com/100000000000001/posts/200000000000000003"
CAPTION = (
    "Sorotan Anggota IFN: Sepatu Kulit Cibaduyut\n\nSepatu kulit buatan tangan.\n\n"
    "Belanja: https://www.tokopedia.com/sepatukulitcibaduyutofficialstore/sepatu-pantofel-pria\n"
    "#SorotanAnggotaIFN #IndonesiaFootwearNetwork #IndonesiaMelangkah #BanggaBuatanIndonesia"
)
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"


def compose(tmp_path: Path, kind: NoticeKind, language: str) -> Message:
    facts = NoticeFacts(
        kind=kind,
        business_name="CV Sepatu Kulit Cibaduyut Sejahtera Abadi Makmur",
        channel="facebook",
        slot_at=SLOT,
        page_url=PAGE,
        unsubscribe_url=STOP,
        caption=CAPTION,
        caption_changed=True,
        previous_slot_at=SLOT.replace(day=7),
        permalink=PERMALINK,
        card=make_card(tmp_path / "cards"),
        account="bpipi",
        # a receipt's figures as a Facebook reading gives them (the longest a receipt shows)
        figures=Figures(
            12, "7d", SLOT, 1234567, {"reactions": 45678, "comments": 1234, "shares": 56}
        ),
    )
    return NoticeWriter(Settings(data_dir=tmp_path)).compose(
        facts, language, NoticeMedium.EMAIL, cid=CID
    )


@pytest.mark.parametrize("kind", list(NoticeKind))
@pytest.mark.parametrize("language", ["id", "en"])
def test_the_html_needs_no_style_sheet_and_sends_only_the_card_it_shows(
    tmp_path: Path, kind: NoticeKind, language: str
) -> None:
    message = compose(tmp_path, kind, language)
    assert message.html is not None
    assert "<style" not in message.html.lower() and "class=" not in message.html
    shown = f'src="cid:{CID}"' in message.html
    assert bool(message.attachments) is shown, (kind, message.attachments)
    if kind in (NoticeKind.BEFORE, NoticeKind.UPDATE):
        assert shown  # the member sees the card before it goes out


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_cancellation_promises_no_next_turn(tmp_path: Path, language: str) -> None:
    """A withdrawn member gets the cancellations of what they were told of: the message must
    not tell someone who just said "don't show me" that their next turn comes as usual."""
    message = compose(tmp_path, NoticeKind.CANCELLED, language)
    assert message.html is not None
    for part in (message.text, message.html):
        assert "seperti biasa" not in part and "as usual" not in part
        assert ("masih ikut program promosi" if language == "id" else "in the promotion") in part


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(NoticeKind))
@pytest.mark.parametrize("language", ["id", "en"])
def test_every_notice_fits_a_phone(
    browser: Browser, tmp_path: Path, kind: NoticeKind, language: str
) -> None:
    message = compose(tmp_path, kind, language)
    assert message.html is not None
    html = message.html
    for attachment in message.attachments:
        data = base64.b64encode(Path(attachment["path"]).read_bytes()).decode()
        html = html.replace(f"cid:{attachment['cid']}", f"data:{attachment['mime']};base64,{data}")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.set_content(html)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(OUTPUT / f"notice-{kind.value}-{language}-390.png"), full_page=True
        )
        assert sideways(page) == 0
        assert broken_images(page) == []
        assert low_contrast(contrast_rows(page)) == ""
    finally:
        page.close()
