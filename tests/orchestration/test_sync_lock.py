"""The sync lock as the operator sees it: a sync by hand that cannot take the lock says so in one
line of ours, with nothing of Prefect's (its slot service's log line, a traceback) before it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import pytest

from ifn_campaign import store
from ifn_sandbox.registry import RegistrySandbox
from tests.support.broken_prefect import broken_prefect_server
from tests.support.cli import point_cli_at

pytestmark = pytest.mark.slow


def _lines(text: str) -> list[str]:
    """The lines of `text` without the sync's progress line (drawn on stderr as it waits)."""
    return [line for line in text.splitlines() if line.strip() and "sync registry:" not in line]


def test_a_sync_by_hand_that_finds_the_lock_taken_says_one_line(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prefect's slot service logs its own "failed to process item ... TimeoutError" line when
    the wait ends, from its own thread; the command (its own process, as the operator runs it,
    so Prefect's logging is set up as there) shows only our error."""
    from prefect.settings import PREFECT_API_URL

    from ifn_campaign.orchestration.deployments import sync_lock

    with RegistrySandbox(generated=3, seed=4) as sandbox:
        point_cli_at(sandbox, monkeypatch, tmp_path)
        store.upgrade(store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}"))
        source = f"registry:{sandbox.url}"
        env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
        command = [sys.executable, "-m", "ifn_campaign.cli.app", "sync", "--no-media"]
        with sync_lock(source, 30):
            done = subprocess.run(
                [*command, "--wait", "0.5"],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
            )
    assert done.returncode == 1, done.stderr
    assert _lines(done.stdout) == []
    assert " ".join(_lines(done.stderr)) == (
        f"error: another sync of {source} is still running after 0.5 s of waiting; this run "
        "did nothing (the next one continues from where that sync ends)"
    )


def _report(service: str, item: object) -> logging.LogRecord:
    """The record Prefect's queue service logs when handling `item` failed."""
    return logging.LogRecord(
        "prefect._internal.concurrency",
        logging.ERROR,
        __file__,
        1,
        "Service %r failed to process item %r",
        (service, item),
        None,
    )


def _future(exception: BaseException | None = None, *, done: bool = True) -> Future[object]:
    future: Future[object] = Future()
    if done:
        future.set_running_or_notify_cancel()
        if exception is None:
            future.set_result(None)
        else:
            future.set_exception(exception)
    return future


@pytest.mark.parametrize(
    "record,dropped",
    [
        # the one report dropped: the caller has the same error in its future
        (_report("ConcurrencySlotAcquisitionWithLeaseService", (1, _future(TimeoutError()))), True),
        (_report("ConcurrencySlotAcquisitionService", (1, _future(OSError("refused")))), True),
        # anything else stays: another service (the events that carry heartbeats)...
        (_report("EventsWorker", (1, _future(TimeoutError()))), False),
        # ...an error nobody was handed: a future still pending, done without error, cancelled
        (_report("ConcurrencySlotAcquisitionWithLeaseService", (1, _future(done=False))), False),
        (_report("ConcurrencySlotAcquisitionWithLeaseService", (1, _future())), False),
        (_report("ConcurrencySlotAcquisitionWithLeaseService", "not a tuple"), False),
        # ...and another message of the same logger, or the same one changed by Prefect
        (
            logging.LogRecord(
                "prefect._internal.concurrency",
                logging.ERROR,
                __file__,
                1,
                "Service %r failed with %r",
                ("ConcurrencySlotAcquisitionWithLeaseService", (1, _future(TimeoutError()))),
                None,
            ),
            False,
        ),
    ],
)
def test_the_quiet_filter_drops_only_the_report_handed_to_the_caller(
    record: logging.LogRecord, dropped: bool
) -> None:
    from ifn_campaign.orchestration.deployments import _AcquisitionReports

    assert _AcquisitionReports().filter(record) is not dropped


def test_a_cancelled_wait_keeps_the_report() -> None:
    from ifn_campaign.orchestration.deployments import _AcquisitionReports

    future: Future[object] = Future()
    future.cancel()
    record = _report("ConcurrencySlotAcquisitionWithLeaseService", (1, future))
    assert _AcquisitionReports().filter(record) is True


def test_a_server_failing_on_the_lock_is_said_with_its_answer() -> None:
    """A server that answers but fails (HTTP 500): our one line (Prefect's own is dropped)
    carries the answer and does not tell the operator to start a server that runs."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from ifn_campaign.errors import OrchestrationError
    from ifn_campaign.orchestration.deployments import sync_lock

    with (
        broken_prefect_server(500, b"Internal Server Error") as url,
        temporary_settings(updates={PREFECT_API_URL: url}),
        pytest.raises(OrchestrationError) as raised,
        sync_lock("registry:http://r.example", 1),
    ):
        pass
    assert str(raised.value) == (
        f"the Prefect server {url} failed (HTTP 500), so the sync lock of registry:http://"
        "r.example cannot be taken: see the Prefect server's log; nothing was synced"
    )
