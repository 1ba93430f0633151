"""The member's page and the staff's member page over a member row no sync writes: a hand
edit or an old row holding null, a list, a string or a number where the registry's record
keeps a map or a list. The page answers (200) with what can be read; a consent list that is
no list allows nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from ifn_campaign.console.pages.member_page import MAX_FORM_BYTES
from ifn_campaign.console.pages.members import _profile
from ifn_campaign.members.links import issue_link, member_key, unsubscribe_token
from ifn_campaign.models import Member, MemberAnswer, NoticeContact, NoticeMedium, PostState
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.ledger import add_member, add_post

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
SLOT = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
EMAIL = "sari@example.test"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[tuple[ConsoleWorld, str]]:
    settings = settings_for(db_url, tmp_path)
    with console_world(settings, clock=lambda: NOW) as world:
        with world.session() as s:
            add_member(
                s,
                "m1",
                business_name="Sepatu Sari",
                owner_name="Ibu Sari Wulandari",
                contact={"phone": "+62 22 555 0101", "email": EMAIL},
                socials={"instagram": "sepatusari"},
                consent_fields_allowed=["phone"],
            )
            add_post(s, "m1", PostState.APPROVED, slot_at=SLOT, caption="Sepatu kulit.")
            token = issue_link(s, settings, "m1", now=NOW - timedelta(days=1))
            s.commit()
        yield world, token


@pytest.mark.parametrize(
    ("column", "stored"),
    [
        ("contact", "[1, 2]"),
        ("contact", '"sari@example.test"'),
        ("contact", "null"),
        ("socials", "[1]"),
        ("socials", '"sepatusari"'),
        ("consent_fields_allowed", "null"),
        ("consent_fields_allowed", "7"),
        ("actor_types", "null"),
        ("categories", "5"),
        ("materials", '{"a": 1}'),
        ("export_markets", "null"),
        ("certifications", "null"),
        ("certifications", '[1, null, "x", [2], {"scheme": "SNI", "number": 7}]'),
    ],
)
def test_a_row_no_sync_writes_still_shows_the_pages(
    world: tuple[ConsoleWorld, str], column: str, stored: str
) -> None:
    """Before: 500 on the member's page and on the staff's (AttributeError, TypeError)."""
    console, token = world
    with console.session() as s:
        s.execute(text(f"UPDATE member SET {column} = :v WHERE id = 'm1'"), {"v": stored})
        s.commit()
    own = console.anonymous().get(f"/anggota/{token}")
    assert own.status_code == 200 and "Sepatu Sari" in own.text
    staff = console.client("admin").get("/members/m1")
    assert staff.status_code == 200 and "Sepatu Sari" in staff.text


@pytest.mark.parametrize("stored", ['"no-email"', '{"email": false}'])
def test_a_consent_list_that_is_no_list_shows_nothing_as_public(
    world: tuple[ConsoleWorld, str], stored: str
) -> None:
    """A string or a map as `consent_fields_allowed` allows no field: the page does not tell
    the member their e-mail is shown publicly."""
    console, _ = world
    with console.session() as s:
        s.execute(
            text("UPDATE member SET consent_fields_allowed = :v WHERE id = 'm1'"), {"v": stored}
        )
        s.commit()
    with console.session() as s:
        member = s.get(Member, "m1")
        assert member is not None
        assert not any(f.allowed for f in _profile(member, "id"))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", "Instagram: sepatusari; Lokapasar: tokopedia.com/sari; sepatu-sari.id: x"),
        ("en", "Instagram: sepatusari; Marketplaces: tokopedia.com/sari; sepatu-sari.id: x"),
    ],
)
def test_social_accounts_are_named_not_shown_as_registry_keys(
    world: tuple[ConsoleWorld, str], language: str, expected: str
) -> None:
    """The registry's keys ("instagram", "marketplaces") were shown as written; a key the
    vocabulary does not know still is."""
    console, _ = world
    with console.session() as s:
        member = s.get(Member, "m1")
        assert member is not None
        member.socials = {
            "instagram": "sepatusari",
            "marketplaces": ["tokopedia.com/sari"],
            "sepatu-sari.id": "x",
        }
        [socials] = [f for f in _profile(member, language) if f.name == "socials"]
        assert socials.value == expected


# --- bodies larger than any form of the page ---------------------------------------------------


@pytest.mark.parametrize("where", ["jawab", "berhenti"])
def test_a_body_larger_than_any_form_is_refused_unread(
    world: tuple[ConsoleWorld, str], where: str
) -> None:
    """The pages answer anyone without a login, and Starlette reads a URL-encoded body whole:
    a body over MAX_FORM_BYTES (a gigabyte as well as 1 MiB) is refused with 413 and the page
    that says to answer again from the page, nothing recorded; a form of its largest real size
    still goes through."""
    console, token = world
    client = console.anonymous()
    if where == "jawab":
        url = f"/anggota/{token}/jawab"
    else:
        key = member_key(console.settings)
        url = f"/anggota/berhenti/{unsubscribe_token(key, 'm1', NoticeMedium.EMAIL)}"
    big = b"comment=" + b"x" * (MAX_FORM_BYTES + 1)
    answer = client.post(url, content=big, headers={"content-type": FORM})
    assert answer.status_code == 413
    assert "Buka halaman Anda lagi" in answer.text or "open the page again" in answer.text.lower()
    lying = client.post(
        url, content=b"a=b", headers={"content-type": FORM, "content-length": "9" * 12}
    )
    assert lying.status_code in (400, 413)
    with console.session() as s:
        assert s.scalar(select(func.count()).select_from(MemberAnswer)) == 0
        assert s.scalar(select(func.count()).select_from(NoticeContact)) == 0
    if where == "berhenti":  # the one-click body still unsubscribes
        done = client.post(
            url, content=b"List-Unsubscribe=One-Click", headers={"content-type": FORM}
        )
        assert done.status_code == 200
