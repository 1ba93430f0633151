"""Posts published on the platform sandboxes through their APIs (an Instagram image, a Facebook
Page post, a YouTube upload) and stored as published posts, for the insights reader's tests:
the reader then reads them back over real sockets while the tests move the sandboxes' clock."""

from __future__ import annotations

import io
import json
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.channels import instagram
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.clients import ChannelClients, Tuning
from ifn_campaign.config import Settings
from ifn_campaign.insights.reader import InsightsReport, read_due
from ifn_campaign.models import InsightMetric, InsightReading, Member, Post, PostState
from ifn_campaign.secrets import secret
from ifn_sandbox.graph import GraphAccount
from ifn_sandbox.http import RequestRecord
from ifn_sandbox.platforms import ACCOUNT, PlatformSandboxes
from ifn_sandbox.sample import store_generated_members

FAST = Tuning(graph_retries=2, graph_backoff_factor=0.001, graph_backoff_max=0.01, graph_jitter=0)
"""The publisher's clients with waits too short to notice (the retries themselves stay)."""
IMAGE = "insights-square.jpg"
PAGE = GraphAccount().page_id
IG = GraphAccount().ig_user_id


@dataclass
class Sandboxed:
    """A migrated database with members, the three platform sandboxes and settings for them."""

    engine: Engine
    settings: Settings
    platforms: PlatformSandboxes
    members: list[str]
    made: int = 0
    clients_made: list[ChannelClients] = field(default_factory=list)

    # --- time ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.platforms.graph.now()

    def advance(self, delta: timedelta) -> datetime:
        """Move both sandboxes' clocks (the reader is given `now()` as its time)."""
        seconds = delta.total_seconds()
        self.platforms.youtube.advance(seconds)
        return self.platforms.graph.advance(seconds)

    # --- publishing ---------------------------------------------------------------------

    def clients(self) -> ChannelClients:
        """Fresh clients (a run's), closed when the test ends; YouTube's retries do not sleep."""
        made = ChannelClients(self.settings, secret, tuning=FAST)
        made.youtube(ACCOUNT)._sleep = lambda _s: None
        self.clients_made.append(made)
        return made

    def publish(self, channel: str, n: int = 1) -> list[int]:
        """`n` posts published now on `channel` through the sandbox's API and stored published
        (published_at the sandbox's now, remote_id what the platform answered)."""
        clients = self.clients()
        remote: list[str] = []
        for _ in range(n):
            self.made += 1
            caption = f"Sorotan anggota IFN no. {self.made}"
            if channel == Channel.FACEBOOK:
                graph = clients.graph(Channel.FACEBOOK, ACCOUNT)
                remote.append(str(graph.post(f"/{PAGE}/feed", {"message": caption})["id"]))
            elif channel == Channel.INSTAGRAM:
                graph = clients.graph(Channel.INSTAGRAM, ACCOUNT)
                url = f"{self.platforms.media.url}/{IMAGE}"
                container = instagram.create_image_container(graph, IG, url, caption)
                instagram.wait_until_finished(graph, container, sleep=self._pass)
                remote.append(instagram.publish(graph, IG, container))
            else:
                youtube = clients.youtube(ACCOUNT)
                snippet = {"title": caption, "description": caption, "categoryId": "22"}
                data = random.Random(self.made).randbytes(2048)
                session_url = youtube.start_upload(
                    None,
                    snippet,
                    {"privacyStatus": "public"},
                    size=len(data),
                    content_type="video/mp4",
                )
                path = Path(self.settings.cards.cache_dir) / f"video-{self.made}.mp4"
                path.write_bytes(data)
                remote.append(str(youtube.upload(session_url, path)["id"]))
        return self.store(channel, remote)

    def publish_carousel(self, items: int = 3) -> tuple[int, list[str]]:
        """An Instagram carousel published now: its post id (remote_id the parent album, as the
        publisher stores it) and the carousel items' container ids."""
        graph = self.clients().graph(Channel.INSTAGRAM, ACCOUNT)
        url = f"{self.platforms.media.url}/{IMAGE}"
        children = [
            instagram.create_image_container(graph, IG, url, None, is_carousel_item=True)
            for _ in range(items)
        ]
        for child in children:
            instagram.wait_until_finished(graph, child, sleep=self._pass)
        self.made += 1
        album = instagram.create_carousel_container(graph, IG, children, f"Album {self.made}")
        instagram.wait_until_finished(graph, album, sleep=self._pass)
        media = instagram.publish(graph, IG, album)
        return self.store(Channel.INSTAGRAM, [media])[0], children

    def _pass(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))

    def store(self, channel: str, remote_ids: list[str], at: datetime | None = None) -> list[int]:
        """Published posts with these remote ids, live at `at` (default: the sandbox's now)."""
        live = at or self.now()
        with Session(self.engine) as session:
            posts = [
                Post(
                    campaign="uji-insights",
                    channel=channel,
                    account=ACCOUNT,
                    slot_at=live + timedelta(seconds=i),
                    member_id=self.members[(self.made + i) % len(self.members)],
                    template="sorotan",
                    reason_id="uji",
                    reason_en="test",
                    state=PostState.PUBLISHED,
                    state_changed_at=live,
                    created_at=live - timedelta(days=1),
                    remote_id=remote_id,
                    published_at=live,
                )
                for i, remote_id in enumerate(remote_ids)
            ]
            session.add_all(posts)
            session.commit()
            return [p.id or 0 for p in posts]

    # --- reading ------------------------------------------------------------------------

    def read(
        self,
        *,
        limit: int | None = None,
        settings: Settings | None = None,
        tuning: Tuning = FAST,
    ) -> InsightsReport:
        """One insights run at the sandboxes' now, with fresh clients (as a new flow run)."""
        cfg = settings or self.settings
        clients = ChannelClients(cfg, secret, tuning=tuning)
        clients.youtube(ACCOUNT)._sleep = lambda _s: None
        self.clients_made.append(clients)
        with Session(self.engine) as session:
            return read_due(session, cfg, clients, self.now(), limit=limit)

    def readings(self) -> list[InsightReading]:
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(InsightReading).order_by(InsightReading.post_id, InsightReading.due_at)
                )
            )

    def metrics(self, reading_id: int) -> dict[str, int]:
        with Session(self.engine) as session:
            return {
                m.metric: m.value
                for m in session.scalars(
                    select(InsightMetric).where(InsightMetric.reading_id == reading_id)
                )
            }

    def post(self, post_id: int) -> Post:
        with Session(self.engine) as session:
            found = session.get(Post, post_id)
            assert found is not None
            session.expunge(found)
            return found

    def reads(self) -> list[RequestRecord]:
        """The insights calls the sandboxes logged (field expansion, videos.list statistics)."""
        graph = [r for r in self.platforms.graph.requests if "ids" in r.params]
        youtube = [
            r
            for r in self.platforms.youtube.requests
            if r.path.endswith("/videos") and r.params.get("part") == "statistics"
        ]
        return graph + youtube

    def close(self) -> None:
        for made in self.clients_made:
            made.close()


