"""Data for the campaigns, activity and users pages' tests: generated members (one with a hostile
name), a console on a fixed clock before the shipped campaigns start, and planned posts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ifn_campaign.models import Member, Post
from ifn_sandbox.sample import store_generated_members
from tests.support.console import ConsoleWorld, console_world, settings_for

# before the shipped campaigns' first slots (sorotan-anggota and harbolnas-1212 start on
# 2026-12-01), so a dry run has slots to fill
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ATTACK = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
HOSTILE_NAME = f"Sepatu \u202e{ATTACK} {{{{ 7*7 }}}}"


@contextmanager
def console_at(db_url: str, data_dir: Path, **overrides: Any) -> Iterator[ConsoleWorld]:
    """The console on a migrated database with the clock standing at NOW."""
    with console_world(settings_for(db_url, data_dir, **overrides), clock=lambda: NOW) as world:
        yield world


def store_members(session: Session, n: int = 12) -> list[str]:
    """`n` generated members able to be featured on every channel; the first one's name is
    hostile (markup, an RTL override, template syntax). Commits."""
    ids = store_generated_members(session, n, now=NOW - timedelta(days=60))
    first = session.get(Member, ids[0])
    assert first is not None
    first.business_name = HOSTILE_NAME
    session.commit()
    return ids


def post_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Post)) or 0
