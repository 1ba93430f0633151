"""A year of weekly plans for fair-by-reach, on the planner's pure parts: each week a new
`Rotation` (as `plan_campaign` builds one) sees the picks so far and the reach read back of
every feature by then, and fills the week's slots. Reach model: a feature at slot s of member
m reaches base[m] * factor[s] * 1,000 people in the end, read back at the marks 1h, 1d, 7d, 28d
as the sandboxes grow it (1 - exp(-age / 1.5 days))."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

from ifn_campaign.insights.figures import FeatureReach
from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.planner.eligibility import Candidate
from ifn_campaign.planner.rotation import Gap, Pick, Rotation
from ifn_campaign.planner.slots import Slot, campaign_slots

START = datetime(2027, 1, 4, tzinfo=UTC)  # a Monday
MARKS = (timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(days=28))
TAU = timedelta(days=1.5)
OFF = {"category": 0, "province": 0, "actor_type": 0}
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def read_back(final: float, age: timedelta) -> int | None:
    """The reach a reading shows `age` after going live: the latest mark passed; None before
    the first."""
    passed = [mark for mark in MARKS if mark <= age]
    if not passed:
        return None
    return round(final * (1 - math.exp(-passed[-1] / TAU)))


def weekly_campaign(slots: list[tuple[int, int]], fair_by: str, **overrides: Any) -> Campaign:
    """An Instagram campaign with one slot per (weekday, hour) in WIB, no caps, no cooldown."""
    data: dict[str, Any] = {
        "name": "uji",
        "title": "Uji",
        "start": date(2027, 1, 1),
        "holidays": "ignore",
        "cooldown_days": 0,
        "fair_by": fair_by,
        "channels": [
            {
                "channel": "instagram",
                "slots": [{"days": [DAYS[d]], "time": f"{h:02d}:00"} for d, h in slots],
            }
        ],
        "diversity": {"max_in_a_row": OFF, "max_per_week": OFF},
    }
    data.update(overrides)
    return Campaign.model_validate(data, context={"source": "toml"})


def candidate(i: int, **kw: Any) -> Candidate:
    values: dict[str, Any] = {
        "id": f"m{i:03d}",
        "name": f"Anggota {i}",
        "province": ["Jawa Barat", "Jawa Timur", "Bali"][i % 3],
        "category": "sandals",
        "actor_type": "producer",
        "status": "active",
        "consent_channels": frozenset({"instagram", "facebook", "youtube"}),
        "has_media": True,
        "since": START - timedelta(days=30),
    }
    values.update(kw)
    return Candidate(**values)


@dataclass
class Year:
    """What a simulated year gave: the picks in slot order with their final reach."""

    picks: list[tuple[Slot, Pick]] = field(default_factory=list)
    reach: list[float] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    def counts_stay_level(self, members: list[str]) -> bool:
        """Nobody featured twice before everyone once: at every pick, feature counts differ by
        at most one."""
        seen = Counter(dict.fromkeys(members, 0))
        for _, pick in self.picks:
            seen[pick.member_id] += 1
            if max(seen.values()) - min(seen.values()) > 1:
                return False
        return True

    def totals(self, members: list[str]) -> list[float]:
        """Each member's total reach over their first n features, n the fewest anyone had:
        whole rounds, so a member featured once more at the year's end does not count as
        spread."""
        per: dict[str, list[float]] = {m: [] for m in members}
        for (_, pick), reach in zip(self.picks, self.reach, strict=True):
            per[pick.member_id].append(reach)
        n = min(len(v) for v in per.values())
        return [sum(v[:n]) for v in per.values()]


def spread(totals: list[float]) -> float:
    """Coefficient of variation of members' total reach."""
    mean = statistics.fmean(totals)
    return statistics.pstdev(totals) / mean if mean else 0.0


def simulate(
    slots: list[tuple[int, int]],
    factors: list[float],
    bases: list[float],
    fair_by: str,
    weeks: int = 52,
) -> Year:
    """`weeks` weekly plans of a campaign with `slots`; slot i reaches `factors[i]` times the
    member's `bases`."""
    c = weekly_campaign(slots, fair_by)
    factor = {(d, h): f for (d, h), f in zip(slots, factors, strict=True)}
    base = {f"m{i:03d}": b for i, b in enumerate(bases)}
    zone = c.timezone
    year = Year()
    rounds: list[int] = []
    post_ids = count(1)
    ids: list[int] = []
    for week in range(weeks):
        start = START + timedelta(weeks=week)
        now = start - timedelta(hours=12)  # planned the evening before the week
        reached: dict[str, list[FeatureReach]] = {}
        for (slot, pick), final, pid in zip(year.picks, year.reach, ids, strict=True):
            shown = read_back(final, now - slot.at)
            if shown is not None:
                reached.setdefault(pick.member_id, []).append(
                    FeatureReach(pid, slot.at, slot.channel.value, slot.account, shown)
                )
        members = [
            candidate(i, reach=tuple(reached.get(f"m{i:03d}", ()))) for i in range(len(bases))
        ]
        rotation = Rotation(c, members, {})
        for (slot, pick), r in zip(year.picks, rounds, strict=True):
            rotation.add(pick.member_id, slot.at, r)
        for slot in campaign_slots(c, start, start + timedelta(weeks=1)).slots:
            choice = rotation.pick(slot)
            if isinstance(choice, Gap):
                year.gaps.append(choice)
                continue
            local = slot.at.astimezone(rotation.zone)
            year.picks.append((slot, choice))
            rounds.append(choice.rotation_round)
            ids.append(next(post_ids))
            year.reach.append(base[choice.member_id] * factor[(local.weekday(), local.hour)] * 1000)
    del zone
    return year
