"""What `ifn-campaign demo` tells a newcomer besides running: what its numbers mean (read from
the data, checked here against the sample registry) and the settings file that points the other
commands at its data (the whole demo run is tests/cli/test_cli.py's slow test, which checks the file
is written and a read command works with it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.insights.reader import InsightsReport, Outcome
from ifn_campaign.models import MemberStatus, PostState
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.consent import ConsentState, consent_at
from ifn_campaign.registry.sync import sync_members
from ifn_sandbox.demo import _tell_insights, demo_numbers
from ifn_sandbox.registry import RegistrySandbox
from ifn_sandbox.sample import sample_members
from tests.support.demo import DemoRun
from tests.support.ledger import add_post
from tests.support.registry import settings_for

AS_OF = datetime(2026, 12, 20, tzinfo=UTC)


def _numbers(lines: list[str]) -> list[int]:
    return [int(re.match(r"(\d+) ", line).group(1)) for line in lines]  # type: ignore[union-attr]


def test_the_demo_explains_its_numbers_from_the_sample_registry(
    registry: RegistrySandbox, tmp_path: Path
) -> None:
    cfg = settings_for(registry, f"sqlite:///{tmp_path / 'ifn.db'}", tmp_path / "media")
    engine = store.make_engine(cfg.database.url)
    store.upgrade(engine)
    with RegistryClient(cfg.registry) as client:
        run = sync_members(engine, client, None, full=True).run
    # the expectations come from the sample itself, validated apart from the sync
    sample = sample_members()
    active = [m for m in sample if m.status == MemberStatus.ACTIVE]
    withdrew = sorted(m.id for m in active if m.consent_withdrawn_at is not None)
    consenting = [m for m in active if consent_at(m, AS_OF) is ConsentState.IN_FORCE]
    with Session(engine) as session:
        for member in consenting[:3]:  # three features, one member twice
            add_post(session, member.id, PostState.PUBLISHED, featured_at=AS_OF - timedelta(days=2))
        add_post(session, consenting[0].id, PostState.PUBLISHED, featured_at=AS_OF - timedelta(1))
        session.commit()
        lines = demo_numbers(session, run, AS_OF)
    new, stored_active, carded, never = _numbers(lines)
    assert len(lines) == 4
    assert new == len(sample) and f"sent {len(registry)} records" in lines[0]
    assert f"{len(registry) - len(sample)} of them quarantined" in lines[0]
    assert stored_active == len(active)
    assert (
        f"{len(sample)} members stored, {len(sample) - len(active)} of them not active" in lines[1]
    )
    assert carded == len(active) - len(withdrew) and ", ".join(withdrew) in lines[2]
    assert never == len(consenting) - 3
    assert f"{len(consenting)} active members with consent in force, 3 of them featured" in lines[3]
    # the sample has all of it: quarantined records, inactive members, withdrawals
    assert len(registry) > len(sample) > len(active) > carded and withdrew


@pytest.mark.slow
def test_the_demo_cards_show_the_members_photos(demo_run: DemoRun) -> None:
    """The demo's preview cards are drawn from the members' photos and logos, which the sync
    stored relative to the demo's data folder (var/demo): read under the folder the demo was
    started in instead, every one was unreadable and each card was drawn without its photo."""
    assert demo_run.returncode == 0, demo_run.stderr
    text = demo_run.stdout + demo_run.stderr
    assert "unusable: unreadable" not in text
    assert "unusable: missing_file" not in text


def test_the_demo_prints_a_failed_readings_detail_as_text(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reading that failed is named with the platform's words, which are not ours: markup in
    them is printed as text (a '[/]' ended the demo with rich's MarkupError), a terminal escape
    as its escape."""
    detail = "(#100) metric [/] is [bold]odd[/bold] \x1b]8;;http://x\x1b\\link"
    report = InsightsReport(outcomes=[Outcome(7, "instagram", "1d", "failed", detail)])
    _tell_insights(sqlite_engine, report)
    said = capsys.readouterr()
    err = said.err
    assert "insights: post 7 1d failed: (#100) metric [/] is [bold]odd[/bold]" in err
    assert "\x1b]8" not in err
    # reach added up over posts is no count of people (one sees several; YouTube's is views)
    line = " ".join(said.out.split())
    assert "total reach so far 0 (each post's latest figure, added up)" in line
    assert "people" not in line
