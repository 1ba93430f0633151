"""Member notices benchmark: queue_due and send_due for 1,000 and 5,000 posts (issue 19).

Setup (not timed), per size, on a fresh SQLite file (and a fresh PostgreSQL database when
--database-url or IFN_TEST_DATABASE_URL names a server): generated members
(`store_generated_members`) who allowed e-mail (`consent.fields_allowed = ["email"]`) with an
address each, one in five reading English; then posts, one per member: four in five approved,
their slots spread over the next `notices.days_ahead` days (each owes a before notice), one in
five published in the last three days with a permalink (each owes an after notice). Every post
points at one small card in the cards folder, inlined in each e-mail as the outbox does.

Measured, each with wall time and the SQL statements sent (a `before_cursor_execute` listener on
the engine; an executemany counts once):
- `queue_due` #1: everything queued (rendering, a member-page link each, the outbox rows);
- `queue_due` #2: nothing new, every notice still pending (what a run between queue and send
  costs); #3: nothing new, nothing pending (a quiet 15-minute run);
- `send_due`, run until a run sends nothing (`notices.batch` at a time, as the flow every 15
  minutes would), to the mail sandbox (`ifn_sandbox.mail.MailSandbox`, real SMTP on loopback;
  `--latency` seconds before each reply, the greeting included, stands in for a distant server):
  notices/s, SMTP connections opened per notice (counted by the sandbox's protocol factory,
  called once per connection), statements per notice.

Baseline, same run and a fresh sandbox with the same latency: plain `smtplib`, one connection,
`sendmail` of the same messages (built from the same rows by `build_message` beforehand, that
build timed apart): the floor of SMTP alone.

Run: `make bench-notices`, or e.g. `.venv/bin/python bench/notices_bench.py --posts 300
--latency 0.005`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import smtplib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from machine import describe as describe_machine
from PIL import Image, ImageDraw
from sqlalchemy import Engine, create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.members.links import unsubscribe_url
from ifn_campaign.models import (
    Member,
    MemberPreference,
    Notice,
    NoticeMedium,
    NoticeState,
    Post,
    PostState,
)
from ifn_campaign.notices import delivery
from ifn_campaign.notices.compose import NoticeWriter
from ifn_campaign.notices.delivery import SendReport, send_due
from ifn_campaign.notices.outbox import QueueReport, queue_due
from ifn_campaign.notices.smtp import SmtpConnection, bare_address, build_message
from ifn_sandbox.mail import MailSandbox
from ifn_sandbox.sample import store_generated_members

CAMPAIGN = "bench-notices"
CHANNELS = ("instagram", "facebook", "youtube")
PUBLISHED_EVERY = 5  # one post in five is out already (an after notice)
ENGLISH_EVERY = 5  # one member in five reads English
PG_DATABASE = f"ifn_notices_bench_{os.getpid()}"  # two runs at once never share one
MEMBER_PAGE_SECRET = "bench-member-page-secret-0123456789abcdef"


# --- the database and the data ------------------------------------------------------------


@contextmanager
def database(kind: str, folder: Path, server: URL | None) -> Iterator[tuple[str, Engine]]:
    """A fresh, migrated database: a SQLite file in `folder`, or PG_DATABASE on `server`
    (dropped and made again, dropped at the end)."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'notices.db'}"
    else:
        assert server is not None
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        url = server.set(database=PG_DATABASE).render_as_string(hide_password=False)
    engine = store.make_engine(url)
    try:
        store.upgrade(engine)
        yield url, engine
    finally:
        engine.dispose()
        if kind != "sqlite":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            admin.dispose()