def batches(n: int, size: int = 50) -> int:
    return math.ceil(n / size)


def asked_ids(record: RequestRecord) -> list[str]:
    raw = record.params.get("ids") or record.params.get("id") or ""
    return [i for i in raw.split(",") if i]


@contextmanager
def sandboxed(engine: Engine, folder: Path, **insights: Any) -> Iterator[Sandboxed]:
    """The sandboxes (Instagram's publishing cap raised: tests publish many posts at once;
    YouTube's units raised for the uploads, insights' own share counted by us), members in the
    database, and settings with `insights` overrides."""
    cards = folder / "cards"
    cards.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (1080, 1080), (200, 120, 40)).save(buffer, "JPEG")
    (cards / IMAGE).write_bytes(buffer.getvalue())
    platforms = PlatformSandboxes(cards, publish_quota=10_000, max_hashtags=30)
    platforms.youtube.daily_units = 10_000_000
    platforms.youtube.daily_uploads = 10_000
    with platforms:
        base = Settings(database={"url": engine.url.render_as_string(hide_password=False)})
        settings = platforms.settings(base)
        settings = settings.model_copy(
            update={"insights": settings.insights.model_copy(update=insights)}
        )
        with Session(engine) as session:
            store_generated_members(session, 12, now=platforms.graph.now() - timedelta(days=60))
            session.commit()
            members = list(session.scalars(select(Member.id).order_by(Member.id)))
        world = Sandboxed(engine, settings, platforms, members)
        try:
            yield world
        finally:
            world.close()


def dump(report: InsightsReport) -> str:
    """A report as text, for assertion messages."""
    return json.dumps(
        {"outcomes": [o.__dict__ for o in report.outcomes], "waiting": report.waiting},
        default=str,
        indent=1,
    )
