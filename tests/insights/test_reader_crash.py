"""An insights run killed with SIGKILL in the middle loses at most the batch in hand: the batches
before it are stored whole, nothing half-written, and the next run reads the rest once (SQLite
and PostgreSQL). The run is its own process, configured by IFN_* variables only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ifn_sandbox.http import Fault
from tests.support.insight_sandboxes import Sandboxed, sandboxed

SCRIPT = """
import sys
from datetime import datetime
from ifn_campaign.config import load_settings
from ifn_campaign.insights.reader import run_insights
from ifn_campaign.wiring import Resources

with Resources(load_settings()) as res:
    report = run_insights(res, now=datetime.fromisoformat(sys.argv[1]))
print(report.read)
"""


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[Sandboxed]:
    with sandboxed(engine, tmp_path, batch=2) as made:
        yield made


def child_env(world: Sandboxed, folder: Path) -> dict[str, str]:
    (folder / "none.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFN_")}
    return (
        env
        | world.platforms.environ(world.settings)
        | {
            "IFN_CONFIG": str(folder / "none.toml"),
            "IFN_DATA_DIR": str(folder),
            "IFN_DATABASE__URL": str(world.settings.database.url),
            "IFN_INSIGHTS__BATCH": "2",
        }
    )


def test_a_run_killed_mid_batch_loses_only_that_batch(world: Sandboxed, tmp_path: Path) -> None:
    posts = world.publish("facebook", 6)
    world.advance(timedelta(hours=1, minutes=1))
    graph = world.platforms.graph
    graph.faults.add(Fault("/v25.0/", "slow", delay=8, after=1, times=1))  # the 2nd batch hangs
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, world.now().isoformat()],
        env=child_env(world, tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        # the second call is asked for while the first batch is stored (one batch ahead):
        # killed once that batch is in and the second call hangs
        while (
            (len(world.reads()) < 2 or len(world.readings()) < 2)
            and child.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)  # waiting for the child's second call, not timing anything
        assert len(world.reads()) == 2, child.communicate(timeout=30)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL
    stored = world.readings()
    assert [(r.post_id, r.state) for r in stored] == [(p, "read") for p in posts[:2]]
    assert all(world.metrics(r.id or 0) for r in stored)
    graph.faults.clear()
    report = world.read()
    assert sorted(o.post_id for o in report.outcomes if o.state == "read") == posts[2:]
    readings = world.readings()
    assert Counter((r.post_id, r.mark) for r in readings) == {(p, "1h"): 1 for p in posts}
    for r in readings:
        figures = world.metrics(r.id or 0)
        assert figures["post_total_media_view_unique"] == r.reach
