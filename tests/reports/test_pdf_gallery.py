"""The PDF of a month with more posts than `report.pdf_cards`: its gallery shows the
best-reaching posts per channel and says, in the page's language, how many it leaves to the
HTML page, which keeps every card; its cards go in at print size, not as drawn. Read back with
Debian's poppler-utils (pdftotext, pdfimages, pdftoppm); the gallery page's PNG lands in
tests/output/report/ (git-ignored), to be looked at."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.cli.app import main
from ifn_campaign.models import PostState
from ifn_campaign.reports.gallery import print_gallery
from ifn_campaign.reports.page import PostLine, collect, print_html, write_html
from ifn_campaign.reports.pdf import PDF_NAMES, PRINT_DPI
from ifn_campaign.reports.words import PAGE_NAMES, labels
from tests.support.insights import add_reading
from tests.support.ledger import add_member, add_post
from tests.support.report_month import point_cli

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "report"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "cards"
JAKARTA = ZoneInfo("Asia/Jakarta")
MONTH = "2026-11"
START = datetime(2026, 11, 2, 12, tzinfo=JAKARTA).astimezone(UTC)
AS_OF = datetime(2026, 12, 6, 3, tzinfo=UTC)
CAP = 12
# posts per channel; YouTube has fewer than its share of the cap, so the others take it
CHANNELS = {"instagram": 20, "facebook": 14, "youtube": 2}


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `apt-get install -y poppler-utils`")
    return found


def _card(golden: str, size: tuple[int, int], target: Path) -> str:
    """A card as the renderer writes it: a JPEG at the format's full size (the golden card,
    drawn at half size, scaled up)."""
    with Image.open(GOLDEN / golden) as image:
        image.convert("RGB").resize(size).save(target, "JPEG", quality=90)
    return str(target)


@dataclass(frozen=True)
class BigMonth:
    """Post ids per channel with their reach (None: not read yet)."""

    reach: dict[str, dict[int, int | None]]


def _big_month(session: Session, cards: Path) -> BigMonth:
    """36 published posts in November 2026 with full-size cards and readings: reach spread so
    each channel's best posts are known, two posts not read yet and two with the same reach
    (the earlier slot ranks first)."""
    cards.mkdir(parents=True, exist_ok=True)
    files = {
        "instagram": _card("sorotan-ig_portrait.png", (1080, 1350), cards / "ig.jpg"),
        "facebook": _card("sorotan-fb_feed.png", (1200, 630), cards / "fb.jpg"),
        "youtube": _card("sorotan-shorts_frame.png", (1080, 1920), cards / "yt.jpg"),
    }
    reach: dict[str, dict[int, int | None]] = {c: {} for c in CHANNELS}
    n = 0
    for channel, count in CHANNELS.items():
        for i in range(count):
            member = f"m-{channel[:2]}{i:02d}"
            add_member(session, member, business_name=f"Sepatu {channel} {i:02d}")
            slot = START + timedelta(hours=17 * n)
            # each post its own card file, as composed posts have
            card = cards / f"post-{n:03d}.jpg"
            shutil.copyfile(files[channel], card)
            post_id = add_post(
                session,
                member,
                PostState.PUBLISHED,
                channel,
                slot_at=slot,
                featured_at=slot,
                published_at=slot,
                permalink=f"https://example.invalid/{channel}/{i}",
                card_path=str(card),
            )
            value: int | None = None if i in (3, 7) else 100 + (i * 37) % 23 * 50
            if channel == "instagram" and i == 12:
                value = 100 + (2 * 37) % 23 * 50  # the same reach as post 2, a later slot
            if value is not None:
                add_reading(session, post_id, "7d", value)
            reach[channel][post_id] = value
            n += 1
    session.commit()
    return BigMonth(reach)


def _expected(month: BigMonth) -> dict[str, list[int]]:
    """Round-robin over the channels in the report's order (most posts first), each channel's
    read posts by reach (ties: earlier slot, i.e. lower id here), unread ones after them."""
    ranked = {
        c: sorted(r, key=lambda p: (r[p] is None, -(r[p] or 0), p)) for c, r in month.reach.items()
    }
    taken = dict.fromkeys(ranked, 0)
    left = CAP
    while left:
        for channel in ranked:
            if left and taken[channel] < len(ranked[channel]):
                taken[channel] += 1
                left -= 1
    return {c: ranked[c][: taken[c]] for c in ranked}


def _gallery_ids(text: str) -> list[int]:
    """The post ids of the gallery's cards, in print order: each card says 'N · sorotan'."""
    return [int(m) for m in re.findall(r"\b(\d+) · sorotan\b", text)]


