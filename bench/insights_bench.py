"""Insights benchmark: reading 10,000 published posts back, 100 ms a call (issue 20).

Setup (not timed): a fresh SQLite file with generated members and `--posts` published posts,
a third each on Instagram, Facebook and YouTube; the Instagram and Facebook posts spread over
`--accounts` Pages with their Instagram accounts, YouTube on one channel. Every post is due for
one reading: their ages are spread over the `insights.read_after` marks (a post 3 days old owes
its +1d reading and its +1h is recorded missed, as the engine does after downtime), so one run
reads each post once. The sandboxes get the same posts, with the same ids and times they went
live, written straight into their state (publishing 10,000 posts through the API first would
take longer than the reading and measure nothing new): Instagram media, Facebook Page posts and
public YouTube videos, whose figures the sandboxes grow over their clock.

Measured: one run of the insights engine over every due reading, through `run_insights` (the
flow's and the CLI's door to `read_due`; `insights.max_readings` raised to the number of posts,
so one run takes them all), against fresh sandboxes with a `slow` fault of `--latency` seconds
on every call (sandbox/ifn_sandbox/http.py): wall time, API calls per platform and route from
the sandboxes' request logs, ids per call, the most calls in flight at once (from the logged
start and end of each call), time slept in the clients (usage-header
pauses and retry backoff), and the readings stored by state.

Floor: the calls the batching allows, ceil(posts of the account / 50) per Instagram account and
per Facebook Page (`GET /?ids=...`, field expansion) and ceil(videos / 50) for YouTube
(`videos.list`), plus YouTube's OAuth token once. Its wall time is floor calls x latency when the
calls run one at a time; when the engine runs k at once the floor is that over k (the report says
which). Goal: at most 1.2x the floor, in calls and in wall time.

Baseline, same run, fresh sandboxes with the same latency: a naive reader with plain `requests`,
one post a call (Instagram `/{media}/insights`, Facebook `/{post}?fields=insights...`, YouTube
`videos.list?id=<one>`), timed over `--baseline-sample` posts of each platform and scaled to all
of them (one call a post, so its calls are exact and its time is the per-call mean x posts).

Run: `make bench-insights`, or e.g. `.venv/bin/python bench/insights_bench.py --posts 1200
--accounts 4`.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from machine import describe as describe_machine
from publish_bench import Waits, record_sleeps
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import AccountSettings, Settings, mark_delta
from ifn_campaign.insights.reader import InsightsReport, run_insights
from ifn_campaign.models import InsightMetric, InsightReading, Member, Post, PostState
from ifn_campaign.secrets import env_name
from ifn_campaign.wiring import Resources
from ifn_sandbox.graph import GraphAccount, InstagramMedia, PagePost
from ifn_sandbox.http import Fault, RequestRecord
from ifn_sandbox.platforms import ACCOUNT, PlatformSandboxes
from ifn_sandbox.sample import store_generated_members
from ifn_sandbox.youtube import Video, YouTubeChannel

CAMPAIGN = "bench-insights"
CHANNELS = ("instagram", "facebook", "youtube")
BATCH = 50  # ids per call: Graph field expansion and videos.list both take 50 at most
MEMBERS = 500  # posts take their members in turn (the reader never looks at them)
GOAL = 1.2
GRAPH_VERSION = "v25.0"
IG_METRICS = "reach,views,likes,comments,saved,shares,total_interactions"
FB_FIELDS = (
    "insights.metric(post_total_media_view_unique,post_total_media_view),"
    "reactions.summary(true).limit(0),comments.summary(true).limit(0),shares"
)


# --- setup ------------------------------------------------------------------------------------


def graph_accounts(n: int) -> list[GraphAccount]:
    """`n` Pages, each with its Instagram account and Page token (ids unlike the sandbox's own)."""
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
    return f"bench-insights-graph-token-{i}"


@dataclass(frozen=True)
class Published:
    """One post as it went out: what both the database and the sandbox hold of it."""

    channel: str
    account: str  # our account name (settings.accounts)
    owner: str  # the IG user id, Page id or YouTube channel id
    remote_id: str
    live_at: datetime
    mark: str  # the latest mark due: the one reading the engine takes


def plan_posts(n: int, n_accounts: int, marks: list[str], now: datetime) -> list[Published]:
    """`n` posts, a third per platform, each due for one mark, the marks taken in turn.

    A post's age is its mark plus a few minutes to hours, always short of the next mark, so
    the latest due mark is `mark` (the ones before it are missed, as after downtime)."""
    accounts = graph_accounts(n_accounts)
    deltas = [mark_delta(m) for m in marks]
    channel_id = YouTubeChannel().channel_id
    posts: list[Published] = []
    for i in range(n):
        channel = CHANNELS[i % 3]
        k = i // 3  # index within the channel
        m = (k // n_accounts) % len(marks)  # every account has posts at every mark
        room = (deltas[m + 1] - deltas[m]) if m + 1 < len(deltas) else timedelta(days=3)
        # 5 minutes past the mark, 3 s apart (slots are unique per account)
        age = deltas[m] + timedelta(seconds=300 + (3 * k) % int(room.total_seconds() / 2))
        live_at = now - age
        a = k % n_accounts
        if channel == "instagram":
            owner, remote = accounts[a].ig_user_id, str(17_890_000_000_000_000 + k)
        elif channel == "facebook":
            owner = accounts[a].page_id
            remote = f"{owner}_{5_000_000_000_000 + k}"
        else:
            owner, remote = channel_id, f"bench{k:06d}"[:11].ljust(11, "x")
        account = ACCOUNT if channel == "youtube" else f"bench{a}"
        posts.append(Published(channel, account, owner, remote, live_at, marks[m]))
    return posts


def setup_db(db: Path, posts: list[Published]) -> None:
    """Members and published posts with their remote ids, straight into a fresh database."""
    engine = store.make_engine(f"sqlite:///{db}")
    store.upgrade(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        store_generated_members(session, min(MEMBERS, len(posts)), now=now - timedelta(days=60))
        session.commit()
        members = session.execute(select(Member.id).order_by(Member.id)).scalars().all()
        rows: list[dict[str, Any]] = []
        for i, p in enumerate(posts):
            rows.append(
                {
                    "campaign": CAMPAIGN,
                    "channel": p.channel,
                    "account": p.account,
                    "slot_at": p.live_at,
                    "member_id": members[i % len(members)],
                    "template": "sorotan",
                    "rotation_round": 1,
                    "pinned": False,
                    "reason_id": "bench",
                    "reason_en": "benchmark",
                    "state": PostState.PUBLISHED,
                    "state_changed_at": p.live_at,
                    "created_at": p.live_at - timedelta(days=3),
                    "caption": f"Sorotan anggota IFN no. {i}",
                    "caption_lang": "id",
                    "remote_id": p.remote_id,
                    "permalink": f"https://example.invalid/{p.channel}/{p.remote_id}",
                    "published_at": p.live_at,
                }
            )
        for start in range(0, len(rows), 2000):
            session.execute(insert(Post), rows[start : start + 2000])
        session.commit()
    engine.dispose()


def seed_sandboxes(platforms: PlatformSandboxes, posts: list[Published]) -> None:
    """The published posts as the sandboxes would hold them after publishing them, written into
    their state under their locks: the sandboxes have no bulk way in, and publishing 10,000
    posts through the API would take longer than reading them."""
    graph, youtube = platforms.graph, platforms.youtube
    with graph._lock:
        for p in posts:
            if p.channel == "instagram":
                graph._media[p.remote_id] = InstagramMedia(
                    id=p.remote_id,
                    ig_user_id=p.owner,
                    container_id=str(int(p.remote_id) - 890_000_000_000_000),
                    media_type="IMAGE",
                    media_product_type="FEED",
                    caption="bench",
                    shortcode=f"B{p.remote_id[-10:]}",
                    permalink=f"https://www.instagram.com/p/B{p.remote_id[-10:]}/",
                    timestamp=p.live_at,
                )
            elif p.channel == "facebook":
                graph._posts[p.remote_id] = PagePost(
                    id=p.remote_id, page_id=p.owner, created_at=p.live_at, message="bench"
                )
    with youtube._lock:
        for p in posts:
            if p.channel == "youtube":
                youtube._videos[p.remote_id] = Video(
                    id=p.remote_id,
                    channel_id=p.owner,
                    snippet={"title": "bench", "categoryId": "22"},
                    status={"privacyStatus": "public"},
                    uploaded_at=p.live_at,
                    size=1,
                    content_type="video/mp4",
                    data_sha256="0" * 64,
                )


def start_sandboxes(
    cards_dir: Path, accounts: list[GraphAccount], posts: list[Published], latency: float
) -> PlatformSandboxes:
    """Fresh sandboxes holding `posts`, every call `latency` seconds slow.

    Graph: the app-wide budget is raised (Page tokens count against each Page's and Instagram
    account's own budget, left at its strict 1,000 calls an hour; the sandbox counts every id of
    a field expansion as one call, as Meta does). YouTube: a day's units raised, so the naive
    baseline's one unit a video fits."""
    platforms = PlatformSandboxes(cards_dir, accounts=accounts, app_calls_per_hour=1_000_000)
    platforms.youtube.daily_units = 1_000_000
    platforms.start()
    seed_sandboxes(platforms, posts)
    for sandbox in (platforms.graph, platforms.youtube):
        sandbox.faults.add(Fault("/", "slow", delay=latency, times=None))
    return platforms


def bench_settings(
    platforms: PlatformSandboxes, url: str, accounts: list[GraphAccount], n_posts: int
) -> Settings:
    settings = platforms.settings(Settings(database={"url": url}))
    for i, account in enumerate(accounts):
        os.environ[env_name(graph_secret(i))] = account.token
    return settings.model_copy(
        update={
            "insights": settings.insights.model_copy(
                update={"batch": BATCH, "max_readings": max(n_posts, 1)}
            ),
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


# --- measuring --------------------------------------------------------------------------------


def route(record: RequestRecord, ig_users: set[str]) -> tuple[str, str, int]:
    """(platform, route, ids asked for) of one logged request."""
    path, params = record.path, record.params
    if path == "/token":
        return "youtube", "POST /token (OAuth refresh)", 0
    if path.startswith("/youtube/v3/videos"):
        ids = [i for i in params.get("id", "").split(",") if i]
        return "youtube", f"{record.method} /videos?part={params.get('part', '')}", len(ids)
    if path.startswith("/youtube/"):
        return "youtube", f"{record.method} {path.removeprefix('/youtube/v3')}", 0
    parts = [p for p in path.split("/") if p]
    if parts and parts[0].startswith("v") and parts[0][1:2].isdigit():
        parts = parts[1:]
    if not parts and "ids" in params:
        ids = [i for i in params["ids"].split(",") if i]
        platform_ = "facebook" if "_" in ids[0] else "instagram" if ids else "other"
        return platform_, "GET /?ids=...&fields=... (field expansion)", len(ids)
    if parts:
        platform_ = "facebook" if "_" in parts[0] else "instagram"
        if parts[0] in ig_users:
            platform_ = "instagram"
        rest = "/" + "/".join(["{id}", *parts[1:]])
        return platform_, f"{record.method} {rest}", 1
    return "other", f"{record.method} {path}", 0


def most_in_flight(records: list[RequestRecord]) -> int:
    """The most calls the sandboxes were answering at the same moment."""
    events: list[tuple[float, int]] = []
    for r in records:
        events.append((r.at, 1))
        events.append((r.done_at if r.done_at is not None else r.at, -1))
    events.sort(key=lambda e: (e[0], e[1]))
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def floor_calls(posts: list[Published]) -> dict[str, int]:
    """The calls batching allows: ceil(posts / 50) per Graph account, per YouTube channel."""
    per_owner: Counter[tuple[str, str]] = Counter((p.channel, p.owner) for p in posts)
    floor: Counter[str] = Counter()
    for (channel, _owner), n in per_owner.items():
        floor[channel] += math.ceil(n / BATCH)
    return {c: floor[c] for c in CHANNELS}


@dataclass
class EngineRun:
    seconds: float
    routes: Counter[tuple[str, str]]
    ids: Counter[tuple[str, str]]
    calls: Counter[str]
    errors: Counter[tuple[str, str, int]]
    in_flight: int
    call_seconds: float  # the sandboxes' time answering, summed over calls
    waits: Waits
    states: Counter[tuple[str, str]]  # (channel, state) of the readings stored
    metrics: int
    report: InsightsReport
    read_posts: Counter[str] = field(default_factory=Counter)


def run_engine(
    template: Path,
    workdir: Path,
    cards_dir: Path,
    posts: list[Published],
    n_accounts: int,
    latency: float,
) -> EngineRun:
    """One run, through the door the insights flow and the CLI use (`run_insights`: `read_due`
    on the resources' session and clients), over a copy of the database."""
    db = workdir / "engine.db"
    with sqlite3.connect(template) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    accounts = graph_accounts(n_accounts)
    platforms = start_sandboxes(cards_dir, accounts, posts, latency)
    try:
        settings = bench_settings(platforms, f"sqlite:///{db}", accounts, len(posts))
        waits = Waits()
        with Resources(settings) as res:
            clients = res.channel_clients()
            record_sleeps(clients, waits)
            started = time.perf_counter()
            report = run_insights(res, now=datetime.now(UTC))
            seconds = time.perf_counter() - started
            with res.session() as session:
                states = Counter(
                    (str(c), str(s))
                    for c, s in session.execute(
                        select(Post.channel, InsightReading.state).join(
                            Post, Post.id == InsightReading.post_id
                        )
                    )
                )
                metrics = session.scalar(select(func.count()).select_from(InsightMetric)) or 0
                read_posts = Counter(
                    str(c)
                    for (c,) in session.execute(
                        select(Post.channel)
                        .join(InsightReading, Post.id == InsightReading.post_id)
                        .where(InsightReading.state == "read")
                    )
                )
        ig_users = {a.ig_user_id for a in accounts}
        routes: Counter[tuple[str, str]] = Counter()
        ids: Counter[tuple[str, str]] = Counter()
        calls: Counter[str] = Counter()
        errors: Counter[tuple[str, str, int]] = Counter()
        records = [*platforms.graph.requests, *platforms.youtube.requests]
        for record in records:
            p, r, n = route(record, ig_users)
            routes[(p, r)] += 1
            ids[(p, r)] += n
            calls[p] += 1
            if record.status is None or record.status >= 400:
                errors[(p, r, record.status or 0)] += 1
        return EngineRun(
            seconds=seconds,
            routes=routes,
            ids=ids,
            calls=calls,
            errors=errors,
            in_flight=most_in_flight(records),
            call_seconds=sum((r.done_at or r.at) - r.at for r in records),
            waits=waits,
            states=states,
            metrics=metrics,
            report=report,
            read_posts=read_posts,
        )
    finally:
        platforms.stop()


@dataclass
class NaiveRun:
    seconds_per_call: dict[str, float]
    sampled: dict[str, int]
    token_calls: int


def run_naive(
    cards_dir: Path, posts: list[Published], n_accounts: int, latency: float, sample: int
) -> NaiveRun:
    """One post a call with plain `requests`, one call at a time, `sample` posts per platform."""
    accounts = graph_accounts(n_accounts)
    platforms = start_sandboxes(cards_dir, accounts, posts, latency)
    try:
        graph = f"{platforms.graph.url}/{GRAPH_VERSION}"
        tokens = {a.ig_user_id: a.token for a in accounts} | {a.page_id: a.token for a in accounts}
        yt = platforms.youtube
        http = requests.Session()
        answer = http.post(
            f"{yt.url}/token",
            data={
                "grant_type": "refresh_token",
                "client_id": yt.client_id,
                "client_secret": yt.client_secret,
                "refresh_token": yt.channels[0].refresh_token,
            },
        )
        answer.raise_for_status()
        yt_auth = {"Authorization": f"Bearer {answer.json()['access_token']}"}

        def read(p: Published) -> None:
            if p.channel == "youtube":
                got = http.get(
                    f"{yt.url}/youtube/v3/videos",
                    params={"part": "statistics", "id": p.remote_id},
                    headers=yt_auth,
                )
                got.raise_for_status()
                assert got.json()["items"][0]["statistics"]["viewCount"], got.text
                return
            auth = {"Authorization": f"Bearer {tokens[p.owner]}"}
            if p.channel == "instagram":
                got = http.get(
                    f"{graph}/{p.remote_id}/insights", params={"metric": IG_METRICS}, headers=auth
                )
                got.raise_for_status()
                assert got.json()["data"], got.text
            else:
                got = http.get(f"{graph}/{p.remote_id}", params={"fields": FB_FIELDS}, headers=auth)
                got.raise_for_status()
                assert "insights" in got.json(), got.text

        seconds: dict[str, float] = {}
        sampled: dict[str, int] = {}
        for channel in CHANNELS:
            mine = [p for p in posts if p.channel == channel][:sample]
            if not mine:
                continue
            read(mine[0])  # warm the connection
            started = time.perf_counter()
            for p in mine:
                read(p)
            seconds[channel] = (time.perf_counter() - started) / len(mine)
            sampled[channel] = len(mine)
        http.close()
        return NaiveRun(seconds, sampled, token_calls=1)
    finally:
        platforms.stop()


# --- the report -------------------------------------------------------------------------------


def print_report(
    posts: list[Published],
    engine: EngineRun,
    naive: NaiveRun,
    args: argparse.Namespace,
    setup_seconds: float,
) -> None:
    n_by = Counter(p.channel for p in posts)
    marks = Counter(p.mark for p in posts)
    floor = floor_calls(posts)
    token = engine.routes[("youtube", "POST /token (OAuth refresh)")]
    floor_total = sum(floor.values()) + 1  # + the YouTube token, once
    calls_total = sum(engine.calls.values())
    k = max(engine.in_flight, 1)
    floor_seconds_seq = floor_total * args.latency
    floor_seconds = floor_seconds_seq / k
    naive_calls = len(posts) + naive.token_calls
    naive_seconds = sum(naive.seconds_per_call[c] * n_by[c] for c in naive.seconds_per_call)
    print()
    print(f"# insights benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"# {describe_machine()}, Python {platform.python_version()}, SQLite file (WAL), "
        "sandboxes in-process"
    )
    print(
        f"# {len(posts)} published posts: instagram {n_by['instagram']}, facebook "
        f"{n_by['facebook']}, youtube {n_by['youtube']}; {args.accounts} Pages with an IG "
        "account, 1 YouTube channel; each due for one reading, latest due mark "
        + ", ".join(f"{m} {marks[m]}" for m in sorted(marks, key=mark_delta))
    )
    print(
        f"# latency {args.latency * 1000:.0f} ms on every Graph and YouTube call (slow fault); "
        f"setup {setup_seconds:.1f} s (not timed)"
    )
    print()
    print("API calls per post per reading, engine against the floor batching allows")
    print()
    print(
        "| platform | posts | floor calls | engine calls | floor per post | engine per post "
        "| x floor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for channel in CHANNELS:
        n = max(n_by[channel], 1)
        f = floor[channel] + (1 if channel == "youtube" else 0)
        c = engine.calls[channel]
        print(
            f"| {channel} | {n_by[channel]} | {f} | {c} | {f / n:.4f} | {c / n:.4f} "
            f"| {c / max(f, 1):.2f} |"
        )
    if engine.calls["other"]:
        print(f"| other | | 0 | {engine.calls['other']} | | | |")
    print(
        f"| all | {len(posts)} | {floor_total} | {calls_total} "
        f"| {floor_total / len(posts):.4f} | {calls_total / len(posts):.4f} "
        f"| {calls_total / floor_total:.2f} |"
    )
    print()
    print("Wall time")
    print()
    print("| run | calls | seconds | calls in flight (most) | floor s | x floor |")
    print("|---|---:|---:|---:|---:|---:|")
    how = "one at a time" if k == 1 else f"{k} at once: floor calls x latency / {k}"
    print(
        f"| floor: batched calls x {args.latency * 1000:.0f} ms ({how}) | {floor_total} "
        f"| {floor_seconds:.1f} | {k} | {floor_seconds:.1f} | 1.00 |"
    )
    print(
        f"| engine: run_insights (read_due) | {calls_total} | {engine.seconds:.1f} "
        f"| {engine.in_flight} | {floor_seconds:.1f} | {times(engine.seconds, floor_seconds)} |"
    )
    sampled = ", ".join(f"{c} {n}" for c, n in naive.sampled.items())
    print(
        f"| baseline: naive, one post a call (timed on {sampled}, scaled) | {naive_calls} "
        f"| {naive_seconds:.1f} | 1 | {floor_seconds_seq:.1f} "
        f"| {times(naive_seconds, floor_seconds_seq)} |"
    )
    print()
    print("Engine calls by route")
    print()
    print("| platform | route | calls | ids asked | ids per call |")
    print("|---|---|---:|---:|---:|")
    for (p, r), c in sorted(engine.routes.items()):
        asked = engine.ids[(p, r)]
        print(f"| {p} | `{r}` | {c} | {asked} | {asked / c:.1f} |")
    print()
    rest = engine.seconds - engine.call_seconds / k
    print(
        f"- where the engine's {engine.seconds:.1f} s went: {engine.call_seconds:.1f} s in "
        f"platform calls (the sandboxes' answering, summed), {rest:.1f} s the rest (finding "
        f"what is due, writing readings and figures, commits: {rest / len(posts) * 1000:.1f} ms "
        "a post)"
    )
    states = ", ".join(f"{c} {s} {n}" for (c, s), n in sorted(engine.states.items()))
    print(f"- readings stored: {states or 'none'}; {engine.metrics} figures")
    read = ", ".join(f"{c} {engine.read_posts[c]}/{n_by[c]}" for c in CHANNELS)
    print(f"- posts read (state read): {read}")
    waits = ", ".join(
        f"{what}: {engine.waits.count[what]}x {s:.1f} s" for what, s in engine.waits.seconds.items()
    )
    print(f"- sleeps in the clients: {waits or 'none'}; YouTube token calls {token}")
    if engine.errors:
        print(f"- error answers: {dict(engine.errors)}")
    print(f"- engine report: {summary(engine.report)}")
    print(
        "- naive reader per call: "
        + ", ".join(f"{c} {s * 1000:.0f} ms" for c, s in naive.seconds_per_call.items())
        + f"; batching saves {naive_calls - calls_total} calls "
        f"({naive_calls / max(calls_total, 1):.0f}x fewer) and "
        f"{naive_seconds - engine.seconds:.0f} s"
    )
    print()
    # at latency 0 the floor takes no time: wall time has no ratio, only calls are judged
    wall = engine.seconds / floor_seconds if floor_seconds > 0 else 0.0
    ratio = max(calls_total / floor_total, wall)
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(
        f"goal: at most {GOAL}x the floor in calls and wall time; {verdict} "
        f"(calls {calls_total / floor_total:.2f}x, wall "
        f"{f'{wall:.2f}x' if floor_seconds > 0 else 'not judged at latency 0'})"
    )


def times(seconds: float, floor: float) -> str:
    """`seconds` as a multiple of `floor`, or "n/a" when the floor takes no time (latency 0,
    e.g. to profile the engine's own work alone)."""
    return f"{seconds / floor:.2f}" if floor > 0 else "n/a"


def summary(report: InsightsReport) -> str:
    """The engine's own account of the run in one line: outcomes, calls, units, waits."""
    states = ", ".join(
        f"{state} {report.count(state)}" for state in ("read", "retry", "gone", "missed", "failed")
    )
    calls = ", ".join(f"{c} {n}" for c, n in sorted(report.calls.items())) or "none"
    waiting = "; ".join(report.waiting) or "nothing"
    return f"{states}; calls {calls}; YouTube units {report.youtube_units}; waiting: {waiting}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=8, help="Pages with an IG account")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per sandbox call")
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=100,
        help="posts per platform the naive reader reads (its time is scaled to all)",
    )
    args = parser.parse_args()
    if args.posts < 3 or args.accounts < 1:
        parser.error("at least 3 posts (one per platform) and 1 account")
    marks = Settings().insights.read_after
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cards_dir = work / "cards"
        started = time.perf_counter()
        posts = plan_posts(args.posts, args.accounts, marks, datetime.now(UTC))
        template = work / "template.db"
        setup_db(template, posts)
        setup_seconds = time.perf_counter() - started
        print(f"setup: {len(posts)} posts in {setup_seconds:.1f} s", flush=True)
        naive = run_naive(cards_dir, posts, args.accounts, args.latency, args.baseline_sample)
        print(f"baseline: { {c: f'{s * 1000:.0f} ms' for c, s in naive.seconds_per_call.items()} }")
        engine = run_engine(template, work, cards_dir, posts, args.accounts, args.latency)
        print(f"engine: {engine.seconds:.1f} s, {sum(engine.calls.values())} calls", flush=True)
        print_report(posts, engine, naive, args, setup_seconds)
    print(f"\nmachine: {platform.platform()}, {date.today()}")


if __name__ == "__main__":
    main()
