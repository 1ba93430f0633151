"""The Fairness page: the ledger's numbers by province, category and actor type against the
membership (`ledger.shares_by`), for a period and a campaign, as tables and as SVG charts that
parse as XML; never-featured and longest-waiting lists; an empty period; hostile names."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ifn_campaign.console.i18n import Formats
from ifn_campaign.models import StaffUser
from ifn_campaign.posts import ledger
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.console_hostile import MARK, check_page, store_hostile
from tests.support.console_members import NOW, store_members

SVG = "{http://www.w3.org/2000/svg}"
WIB = ZoneInfo("Asia/Jakarta")
PERCENT = Formats("en", WIB).percent


def english(session: Session) -> None:
    session.execute(update(StaffUser).values(language="en"))
    session.commit()


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    """Features: `ok` (Jawa Barat) 10 and 40 days before NOW in sorotan, `ig-only` (Jawa
    Timur) 20 days before in ramadan-2027; consenting active members: ok, no-media (Jawa
    Barat), ig-only, never-ok (Bali)."""
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            store_members(session)
            english(session)
        yield world


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def charts(page: str) -> list[ET.Element]:
    """Every inline SVG of the page, parsed as XML (fails if one is not well-formed)."""
    return [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page, re.S)]


def without_charts(page: str) -> str:
    return re.sub(r"<svg.*?</svg>", "", page, flags=re.S)


def rows_of(shares: list[ledger.Share]) -> list[str]:
    """Each group as its table row reads: label, features, share, members, share."""
    return [
        f"{s.label} {s.features} {PERCENT(s.feature_share)} {s.members} {PERCENT(s.member_share)}"
        for s in shares
    ]


def page(world: ConsoleWorld, query: str = "") -> str:
    answer = world.client("viewer").get(f"/fairness{query}")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_shares_are_the_ledgers(world: ConsoleWorld) -> None:
    with world.session() as session:
        shares = ledger.shares_by(session, "province", NOW)
    assert [(s.label, s.features, s.members) for s in shares] == [
        ("Jawa Barat", 2, 2),
        ("Jawa Timur", 1, 1),
        ("Bali", 0, 1),
    ]
    assert shares[0].feature_share == pytest.approx(2 / 3) and shares[0].member_share == 0.5
    assert shares[2].gap == -0.25
    shown = text(page(world))
    assert "Features in all: 3." in shown
    with world.session() as session:
        for dimension in ("province", "category", "actor_type"):
            for row in rows_of(ledger.shares_by(session, dimension, NOW)):  # type: ignore[arg-type]
                assert row in shown, row
    assert "Sepatu kulit / Leather shoes" in shown  # vocabulary names


def test_a_period_and_a_campaign(world: ConsoleWorld) -> None:
    first = (NOW - timedelta(days=15)).astimezone(WIB).date()
    shown = text(page(world, f"?from={first}"))
    assert re.search(r"Features since .*: 1\.", shown)
    with world.session() as session:
        since = ledger.shares_by(session, "province", NOW, since=NOW - timedelta(days=15))
        assert since[0].label == "Jawa Barat" and since[0].features == 1
        for row in rows_of(since):
            assert row in shown
        # to: the whole named day counts (WIB)
        day = (NOW - timedelta(days=20)).astimezone(WIB).date()
        shown = text(page(world, f"?from={day}&to={day}"))
        assert re.search(r"Features from .* to .*: 1\.", shown)
        assert "Jawa Timur 1 100% 1 25%" in shown
        campaign = text(page(world, "?campaign=ramadan-2027"))
        for row in rows_of(ledger.shares_by(session, "province", NOW, campaign="ramadan-2027")):
            assert row in campaign
        assert "Jawa Timur 1 100% 1 25%" in campaign
    # the ledger's CSV of the same period and campaign
    assert 'href="/exports/ledger.csv?campaign=ramadan-2027"' in page(
        world, "?campaign=ramadan-2027"
    )
    assert f'href="/exports/ledger.csv?from={first}"' in page(world, f"?from={first}")


def test_an_empty_period_still_shows_the_members(world: ConsoleWorld) -> None:
    shown = text(page(world, "?from=2020-01-01&to=2020-01-31"))
    assert re.search(r"Features from .* to .*: 0\.", shown)
    assert "Jawa Barat 0 0% 2 50%" in shown
    for svg in charts(page(world, "?from=2020-01-01&to=2020-01-31")):
        assert svg.find(f"{SVG}title") is not None


def test_nothing_stored(engine: Engine, db_url: str, tmp_path: Path) -> None:
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            english(session)
        shown = text(page(world))
        assert "Features in all: 0." in shown
        assert "No features and no consenting members to count." in shown
        assert "Everyone has been featured." in shown
        assert "No member can be featured yet." in shown
        assert charts(page(world)) == []


def test_the_charts_parse_and_say_what_the_tables_say(world: ConsoleWorld) -> None:
    found = charts(page(world))
    assert len(found) == 3
    province = found[0]
    assert province.get("role") == "img"
    title = province.find(f"{SVG}title")
    assert title is not None and title.text == "Features by province against members"
    desc = province.find(f"{SVG}desc")
    assert desc is not None and "Bali: 0% of features (0), 25% of members (1)." in (desc.text or "")
    labels = [t.text for t in province.iter(f"{SVG}text")]
    assert {"Jawa Barat", "Jawa Timur", "Bali"} <= set(labels)
    assert "style=" not in page(world)


def test_never_featured_and_longest_waiting(world: ConsoleWorld) -> None:
    shown = page(world)
    never = shown[shown.index('id="h-never"') : shown.index('id="h-longest"')]
    longest = shown[shown.index('id="h-longest"') :]
    with world.session() as session:
        expected_never = [w.member_id for w in ledger.never_featured(session, now=NOW)]
        expected_longest = [w.member_id for w in ledger.fairness_gap(session, NOW, None, 20)]
    assert re.findall(r'href="/members/([^"]+)"', never) == expected_never
    assert set(re.findall(r'href="/members/([^"]+)"', never)) == {"never-ok", "no-media"}
    assert "2 in all" in text(never)
    assert re.findall(r'href="/members/([^"]+)"', longest) == expected_longest
    in_campaign = text(page(world, "?campaign=ramadan-2027"))
    assert "never featured in ramadan-2027" in in_campaign and "3 in all" in in_campaign


def test_bad_queries_are_refused_and_viewers_suffice(world: ConsoleWorld) -> None:
    client = world.client("viewer")
    assert client.get("/fairness?from=1+Jan").status_code == 400
    assert client.get("/fairness?from=0001-01-01").status_code == 400
    assert client.get("/fairness?campaign=nope").status_code == 400
    assert world.anonymous().get("/fairness").status_code == 303


def test_hostile_names_render_as_text(engine: Engine, db_url: str, tmp_path: Path) -> None:
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            store_hostile(session)
            english(session)
        shown = page(world)
        assert check_page(without_charts(shown)) == []
        assert "<script>alert" not in shown
        found = charts(shown)
        labels = [t.text or "" for svg in found for t in svg.iter(f"{SVG}text")]
        assert any(MARK in label and "{{ 7*7 }}" in label for label in labels)
        for svg in found:
            for element in svg.iter():
                assert not any(name.startswith("on") for name in element.attrib)
                assert element.tag.startswith(SVG) and "script" not in element.tag