def _text(pdf: Path) -> str:
    return subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_big_months_pdf_shows_each_channels_best_reaching_cards_and_says_what_it_left_out(
    sqlite_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    lang: str,
) -> None:
    with Session(sqlite_engine) as session:
        month = _big_month(session, tmp_path / "cards")
    folder = point_cli(sqlite_engine, monkeypatch, tmp_path)
    monkeypatch.setenv("IFN_REPORT__PDF_CARDS", str(CAP))
    assert main(["report", "--month", MONTH, "--pdf", "--lang", lang]) == 0
    out, err = capsys.readouterr()
    # a long PDF says what it is doing, a line a step, on stderr
    err = " ".join(err.split())
    assert "laying out the PDF" in err and "A4 pages laid out" in err, err
    assert f"shows {CAP} of 36 posts" in err, err
    pdf = folder / MONTH / PDF_NAMES[lang]
    assert str(pdf.resolve()) in " ".join(out.split())
    text = _text(pdf)

    shown = _gallery_ids(text)
    expected = _expected(month)
    assert shown == [p for c in ("instagram", "facebook", "youtube") for p in expected[c]]
    assert len(shown) == CAP and [len(expected[c]) for c in expected] == [5, 5, 2]
    t = labels()[lang]
    note = t["gallery_print_note"].format(
        shown=CAP,
        total=36,
        left=36 - CAP,
        page=PAGE_NAMES[lang],  # type: ignore[index]
    )
    assert note in " ".join(text.split())
    heading = t["gallery_channel"].format(channel="instagram", shown=5, total=20)
    assert heading in " ".join(text.split())
    # the report's tables still hold every post: each member is in what went out
    flat = " ".join(text.split())
    names = [f"Sepatu {c} {i:02d}" for c, n in CHANNELS.items() for i in range(n)]
    assert all(name in flat for name in names), [n for n in names if n not in flat]

    # the HTML page keeps the whole gallery, every card in it, and no note
    html = (folder / MONTH / PAGE_NAMES[lang]).read_text(encoding="utf-8")  # type: ignore[index]
    assert html.count("<article ") == 36 and t["gallery_print_note"][:20] not in html

    # the cards go in at print size: at most PRINT_DPI of the size they are printed at
    images = subprocess.run(
        [_tool("pdfimages"), "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    ppi = [(int(row.split()[3]), int(row.split()[4]), int(row.split()[12])) for row in images]
    assert len(ppi) == CAP, images
    assert all(x_ppi <= PRINT_DPI + 1 for _, _, x_ppi in ppi), ppi

    if lang == "en":  # the gallery's first page, to be looked at
        pages = text.split("\f")
        first = next(i for i, page in enumerate(pages) if note[:40] in " ".join(page.split()))
        OUTPUT.mkdir(parents=True, exist_ok=True)
        for old in OUTPUT.glob("capped-*.png"):
            old.unlink()
        page_no = str(first + 1)
        pages_asked = ["-f", page_no, "-l", page_no]
        command = [_tool("pdftoppm"), "-r", "70", "-png", *pages_asked, str(pdf)]
        subprocess.run([*command, str(OUTPUT / "capped")], check=True)
        assert list(OUTPUT.glob("capped-*.png"))


def test_a_month_within_the_cap_prints_every_card_and_no_note(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with Session(sqlite_engine) as session:
        month = _big_month(session, tmp_path / "cards")
        report = collect(
            session,
            since=START - timedelta(days=2),
            until=AS_OF,
            as_of=AS_OF,
            file=Path,
            display_timezone="Asia/Jakarta",
        )
    write_html(report, tmp_path / "r", display_timezone="Asia/Jakarta", made_at=AS_OF)
    for cards in (36, 60):
        html, printed = print_html(
            report, tmp_path / "r", display_timezone="Asia/Jakarta", made_at=AS_OF, cards=cards
        )
        page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
        assert printed is None and html == page  # the PDF prints the page as it is
    ids = [p for c in month.reach.values() for p in c]
    assert html.count("<article ") == 36 and all(f'id="post-{p}"' in html for p in ids)
    assert labels()["id"]["gallery_print_note"][:20] not in html


def _line(post_id: int, channel: str, slot: datetime) -> PostLine:
    return PostLine(
        post_id=post_id,
        campaign="sorotan",
        member_id=f"m{post_id}",
        business_name="x",
        city=None,
        province=None,
        channel=channel,
        account="a",
        slot_at=slot,
        state="published",
        reason_id="",
        reason_en="",
        caption=None,
        title=None,
        card_path=None,
        thumbnail_path=None,
        permalink=None,
        published_at=slot,
        last_error=None,
        error_action=None,
        cancel_reason=None,
    )


def test_the_selection_is_the_same_whatever_order_the_posts_come_in() -> None:
    slot = datetime(2026, 11, 3, tzinfo=UTC)
    posts = [
        _line(
            i, ("instagram", "facebook", "youtube", "tiktok")[i % 4], slot + timedelta(hours=i % 5)
        )
        for i in range(1, 41)
    ]
    # many ties: reach repeats every 3 posts, every fifth post not read
    reach = {p.post_id: None if p.post_id % 5 == 0 else (p.post_id % 3) * 100 for p in posts}
    first = print_gallery(posts, reach, ["instagram", "facebook"], 9)
    assert first is not None and first.shown == 9 and first.left_out == 31
    for shuffled in (list(reversed(posts)), posts[13:] + posts[:13]):
        again = print_gallery(shuffled, reach, ["instagram", "facebook"], 9)
        assert again == first
    # the channels the caller names first, then the others by name; 3 cards each in turn
    assert [c for c, _, _ in first.by_channel] == ["instagram", "facebook", "tiktok", "youtube"]
    assert [len(s) for _, _, s in first.by_channel] == [3, 2, 2, 2]
    # instagram's posts 4, 8, ..., 40: reach 200 for 8 and 32 (slots 3 h and 2 h after the
    # first), 100 for 4, 16 and 28 (4 h, 1 h, 3 h): equal reach goes by the earlier slot
    assert [p.post_id for p in first.by_channel[0][2]] == [32, 8, 16]
    # nothing to leave out: no selection
    assert print_gallery(posts, reach, [], 40) is None
    empty = print_gallery(posts, reach, [], 0)
    assert empty is not None and empty.shown == 0 and empty.left_out == 40
