"""Publish a whole calendar against the platform sandboxes by moving one clock forward: the
publisher's and the sandboxes' together, slot by slot, so Instagram posts go out at their slot,
Facebook and YouTube scheduled posts go live when the sandbox reaches their time, and
`reconcile` then finds them live, as weeks of `publish_due` runs would. Used by the demo; the
same code paths as production (only the clock is ours).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings, mark_delta
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
    clock: SimulatedClock | None = None,
    before_step: Callable[[SimulatedClock, datetime], None] | None = None,
) -> Timeline:
    """Run the publisher now and shortly after every approved slot up to `until`, each run
    followed by `reconcile` (production's hourly one: a natively scheduled post is found live
    at the first step after its time), then reconcile at `until`: everything approved in the
    window goes out once. `clock`: the one to move (a caller going on after the calendar keeps
    it); `before_step(clock, when)` runs before the clock moves on to a step, and may move it
    up to that step (the demo's insights readings in between)."""
    clock = clock or SimulatedClock(platforms)
    publisher = Publisher(
        engine, platforms.settings(settings), worker=worker, clock=clock, sleep=clock.sleep
    )
    timeline = Timeline(reconciled=ReconcileReport())
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
    touched: set[int] = set()
    for when in [clock.now, *(slot + STEP_AFTER_SLOT for slot in slots)]:
        if before_step is not None:
            before_step(clock, when)
        clock.advance_to(when)
        take_down(publisher)
        step = publisher.run()
        timeline.steps += 1
        for name in ("published", "scheduled", "retry_later", "failed", "needs_reauth", "moved"):
            getattr(timeline.report, name).extend(getattr(step, name))
        touched.update([*step.published, *step.scheduled])
        if touched:  # only what these sandboxes hold: an earlier run's went to sandboxes gone
            _merge(timeline.reconciled, reconcile(publisher, post_ids=sorted(touched)))
        if on_step is not None:
            on_step(when, step)
    if before_step is not None:
        before_step(clock, until)
    clock.advance_to(until)
    timeline.posts = sorted(touched)
    _merge(timeline.reconciled, reconcile(publisher, post_ids=timeline.posts))
    return timeline


def _merge(into: ReconcileReport | None, step: ReconcileReport) -> None:
    """One reconcile run's outcome added to the calendar's (each post counted once)."""
    assert into is not None
    for name in ("went_live", "links", "removed", "thumbnails"):
        seen = getattr(into, name)
        seen.extend(i for i in getattr(step, name) if i not in seen)
    for name in ("problems", "awaiting_reauth"):
        seen = getattr(into, name)
        seen.extend(p for p in getattr(step, name) if p not in seen)


class InsightsAlong:
    """The `insights` flow's work as the simulated clock moves: the figures of the posts this
    timeline published, read at each step (`step`), then, after the calendar, at each of their
    marks up to `through` (`follow`), so the demo shows figures gathered over days in seconds.
    Only these posts: an earlier demo run's posts went to sandboxes long gone (their ids may
    even be given again by these ones)."""

    def __init__(self, engine: Engine, settings: Settings, platforms: PlatformSandboxes) -> None:
        from ifn_campaign.channels.clients import channel_clients
        from ifn_campaign.insights.reader import InsightsReport

        self.engine = engine
        self.settings = platforms.settings(settings)
        self.clients = channel_clients(self.settings)
        self.posts: set[int] = set()
        self.report = InsightsReport()
        self.runs = 0

    def step(self, when: datetime, published: Iterable[int] = ()) -> None:
        """One insights run at `when`, over the posts published so far."""
        from ifn_campaign.insights.reader import read_due

        self.posts.update(published)
        if not self.posts:
            return
        with Session(self.engine) as session:
            got = read_due(session, self.settings, self.clients, when, post_ids=self.posts)
        self.runs += 1
        self.report.outcomes += got.outcomes
        self.report.waiting += got.waiting
        for channel, calls in got.calls.items():
            self.report.calls[channel] = self.report.calls.get(channel, 0) + calls
        self.report.youtube_units += got.youtube_units

    def catch_up(
        self,
        clock: SimulatedClock,
        until: datetime,
        on_step: Callable[[datetime], None] | None = None,
    ) -> None:
        """Move `clock` to each time a reading of these posts falls due before `until`, reading
        at each: between publish steps days apart, hourly runs would read a "+1h" mark within
        the hour, not at the next step. `on_step(when)` after each reading run."""
        marks = list(self.settings.insights.read_after)
        for when in self._reading_times(clock.now, until, marks):
            clock.advance_to(when)
            self.step(when)
            if on_step is not None:
                on_step(when)

    def follow(
        self,
        clock: SimulatedClock,
        through: str,
        on_step: Callable[[datetime], None] | None = None,
    ) -> None:
        """Move `clock` to each time a reading of these posts falls due, up to the mark
        `through` ("7d"), reading at each: as hourly runs would over the days after;
        `on_step(when)` after each reading run (the demo's notices: receipts follow the
        7-day figures)."""
        last = mark_delta(through)
        marks = [m for m in self.settings.insights.read_after if mark_delta(m) <= last]
        self.step(clock.now)
        if on_step is not None:
            on_step(clock.now)
        for when in self._reading_times(clock.now, datetime.max.replace(tzinfo=UTC), marks):
            clock.advance_to(when)
            self.step(when)
            if on_step is not None:
                on_step(when)

    def _reading_times(self, after: datetime, before: datetime, marks: list[str]) -> list[datetime]:
        """When the readings at `marks` of these posts (those live) fall due, strictly between
        `after` and `before` (a minute after each, as a run shortly after)."""
        if not self.posts:
            return []
        with Session(self.engine) as session:
            lives = [
                at
                for at in session.scalars(
                    select(Post.published_at).where(
                        Post.id.in_(sorted(self.posts)),  # type: ignore[union-attr]
                        Post.state == PostState.PUBLISHED,
                    )
                )
                if at is not None
            ]
        times = {at + mark_delta(m) + STEP_AFTER_SLOT for at in lives for m in marks}
        return sorted(t for t in times if after < t < before)

    def close(self) -> None:
        self.clients.close()
