"""`ifn-campaign plan` over several campaigns when one cannot be planned: the others are planned
and kept, the one is named with its reason on the error line and the status is 1 (as the
scheduled run lists it and goes on); a dry run still writes nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.errors import PlanError
from ifn_campaign.models import Post
from ifn_campaign.planner import plan as planner
from ifn_sandbox.sample import store_generated_members

CAMPAIGN = """
name = "{name}"
title = "{name}"
start = 2030-01-01
holidays = "ignore"
cooldown_days = 0

[[channels]]
channel = "instagram"
account = "{account}"
[[channels.slots]]
days = ["selasa"]
time = "19:00"
"""


@pytest.fixture
def two_campaigns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(base.out, "width", 250)
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    monkeypatch.setenv("IFN_LOG__FILE", str(tmp_path / "cli.log"))
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    for name, account in (("alpha", "bpipi"), ("beta", "bpipi-2")):
        text = CAMPAIGN.format(name=name, account=account)
        (campaigns / f"{name}.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(campaigns))
    engine = store.make_engine(url)
    store.upgrade(engine)
    with Session(engine) as session:
        store_generated_members(session, 6, now=datetime(2029, 12, 1, tzinfo=UTC))
        session.commit()
    engine.dispose()

    real = planner.plan_campaign

    def alpha_fails(session: Session, campaign: Any, *args: Any, **kwargs: Any) -> Any:
        if campaign.name == "alpha":
            raise PlanError("alpha's slots clash with a pin")
        return real(session, campaign, *args, **kwargs)

    monkeypatch.setattr(planner, "plan_campaign", alpha_fails)
    return tmp_path


def _stored(tmp_path: Path) -> set[str]:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}")
    with Session(engine) as session:
        found = set(session.scalars(select(Post.campaign)))
    engine.dispose()
    return found


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_others_are_planned_and_the_one_is_named(
    two_campaigns: Path, dry_run: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["plan", "--from", "2030-01-07", "--weeks", "2"] + (["--dry-run"] if dry_run else [])
    assert main(args) == 1
    printed = capsys.readouterr()
    assert "Plan: beta" in printed.out and "Plan: alpha" not in printed.out
    assert printed.err.strip() == (
        "error: campaign alpha not planned: alpha's slots clash with a pin"
    )
    assert _stored(two_campaigns) == (set() if dry_run else {"beta"})
