"""The campaigns page: each campaign file as read (a broken one with its problems, on a page
that still answers), the next slots, and a dry-run plan that saves nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ifn_campaign.planner.campaign import CAMPAIGNS_DIR
from tests.support.console import ConsoleWorld
from tests.support.console_campaigns import (
    ATTACK,
    console_at,
    post_count,
    store_members,
)

SHIPPED = {
    "sorotan-anggota": "Sorotan Anggota IFN",
    "harbolnas-1212": "Harbolnas 12.12: Belanja Alas Kaki Lokal",
    "ramadan-2027": "Melangkah di Bulan Ramadan 2027",
}
TOML_ATTACK = ATTACK.replace('"', '\\"')  # inside a TOML string
BROKEN = f"""
name = "rusak"
title = "Rusak {TOML_ATTACK}"
start = 2026-12-01
cooldown_days = -3
warna = "merah"

[[channels]]
channel = "instagram"
[[channels.slots]]
days = ["selasa", "hari-raya"]
time = "25:00"
"""


@pytest.fixture
def shipped(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    """The console on the shipped campaigns, with members to plan."""
    with console_at(db_url, tmp_path) as world:
        with world.session() as session:
            store_members(session)
        yield world


@pytest.fixture
def folder(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    """planner.campaigns_dir holding one shipped campaign, a broken file and one that is not
    TOML at all."""
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    shutil.copy(CAMPAIGNS_DIR / "harbolnas-1212.toml", campaigns)
    (campaigns / "rusak.toml").write_text(BROKEN, encoding="utf-8")
    (campaigns / "bukan-toml.toml").write_text("name = [unclosed\n", encoding="utf-8")
    with console_at(db_url, tmp_path, planner={"campaigns_dir": campaigns}) as world:
        with world.session() as session:
            store_members(session)
        yield world


def test_the_shipped_campaigns_with_their_next_slots(shipped: ConsoleWorld) -> None:
    page = shipped.client("viewer").get("/campaigns")
    assert page.status_code == 200, page.text
    for name, title in SHIPPED.items():
        assert title in page.text
        assert f'href="/campaigns/{name}/dry-run"' in page.text
    # the first slot of harbolnas (every day 12:12 WIB from 1 December), in Indonesian
    assert "Sel, 1 Des 2026 12.12" in page.text
    assert "Sen, 8 Feb 2027 20.30" in page.text  # ramadan-2027 starts later: its first slots
    assert 'class="problems"' not in page.text  # every shipped file is valid


def test_a_broken_file_shows_its_problems_beside_the_others(folder: ConsoleWorld) -> None:
    page = folder.client("viewer").get("/campaigns")
    assert page.status_code == 200, page.text
    text = page.text
    assert SHIPPED["harbolnas-1212"] in text  # the good file is still read and shown
    for problem in (
        "cooldown_days: Input should be greater than or equal to 0",
        "warna: unknown key (a typo?)",
        "channels[0].slots[0].days[1]: unknown day &#39;hari-raya&#39;",
        "channels[0].slots[0].time: &#39;25:00&#39; is not a time",
        "not valid TOML",
    ):
        assert problem in text, problem
    assert ATTACK not in text  # the file as written is shown escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # no dry run is offered for a file the planner cannot use
    assert 'href="/campaigns/rusak/dry-run"' not in text
    # and asking for one says why, on a page
    answer = folder.client("viewer").get("/campaigns/rusak/dry-run")
    assert answer.status_code == 200
    assert "cooldown_days" in answer.text
    # the good campaign's dry run is not stopped by the broken files beside it
    good = folder.client("viewer").get("/campaigns/harbolnas-1212/dry-run")
    assert good.status_code == 200
    assert "not valid TOML" not in good.text
    assert "Sel, 1 Des 2026 12.12" in good.text


def test_a_missing_campaigns_folder_is_said_on_the_page(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with console_at(db_url, tmp_path, planner={"campaigns_dir": tmp_path / "nowhere"}) as world:
        page = world.client("viewer").get("/campaigns")
        assert page.status_code == 200
        assert "campaigns directory not found" in page.text
        assert world.client("viewer").get("/campaigns/harbolnas-1212/dry-run").status_code == 404


def test_a_dry_run_shows_the_picks_and_saves_nothing(shipped: ConsoleWorld) -> None:
    with shipped.session() as session:
        before = post_count(session)
    client = shipped.client("viewer")
    page = client.get("/campaigns/harbolnas-1212/dry-run?weeks=2")
    assert page.status_code == 200, page.text
    with shipped.session() as session:
        assert post_count(session) == before == 0
    # two weeks from its first day: 1 to 12 December, two slots a day (Instagram 12:12,
    # Facebook 20:00); twelve members fill twelve, then the campaign's 30-day cooldown leaves
    # the others empty, each with why
    assert page.text.count('class="plan-planned"') == 12
    assert page.text.count('class="plan-gap"') == 12
    assert "Sel, 1 Des 2026 12.12" in page.text and "Sab, 12 Des 2026 20.00" in page.text
    assert "belum pernah ditampilkan di kampanye ini" in page.text
    assert "tidak ada anggota yang bisa mengisi slot ini: 12 dalam masa jeda" in page.text
    # the hostile member's name is text
    assert ATTACK not in page.text
    # a second dry run plans the same: the first left nothing behind
    assert client.get("/campaigns/harbolnas-1212/dry-run?weeks=2").text.count("plan-planned") == 12

    english = shipped.post("viewer", "/me/language", {"language": "en"})
    assert english.status_code == 303
    page_en = client.get("/campaigns/harbolnas-1212/dry-run?weeks=2")
    assert "Tue, 1 Dec 2026 12.12" in page_en.text
    assert "never featured in this campaign" in page_en.text  # the reasons in English too
    assert "belum pernah ditampilkan" not in page_en.text
    with shipped.session() as session:
        assert post_count(session) == 0


def test_a_campaign_that_starts_later_is_tried_from_its_first_day(shipped: ConsoleWorld) -> None:
    page = shipped.client("viewer").get("/campaigns/ramadan-2027/dry-run?weeks=1")
    assert page.status_code == 200
    assert "14 Feb 2027" in page.text  # the last day of the week tried, not the 15th
    assert "15 Feb 2027" not in page.text
    assert "Sen, 8 Feb 2027 20.30" in page.text  # its first slot
    assert page.text.count('class="plan-planned"') > 0


def test_dry_run_refusals(shipped: ConsoleWorld) -> None:
    client = shipped.client("viewer")
    assert client.get("/campaigns/nope/dry-run").status_code == 404
    assert client.get("/campaigns/harbolnas-1212/dry-run?weeks=0").status_code == 400
    assert client.get("/campaigns/harbolnas-1212/dry-run?weeks=13").status_code == 400


def test_sign_in_first(shipped: ConsoleWorld) -> None:
    for url in ("/campaigns", "/campaigns/harbolnas-1212/dry-run"):
        answer = shipped.anonymous().get(url)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
