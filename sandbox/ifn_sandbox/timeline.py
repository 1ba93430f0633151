"""Publish a whole calendar against the platform sandboxes by moving one clock forward: the
publisher's and the sandboxes' together, slot by slot, so Instagram posts go out at their slot,
Facebook and YouTube scheduled posts go live when the sandbox reaches their time, and
`reconcile` then finds them live, as weeks of `publish_due` runs would. Used by the demo; the
same code paths as production (only the clock is ours).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Post, PostState, utcnow
from ifn_campaign.publishing.publisher import (
    Publisher,
    PublishReport,
    ReconcileReport,
    reconcile,
    take_down,
)
from ifn_sandbox.platforms import PlatformSandboxes

STEP_AFTER_SLOT = timedelta(minutes=1)  # a publish_due run shortly after each slot


@dataclass
class Timeline:
    """What publishing the calendar did, step by step and in total."""

    steps: int = 0
    report: PublishReport = field(default_factory=PublishReport)
    reconciled: ReconcileReport | None = None
    posts: list[int] = field(default_factory=list)


class SimulatedClock:
    """The demo's now: starts at the real time and only moves forward, sandboxes included."""

    def __init__(self, platforms: PlatformSandboxes, start: datetime | None = None) -> None:
        self.platforms = platforms
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        """The publisher's wait for a slot (`Publisher.sleep`): time moves on, nobody sleeps."""
        self.advance_to(self.now + timedelta(seconds=seconds))

    def advance_to(self, when: datetime) -> None:
        if when <= self.now:
            return
        seconds = (when - self.now).total_seconds()
        self.platforms.graph.advance(seconds)
        self.platforms.youtube.advance(seconds)
        self.now = when


def publish_calendar(
    engine: Engine,
    settings: Settings,
    platforms: PlatformSandboxes,
    until: datetime,
    *,
    worker: str = "demo",
    on_step: Callable[[datetime, PublishReport], None] | None = None,
) -> Timeline:
    """Run the publisher now and shortly after every approved slot up to `until`, then
    reconcile at `until`: everything approved in the window goes out once."""
    clock = SimulatedClock(platforms)
    publisher = Publisher(
        engine, platforms.settings(settings), worker=worker, clock=clock, sleep=clock.sleep
    )
    timeline = Timeline()
    with Session(engine) as session:
        slots = sorted(
            set(
                session.scalars(
                    select(Post.slot_at).where(
                        Post.state == PostState.APPROVED,
                        Post.slot_at > clock.now,
                        Post.slot_at <= until,
                    )
                )
            )
        )
    for when in [clock.now, *(slot + STEP_AFTER_SLOT for slot in slots)]:
        clock.advance_to(when)
        take_down(publisher)
        step = publisher.run()
        timeline.steps += 1
        for name in ("published", "scheduled", "retry_later", "failed", "needs_reauth", "moved"):
            getattr(timeline.report, name).extend(getattr(step, name))
        if on_step is not None:
            on_step(when, step)
    clock.advance_to(until)
    touched = {*timeline.report.published, *timeline.report.scheduled}
    timeline.posts = sorted(touched)
    # only what these sandboxes hold: posts of an earlier run went to sandboxes long gone
    timeline.reconciled = reconcile(publisher, post_ids=timeline.posts)
    return timeline
