"""The Prefect server `serve` starts: a server that never answers is stopped and named with its
log and the next step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ifn_campaign.errors import OrchestrationError
from ifn_campaign.orchestration import prefect_server


def test_a_server_that_never_answers_is_stopped_and_its_log_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefect_server, "START_TIMEOUT", 1.0)
    log = tmp_path / "prefect-server.log"
    log.write_text("starting\n", encoding="utf-8")
    process = subprocess.Popen(  # a group of its own, as serve starts the server
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        with pytest.raises(OrchestrationError) as raised:
            prefect_server._wait_until_up(process, "http://127.0.0.1:9/api", log)
        assert process.wait(timeout=30) is not None  # stopped, not left behind
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    message = str(raised.value)
    assert "http://127.0.0.1:9/api" in message and str(log) in message
    assert "ifn-campaign serve" in message
