"""Planner benchmark: one year of slots for 10,000 members across three channels.

For each membership size it plans, into a fresh SQLite database of generated members:
- baseline: load the members, expand the slot calendar and write one post per slot for members
  taken in id order (no rules at all): the floor set by reading, calendars and writing;
- the shipped weekly campaign (Instagram Tue+Thu, Facebook Wed, YouTube Fri: about 205 slots);
- a dense campaign (Instagram twice a day, Facebook and YouTube daily: about 1,460 slots);
- a re-plan of the dense year (everything kept), the nightly case.
Each is timed wall-clock, then peak Python memory (tracemalloc) is taken in a second pass.
Goal: a year for 10,000 members in under 5 s; memory flat in the number of members.

Run: `make bench-plan`, or `.venv/bin/python bench/plan_bench.py --sizes 2500 10000`.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.models import Post, PostState
from ifn_campaign.planner.budget import limits_from
from ifn_campaign.planner.campaign import Campaign, load_campaigns
from ifn_campaign.planner.eligibility import load_candidates
from ifn_campaign.planner.plan import plan_campaign
from ifn_campaign.planner.slots import campaign_slots
from ifn_sandbox.sample import store_generated_members

START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2028, 1, 1, tzinfo=UTC)
NOW = START - timedelta(days=1)
LIMITS = limits_from(Settings())


def dense() -> Campaign:
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return Campaign.model_validate(
        {
            "name": "harian",
            "title": "Sorotan Harian",
            "start": date(2027, 1, 1),
            "holidays": "move",
            "cooldown_days": 90,
            "channels": [
                {
                    "channel": "instagram",
                    "slots": [{"days": every_day, "time": t} for t in ("12:00", "19:00")],
                },
                {"channel": "facebook", "slots": [{"days": every_day, "time": "18:30"}]},
                {"channel": "youtube", "slots": [{"days": every_day, "time": "17:00"}]},
            ],
            # 28 posts a week: caps sized for a daily campaign, not the weekly defaults
            "diversity": {
                "max_in_a_row": {"category": 2, "province": 2, "actor_type": 3},
                "max_per_week": {"category": 8, "province": 10, "actor_type": 0},
            },
        },
        context={"source": "toml"},
    )


def baseline(session: Session, campaign: Campaign) -> int:
    """Read, expand, write: the same volume of work with no rules."""
    ids = [c.id for c in load_candidates(session, None, NOW)]
    slots = campaign_slots(campaign, START, END).slots
    rows: list[dict[str, Any]] = [
        {
            "campaign": campaign.name,
            "channel": slot.channel.value,
            "account": slot.account,
            "slot_at": slot.at,
            "member_id": ids[i % len(ids)],
            "template": slot.template,
            "rotation_round": 1,
            "pinned": False,
            "reason_id": "urut",
            "reason_en": "in order",
            "state": PostState.PLANNED,
            "state_changed_at": NOW,
            "created_at": NOW,
        }
        for i, slot in enumerate(slots)
    ]
    session.execute(insert(Post), rows)
    return len(rows)


def planned(session: Session, campaign: Campaign) -> int:
    result = plan_campaign(session, campaign, LIMITS, START, END, NOW)
    return sum(line.action in ("planned", "kept") for line in result.lines)


def _bind(work: Callable[[Session, Campaign], int], c: Campaign) -> Callable[[Session], int]:
    return lambda session: work(session, c)


def measure(
    engine: Any, work: Callable[[Session], int], *, keep: bool = False
) -> tuple[float, float, int]:
    """Seconds (wall clock), peak MiB (tracemalloc, separate pass) and posts."""
    with Session(engine) as session:
        t0 = time.perf_counter()
        posts = work(session)
        seconds = time.perf_counter() - t0
        session.rollback()
    with Session(engine) as session:
        tracemalloc.start()
        work(session)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        if keep:
            session.commit()
        else:
            session.rollback()
    return seconds, peak, posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 10000])
    args = parser.parse_args()
    weekly = load_campaigns()["sorotan-anggota"].model_copy(update={"start": date(2027, 1, 1)})
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            engine = store.make_engine(f"sqlite:///{Path(tmp) / 'plan.db'}")
            store.upgrade(engine)
            t0 = time.perf_counter()
            with Session(engine) as session:
                store_generated_members(session, n, now=NOW - timedelta(days=30))
                session.commit()
            print(f"{n} members stored in {time.perf_counter() - t0:.1f} s", flush=True)
            year = dense()
            cases: list[tuple[str, Callable[[Session], int], bool]] = [
                ("baseline: read, expand, write (dense)", _bind(baseline, year), False),
                ("plan a year, weekly campaign", _bind(planned, weekly), False),
                ("plan a year, dense campaign", _bind(planned, year), True),
                ("re-plan the dense year (all kept)", _bind(planned, year), False),
            ]
            for label, work, keep in cases:
                seconds, peak, posts = measure(engine, work, keep=keep)
                rows.append((label, n, posts, seconds, peak))
                print(f"  {label}: {seconds:.2f} s, {peak:.1f} MiB, {posts} posts", flush=True)
            engine.dispose()  # the folder and its database go with it
    print()
    print(f"machine: {platform.platform()}, Python {platform.python_version()}, {date.today()}")
    print("| what | members | posts | seconds | peak MiB |")
    print("|---|---:|---:|---:|---:|")
    for label, n, posts, seconds, peak in rows:
        print(f"| {label} | {n} | {posts} | {seconds:.2f} | {peak:.1f} |")
    print("\ngoal: a year for 10,000 members in under 5 s; peak memory flat across sizes")


if __name__ == "__main__":
    main()
