"""The sync lock as the operator sees it: a sync by hand that cannot take the lock says so in one
line of ours, with nothing of Prefect's (its slot service's log line, a traceback) before it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ifn_campaign import store
from ifn_sandbox.registry import RegistrySandbox
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
