"""Console benchmark: server time and SQL statements per request of the staff console's pages on
PostgreSQL with 10,000 members and 50,000 posts.

The data goes into a database of its own (`ifn_console_bench` on the server of --server, dropped
at the end unless --keep, which also reuses it when its sizes match): generated members
(`store_generated_members`, as the plan bench), then bulk inserts of posts across four campaigns,
three channels and two accounts, in every state, a year either side of now (a third of them in
the month two months ahead, about nine times as busy as the others: the calendar's worst case),
with composed content (captions, titles, tags, card paths to small real card files in the cards
folder, slides), post events along each post's path, the ledger's features for the published
ones, pins, exclusions, takedown requests and one account waiting for re-authorisation.

Each page is asked through the real app (`create_app`, FastAPI's TestClient signed in as an
admin) `--requests` times after `--warmup`: p50, p95 and max of the server's time (the ASGI app
from the request's start to the response's last byte), the CPU this process used and the time
spent in SQL (the median of each), and the SQL statements each request sends (a
`before_cursor_execute` listener on the engine). On a shared machine the wall time is mostly
waiting for a core: the load average is printed. Beside each page, its baselines: the page's
main query alone (the same library call or select, its own session) and an empty page through
the same app (sign-in check, base template). Pairs of the same page with few and many posts on it
show whether the statement count grows with the posts.
Goal: p95 under 150 ms per page; statements per request flat in the posts shown.

Run: `make bench-console`, or `.venv/bin/python bench/console_bench.py --keep --requests 20`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from machine import describe as describe_machine
from PIL import Image
from sqlalchemy import Engine, create_engine, event, func, insert, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings
from ifn_campaign.console.app import create_app
from ifn_campaign.console.pages.calendar import parse_window
from ifn_campaign.console.pages.today import day_bounds
from ifn_campaign.console.users import add_user
from ifn_campaign.console.web import ConsoleState, Viewer, render
from ifn_campaign.models import (
    AccountState,
    Exclusion,
    Feature,
    Member,
    Pin,
    Post,
    PostEvent,
    PostState,
    StaffUser,
)
from ifn_campaign.posts import actions
from ifn_campaign.posts.activity import ActivityFilter, activity
from ifn_campaign.posts.ledger import member_history
from ifn_campaign.wiring import Resources
from ifn_sandbox.sample import store_generated_members

S = PostState
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE = "ifn_console_bench"
DATA_DIR = Path("var/console-bench")  # the console key and the card files (kept with --keep)
ADMIN = "bench-admin"
PASSWORD = "bench-password-not-secret"
GOAL_MS = 150.0
CAMPAIGNS = ("sorotan-anggota", "harbolnas-1212", "ramadan-2027", "pilihan-staf")
ACCOUNTS = ("bpipi", "bpipi-umkm")
SMALL = "bench-sepuluh"  # a campaign with exactly SMALL_COUNT posts awaiting review
SMALL_COUNT = 10
BUSY_DAYS = (60, 90)  # days after now of the busiest month: a third of the posts go there
BUSY_SHARE = 0.33
QUIET_DAYS = (-300, -286)  # two weeks with few posts: the light calendar week
BUSY_MEMBER_POSTS = 200  # the first member's posts: a long history on the member page
CARDS = 8  # distinct card files
TAGS = ["#UMKMIndonesia", "#IFN", "#BanggaBuatanIndonesia", "#BPIPI", "#SorotanAnggota"]
WORDS = "usaha keluarga produk lokal kualitas ekspor kerajinan tangan bahan alami pasar digital"


# --- the database ------------------------------------------------------------------------------


def _admin_engine(server: URL) -> Engine:
    return create_engine(server, isolation_level="AUTOCOMMIT")


def database_exists(server: URL, name: str) -> bool:
    engine = _admin_engine(server)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
        return found is not None
    finally:
        engine.dispose()


def create_database(server: URL, name: str) -> None:
    engine = _admin_engine(server)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def drop_database(server: URL, name: str) -> None:
    engine = _admin_engine(server)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def sizes(engine: Engine) -> tuple[int, int, datetime | None]:
    """Members, posts and the time the data was made around (the admin's creation), or zeros
    when the database is not a finished bench database."""
    try:
        with Session(engine) as session:
            members = session.scalar(select(func.count()).select_from(Member)) or 0
            posts = session.scalar(select(func.count()).select_from(Post)) or 0
            made = session.scalar(select(StaffUser.created_at).where(StaffUser.name == ADMIN))
    except DBAPIError:
        return 0, 0, None
    return members, posts, made


# --- the data ----------------------------------------------------------------------------------


def make_cards(cache_dir: Path) -> list[str]:
    """CARDS small JPEG cards stored by their content hash, as compose stores them."""
    paths = []
    for i in range(CARDS):
        image = Image.new("RGB", (216, 270), (40 + 25 * i, 90 + 15 * i, 160 - 12 * i))
        image.paste((250, 250, 245), (16, 180, 200, 250))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        data = buffer.getvalue()
        key = hashlib.sha256(data).hexdigest()
        path = cache_dir / key[:2] / f"{key}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def _caption(rng: random.Random, name: str) -> str:
    words = " ".join(rng.choice(WORDS.split()) for _ in range(rng.randint(30, 160)))
    tags = " ".join(rng.sample(TAGS, 3))
    return f"Kenalan dengan {name}! {words.capitalize()}.\n\n{tags}"


def _state(rng: random.Random, days: float) -> str:
    """A post's state from how far its slot is from now (days, negative in the past)."""
    roll = rng.random()
    if days < -2:
        table = [(0.80, S.PUBLISHED), (0.86, S.CANCELLED), (0.91, S.FAILED), (0.95, S.MISSED)]
        return next((s for p, s in table if roll < p), S.NEEDS_REAUTH)
    if days < 0.5:
        table = [(0.4, S.PUBLISHED), (0.6, S.SCHEDULED), (0.75, S.PUBLISHING), (0.9, S.FAILED)]
        return next((s for p, s in table if roll < p), S.MISSED)
    if days < 30:
        table = [(0.35, S.COMPOSED), (0.55, S.APPROVED), (0.9, S.SCHEDULED), (0.95, S.CANCELLED)]
        return next((s for p, s in table if roll < p), S.NEEDS_REAUTH)
    table = [(0.72, S.PLANNED), (0.84, S.COMPOSED), (0.9, S.CANCELLED)]
    return next((s for p, s in table if roll < p), S.APPROVED)


# the path each state's post went along: (state, actor) after "planned"
_PATHS: dict[str, list[tuple[str, str]]] = {
    S.PLANNED: [],
    S.COMPOSED: [(S.COMPOSED, "compose")],
    S.APPROVED: [(S.COMPOSED, "compose"), (S.APPROVED, f"staff:{ADMIN}")],
    S.SCHEDULED: [
        (S.COMPOSED, "compose"),
        (S.APPROVED, f"staff:{ADMIN}"),
        (S.SCHEDULED, "publisher:bench"),
    ],
    S.PUBLISHING: [
        (S.COMPOSED, "compose"),
        (S.APPROVED, "auto-approve"),
        (S.PUBLISHING, "publisher:bench"),
    ],
    S.PUBLISHED: [
        (S.COMPOSED, "compose"),
        (S.APPROVED, f"staff:{ADMIN}"),
        (S.PUBLISHING, "publisher:bench"),
        (S.PUBLISHED, "publisher:bench"),
    ],
    S.FAILED: [
        (S.COMPOSED, "compose"),
        (S.APPROVED, f"staff:{ADMIN}"),
        (S.PUBLISHING, "publisher:bench"),
        (S.FAILED, "publisher:bench"),
    ],
    S.MISSED: [(S.COMPOSED, "compose"), (S.APPROVED, "auto-approve"), (S.MISSED, "publisher:b")],
    S.NEEDS_REAUTH: [
        (S.COMPOSED, "compose"),
        (S.APPROVED, f"staff:{ADMIN}"),
        (S.NEEDS_REAUTH, "publisher:bench"),
    ],
    S.CANCELLED: [(S.COMPOSED, "compose"), (S.CANCELLED, f"staff:{ADMIN}")],
}


def _slots(
    rng: random.Random, n: int, now: datetime
) -> Iterator[tuple[str, Channel, str, datetime]]:
    """`n` distinct (campaign, channel, account, slot) a year either side of `now`, a third of
    them in the busy month, few in the quiet weeks."""
    streams = [(c, ch, a) for c in CAMPAIGNS for ch in Channel for a in ACCOUNTS]
    taken: set[tuple[str, Channel, str, datetime]] = set()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    while len(taken) < n:
        if rng.random() < BUSY_SHARE:
            day = rng.randrange(*BUSY_DAYS)
        else:
            day = rng.randrange(-365, 365)
            if QUIET_DAYS[0] <= day < QUIET_DAYS[1] and rng.random() < 0.95:
                continue
        # 07:00 to 21:30 WIB (UTC+7), on the hour or the half hour
        at = midnight + timedelta(days=day, hours=rng.randrange(0, 15), minutes=rng.choice((0, 30)))
        key = (*rng.choice(streams), at)
        if key not in taken:
            taken.add(key)
            yield key


def build(engine: Engine, n_members: int, n_posts: int, cards: list[str], now: datetime) -> None:
    """Members, posts, events, features, pins, exclusions, a takedown, a dead account; the admin
    user last (its creation time marks the data as finished and dates it)."""
    rng = random.Random(20261206)
    t0 = time.perf_counter()
    with Session(engine) as session:
        ids = store_generated_members(session, n_members, now=now - timedelta(days=400))
        session.commit()
        names = dict(session.execute(select(Member.id, Member.business_name)).tuples().all())
    print(f"  {n_members} members in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    posts: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    features: list[dict[str, Any]] = []
    busy = ids[0]
    slots = list(_slots(rng, n_posts - SMALL_COUNT, now))
    slots += [
        (SMALL, Channel.INSTAGRAM, "bpipi", now + timedelta(days=3, hours=i))
        for i in range(SMALL_COUNT)
    ]
    for post_id, (campaign, channel, account, at) in enumerate(slots, start=1):
        days = (at - now).total_seconds() / 86400
        post_state = S.COMPOSED if campaign == SMALL else _state(rng, days)
        member_id = busy if post_id <= BUSY_MEMBER_POSTS else rng.choice(ids)
        planned_at = min(at, now) - timedelta(days=rng.randint(10, 40))
        row: dict[str, Any] = {
            "id": post_id,
            "campaign": campaign,
            "channel": channel,
            "account": account,
            "slot_at": at,
            "member_id": member_id,
            "template": "sorotan",
            "rotation_round": 1 + post_id % 3,
            "pinned": False,
            "reason_id": "Giliran pertama di provinsinya; belum pernah tampil.",
            "reason_en": "First turn in the province; never featured.",
            "state": post_state,
            "state_changed_at": min(at, now),
            "created_at": planned_at,
            "version": 0,
            "low_resolution": False,
        }
        if post_state != S.PLANNED:
            card = rng.choice(cards)
            row |= {
                "caption": _caption(rng, names[member_id]),
                "title": f"{names[member_id]} | Sorotan Anggota"[:100]
                if channel == Channel.YOUTUBE
                else None,
                "tags": ["umkm", "ifn", "bpipi"],
                "caption_lang": "id",
                "card_path": card,
                "thumbnail_path": card if channel == Channel.YOUTUBE else None,
                "alt_text": f"Kartu promosi {names[member_id]}",
                "slides": [{"path": rng.choice(cards), "alt": "Foto produk"}]
                if channel == Channel.INSTAGRAM and post_id % 3 == 0
                else None,
                "low_resolution": post_id % 17 == 0,
                "compose_notes": ["low_resolution"] if post_id % 17 == 0 else None,
            }
        if post_state == S.CANCELLED:
            row["cancel_reason"] = "Diganti oleh staf"
        if post_state in (S.FAILED, S.NEEDS_REAUTH):
            row["last_error"] = "(#190) Error validating access token: session has expired"
            row["error_action"] = "re-authorise the account, then retry"
        if post_state == S.PUBLISHED:
            permalink = f"https://example.invalid/{channel.value}/{post_id}"
            row |= {"remote_id": f"r{post_id}", "permalink": permalink, "published_at": at}
            features.append(
                {
                    "post_id": post_id,
                    "member_id": member_id,
                    "campaign": campaign,
                    "channel": channel,
                    "account": account,
                    "featured_at": at,
                    "permalink": permalink,
                    "created_at": at,
                }
            )
            if post_id % 997 == 0:
                row["takedown_requested_at"] = now - timedelta(days=1)
        posts.append(row)
        events.append(
            {"post_id": post_id, "at": planned_at, "from_state": None, "to_state": S.PLANNED}
            | {"actor": "planner", "note": None}
        )
        before = S.PLANNED
        path = _PATHS[post_state]
        for step, (to_state, actor) in enumerate(path, start=1):
            when = planned_at + (min(at, now) - planned_at) * step / len(path)
            events.append(
                {"post_id": post_id, "at": when, "from_state": before, "to_state": to_state}
                | {"actor": actor, "note": None}
            )
            before = to_state
    # pins: planned future posts staff chose, so their slots stay the member's
    pinned = [p for p in posts if p["state"] == S.PLANNED][:: max(n_posts // 300, 1)]
    pins = []
    for p in pinned:
        p["pinned"] = True
        pins.append(
            {k: p[k] for k in ("campaign", "channel", "account", "slot_at", "member_id")}
            | {"note": "Permintaan mitra", "created_at": now - timedelta(days=5)}
        )
    exclusions = [
        {
            "member_id": member_id,
            "campaign": None if i % 3 else CAMPAIGNS[i % len(CAMPAIGNS)],
            "reason": "Sedang renovasi toko",
            "until": now + timedelta(days=30) if i % 2 else None,
            "created_at": now - timedelta(days=i % 90),
            "lifted_at": now - timedelta(days=1) if i % 5 == 0 else None,
        }
        for i, member_id in enumerate(rng.sample(ids, min(300, len(ids) // 3)))
    ]
    with Session(engine) as session:
        for table, rows in ((Post, posts), (PostEvent, events), (Feature, features)):
            copy_rows(session, table.__tablename__, rows)
        session.execute(insert(Pin), pins)
        session.execute(insert(Exclusion), exclusions)
        session.add(
            AccountState(
                channel=Channel.FACEBOOK,
                account="bpipi-umkm",
                needs_reauth_since=now - timedelta(hours=5),
                message="(#190) Error validating access token",
            )
        )
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('post', 'id'), max(id)) FROM post")
        )
        add_user(session, ADMIN, "admin", PASSWORD, now=now)
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    print(
        f"  {len(posts)} posts, {len(events)} events, {len(features)} features, {len(pins)} pins,"
        f" {len(exclusions)} exclusions in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )


def _plain(value: Any) -> Any:
    """A value as its column stores it: naive UTC times (UTCDateTime), JSON as text, a channel
    by its name."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, Channel):
        return value.value
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def copy_rows(session: Session, table: str, rows: list[dict[str, Any]]) -> None:
    """`rows` into `table` with COPY (PostgreSQL's bulk load; a row without a column sends
    NULL for it), in the session's transaction."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    names = ", ".join(f'"{name}"' for name in columns)
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_plain(row.get(name)) for name in columns])


# --- measuring ---------------------------------------------------------------------------------


class Timed:
    """The console app, timing each request from its start to the response's last byte."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        t0 = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - t0


class Statements:
    """SQL statements sent on an engine since the last reset, and the seconds spent in them
    (from sending one to having its rows: the database's part of a request)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._sent)
        event.listen(engine, "after_cursor_execute", self._answered)

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0

    def _sent(self, *_: Any) -> None:
        self.count += 1
        self._started = time.perf_counter()

    def _answered(self, *_: Any) -> None:
        self.seconds += time.perf_counter() - self._started


@dataclass
class Case:
    """One page to ask, and its baseline: the page's main query alone."""

    label: str
    url: str
    query: Callable[[Session], int] | None = None  # runs the main query, returns its rows
    pair: str | None = None  # the case with many posts this one (with few) is compared to


@dataclass
class Result:
    case: Case
    times: list[float]
    cpu: list[float]  # this process's CPU time per request (the app's threads)
    sql: list[float]  # time in the request's SQL statements
    statements: list[int]
    query_times: list[float]
    rows: int
    size: int

    def ms(self, q: float, times: list[float] | None = None) -> float:
        values = sorted(self.times if times is None else times)
        if not values:
            return float("nan")
        return 1000 * values[min(int(q * len(values)), len(values) - 1)]


def measure(
    client: TestClient,
    timed: Timed,
    counter: Statements,
    resources: Resources,
    case: Case,
    warmup: int,
    requests: int,
) -> Result:
    times, cpu, sql, statements, size = [], [], [], [], 0
    for i in range(warmup + requests):
        counter.reset()
        cpu0 = time.process_time()
        answer = client.get(case.url)
        used = time.process_time() - cpu0
        if answer.status_code != 200:
            raise SystemExit(f"{case.url}: {answer.status_code}\n{answer.text[:2000]}")
        if i >= warmup:
            times.append(timed.last)
            cpu.append(used)
            statements.append(counter.count)
            sql.append(counter.seconds)
            size = len(answer.content)
    query_times, rows = [], 0
    if case.query is not None:
        for i in range(warmup + requests):
            with resources.session() as session:
                t0 = time.perf_counter()
                rows = case.query(session)
                if i >= warmup:
                    query_times.append(time.perf_counter() - t0)
    return Result(case, times, cpu, sql, statements, query_times, rows, size)


def sign_in(client: TestClient) -> None:
    page = client.get("/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"csrf": token, "name": ADMIN, "password": PASSWORD})
    if answer.status_code != 303 or client.get("/me").status_code != 200:
        raise SystemExit(f"could not sign in as {ADMIN}: {answer.status_code}")


def _month(session: Session, zone: str, now: datetime, *, busiest: bool) -> date:
    """The first day of the month with the most posts, or of the one with the fewest among the
    months wholly inside the year after now (the data's edges are part months; a coming month,
    as the busiest, so that both have free slots to offer)."""
    month = func.date_trunc("month", func.timezone(zone, Post.slot_at))
    counts = {
        found.date(): n for found, n in session.execute(select(month, func.count()).group_by(month))
    }
    if busiest:
        return max(sorted(counts), key=lambda m: counts[m])
    first, last = (now + timedelta(days=1)).date(), (now + timedelta(days=330)).date()
    inside = [m for m in sorted(counts) if first <= m and m.replace(day=28) <= last]
    return min(inside, key=lambda m: counts[m])


def _lightest_week(session: Session, zone: str, now: datetime) -> date:
    """The week (a Monday) with the fewest posts of the year before now that has some."""
    local = func.timezone(zone, Post.slot_at)
    week = func.date_trunc("week", local)
    found = session.execute(
        select(week, func.count())
        .where(Post.slot_at > now - timedelta(days=330), Post.slot_at < now - timedelta(days=30))
        .group_by(week)
        .order_by(func.count(), week)
        .limit(1)
    ).first()
    assert found is not None
    return found[0].date()  # type: ignore[no-any-return]


def cases(console: ConsoleState, now: datetime) -> list[Case]:
    """The pages to ask: each with its main query, and pairs of few and many posts."""
    zone = console.settings.planner.display_timezone
    with console.resources.session() as session:
        month = _month(session, zone, now, busiest=True)
        light = _month(session, zone, now, busiest=False)
        week = _lightest_week(session, zone, now)
        busy = session.scalar(
            select(Post.member_id).group_by(Post.member_id).order_by(func.count().desc()).limit(1)
        )
        quiet = session.scalar(
            select(Post.member_id).group_by(Post.member_id).order_by(func.count()).limit(1)
        )
    day_start, day_end, _ = day_bounds(now, console)
    today = now.astimezone(console.zone).date()

    def window(view: str, start: date) -> Callable[[Session], int]:
        """Reading every post of the window with its member's name (the calendar's read)."""
        begin, end = parse_window(view, start.isoformat(), today).bounds(console.zone)
        return lambda s: rows(actions.calendar_rows(s, begin, end))

    def rows(found: Any) -> int:
        return len(found)

    busy_history: Callable[[Session], int] = lambda s: rows(member_history(s, str(busy)))  # noqa: E731
    return [
        Case("empty page (sign-in check, base template)", "/bench/empty"),
        Case("Today", "/", lambda s: rows(actions.posts_between(s, day_start, day_end))),
        Case(
            "review queue, 50 posts",
            "/review",
            lambda s: rows(actions.awaiting_review(s, None, offset=0, limit=50)),
        ),
        Case(
            f"review queue, {SMALL_COUNT} posts",
            f"/review?campaign={SMALL}",
            lambda s: rows(actions.awaiting_review(s, SMALL, offset=0, limit=50)),
            pair="review queue, 50 posts",
        ),
        Case(
            f"calendar month {month:%Y-%m} (busiest)",
            f"/calendar?view=month&start={month.isoformat()}",
            window("month", month),
        ),
        Case(
            f"calendar month {light:%Y-%m} (lightest)",
            f"/calendar?view=month&start={light.isoformat()}",
            window("month", light),
            pair=f"calendar month {month:%Y-%m} (busiest)",
        ),
        Case(
            f"calendar week {week} (lightest)",
            f"/calendar?view=week&start={week.isoformat()}",
            window("week", week),
        ),
        Case(
            "members list",
            "/members",
            lambda s: rows(s.execute(select(Member).order_by(Member.id).limit(50)).all()),
        ),
        Case(
            f"members list, search {quiet}",
            f"/members?q={quiet}",
            lambda s: rows(s.execute(select(Member).where(Member.id == quiet)).all()),
            pair="members list",
        ),
        Case(f"member page, {busy} (most posts)", f"/members/{busy}", busy_history),
        Case(
            f"member page, {quiet} (fewest posts)",
            f"/members/{quiet}",
            lambda s: rows(member_history(s, str(quiet))),
            pair=f"member page, {busy} (most posts)",
        ),
        Case("failures", "/failures", lambda s: rows(actions.needs_staff(s, limit=50))),
        Case("activity", "/activity", lambda s: rows(activity(s, ActivityFilter()).events)),
        Case("fairness", "/fairness"),
    ]


@contextmanager
def console_app(
    settings: Settings, now: datetime
) -> Iterator[tuple[ConsoleState, TestClient, Timed, Statements]]:
    """The app on the bench database at `now`, with an empty page for the baseline, and a
    client signed in as the admin."""
    with Resources(settings) as resources:
        app = create_app(resources, clock=lambda: now)

        @app.get("/bench/empty")
        def empty(request: Request, staff: Viewer) -> Response:
            return render(request, staff, "console/base.html.j2")

        counter = Statements(resources.engine)
        timed = Timed(app)
        with TestClient(timed, base_url="http://127.0.0.1", follow_redirects=False) as client:
            sign_in(client)
            yield state_of(app), client, timed, counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    parser.add_argument("--server", default=SERVER, help="a PostgreSQL URL (its database: any)")
    parser.add_argument("--database", default=DATABASE, help="the bench's own database")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (and reuse it when sizes match)"
    )
    parser.add_argument("--only", nargs="*", default=[], help="only pages whose label has this")
    args = parser.parse_args()
    server = store.parse_url(args.server)
    url = server.set(database=args.database)
    data_dir = DATA_DIR.resolve()
    settings = Settings(
        database={"url": url.render_as_string(hide_password=False)}, data_dir=data_dir
    )
    cards = make_cards(settings.cards.cache_dir)
    started = time.perf_counter()
    now: datetime | None = None
    if args.keep and database_exists(server, args.database):
        engine = store.make_engine(url.render_as_string(hide_password=False))
        members, posts, now = sizes(engine)
        if (members, posts) != (args.members, args.posts) or now is None:
            now = None
        else:
            store.upgrade(engine)  # migrations (indexes) added since the data was made
            print(
                f"reusing {args.database}: {members} members, {posts} posts,"
                f" made {now:%Y-%m-%d %H:%M} UTC"
            )
        engine.dispose()
    if now is None:
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        print(f"building {args.database}: {args.members} members, {args.posts} posts", flush=True)
        create_database(server, args.database)
        engine = store.make_engine(url.render_as_string(hide_password=False))
        store.upgrade(engine)
        build(engine, args.members, args.posts, cards, now)
        engine.dispose()
    results: list[Result] = []
    missing: list[str] = []
    load_at_start = os.getloadavg()[0]
    try:
        with console_app(settings, now) as (console, client, timed, counter):
            for case in cases(console, now):
                if args.only and not any(word in case.label for word in args.only):
                    continue
                if client.get(case.url).status_code == 404 and case.url != "/bench/empty":
                    missing.append(f"{case.label} ({case.url}): not there yet")
                    continue
                result = measure(
                    client, timed, counter, console.resources, case, args.warmup, args.requests
                )
                results.append(result)
                print(
                    f"  {case.label}: p95 {result.ms(0.95):.1f} ms,"
                    f" {max(result.statements)} statements",
                    flush=True,
                )
    finally:
        if not args.keep:
            drop_database(server, args.database)
    load = (load_at_start, os.getloadavg()[0])
    report(results, missing, args, now, time.perf_counter() - started, load)


def state_of(app: FastAPI) -> ConsoleState:
    return app.state.console  # type: ignore[no-any-return]


def report(
    results: list[Result],
    missing: list[str],
    args: argparse.Namespace,
    now: datetime,
    took: float,
    load: tuple[float, float],
) -> None:
    print()
    print(f"# console bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {describe_machine()}")
    print(f"# load average of the machine at the start and the end: {load[0]:.1f}, {load[1]:.1f}")
    print(
        f"# PostgreSQL, {args.members} members, {args.posts} posts,"
        f" data around {now:%Y-%m-%d %H:%M} UTC; {args.requests} requests a page"
        f" after {args.warmup} untimed; {took:.0f} s in all"
    )
    print()
    print(
        "| page | URL | p50 ms | p95 ms | max ms | CPU p50 ms | in SQL p50 ms | SQL/request |"
        " main query p50 ms | rows read | KiB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by_label = {r.case.label: r for r in results}
    for r in results:
        counts = sorted(set(r.statements))
        shown = "/".join(str(c) for c in counts)
        query = f"{r.ms(0.5, r.query_times):.1f}" if r.query_times else "-"
        rows = str(r.rows) if r.case.query else "-"
        print(
            f"| {r.case.label} | `{r.case.url}` | {r.ms(0.5):.1f} | {r.ms(0.95):.1f} |"
            f" {r.ms(1.0):.1f} | {r.ms(0.5, r.cpu):.1f} | {r.ms(0.5, r.sql):.1f} | {shown} |"
            f" {query} | {rows} | {r.size / 1024:.0f} |"
        )
    for line in missing:
        print(f"- {line}")
    print()
    slow = [r.case.label for r in results if r.ms(0.95) >= GOAL_MS]
    grows = []
    for r in results:
        other = by_label.get(r.case.pair or "")
        if other is not None:
            few, many = max(r.statements), max(other.statements)
            verdict = "flat" if many <= few else "GROWS"
            print(
                f"statements, {r.case.label} ({r.rows} rows) against {other.case.label}"
                f" ({other.rows} rows): {few} and {many}: {verdict}"
            )
            if many > few:
                grows.append(other.case.label)
    print(f"\np95 over {GOAL_MS:.0f} ms: {', '.join(slow) or 'none'}")
    print(f"statement count growing with the posts shown: {', '.join(grows) or 'none'}")
    print(
        f"\ngoal: p95 under {GOAL_MS:.0f} ms a page; statements per request flat in the posts shown"
    )


if __name__ == "__main__":
    main()