def make_card(folder: Path) -> Path:
    """One card-sized JPEG with some detail, so each e-mail carries what a card weighs."""
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.linear_gradient("L").resize((1080, 1350)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for y in range(0, 1350, 150):  # about 80 KiB, the median of the demo's cards
        draw.rectangle((0, y, 1080, y + 9), fill=(122, 59, 18))
    draw.text((60, 60), "IFN bench notice card", fill=(255, 255, 255))
    path = folder / "bench-card.jpg"
    image.save(path, "JPEG", quality=85)
    return path


def setup_data(engine: Engine, settings: Settings, n: int, card: Path, now: datetime) -> dict:
    """`n` members who allowed e-mail, each with one post (see the module's docstring)."""
    counts = {"before": 0, "after": 0}
    span = timedelta(days=settings.notices.days_ahead) - timedelta(hours=2)
    card_path = settings.stored(card)
    with Session(engine) as session:
        ids = store_generated_members(session, n, now=now - timedelta(days=30))
        session.flush()
        for i, member_id in enumerate(ids):
            session.execute(
                update(Member)
                .where(Member.id == member_id)
                .values(
                    contact={"email": f"pemilik.{i}@sepatu-contoh.id"},
                    consent_fields_allowed=["email", "owner_name"],
                )
            )
        session.execute(
            insert(MemberPreference),
            [
                {"member_id": m, "language": "en", "updated_at": now}
                for i, m in enumerate(ids)
                if i % ENGLISH_EVERY == 1
            ],
        )
        names = dict(session.execute(select(Member.id, Member.business_name)).all())
        rows: list[dict[str, Any]] = []
        for i, member_id in enumerate(ids):
            row: dict[str, Any] = {
                "campaign": CAMPAIGN,
                "channel": CHANNELS[i % 3],
                "account": "bpipi",
                "member_id": member_id,
                "template": "sorotan",
                "rotation_round": 1,
                "pinned": False,
                "reason_id": "bench",
                "reason_en": "benchmark",
                "state_changed_at": now,
                "created_at": now - timedelta(days=5),
                "caption": f"Kenalan dengan {names[member_id]}! Alas kaki buatan Indonesia. "
                "#IFN #SepatuIndonesia",
                "caption_lang": "id",
                "card_path": card_path,
                "reviewed_by": "staff:bench",
                "reviewed_at": now - timedelta(days=4),
            }
            if i % PUBLISHED_EVERY == 0:
                out = now - timedelta(hours=1) - timedelta(seconds=(i * 3 * 86400) // n)
                row |= {
                    "state": PostState.PUBLISHED,
                    "slot_at": out,
                    "published_at": out,
                    "permalink": f"https://www.instagram.com/p/BENCH{i:06d}/",
                }
                counts["after"] += 1
            else:
                slot = now + timedelta(hours=1) + span * i / n
                row |= {"state": PostState.APPROVED, "slot_at": slot.replace(microsecond=0)}
                counts["before"] += 1
            rows.append(row)
        session.execute(insert(Post), rows)
        session.commit()
    return counts


def bench_settings(url: str, data_dir: Path, smtp_port: int, batch: int) -> Settings:
    return Settings(
        database={"url": url},
        data_dir=data_dir,
        member_page={"secret": MEMBER_PAGE_SECRET, "base_url": "https://ifn.example.org"},
        notices={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_security": "none",
            "smtp_timeout": 30.0,
            "batch": batch,
        },
    )


def no_secrets(name: str) -> str:
    raise KeyError(f"the bench configures no secret ({name})")


# --- measuring ------------------------------------------------------------------------------


class Statements:
    """SQL statements the engine sends while counting (executemany counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _seen(self, *args: object) -> None:
        self.count += 1

    @contextmanager
    def counting(self) -> Iterator[Statements]:
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)
        try:
            yield self
        finally:
            event.remove(self.engine, "before_cursor_execute", self._seen)


class BenchMail(MailSandbox):
    """The mail sandbox with every SMTP connection counted and, with `latency`, a pause before
    each reply's last line (the greeting included): a server `latency` seconds away, one
    round trip per command."""

    def __init__(self, maildir: Path, latency: float) -> None:
        super().__init__(maildir)
        self.latency = latency
        self.connections = 0

    def _smtp_protocol(self) -> Any:
        protocol = super()._smtp_protocol()  # called once per accepted connection
        self.connections += 1
        if self.latency > 0:
            push = protocol.push
            latency = self.latency

            async def slow_push(status: str | bytes) -> None:
                line = status if isinstance(status, bytes) else status.encode()
                if line[3:4] != b"-":  # the last line of a reply
                    await asyncio.sleep(latency)
                await push(status)

            protocol.push = slow_push
        return protocol


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


@dataclass
class Run:
    """One measured step."""

    what: str
    notices: int
    seconds: float
    statements: int
    connections: int | None = None
    runs: int | None = None
    note: str = ""


@dataclass
class SizeResult:
    database: str
    posts: int
    owed: dict[str, int]
    card_bytes: int
    runs: list[Run] = field(default_factory=list)
    compose_ms: float = 0.0
    build_ms: float = 0.0
    send_build_ms: float = 0.0
    send_smtp_ms: float = 0.0
    arrived: int = 0
    floor_arrived: int = 0


class Timer:
    """Seconds spent in `owner.name` while timing: the wrapped function runs as ever, its time
    is added up (the templates while queuing; building and sending each e-mail in send_due)."""

    def __init__(self, owner: Any, name: str) -> None:
        self.owner = owner
        self.name = name
        self.seconds = 0.0
        self.calls = 0

    @contextmanager
    def timing(self) -> Iterator[Timer]:
        original = getattr(self.owner, self.name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        setattr(self.owner, self.name, timed)
        try:
            yield self
        finally:
            setattr(self.owner, self.name, original)

    def ms_each(self) -> float:
        return self.seconds / max(self.calls, 1) * 1000


def queue_run(engine: Engine, settings: Settings, now: datetime) -> tuple[QueueReport, float, int]:
    counter = Statements(engine)
    with counter.counting(), Session(engine) as session:

        def run() -> QueueReport:
            report = queue_due(session, settings, now=now)
            session.commit()
            return report

        report, seconds = _timed(run)
    return report, seconds, counter.count


def send_all(
    engine: Engine, settings: Settings, now: datetime, limit: int | None
) -> tuple[list[SendReport], float, int]:
    """send_due until a run sends nothing (or `limit` notices went)."""
    counter = Statements(engine)
    reports: list[SendReport] = []
    sent = 0
    started = time.perf_counter()
    with counter.counting():
        while limit is None or sent < limit:
            with Session(engine) as session:
                report = send_due(session, settings, secrets=no_secrets, now=now, worker="bench")
            if not report.sent and not report.retry_later and not report.failed:
                break
            reports.append(report)
            sent += len(report.sent)
            if report.retry_later or report.failed or report.uncertain:
                break  # something went wrong: reported below, not retried
    return reports, time.perf_counter() - started, counter.count


def floor_send(messages: list[tuple[str, str, bytes]], port: int) -> float:
    """Plain smtplib, one connection, the prebuilt messages: seconds."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench", timeout=30) as conn:
        for sender, to, data in messages:
            conn.sendmail(sender, [to], data)
    return time.perf_counter() - started


def bench_size(
    kind: str, server: URL | None, posts: int, args: argparse.Namespace, work: Path
) -> SizeResult:
    folder = work / f"{kind}-{posts}"
    folder.mkdir()
    now = datetime.now(UTC).replace(microsecond=0)
    with (
        database(kind, folder, server) as (url, engine),
        BenchMail(folder / "mail", args.latency) as mail,
    ):
        settings = bench_settings(url, folder / "data", mail.smtp_port, args.batch)
        card = make_card(settings.path(settings.cards.cache_dir) / "bench")
        owed = setup_data(engine, settings, posts, card, now)
        result = SizeResult(kind, posts, owed, card_bytes=card.stat().st_size)
        print(f"{kind} {posts}: setup {owed}", flush=True)

        timer = Timer(NoticeWriter, "compose")
        with timer.timing():
            report, seconds, statements = queue_run(engine, settings, now)
        result.compose_ms = timer.ms_each()
        note = f"before {report.before}, after {report.after}; skipped {len(report.skipped)}"
        result.runs.append(
            Run("queue_due #1 (all new)", report.queued, seconds, statements, note=note)
        )
        report, seconds, statements = queue_run(engine, settings, now + timedelta(minutes=1))
        result.runs.append(
            Run("queue_due #2 (nothing new, all pending)", report.queued, seconds, statements)
        )
        print(f"{kind} {posts}: queued", flush=True)

        # what send_due spends building each e-mail (delivery's build_message) and in the
        # SMTP exchange (serialising the message, the four commands and their replies)
        building, smtp = Timer(delivery, "build_message"), Timer(SmtpConnection, "send")
        with building.timing(), smtp.timing():
            reports, seconds, statements = send_all(engine, settings, now, args.send_max)
        result.send_build_ms, result.send_smtp_ms = building.ms_each(), smtp.ms_each()
        sent = sum(len(r.sent) for r in reports)
        problems = [
            f"{len(getattr(r, what))} {what}"
            for r in reports
            for what in ("retry_later", "failed", "refused", "uncertain", "dropped")
            if getattr(r, what)
        ]
        result.runs.append(
            Run(
                f"send_due (batch {settings.notices.batch})",
                sent,
                seconds,
                statements,
                connections=mail.connections,
                runs=len(reports),
                note="; ".join(problems),
            )
        )
        result.arrived = sum(1 for _ in (folder / "mail" / "new").iterdir())
        print(f"{kind} {posts}: sent {sent}", flush=True)

        report, seconds, statements = queue_run(engine, settings, now + timedelta(minutes=15))
        with Session(engine) as session:
            pending = session.scalar(
                select(func.count()).select_from(Notice).where(Notice.state == NoticeState.PENDING)
            )
        result.runs.append(
            Run(
                "queue_due #3 (nothing new, sent)",
                report.queued,
                seconds,
                statements,
                note=f"{pending} still pending" if pending else "",
            )
        )

        # the floor: the same messages, built beforehand, over one plain connection
        with Session(engine) as session:
            rows = list(
                session.scalars(
                    select(Notice)
                    .where(Notice.state == NoticeState.SENT, Notice.medium == NoticeMedium.EMAIL)
                    .order_by(Notice.id)
                )
            )
            session.expunge_all()
        sender = bare_address(settings.notices.sender)

        def build() -> list[tuple[str, str, bytes]]:
            return [
                (
                    sender,
                    n.to_address,
                    build_message(
                        n,
                        settings,
                        unsubscribe=unsubscribe_url(settings, n.member_id, NoticeMedium.EMAIL),
                        now=now,
                    ).as_bytes(),
                )
                for n in rows
            ]

        messages, build_seconds = _timed(build)
        result.build_ms = build_seconds / max(len(rows), 1) * 1000
    with BenchMail(folder / "floor-mail", args.latency) as floor_mail:
        seconds = floor_send(messages, floor_mail.smtp_port)
        result.runs.append(
            Run(
                "floor: smtplib, one connection",
                len(messages),
                seconds,
                0,
                connections=floor_mail.connections,
                runs=1,
            )
        )
        result.floor_arrived = sum(1 for _ in (folder / "floor-mail" / "new").iterdir())
    return result


# --- report ---------------------------------------------------------------------------------


def print_report(results: list[SizeResult], args: argparse.Namespace, setup: float) -> None:
    print()
    print(f"# notices benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {describe_machine()}; Python {platform.python_version()}")
    print(
        f"# SMTP latency {args.latency * 1000:.1f} ms before each reply; "
        f"notices.batch {args.batch}; load average {os.getloadavg()[0]:.1f}; "
        f"whole run {setup:.0f} s"
    )
    print()
    print(
        "| db | posts | step | notices | seconds | notices/s | ms/notice | statements "
        "| stmts/notice | runs | SMTP conns | conns/notice | note |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        for run in r.runs:
            n = run.notices
            rate = f"{n / run.seconds:.0f}" if n and run.seconds else "-"
            per = f"{run.seconds / n * 1000:.2f}" if n else "-"
            spn = f"{run.statements / n:.2f}" if n else "-"
            conns = "-" if run.connections is None else str(run.connections)
            cpn = f"{run.connections / n:.4f}" if n and run.connections is not None else "-"
            runs = "-" if run.runs is None else str(run.runs)
            print(
                f"| {r.database} | {r.posts} | {run.what} | {n} | {run.seconds:.2f} | {rate} "
                f"| {per} | {run.statements} | {spn} | {runs} | {conns} | {cpn} | {run.note} |"
            )
    print()
    for r in results:
        send = next(run for run in r.runs if run.what.startswith("send_due"))
        floor = next(run for run in r.runs if run.what.startswith("floor"))
        ratio = send.seconds / floor.seconds if floor.seconds else float("nan")
        each = send.seconds / max(send.notices, 1) * 1000
        rest = each - r.send_build_ms - r.send_smtp_ms
        print(
            f"- {r.database} {r.posts}: send_due {each:.1f} ms a notice = build_message "
            f"{r.send_build_ms:.1f} + SMTP (serialise, commands, replies) {r.send_smtp_ms:.1f} "
            f"+ database and the rest {rest:.1f}; the floor "
            f"{floor.seconds / max(floor.notices, 1) * 1000:.1f}"
        )
        print(
            f"- {r.database} {r.posts}: send_due {ratio:.1f}x the floor; templates "
            f"{r.compose_ms:.2f} ms a notice while queuing; build_message "
            f"{r.build_ms:.2f} ms a notice (in send_due, not in the floor; card "
            f"{r.card_bytes / 1024:.0f} KiB); the sandbox filed "
            f"{r.arrived} (floor {r.floor_arrived})"
        )
    print()
    print(
        "goal: queue_due's statements a fixed handful per 500 posts plus a constant per notice "
        "queued; the quiet re-run cheap and flat; send_due one SMTP connection per run, near "
        "the floor"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the SMTP server waits per reply"
    )
    parser.add_argument(
        "--batch", type=int, default=200, help="notices.batch: notices one send_due run takes"
    )
    parser.add_argument(
        "--send-max", type=int, default=None, help="stop sending after this many (all: unset)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("IFN_TEST_DATABASE_URL"),
        help="a PostgreSQL server to run on as well (its database "
        f"{PG_DATABASE} is made and dropped); default IFN_TEST_DATABASE_URL",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    if any(n < 5 for n in args.posts):
        parser.error("--posts: at least 5")
    server = make_url(args.database_url) if args.database_url else None
    if server is not None and server.get_backend_name() != "postgresql":
        parser.error(f"--database-url: a PostgreSQL server, not {server.get_backend_name()}")
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if server else [])
    if not kinds:
        parser.error("--no-sqlite without --database-url: nothing to run")
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            for posts in args.posts:
                results.append(bench_size(kind, server, posts, args, Path(tmp)))
    print_report(results, args, time.perf_counter() - started)
    print(f"\nmachine: {platform.platform()}, {date.today()}")


if __name__ == "__main__":
    sys.exit(main())
