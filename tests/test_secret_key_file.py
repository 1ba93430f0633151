"""`secret_key_file` made by two processes at the same moment (the console and a flow starting
together on a fresh data folder): both get the same, whole key; none reads an empty file."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from ifn_campaign.files import secret_key_file

ROUNDS = 40
RACERS = 4


def _race(path: str, barrier: Barrier, out: multiprocessing.Queue[str]) -> None:
    """A child: wait for the others, then make or read the key; report it or the error."""
    barrier.wait()
    try:
        out.put(secret_key_file(Path(path)).decode())
    except Exception as error:  # reported to the parent, which fails the test with it
        out.put(f"error: {error!r}")


@pytest.mark.slow
def test_processes_racing_on_a_fresh_folder_share_one_whole_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        folder = tmp_path / str(round_)
        folder.mkdir()
        path = folder / "member-page.key"
        barrier = context.Barrier(RACERS)
        out: multiprocessing.Queue[str] = context.Queue()
        children = [
            context.Process(target=_race, args=(str(path), barrier, out)) for _ in range(RACERS)
        ]
        for child in children:
            child.start()
        keys = [out.get(timeout=30) for _ in children]
        for child in children:
            # every child reported its key or its error above; how a child forked from an xdist
            # worker (threads of its own) then exits is not what is tested here
            child.join(timeout=30)
        assert all(not key.startswith("error") for key in keys), keys
        assert len(set(keys)) == 1 and len(keys[0]) >= 32
        assert path.read_bytes() == keys[0].encode() + b"\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert os.listdir(folder) == ["member-page.key"]  # no temporary file left behind


def test_threads_racing_share_one_whole_key(tmp_path: Path) -> None:
    for round_ in range(200):
        path = tmp_path / f"{round_}.key"
        barrier = threading.Barrier(8)

        def make(path: Path = path, barrier: threading.Barrier = barrier) -> bytes:
            barrier.wait()
            return secret_key_file(path)

        with ThreadPoolExecutor(8) as pool:
            keys = list(pool.map(lambda _: make(), range(8)))
        assert len(set(keys)) == 1 and path.read_bytes() == keys[0] + b"\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.key" for n in range(200))


def test_an_existing_key_is_kept_and_a_short_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "console.key"
    first = secret_key_file(path)
    assert secret_key_file(path) == first
    path.write_bytes(b"short\n")
    with pytest.raises(OSError, match="holds no usable key"):
        secret_key_file(path)
    assert path.read_bytes() == b"short\n"  # never replaced: the links signed with it would die
