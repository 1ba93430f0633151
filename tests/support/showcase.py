"""Members, posts, features and card files for the showcase's tests (and its browser test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import MemberWithdrawal, PostState
from tests.support.ledger import add_member, add_post

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
OWNER = "Budi Santosa Wirawan"
PHONE = "+6281234567890"
PHONE_WRITTEN = "0812-3456-7890"
HOSTILE_NAME = (
    '<script>alert("x")</script><img src=x onerror=alert(1)> \u202eRTL \u05e9\u05dc\u05d5\u05dd '
    + "Sepatukulitbuatantanganasli" * 8
)
HOSTILE_ID = "../../etc/<b>passwd</b>"


def day(n: int, hour: int = 12) -> datetime:
    """Day n of November 2026 (12:00 UTC: 19:00 WIB)."""
    return datetime(2026, 11, n, hour, tzinfo=UTC)


def card_file(
    settings: Settings, name: str, colour: tuple[int, int, int], size: tuple[int, int] = (540, 540)
) -> str:
    """A real JPEG card under the data folder; its path as the database stores it."""
    path = settings.base / "cards" / f"{name}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, "JPEG")
    return settings.stored(path)


@dataclass
class Featured:
    """The members written, by role; the posts by name."""

    shown: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    posts: dict[str, int] = field(default_factory=dict)


def featured_members(session: Session, settings: Settings) -> Featured:
    """Two members the showcase shows (one plain, one hostile) and six it must not."""
    made = Featured()
    # shown: consent in force, a published Instagram feature with a card and a permalink; the
    # owner's name and phone are not allowed (and appear in the description), the e-mail is
    add_member(
        session,
        "ifn-a",
        business_name="Sepatu Kulit Nusantara",
        city="Kab. Bogor",
        province="Jawa Barat",
        sentra="Ciomas",
        description_id=(
            "Sepatu kulit pria buatan tangan sejak 1998. "
            f"Hubungi {OWNER} di {PHONE_WRITTEN} untuk pesanan."
        ),
        owner_name=OWNER,
        contact={
            "phone": PHONE,
            "email": "halo@nusantara.example",
            "website": "https://nusantara.example",
        },
        socials={"instagram": "sepatunusantara", "tiktok": "nusantara.tt"},
        consent_channels=["instagram", "facebook"],
        consent_fields_allowed=["email"],
        photos=[{"url": "https://registry.example/owner.jpg", "alt": "Foto pemilik"}],
        year_founded=1998,
        employees=12,
    )
    made.posts["a-ig"] = add_post(
        session,
        "ifn-a",
        PostState.PUBLISHED,
        "instagram",
        slot_at=day(3),
        featured_at=day(3),
        permalink="https://www.instagram.com/p/AAA111/",
        card_path=card_file(settings, "a-ig", (14, 74, 85)),
    )
    made.posts["a-fb"] = add_post(
        session,
        "ifn-a",
        PostState.PUBLISHED,
        "facebook",
        slot_at=day(10),
        featured_at=day(10),
        permalink="https://www.facebook.com/bpipi/posts/222",
        card_path=card_file(settings, "a-fb", (200, 98, 46)),
    )
    made.posts["a-queued"] = add_post(session, "ifn-a", PostState.APPROVED, slot_at=day(29))
    made.shown.append("ifn-a")

    # shown: everything hostile the registry could send
    add_member(
        session,
        HOSTILE_ID,
        business_name=HOSTILE_NAME,
        province="Jawa Timur",
        categories=["sandals", "../<i>x</i>"],
        actor_types=["brand"],
        description_id="<b>bold</b> & \u202edesc",
        contact={"website": "javascript:alert(1)"},
    )
    made.posts["hostile"] = add_post(
        session,
        HOSTILE_ID,
        PostState.PUBLISHED,
        "facebook",
        slot_at=day(5),
        featured_at=day(5),
        permalink="javascript:alert(2)",
        card_path=card_file(settings, "hostile", (7, 48, 58)),
    )
    made.shown.append(HOSTILE_ID)

    # not shown: withdrew in the registry
    add_member(session, "ifn-withdrawn", business_name="Ditarik Jaya", consent_withdrawn_at=day(20))
    add_post(session, "ifn-withdrawn", PostState.PUBLISHED, slot_at=day(4), featured_at=day(4))
    # not shown: withdrew on their own page (the withdrawal row only)
    add_member(session, "ifn-page-withdrawal", business_name="Halaman Tarik")
    add_post(
        session, "ifn-page-withdrawal", PostState.PUBLISHED, slot_at=day(6), featured_at=day(6)
    )
    session.add(MemberWithdrawal(member_id="ifn-page-withdrawal", at=day(21), source="member page"))
    # not shown: suspended
    add_member(session, "ifn-suspended", business_name="Tangguh Ditangguhkan", status="suspended")
    add_post(session, "ifn-suspended", PostState.PUBLISHED, slot_at=day(7), featured_at=day(7))
    # not shown: never featured
    add_member(session, "ifn-waiting", business_name="Menunggu Giliran")
    add_post(session, "ifn-waiting", PostState.APPROVED, slot_at=day(28))
    # not shown: featured only on a channel they no longer consent to
    add_member(
        session, "ifn-no-youtube", business_name="Tanpa YouTube", consent_channels=["instagram"]
    )
    add_post(
        session,
        "ifn-no-youtube",
        PostState.PUBLISHED,
        "youtube",
        slot_at=day(8),
        featured_at=day(8),
    )
    # not shown: the only post is being taken down
    add_member(session, "ifn-taken-down", business_name="Sedang Diturunkan")
    add_post(
        session,
        "ifn-taken-down",
        PostState.PUBLISHED,
        slot_at=day(9),
        featured_at=day(9),
        takedown_requested_at=day(22),
    )
    made.hidden += [
        "ifn-withdrawn",
        "ifn-page-withdrawal",
        "ifn-suspended",
        "ifn-waiting",
        "ifn-no-youtube",
        "ifn-taken-down",
    ]
    session.flush()
    return made


def site_text(root: Path) -> str:
    """Every text file of the site, joined (to look for what must not be anywhere)."""
    return "\n".join(
        p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".html", ".css", ".js")
    )
