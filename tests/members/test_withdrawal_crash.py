"""SIGKILL inside a page withdrawal, at each of its statements and just before the commit: the
database holds all of it or none of it (no consent withdrawn without its cancellations, no
record without its consent), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ifn_campaign.models import Member, MemberWithdrawal, Notice, NoticeState, Post, PostState
from tests.support.ledger import EARLIER, NOW, add_member, add_post
from tests.support.member_rows import add_notice

# The child kills itself with SIGKILL after statement number KILL_AFTER of the withdrawal (0:
# after all of them, before the commit), or commits when it is -1; prints how many it ran.
CHILD = """
import json, os, signal, sys
from datetime import datetime
from sqlalchemy import event
from sqlalchemy.orm import Session
from ifn_campaign import store
from ifn_campaign.members.withdrawal import MEMBER_PAGE, withdraw

url, kill_after, now = sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
engine = store.open_store(url)
ran = 0


def count(*_args):
    global ran
    ran += 1
    if ran == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)


with Session(engine) as s:
    s.connection()  # the session's connection is open before counting starts
    event.listen(engine, "after_cursor_execute", count)
    withdraw(s, "m1", source=MEMBER_PAGE, answer_id=None, now=now)
    if kill_after == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    event.remove(engine, "after_cursor_execute", count)
    if kill_after == -1:
        s.commit()
print(json.dumps(ran))
"""


def _run(db_url: str, kill_after: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFN_")}
    return subprocess.run(
        [sys.executable, "-c", CHILD, db_url, str(kill_after), NOW.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _snapshot(engine: Engine) -> dict[str, Any]:
    with Session(engine) as s:
        member = s.get(Member, "m1")
        assert member is not None
        return {
            "withdrawn_at": member.consent_withdrawn_at,
            "records": s.scalar(select(func.count()).select_from(MemberWithdrawal)),
            "posts": sorted(
                (p.id, p.state, p.takedown_requested_at) for p in s.scalars(select(Post))
            ),
            "notices": sorted(s.scalars(select(Notice.state))),
        }


@pytest.mark.slow
def test_a_killed_withdrawal_leaves_nothing_half_done(engine: Engine, db_url: str) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        queued = add_post(s, "m1", PostState.APPROVED)
        out = add_post(s, "m1", PostState.PUBLISHED, featured_at=EARLIER, permalink="https://i/1")
        add_notice(s, "m1", "before:crash", NoticeState.PENDING)
        s.commit()
    before = _snapshot(engine)
    # a run that does not die: how many statements there are to die at
    probe = _run(db_url, kill_after=10_000)
    assert probe.returncode == 0, probe.stderr
    statements = json.loads(probe.stdout)
    assert statements >= 5  # lock/read the member, record, posts, events, takedowns, notices
    assert _snapshot(engine) == before  # the probe did not commit
    for kill_after in [*range(1, statements + 1), 0]:
        killed = _run(db_url, kill_after)
        assert killed.returncode == -signal.SIGKILL, (kill_after, killed.stderr)
        assert _snapshot(engine) == before, kill_after
    done = _run(db_url, kill_after=-1)
    assert done.returncode == 0, done.stderr
    after = _snapshot(engine)
    assert after["withdrawn_at"] == NOW and after["records"] == 1
    assert after["posts"] == sorted(
        [(queued, PostState.CANCELLED, None), (out, PostState.PUBLISHED, NOW)]
    )
    assert after["notices"] == [NoticeState.DROPPED]
