"""Spawned worker processes for chunks of work (compose draws its cards in them).

`concurrent.futures.ProcessPoolExecutor` as it is leaves three gaps that a scheduled flow meets:
- the process that started the pool is SIGKILLed (a cancelled flow run, the OOM killer): its
  workers live on, compose the chunks queued for nobody, then wait forever;
- the caller leaves early (an error, Ctrl+C): leaving the pool waits for every queued chunk;
- one worker is killed: the pool breaks, and every chunk not finished fails with
  `BrokenProcessPool`, also the ones that were only waiting.
`WorkerPool` closes them: workers exit when their parent dies, leaving on an error cancels the
chunks not started (the running ones finish, so nothing is left half-written), and a chunk lost
with a broken pool runs once more in a fresh process (a chunk that kills its worker twice is
reported as failed by whoever waits for it). Work must be safe to run again: compose skips
posts that are no longer planned.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["WorkerPool"]

T = TypeVar("T")


def _die_with_parent() -> None:
    """Worker initializer: exit as soon as the process that started the pool is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)  # no cleanup to do: a chunk's work is committed per post

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _executor(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_parent
    )


class WorkerPool:
    """`workers` spawned processes (spawned: the caller may run threads, Prefect's among them).
    `submit` returns a callable that waits for the result or raises the chunk's error."""

    def __init__(self, workers: int) -> None:
        self._pool = _executor(workers)
        self._spare: ProcessPoolExecutor | None = None  # reruns chunks lost with a broken pool
        self._lock = threading.Lock()

    def submit(self, function: Callable[..., T], *args: Any) -> Callable[[], T]:
        try:
            future = self._pool.submit(function, *args)
        except BrokenProcessPool:  # a worker died while the chunks were still being handed out
            return lambda: self._again(function, *args)

        def result() -> T:
            try:
                return future.result()
            except BrokenProcessPool:
                return self._again(function, *args)

        return result

    def _again(self, function: Callable[..., T], *args: Any) -> T:
        with self._lock:  # one rerun at a time, each in a process of its own
            if self._spare is None:
                self._spare = _executor(1)
            try:
                return self._spare.submit(function, *args).result()
            except BrokenProcessPool:
                self._spare.shutdown(wait=False)
                self._spare = None  # the next rerun gets a fresh process
                raise

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        leaving_early = exc_type is not None
        for pool in (self._pool, self._spare):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=leaving_early)
