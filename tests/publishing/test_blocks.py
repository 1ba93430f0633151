"""Platform blocks kept in the database (blocks.py), on SQLite and PostgreSQL: two workers that
meet the same rate limit at once must both store it (one row, the later end), never fail the
second with a duplicate key (which left its post claimed until the lease ran out)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.models import PlatformBlock
from ifn_campaign.publishing.blocks import ACCOUNT, record_block

KEY = "instagram:bpipi"


def _store(engine: Engine, until: datetime, now: datetime, started: threading.Event) -> None:
    with Session(engine) as session:
        record_block(session, ACCOUNT, KEY, until, code=80002, reason="limit", now=now)
        started.set()
        time.sleep(0.5)  # the other worker stores the same block meanwhile
        session.commit()


def test_two_workers_store_the_same_block_at_once(engine: Engine) -> None:
    now = datetime.now(UTC)
    first_in, second_in = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def worker(until: datetime, wait: threading.Event | None, started: threading.Event) -> None:
        try:
            if wait is not None:
                wait.wait(10)
            _store(engine, until, now, started)
        except BaseException as exc:  # the test reports it
            errors.append(exc)
            started.set()

    threads = [
        threading.Thread(target=worker, args=(now + timedelta(minutes=10), None, first_in)),
        threading.Thread(target=worker, args=(now + timedelta(minutes=30), first_in, second_in)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    with Session(engine) as session:
        (block,) = session.scalars(select(PlatformBlock)).all()
    assert block.blocked_until == now + timedelta(minutes=30)


def test_a_block_is_lengthened_never_shortened_and_renewed_once_over(engine: Engine) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        record_block(session, ACCOUNT, KEY, now + timedelta(hours=1), code=32, reason="a", now=now)
        session.commit()
        record_block(session, ACCOUNT, KEY, now + timedelta(minutes=5), code=4, reason="b", now=now)
        session.commit()
        assert session.get(PlatformBlock, (ACCOUNT, KEY)).blocked_until == now + timedelta(hours=1)  # type: ignore[union-attr]

        later = now + timedelta(hours=2)  # the first one is over: a shorter new one counts
        record_block(
            session, ACCOUNT, KEY, later + timedelta(minutes=5), code=4, reason="c", now=later
        )
        session.commit()
        block = session.get(PlatformBlock, (ACCOUNT, KEY))
        assert block is not None
        assert (block.blocked_until, block.code, block.reason) == (
            later + timedelta(minutes=5),
            4,
            "c",
        )
