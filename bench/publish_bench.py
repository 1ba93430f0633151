"""Publishing benchmark: 1,000 due posts to Instagram, Facebook and YouTube, 100 ms a call.

Setup (not timed): a fresh SQLite file with generated members and about 1,000 approved posts
spread over the three channels (Instagram due now; Facebook half natively scheduled 1-29 days
ahead, half due now; YouTube within the upload window, so uploaded with publishAt). The posts
point at a handful of pre-made JPEGs of the right sizes (plain generated images, not member
cards: drawing 1,000 real cards would measure the renderer, not publishing) and the Shorts all
reuse one MP4 made once with `make_short` (`make_video=`), whose own time is reported apart.

Each run copies that database, starts fresh sandboxes (Graph, YouTube, media host) with a `slow`
fault of `--latency` seconds on every route, and runs `--publishers` Publishers at once, one
thread each with its own `wiring.Resources` (the engine and the channel clients, as a worker
process wires them), on the same SQLite file. Measured: wall time,
posts/s, API calls per post per platform (the sandboxes' request logs, grouped by route), time
slept in the Graph and YouTube clients (usage-header pauses, i.e. rate limits, and retry
backoff) and in the Instagram container poll, and posts deferred by a limit.

Baseline, same run: the minimum calls for one post of each kind made with plain `requests` against
the same sandboxes (docs/reference/platforms.md: Instagram create, one status poll, media_publish,
permalink; Facebook photos, plus a read-back of the permalink when published at once; YouTube start
a resumable session, PUT the file in one piece, thumbnails.set; the OAuth token once per process,
not per post), so the floor of a run is latency x minimum calls.

Run: `make bench-publish`, or e.g. `.venv/bin/python bench/publish_bench.py --posts 300
--publishers 1 2`.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from machine import describe as describe_machine
from PIL import Image, ImageDraw
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cards.shorts import make_short
from ifn_campaign.channels import instagram
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.clients import ChannelClients
from ifn_campaign.config import AccountSettings, Settings
from ifn_campaign.models import Member, Post, PostState
from ifn_campaign.publishing.publisher import Publisher, PublishReport
from ifn_campaign.secrets import env_name
from ifn_campaign.wiring import Resources
from ifn_sandbox.graph import GraphAccount
from ifn_sandbox.http import Fault, RequestRecord
from ifn_sandbox.platforms import ACCOUNT, PlatformSandboxes
from ifn_sandbox.sample import store_generated_members

CAMPAIGN = "bench-publish"
CHANNELS = ("instagram", "facebook", "youtube")
FORMATS = {  # compose.py's formats (templates/cards/formats.toml sizes)
    "ig_portrait": (1080, 1350),
    "fb_feed": (1200, 630),
    "shorts_frame": (1080, 1920),
    "yt_thumbnail": (1280, 720),
}
VARIANTS = 4  # distinct files per format
# Instagram's strict default (docs/reference/platforms.md), sandbox and settings alike
PUBLISH_QUOTA = 50
# The reused Short is encoded with x264's veryfast (0.5 MiB for 8 s of a generated card), so it
# goes up in one 2 MiB chunk, as in every run in bench/RESULTS.md; make_short's default
# (superfast since issue 15) makes 2.2 MiB here: two chunks, one more call per YouTube post.
SHORT_PRESET = "veryfast"


# --- setup ------------------------------------------------------------------------------------


def make_cards(folder: Path) -> dict[str, list[Path]]:
    """A few JPEGs per format with some detail (gradients, bands), so they weigh like cards."""
    folder.mkdir(parents=True, exist_ok=True)
    cards: dict[str, list[Path]] = {}
    for name, (width, height) in FORMATS.items():
        cards[name] = []
        for v in range(VARIANTS):
            image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
            draw = ImageDraw.Draw(image)
            for y in range(0, height, 37):
                draw.rectangle((0, y, width, y + 9), fill=(40 * v % 255, 90, 160 - 20 * v))
            draw.text((60, 60), f"IFN bench {name} {v}", fill=(255, 255, 255))
            path = folder / f"bench-{name}-{v}.jpg"
            image.save(path, "JPEG", quality=88)
            cards[name].append(path)
    return cards


def graph_accounts(n: int) -> list[GraphAccount]:
    return [
        GraphAccount(
            page_id=str(100000000000001 + i),
            page_name=f"IFN bench Page {i}",
            ig_user_id=str(17841400000000001 + i),
            ig_username=f"ifn.bench{i}",
            token=f"sandbox-page-token-{i}",
        )
        for i in range(n)
    ]


def graph_secret(i: int) -> str:
    return f"bench-graph-token-{i}"


def setup_db(db: Path, n_posts: int, n_accounts: int, cards: dict[str, list[Path]]) -> Counter[str]:
    """Members and approved, composed posts with due slots, straight into a fresh database."""
    engine = store.make_engine(f"sqlite:///{db}")
    store.upgrade(engine)
    now = datetime.now(UTC)
    counts: Counter[str] = Counter()
    with Session(engine) as session:
        store_generated_members(session, n_posts, now=now - timedelta(days=30))
        session.commit()
        members = session.execute(select(Member.id, Member.business_name).order_by(Member.id)).all()
        rows: list[dict[str, Any]] = []
        for i in range(n_posts):
            channel = CHANNELS[i % 3]
            k = i // 3  # index within the channel
            member_id, name = members[i % len(members)]
            account = f"bench{k % n_accounts}" if channel != "youtube" else ACCOUNT
            caption = (
                f"Sorotan anggota IFN no. {i}: {name}. Alas kaki buatan Indonesia, "
                "dibuat dengan bangga. #IFN #SepatuIndonesia #BuatanIndonesia"
            )
            row: dict[str, Any] = {
                "campaign": CAMPAIGN,
                "channel": channel,
                "account": account,
                "member_id": member_id,
                "template": "sorotan",
                "rotation_round": 1,
                "pinned": False,
                "reason_id": "bench",
                "reason_en": "benchmark",
                "state": PostState.APPROVED,
                "state_changed_at": now,
                "created_at": now,
                "caption": caption,
                "caption_lang": "id",
                "reviewed_by": "staff:bench",
                "reviewed_at": now,
            }
            if channel == "instagram":
                row["slot_at"] = now - timedelta(seconds=60 + i)
                row["card_path"] = str(cards["ig_portrait"][k % VARIANTS])
                counts["instagram"] += 1
            elif channel == "facebook":
                row["card_path"] = str(cards["fb_feed"][k % VARIANTS])
                if k % 2 == 0:  # natively scheduled, 1 to 29 days ahead
                    row["slot_at"] = now + timedelta(days=1 + k % 28, minutes=k)
                    counts["facebook_native"] += 1
                else:
                    row["slot_at"] = now - timedelta(seconds=60 + i)
                    counts["facebook_now"] += 1
            else:  # inside the 24 h upload window: uploaded now with publishAt
                row["slot_at"] = now + timedelta(minutes=45 + i)
                row["card_path"] = str(cards["shorts_frame"][k % VARIANTS])
                row["thumbnail_path"] = str(cards["yt_thumbnail"][k % VARIANTS])
                row["title"] = f"Sorotan anggota IFN: {name}"[:100]
                row["tags"] = ["IFN", "sepatu", "Indonesia", "UMKM"]
                counts["youtube"] += 1
            rows.append(row)
        session.execute(insert(Post), rows)
        session.commit()
    engine.dispose()
    return counts


# --- measuring --------------------------------------------------------------------------------


class Waits:
    """Seconds slept, by why (thread-safe): the sleep given to the clients records, then sleeps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: Counter[str] = Counter()
        self.count: Counter[str] = Counter()

    def add(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.seconds[kind] += seconds
            self.count[kind] += 1

    def graph_sleep(self, seconds: float) -> None:
        # GraphClient sleeps in _wait_for_budget (usage headers: a rate limit) or in _call
        # (retry backoff after a transient failure)
        caller = sys._getframe(1).f_code.co_name
        self.add(
            "rate limit (Graph usage pause)" if caller == "_wait_for_budget" else "retry", seconds
        )
        time.sleep(seconds)

    def youtube_sleep(self, seconds: float) -> None:
        self.add("retry (YouTube)", seconds)
        time.sleep(seconds)

    def poll_sleep(self, seconds: float) -> None:
        self.add("Instagram container poll", seconds)
        time.sleep(seconds)


def record_sleeps(clients: ChannelClients, waits: Waits) -> None:
    """Make the transport of every configured account now (`ChannelClients` keeps one per
    account, and each adapter uses it) and give it the recording sleep, so rate-limit pauses and
    retry backoff are counted. The clients take `sleep` only when built, and `channel_clients`
    builds them with `time.sleep`, so it is swapped on each (the attribute the clients document
    as swappable for tests)."""
    for channel, name in clients:
        if channel == Channel.YOUTUBE:
            clients.youtube(name)._sleep = waits.youtube_sleep
        else:
            clients.graph(channel, name)._sleep = waits.graph_sleep


class Stopped(BaseException):
    """The bench stops a run (a publisher quit early; what is left is a 1-publisher run)."""


class TimedPublisher(Publisher):
    """Times each post's `publish` (its remote calls and commits), by channel.

    `claim_loop`: `run` claims `batch` posts at a time and keeps claiming while posts are due
    (the bench's stand-in, first for the fix of a `run` that stopped at its first empty claim,
    now for the batch claims the stock `run` gave up: it claims one post at a time, so a killed
    worker strands only the post in flight)."""

    def __init__(
        self, *args: Any, stop: threading.Event, claim_loop: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.seconds: defaultdict[str, list[float]] = defaultdict(list)
        self.stop = stop
        self.claim_loop = claim_loop
        self.empty_claims = 0

    def run(self, batch: int = 10) -> PublishReport:
        if not self.claim_loop:
            return super().run(batch)
        report = PublishReport()
        with Session(self.engine) as session:
            while True:
                posts = self.claim(session, self.clock(), batch)
                if not posts:
                    if not self.due(session, self.clock()):
                        break
                    self.empty_claims += 1  # lost the race for this batch: claim again
                    continue
                for post in posts:
                    self.publish(session, post, report)
        return report

    def publish(self, session: Session, post: Post, report: PublishReport) -> None:
        if self.stop.is_set():
            raise Stopped
        channel = post.channel
        started = time.perf_counter()
        super().publish(session, post, report)
        self.seconds[channel].append(time.perf_counter() - started)


def route(record: RequestRecord, ig_users: set[str]) -> tuple[str, str]:
    """(platform, route) of one logged request, ids replaced by what they name."""
    path = record.path
    if path == "/token":
        return "youtube", "POST /token (OAuth refresh)"
    if path == "/upload/youtube/v3/videos":
        if record.method == "POST":
            return "youtube", "POST /upload/videos (open resumable session)"
        if not record.body:
            return "youtube", "PUT session, empty (bytes */total: how far?)"
        return "youtube", "PUT session, bytes (chunk)"
    if path.startswith("/upload/youtube/v3/thumbnails/set"):
        return "youtube", "POST /upload/thumbnails/set"
    if path.startswith("/youtube/v3/"):
        return "youtube", f"{record.method} {path.removeprefix('/youtube/v3')}"
    parts = [p for p in path.split("/") if p]
    if parts and parts[0].startswith("v"):
        parts = parts[1:]
    if len(parts) == 2:
        if parts[0] in ig_users:
            return "instagram", f"{record.method} /{{ig-user}}/{parts[1]}"
        return "facebook", f"{record.method} /{{page}}/{parts[1]}"
    fields = record.params.get("fields", "")
    if "status_code" in fields:
        return "instagram", f"GET /{{container}}?fields={fields}"
    if fields == "permalink":
        return "instagram", "GET /{media}?fields=permalink"
    if "permalink_url" in fields:
        return "facebook", "GET /{post}?fields=permalink_url,... (read back)"
    return "other", f"{record.method} /{{id}}?fields={fields}"


@dataclass
class RunResult:
    publishers: int
    seconds: float
    report: PublishReport
    routes: Counter[tuple[str, str]]
    waits: Waits
    post_seconds: dict[str, list[float]]
    per_thread: list[tuple[int, float]]  # posts handled, seconds
    states: Counter[str]
    errors_by_route: Counter[tuple[str, str]] = field(default_factory=Counter)
    claim_loop: bool = False
    early: list[str] = field(default_factory=list)
    empty_claims: int = 0


def start_sandboxes(
    cards_dir: Path, accounts: list[GraphAccount], latency: float, ready_after: float
) -> PlatformSandboxes:
    platforms = PlatformSandboxes(
        cards_dir,
        accounts=accounts,
        container_ready_after=ready_after,
        publish_quota=PUBLISH_QUOTA,
        # Page tokens count against each Page's and account's budget (BUC, 1,000/h here);
        # the app-wide budget is raised: 1,000/h would stop the run after about 450 posts
        app_calls_per_hour=20_000,
    )
    # One project publishing 333 Shorts a day needs a quota extension (default: 100 uploads,
    # 10,000 units = 200 thumbnails): raised here, and in our settings alike.
    platforms.youtube.daily_uploads = 10_000
    platforms.youtube.daily_units = 1_000_000
    platforms.start()
    for sandbox in (platforms.graph, platforms.youtube):
        sandbox.faults.add(Fault("/", "slow", delay=latency, times=None))
    return platforms


def bench_settings(
    platforms: PlatformSandboxes, url: str, accounts: list[GraphAccount]
) -> Settings:
    settings = platforms.settings(Settings(database={"url": url}))
    for i, account in enumerate(accounts):
        os.environ[env_name(graph_secret(i))] = account.token
    return settings.model_copy(
        update={
            "instagram": settings.instagram.model_copy(update={"posts_per_24h": PUBLISH_QUOTA}),
            "youtube": settings.youtube.model_copy(update={"uploads_per_day": 10_000}),
            "publish": settings.publish.model_copy(update={"max_posts": 100_000}),
            "accounts": {
                "instagram": {
                    f"bench{i}": AccountSettings(
                        ig_user_id=a.ig_user_id, token_secret=graph_secret(i)
                    )
                    for i, a in enumerate(accounts)
                },
                "facebook": {
                    f"bench{i}": AccountSettings(page_id=a.page_id, token_secret=graph_secret(i))
                    for i, a in enumerate(accounts)
                },
                "youtube": settings.accounts["youtube"],
            },
        }
    )


def run_publishers(
    template: Path,
    workdir: Path,
    cards_dir: Path,
    video: Path,
    n_publishers: int,
    n_accounts: int,
    latency: float,
    ready_after: float,
    claim_loop: bool,
) -> RunResult:
    db = workdir / f"run-{n_publishers}-{int(claim_loop)}.db"
    with sqlite3.connect(template) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    url = f"sqlite:///{db}"
    accounts = graph_accounts(n_accounts)
    platforms = start_sandboxes(cards_dir, accounts, latency, ready_after)
    waits = Waits()
    saved_poll = instagram.wait_until_finished.__kwdefaults__["sleep"]
    instagram.wait_until_finished.__kwdefaults__["sleep"] = waits.poll_sleep
    try:
        settings = bench_settings(platforms, url, accounts)
        barrier = threading.Barrier(n_publishers + 1)
        reports: list[PublishReport] = [PublishReport() for _ in range(n_publishers)]
        publishers: list[TimedPublisher] = []
        per_thread: list[tuple[int, float]] = [(0, 0.0)] * n_publishers
        errors: list[BaseException] = []
        stop = threading.Event()
        early: list[str] = []  # a publisher that returned while posts were still due

        def reuse(_post: Post, _folder: Path) -> Path:
            return video

        def work(k: int) -> None:
            # what production wires: the engine and the channel clients of `Resources`, one per
            # publisher (as each worker process has its own); `make_video` reuses the one Short
            res = Resources(settings)
            clients = res.channel_clients()
            record_sleeps(clients, waits)
            publisher = TimedPublisher(
                res.engine,
                res.settings,
                clients=clients,
                worker=f"bench-publisher-{k}",
                make_video=reuse,
                stop=stop,
                claim_loop=claim_loop,
            )
            publishers.append(publisher)
            barrier.wait()
            started = time.perf_counter()
            try:
                reports[k] = publisher.run()
                handled = sum(len(s) for s in publisher.seconds.values())
                with res.session() as session:
                    due = len(publisher.due(session, publisher.clock()))
                if due and not stop.is_set():
                    early.append(
                        f"publisher {k} returned after {handled} posts at "
                        f"{time.perf_counter() - started:.1f} s while {due} posts were still due"
                    )
                    stop.set()
            except Stopped:
                pass
            except BaseException as exc:
                errors.append(exc)
            finally:
                handled = sum(len(s) for s in publisher.seconds.values())
                per_thread[k] = (handled, time.perf_counter() - started)
                res.close()

        threads = [threading.Thread(target=work, args=(k,)) for k in range(n_publishers)]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        if errors:
            raise errors[0]
        report = PublishReport()
        for r in reports:
            for name in (
                "published",
                "scheduled",
                "retry_later",
                "failed",
                "needs_reauth",
                "moved",
            ):
                getattr(report, name).extend(getattr(r, name))
        ig_users = {a.ig_user_id for a in accounts}
        routes: Counter[tuple[str, str]] = Counter()
        errors_by_route: Counter[tuple[str, str]] = Counter()
        for sandbox in (platforms.graph, platforms.youtube):
            for record in sandbox.requests:
                key = route(record, ig_users)
                routes[key] += 1
                if record.status is None or record.status >= 400:
                    errors_by_route[key] += 1
        post_seconds: defaultdict[str, list[float]] = defaultdict(list)
        for p in publishers:
            for channel, values in p.seconds.items():
                post_seconds[channel] += values
        engine = store.make_engine(url)
        with Session(engine) as session:
            states = Counter(
                {
                    f"{channel} {state}": n
                    for channel, state, n in session.execute(
                        select(Post.channel, Post.state, func.count()).group_by(
                            Post.channel, Post.state
                        )
                    )
                }
            )
        engine.dispose()
        return RunResult(
            n_publishers,
            seconds,
            report,
            routes,
            waits,
            dict(post_seconds),
            per_thread,
            states,
            errors_by_route,
            claim_loop,
            early,
            sum(p.empty_claims for p in publishers),
        )
    finally:
        instagram.wait_until_finished.__kwdefaults__["sleep"] = saved_poll
        platforms.stop()


# --- the baseline: minimum calls with plain requests -------------------------------------------


def baseline(
    cards: dict[str, list[Path]],
    cards_dir: Path,
    video: Path,
    latency: float,
    ready_after: float,
    repeat: int,
) -> dict[str, tuple[float, int]]:
    """Seconds per post (mean of `repeat`) and calls, per kind of post, for the bare minimum."""
    accounts = graph_accounts(1)
    platforms = start_sandboxes(cards_dir, accounts, latency, ready_after)
    try:
        account = accounts[0]
        graph = f"{platforms.graph.url}/v25.0"
        media = platforms.media.url
        http = requests.Session()
        auth = {"Authorization": f"Bearer {account.token}"}
        yt = platforms.youtube
        token = http.post(
            f"{yt.url}/token",
            data={
                "grant_type": "refresh_token",
                "client_id": yt.client_id,
                "client_secret": yt.client_secret,
                "refresh_token": yt.channels[0].refresh_token,
            },
        ).json()["access_token"]
        yt_auth = {"Authorization": f"Bearer {token}"}
        body = video.read_bytes()
        thumb = cards["yt_thumbnail"][0].read_bytes()

        def url_of(path: Path) -> str:
            return f"{media}/{path.relative_to(cards_dir).as_posix()}"

        def ig(i: int) -> int:
            made = http.post(
                f"{graph}/{account.ig_user_id}/media",
                data={"image_url": url_of(cards["ig_portrait"][0]), "caption": f"Baseline {i}"},
                headers=auth,
            )
            container = made.json()["id"]
            calls = 1
            time.sleep(ready_after)  # knowing when it is ready: one poll is the minimum
            while True:
                calls += 1
                status = http.get(
                    f"{graph}/{container}", params={"fields": "status_code"}, headers=auth
                ).json()["status_code"]
                if status == "FINISHED":
                    break
                time.sleep(0.05)
            media_id = http.post(
                f"{graph}/{account.ig_user_id}/media_publish",
                data={"creation_id": container},
                headers=auth,
            ).json()["id"]
            link = http.get(f"{graph}/{media_id}", params={"fields": "permalink"}, headers=auth)
            assert link.json()["permalink"]
            return calls + 2

        def fb(i: int, native: bool) -> int:
            data = {"url": url_of(cards["fb_feed"][0]), "caption": f"Baseline {i} {native}"}
            if native:
                when = int((datetime.now(UTC) + timedelta(days=2, minutes=i)).timestamp())
                data |= {"published": "false", "scheduled_publish_time": str(when)}
            made = http.post(f"{graph}/{account.page_id}/photos", data=data, headers=auth)
            post_id = made.json()["post_id"]
            if native:
                return 1
            read = http.get(f"{graph}/{post_id}", params={"fields": "permalink_url"}, headers=auth)
            assert read.json()["permalink_url"]
            return 2

        def youtube(i: int) -> int:
            publish_at = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
            resource = {
                "snippet": {"title": f"Baseline {i}", "description": "", "categoryId": "22"},
                "status": {"privacyStatus": "private", "publishAt": publish_at},
            }
            opened = http.post(
                f"{yt.url}/upload/youtube/v3/videos",
                params={"uploadType": "resumable", "part": "snippet,status"},
                json=resource,
                headers={
                    **yt_auth,
                    "X-Upload-Content-Length": str(len(body)),
                    "X-Upload-Content-Type": "video/mp4",
                },
            )
            done = http.put(opened.headers["Location"], data=body, headers=yt_auth)
            video_id = done.json()["id"]
            thumb_set = http.post(
                f"{yt.url}/upload/youtube/v3/thumbnails/set",
                params={"videoId": video_id},
                data=thumb,
                headers={**yt_auth, "Content-Type": "image/jpeg"},
            )
            assert thumb_set.status_code == 200, thumb_set.text
            return 3

        kinds: dict[str, Callable[[int], int]] = {
            "instagram": ig,
            "facebook_native": lambda i: fb(i, True),
            "facebook_now": lambda i: fb(i, False),
            "youtube": youtube,
        }
        out: dict[str, tuple[float, int]] = {}
        for kind, fn in kinds.items():
            fn(-1)  # warm the connection
            started = time.perf_counter()
            calls = [fn(i) for i in range(repeat)]
            out[kind] = ((time.perf_counter() - started) / repeat, round(sum(calls) / repeat))
        http.close()
        return out
    finally:
        platforms.stop()


# --- the report -------------------------------------------------------------------------------

MINIMUM = {  # route -> minimum calls per post of that platform, and why
    "instagram": [
        ("POST /{ig-user}/media", 1, "create the container"),
        ("GET /{container}?fields=status_code,status", 1, "one poll, if it is FINISHED"),
        ("GET /{ig-user}/content_publishing_limit", 0, "optional: media_publish says code 9"),
        ("POST /{ig-user}/media_publish", 1, "publish"),
        ("GET /{media}?fields=permalink", 1, "the public link"),
    ],
    "facebook": [
        ("POST /{page}/photos", 1, "photo post (scheduled or now)"),
        ("GET /{post}?fields=permalink_url,... (read back)", 0, "+1 for each post published now"),
    ],
    "youtube": [
        ("POST /token (OAuth refresh)", 0, "once per client (hour), not per post"),
        ("POST /upload/videos (open resumable session)", 1, "videos.insert"),
        ("PUT session, empty (bytes */total: how far?)", 0, "only to resume after a failure"),
        ("PUT session, bytes (chunk)", 1, "the file in one PUT (ours: 2 MiB chunks)"),
        ("POST /upload/thumbnails/set", 1, "custom thumbnail"),
    ],
}


def print_report(
    results: list[RunResult],
    counts: Counter[str],
    floor: dict[str, tuple[float, int]],
    args: argparse.Namespace,
    setup_seconds: float,
    video_seconds: float,
    video_bytes: int,
) -> None:
    n = sum(counts.values())
    floor_one = sum(counts[kind] * floor[kind][0] for kind in floor)
    print()
    print(f"# publish benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"# {describe_machine()}, Python {platform.python_version()}, SQLite file (WAL), "
        "sandboxes in-process"
    )
    print(
        f"# {n} posts: instagram {counts['instagram']}, facebook {counts['facebook_native']} "
        f"scheduled + {counts['facebook_now']} now, youtube {counts['youtube']} (publishAt); "
        f"{args.accounts} Pages/IG accounts (IG limit {PUBLISH_QUOTA}/24 h each), 1 YT channel"
    )
    print(
        f"# latency {args.latency * 1000:.0f} ms on every Graph and YouTube call (slow fault), "
        f"IG containers ready after {args.ready_after:g} s; cards: {VARIANTS} generated JPEGs "
        "per format, not rendered member cards; Shorts: one MP4 reused"
    )
    print(
        f"# setup {setup_seconds:.1f} s (not timed); one make_short ({SHORT_PRESET}): "
        f"{video_seconds:.1f} s ({video_bytes / 2**20:.1f} MiB), so real Shorts add about that "
        "per YouTube post"
    )
    print()
    print(
        "| run                        | publishers | seconds | posts/s | floor s | x floor "
        "| published | scheduled | deferred | failed | rate-limit wait s (share) | poll wait s |"
    )
    print("|" + "|".join(["---"] + ["---:"] * 11) + "|")
    print(
        f"| baseline: minimum calls    | {1:>10} | {floor_one:>7.1f} | {n / floor_one:>7.2f} "
        f"| {floor_one:>7.1f} | {1:>7.2f} | - | - | - | - | - | - |"
    )
    for r in results:
        label = "claim loop (bench patch)" if r.claim_loop else "stock Publisher.run()"
        if r.early:
            print(
                f"| {label:<26} | {r.publishers:>10} | stopped | - | - | - | - | - | - | - "
                "| - | - |"
            )
            continue
        f = floor_one / r.publishers
        deferred = len(r.report.retry_later) + len(r.report.moved)
        rate = sum(s for k, s in r.waits.seconds.items() if k.startswith("rate limit"))
        share = rate / (r.seconds * r.publishers)
        poll = r.waits.seconds["Instagram container poll"]
        print(
            f"| {label:<26} | {r.publishers:>10} | {r.seconds:>7.1f} "
            f"| {n / r.seconds:>7.2f} | {f:>7.1f} | {r.seconds / f:>7.2f} "
            f"| {len(r.report.published)} | {len(r.report.scheduled)} | {deferred} "
            f"| {len(r.report.failed)} | {rate:.1f} ({share:.1%}) | {poll:.1f} |"
        )
    print()
    first = next(r for r in results if not r.early)
    done = [r for r in results if not r.early]
    same = all(r.routes == first.routes for r in done)
    print(
        f"API calls per post ({first.publishers} publisher run; "
        + ("the same calls in every completed run)" if same else "other runs differ: see below)")
    )
    print()
    print("| platform | route | calls | per post | minimum | why |")
    print("|---|---|---:|---:|---:|---|")
    posts = {
        "instagram": counts["instagram"],
        "facebook": counts["facebook_native"] + counts["facebook_now"],
        "youtube": counts["youtube"],
    }
    minimum_total = {
        "instagram": 4,
        "facebook": 1 + counts["facebook_now"] / max(posts["facebook"], 1),
        "youtube": 3,
    }
    for channel in CHANNELS:
        seen = {r for (p, r) in first.routes if p == channel}
        listed = [m for m in MINIMUM[channel]]
        for extra in sorted(seen - {m[0] for m in listed}):
            listed.append((extra, 0, "not expected"))
        total = 0
        for name, minimum, why in listed:
            calls = first.routes[(channel, name)]
            total += calls
            if channel == "facebook" and name.startswith("GET /{post}"):
                minimum_text = f"{counts['facebook_now'] / max(posts['facebook'], 1):.2f}"
            else:
                minimum_text = str(minimum)
            print(
                f"| {channel} | `{name}` | {calls} | {calls / max(posts[channel], 1):.2f} "
                f"| {minimum_text} | {why} |"
            )
        print(
            f"| **{channel}** | **all** | **{total}** | **{total / max(posts[channel], 1):.2f}** "
            f"| **{minimum_total[channel]:.2f}** | |"
        )
    other = {r: c for (p, r), c in first.routes.items() if p == "other"}
    if other:
        print(f"| other | {other} | | | | |")
    print()
    print("Seconds per post, 1 publisher (inside Publisher.publish, claims excluded) vs baseline")
    print()
    print("| kind | posts | ours ms/post | floor ms/post | floor calls | x floor |")
    print("|---|---:|---:|---:|---:|---:|")
    one = next((r for r in results if r.publishers == 1 and not r.early), first)
    for channel in CHANNELS:
        values = one.post_seconds.get(channel, [])
        mean = sum(values) / len(values) if values else math.nan
        if channel == "facebook":
            kinds = ["facebook_native", "facebook_now"]
            fl = sum(counts[k] * floor[k][0] for k in kinds) / max(posts["facebook"], 1)
            calls = f"{floor['facebook_native'][1]} / {floor['facebook_now'][1]}"
        else:
            fl, calls = floor[channel][0], str(floor[channel][1])
        print(
            f"| {channel} | {len(values)} | {mean * 1000:.0f} | {fl * 1000:.0f} | {calls} "
            f"| {mean / fl:.2f} |"
        )
    in_publish = sum(sum(v) for v in one.post_seconds.values())
    print(f"| claims, between posts | | {(one.seconds - in_publish) / n * 1000:.1f} | 0 | 0 | |")
    print()
    for r in results:
        threads = ", ".join(f"{h} posts in {s:.0f} s" for h, s in r.per_thread)
        waits = ", ".join(
            f"{k}: {r.waits.count[k]}x {s:.1f} s" for k, s in sorted(r.waits.seconds.items())
        )
        done = ("published", "scheduled")
        left = {k: v for k, v in r.states.items() if k.split()[1] not in done}
        how = "claim loop" if r.claim_loop else "stock run()"
        print(f"- {r.publishers} publisher(s), {how}: {threads}; sleeps: {waits or 'none'}")
        for line in r.early:
            print(f"  - stopped the run: {line}")
        if r.empty_claims:
            print(f"  - claims that lost every post to another publisher: {r.empty_claims}")
        if left:
            print(f"  - not done: {left}")
        if not r.early and r.routes != first.routes:
            diff = {k: r.routes[k] - first.routes[k] for k in r.routes | first.routes}
            print(f"  - calls unlike the first run: { {k: v for k, v in diff.items() if v} }")
        if r.errors_by_route:
            print(f"  - error answers: {dict(r.errors_by_route)}")
        for what, items in (("deferred", r.report.retry_later), ("failed", r.report.failed)):
            reasons = Counter(why.split(";")[0][:90] for _, why in items)
            for why, k in reasons.most_common(3):
                print(f"  - {what} {k}x: {why}")
        if r.report.moved:
            print(f"  - moved to a later slot (publishing limit): {len(r.report.moved)}")
    print()
    print(
        "goal: throughput bounded only by the configured limits and concurrency, at most the "
        "minimum API calls per post"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument(
        "--publishers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="runs with the stock Publisher.run(), one per count",
    )
    parser.add_argument(
        "--claim-loop",
        type=int,
        nargs="*",
        default=[2, 4],
        help="runs whose publishers keep claiming while posts are due (bench patch of run())",
    )
    parser.add_argument("--accounts", type=int, default=8, help="Pages with an IG account")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per sandbox call")
    parser.add_argument(
        "--ready-after",
        type=float,
        default=0.0,
        help="seconds until an IG container is FINISHED (the sandbox's strict default is 1)",
    )
    parser.add_argument("--baseline-repeat", type=int, default=10)
    args = parser.parse_args()
    ig_posts = math.ceil(args.posts / 3)
    if ig_posts > args.accounts * PUBLISH_QUOTA:
        parser.error(
            f"{ig_posts} Instagram posts need at least {ig_posts / PUBLISH_QUOTA:.0f} accounts"
        )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cards_dir = work / "cards"
        started = time.perf_counter()
        cards = make_cards(cards_dir / "bench")
        template = work / "template.db"
        counts = setup_db(template, args.posts, args.accounts, cards)
        video_started = time.perf_counter()
        short = make_short(
            [cards["shorts_frame"][0]], cards_dir / "videos" / "bench.mp4", preset=SHORT_PRESET
        )
        video_seconds = time.perf_counter() - video_started
        setup_seconds = time.perf_counter() - started
        print(f"setup: {dict(counts)} in {setup_seconds:.1f} s", flush=True)
        floor = baseline(
            cards, cards_dir, short.path, args.latency, args.ready_after, args.baseline_repeat
        )
        print(f"baseline: { {k: f'{s * 1000:.0f} ms, {c} calls' for k, (s, c) in floor.items()} }")
        results = []
        runs = [(n, False) for n in args.publishers] + [(n, True) for n in args.claim_loop]
        for n, claim_loop in runs:
            result = run_publishers(
                template,
                work,
                cards_dir,
                short.path,
                n,
                args.accounts,
                args.latency,
                args.ready_after,
                claim_loop,
            )
            print(
                f"{n} publisher(s), claim loop {claim_loop}: {result.seconds:.1f} s "
                f"{result.per_thread} {result.early}",
                flush=True,
            )
            results.append(result)
        print_report(results, counts, floor, args, setup_seconds, video_seconds, short.bytes)
    print(f"\nmachine: {platform.platform()}, {date.today()}")


if __name__ == "__main__":
    main()
