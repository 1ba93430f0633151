"""WorkerPool: spawned workers that die with their parent, rerun a chunk lost with a broken pool
once, and cancel what has not started when the caller leaves early. Real processes, real
SIGKILLs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ifn_campaign.orchestration.stages import ComposeSummary, gather_chunks
from ifn_campaign.orchestration.worker_pool import WorkerPool
from tests.support.orchestration import _chunk_result, _slow

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _dies_the_first_time(marker: str, post_ids: list[int]) -> ComposeSummary:
    """A chunk whose first worker is killed mid-way (the OOM killer), then goes through."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return ComposeSummary(composed=list(post_ids))


def test_a_chunk_lost_with_its_worker_runs_again(tmp_path: Path) -> None:
    """The first chunk's worker is killed: that chunk and the ones waiting behind it in the
    broken pool run again, each once, and all count."""
    chunks = [[1, 2], [3], [4]]
    marker = str(tmp_path / "killed-once")
    with WorkerPool(1) as pool:
        results = [pool.submit(_dies_the_first_time, marker, ids) for ids in chunks]
        summary, stopped = gather_chunks(chunks, results)
    assert stopped is None and summary.failed == []
    assert sorted(summary.composed) == [1, 2, 3, 4]


def test_a_chunk_that_kills_every_worker_fails_alone() -> None:
    """[66] kills its worker each time: it is reported failed after its rerun; the chunks that
    were waiting behind it in the broken pool still count (they used to fail with it)."""
    chunks = [[1, 2], [66], [3]]
    with WorkerPool(1) as pool:
        first = pool.submit(_chunk_result, chunks[0])
        first()  # done before the worker dies
        results = [first] + [pool.submit(_chunk_result, ids) for ids in chunks[1:]]
        summary, stopped = gather_chunks(chunks, results)
    assert stopped is None
    assert sorted(summary.composed) == [1, 2, 3]
    assert [post_id for post_id, _ in summary.failed] == [66]
    assert "BrokenProcessPool" in summary.failed[0][1]


def test_work_handed_to_an_already_broken_pool_still_runs() -> None:
    from concurrent.futures.process import BrokenProcessPool

    with WorkerPool(1) as pool:
        killer = pool.submit(_chunk_result, [66])
        with pytest.raises(BrokenProcessPool):
            killer()  # its worker died, and so did the one it was run again in
        later = pool.submit(_chunk_result, [3])  # the pool is broken by now
        assert later().composed == [3]


def test_leaving_early_cancels_the_chunks_not_started() -> None:
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), WorkerPool(1) as pool:
        pool.submit(_slow, 1.0)
        for _ in range(20):
            pool.submit(_slow, 1.0)  # 20 s if leaving waited for them all
        raise KeyboardInterrupt
    assert time.monotonic() - started < 15  # the running one finishes, the rest are cancelled


def _state(pid: int) -> str | None:
    """The process's state letter, or None when it is gone (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state = stat.rsplit(")", 1)[1].split()[0]
    return None if state in ("Z", "X") else state


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_exit_when_their_parent_is_killed() -> None:
    """SIGKILL the process that started the pool while its workers are busy: they do not live
    on to compose chunks for nobody (before, they did, and then waited forever)."""
    script = textwrap.dedent(
        """
        import sys, time
        sys.path.insert(0, sys.argv[1])
        from ifn_campaign.orchestration.worker_pool import WorkerPool
        from tests.support.orchestration import _slow
        pool = WorkerPool(2)
        for _ in range(6):
            pool.submit(_slow, 60.0)
        time.sleep(3)  # the workers have started and are busy
        print("ready", flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(ROOT)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        workers = _children(parent.pid)
        assert len(workers) >= 2, workers  # two workers (and the resource tracker)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_state(pid) for pid in workers):
            time.sleep(0.2)
        assert not [pid for pid in workers if _state(pid)], "workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
