"""A planner campaign and clock fixed in late 2026, and helpers to plan and list the live posts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Post, PostState
from ifn_campaign.planner.budget import limits_from
from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.planner.plan import PlanResult, plan_campaign

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
START = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday
OFF = {"category": 0, "province": 0, "actor_type": 0}
LIMITS = limits_from(Settings())


def campaign(name: str = "sorotan", **overrides: Any) -> Campaign:
    data: dict[str, Any] = {
        "name": name,
        "title": "Sorotan",
        "start": date(2026, 11, 1),
        "holidays": "ignore",
        "cooldown_days": 0,
        "channels": [
            {"channel": "instagram", "slots": [{"days": ["tue", "thu"], "time": "19:00"}]},
            {"channel": "facebook", "slots": [{"days": ["wed"], "time": "18:30"}]},
        ],
        "diversity": {"max_in_a_row": OFF, "max_per_week": OFF},
    }
    data.update(overrides)
    return Campaign.model_validate(data, context={"source": "toml"})


def plan(s: Session, c: Campaign, weeks: int = 2, **kw: Any) -> PlanResult:
    result = plan_campaign(
        s, c, kw.pop("limits", LIMITS), START, START + timedelta(weeks=weeks), NOW, **kw
    )
    s.commit()
    return result


def live(s: Session) -> list[Post]:
    return list(
        s.scalars(select(Post).where(Post.state != PostState.CANCELLED).order_by(Post.slot_at))
    )
