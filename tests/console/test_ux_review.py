"""Findings of the console's usability review, each pinned by a test that failed before its fix:
days picked the wrong way round on Fairness, the members list's note on a phone, and table cells
squeezed letter by letter on a phone."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from ifn_campaign.models import StaffUser
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.console_members import NOW, store_members
from tests.support.ledger import add_member


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: page layout and wording; the members' and fairness queries run on both databases
    in test_members.py and test_fairness.py."""
    return sqlite_url


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    """The members of tests/support/console_members.py (some featured), staff in English."""
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            store_members(session)
            session.execute(update(StaffUser).values(language="en"))
            session.commit()
        yield world


def test_fairness_days_the_wrong_way_round_show_the_period_and_say_so(
    world: ConsoleWorld,
) -> None:
    """Before: a 400 error page ("to: a day on or after from") that dropped the whole form."""
    client = world.client("viewer")
    reversed_days = client.get("/fairness?from=2026-12-01&to=2026-11-01&campaign=sorotan")
    ordered = client.get("/fairness?from=2026-11-01&to=2026-12-01&campaign=sorotan")
    assert reversed_days.status_code == 200
    page = reversed_days.text
    assert 'role="alert"' in page and "was before the day in From" in html.unescape(page)
    # the form keeps both days (in order) and the campaign; the ledger is the ordered period's
    assert 'name="from" value="2026-11-01"' in page and 'name="to" value="2026-12-01"' in page
    assert re.search(r'<option value="sorotan" selected>', page)
    tables = re.findall(r"<table.*?</table>", page, re.S)
    assert tables and tables == re.findall(r"<table.*?</table>", ordered.text, re.S)
    assert "was before the day in From" not in html.unescape(ordered.text)


def test_members_note_is_not_a_caption_cut_off_on_a_phone(world: ConsoleWorld) -> None:
    """A caption is as wide as its table: at 390 px its end scrolled out of sight with the
    table's right-hand columns. The note now stands above the wrapper and describes the table."""
    page = world.client("viewer").get("/members").text
    assert "<caption" not in page
    note = re.search(r'<p class="muted" id="members-note">(.*?)</p>', page, re.S)
    assert note and "Eligible: the planner may feature" in html.unescape(note.group(1))
    assert page.index('id="members-note"') < page.index('<div class="table-wrap">')
    assert '<table class="members" aria-describedby="members-note">' in page


def test_wrapped_table_cells_break_words_only_when_they_must(world: ConsoleWorld) -> None:
    """The body's overflow-wrap: anywhere let a phone squash every column of a wide table to
    a few letters ("Kompone n", "Disabl e"); cells in a .table-wrap break only a word too wide."""
    css = world.client("viewer").get("/static/console.css").text
    rule = re.search(r"\.table-wrap th, \.table-wrap td \{([^}]*)\}", css)
    assert rule and "overflow-wrap: break-word" in rule.group(1)
    members_css = world.client("viewer").get("/static/members.css").text
    consent = re.search(r"\n\.consent \{([^}]*)\}", members_css)
    assert consent and "white-space: nowrap" in consent.group(1)


def test_fairness_charts_keep_a_readable_size_on_a_phone(world: ConsoleWorld) -> None:
    """Shrunk to a 390 px screen the charts' labels came out about 6 px high; now a chart keeps
    at least 36rem and its figure scrolls sideways."""
    css = world.client("viewer").get("/static/fairness.css").text
    figure = re.search(r"figure\.chart \{([^}]*)\}", css)
    svg = re.search(r"figure\.chart svg \{([^}]*)\}", css)
    assert figure and "overflow-x: auto" in figure.group(1)
    assert svg and "min-width: 36rem" in svg.group(1)


def test_filter_fields_shrink_to_the_form_on_a_phone(world: ConsoleWorld) -> None:
    """The Members page's 'Not eligible because' select (as wide as its longest reason) made the
    page 418 px wide at 390 px in Indonesian: a filter field may now shrink to the form."""
    css = world.client("viewer").get("/static/console.css").text
    rule = re.search(r"\.filters > \* \{([^}]*)\}", css)
    assert rule and "min-width: 0" in rule.group(1) and "max-width: 100%" in rule.group(1)


def test_a_members_profile_names_its_codes_and_groups_its_numbers(world: ConsoleWorld) -> None:
    """The profile showed the registry's codes ("producer", "leather_shoes", "cow_leather") where
    the members list shows their names, and 4000 pairs a month ungrouped."""
    with world.session() as session:
        add_member(session, "coded", materials=["cow_leather"], capacity_pairs_per_month=4000)
        session.commit()
    page = html.unescape(world.client("viewer").get("/members/coded").text)
    profile = page[page.index('id="profile-h"') : page.index('id="media-h"')]
    assert "Producer" in profile and "Leather shoes" in profile and "cow leather" in profile
    assert not {"producer", "leather_shoes", "cow_leather"} & set(re.findall(r"[a-z_]+", profile))
    assert "4,000" in profile
